/**
 * The scenario interpreter: runs parsed statements (see docs/grammar.md)
 * against one Machine and checks every expectation written in the file.
 *
 * Each statement becomes a StepRecord: the call as written, the model's
 * result as strace would print it, the expectation if there was one, whether
 * it held, and the kernel events it caused (when tracing). Nothing here
 * throws on a bad scenario: an unknown name, a missing argument or a failed
 * expectation is a Problem on its step, located by file:line:column.
 *
 * Processes: the first pid prefix in the file (or none) is the initial
 * process, Machine.spawn(). fork(), vfork() (modelled as fork), and clone()/clone3() without
 * CLONE_THREAD, make a child process whose scenario pid is the call's
 * expected result (strace's `= 2793`); clone with CLONE_THREAD makes a thread.
 * A line without a prefix belongs to the initial process. Scenario pids are
 * labels mapped to the model's own ids, and records show the labels.
 *
 * Faults: an access may expect a signal with `= SIGSEGV {...}` or a
 * `--- SIGSEGV {...} ---` line right after it (the next line of the same
 * pid). An access that faults with no such expectation (and no
 * `+++ killed by ... +++` next) fails, and the process is killed as the real
 * one would be; its later lines are skipped with a note.
 *
 * Expectations: numbers compare as 64-bit values (`= p + 4096`, `= 0x7f..`,
 * `= 3</path>`); `-1 ENOMEM` compares the errno; `read(fd, "data", n)` and
 * `pread64` compare the data read (a truncated `"..."...` only its prefix);
 * `mincore(addr, len, [1, 0, ...])` the vector; fstat/newfstatat st_size and
 * st_mode; getrusage ru_minflt and ru_majflt; si_code, si_addr and si_signo
 * of a signal. Checkpoints (maps, smaps, smaps_rollup, meminfo, vmstat,
 * status, statm) compare with a heredoc line by line, ignoring trailing
 * whitespace (editors strip it from anonymous maps lines); a heredoc line
 * `...` matches any number of lines. `smaps(addr)` is the block of the VMA
 * containing addr and `smaps(addr, "Rss") = 8` one field in kB. A call the
 * model does not have is counted in RunSummary.notModelled and never fails.
 */
import type { ArchName } from '../kernel/arch/profile.js';
import type { KernelEvent } from '../kernel/events.js';
import { type AccessFault, Machine, type MadeAccess, madeAccess, type SysResult } from '../kernel/machine.js';
import { AT_EMPTY_PATH, AT_FDCWD, isErrnoName, S_IFMT } from '../kernel/uapi.js';
import {
  type ArrayExpr,
  type CallStmt,
  type Expr,
  type Loc,
  type Result,
  type Statement,
  type StructExpr,
  CHECKPOINT_CALLS,
  printExpr,
  printResult,
} from './ast.js';
import { type Diagnostic, hasErrors } from './diagnostics.js';
import { checkStatements, withArticle } from './check.js';
import { constantValue } from './flags.js';
import { formatBytes, formatErrno, formatFault, formatHeredoc, hex, siCodeName } from './format.js';
import { joinSplitCalls, parseScenario } from './parser.js';

// ---------------------------------------------------------------------------
// Public types

export interface InterpretOptions {
  /** The architecture profile of the Machine (default x86_64). */
  arch?: ArchName;
  /** Collect the kernel events of each step into StepRecord.events. */
  trace?: boolean;
  /** Re-validate the whole model after every step (slow). */
  paranoid?: boolean;
  /** File name used in problems (default '<input>'). */
  file?: string;
  /** Called with each record as soon as its step has run. */
  onStep?: (record: StepRecord) => void;
}

/** A failed expectation or an error in a step, at a place in the scenario file. */
export interface Problem {
  file: string;
  line: number;
  column: number;
  endColumn?: number;
  message: string;
}

/**
 * What a step was:
 * call: a modelled syscall; access: load/store; checkpoint: maps() and friends;
 * process: fork/clone/exit/kill lines; signal: a `--- SIG... ---` line not paired
 * with an access; not-modelled: a syscall the model does not have (counted,
 * never an error); skipped: a line of a process that was killed or is not
 * modelled; other: any other strace line (messages, frames, events).
 */
export type StepKind = 'call' | 'access' | 'checkpoint' | 'process' | 'signal' | 'not-modelled' | 'skipped' | 'other';

export interface StepRecord {
  file: string;
  line: number;
  column: number;
  /** The scenario's pid label of the line (absent when the file has none). */
  pid?: number;
  /** The model's task id (Machine tid) that ran the step; absent when it did not run. */
  tid?: number;
  kind: StepKind;
  /** The call's name, for call-like steps. */
  name?: string;
  /** The statement as written (canonical spacing, no pid prefix, no result). */
  text: string;
  /** The call as strace would print it with the model's output arguments (read data, mincore vector, stat, rusage), when they differ from text. */
  actual?: string;
  /** The model's result as strace prints it after ` = ` (`0x7f...`, `-1 EINVAL (Invalid argument)`, `?`, a heredoc for checkpoints); '' when there is none. */
  result: string;
  /** The expectation as written, when the line had one. */
  expected?: string;
  /** Number of comparisons made on this step. */
  checks: number;
  /** True when every comparison held and nothing went wrong. */
  ok: boolean;
  problems: Problem[];
  notes: string[];
  /** Kernel events while the step ran (only when tracing). */
  events?: KernelEvent[];
}

export interface RunSummary {
  steps: number;
  /** Comparisons made, over all steps. */
  expectations: number;
  /** Steps with ok false. */
  failed: number;
  skipped: number;
  /** Syscalls seen that the model does not have, with their counts. */
  notModelled: Record<string, number>;
  /** Set when the model itself threw (a bug in mmsim): the run stopped at that step. */
  aborted?: string;
}

export interface RunResult {
  file: string;
  /** Parser diagnostics (errors and warnings). With any error nothing ran. */
  diagnostics: Diagnostic[];
  records: StepRecord[];
  summary: RunSummary;
  /** True when the input was malformed and nothing ran. */
  malformed: boolean;
}

// ---------------------------------------------------------------------------
// Entry points

/**
 * Parses, checks (check.ts) and runs a scenario. With parse or check errors,
 * nothing runs (malformed is true).
 */
export function runScenario(source: string, options: InterpretOptions = {}): RunResult {
  const file = options.file ?? '<input>';
  const { diagnostics, statements, malformed } = prepareScenario(source, file);
  if (malformed) return { file, diagnostics, records: [], summary: emptySummary(), malformed: true };
  const { records, summary } = interpret(statements, { ...options, file });
  return { file, diagnostics, records, summary, malformed: false };
}

/**
 * A scenario ready to run, as runScenario() and the explorer run it: parsed,
 * split calls joined, checked (check.ts), and process-creating calls moved
 * to their heads (processCreationFirst()). Malformed (nothing may run) when
 * any diagnostic is an error.
 */
export function prepareScenario(source: string, file = '<input>'): { diagnostics: Diagnostic[]; statements: Statement[]; malformed: boolean } {
  const parsed = parseScenario(source, file, { rawFallback: true });
  const joined = joinSplitCalls(parsed.statements, { file });
  const diagnostics = [...parsed.diagnostics, ...joined.diagnostics];
  // The check pass only on a file that parses, so each line is reported once.
  if (!hasErrors(diagnostics)) diagnostics.push(...checkStatements(joined.statements, file));
  const malformed = hasErrors(diagnostics);
  return { diagnostics, statements: malformed ? joined.statements : processCreationFirst(joined.statements), malformed };
}

