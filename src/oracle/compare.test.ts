import { describe, expect, it } from "vitest";
import { Machine } from "../kernel/machine.js";
import {
  HIGH_ABSOLUTE, LOW_ABSOLUTE, MODEL_SANDBOX, ModelRunner, Normaliser, PRELUDE_STEP, compareOps, differences, formatComparison, pickSmaps, planFence,
} from "./compare.js";
import { type Observation, bytes, op, ref } from "./runner-protocol.js";

const MiB = 1024n * 1024n;

function obs(partial: Partial<Observation>): Observation {
  return { kind: "observation", step: 1, tid: 0, pid: 1, op: "checkpoint", ret: 0n, errno: null, refused: null, error: null, minflt: 0, majflt: 0, ...partial };
}

describe("planFence", () => {
  const maps = [
    "55d000000000-55d000001000 r--p 00000000 fe:00 1                          /bin/x",
    "55d000100000-55d000121000 rw-p 00000000 00:00 0                          [heap]",
    "7f0000103000-7f0000105000 rw-p 00000000 00:00 0 ",
    "7f0000108000-7f0000110000 r--p 00000000 fe:00 2                          /lib/libc.so",
    "7f0000110000-7f0000112000 r-xp 00000000 00:00 0                          [vdso]",
    "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]",
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]",
  ].join("\n");

  it("fills the gaps of the mmap area and puts a fence of 2 to 4 MiB below it, 1 MiB past a 2 MiB boundary", () => {
    const p = planFence(maps, 4096);
    expect(p.gaps).toEqual([[0x7f0000105000n, 0x7f0000108000n]]);
    const [start, end] = p.fence;
    expect(end).toBe(0x7f0000103000n);
    expect(start % (2n * MiB)).toBe(MiB);
    expect(end - start >= 2n * MiB && end - start < 4n * MiB).toBe(true);
  });

  it("ignores the executable, the heap, the stack and vsyscall", () => {
    const p = planFence(maps, 4096);
    for (const [s] of p.gaps) expect(s > 0x600000000000n && s < 0x7ffd00000000n).toBe(true);
  });
});

describe("Normaliser", () => {
  const F = 0x7f0000000000n + MiB;

  it("writes addresses against the latest created region holding them, else against the fence", () => {
    const n = new Normaliser(F, 4096, "/tmp/sb");
    expect(n.view(obs({ step: 1, op: "mmap", ret: F - 0x2000n }), 8192n).ret).toBe("F-0x2000");
    expect(n.view(obs({ step: 2, op: "mmap", ret: F - 0x1000n }), 4096n).ret).toBe("$1+0x1000");
    expect(n.addr(F - 0x2000n)).toBe("$1+0x0");
    expect(n.addr(F - 0x1000n + 12n)).toBe("$2+0xc");
    expect(n.addr(F + 0x5000n)).toBe("F+0x5000");
    expect(n.end(F)).toBe("$2+0x1000");
    expect(n.addr(0x40000000n)).toBe("0x40000000");
    expect(n.addr(LOW_ABSOLUTE)).toBe(`F-0x${(F - LOW_ABSOLUTE).toString(16)}`);
    // Past any user address space (a failed mmap's -1): absolute on both sides.
    expect(n.addr(0xffffffffffffffffn)).toBe("0xffffffffffffffff");
    expect(n.addr(HIGH_ABSOLUTE)).toBe(`0x${HIGH_ABSOLUTE.toString(16)}`);
    expect(n.addr(HIGH_ABSOLUTE - 1n)).toBe(`F+0x${(HIGH_ABSOLUTE - 1n - F).toString(16)}`);
  });

  it("keeps only maps lines that touch created regions, with inode and sandbox removed", () => {
    const n = new Normaliser(F, 4096, "/tmp/sb");
    n.view(obs({ step: 3, op: "mmap", ret: F - 0x3000n }), 0x3000n);
    const text =
      `${(F - 0x3000n).toString(16)}-${(F - 0x1000n).toString(16)} rw-s 00000000 fe:00 1234                       /tmp/sb/data\n` +
      `${(F - 0x1000n).toString(16)}-${F.toString(16)} rw-p 00000000 00:00 0 \n` +
      `${F.toString(16)}-${(F + 0x1000n).toString(16)} ---s 00000000 00:01 77                         /dev/zero (deleted)\n`;
    const v = n.view(obs({ step: 4, op: "maps", text }), null);
    expect(v.lines).toEqual(["$3+0x0-$3+0x2000 rw-s 00000000 fe:00 INO data", "$3+0x2000-$3+0x3000 rw-p 00000000 00:00 0"]);
  });

  it("normalises signals, bytes and vectors", () => {
    const n = new Normaliser(F, 4096, "");
    n.view(obs({ step: 1, op: "mmap", ret: F - 0x1000n }), 4096n);
    const v = n.view(obs({ step: 2, op: "load", ret: null, bytes: new Uint8Array([1, 255]), done: 2, signal: { name: "SIGBUS", code: "BUS_ADRERR", addr: F - 0xffen } }), null);
    expect(v.signal).toEqual({ name: "SIGBUS", code: "BUS_ADRERR", addr: "$1+0x2" });
    expect(v.bytes).toBe("01ff");
    expect(v.ret).toBeNull();
  });

  it("picks smaps fields", () => {
    expect(pickSmaps(["$1+0x0-$1+0x1000 rw-p 00000000 00:00 0", "Size: 4 kB", "Rss: 4 kB", "FilePmdMapped: 0 kB", "VmFlags: rd wr"], ["Rss"])).toEqual([
      "$1+0x0-$1+0x1000 rw-p 00000000 00:00 0",
      "Rss: 4 kB",
    ]);
  });
});

