/**
 * The explorer's session: stepping to step n re-runs the scenario's first
 * statements, which must leave the machine exactly where the full run was
 * after n steps. Checked for every bundled example (ours and examples/) by
 * comparing smaps, the frame table and vmstat at every step, stepping
 * forward and then back.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Machine } from '../index.js';
import { runScenario } from '../scenario/interpreter.js';
import { allMetrics, machineAt, openSession, stepCount } from './session.js';

function files(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.strace')).map((f) => join(dir, f));
  } catch {
    return [];
  }
}

const SCENARIOS = [...files('src/web/examples'), ...files('examples')];

function fingerprint(m: Machine): string {
  const procs = m.pids().map((pid) => `${pid}\n${m.smaps(pid)}`);
  const frames = m.frames().map((f) => `${f.pfn}:${f.kind}:${f.refcount}:${f.mapcount}:${f.flags.join(',')}`);
  return [...procs, frames.join(' '), JSON.stringify(m.counters().vmstat)].join('\n');
}

describe('explorer session', () => {
  it('finds the bundled examples', () => {
    expect(SCENARIOS.length).toBeGreaterThanOrEqual(4);
  });

  for (const file of SCENARIOS) {
    it(`re-running to any step of ${file} gives the state the full run had there`, () => {
      const source = readFileSync(file, 'utf8');
      const s = openSession(source, file);
      expect(s.malformed).toBe(false);
      expect(s.records.map((r) => r.text)).toEqual(runScenario(source, { file }).records.map((r) => r.text));
      // Forward, then backward on a fresh session: the same state at every step.
      const seen: string[] = [];
      for (let n = 0; n <= stepCount(s); n++) seen.push(fingerprint(machineAt(s, n)));
      const again = openSession(source, file);
      for (let n = stepCount(s); n >= 0; n--) expect(fingerprint(machineAt(again, n))).toBe(seen[n]);
      // Re-running every statement ends where the full run ended.
      expect(fingerprint(machineAt({ ...s, final: null }, stepCount(s)))).toBe(fingerprint(s.final!));
      expect(allMetrics(s).length).toBe(stepCount(s) + 1);
    });
  }

  it('a strace log of 239 lines opens, with metrics, in reasonable time', () => {
    const source = readFileSync('test/fixtures/strace/ls.log', 'utf8');
    const t0 = performance.now();
    const s = openSession(source, 'ls.log');
    const metrics = allMetrics(s);
    const ms = performance.now() - t0;
    expect(s.malformed).toBe(false);
    expect(metrics.length).toBeGreaterThan(1);
    expect(ms).toBeLessThan(20_000);
    console.log(`ls.log: ${stepCount(s)} steps, opened with metrics in ${Math.round(ms)} ms`);
  });
});