/**
 * Runs statements (already joined by joinSplitCalls) on a fresh Machine, in
 * the order given. runScenario() also applies processCreationFirst(); a
 * caller running raw strace logs may want to as well.
 */
export function interpret(statements: readonly Statement[], options: InterpretOptions = {}): { records: StepRecord[]; summary: RunSummary; machine: Machine } {
  const it = new Interpreter(statements, options);
  it.run();
  return { records: it.records, summary: it.summary(), machine: it.machine };
}

const CREATING_CALLS = new Set(['fork', 'vfork', 'clone', 'clone2', 'clone3']);

/**
 * A child often runs before its parent's clone() returns, so strace shows the
 * child's first lines between `clone(... <unfinished ...>` and
 * `<... clone resumed> = 3418`. joinSplitCalls() puts the joined call at the
 * resumed line; this moves joined process-creating calls back to their
 * unfinished head, so the child exists before its first line runs.
 */
export function processCreationFirst(statements: readonly Statement[]): Statement[] {
  const out = [...statements];
  for (let i = 0; i < out.length; i++) {
    const s = out[i]!;
    if (s.kind !== 'call' || s.resumedLoc === undefined || !CREATING_CALLS.has(s.name)) continue;
    const at = out.findIndex((t) => t.loc.line > s.loc.line);
    if (at < 0 || at >= i) continue;
    out.splice(i, 1);
    out.splice(at, 0, s);
  }
  return out;
}

/**
 * The initial process's label: the first pid prefix that is not the result of
 * a fork/clone in the file (strace -f to stderr prints no prefix until a
 * second task exists, so a child's pid may be the first one seen).
 */
function initialPid(statements: readonly Statement[]): number | undefined {
  const created = new Set<number>();
  for (const s of statements) {
    if (s.kind === 'call' && CREATING_CALLS.has(s.name) && s.result?.kind === 'value' && s.result.value.kind === 'int') {
      created.add(Number(s.result.value.value));
    }
  }
  return statements.find((s) => s.pid !== undefined && !created.has(s.pid))?.pid;
}

function emptySummary(): RunSummary {
  return { steps: 0, expectations: 0, failed: 0, skipped: 0, notModelled: {} };
}

// ---------------------------------------------------------------------------
// Evaluation

/** An error evaluating an argument or expectation; becomes a Problem at loc. */
class EvalError {
  constructor(
    readonly loc: Loc,
    readonly message: string,
  ) {}
}

/** The pseudo-calls and syscalls the interpreter models, by name. */
const LOADS: Record<string, 1 | 2 | 4 | 8> = { load8: 1, load16: 2, load32: 4, load64: 8 };
const STORES: Record<string, 1 | 2 | 4 | 8> = { store8: 1, store16: 2, store32: 4, store64: 8 };
/** ast.ts's CHECKPOINT_CALLS, plus status() and statm() (the memory lines of /proc/PID/status, and statm). */
const CHECKPOINTS = new Set<string>([...CHECKPOINT_CALLS, 'status', 'statm']);

interface Binding {
  value?: bigint;
  /** Why the name has no value (its call failed). */
  why?: string;
}

/** A scenario pid label's state. */
type PidState =
  | { kind: 'live'; tid: number }
  | { kind: 'dead'; why: string }
  | { kind: 'untracked'; why: string };

const decoder = new TextDecoder();

function u64(v: bigint): bigint {
  return BigInt.asUintN(64, v);
}

function sysResultText(name: string, r: SysResult): string {
  if (!r.ok) return formatErrno(r.errno);
  return POINTER_RESULTS.has(name) ? hex(r.value) : r.value.toString();
}

/** Calls whose result strace prints in hex. */
const POINTER_RESULTS = new Set(['mmap', 'mmap2', 'mremap', 'brk', 'shmat']);

function callText(s: CallStmt): string {
  return `${s.bind ? `${s.bind.name} = ` : ''}${s.name}(${s.args.map(printExpr).join(', ')})`;
}

function replaceArg(s: CallStmt, index: number, text: string): string {
  const args = s.args.map(printExpr);
  args[index] = text;
  return `${s.bind ? `${s.bind.name} = ` : ''}${s.name}(${args.join(', ')})`;
}

function statementText(s: Statement): string {
  switch (s.kind) {
    case 'call':
      return callText(s);
    case 'signal':
      return `--- ${s.signal}${s.info ? ' ' + printExpr(s.info) : ''} ---`;
    case 'stopped':
      return `--- stopped by ${s.signal} ---`;
    case 'exited':
      return `+++ exited with ${s.status} +++`;
    case 'killed':
      return `+++ killed by ${s.signal}${s.coreDumped ? ' (core dumped)' : ''} +++`;
    case 'superseded':
      return `+++ superseded by execve in pid ${s.byPid} +++`;
    case 'event':
      return s.text;
    case 'message':
      return `strace: ${s.text}`;
    case 'frame':
      return ` > ${s.text}`;
  }
}

/**
 * Lines equal up to trailing whitespace; a heredoc line `...` matches any
 * number of lines. On a mismatch, line is the index of the expected line that
 * could not be matched, got the model's line there (undefined after a `...`:
 * no line of the model's text matched).
 */
function matchText(expected: string, actual: string): { ok: true } | { ok: false; line: number; want: string; got: string | undefined } {
  const e = expected.split('\n');
  const a = actual.split('\n');
  if (e[e.length - 1] === '') e.pop();
  if (a[a.length - 1] === '') a.pop();
  const norm = (s: string): string => s.replace(/[ \t]+$/, '');
  const isWild = (i: number): boolean => i >= 0 && i < e.length && norm(e[i]!).trim() === '...';
  let fail = { ei: -1, ai: Number.MAX_SAFE_INTEGER };
  const noteFail = (ei: number, ai: number): void => {
    if (ei > fail.ei || (ei === fail.ei && ai < fail.ai)) fail = { ei, ai };
  };
  const memo = new Set<string>();
  const go = (ei: number, ai: number): boolean => {
    const key = `${ei},${ai}`;
    if (memo.has(key)) return false;
    let ok: boolean;
    if (ei === e.length) {
      ok = ai === a.length;
      if (!ok) noteFail(ei, ai);
    } else if (isWild(ei)) {
      ok = false;
      for (let k = ai; k <= a.length && !ok; k++) ok = go(ei + 1, k);
    } else if (ai < a.length && norm(e[ei]!) === norm(a[ai]!)) {
      ok = go(ei + 1, ai + 1);
    } else {
      noteFail(ei, ai);
      ok = false;
    }
    if (!ok) memo.add(key);
    return ok;
  };
  if (go(0, 0)) return { ok: true };
  const want = fail.ei < e.length ? e[fail.ei]! : '(end of text)';
  const got = isWild(fail.ei - 1) ? undefined : (a[fail.ai] ?? '(end of text)');
  return { ok: false, line: Math.min(fail.ei, e.length), want, got };
}

// ---------------------------------------------------------------------------

