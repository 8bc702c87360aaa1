/**
 * The explorer's view of a scenario run: the records of every step from the
 * scenario interpreter, and the machine as it stands after any step,
 * obtained by re-running the scenario's first statements on a fresh Machine
 * (the model is deterministic, so stepping back is re-running).
 */
import type { Machine } from '../index.js';
import type { Statement } from '../scenario/ast.js';
import type { Diagnostic } from '../scenario/diagnostics.js';
import { interpret, prepareScenario, type StepRecord } from '../scenario/interpreter.js';

export interface Session {
  file: string;
  source: string;
  /** Parser and check diagnostics; with an error nothing ran. */
  diagnostics: Diagnostic[];
  malformed: boolean;
  statements: Statement[];
  /** records[i] is step i + 1; step 0 is the state before the first line. */
  records: StepRecord[];
  /** cuts[n]: how many statements to run for the state after step n. */
  cuts: number[];
  /** The machine after the last step (from the full run). */
  final: Machine | null;
}

export function openSession(source: string, file = '<input>'): Session {
  // As `mmsim run` runs it: checked first, process-creating calls at their heads.
  const { diagnostics, statements, malformed } = prepareScenario(source, file);
  if (malformed) return { file, source, diagnostics, malformed: true, statements, records: [], cuts: [0], final: null };
  const run = interpret(statements, { file, trace: true });
  const cuts: number[] = [];
  for (const rec of run.records) {
    const j = statements.findIndex((s) => s.loc.line === rec.line && s.loc.column === rec.column);
    cuts.push(j < 0 ? statements.length : j);
  }
  cuts.push(statements.length);
  // Keep the cuts monotonic (a record the lookup could not place runs everything before the next one).
  for (let i = cuts.length - 2; i >= 0; i--) cuts[i] = Math.min(cuts[i]!, cuts[i + 1]!);
  return { file, source, diagnostics, malformed: false, statements, records: run.records, cuts, final: run.machine };
}

/** The scenario's pid labels by model pid, from the task each record ran on (threads count for their process). */
export function pidLabels(s: Session): Map<number, number> {
  const out = new Map<number, number>();
  const m = s.final;
  if (m === null) return out;
  for (const r of s.records) {
    if (r.pid === undefined || r.tid === undefined) continue;
    const tgid = m.getpid(r.tid);
    if (tgid !== undefined && !out.has(tgid)) out.set(tgid, r.pid);
  }
  return out;
}

export function stepCount(s: Session): number {
  return s.records.length;
}

/** The machine after step n (0 <= n <= stepCount), on a fresh run. */
export function machineAt(s: Session, n: number): Machine {
  if (n >= s.records.length && s.final !== null) return s.final;
  const cut = s.cuts[Math.max(0, Math.min(n, s.cuts.length - 1))]!;
  return interpret(s.statements.slice(0, cut), { file: s.file }).machine;
}

/** Per-step counters for the charts. */
export interface StepMetrics {
  step: number;
  /** Resident pages summed over live processes. */
  rssAnon: number;
  rssFile: number;
  rssShmem: number;
  minflt: number;
  majflt: number;
  /** Kilobytes read from and written to the disk (pgpgin/pgpgout). */
  readKb: number;
  writeKb: number;
  framesInUse: number;
}

export function metricsOf(m: Machine, step: number): StepMetrics {
  let rssAnon = 0;
  let rssFile = 0;
  let rssShmem = 0;
  for (const pid of m.pids()) {
    const p = m.counters(pid).process!;
    rssFile += p.rssFile;
    rssAnon += p.rssAnon;
    rssShmem += p.rssShmem;
  }
  const { vmstat: v, memory } = m.counters();
  return { step, rssAnon, rssFile, rssShmem, minflt: v.pgfault - v.pgmajfault, majflt: v.pgmajfault, readKb: v.pgpgin, writeKb: v.pgpgout, framesInUse: memory.used };
}

/**
 * Metrics for every step, computed by re-running each prefix (quadratic in
 * the number of steps). Long logs are sampled: at most `limit` runs.
 */
export function allMetrics(s: Session, limit = 400): StepMetrics[] {
  const n = s.records.length;
  const out: StepMetrics[] = [];
  const stride = Math.max(1, Math.ceil((n + 1) / limit));
  for (let i = 0; i <= n; i += stride) out.push(metricsOf(machineAt(s, i), i));
  if (out[out.length - 1]!.step !== n && s.final !== null) out.push(metricsOf(s.final, n));
  return out;
}
