/**
 * These run on the host for real: every op is a real syscall or a real load or
 * store. The expectations encode what Linux 6.18 x86_64 (4 KiB pages, THP in
 * madvise mode) actually does.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  HostRunnerError,
  ensureRunnerBinary,
  findPackageRoot,
  openHostSession,
  runOnHost,
  runOnHostSync,
  runnerSourcePath,
} from "./host-runner.js";
import { bytes, op, ref, type Observation, type Op } from "./runner-protocol.js";

// Linux x86_64 constants (include/uapi/asm-generic/mman-common.h, fcntl.h)
const PROT_NONE = 0;
const PROT_READ = 1;
const PROT_WRITE = 2;
const PROT_EXEC = 4;
const RW = PROT_READ | PROT_WRITE;
const MAP_SHARED = 0x01;
const MAP_PRIVATE = 0x02;
const MAP_FIXED = 0x10;
const MAP_ANONYMOUS = 0x20;
const O_RDWR = 0o2;
const O_CREAT = 0o100;
const PAGE = 4096;

const anon = (step: number, len: number, tid = 0, flags = MAP_PRIVATE | MAP_ANONYMOUS) =>
  op(step, tid, "mmap", 0, len, RW, flags, -1, 0);

async function run(ops: Op[]): Promise<Map<number, Observation>> {
  const r = await runOnHost(ops);
  expect(r.complete).toBe(true);
  expect(r.fatal).toBeNull();
  return new Map(r.observations.map((o) => [o.step!, o]));
}

function obs(m: Map<number, Observation>, step: number): Observation {
  const o = m.get(step);
  if (!o) throw new Error(`no observation for step ${step}`);
  return o;
}

beforeAll(() => {
  ensureRunnerBinary(); // compile once, outside any test's timeout
}, 60_000);

describe("runOnHost: memory", () => {
  it("says hello with its pid, page size and own layout", async () => {
    const r = await runOnHost([op(1, 0, "maps")]);
    expect(r.hello.pageSize).toBe(PAGE);
    expect(r.hello.pid).toBeGreaterThan(0);
    expect(r.hello.maps).toMatch(/\[stack\]\n/);
    expect(r.hello.maps).toMatch(/\[heap\]\n/);
    expect(r.hello.brk).toBeGreaterThan(0n);
    expect(r.hello.protectedRanges.length).toBeGreaterThan(5);
    // nothing was mapped between the hello and the first op
    expect(r.observations[0]!.text).toBe(r.hello.maps);
    expect(existsSync(r.hello.sandbox)).toBe(false); // removed at the end
  });

  it("anonymous mmap + store + load returns the stored value", async () => {
    const m = await run([
      anon(1, 2 * PAGE),
      op(2, 0, "store64", ref(1, 8), 0x1122334455667788n),
      op(3, 0, "load64", ref(1, 8)),
      op(4, 0, "load32", ref(1, 12)),
      op(5, 0, "load8", ref(1, PAGE)),
    ]);
    expect(obs(m, 1).ret! % BigInt(PAGE)).toBe(0n);
    expect(obs(m, 2).ret).toBe(0n);
    expect(obs(m, 3).value).toBe(0x1122334455667788n);
    expect(obs(m, 4).value).toBe(0x11223344n);
    expect(obs(m, 5).value).toBe(0n);
  });

  it("references $N+K / $N-K resolve against the host's own results", async () => {
    const m = await run([
      anon(1, 4 * PAGE),
      op(2, 0, "store8", ref(1, 3 * PAGE + 5), 7),
      op(3, 0, "load8", ref(1, 3 * PAGE + 5)),
      op(4, 0, "load8", ref(3, 10)), // value 7 + 10: an address of 17, unmapped
      op(5, 0, "munmap", ref(1, 2 * PAGE), 2 * PAGE),
      op(6, 0, "load8", ref(1, 4 * PAGE - 1)),
      op(7, 0, "mmap", ref(1, 2 * PAGE), PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
      op(8, 0, "munmap", ref(7, -2 * PAGE), 4 * PAGE),
    ]);
    const p = obs(m, 1).ret!;
    expect(obs(m, 3).value).toBe(7n);
    expect(obs(m, 4).signal).toEqual({ name: "SIGSEGV", code: "SEGV_MAPERR", addr: 17n });
    expect(obs(m, 6).signal).toEqual({ name: "SIGSEGV", code: "SEGV_MAPERR", addr: p + BigInt(4 * PAGE - 1) });
    expect(obs(m, 7).ret).toBe(p + BigInt(2 * PAGE));
    expect(obs(m, 8).ret).toBe(0n);
  });

  it("PROT_NONE load gives SIGSEGV SEGV_ACCERR; an unmapped load gives SEGV_MAPERR", async () => {
    const m = await run([
      op(1, 0, "mmap", 0, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
      op(2, 0, "load8", ref(1)),
      anon(3, 2 * PAGE),
      op(4, 0, "munmap", ref(3, PAGE), PAGE),
      op(5, 0, "load16", ref(3, PAGE + 2)),
      op(6, 0, "mprotect", ref(3), PAGE, PROT_READ),
      op(7, 0, "store8", ref(3), 1),
      op(8, 0, "load8", ref(3)),
    ]);
    expect(obs(m, 2).signal).toEqual({ name: "SIGSEGV", code: "SEGV_ACCERR", addr: obs(m, 1).ret });
    expect(obs(m, 2).ret).toBeNull();
    expect(obs(m, 5).signal).toMatchObject({ name: "SIGSEGV", code: "SEGV_MAPERR", addr: obs(m, 3).ret! + BigInt(PAGE + 2) });
    expect(obs(m, 7).signal).toMatchObject({ name: "SIGSEGV", code: "SEGV_ACCERR" });
    expect(obs(m, 8).value).toBe(0n);
  });

  it("munmap(p, 0) fails with EINVAL", async () => {
    const m = await run([anon(1, PAGE), op(2, 0, "munmap", ref(1), 0), op(3, 0, "munmap", ref(1, 1), PAGE)]);
    expect(obs(m, 2)).toMatchObject({ ret: -1n, errno: "EINVAL" });
    expect(obs(m, 3)).toMatchObject({ ret: -1n, errno: "EINVAL" });
  });

  it("counts one minor fault per first-touched anonymous page, none for a checkpoint", async () => {
    const m = await run([
      op(1, 0, "checkpoint"),
      anon(2, 8 * PAGE),
      op(3, 0, "fill", ref(2), 4 * PAGE, 0xaa), // write-first: do_anonymous_page once per page
      op(4, 0, "fill", ref(2), 4 * PAGE, 0xbb), // already mapped writable
      op(5, 0, "load", ref(2, 4 * PAGE), 4 * PAGE), // read-first: zero page mapped, one fault per page
      op(6, 0, "fill", ref(2, 4 * PAGE), 4 * PAGE, 1), // then write: do_wp_page copies, one more each
      op(7, 0, "checkpoint"),
    ]);
    expect(obs(m, 1)).toMatchObject({ minflt: 0, majflt: 0 });
    expect(obs(m, 2).minflt).toBe(0);
    expect(obs(m, 3)).toMatchObject({ minflt: 4, majflt: 0 });
    expect(obs(m, 4).minflt).toBe(0);
    expect(obs(m, 5).minflt).toBe(4);
    expect(obs(m, 6).minflt).toBe(4);
    expect(obs(m, 7).minflt).toBe(0);
  });

  it("mincore shows residency before and after touching", async () => {
    const m = await run([
      anon(1, 4 * PAGE),
      op(2, 0, "mincore", ref(1), 4 * PAGE),
      op(3, 0, "store8", ref(1, PAGE), 1),
      op(4, 0, "load8", ref(1, 3 * PAGE)), // maps the shared zero page
      op(5, 0, "mincore", ref(1), 4 * PAGE),
      op(6, 0, "mincore", ref(1, 1), PAGE),
    ]);
    expect(obs(m, 2).vec).toEqual([0, 0, 0, 0]);
    expect(obs(m, 5).vec).toEqual([0, 1, 0, 1]);
    expect(obs(m, 6)).toMatchObject({ ret: -1n, errno: "EINVAL" });
  });

  it("a watchdog turns a long op into an error observation and the runner goes on", async () => {
    const r = await runOnHost(
      [
        op(1, 0, "mmap", 0, 1n << 32n, RW, MAP_PRIVATE | MAP_ANONYMOUS | 0x4000 /* MAP_NORESERVE */, -1, 0),
        op(2, 0, "fill", ref(1), 1n << 32n, 1),
        op(3, 0, "munmap", ref(1), 1n << 32n),
      ],
      { opTimeoutMs: 100 },
    );
    expect(r.observations[1]!.error).toMatch(/watchdog/);
    expect(r.observations[1]!.ret).toBeNull();
    expect(r.observations[2]!.ret).toBe(0n);
  });
});