class Interpreter {
  readonly machine: Machine;
  readonly records: StepRecord[] = [];
  private readonly file: string;
  private readonly bindings = new Map<string, Binding>();
  private readonly pids = new Map<number, PidState>();
  /** The initial process's label (undefined when the file has no pid prefixes). */
  private readonly initialLabel: number | undefined;
  /** The initial process's state, used when the file has no pid labels. */
  private rootState: PidState;
  private readonly notModelled = new Map<string, number>();
  /** Indexes of statements already consumed as the expectation of an earlier access. */
  private readonly consumed = new Set<number>();
  private events: KernelEvent[] | null = null;
  /** Set when the model threw: the run stopped there. */
  aborted: string | undefined;

  constructor(
    private readonly statements: readonly Statement[],
    private readonly options: InterpretOptions,
  ) {
    this.file = options.file ?? '<input>';
    this.machine = new Machine({ arch: options.arch ?? 'x86_64', paranoid: options.paranoid ?? false });
    // The kernel's own stream (number addresses), as StepRecord.events keeps it.
    if (options.trace) this.machine.k.subscribe((e) => this.events?.push(e));
    this.initialLabel = initialPid(statements);
    const tid = this.machine.spawn();
    this.rootState = { kind: 'live', tid };
    if (this.initialLabel !== undefined) this.pids.set(this.initialLabel, this.rootState);
  }

  summary(): RunSummary {
    const s = emptySummary();
    s.steps = this.records.length;
    for (const r of this.records) {
      s.expectations += r.checks;
      if (!r.ok) s.failed++;
      if (r.kind === 'skipped') s.skipped++;
    }
    s.notModelled = Object.fromEntries([...this.notModelled].sort((a, b) => a[0].localeCompare(b[0])));
    if (this.aborted !== undefined) s.aborted = this.aborted;
    return s;
  }

  run(): void {
    for (let i = 0; i < this.statements.length && this.aborted === undefined; i++) {
      const s = this.statements[i]!;
      if (this.consumed.has(i)) continue;
      const rec = this.newRecord(s);
      if (this.options.trace) this.events = [];
      try {
        this.step(s, i, rec);
      } catch (e) {
        if (e instanceof EvalError) {
          this.problem(rec, e.loc, e.message);
          // A name bound by a line that could not run has no value.
          if (s.kind === 'call' && s.bind && !this.bindings.has(s.bind.name)) {
            this.bindings.set(s.bind.name, { why: `${this.where(s)} could not run` });
          }
        } else {
          // The model threw: a broken invariant (a model bug). Nothing after it can be trusted.
          const msg = e instanceof Error ? e.message : String(e);
          this.aborted = `the model failed at ${this.where(s)}: ${msg}`;
          this.problem(rec, s.loc, `internal error in the model (a bug in mmsim, not in the scenario): ${msg}; the run stops here`);
        }
      }
      if (this.options.trace) {
        rec.events = this.events ?? [];
        this.events = null;
      }
      rec.ok = rec.problems.length === 0;
      this.records.push(rec);
      this.options.onStep?.(rec);
    }
  }

  private newRecord(s: Statement): StepRecord {
    const label = s.pid ?? this.initialLabel;
    const rec: StepRecord = {
      file: this.file,
      line: s.loc.line,
      column: s.loc.column,
      ...(label !== undefined ? { pid: label } : {}),
      kind: 'other',
      ...(s.kind === 'call' ? { name: s.name } : {}),
      text: statementText(s),
      result: '',
      checks: 0,
      ok: true,
      problems: [],
      notes: [],
    };
    return rec;
  }

  private problem(rec: StepRecord, loc: Loc, message: string): void {
    const p: Problem = { file: this.file, line: loc.line, column: loc.column, message };
    if (loc.endLine === undefined) p.endColumn = loc.endColumn;
    rec.problems.push(p);
  }

  /** The model's thread for a statement's pid, or a reason the line cannot run. */
  private thread(s: Statement): { tid: number } | { skip: string } | { error: string } {
    const label = s.pid ?? this.initialLabel;
    const st = label === undefined ? this.rootState : this.pids.get(label);
    if (st === undefined) return { error: `pid ${label} was not created by a fork() or clone() earlier in this file` };
    return st.kind === 'live' ? { tid: st.tid } : { skip: st.why };
  }

  /** Marks every label of the process containing tid as dead. */
  private killLabels(tid: number, why: string): void {
    const proc = this.machine.task(tid)?.process;
    const tids = new Set(proc ? proc.threads.map((t) => t.tid) : [tid]);
    tids.add(tid);
    for (const [label, st] of this.pids) if (st.kind === 'live' && tids.has(st.tid)) this.pids.set(label, { kind: 'dead', why });
    if (this.rootState.kind === 'live' && tids.has(this.rootState.tid)) {
      this.rootState = { kind: 'dead', why };
    }
  }

  private killThreadLabel(tid: number, why: string): void {
    for (const [label, st] of this.pids) if (st.kind === 'live' && st.tid === tid) this.pids.set(label, { kind: 'dead', why });
    if (this.rootState.kind === 'live' && this.rootState.tid === tid) {
      this.rootState = { kind: 'dead', why };
    }
  }

  private where(s: Statement): string {
    return `${this.file}:${s.loc.line}`;
  }

  // -- statements -------------------------------------------------------------

  private step(s: Statement, index: number, rec: StepRecord): void {
    if (s.kind === 'message' || s.kind === 'frame' || s.kind === 'event' || s.kind === 'stopped') {
      rec.kind = 'other';
      return;
    }
    const th = this.thread(s);
    if ((s.kind === 'exited' || s.kind === 'killed') && 'skip' in th) {
      rec.kind = 'process';
      rec.notes.push(`already gone: ${th.skip}`);
      return;
    }
    if ('skip' in th) {
      rec.kind = 'skipped';
      rec.notes.push(`skipped: ${th.skip}`);
      return;
    }
    if ('error' in th) {
      rec.kind = 'skipped';
      this.problem(rec, s.pidLoc ?? s.loc, th.error);
      return;
    }
    const tid = th.tid;
    rec.tid = tid;
    switch (s.kind) {
      case 'signal':
        rec.kind = 'signal';
        rec.notes.push('a signal line not right after a memory access of this pid: not checked');
        return;
      case 'exited':
        rec.kind = 'process';
        this.machine.exitThread(tid, s.status);
        this.killThreadLabel(tid, `thread exited at ${this.where(s)}`);
        return;
      case 'killed':
        rec.kind = 'process';
        this.killLabels(tid, `killed by ${s.signal} at ${this.where(s)}`);
        this.machine.exitGroup(tid, 128);
        return;
      case 'superseded':
        rec.kind = 'not-modelled';
        rec.notes.push('execve is not modelled');
        return;
      case 'call':
        this.callStep(s, index, rec, tid);
        return;
    }
  }

