/**
 * `mmsim bench` as users run it: the built CLI loading the benchmarks built
 * from bench/ into dist/bench/. Shape and errors only: nothing here asserts
 * a time (benchmarks are not tests). Needs the build (npm test builds first).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const main = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const bench = (...args: string[]) => spawnSync(process.execPath, [main, 'bench', ...args], { encoding: 'utf8', timeout: 120_000 });

describe('mmsim bench', () => {
  it('--help names every benchmark and the --only option', () => {
    const r = bench('--help');
    expect(r.status).toBe(0);
    for (const name of ['mmu.load', 'mmu.store', 'vma.scaling', 'vma.ops', 'memory.sparse', 'memory.overhead', 'fault.anon', 'fault.file', 'replay']) expect(r.stdout).toContain(name);
    expect(r.stdout).toContain('--only');
  });

  it('refuses an unknown benchmark name with exit status 2 and the list of names', () => {
    const r = bench('--only', 'mmu.lod');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("no benchmark named 'mmu.lod'");
    expect(r.stderr).toContain('mmu.load, mmu.store');
  });

  it('--json prints one object with the chosen benchmarks, each with model, baseline and ratio', () => {
    const r = bench('--quick', '--json', '--only', 'replay,mmu.load');
    expect(r.status, r.stderr).toBe(0);
    const { benchmarks } = JSON.parse(r.stdout) as { benchmarks: { name: string; model: number; baseline: number; ratio: number; goal: string }[] };
    expect(benchmarks.map((b) => b.name)).toEqual(['mmu.load', 'replay']);
    for (const b of benchmarks) {
      expect(b.model).toBeGreaterThan(0);
      expect(b.baseline).toBeGreaterThan(0);
      expect(b.ratio).toBeCloseTo(b.model / b.baseline, 9);
      expect(b.goal).toBe('>= 0.5');
    }
  });
});