describe("runOnHost: files", () => {
  it("a MAP_SHARED store is seen by read(); a MAP_PRIVATE one is not", async () => {
    const m = await run([
      op(1, 0, "openat", bytes("data.bin"), O_RDWR | O_CREAT, 0o644),
      op(2, 0, "ftruncate", ref(1), 2 * PAGE),
      op(3, 0, "mmap", 0, 2 * PAGE, RW, MAP_SHARED, ref(1), 0),
      op(4, 0, "store", ref(3, 10), bytes("shared!")),
      op(5, 0, "pread", ref(1), 7, 10),
      op(6, 0, "mmap", 0, 2 * PAGE, RW, MAP_PRIVATE, ref(1), 0),
      op(7, 0, "store", ref(6, PAGE), bytes("private")),
      op(8, 0, "pread", ref(1), 7, PAGE),
      op(9, 0, "load", ref(6, PAGE), 7),
      op(10, 0, "load", ref(6, 10), 7), // the private mapping still sees the file's page
      op(11, 0, "fstat", ref(1)),
      op(12, 0, "close", ref(1)),
    ]);
    expect(obs(m, 1).ret).toBe(3n); // lowest free descriptor: the runner keeps its own high
    expect(new TextDecoder().decode(obs(m, 5).bytes)).toBe("shared!");
    expect(Array.from(obs(m, 8).bytes!)).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(new TextDecoder().decode(obs(m, 9).bytes)).toBe("private");
    expect(new TextDecoder().decode(obs(m, 10).bytes)).toBe("shared!");
    expect(obs(m, 11).stat).toMatchObject({ size: BigInt(2 * PAGE), nlink: 1 });
  });

  it("ftruncate then load beyond the end gives SIGBUS BUS_ADRERR", async () => {
    const m = await run([
      op(1, 0, "openat", bytes("t.bin"), O_RDWR | O_CREAT, 0o600),
      op(2, 0, "ftruncate", ref(1), 4 * PAGE),
      op(3, 0, "mmap", 0, 4 * PAGE, PROT_READ, MAP_SHARED, ref(1), 0),
      op(4, 0, "load8", ref(3, 3 * PAGE)),
      op(5, 0, "ftruncate", ref(1), PAGE + 100),
      op(6, 0, "load8", ref(3, PAGE + 200)), // same page as EOF: zero-filled tail
      op(7, 0, "load8", ref(3, 3 * PAGE)),
      op(8, 0, "load", ref(3, 2 * PAGE - 2), 4),
    ]);
    expect(obs(m, 4).value).toBe(0n);
    expect(obs(m, 6).value).toBe(0n);
    const p = obs(m, 3).ret!;
    expect(obs(m, 7).signal).toEqual({ name: "SIGBUS", code: "BUS_ADRERR", addr: p + BigInt(3 * PAGE) });
    expect(obs(m, 8)).toMatchObject({ done: 2, signal: { name: "SIGBUS", code: "BUS_ADRERR", addr: p + BigInt(2 * PAGE) } });
    expect(obs(m, 8).bytes).toHaveLength(2);
  });

  it("keeps file ops inside the sandbox", async () => {
    const r = await runOnHost([
      op(1, 0, "openat", bytes("/etc/passwd"), 0),
      op(2, 0, "openat", bytes("../escape"), O_RDWR | O_CREAT, 0o600),
      op(3, 0, "unlink", bytes("/tmp/whatever")),
      op(4, 0, "write", 1, bytes("into the protocol stream")),
      op(5, 0, "openat", bytes("inside"), O_RDWR | O_CREAT, 0o600),
      op(6, 0, "openat", bytes("/dev/zero"), 0),
    ]);
    const [a, b, c, d, e, f] = r.observations;
    expect(a!.refused).toMatch(/outside the sandbox/);
    expect(b!.refused).toMatch(/'\.\.'/);
    expect(c!.refused).toMatch(/outside the sandbox/);
    expect(d!.refused).toMatch(/belongs to the runner/);
    expect(e!.ret).toBe(3n);
    expect(f!.ret).toBe(4n);
    expect(existsSync(r.hello.sandbox)).toBe(false);
  });
});