  private callStep(s: CallStmt, index: number, rec: StepRecord, tid: number): void {
    if (s.unfinished || s.resumed || s.detached) {
      rec.kind = 'other';
      rec.notes.push('half of a split call with no partner: not run');
      return;
    }
    if (s.result) rec.expected = printResult(s.result);
    const name = s.name;
    if (name in LOADS || name in STORES || name === 'load' || name === 'store') {
      rec.kind = 'access';
      this.accessStep(s, index, rec, tid);
      return;
    }
    if (CHECKPOINTS.has(name)) {
      rec.kind = 'checkpoint';
      this.checkpointStep(s, rec, tid);
      return;
    }
    const handler = this.syscalls[name];
    if (handler === undefined) {
      rec.kind = 'not-modelled';
      this.notModelled.set(name, (this.notModelled.get(name) ?? 0) + 1);
      rec.notes.push(`${name} is not modelled${s.result ? ': its result is not checked' : ''}`);
      return;
    }
    rec.kind = 'call';
    handler.call(this, s, rec, tid);
  }

  // -- argument helpers -------------------------------------------------------

  private arg(s: CallStmt, i: number, what: string): Expr {
    const a = s.args[i];
    if (a === undefined) throw new EvalError(s.nameLoc, `${s.name}() needs ${withArticle(what)} as argument ${i + 1}`);
    return a;
  }

  private named(s: CallStmt, name: string): Expr | undefined {
    for (const a of s.args) if (a.kind === 'named' && a.name === name) return a.value;
    return undefined;
  }

  evalInt(e: Expr): bigint {
    switch (e.kind) {
      case 'int':
        return e.value;
      case 'null':
        return 0n;
      case 'ident': {
        const b = this.bindings.get(e.name);
        if (b !== undefined) {
          if (b.value === undefined) throw new EvalError(e.loc, `'${e.name}' has no value: ${b.why ?? 'its call failed'}`);
          return b.value;
        }
        const c = constantValue(e.name);
        if (c !== undefined) return c;
        throw new EvalError(e.loc, `unknown name '${e.name}' (not a bound name nor a constant)`);
      }
      case 'flags':
        return e.parts.reduce((acc, p) => acc | this.evalInt(p), 0n);
      case 'shift': {
        const r = this.evalInt(e.right);
        if (r < 0n || r > 63n) throw new EvalError(e.loc, `shift by ${r} is out of range`);
        return this.evalInt(e.left) << r;
      }
      case 'binop': {
        const l = this.evalInt(e.left);
        const r = this.evalInt(e.right);
        switch (e.op) {
          case '+': return l + r;
          case '-': return l - r;
          case '*': return l * r;
          case '/':
            if (r === 0n) throw new EvalError(e.loc, 'division by zero');
            return l / r;
        }
        break;
      }
      case 'unary': {
        const v = this.evalInt(e.operand);
        return e.op === '-' ? -v : u64(~v);
      }
      case 'fdpath':
        return this.evalInt(e.fd);
      case 'named':
        return this.evalInt(e.value);
      case 'str':
        throw new EvalError(e.loc, 'expected a number, found a string');
      case 'raw':
        throw new EvalError(e.loc, `cannot evaluate '${e.text}'`);
      default:
        break;
    }
    throw new EvalError(e.loc, `expected a number, found '${printExpr(e)}'`);
  }

  private evalNum(e: Expr): number {
    const v = this.evalInt(e);
    return Number(BigInt.asIntN(64, v));
  }

  private evalBytes(e: Expr): Uint8Array {
    if (e.kind === 'str') return e.bytes;
    throw new EvalError(e.loc, `expected a string, found '${printExpr(e)}'`);
  }

  private evalPath(e: Expr): string {
    return decoder.decode(this.evalBytes(e));
  }

  // -- expectations -----------------------------------------------------------

  /** Compares a syscall's result with the line's expectation; binds the result. */
  private expectSys(s: CallStmt, rec: StepRecord, r: SysResult, shown?: string): void {
    rec.result = shown ?? sysResultText(s.name, r);
    const exp = s.result;
    if (exp !== undefined) this.compareSys(s, rec, exp, r);
    this.bind(s, r.ok ? r.value : undefined, r.ok ? '' : `${s.name} at ${this.file}:${s.loc.line} failed with ${r.errno}`);
  }

  private compareSys(s: CallStmt, rec: StepRecord, exp: Result, r: SysResult): void {
    switch (exp.kind) {
      case 'value': {
        if (exp.value.kind === 'str') {
          rec.checks++;
          this.problem(rec, exp.loc, `${s.name}() returns a number, not a string`);
          return;
        }
        const want = this.evalInt(exp.value);
        rec.checks++;
        if (!r.ok || u64(want) !== u64(r.value)) {
          const written = printExpr(exp.value);
          const value = this.showNum(s.name, want);
          this.problem(rec, exp.loc, `expected ${written}${written !== value ? ` (${value})` : ''}, the model returned ${rec.result}`);
        }
        return;
      }
      case 'errno': {
        rec.checks++;
        if (r.ok || r.errno !== exp.errno) {
          this.problem(rec, exp.loc, `expected ${exp.value === null ? '?' : exp.value} ${exp.errno}, the model returned ${rec.result}`);
        } else if (exp.value !== null && exp.value !== -1n) {
          this.problem(rec, exp.loc, `an error result is written -1 ${exp.errno}`);
        }
        if (!isErrnoName(exp.errno)) this.problem(rec, exp.loc, `unknown errno name ${exp.errno}`);
        return;
      }
      case 'unknown':
        rec.notes.push(`'= ?': not checked`);
        return;
      case 'signal':
        rec.checks++;
        this.problem(rec, exp.loc, `a syscall does not raise ${exp.signal}; it returns -1 EFAULT. The model returned ${rec.result}`);
        return;
      case 'heredoc':
        rec.checks++;
        this.problem(rec, exp.loc, `${s.name}() returns a number, not a text`);
        return;
      case 'raw':
        rec.notes.push(`result '${exp.text}' not understood: not checked`);
        return;
    }
  }

  private showNum(name: string, v: bigint): string {
    return POINTER_RESULTS.has(name) ? hex(v) : v.toString();
  }

  private bind(s: CallStmt, value: bigint | undefined, why: string): void {
    if (!s.bind) return;
    this.bindings.set(s.bind.name, value === undefined ? { why } : { value });
  }

  // -- syscalls ---------------------------------------------------------------

