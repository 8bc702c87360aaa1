import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bracketChoice, devMajorMinor, pageSizeFromAuxv, parseLimitsRow, readHostSettings } from "./host-settings.js";

describe("readHostSettings on this host", () => {
  const s = readHostSettings();

  it("reads the page size from the aux vector", () => {
    expect(s.pageSize).toEqual({ value: 4096, source: "/proc/self/auxv (AT_PAGESZ)" });
  });

  it("reads THP, overcommit, map count and ASLR from /proc and /sys", () => {
    expect(["always", "madvise", "never"]).toContain(s.thp.enabled.value);
    expect(s.thp.enabled.source).toBe("/sys/kernel/mm/transparent_hugepage/enabled");
    expect(s.thp.pmdSize.value).toBe(2 * 1024 * 1024);
    expect([0, 1, 2]).toContain(s.overcommitMemory.value);
    expect(s.maxMapCount.value).toBeGreaterThan(0);
    expect([0, 1, 2]).toContain(s.randomizeVaSpace.value);
    expect(s.stackRlimit.value?.soft).toBeTypeOf("bigint");
  });

  it("says where every value came from, defaults included", () => {
    for (const v of [s.faultAroundBytes, s.stackGuardGap, s.readaheadKb, s.memlockRlimit, s.kernelRelease]) {
      expect(v.source.length).toBeGreaterThan(0);
    }
    if (!s.faultAroundBytes.source.startsWith("/sys")) {
      expect(s.faultAroundBytes).toMatchObject({ value: 65536, source: expect.stringMatching(/kernel default/) });
    }
  });
});

describe("readHostSettings on a fake tree", () => {
  let root: string;
  const put = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "mmsim-settings-test-"));
    const thp = "/sys/kernel/mm/transparent_hugepage";
    put(`${thp}/enabled`, "[always] madvise never\n");
    put(`${thp}/defrag`, "always defer defer+madvise [madvise] never\n");
    put(`${thp}/hugepages-64kB/enabled`, "always inherit madvise [never]\n");
    put(`${thp}/hugepages-2048kB/enabled`, "always [inherit] madvise never\n");
    put("/proc/sys/vm/overcommit_memory", "2\n");
    put("/proc/sys/vm/max_map_count", "1000\n");
    put("/proc/cmdline", "quiet stack_guard_gap=16 ro\n");
    put("/proc/sys/kernel/osrelease", "6.1.0-test\n");
    put(
      "/proc/self/limits",
      "Limit                     Soft Limit           Hard Limit           Units     \n" +
        "Max stack size            8388608              unlimited            bytes     \n" +
        "Max locked memory         65536                65536                bytes     \n",
    );
    const auxv = new DataView(new ArrayBuffer(48));
    auxv.setBigUint64(0, 6n, true);
    auxv.setBigUint64(8, 16384n, true);
    put("/proc/self/auxv", "");
    writeFileSync(join(root, "/proc/self/auxv"), new Uint8Array(auxv.buffer));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("parses what is there and falls back, saying so, for what is not", () => {
    const s = readHostSettings({ root });
    expect(s.pageSize.value).toBe(16384);
    expect(s.kernelRelease.value).toBe("6.1.0-test");
    expect(s.thp.enabled.value).toBe("always");
    expect(s.thp.defrag.value).toBe("madvise");
    expect(s.thp.sizes.value).toEqual({ "64kB": "never", "2048kB": "inherit" });
    expect(s.thp.useZeroPage.value).toBeNull();
    expect(s.overcommitMemory).toEqual({ value: 2, source: "/proc/sys/vm/overcommit_memory" });
    expect(s.overcommitRatio.value).toBeNull();
    expect(s.overcommitRatio.source).toMatch(/^unreadable: .*ENOENT/);
    expect(s.stackGuardGap).toMatchObject({ value: 16 * 16384, source: expect.stringMatching(/cmdline/) });
    expect(s.faultAroundBytes).toMatchObject({ value: 65536, source: expect.stringMatching(/kernel default/) });
    expect(s.stackRlimit.value).toEqual({ soft: 8388608n, hard: null });
    expect(s.memlockRlimit.value).toEqual({ soft: 65536n, hard: 65536n });
    expect(s.readaheadKb).toMatchObject({ value: 128, source: expect.stringMatching(/kernel default/) });
  });
});

describe("parsers", () => {
  it("bracketChoice picks the selected word", () => {
    expect(bracketChoice("always [madvise] never")).toBe("madvise");
    expect(bracketChoice("nothing selected")).toBeNull();
  });

  it("pageSizeFromAuxv finds AT_PAGESZ", () => {
    const v = new DataView(new ArrayBuffer(64));
    v.setBigUint64(0, 33n, true);
    v.setBigUint64(8, 0x7fff0000n, true);
    v.setBigUint64(16, 6n, true);
    v.setBigUint64(24, 4096n, true);
    expect(pageSizeFromAuxv(new Uint8Array(v.buffer))).toBe(4096);
    expect(pageSizeFromAuxv(new Uint8Array(16))).toBeNull();
  });

  it("parseLimitsRow reads soft and hard, unlimited as null", () => {
    expect(parseLimitsRow("Max stack size            8388608              unlimited            bytes", "Max stack size")).toEqual({
      soft: 8388608n,
      hard: null,
    });
    expect(parseLimitsRow("", "Max stack size")).toBeNull();
  });

  it("devMajorMinor decodes glibc's st_dev", () => {
    expect(devMajorMinor(65024n)).toEqual({ major: 254, minor: 0 });
    expect(devMajorMinor(0x803n)).toEqual({ major: 8, minor: 3 });
    expect(devMajorMinor(0x100000n)).toEqual({ major: 0, minor: 256 }); // makedev(0, 256)
  });
});
