import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Machine } from '../src/kernel/machine.js';
import { runScenario } from '../src/scenario/interpreter.js';
import { runModelFuzz } from '../src/fuzz/model-fuzz.js';

const EXAMPLES = join(import.meta.dirname, '..', 'examples');

function eventsOf(source: string, file: string): string {
  const r = runScenario(source, { file, trace: true });
  return JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}

describe('determinism', () => {
  for (const f of readdirSync(EXAMPLES).filter((x) => x.endsWith('.strace'))) {
    it(`${f}: the same scenario gives the same results and events, byte for byte`, () => {
      const src = readFileSync(join(EXAMPLES, f), 'utf8');
      const a = eventsOf(src, f);
      const b = eventsOf(src, f);
      expect(a.length).toBeGreaterThan(1000);
      expect(a).toBe(b);
    });
  }

  it('two machines fed the same calls emit the same event stream', () => {
    const run = (): string => {
      const m = new Machine();
      const out: string[] = [];
      m.subscribe((e) => out.push(JSON.stringify(e, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))));
      const pid = m.spawn();
      const p = m.mmap(pid, 0n, 16384n, 3, 0x22, -1, 0n);
      if (!p.ok) throw new Error('mmap failed');
      for (let i = 0n; i < 4n; i++) m.store(pid, p.value + i * 4096n, 8, i);
      m.fork(pid);
      m.mprotect(pid, p.value, 8192n, 1);
      m.munmap(pid, p.value + 4096n, 4096n);
      return out.join('\n') + m.maps(pid) + m.smaps(pid) + m.vmstat();
    };
    expect(run()).toBe(run());
  });

  it('the model fuzzer is deterministic across runs (results, not just counts)', () => {
    expect(JSON.stringify(runModelFuzz({ seed: 99, count: 500 }))).toBe(JSON.stringify(runModelFuzz({ seed: 99, count: 500 })));
  });
});