  private readonly syscalls: Record<string, (this: Interpreter, s: CallStmt, rec: StepRecord, tid: number) => void> = {
    mmap(s, rec, tid) {
      const [a, l, p, f, fd, off] = [0, 1, 2, 3, 4, 5].map((i) => this.evalInt(this.arg(s, i, ['address', 'length', 'protection', 'flags', 'descriptor', 'offset'][i]!)));
      this.expectSys(s, rec, this.machine.mmap(tid, a!, l!, p!, f!, fd!, off!));
    },
    munmap(s, rec, tid) {
      this.expectSys(s, rec, this.machine.munmap(tid, this.evalInt(this.arg(s, 0, 'address')), this.evalInt(this.arg(s, 1, 'length'))));
    },
    mprotect(s, rec, tid) {
      this.expectSys(s, rec, this.machine.mprotect(tid, this.evalInt(this.arg(s, 0, 'address')), this.evalInt(this.arg(s, 1, 'length')), this.evalInt(this.arg(s, 2, 'protection'))));
    },
    msync(s, rec, tid) {
      this.expectSys(s, rec, this.machine.msync(tid, this.evalInt(this.arg(s, 0, 'address')), this.evalInt(this.arg(s, 1, 'length')), this.evalInt(this.arg(s, 2, 'flags'))));
    },
    mremap(s, rec, tid) {
      const newAddr = s.args[4] ? this.evalInt(s.args[4]) : 0n;
      this.expectSys(s, rec, this.machine.mremap(tid, this.evalInt(this.arg(s, 0, 'old address')), this.evalInt(this.arg(s, 1, 'old length')), this.evalInt(this.arg(s, 2, 'new length')), this.evalInt(this.arg(s, 3, 'flags')), newAddr));
    },
    madvise(s, rec, tid) {
      this.expectSys(s, rec, this.machine.madvise(tid, this.evalInt(this.arg(s, 0, 'address')), this.evalInt(this.arg(s, 1, 'length')), this.evalInt(this.arg(s, 2, 'advice'))));
    },
    mlock(s, rec, tid) {
      this.expectSys(s, rec, this.machine.mlock(tid, this.evalInt(this.arg(s, 0, 'address')), this.evalInt(this.arg(s, 1, 'length'))));
    },
    mlock2(s, rec, tid) {
      const flags = s.args[2] ? this.evalInt(s.args[2]) : 0n;
      this.expectSys(s, rec, this.machine.mlock2(tid, this.evalInt(this.arg(s, 0, 'address')), this.evalInt(this.arg(s, 1, 'length')), flags));
    },
    munlock(s, rec, tid) {
      this.expectSys(s, rec, this.machine.munlock(tid, this.evalInt(this.arg(s, 0, 'address')), this.evalInt(this.arg(s, 1, 'length'))));
    },
    mlockall(s, rec, tid) {
      this.expectSys(s, rec, this.machine.mlockall(tid, this.evalInt(this.arg(s, 0, 'flags'))));
    },
    munlockall(s, rec, tid) {
      this.expectSys(s, rec, this.machine.munlockall(tid));
    },
    brk(s, rec, tid) {
      this.expectSys(s, rec, this.machine.brk(tid, this.evalInt(this.arg(s, 0, 'address'))));
    },
    mincore(s, rec, tid) {
      const r = this.machine.mincore(tid, this.evalInt(this.arg(s, 0, 'address')), this.evalInt(this.arg(s, 1, 'length')));
      const vecArg = s.args[2];
      if (r.ok) {
        const shown = '[' + [...r.vec].join(', ') + ']';
        rec.actual = replaceArg(s, 2, shown);
        if (vecArg?.kind === 'array') this.compareVector(rec, vecArg, r.vec);
      }
      this.expectSys(s, rec, r);
    },
    open(s, rec, tid) {
      const path = this.evalPath(this.arg(s, 0, 'path'));
      const flags = this.evalNum(this.arg(s, 1, 'flags'));
      const mode = s.args[2] ? this.evalNum(s.args[2]) : 0o644;
      this.expectSys(s, rec, this.machine.openat(tid, AT_FDCWD, path, flags, mode));
    },
    openat(s, rec, tid) {
      const dirfd = this.evalNum(this.arg(s, 0, 'directory descriptor'));
      const path = this.evalPath(this.arg(s, 1, 'path'));
      const flags = this.evalNum(this.arg(s, 2, 'flags'));
      const mode = s.args[3] ? this.evalNum(s.args[3]) : 0o644;
      this.expectSys(s, rec, this.machine.openat(tid, dirfd, path, flags, mode));
    },
    close(s, rec, tid) {
      this.expectSys(s, rec, this.machine.close(tid, this.evalNum(this.arg(s, 0, 'descriptor'))));
    },
    read(s, rec, tid) {
      this.readStep(s, rec, tid, null);
    },
    pread64(s, rec, tid) {
      this.readStep(s, rec, tid, this.evalInt(this.arg(s, 3, 'offset')));
    },
    write(s, rec, tid) {
      this.writeStep(s, rec, tid, null);
    },
    pwrite64(s, rec, tid) {
      this.writeStep(s, rec, tid, this.evalInt(this.arg(s, 3, 'offset')));
    },
    lseek(s, rec, tid) {
      this.expectSys(s, rec, this.machine.lseek(tid, this.evalNum(this.arg(s, 0, 'descriptor')), this.evalInt(this.arg(s, 1, 'offset')), this.evalNum(this.arg(s, 2, 'whence'))));
    },
    ftruncate(s, rec, tid) {
      this.expectSys(s, rec, this.machine.ftruncate(tid, this.evalNum(this.arg(s, 0, 'descriptor')), this.evalInt(this.arg(s, 1, 'length'))));
    },
    fsync(s, rec, tid) {
      this.expectSys(s, rec, this.machine.fsync(tid, this.evalNum(this.arg(s, 0, 'descriptor'))));
    },
    fdatasync(s, rec, tid) {
      this.expectSys(s, rec, this.machine.fdatasync(tid, this.evalNum(this.arg(s, 0, 'descriptor'))));
    },
    unlink(s, rec, tid) {
      this.expectSys(s, rec, this.machine.unlink(tid, this.evalPath(this.arg(s, 0, 'path'))));
    },
    unlinkat(s, rec, tid) {
      const dirfd = this.evalNum(this.arg(s, 0, 'directory descriptor'));
      const path = this.evalPath(this.arg(s, 1, 'path'));
      const flags = s.args[2] ? this.evalNum(s.args[2]) : 0;
      if (dirfd !== AT_FDCWD && !path.startsWith('/')) throw new EvalError(s.args[0]!.loc, 'unlinkat relative to a directory descriptor is not modelled (use AT_FDCWD)');
      if (flags !== 0) throw new EvalError(s.args[2]!.loc, 'unlinkat flags (AT_REMOVEDIR) are not modelled');
      this.expectSys(s, rec, this.machine.unlink(tid, path));
    },
    fstat(s, rec, tid) {
      this.statStep(s, rec, tid, this.evalNum(this.arg(s, 0, 'descriptor')), 1);
    },
    newfstatat(s, rec, tid) {
      const fd = this.evalNum(this.arg(s, 0, 'descriptor'));
      const path = this.evalPath(this.arg(s, 1, 'path'));
      const flags = s.args[3] ? this.evalNum(s.args[3]) : 0;
      if (path !== '' || (flags & AT_EMPTY_PATH) === 0) {
        rec.kind = 'not-modelled';
        this.notModelled.set('newfstatat(path)', (this.notModelled.get('newfstatat(path)') ?? 0) + 1);
        rec.notes.push('newfstatat of a path is not modelled (only "" with AT_EMPTY_PATH): not checked');
        return;
      }
      this.statStep(s, rec, tid, fd, 2);
    },
    fadvise64(s, rec, tid) {
      this.fadviseStep(s, rec, tid);
    },
    fadvise64_64(s, rec, tid) {
      this.fadviseStep(s, rec, tid);
    },
    posix_fadvise(s, rec, tid) {
      this.fadviseStep(s, rec, tid);
    },
    memfd_create(s, rec, tid) {
      this.expectSys(s, rec, this.machine.memfdCreate(tid, this.evalPath(this.arg(s, 0, 'name')), this.evalNum(this.arg(s, 1, 'flags'))));
    },
    exit_group(s, rec, tid) {
      rec.kind = 'process';
      const code = s.args[0] ? this.evalNum(s.args[0]) : 0;
      this.killLabels(tid, `exit_group at ${this.where(s)}`);
      this.machine.exitGroup(tid, code);
      rec.result = '?';
      if (s.result && s.result.kind !== 'unknown') this.problem(rec, s.result.loc, 'exit_group does not return; its result is written ?');
    },
    exit(s, rec, tid) {
      rec.kind = 'process';
      const code = s.args[0] ? this.evalNum(s.args[0]) : 0;
      this.killThreadLabel(tid, `exit at ${this.where(s)}`);
      this.machine.exitThread(tid, code);
      rec.result = '?';
    },
    fork(s, rec, tid) {
      rec.kind = 'process';
      this.forkStep(s, rec, tid);
    },
    vfork(s, rec, tid) {
      // The real child borrows the parent's memory while the parent waits for
      // its execve or _exit; a scenario's lines run one after another anyway,
      // and a child that only execs or exits behaves the same on a copy.
      rec.kind = 'process';
      rec.notes.push("vfork is modelled as fork: the child runs on a copy-on-write copy of the parent's address space, not on the parent's own");
      this.forkStep(s, rec, tid);
    },
    clone(s, rec, tid) {
      rec.kind = 'process';
      const flagsExpr = this.named(s, 'flags') ?? s.args.find((a) => a.kind !== 'named');
      const flags = flagsExpr ? this.evalInt(flagsExpr) : 0n;
      this.cloneStep(s, rec, tid, flags);
    },
    clone3(s, rec, tid) {
      rec.kind = 'process';
      let a = this.arg(s, 0, 'clone_args struct');
      if (a.kind === 'inout' && a.input !== null) a = a.input;
      if (a.kind !== 'struct') throw new EvalError(a.loc, 'clone3() needs its {flags=..., ...} struct');
      const f = a.fields.find((x) => x.name === 'flags');
      this.cloneStep(s, rec, tid, f ? this.evalInt(f.value) : 0n);
    },
    getrusage(s, rec, tid) {
      const who = this.evalNum(this.arg(s, 0, 'RUSAGE_SELF or RUSAGE_THREAD'));
      let ru: { minFlt: number; majFlt: number } | undefined;
      if (who === 0) ru = this.machine.rusage(tid);
      else if (who === 1) {
        const t = this.machine.task(tid);
        ru = t ? { minFlt: t.minFlt, majFlt: t.majFlt } : undefined;
      } else {
        rec.kind = 'not-modelled';
        rec.notes.push('getrusage of children is not modelled: not checked');
        return;
      }
      const r: SysResult = ru ? { ok: true, value: 0n } : { ok: false, errno: 'ESRCH' };
      if (ru) {
        rec.actual = replaceArg(s, 1, `{ru_minflt=${ru.minFlt}, ru_majflt=${ru.majFlt}, ...}`);
        const st = s.args[1];
        if (st?.kind === 'struct') {
          this.compareFields(rec, st, { ru_minflt: BigInt(ru.minFlt), ru_majflt: BigInt(ru.majFlt) }, 'getrusage');
        }
      }
      this.expectSys(s, rec, r);
    },
  };

