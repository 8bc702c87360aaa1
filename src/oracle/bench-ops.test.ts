/**
 * The runner's timing ops (the host baselines of `mmsim bench`): they run
 * and return sane counts. No time is asserted.
 */
import { describe, expect, it } from "vitest";
import { runOnHostSync } from "./host-runner.js";
import { op } from "./runner-protocol.js";

describe("runner timing ops", () => {
  it("bench_fault_anon, bench_fault_file and bench_vma_ops report ns and counts", () => {
    const run = runOnHostSync([
      op(1, 0, "bench_fault_anon", 256),
      op(2, 0, "bench_fault_file", 256),
      op(3, 0, "bench_vma_ops", 1000, 100),
      op(4, 0, "bench_vma_ops", 1_000_000, 1),
      op(5, 0, "maps"),
    ]);
    expect(run.complete).toBe(true);
    const [anon, file, vma, tooMany, maps] = run.observations;
    // One minor fault per page on a write-first touch.
    expect(anon!.ret).toBe(0n);
    expect(anon!.bench).toMatchObject({ ops: 256, minflt: 256, majflt: 0 });
    expect(anon!.bench!.ns > 0n).toBe(true);
    // Cached pages: no major fault, and fault-around (or large folios) map several pages per fault.
    expect(file!.ret).toBe(0n);
    expect(file!.bench!.ops).toBe(256);
    expect(file!.bench!.majflt).toBe(0);
    expect(file!.bench!.minflt).toBeGreaterThan(0);
    expect(file!.bench!.minflt).toBeLessThan(256);
    expect(vma!.ret).toBe(0n);
    expect(vma!.bench).toMatchObject({ ops: 100, live: 1000 });
    expect(vma!.bench!.ns > 0n).toBe(true);
    expect(tooMany!.refused).toMatch(/max_map_count/);
    // Restored: the live mappings and the bench file are gone.
    expect(maps!.text!.split("\n").length).toBeLessThan(200);
    expect(maps!.text).not.toMatch(/mmsim-bench/);
  });
});
