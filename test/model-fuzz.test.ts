import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runModelFuzz } from '../src/fuzz/model-fuzz.js';

describe('model-only fuzzing (fixed seeds)', () => {
  for (const [seed, arch] of [[11, 'x86_64'], [12, 'arm64-16k'], [13, 'arm64-4k']] as const) {
    it(`seed ${seed} on ${arch}: no exception, no broken invariant`, () => {
      const r = runModelFuzz({ seed, count: 3000, arch });
      expect(r.findings.map((f) => `${f.description}: ${f.error.split('\n')[0]}`)).toEqual([]);
      expect(r.operations).toBe(3000);
      // The generator reaches both success and failure paths.
      expect(r.errnos).toBeGreaterThan(100);
      expect(r.syscalls - r.errnos).toBeGreaterThan(100);
      expect(r.faults).toBeGreaterThan(10);
      expect(r.accesses - r.faults).toBeGreaterThan(10);
    });
  }

  it('is deterministic: the same seed gives the same counts', () => {
    const a = runModelFuzz({ seed: 5, count: 800 });
    const b = runModelFuzz({ seed: 5, count: 800 });
    expect(a).toEqual(b);
  });

  it('mmsim fuzz --model-only --json prints the counts and findings of the run', () => {
    const out = execFileSync(process.execPath, ['dist/cli/main.js', 'fuzz', '--model-only', '--seed', '4', '--count', '300', '--arch', 'arm64-16k', '--json'], { encoding: 'utf8' });
    const r = runModelFuzz({ seed: 4, count: 300, arch: 'arm64-16k' });
    expect(JSON.parse(out)).toEqual(JSON.parse(JSON.stringify(r)));
    expect(r.operations).toBe(300);
    expect(r.syscalls + r.accesses).toBe(300);
  });
});