  private fadviseStep(s: CallStmt, rec: StepRecord, tid: number): void {
    this.expectSys(
      s,
      rec,
      this.machine.fadvise(tid, this.evalNum(this.arg(s, 0, 'descriptor')), this.evalInt(this.arg(s, 1, 'offset')), this.evalInt(this.arg(s, 2, 'length')), this.evalNum(this.arg(s, 3, 'advice'))),
    );
  }

  private readStep(s: CallStmt, rec: StepRecord, tid: number, pos: bigint | null): void {
    const fd = this.evalNum(this.arg(s, 0, 'descriptor'));
    const buf = this.arg(s, 1, 'buffer');
    const count = this.evalInt(this.arg(s, 2, 'count'));
    if (buf.kind === 'str') {
      const r = this.machine.read(tid, fd, count, pos);
      if (r.ok) {
        rec.actual = replaceArg(s, 1, formatBytes(r.data));
        rec.checks++;
        const want = buf.bytes;
        const got = buf.truncated ? r.data.subarray(0, want.length) : r.data;
        if (!bytesEqual(want, got)) this.problem(rec, buf.loc, `expected the data ${printExpr(buf)}, the model read ${formatBytes(r.data)}`);
      }
      this.expectSys(s, rec, r);
      return;
    }
    this.expectSys(s, rec, this.machine.readInto(tid, fd, this.evalInt(buf), count, pos));
  }

  private writeStep(s: CallStmt, rec: StepRecord, tid: number, pos: bigint | null): void {
    const fd = this.evalNum(this.arg(s, 0, 'descriptor'));
    const buf = this.arg(s, 1, 'buffer');
    const countExpr = s.args[2];
    if (buf.kind === 'str') {
      let data = buf.bytes;
      if (countExpr !== undefined) {
        const count = Number(this.evalInt(countExpr));
        if (count < 0 || count > 1 << 30) throw new EvalError(countExpr.loc, `count ${count} is out of range for written data`);
        if (count <= data.length) data = data.subarray(0, count);
        else {
          const padded = new Uint8Array(count);
          padded.set(data);
          data = padded;
          rec.notes.push(`the string has ${buf.bytes.length} bytes; ${count - buf.bytes.length} zero bytes written after it`);
        }
      }
      this.expectSys(s, rec, this.machine.write(tid, fd, data, pos));
      return;
    }
    if (countExpr === undefined) throw new EvalError(s.nameLoc, `${s.name}() from an address needs a count`);
    this.expectSys(s, rec, this.machine.writeFrom(tid, fd, this.evalInt(buf), this.evalInt(countExpr), pos));
  }

  private statStep(s: CallStmt, rec: StepRecord, tid: number, fd: number, structIndex: number): void {
    const r = this.machine.fstat(tid, fd);
    if (r.ok && r.stat) {
      const st = r.stat;
      const kind = (st.st_mode & S_IFMT) === 0o100000 ? 'S_IFREG' : (st.st_mode & S_IFMT) === 0o040000 ? 'S_IFDIR' : (st.st_mode & S_IFMT) === 0o020000 ? 'S_IFCHR' : '0' + (st.st_mode & S_IFMT).toString(8);
      rec.actual = replaceArg(s, structIndex, `{st_mode=${kind}|0${(st.st_mode & 0o7777).toString(8)}, st_size=${st.st_size}, ...}`);
      const arg = s.args[structIndex];
      if (arg?.kind === 'struct') {
        this.compareFields(rec, arg, { st_size: BigInt(st.st_size), st_mode: BigInt(st.st_mode), st_ino: BigInt(st.st_ino), st_nlink: BigInt(st.st_nlink), st_blocks: BigInt(st.st_blocks), st_blksize: BigInt(st.st_blksize) }, s.name, ['st_size', 'st_mode']);
      }
    }
    this.expectSys(s, rec, r);
  }

  /** Compares the named struct members the line gives (only those in `checked` when given) with the model's values. */
  private compareFields(rec: StepRecord, st: StructExpr, actual: Record<string, bigint>, what: string, checked?: string[]): void {
    for (const f of st.fields) {
      if (f.name === undefined || !(f.name in actual)) continue;
      if (checked && !checked.includes(f.name)) continue;
      const want = this.evalInt(f.value);
      const got = actual[f.name]!;
      rec.checks++;
      if (want !== got) {
        const show = f.name === 'st_mode' ? (v: bigint): string => '0' + v.toString(8) : (v: bigint): string => v.toString();
        this.problem(rec, f.loc, `${what}: expected ${f.name}=${printExpr(f.value)}, the model has ${f.name}=${show(got)}`);
      }
    }
  }