describe("ModelRunner", () => {
  it("executes runner ops on a Machine with runner-shaped observations and $N references", () => {
    const mr = new ModelRunner(new Machine({ paranoid: true }));
    const a = mr.exec(op(1, 0, "mmap", 0, 8192, 3, 0x22, -1, 0));
    expect(a.errno).toBeNull();
    expect(mr.exec(op(2, 0, "store8", ref(1, 4096), 7)).minflt).toBe(1);
    expect(mr.exec(op(3, 0, "load8", ref(1, 4096))).value).toBe(7n);
    const f = mr.exec(op(4, 0, "fill", ref(1, 4000), 200, 1));
    expect(f.ret).toBe(0n);
    expect(mr.exec(op(5, 0, "munmap", ref(1, 4096), 4096)).ret).toBe(0n);
    const g = mr.exec(op(6, 0, "fill", ref(1, 4090), 20, 1));
    expect(g.signal).toEqual({ name: "SIGSEGV", code: "SEGV_MAPERR", addr: a.ret! + 4096n });
    expect(g.done).toBe(6);
    expect(mr.exec(op(7, 0, "load8", ref(99))).error).toMatch(/no result/);
    // A failed call binds -1, as the host runner does: the next step runs with it.
    expect(mr.exec(op(8, 0, "mmap", 0, 0, 3, 0x22, -1, 0)).errno).toBe("EINVAL");
    const u = mr.exec(op(9, 0, "munmap", ref(8), 4096));
    expect([u.ret, u.errno, u.error]).toEqual([-1n, "EINVAL", null]);
    expect(mr.exec(op(8, 0, "openat", bytes("x"), 0o102, 0o644)).ret).toBe(3n);
    expect(mr.m.process(mr.pid)!.cwd).toBe(MODEL_SANDBOX);
    expect(mr.exec(op(9, 0, "mincore", ref(1), 4096)).vec).toEqual([1]);
    expect(mr.exec(op(10, 0, "mmap", 0, 4096, 1, 1, 3, 0)).errno).toBeNull();
    expect(mr.exec(op(11, 0, "maps")).text).toContain(`${MODEL_SANDBOX}/x`);
  });
});

describe("compareOps on this host", () => {
  it("lays the same fence on both sides and lines the steps up", async () => {
    const c = await compareOps([op(1, 0, "mmap", 0, 4096, 3, 0x22, -1, 0), op(2, 0, "store8", ref(1), 1), op(3, 0, "maps")]);
    expect(c.fence.host % (2n * MiB)).toBe(MiB);
    expect(c.fence.model % (2n * MiB)).toBe(MiB);
    expect(c.steps.map((s) => s.step)).toEqual([1, 2, 3]);
    expect(c.steps[0]!.host.ret).toBe("F-0x1000");
    expect(differences(c), formatComparison(c)).toEqual([]);
    expect(c.steps[2]!.host.lines).toEqual(["$1+0x0-$1+0x1000 rw-p 00000000 00:00 0"]);
  });

  it("refuses scenario step numbers in the prelude's range", async () => {
    await expect(compareOps([op(PRELUDE_STEP, 0, "checkpoint")])).rejects.toThrow(/below/);
  });
});