describe("runOnHost: tasks", () => {
  it("fork: the child's write to MAP_PRIVATE is not seen by the parent, to MAP_SHARED it is", async () => {
    const m = await run([
      anon(1, PAGE),
      anon(2, PAGE, 0, MAP_SHARED | MAP_ANONYMOUS),
      op(3, 0, "store8", ref(1), 1),
      op(4, 0, "store8", ref(2), 1),
      op(5, 0, "fork", 1),
      op(6, 1, "checkpoint"),
      op(7, 1, "store8", ref(1), 2),
      op(8, 1, "store8", ref(2), 2),
      op(9, 0, "load8", ref(1)),
      op(10, 0, "load8", ref(2)),
      op(11, 1, "load8", ref(1)),
      op(12, 1, "exit", 0),
      op(13, 1, "checkpoint"),
      op(14, 0, "checkpoint"),
    ]);
    const child = obs(m, 5).child!;
    expect(child.tid).toBe(1);
    expect(obs(m, 5).ret).toBe(BigInt(child.pid));
    expect(obs(m, 6)).toMatchObject({ pid: child.pid, minflt: 0 });
    expect(obs(m, 7).minflt).toBe(1); // COW break in the child
    // fork copies no page tables for a shared mapping without anon_vma
    // (mm/memory.c vma_needs_copy()): the child faults the shmem page in
    expect(obs(m, 8).minflt).toBe(1);
    expect(obs(m, 9).value).toBe(1n);
    expect(obs(m, 10).value).toBe(2n);
    expect(obs(m, 11).value).toBe(2n);
    expect(obs(m, 12).exit).toEqual({ status: 0, kind: "process" });
    expect(obs(m, 13).error).toMatch(/task 1 does not exist or has exited/);
    expect(obs(m, 14).minflt).toBe(0);
  });

  it("a thread shares the address space: its MAP_FIXED replaces the other task's mapping", async () => {
    const m = await run([
      anon(1, 2 * PAGE),
      op(2, 0, "store8", ref(1), 0x5a),
      op(3, 0, "thread", 1),
      op(4, 1, "load8", ref(1)),
      op(5, 1, "mmap", ref(1), PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
      op(6, 0, "load8", ref(1)),
      op(7, 0, "store8", ref(1), 1),
      op(8, 1, "checkpoint"),
      op(9, 1, "exit"),
      op(10, 0, "maps"),
    ]);
    const t = obs(m, 3).thread!;
    expect(t.kernelTid).not.toBe(obs(m, 3).pid);
    expect(obs(m, 4)).toMatchObject({ value: 0x5an, pid: obs(m, 3).pid });
    expect(obs(m, 5).ret).toBe(obs(m, 1).ret);
    expect(obs(m, 6).value).toBe(0n); // a fresh page, not 0x5a
    expect(obs(m, 7).signal).toMatchObject({ name: "SIGSEGV", code: "SEGV_ACCERR" });
    expect(obs(m, 8).minflt).toBe(0);
    expect(obs(m, 9).exit).toEqual({ status: 0, kind: "thread" });
    // the thread's stack (guard included) is what the runner reported, a slot
    // of the pool it mapped before the hello, not a new mapping
    const hex = (v: bigint) => v.toString(16);
    expect(t.guardSize).toBe(PAGE);
    expect(t.stackEnd - t.stackStart).toBe(BigInt(PAGE + 512 * 1024));
    expect(obs(m, 10).text).toContain(`${hex(t.stackStart)}-${hex(t.stackStart + BigInt(t.guardSize))} ---p`);
    expect(obs(m, 10).text).toContain(`${hex(t.stackStart + BigInt(t.guardSize))}-${hex(t.stackEnd)} rw-p`);
  });

  it("a thread of a forked child runs in the child's address space", async () => {
    const m = await run([
      anon(1, PAGE),
      op(2, 0, "fork", 5),
      op(3, 5, "thread", 6),
      op(4, 6, "store8", ref(1), 9),
      op(5, 5, "load8", ref(1)),
      op(6, 0, "load8", ref(1)),
    ]);
    expect(obs(m, 3).thread!.pid).toBe(obs(m, 2).child!.pid);
    expect(obs(m, 5).value).toBe(9n);
    expect(obs(m, 6).value).toBe(0n);
  });
});

describe("runOnHost: robustness", () => {
  it("malformed lines give error observations and the runner continues", async () => {
    const r = await runOnHost(
      [
        "1 0 mmap 0 4096 3 0x22 -1 0",
        "2 0 frobnicate 1",
        "3 0 munmap $1",
        "4 0 load8 $99",
        "5 0 store8 $1 notanumber",
        "six 0 checkpoint",
        "# a comment is not an op",
        "",
        '7 0 write 3 "unterminated',
        "8 9 checkpoint",
        "9 0 load8 $2",
        "10 0 store8 $1 0x41",
        "11 0 load8 $1",
      ].join("\n"),
    );
    expect(r.complete).toBe(true);
    const [o1, o2, o3, o4, o5, o6, o7, o8, o9, o10, o11] = r.observations;
    expect(o1!.ret).toBeGreaterThan(0n);
    expect(o2).toMatchObject({ step: 2, op: null, error: "parse: unknown op 'frobnicate'", line: "2 0 frobnicate 1" });
    expect(o3!.error).toMatch(/munmap takes 2 arguments, got 1/);
    expect(o4!.error).toMatch(/\$99: no such step/);
    expect(o5!.error).toMatch(/bad integer/);
    expect(o6).toMatchObject({ step: null, error: expect.stringMatching(/step number/) });
    expect(o7!.error).toMatch(/unterminated string/);
    expect(o8!.error).toMatch(/task 9 does not exist/);
    expect(o9!.error).toMatch(/\$2: that step has no result value/);
    expect(o10!.ret).toBe(0n);
    expect(o11!.value).toBe(0x41n);
  });

  it("refuses MAP_FIXED, munmap and mprotect over the runner's own text", async () => {
    const s = await openHostSession();
    try {
      const hello = s.hello!;
      const text = hello.maps.split("\n").find((l) => / r-xp /.test(l) && l.includes("mmsim-runner-"))!;
      expect(text).toBeDefined();
      const start = BigInt("0x" + text.split("-")[0]);
      const a = await s.exec(op(1, 0, "mmap", start, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
      expect(a.ret).toBeNull();
      expect(a.refused).toMatch(/^MAP_FIXED overlaps the runner's own mapping .*mmsim-runner-/);
      expect((await s.exec(op(2, 0, "munmap", start - BigInt(PAGE), 2 * PAGE))).refused).toMatch(/munmap overlaps/);
      expect((await s.exec(op(3, 0, "mprotect", start, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC))).refused).toMatch(/mprotect overlaps/);
      expect((await s.exec(op(4, 0, "store8", start, 0))).refused).toMatch(/store overlaps/);
      // reading the runner's text is fine, and the runner is still alive
      expect((await s.exec(op(5, 0, "load8", start))).value).toBeTypeOf("bigint");
      // MAP_FIXED_NOREPLACE never clobbers: the kernel answers EEXIST
      const nr = await s.exec(op(6, 0, "mmap", start, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS | 0x100000, -1, 0));
      expect(nr).toMatchObject({ ret: -1n, errno: "EEXIST" });
    } finally {
      const end = await s.close();
      expect(end.exitCode).toBe(0);
    }
  });

  it("a task killed from outside is reported as an observation, not a hang", async () => {
    const s = await openHostSession();
    try {
      const f = await s.exec(op(1, 0, "fork", 1));
      process.kill(f.child!.pid, "SIGKILL");
      const dead = await s.exec(op(2, 1, "checkpoint"));
      expect(dead).toMatchObject({ step: 2, tid: 1, ret: null, error: "task 1 died: killed by SIGKILL" });
      expect((await s.exec(op(3, 1, "checkpoint"))).error).toMatch(/does not exist or has exited/);
      expect((await s.exec(op(4, 0, "checkpoint"))).ret).toBe(0n);
    } finally {
      await s.close();
    }
  });

  it("runOnHostSync gives the same kind of result", () => {
    const r = runOnHostSync([anon(1, PAGE), op(2, 0, "store32", ref(1), 0xdeadbeef), op(3, 0, "load32", ref(1))]);
    expect(r.observations[2]!.value).toBe(0xdeadbeefn);
    expect(r.exitCode).toBe(0);
  });
});

describe("ensureRunnerBinary", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "mmsim-build-test-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("finds runner.c from the package root", () => {
    expect(runnerSourcePath()).toBe(join(findPackageRoot(), "src", "oracle", "runner.c"));
    expect(existsSync(runnerSourcePath())).toBe(true);
  });

  it("reuses a cached build and rebuilds when the source changes", () => {
    const src = join(dir, "runner.c");
    copyFileSync(runnerSourcePath(), src);
    const a = ensureRunnerBinary({ source: src, cacheDir: join(dir, "cache") });
    expect(a.compiled).toBe(true);
    const b = ensureRunnerBinary({ source: src, cacheDir: join(dir, "cache") });
    expect(b).toMatchObject({ compiled: false, path: a.path });
    writeFileSync(src, readFileSync(src, "utf8") + "\n/* changed */\n");
    const c = ensureRunnerBinary({ source: src, cacheDir: join(dir, "cache") });
    expect(c.compiled).toBe(true);
    expect(c.path).not.toBe(a.path);
  }, 60_000);

  it("explains a missing compiler and a failed compilation", async () => {
    const src = join(dir, "broken.c");
    writeFileSync(src, "int main(void) { return undeclared; }\n");
    const err = (f: () => unknown): HostRunnerError => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(HostRunnerError);
        return e as HostRunnerError;
      }
      throw new Error("no error");
    };
    const missing = err(() => ensureRunnerBinary({ source: src, cc: join(dir, "no-such-cc"), cacheDir: join(dir, "c2") }));
    expect(missing.code).toBe("CC_NOT_FOUND");
    expect(missing.message).toMatch(/No C compiler/);
    // the async entry points reject rather than throw
    await expect(runOnHost([], { source: src, cc: join(dir, "no-such-cc"), cacheDir: join(dir, "c2") })).rejects.toMatchObject({
      code: "CC_NOT_FOUND",
    });
    const failed = err(() => ensureRunnerBinary({ source: src, cacheDir: join(dir, "c3") }));
    expect(failed.code).toBe("COMPILE_FAILED");
    expect(failed.message).toMatch(/undeclared/);
    expect(failed.toJSON().code).toBe("COMPILE_FAILED");
  }, 60_000);
});