  private compareVector(rec: StepRecord, arr: ArrayExpr, vec: Uint8Array): void {
    rec.checks++;
    const want: bigint[] = [];
    let open = false;
    for (const e of arr.elements) {
      if (e.kind === 'ellipsis') {
        open = true;
        break;
      }
      want.push(this.evalInt(e));
    }
    const got = [...vec].map((b) => BigInt(b));
    const same = (open ? got.length >= want.length : got.length === want.length) && want.every((w, i) => w === got[i]);
    if (!same) this.problem(rec, arr.loc, `expected the vector ${printExpr(arr)}, the model returned [${got.join(', ')}]`);
  }

  // -- processes ---------------------------------------------------------------

  /** The child's label: the expected result when written, else the model's pid. */
  private childLabel(s: CallStmt, modelId: number): number {
    const exp = s.result;
    if (exp?.kind === 'value') {
      const v = this.evalInt(exp.value);
      return Number(v);
    }
    return modelId;
  }

  private forkStep(s: CallStmt, rec: StepRecord, tid: number): void {
    const r = this.machine.fork(tid);
    if (!r.ok) {
      this.expectSys(s, rec, r);
      return;
    }
    this.newChild(s, rec, Number(r.value));
  }

  private newChild(s: CallStmt, rec: StepRecord, childTid: number): void {
    const label = this.childLabel(s, childTid);
    if (this.pids.get(label)?.kind === 'live') rec.notes.push(`pid ${label} is reused for a new task`);
    this.pids.set(label, { kind: 'live', tid: childTid });
    rec.result = String(label);
    if (s.result?.kind === 'value') rec.checks++;
    else if (s.result) this.compareSys(s, rec, s.result, { ok: true, value: BigInt(label) });
    if (childTid !== label) rec.notes.push(`scenario pid ${label} is the model's task ${childTid}`);
    this.bind(s, BigInt(label), '');
  }

  private untrackedChild(s: CallStmt, rec: StepRecord, why: string): void {
    this.notModelled.set(s.name, (this.notModelled.get(s.name) ?? 0) + 1);
    rec.notes.push(why);
    if (s.result?.kind === 'value') {
      const label = Number(this.evalInt(s.result.value));
      this.pids.set(label, { kind: 'untracked', why: `pid ${label} comes from ${s.name} at ${this.where(s)}, which is not modelled` });
      rec.result = String(label);
    }
  }

  private cloneStep(s: CallStmt, rec: StepRecord, tid: number, flags: bigint): void {
    const CLONE_VM = constantValue('CLONE_VM')!;
    const CLONE_THREAD = constantValue('CLONE_THREAD')!;
    const CLONE_VFORK = constantValue('CLONE_VFORK')!;
    if (flags & CLONE_THREAD) {
      const task = this.machine.task(tid);
      const child = task ? this.machine.createThread(task.process.tgid) : undefined;
      if (child === undefined) {
        this.expectSys(s, rec, { ok: false, errno: 'ESRCH' });
        return;
      }
      this.newChild(s, rec, child);
      return;
    }
    if (flags & (CLONE_VM | CLONE_VFORK)) {
      this.untrackedChild(s, rec, `${s.name} with CLONE_VM or CLONE_VFORK but not CLONE_THREAD is not modelled`);
      return;
    }
    this.forkStep(s, rec, tid);
  }

  // -- memory accesses --------------------------------------------------------

  private accessStep(s: CallStmt, index: number, rec: StepRecord, tid: number): void {
    const name = s.name;
    const addr = this.evalInt(this.arg(s, 0, 'address'));
    let res: MadeAccess<bigint | Uint8Array | undefined>;
    if (name in LOADS) {
      res = madeAccess(this.machine.load(tid, addr, LOADS[name]!));
    } else if (name in STORES) {
      const v = this.evalInt(this.arg(s, 1, 'value'));
      const r = madeAccess(this.machine.store(tid, addr, STORES[name]!, v));
      res = r.ok ? { ok: true, value: undefined } : r;
    } else if (name === 'load') {
      const len = this.evalInt(this.arg(s, 1, 'length'));
      if (len < 0n || len > 1n << 24n) throw new EvalError(s.args[1]!.loc, `length ${len} is out of range`);
      res = madeAccess(this.machine.loadBytes(tid, addr, Number(len)));
    } else {
      const r = madeAccess(this.machine.storeBytes(tid, addr, this.evalBytes(this.arg(s, 1, 'string'))));
      res = r.ok ? { ok: true, value: undefined } : r;
    }
    if (res.ok) {
      const v = res.value;
      const decimal = s.result?.kind === 'value' && s.result.value.kind === 'int' ? s.result.value.radix === 10 : typeof v === 'bigint' && v < 0x10000n;
      rec.result = v === undefined ? '' : typeof v === 'bigint' ? (decimal ? v.toString() : hex(v)) : formatBytes(v, 64);
    } else {
      rec.result = formatFault(res.fault);
    }
    // The expectation: `= ...` on the line, or the next line of this pid when it is a signal line.
    const exp = s.result;
    const next = this.nextOfSamePid(index);
    const nextStmt = next === undefined ? undefined : this.statements[next];
    let handled = exp?.kind === 'signal';
    if (exp !== undefined) {
      this.compareAccess(s, rec, exp, res);
    } else if (nextStmt?.kind === 'signal') {
      handled = true;
      this.consumed.add(next!);
      rec.expected = `--- ${nextStmt.signal}${nextStmt.info ? ' ' + printExpr(nextStmt.info) : ''} ---`;
      rec.checks++;
      this.compareSignal(rec, nextStmt.loc, nextStmt.signal, nextStmt.info, res.ok ? null : res.fault);
    } else if (!res.ok && nextStmt?.kind === 'killed' && nextStmt.signal === res.fault.signal) {
      rec.notes.push(`${res.fault.signal}: the next line says the process is killed by it`);
    } else if (!res.ok) {
      this.problem(rec, s.loc, `unexpected ${formatFault(res.fault)}: the process is killed, its later lines are skipped`);
    }
    if (s.bind) {
      if (res.ok && typeof res.value === 'bigint') this.bindings.set(s.bind.name, { value: res.value });
      else this.bindings.set(s.bind.name, { why: `${name} at ${this.where(s)} ${res.ok ? 'has no numeric value' : 'faulted'}` });
    }
    // A fault nobody handles kills the process (a `+++ killed by +++` line next does it itself).
    if (!res.ok && !handled && nextStmt?.kind !== 'killed') {
      this.killLabels(tid, `killed by ${res.fault.signal} at ${this.where(s)}`);
      this.machine.exitGroup(tid, 128 + (res.fault.signal === 'SIGBUS' ? 7 : res.fault.signal === 'SIGSEGV' ? 11 : 9));
    }
  }

