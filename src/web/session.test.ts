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
import { interpret, runScenario } from '../scenario/interpreter.js';
import { joinSplitCalls, parseScenario } from '../scenario/parser.js';
import { allMetrics, machineAt, openSession, stepCount } from './session.js';

function files(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.strace')).map((f) => join(dir, f));
  } catch {
    return [];
  }
}

// threads-stderr.log: a child thread's lines come before its clone3's `<... resumed>` line.
const SCENARIOS = [...files('src/web/examples'), ...files('examples'), 'test/fixtures/explore/every-kind.strace', 'test/fixtures/strace/threads-stderr.log'];

/**
 * The machine after the scenario's first n steps, run in this test (not
 * through the session) from every statement above the line of step n + 1:
 * a `--- SIGSEGV ---` line after an access belongs to that access's step.
 */
function machineThroughStep(source: string, n: number): Machine {
  const statements = joinSplitCalls(parseScenario(source, 't').statements).statements;
  const next = interpret(statements).records[n];
  return interpret(next === undefined ? statements : statements.filter((s) => s.loc.line < next.line)).machine;
}

/** A counter from /proc/vmstat as the model prints it. */
function vmstat(m: Machine, name: string): number {
  const line = m.vmstat().split('\n').find((l) => l.startsWith(name + ' '));
  if (line === undefined) throw new Error(`no ${name} in /proc/vmstat`);
  return Number(line.split(' ')[1]);
}

/** A kB field of /proc/PID/status summed over the live processes, in pages. */
function statusPages(m: Machine, field: string): number {
  let kb = 0;
  for (const pid of m.pids()) {
    const line = m.status(pid)!.split('\n').find((l) => l.startsWith(field + ':'));
    if (line === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
    kb += Number(/(\d+) kB/.exec(line)![1]);
  }
  return (kb * 1024) / m.arch.pageSize;
}

function fingerprint(m: Machine): string {
  const procs = m.pids().map((pid) => `${pid}\n${m.smaps(pid)}`);
  const frames = m.frames().map((f) => `${f.pfn}:${f.kind}:${f.refcount}:${f.mapcount}:${f.flags.join(',')}`);
  return [...procs, frames.join(' '), JSON.stringify(m.counters().vmstat)].join('\n');
}

describe('explorer session', () => {
  it('finds the bundled examples', () => {
    expect(SCENARIOS.length).toBeGreaterThanOrEqual(4);
  });

  it('runs nothing for a scenario the check pass refuses, as mmsim run does, and says why', () => {
    const source = 'mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = $a\nmunmap($b, 4096) = 0\n';
    const s = openSession(source, 'bad.strace');
    expect(s.malformed).toBe(true);
    expect(s.records).toEqual([]);
    expect(s.diagnostics.map((d) => `${d.line}:${d.severity}`)).toEqual(runScenario(source, { file: 'bad.strace' }).diagnostics.map((d) => `${d.line}:${d.severity}`));
    expect(s.diagnostics.some((d) => d.line === 2 && d.severity === 'error' && d.message.includes('$b'))).toBe(true);
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

  it('a strace log of 239 lines opens, with a metrics row per step', () => {
    const source = readFileSync('test/fixtures/strace/ls.log', 'utf8');
    const s = openSession(source, 'ls.log');
    const metrics = allMetrics(s);
    expect(s.malformed).toBe(false);
    expect(stepCount(s)).toBeGreaterThan(1);
    expect(metrics.map((x) => x.step)).toEqual(Array.from({ length: stepCount(s) + 1 }, (_, i) => i));
  });

  // The charts plot allMetrics(): each step's counters must be what the
  // model's own /proc files say after a fresh run to that step.
  for (const file of SCENARIOS) {
    it(`the chart metrics of every step of ${file} are /proc/vmstat's and /proc/PID/status's`, () => {
      const source = readFileSync(file, 'utf8');
      const metrics = allMetrics(openSession(source, file));
      expect(metrics.map((x) => x.step)).toEqual(Array.from({ length: metrics.length }, (_, i) => i));
      for (const got of metrics) {
        const m = machineThroughStep(source, got.step);
        expect(got, `${file} step ${got.step}`).toMatchObject({
          rssAnon: statusPages(m, 'RssAnon'),
          rssFile: statusPages(m, 'RssFile'),
          rssShmem: statusPages(m, 'RssShmem'),
          minflt: vmstat(m, 'pgfault') - vmstat(m, 'pgmajfault'),
          majflt: vmstat(m, 'pgmajfault'),
          readKb: vmstat(m, 'pgpgin'),
          writeKb: vmstat(m, 'pgpgout'),
          framesInUse: m.frames().filter((f) => f.kind !== 'zero').length,
        });
      }
    });
  }

  it('every-kind.strace moves every chart series', () => {
    const metrics = allMetrics(openSession(readFileSync('test/fixtures/explore/every-kind.strace', 'utf8')));
    const last = metrics[metrics.length - 1]!;
    for (const k of ['rssAnon', 'rssFile', 'rssShmem', 'minflt', 'majflt', 'readKb', 'writeKb'] as const) expect(last[k], k).toBeGreaterThan(0);
  });
});