  /** The index of the next statement of the same pid label, if any. */
  private nextOfSamePid(index: number): number | undefined {
    const s = this.statements[index]!;
    const label = s.pid ?? this.initialLabel;
    for (let i = index + 1; i < this.statements.length; i++) {
      const t = this.statements[i]!;
      if (t.kind === 'message' || t.kind === 'frame') continue;
      if ((t.pid ?? this.initialLabel) === label) return i;
    }
    return undefined;
  }

  private compareAccess(s: CallStmt, rec: StepRecord, exp: Result, res: MadeAccess<bigint | Uint8Array | undefined>): void {
    switch (exp.kind) {
      case 'signal':
        rec.checks++;
        this.compareSignal(rec, exp.loc, exp.signal, exp.info, res.ok ? null : res.fault);
        return;
      case 'value': {
        rec.checks++;
        if (!res.ok) {
          this.problem(rec, exp.loc, `expected ${printExpr(exp.value)}, the access faulted: ${formatFault(res.fault)}`);
          return;
        }
        const v = res.value;
        if (exp.value.kind === 'str') {
          const want = exp.value.bytes;
          const got = v instanceof Uint8Array ? (exp.value.truncated ? v.subarray(0, want.length) : v) : undefined;
          if (got === undefined || !bytesEqual(want, got)) this.problem(rec, exp.loc, `expected ${printExpr(exp.value)}, the model has ${rec.result || 'no value'}`);
          return;
        }
        const want = this.evalInt(exp.value);
        const got = typeof v === 'bigint' ? v : v === undefined ? 0n : undefined;
        if (got === undefined) {
          this.problem(rec, exp.loc, `${s.name}() gives bytes; write the expectation as a string`);
        } else if (u64(want) !== u64(got) && !(s.name in LOADS && BigInt.asUintN(LOADS[s.name]! * 8, want) === got)) {
          this.problem(rec, exp.loc, `expected ${printExpr(exp.value)}, the model has ${got === 0n ? '0' : `${hex(got)} (${got})`}`);
        }
        return;
      }
      case 'unknown':
        rec.notes.push(`'= ?': not checked`);
        if (!res.ok) this.problem(rec, s.loc, `unexpected ${formatFault(res.fault)}: the process is killed, its later lines are skipped`);
        return;
      default:
        rec.checks++;
        this.problem(rec, exp.loc, `a memory access's result is a value or a signal, not '${printResult(exp)}'`);
    }
  }

  private compareSignal(rec: StepRecord, loc: Loc, signal: string, info: StructExpr | undefined, fault: AccessFault | null): void {
    const want = `${signal}${info ? ' ' + printExpr(info) : ''}`;
    if (fault === null) {
      this.problem(rec, loc, `expected ${want}, the access did not fault`);
      return;
    }
    if (fault.signal !== signal) {
      this.problem(rec, loc, `expected ${want}, the model raised ${formatFault(fault)}`);
      return;
    }
    for (const f of info?.fields ?? []) {
      if (f.name === 'si_code') {
        // By name when written as one (SEGV_ACCERR and BUS_ADRERR are both 2), else by number.
        const ok =
          f.value.kind === 'ident' && !this.bindings.has(f.value.name)
            ? f.value.name === siCodeName(fault)
            : this.evalInt(f.value) === BigInt(fault.code);
        if (!ok) this.problem(rec, f.loc, `expected si_code=${printExpr(f.value)}, the model raised ${formatFault(fault)}`);
      } else if (f.name === 'si_addr') {
        if (u64(this.evalInt(f.value)) !== BigInt(fault.addr)) this.problem(rec, f.loc, `expected si_addr=${printExpr(f.value)}, the model raised ${formatFault(fault)}`);
      } else if (f.name === 'si_signo') {
        const v = f.value.kind === 'ident' ? f.value.name : printExpr(f.value);
        if (v !== fault.signal) this.problem(rec, f.loc, `expected si_signo=${v}, the model raised ${formatFault(fault)}`);
      }
    }
  }

  // -- checkpoints ------------------------------------------------------------

  private checkpointStep(s: CallStmt, rec: StepRecord, tid: number): void {
    const pid = this.machine.task(tid)?.process.tgid;
    if (pid === undefined) throw new EvalError(s.loc, 'no such process');
    let text: string | undefined;
    switch (s.name) {
      case 'maps':
        text = this.machine.maps(pid);
        break;
      case 'smaps_rollup':
        text = this.machine.smapsRollup(pid);
        break;
      case 'status':
        text = this.machine.status(pid);
        break;
      case 'statm':
        text = this.machine.statm(pid);
        break;
      case 'meminfo':
        text = this.machine.meminfo();
        break;
      case 'vmstat':
        text = this.machine.vmstat();
        break;
      case 'diskstats':
        text = this.machine.diskstats();
        break;
      case 'smaps': {
        const all = this.machine.smaps(pid) ?? '';
        if (s.args.length === 0) {
          text = all;
          break;
        }
        const addr = this.evalInt(s.args[0]!);
        const block = smapsBlock(all, addr);
        if (block === undefined) throw new EvalError(s.args[0]!.loc, `no VMA contains ${hex(addr)}`);
        const field = s.args[1];
        if (field !== undefined) {
          const label = this.evalPath(field);
          const m = new RegExp(`^${label.replace(/[^A-Za-z0-9_]/g, '')}:\\s+(\\d+)`, 'm').exec(block);
          if (m === null) throw new EvalError(field.loc, `smaps has no field '${label}'`);
          const kb = BigInt(m[1]!);
          rec.result = kb.toString();
          const exp = s.result;
          if (exp !== undefined) this.compareSys(s, rec, exp, { ok: true, value: kb });
          this.bind(s, kb, '');
          return;
        }
        text = block;
        break;
      }
    }
    if (text === undefined) throw new EvalError(s.loc, 'no such process');
    rec.result = formatHeredoc(text);
    const exp = s.result;
    if (exp === undefined) return;
    rec.checks++;
    if (exp.kind === 'heredoc' || (exp.kind === 'value' && exp.value.kind === 'str')) {
      const want = exp.kind === 'heredoc' ? exp.text : decoder.decode((exp.value as { bytes: Uint8Array }).bytes);
      const m = matchText(want, text);
      if (!m.ok) {
        const line = exp.kind === 'heredoc' ? exp.loc.line + 1 + m.line : exp.loc.line;
        const what = m.got === undefined ? `no line of the model's text matches ${JSON.stringify(m.want)}` : `expected ${JSON.stringify(m.want)}, the model has ${JSON.stringify(m.got)}`;
        this.problem(rec, exp.kind === 'heredoc' ? { line, column: 1, endColumn: m.want.length + 1 } : exp.loc, `${s.name}() differs: ${what}`);
      }
      return;
    }
    this.problem(rec, exp.loc, `${s.name}() gives a text: write the expectation as a heredoc (= <<EOF)`);
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The smaps block (header line and fields) of the VMA containing addr. */
function smapsBlock(smaps: string, addr: bigint): string | undefined {
  const lines = smaps.split('\n');
  let out: string[] | null = null;
  for (const l of lines) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(l);
    if (m) {
      if (out !== null) break;
      const start = BigInt('0x' + m[1]!);
      const end = BigInt('0x' + m[2]!);
      if (u64(addr) >= start && u64(addr) < end) out = [l];
      continue;
    }
    if (out !== null && l !== '') out.push(l);
  }
  return out === null ? undefined : out.join('\n') + '\n';
}
