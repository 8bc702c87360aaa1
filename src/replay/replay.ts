/**
 * mmsim replay: a real strace log run through the model.
 *
 * The memory calls (mmap, munmap, mprotect, mremap, brk, madvise, msync,
 * mincore, the mlock family) and the calls that shape them (open/close/dup,
 * read/write, ftruncate, the fstat family, clone/fork/vfork, execve,
 * exit_group) are performed on a Machine; each modelled result is compared
 * with the logged one. Every other call is counted, never an error.
 *
 * Placement: where the log shows the address the kernel chose, the replay
 * maps there (so later calls on that memory agree) and first asks the model
 * where it would have put the mapping, reporting any difference. With a
 * profile whose page size differs from the log's (--arch arm64-16k), the
 * model chooses for itself when the logged address does not suit its page
 * size, and logged addresses inside such a mapping are translated.
 *
 * Nothing here throws on any log line: malformed lines come back as
 * diagnostics with file:line:column, and a failure inside the model is
 * caught and reported against the line that caused it.
 */
import { type ArchName, ARCH_PROFILES } from '../kernel/arch/profile.js';
import { type ElfImage, PT_LOAD, totalMappingSize } from '../kernel/exec.js';
import type { File } from '../kernel/fs/file.js';
import { normalizePath as normalize } from '../kernel/fs/vfs.js';
import { Machine, type SysResult } from '../kernel/machine.js';
import { getUnmappedArea, isErr, mmapMinAddr } from '../kernel/mm/mmap.js';
import type { Process } from '../kernel/sched.js';
import * as uapi from '../kernel/uapi.js';
import type { CallStmt, Expr, Statement } from '../scenario/ast.js';
import { printExpr } from '../scenario/ast.js';
import type { Diagnostic } from '../scenario/diagnostics.js';
import { joinSplitCalls, parseScenario } from '../scenario/parser.js';
import { readElf } from './elf.js';
import { type HostFs, emptyHost, fileKind } from './host.js';
import { type LogFacts, type MapsLine, inferBases, parseMaps } from './infer.js';

/** Calls the replay performs on the model. */
export const MEMORY_CALLS = ['mmap', 'munmap', 'mprotect', 'mremap', 'brk', 'madvise', 'msync', 'mincore', 'mlock', 'mlock2', 'munlock', 'mlockall', 'munlockall'] as const;
export const SHAPING_CALLS = [
  'openat', 'open', 'creat', 'close', 'dup', 'read', 'pread64', 'write', 'pwrite64', 'ftruncate', 'fstat', 'newfstatat', 'stat', 'lstat',
  'clone', 'clone3', 'fork', 'vfork', 'execve', 'exit_group', 'exit', 'memfd_create', 'lseek', 'fsync', 'fdatasync', 'unlink',
] as const;
const MODELLED = new Set<string>([...MEMORY_CALLS, ...SHAPING_CALLS]);

export interface ReplayOptions {
  /** The log's name, for diagnostics. */
  file?: string;
  /** The model's architecture profile (default x86_64, the log's own). */
  arch?: ArchName;
  /** The logged pid whose maps to print (default: the first process). */
  pid?: number;
  /** The traced program's working directory, for relative paths (default '/'). */
  cwd?: string;
  /** Text of a /proc/PID/maps captured at the end of the same run. */
  mapsFile?: string;
  /** The host's files (default: none). */
  host?: HostFs;
  /** Re-validate the model after every call. */
  paranoid?: boolean;
}

export interface Disagreement {
  line: number;
  column: number;
  pid: number | null;
  call: string;
  text: string;
  logged: string;
  model: string;
  why: string;
}

export interface Placement {
  line: number;
  call: string;
  logged: string;
  model: string;
}

export interface Skipped {
  line: number;
  call: string;
  why: string;
}

export interface ReplayReport {
  file: string;
  arch: ArchName;
  lines: number;
  calls: number;
  modelled: number;
  agree: number;
  disagree: number;
  disagreements: Disagreement[];
  /** Modelled calls whose result could not be compared, and why. */
  skipped: Skipped[];
  /** Unmodelled calls by name, with counts. */
  other: Record<string, number>;
  /** Non-fixed mappings the model would have placed elsewhere. */
  placements: Placement[];
  /** What exec inference found. */
  exec: { line: number; path: string; notes: string[]; error?: string }[];
  diagnostics: Diagnostic[];
  /** The logged pid whose maps are given. */
  mapsPid: number | null;
  /** The model's /proc/PID/maps for that process at the end of the log (or when it exited). */
  maps: string | null;
}

type Val = bigint | undefined;

/** A constant strace prints, resolved from the model's uapi plus the few clone flags used here. */
const EXTRA_CONSTANTS: Record<string, number> = {
  // include/uapi/linux/sched.h
  CLONE_VM: 0x100, CLONE_FS: 0x200, CLONE_FILES: 0x400, CLONE_SIGHAND: 0x800, CLONE_PIDFD: 0x1000, CLONE_PTRACE: 0x2000,
  CLONE_VFORK: 0x4000, CLONE_PARENT: 0x8000, CLONE_THREAD: 0x10000, CLONE_NEWNS: 0x20000, CLONE_SYSVSEM: 0x40000,
  CLONE_SETTLS: 0x80000, CLONE_PARENT_SETTID: 0x100000, CLONE_CHILD_CLEARTID: 0x200000, CLONE_DETACHED: 0x400000,
  CLONE_UNTRACED: 0x800000, CLONE_CHILD_SETTID: 0x1000000, CLONE_NEWCGROUP: 0x2000000, CLONE_NEWUTS: 0x4000000,
  CLONE_NEWIPC: 0x8000000, CLONE_NEWUSER: 0x10000000, CLONE_NEWPID: 0x20000000, CLONE_NEWNET: 0x40000000, CLONE_IO: 0x80000000,
  CLONE_CLEAR_SIGHAND: 0x100000000, CLONE_INTO_CGROUP: 0x200000000,
  AT_FDCWD: -100, AT_EMPTY_PATH: 0x1000,
};

function constant(name: string): Val {
  if (Object.prototype.hasOwnProperty.call(EXTRA_CONSTANTS, name)) return BigInt(EXTRA_CONSTANTS[name]!);
  const v = (uapi as unknown as Record<string, unknown>)[name];
  if (typeof v === 'number') return BigInt(v);
  if (/^SIG[A-Z]+$/.test(name)) return 0n; // exit signal in clone flags: irrelevant here
  return undefined;
}

/** An expression's integer value, or undefined when it has none. */
export function evalInt(e: Expr | undefined): Val {
  if (e === undefined) return undefined;
  switch (e.kind) {
    case 'int':
      return e.value;
    case 'null':
      return 0n;
    case 'ident':
      return constant(e.name);
    case 'flags': {
      let v = 0n;
      for (const p of e.parts) {
        const x = evalInt(p);
        if (x === undefined) return undefined;
        v |= x;
      }
      return v;
    }
    case 'shift': {
      const l = evalInt(e.left);
      const r = e.right.kind === 'ident' && e.right.name === 'MAP_HUGE_SHIFT' ? 26n : evalInt(e.right);
      return l === undefined || r === undefined ? undefined : l << r;
    }
    case 'binop': {
      const l = evalInt(e.left);
      const r = evalInt(e.right);
      if (l === undefined || r === undefined) return undefined;
      if (e.op === '+') return l + r;
      if (e.op === '-') return l - r;
      if (e.op === '*') return l * r;
      return r === 0n ? undefined : l / r;
    }
    case 'unary': {
      const x = evalInt(e.operand);
      return x === undefined ? undefined : e.op === '-' ? -x : ~x;
    }
    case 'fdpath':
      return evalInt(e.fd);
    case 'named':
      return evalInt(e.value);
    default:
      return undefined;
  }
}

/**
 * A descriptor argument's number. Beyond what evalInt() reads, this takes
 * the form `strace -X verbose -y` prints for a dirfd, a negative number with
 * its name in a comment and the directory after it, which the parser keeps as
 * raw text: `-100 /* AT_FDCWD *\/</tmp/x>` is AT_FDCWD.
 */
export function evalFd(e: Expr | undefined): Val {
  if (e !== undefined && e.kind === 'raw') {
    const m = RE_FD_RAW.exec(e.text);
    if (m === null) return undefined;
    const v = BigInt(m[1]!.replace(/^-/, ''));
    return m[1]!.startsWith('-') ? -v : v;
  }
  return evalInt(e);
}
const RE_FD_RAW = /^\s*(-?(?:0x[0-9a-fA-F]+|[0-9]+))\s*(?:\/\*[^]*?\*\/)?\s*(?:<([^]*)>)?\s*$/;

/** The path strace -y printed after a descriptor (`3</tmp/x>`, `-100 /* AT_FDCWD *\/</tmp>`), if any. */
function fdAnnotation(e: Expr | undefined): string | undefined {
  if (e === undefined) return undefined;
  if (e.kind === 'fdpath') return e.path;
  if (e.kind === 'raw') return RE_FD_RAW.exec(e.text)?.[2];
  return undefined;
}

function evalStr(e: Expr | undefined): string | undefined {
  if (e === undefined || e.kind !== 'str') return undefined;
  return new TextDecoder('utf-8').decode(e.bytes);
}

function structField(e: Expr | undefined, name: string): Expr | undefined {
  if (e === undefined) return undefined;
  if (e.kind === 'inout') return structField(e.input ?? undefined, name) ?? structField(e.output, name);
  if (e.kind !== 'struct') return undefined;
  return e.fields.find((f) => f.name === name)?.value;
}

function namedArg(s: CallStmt, name: string): Expr | undefined {
  for (const a of s.args) if (a.kind === 'named' && a.name === name) return a.value;
  return undefined;
}

const hex = (v: number | bigint): string => '0x' + v.toString(16);

/** The logged outcome of a call: a value, an errno, or nothing to compare. */
type Logged = { kind: 'value'; value: bigint } | { kind: 'errno'; errno: string } | { kind: 'none' };

function loggedOf(s: CallStmt): Logged {
  const r = s.result;
  if (r === undefined) return { kind: 'none' };
  if (r.kind === 'value') {
    const v = evalInt(r.value);
    return v === undefined ? { kind: 'none' } : { kind: 'value', value: v };
  }
  if (r.kind === 'errno' && r.value !== null) return { kind: 'errno', errno: r.errno };
  return { kind: 'none' };
}

/** The log says the call failed with ENOENT (the path did not exist then). */
function loggedEnoent(s: CallStmt): boolean {
  const l = loggedOf(s);
  return l.kind === 'errno' && l.errno === 'ENOENT';
}

function showLogged(l: Logged, asAddr: boolean): string {
  if (l.kind === 'value') return asAddr ? hex(l.value) : l.value.toString();
  if (l.kind === 'errno') return `-1 ${l.errno}`;
  return '?';
}

function showModel(r: SysResult, asAddr: boolean): string {
  if (r.ok) return asAddr ? hex(r.value) : r.value.toString();
  return `-1 ${r.errno}`;
}

function callText(s: CallStmt): string {
  return `${s.name}(${s.args.map((a) => printExpr(a)).join(', ')})`;
}

/** Per-process replay state: logged descriptors to the model's, translated address ranges. */
interface ProcState {
  fds: Map<number, number>;
  /** Descriptors on pseudo-files (/proc, /sys, devices): their reads and writes are not compared. */
  pseudo: Set<number>;
  /** Logged range -> model range, where the model placed a mapping elsewhere. */
  moved: { start: number; end: number; delta: number }[];
}

const PSEUDO_PREFIXES = ['/proc/', '/sys/', '/dev/'];
/** The x86_64 glibc interpreter, assumed when the executable itself is not available. */
const GUESSED_INTERP = '/lib64/ld-linux-x86-64.so.2';
/** Unmodelled calls that return new descriptors: they get a stand-in so descriptor numbers stay in step. */
const FD_MAKERS = new Set(['socket', 'eventfd', 'eventfd2', 'epoll_create', 'epoll_create1', 'timerfd_create', 'signalfd', 'signalfd4', 'inotify_init', 'inotify_init1', 'fanotify_init', 'pidfd_open', 'userfaultfd', 'perf_event_open', 'accept', 'accept4', 'bpf', 'io_uring_setup', 'memfd_secret']);

export class Replayer {
  readonly m: Machine;
  private readonly host: HostFs;
  private readonly file: string;
  private readonly cwd: string;
  private readonly ps: number;
  /** The log's page size: the replay's logs come from x86_64 (4 KiB). */
  private readonly logPageSize = 4096;
  private readonly mapsLines: MapsLine[] | null;
  /** Logged tid -> model tid. */
  private readonly tids = new Map<number, number>();
  private readonly state = new WeakMap<Process, ProcState>();
  private firstPid: number | null = null;
  private statements: Statement[] = [];
  private index = 0;
  private lastMaps = new Map<number, string>();
  readonly report: ReplayReport;

  constructor(private readonly options: ReplayOptions = {}) {
    const arch = options.arch ?? 'x86_64';
    this.m = new Machine({ arch, paranoid: options.paranoid ?? false });
    this.ps = this.m.arch.pageSize;
    this.host = options.host ?? emptyHost;
    this.file = options.file ?? '<log>';
    this.cwd = options.cwd ?? '/';
    this.mapsLines = options.mapsFile === undefined ? null : parseMaps(options.mapsFile);
    this.m.k.vfs.ensureDir(this.cwd);
    this.report = {
      file: this.file, arch, lines: 0, calls: 0, modelled: 0, agree: 0, disagree: 0, disagreements: [], skipped: [], other: {},
      placements: [], exec: [], diagnostics: [], mapsPid: null, maps: null,
    };
  }

  /** Replays a whole log. */
  run(text: string): ReplayReport {
    const parsed = parseScenario(text, this.file);
    const joined = joinSplitCalls(parsed.statements, { file: this.file });
    this.report.lines = text.split('\n').length;
    this.report.diagnostics.push(...parsed.diagnostics, ...joined.diagnostics);
    this.children = announcedChildren(parsed.statements);
    this.statements = this.hoistClones(joined.statements);
    for (this.index = 0; this.index < this.statements.length; this.index++) {
      const s = this.statements[this.index]!;
      try {
        this.step(s);
      } catch (e) {
        this.report.diagnostics.push({
          file: this.file, line: s.loc.line, column: s.loc.column, severity: 'error', code: 'E_INTERNAL',
          message: `the replay failed on this line: ${e instanceof Error ? e.message : String(e)}`,
        });
      }
    }
    const want = this.options.pid ?? this.firstPid;
    this.report.mapsPid = want;
    if (want !== null) {
      const tid = this.tids.get(want);
      const live = tid === undefined ? undefined : this.m.maps(this.m.task(tid)?.process.tgid ?? tid);
      this.report.maps = live ?? this.lastMaps.get(want) ?? null;
    }
    return this.report;
  }

  /**
   * A child's lines can come before its parent's clone() returns in the log
   * (the clone was split and resumed later): move that clone up to just
   * before the child's first line, so the child exists when it acts.
   */
  private hoistClones(stmts: Statement[]): Statement[] {
    const out = [...stmts];
    const known = new Set<number>();
    // A log written to stderr (strace -f prog 2>LOG) names no pid until a second process appears:
    // an unprefixed line is the first process's, so a pid named later is a child, never the first.
    const FIRST = -1;
    const cloneOf = (c: Statement, pid: number): boolean => {
      if (c.kind !== 'call' || !['clone', 'clone3', 'fork', 'vfork'].includes(c.name)) return false;
      const l = loggedOf(c);
      return l.kind === 'value' && l.value === BigInt(pid);
    };
    for (let i = 0; i < out.length; i++) {
      const s = out[i]!;
      if (s.pid === undefined && s.kind === 'call') known.add(FIRST);
      if (s.pid !== undefined && (known.size > 0 || this.children.has(s.pid)) && !known.has(s.pid)) {
        const pid = s.pid;
        const j = out.findIndex((c, k) => k > i && cloneOf(c, pid));
        if (j > i) {
          const [c] = out.splice(j, 1);
          out.splice(i, 0, c!);
          i--;
          continue;
        }
      }
      if (s.pid !== undefined) known.add(s.pid);
      if (s.kind === 'call' && ['clone', 'clone3', 'fork', 'vfork'].includes(s.name)) {
        const l = loggedOf(s);
        if (l.kind === 'value') known.add(Number(l.value));
      }
    }
    // The pid the first process's unprefixed lines later go by: the first one named that is no child.
    const firstCall = out.find((s) => s.kind === 'call');
    if (firstCall !== undefined && firstCall.pid === undefined) {
      this.firstNamed = out.find((s) => s.pid !== undefined && !this.children.has(s.pid))?.pid;
    }
    return out;
  }

  /** In a log to stderr, the pid of the first process once strace names it (its earlier lines have none). */
  private firstNamed: number | undefined;

  /** Whether two logged pids (undefined: unprefixed) are the same process's. */
  private samePid(a: number | undefined, b: number | undefined): boolean {
    if (a === b) return true;
    const f = this.firstNamed;
    return f !== undefined && ((a === undefined && b === f) || (a === f && b === undefined));
  }

  /** Pids the log shows to be children (a clone's result, strace's "Process N attached" after the first call). */
  private children = new Set<number>();

  private key(pid: number | undefined): number {
    return pid ?? this.firstPid ?? -1;
  }

  /** The model thread for a logged pid; the first pid seen is the model's first process. */
  private tidOf(pid: number | undefined): number | undefined {
    if (this.firstPid === null) {
      this.firstPid = pid ?? -1;
      const tid = this.m.spawn();
      this.tids.set(this.firstPid, tid);
      this.m.k.vfs.ensureDir(this.cwd);
      const proc = this.m.process(tid)!;
      proc.cwd = this.cwd;
      const cur = this.statements[this.index];
      if (cur !== undefined && !(cur.kind === 'call' && cur.name === 'execve')) this.implicitExec(tid, pid);
    }
    let tid = this.tids.get(this.key(pid));
    if (tid === undefined && pid !== undefined && this.firstPid === -1 && !this.children.has(pid)) {
      // The log named no pid until a second process appeared (strace -f to stderr): the first pid named
      // that no clone created is the initial process.
      this.firstPid = pid;
      tid = this.tids.get(-1)!;
      this.tids.set(pid, tid);
    }
    return tid;
  }

  private proc(tid: number): Process {
    return this.m.task(tid)!.process;
  }

  private st(tid: number): ProcState {
    const p = this.proc(tid);
    let s = this.state.get(p);
    if (s === undefined) {
      s = { fds: new Map([[0, 0], [1, 1], [2, 2]]), pseudo: new Set(), moved: [] };
      this.state.set(p, s);
    }
    return s;
  }

  private step(s: Statement): void {
    if (s.kind === 'exited' || s.kind === 'killed') {
      const tid = this.tids.get(this.key(s.pid));
      if (tid !== undefined) this.exitTid(this.key(s.pid), tid, s.kind === 'killed');
      return;
    }
    if (s.kind !== 'call') return;
    if (s.unfinished || s.resumed) {
      this.report.calls++;
      this.report.skipped.push({ line: s.loc.line, call: s.name, why: s.unfinished ? 'never resumed in the log' : 'its start is not in the log' });
      return;
    }
    this.report.calls++;
    if (!MODELLED.has(s.name)) {
      this.report.other[s.name] = (this.report.other[s.name] ?? 0) + 1;
      this.standIns(s);
      return;
    }
    const tid = this.tidOf(s.pid);
    if (tid === undefined || this.m.task(tid) === undefined) {
      this.skip(s, `pid ${s.pid ?? '?'} is not known to the replay (its clone is not in the log)`);
      return;
    }
    this.call(s, tid);
  }

  /**
   * pipe/pipe2/socket/eventfd... are not modelled, but the descriptors they
   * return are: each gets a stand-in (a character device, whose reads and
   * writes are not compared) so that later descriptor numbers stay in step.
   */
  private standIns(s: CallStmt): void {
    const l = loggedOf(s);
    if (l.kind !== 'value') return;
    if (s.name === 'dup2' || s.name === 'dup3' || (s.name === 'fcntl' && s.args[1]?.kind === 'ident' && /^F_DUPFD/.test(s.args[1].name))) {
      // The model has dup() only: the logged new descriptor maps to a model dup of the old one.
      const tid = this.tidOf(s.pid);
      if (tid === undefined || this.m.task(tid) === undefined) return;
      const st = this.st(tid);
      const oldFd = Number(evalFd(s.args[0]) ?? -1n);
      const newFd = Number(l.value);
      if (oldFd === newFd || !st.fds.has(oldFd)) return;
      const had = st.fds.get(newFd);
      if (had !== undefined && s.name !== 'fcntl') this.m.close(tid, had);
      const r = this.m.dup(tid, st.fds.get(oldFd)!);
      if (!r.ok) return;
      st.fds.set(newFd, Number(r.value));
      if (st.pseudo.has(oldFd)) st.pseudo.add(newFd);
      else st.pseudo.delete(newFd);
      return;
    }
    let fds: number[] = [];
    if ((s.name === 'pipe' || s.name === 'pipe2') && s.args[0]?.kind === 'array') fds = s.args[0].elements.map((e) => Number(evalInt(e) ?? -1n));
    else if (s.name === 'socketpair' && s.args[3]?.kind === 'array') fds = s.args[3].elements.map((e) => Number(evalInt(e) ?? -1n));
    else if (FD_MAKERS.has(s.name)) fds = [Number(l.value)];
    if (fds.length === 0) return;
    const tid = this.tidOf(s.pid);
    if (tid === undefined || this.m.task(tid) === undefined) return;
    const st = this.st(tid);
    const dev = `/dev/mmsim-${s.name}`;
    this.m.k.vfs.charDevice(dev);
    for (const fd of fds) {
      if (fd < 0) continue;
      const r = this.m.openat(tid, -100, dev, uapi.O_RDWR, 0);
      if (!r.ok) continue;
      st.fds.set(fd, Number(r.value));
      st.pseudo.add(fd);
    }
  }

  private exitTid(logPid: number, tid: number, killed: boolean): void {
    const t = this.m.task(tid);
    if (t === undefined) return;
    const proc = t.process;
    if (killed || proc.threads.length === 1) {
      const maps = this.m.maps(proc.tgid);
      if (maps !== undefined) this.lastMaps.set(logPid === -1 ? logPid : this.logPidOfProcess(proc) ?? logPid, maps);
    }
    if (killed) this.m.exitGroup(tid);
    else this.m.exitThread(tid);
  }

  private logPidOfProcess(proc: Process): number | undefined {
    // -1 stands for the first process until its pid is named; after that, its name.
    for (const [log, tid] of this.tids) if (tid === proc.tgid && !(log === -1 && this.firstPid !== -1)) return log;
    return undefined;
  }

  private skip(s: CallStmt, why: string): void {
    this.report.skipped.push({ line: s.loc.line, call: s.name, why });
  }

  /** A modelled call whose arguments are not what the call takes: not compared, with a diagnostic at the first odd one. */
  private unreadable(s: CallStmt): void {
    const bad = s.args.find((e) => e.kind === 'raw') ?? s.args.find((e) => e.kind !== 'str' && e.kind !== 'struct' && e.kind !== 'array' && e.kind !== 'inout' && evalInt(e) === undefined);
    const loc = bad?.loc ?? s.nameLoc;
    const what = bad === undefined ? `${s.name}: missing or unreadable arguments` : `${s.name}: cannot read '${printExpr(bad)}' as the value this argument needs`;
    this.report.diagnostics.push({ file: this.file, line: loc.line, column: loc.column, endColumn: loc.endColumn, severity: 'warning', code: 'E_EXPECTED_EXPR', message: `${what}; the call is not replayed` });
    this.skip(s, 'unreadable arguments');
  }

  /** Records the comparison of one modelled call. */
  private compare(s: CallStmt, r: SysResult, asAddr: boolean, why = ''): boolean {
    const l = loggedOf(s);
    if (l.kind === 'none') {
      if (s.result !== undefined && s.result.kind === 'raw') {
        const loc = s.result.loc;
        this.report.diagnostics.push({ file: this.file, line: loc.line, column: loc.column, endColumn: loc.endColumn, severity: 'warning', code: 'E_EXPECTED_EXPR', message: `${s.name}: cannot read the result '${s.result.text}'; not compared` });
      }
      this.skip(s, 'the log shows no result');
      return true;
    }
    this.report.modelled++;
    // An address the kernel returned inside a mapping the model had to place elsewhere (a 16 KiB-page
    // profile) agrees when the model returned the same place in its own layout.
    const agree = l.kind === 'value'
      ? r.ok && (r.value === l.value || (asAddr && r.value === BigInt(this.translate(this.curTid, Number(BigInt.asUintN(64, l.value))))))
      : !r.ok && r.errno === l.errno;
    if (agree) {
      this.report.agree++;
      return true;
    }
    this.disagree(s, showLogged(l, asAddr), showModel(r, asAddr), why);
    return false;
  }

  private disagree(s: CallStmt, logged: string, model: string, why: string): void {
    this.report.disagree++;
    this.report.disagreements.push({
      line: s.loc.line, column: s.loc.column, pid: s.pid ?? null, call: s.name, text: callText(s), logged, model,
      why: why || this.explain(s, model),
    });
  }

  /**
   * Logged ranges ld.so mapped for shared libraries (and the executable's
   * RELRO page), to tell the loader's calls from the program's own.
   */
  private readonly loaderRanges: [number, number][] = [];

  private noteLoaderRange(s: CallStmt, tid: number, at: number, len: number): void {
    const fdArg = s.args[4];
    const fd = Number(BigInt.asIntN(32, evalFd(fdArg) ?? -1n));
    const logPath = fdArg?.kind === 'fdpath' ? fdArg.path : undefined;
    const f = fd >= 0 ? this.proc(tid).files.get(this.fd(tid, fdArg)) : undefined;
    const p = logPath ?? f?.path ?? '';
    const end = at + Math.ceil(len / this.logPageSize) * this.logPageSize;
    if (/\.so(\.[0-9.]+)?$/.test(p)) this.loaderRanges.push([at, end]);
  }

  private isLoaderCall(s: CallStmt): boolean {
    if (this.report.exec.length === 0) return false;
    const a0 = Number(BigInt.asUintN(64, evalInt(s.args[0]) ?? 0n));
    if (s.name === 'mmap') {
      const f = this.proc(this.curTid).files.get(this.fd(this.curTid, s.args[4]));
      if (f !== undefined && /\.so(\.[0-9.]+)?$/.test(f.path)) return true;
      const fdArg = s.args[4];
      if (fdArg?.kind === 'fdpath' && /\.so(\.[0-9.]+)?$/.test(fdArg.path)) return true;
    }
    return a0 !== 0 && this.loaderRanges.some(([a, b]) => a0 >= a && a0 < b);
  }

  /** A reason for a failure, from the arguments, for the portability report. */
  private explain(s: CallStmt, model: string): string {
    const ps = this.ps;
    const kib = ps / 1024;
    const a0 = evalInt(s.args[0]);
    const reasons: string[] = [];
    if (ps !== this.logPageSize && this.isLoaderCall(s)) {
      reasons.push(`ld.so loading or relocating an image linked for ${this.logPageSize / 1024} KiB pages (an arm64 build is linked for up to 64 KiB pages; not the program's own call)`);
    }
    if (['mmap', 'munmap', 'mprotect', 'madvise', 'msync', 'mincore', 'mremap'].includes(s.name) && a0 !== undefined && a0 !== 0n) {
      const flags = s.name === 'mmap' ? evalInt(s.args[3]) ?? 0n : 0n;
      const fixed = s.name !== 'mmap' || (flags & BigInt(uapi.MAP_FIXED | uapi.MAP_FIXED_NOREPLACE)) !== 0n;
      // Messages name the logged address, the one the user can find in the log, never the translated one.
      const logged = Number(BigInt.asUintN(64, a0));
      const at = this.translate(this.curTid, logged);
      if (fixed && logged % ps !== 0) {
        reasons.push(`address ${hex(logged)} is ${logged % this.logPageSize === 0 ? `${this.logPageSize / 1024} KiB- but not ` : 'not '}${kib} KiB-aligned`);
      } else if (fixed && at % ps !== 0) {
        reasons.push(`address ${hex(logged)} lies in a mapping the model had to place elsewhere for ${kib} KiB pages, and falls there on an address that is not ${kib} KiB-aligned`);
      }
    }
    if (s.name === 'mmap') {
      const off = evalInt(s.args[5]);
      if (off !== undefined && Number(off) % ps !== 0) reasons.push(`file offset ${hex(off)} is not a multiple of ${kib} KiB`);
    }
    if (reasons.length === 0 && model.includes('ENOMEM')) reasons.push('the range is not (wholly) mapped in the model');
    if (reasons.length === 0 && model.includes('EBADF')) reasons.push('the descriptor is not open in the model: made, moved or closed by a call the log does not show?');
    return reasons.join('; ');
  }

  private curTid = 0;

  /** A logged address in the model's address space. */
  private translate(tid: number, addr: number): number {
    if (this.m.task(tid) === undefined) return addr;
    for (const r of this.st(tid).moved) if (addr >= r.start && addr < r.end) return addr + r.delta;
    return addr;
  }

  private fd(tid: number, e: Expr | undefined): number {
    const v = evalFd(e);
    if (v === undefined) return -1;
    const n = Number(BigInt.asIntN(32, v));
    if (n === -100) return n;
    return this.st(tid).fds.get(n) ?? (n < 0 ? n : 100000 + n);
  }

  private call(s: CallStmt, tid: number): void {
    this.curTid = tid;
    const m = this.m;
    const a = s.args;
    const n = (i: number): Val => evalInt(a[i]);
    switch (s.name) {
      case 'mmap':
        return this.mmap(s, tid);
      case 'munmap': {
        const addr = n(0);
        const len = n(1);
        if (addr === undefined || len === undefined) return this.unreadable(s);
        const l = loggedOf(s);
        if (l.kind === 'value') {
          const a0 = Number(BigInt.asUintN(64, addr));
          const a1 = a0 + Number(BigInt.asUintN(64, len));
          for (let i = this.loaderRanges.length - 1; i >= 0; i--) {
            const [x, y] = this.loaderRanges[i]!;
            if (x >= a0 && y <= Math.ceil(a1 / this.logPageSize) * this.logPageSize) this.loaderRanges.splice(i, 1);
          }
        }
        const r = m.munmap(tid, BigInt(this.translate(tid, Number(BigInt.asUintN(64, addr)))), len);
        this.compare(s, r, false);
        return;
      }
      case 'mprotect': {
        const addr = n(0);
        const len = n(1);
        const prot = n(2);
        if (addr === undefined || len === undefined || prot === undefined) return this.unreadable(s);
        this.compare(s, m.mprotect(tid, BigInt(this.translate(tid, Number(BigInt.asUintN(64, addr)))), len, prot), false);
        return;
      }
      case 'msync': {
        const addr = n(0);
        const len = n(1);
        const flags = n(2);
        if (addr === undefined || len === undefined || flags === undefined) return this.unreadable(s);
        this.compare(s, m.msync(tid, BigInt(this.translate(tid, Number(BigInt.asUintN(64, addr)))), len, flags), false);
        return;
      }
      case 'mincore': {
        const addr = n(0);
        const len = n(1);
        if (addr === undefined || len === undefined) return this.unreadable(s);
        const r = m.mincore(tid, BigInt(this.translate(tid, Number(BigInt.asUintN(64, addr)))), len);
        this.compare(s, r.ok ? { ok: true, value: 0n } : r, false);
        return;
      }
      case 'brk': {
        const addr = n(0);
        if (addr === undefined) return this.unreadable(s);
        this.compare(s, m.brk(tid, addr), true);
        return;
      }
      case 'mremap':
      case 'madvise':
      case 'mlock':
      case 'mlock2':
      case 'munlock':
      case 'mlockall':
      case 'munlockall':
        return this.optional(s, tid);
      case 'open':
      case 'creat':
      case 'openat':
        return this.open(s, tid);
      case 'close': {
        const fd = evalFd(a[0]);
        const r = m.close(tid, this.fd(tid, a[0]));
        if (fd !== undefined && r.ok) {
          this.st(tid).fds.delete(Number(fd));
          this.st(tid).pseudo.delete(Number(fd));
        }
        this.compare(s, r, false);
        return;
      }
      case 'dup': {
        const r = m.dup(tid, this.fd(tid, a[0]));
        this.bindFd(s, tid, r, this.st(tid).pseudo.has(Number(evalFd(a[0]) ?? -1)));
        return;
      }
      case 'read':
      case 'pread64':
      case 'write':
      case 'pwrite64':
        return this.io(s, tid);
      case 'lseek': {
        const off = n(1);
        const whence = n(2);
        if (off === undefined || whence === undefined) return this.unreadable(s);
        if (this.st(tid).pseudo.has(Number(evalFd(a[0]) ?? -1))) return this.skip(s, 'a pseudo-file');
        this.compare(s, m.lseek(tid, this.fd(tid, a[0]), off, Number(whence)), false);
        return;
      }
      case 'ftruncate': {
        const len = n(1);
        if (len === undefined) return this.unreadable(s);
        this.compare(s, m.ftruncate(tid, this.fd(tid, a[0]), len), false);
        return;
      }
      case 'fsync':
      case 'fdatasync':
        if (this.st(tid).pseudo.has(Number(evalFd(a[0]) ?? -1))) return this.skip(s, 'a pseudo-file');
        this.compare(s, m.fsync(tid, this.fd(tid, a[0])), false);
        return;
      case 'fstat':
      case 'newfstatat':
      case 'stat':
      case 'lstat':
        return this.stat(s, tid);
      case 'unlink': {
        const path = evalStr(a[0]);
        if (path === undefined) return this.unreadable(s);
        this.compare(s, m.unlink(tid, this.modelPath(path).path), false);
        return;
      }
      case 'memfd_create': {
        const name = evalStr(a[0]);
        const flags = n(1);
        if (name === undefined || flags === undefined) return this.unreadable(s);
        this.bindFd(s, tid, m.memfdCreate(tid, name, Number(flags)), false);
        return;
      }
      case 'clone':
      case 'clone3':
      case 'fork':
      case 'vfork':
        return this.clone(s, tid);
      case 'execve':
        return this.execve(s, tid);
      case 'exit_group':
      case 'exit': {
        const logPid = this.key(s.pid);
        const proc = this.proc(tid);
        const maps = this.m.maps(proc.tgid);
        if (s.name === 'exit_group' || proc.threads.length === 1) {
          if (maps !== undefined) this.lastMaps.set(this.logPidOfProcess(proc) ?? logPid, maps);
        }
        if (s.name === 'exit_group') m.exitGroup(tid, Number(n(0) ?? 0n));
        else m.exitThread(tid, Number(n(0) ?? 0n));
        this.report.modelled++;
        this.report.agree++;
        return;
      }
      default:
        this.skip(s, 'not handled');
    }
  }

  /** A call the model may not have yet (mremap, madvise, mlock...): performed when it does. */
  private optional(s: CallStmt, tid: number): void {
    const fn = (this.m as unknown as Record<string, unknown>)[s.name];
    if (typeof fn !== 'function') {
      this.skip(s, `the model has no ${s.name} yet`);
      return;
    }
    const args: bigint[] = [];
    for (let i = 0; i < s.args.length; i++) {
      const v = evalInt(s.args[i]);
      if (v === undefined) return this.unreadable(s);
      args.push(i === 0 && ['mremap', 'madvise', 'mlock', 'mlock2', 'munlock'].includes(s.name) ? BigInt(this.translate(tid, Number(BigInt.asUintN(64, v)))) : v);
    }
    const l = loggedOf(s);
    if (s.name === 'mremap' && l.kind === 'value' && args.length >= 4 && (args[3]! & 3n) === 1n && Number(l.value) !== Number(args[0]!) && this.ps === this.logPageSize) {
      // MREMAP_MAYMOVE and the kernel moved it: move it to the same place (MREMAP_FIXED), as mmap placement does.
      // The model's own choice: mremap_to()/move_vma() ask get_unmapped_area() for the new length at the VMA's file offset.
      const mm = this.m.task(tid)!.mm;
      const old = Number(BigInt.asUintN(64, args[0]!));
      const vma = mm.vmas.lookup(old);
      const newLen = Math.ceil(Number(BigInt.asUintN(64, args[2]!)) / this.ps) * this.ps;
      if (vma !== null && newLen > 0 && newLen <= mm.taskSize) {
        const pgoff = vma.pgoff + (old - vma.start) / this.ps;
        const g = getUnmappedArea(this.m.k, mm, vma.file, 0, newLen, pgoff, vma.flags & 0x8 ? uapi.MAP_SHARED : 0);
        if (g !== Number(l.value)) this.report.placements.push({ line: s.loc.line, call: 'mremap', logged: hex(l.value), model: typeof g === 'number' ? hex(g) : g });
      }
      args[3] = args[3]! | 2n;
      args[4] = l.value;
    }
    const r = (fn as (...x: unknown[]) => unknown).call(this.m, tid, ...args) as SysResult;
    if (r === null || typeof r !== 'object' || typeof r.ok !== 'boolean') {
      this.skip(s, `the model's ${s.name} returned no result`);
      return;
    }
    this.compare(s, r, s.name === 'mremap');
  }

  /**
   * Where a logged path lives in the model, making host files known to it
   * first. `absentThen`: the log says the lookup failed with ENOENT, so a
   * host file of that name (created after the log was taken: a compiler's
   * output, say) is not made known; the model answers from what the log
   * itself created.
   */
  private modelPath(path: string, dirBase?: string, absentThen = false): { path: string; pseudo: boolean; exists: boolean } {
    const base = path.startsWith('/') ? '' : (dirBase ?? this.cwd) + '/';
    const abs = normalize(base + path);
    const pseudo = PSEUDO_PREFIXES.some((p) => abs.startsWith(p));
    if (absentThen && !pseudo && !this.m.k.vfs.files.has(abs)) return { path: abs, pseudo, exists: false };
    const st = this.host.stat(abs);
    if (st === null) return { path: abs, pseudo, exists: false };
    const vfs = this.m.k.vfs;
    const real = normalize(st.realPath);
    if (st.isDir) {
      vfs.ensureDir(real);
    } else if (st.isFile && !pseudo) {
      if (!vfs.files.has(real)) vfs.foreignFile(real, { major: st.major, minor: st.minor }, st.ino, st.size, st.mode);
    } else if (!vfs.files.has(real)) {
      vfs.charDevice(real);
    }
    if (pseudo && st.isFile && !vfs.files.has(real)) vfs.foreignFile(real, { major: st.major, minor: st.minor }, st.ino, 0, st.mode);
    return { path: real, pseudo, exists: true };
  }

  private open(s: CallStmt, tid: number): void {
    const a = s.args;
    const at = s.name === 'openat' ? 1 : 0;
    const path = evalStr(a[at]);
    let flags = s.name === 'creat' ? BigInt(uapi.O_CREAT | uapi.O_WRONLY | uapi.O_TRUNC) : evalInt(a[at + 1]);
    const mode = s.name === 'creat' ? evalInt(a[1]) : evalInt(a[at + 2]);
    if (path === undefined || flags === undefined) return this.unreadable(s);
    let dirBase: string | undefined;
    if (s.name === 'openat') {
      const d = this.fd(tid, a[0]);
      // strace -y names the working directory after AT_FDCWD: the traced process's, whatever --cwd says.
      if (d === -100 && !path.startsWith('/')) dirBase = fdAnnotation(a[0]);
      if (d !== -100) {
        const f: File | undefined = this.proc(tid).files.get(d);
        if (f === undefined) return this.skip(s, 'the directory descriptor is not open in the model');
        dirBase = f.path;
      }
    }
    flags = BigInt.asUintN(32, flags);
    const mp = this.modelPath(path, dirBase ?? this.proc(tid).cwd, loggedEnoent(s));
    if (mp.pseudo && loggedOf(s).kind === 'errno') return this.skip(s, 'a pseudo-file the kernel refused (devices, /proc): not modelled');
    const r = this.m.openat(tid, -100, mp.path, Number(flags), Number(mode ?? 0o644n));
    this.bindFd(s, tid, r, mp.pseudo);
  }

  /** Compares a call returning a new descriptor and maps the logged number to the model's. */
  private bindFd(s: CallStmt, tid: number, r: SysResult, pseudo: boolean): void {
    const l = loggedOf(s);
    const st = this.st(tid);
    if (l.kind === 'value' && r.ok) {
      st.fds.set(Number(l.value), Number(r.value));
      if (pseudo) st.pseudo.add(Number(l.value));
      else st.pseudo.delete(Number(l.value));
      this.report.modelled++;
      this.report.agree++;
      if (l.value !== r.value) this.report.placements.push({ line: s.loc.line, call: s.name, logged: `fd ${l.value}`, model: `fd ${r.value}` });
      return;
    }
    this.compare(s, r, false);
    // Keep the model in step with the log: an open the kernel refused is undone.
    if (l.kind === 'errno' && r.ok) this.m.close(tid, Number(r.value));
  }

  private io(s: CallStmt, tid: number): void {
    const a = s.args;
    const st = this.st(tid);
    const logFd = Number(evalFd(a[0]) ?? -1);
    const fd = this.fd(tid, a[0]);
    const count = evalInt(a[2]);
    const pos = s.name === 'pread64' || s.name === 'pwrite64' ? evalInt(a[3]) ?? null : null;
    if (count === undefined) return this.unreadable(s);
    if (st.pseudo.has(logFd)) return this.skip(s, 'a pseudo-file (/proc, /sys, a device): its contents are not modelled');
    const f = this.proc(tid).files.get(fd);
    if (f !== undefined && (f.inode.mode & 0o170000) === 0o020000) return this.skip(s, 'a character device: not modelled');
    if (s.name === 'read' || s.name === 'pread64') {
      this.compare(s, this.m.read(tid, fd, count, pos), false);
      return;
    }
    const l = loggedOf(s);
    const n = l.kind === 'value' ? l.value : count;
    if (n > 64n * 1024n * 1024n) return this.skip(s, 'a write over 64 MiB is not replayed');
    this.compare(s, this.m.write(tid, fd, new Uint8Array(Number(n < 0n ? 0n : n)), pos), false);
  }

  private stat(s: CallStmt, tid: number): void {
    const a = s.args;
    const st = this.st(tid);
    let fd: number;
    let logFd = -1;
    let statArg: Expr | undefined;
    let opened = false;
    if (s.name === 'fstat') {
      logFd = Number(evalFd(a[0]) ?? -1);
      fd = this.fd(tid, a[0]);
      statArg = a[1];
    } else {
      const path = evalStr(s.name === 'newfstatat' ? a[1] : a[0]);
      statArg = s.name === 'newfstatat' ? a[2] : a[1];
      const flags = s.name === 'newfstatat' ? evalInt(a[3]) ?? 0n : 0n;
      if (path === undefined) return this.unreadable(s);
      if (path === '' && (flags & 0x1000n) !== 0n) {
        logFd = Number(evalFd(a[0]) ?? -1);
        fd = this.fd(tid, a[0]);
      } else {
        // stat by path: open and fstat in the model, then close again.
        let dirBase: string | undefined;
        if (s.name === 'newfstatat') {
          const d = this.fd(tid, a[0]);
          if (d !== -100) dirBase = this.proc(tid).files.get(d)?.path;
          else if (!path.startsWith('/')) dirBase = fdAnnotation(a[0]);
        }
        const mp = this.modelPath(path, dirBase ?? this.proc(tid).cwd, loggedEnoent(s));
        if (mp.pseudo) return this.skip(s, 'a pseudo-file');
        const r = this.m.openat(tid, -100, mp.path, uapi.O_PATH, 0);
        if (!r.ok) {
          this.compare(s, r, false);
          return;
        }
        fd = Number(r.value);
        opened = true;
      }
    }
    if (logFd >= 0 && st.pseudo.has(logFd)) return this.skip(s, 'a pseudo-file');
    const r = this.m.fstat(tid, fd);
    if (opened) this.m.close(tid, fd);
    const size = evalInt(structField(statArg, 'st_size'));
    const modeExpr = structField(statArg, 'st_mode');
    const isDir = modeExpr !== undefined && printExpr(modeExpr).includes('S_IFDIR');
    if (r.ok && r.stat !== undefined && size !== undefined && !isDir && loggedOf(s).kind === 'value' && BigInt(r.stat.st_size) !== size) {
      this.report.modelled++;
      this.disagree(s, `st_size=${size}`, `st_size=${r.stat.st_size}`, 'the file size differs (the host file changed since the capture?)');
      return;
    }
    this.compare(s, r.ok ? { ok: true, value: 0n } : r, false);
  }

  private clone(s: CallStmt, tid: number): void {
    const l = loggedOf(s);
    let flags = 0n;
    if (s.name === 'clone') flags = evalInt(namedArg(s, 'flags')) ?? evalInt(s.args[1]) ?? 0n;
    else if (s.name === 'clone3') flags = evalInt(structField(s.args[0], 'flags')) ?? 0n;
    else if (s.name === 'vfork') flags = BigInt(EXTRA_CONSTANTS.CLONE_VM! | EXTRA_CONSTANTS.CLONE_VFORK!);
    if (l.kind !== 'value') {
      this.compare(s, { ok: true, value: 0n }, false);
      return;
    }
    let child: number | undefined;
    if (flags & BigInt(EXTRA_CONSTANTS.CLONE_THREAD!)) {
      child = this.m.createThread(this.proc(tid).tgid);
    } else {
      // Deviation: vfork and CLONE_VM without CLONE_THREAD get a copy of the mm, not a share.
      const r = this.m.fork(tid);
      if (r.ok) {
        child = Number(r.value);
        const parent = this.st(tid);
        this.state.set(this.proc(child), { fds: new Map(parent.fds), pseudo: new Set(parent.pseudo), moved: parent.moved.map((x) => ({ ...x })) });
      }
    }
    this.report.modelled++;
    if (child === undefined) {
      this.disagree(s, l.value.toString(), 'failed', 'the model could not create the child');
      return;
    }
    this.tids.set(Number(l.value), child);
    this.report.agree++;
  }

  private mmap(s: CallStmt, tid: number): void {
    const a = s.args;
    const addr0 = evalInt(a[0]);
    const len = evalInt(a[1]);
    const prot = evalInt(a[2]);
    const flags0 = evalInt(a[3]);
    const fdArg = a[4];
    const off = evalInt(a[5]);
    if (addr0 === undefined || len === undefined || prot === undefined || flags0 === undefined || off === undefined) return this.unreadable(s);
    const m = this.m;
    const k = m.k;
    const ps = this.ps;
    const flags = BigInt.asUintN(64, flags0);
    const anon = (flags & BigInt(uapi.MAP_ANONYMOUS)) !== 0n;
    const fd = anon ? Number(BigInt.asIntN(32, evalFd(fdArg) ?? -1n)) : this.fd(tid, fdArg);
    const fixed = (flags & BigInt(uapi.MAP_FIXED | uapi.MAP_FIXED_NOREPLACE)) !== 0n;
    const addr = BigInt(this.translate(tid, Number(BigInt.asUintN(64, addr0))));
    const l = loggedOf(s);
    if (l.kind === 'value') this.noteLoaderRange(s, tid, Number(l.value), Number(BigInt.asUintN(64, len)));
    if (fixed || l.kind !== 'value') {
      const r = m.mmap(tid, addr, len, prot, flags, fd, off);
      const ok = this.compare(s, r, true);
      if (!ok && r.ok && l.kind === 'errno') m.munmap(tid, r.value, len);
      return;
    }
    // The kernel chose l.value: ask where the model would have, then follow the kernel.
    const task = m.task(tid)!;
    const mm = task.mm;
    const lenR = Math.ceil(Number(BigInt.asUintN(64, len)) / ps) * ps;
    const file = anon ? null : task.process.files.get(fd) ?? null;
    const want = Number(l.value);
    let predicted: number | string = 'none';
    if (lenR > 0 && lenR <= mm.taskSize && (anon || file !== null)) {
      let hint = Number(BigInt.asUintN(64, addr)) ;
      hint = Math.floor(hint / ps) * ps;
      if (hint !== 0 && hint < mmapMinAddr(k)) hint = mmapMinAddr(k);
      if (hint > mm.taskSize) hint = mm.taskSize;
      const pgoff = file === null ? 0 : Math.floor(Number(off) / ps);
      const g = getUnmappedArea(k, mm, file, hint, lenR, pgoff, Number(flags & 0xffffffffn));
      predicted = isErr(g) ? g : g;
    }
    const place = want % ps === 0 && want + lenR <= mm.taskSize && mm.vmas.findIntersection(want, want + lenR) === null;
    let r: SysResult;
    if (place) {
      if (predicted !== want) this.report.placements.push({ line: s.loc.line, call: 'mmap', logged: hex(want), model: typeof predicted === 'number' ? hex(predicted) : predicted });
      r = m.mmap(tid, BigInt(want), len, prot, flags | BigInt(uapi.MAP_FIXED), fd, off);
    } else {
      // The model's page size or state does not allow the kernel's address: let it choose.
      r = m.mmap(tid, addr, len, prot, flags, fd, off);
      if (r.ok && Number(r.value) !== want) {
        const logLen = Math.ceil(Number(BigInt.asUintN(64, len)) / this.logPageSize) * this.logPageSize;
        this.st(tid).moved.unshift({ start: want, end: want + logLen, delta: Number(r.value) - want });
        this.report.placements.push({ line: s.loc.line, call: 'mmap', logged: hex(want), model: hex(r.value) + (want % ps !== 0 ? ` (0x${want.toString(16)} is not ${ps / 1024} KiB-aligned)` : ' (the logged range is in use in the model)') });
        if (ps === this.logPageSize) {
          this.report.modelled++;
          this.disagree(s, hex(want), hex(r.value), `the model has [${rangesAt(mm, want, want + lenR)}] mapped where the kernel found room`);
          return;
        }
      }
    }
    if (r.ok && Number(r.value) !== want) {
      this.report.modelled++;
      this.report.agree++;
      return;
    }
    this.compare(s, r, true);
  }

  private execve(s: CallStmt, tid: number): void {
    const l = loggedOf(s);
    const path = evalStr(s.args[0]);
    if (l.kind !== 'value' || l.value !== 0n) {
      this.skip(s, 'a failed execve changes nothing');
      return;
    }
    if (path === undefined) return this.unreadable(s);
    this.exec(s, tid, path);
  }

  /**
   * The log starts after the process's execve (strace -p, or -e trace=!execve):
   * build what exec would have, without the executable, from what the log shows.
   */
  private implicitExec(tid: number, pid: number | undefined): void {
    const line = this.statements[this.index]?.loc.line ?? 0;
    const entry = { line, path: '(no execve in the log)', notes: [] as string[], error: `the executable is unknown: its own mappings are missing; interpreter guessed as ${GUESSED_INTERP}` as string | undefined };
    const ip = this.modelPath(GUESSED_INTERP);
    const ih = this.hostHead(ip).head;
    const ie = ih === null ? null : readElf(ih, ip.path);
    const interp = ie !== null && ie.ok ? ie.image : null;
    if (interp === null) entry.error += ' (not on this machine either)';
    this.report.exec.push(entry);
    const exeImage: ElfImage = { path: '/', type: 'dyn', entry: 0, phdrs: [], interp: GUESSED_INTERP };
    const facts = this.factsAfter(this.index - 1, pid);
    const inferred = inferBases(exeImage, interp, facts, this.logPageSize, this.mapsLines, '', interp === null ? null : ip.path);
    entry.notes.push(...inferred.notes);
    const r = this.m.execImages(tid, exeImage, interp, inferred.bases, true);
    if (!r.ok) entry.error += `; ${r.errno}: ${r.reason}`;
  }

  private exec(s: CallStmt, tid: number, path: string): void {
    const entry = { line: s.loc.line, path, notes: [] as string[], error: undefined as string | undefined };
    this.report.exec.push(entry);
    this.report.modelled++;
    const fail = (why: string): void => {
      entry.error = why;
      this.disagree(s, '0', 'failed', why);
    };
    let mp = this.modelPath(path, this.proc(tid).cwd);
    let hh = this.hostHead(mp);
    let head = hh.head;
    if (head !== null && head[0] === 0x23 && head[1] === 0x21) {
      // binfmt_script: a '#!' script runs its interpreter (which maps nothing of the script).
      const first = new TextDecoder('latin1').decode(head.subarray(2, Math.max(2, head.indexOf(10)))).trim();
      const interpPath = first.split(/\s+/)[0] ?? '';
      entry.notes.push(`a script: running its interpreter ${interpPath}`);
      mp = this.modelPath(interpPath, this.proc(tid).cwd);
      hh = this.hostHead(mp);
      head = hh.head;
    }
    const exe = head === null ? null : readElf(head, mp.path);
    let exeImage: ElfImage;
    let partial = false;
    if (exe === null || !exe.ok) {
      // Without the binary, build the rest (interpreter, vDSO, stack, break) so that later calls on them still agree.
      partial = true;
      exeImage = { path: mp.path, type: 'dyn', entry: 0, phdrs: [], interp: GUESSED_INTERP };
      entry.error = `${exe === null ? (mp.exists ? hh.why : `${path} is not on this machine`) : exe.error}: its own mappings are missing; interpreter guessed as ${GUESSED_INTERP}`;
    } else {
      exeImage = exe.image;
    }
    let interp: ElfImage | null = null;
    let interpName: string | null = null;
    if (exeImage.interp !== null) {
      const ip = this.modelPath(exeImage.interp);
      const ihh = this.hostHead(ip);
      const ih = ihh.head;
      const ie = ih === null ? null : readElf(ih, ip.path);
      if (ie !== null && ie.ok) {
        interp = ie.image;
        interpName = ip.path;
      } else if (!partial) {
        return fail(`interpreter ${exeImage.interp}: ${ie === null ? (ip.exists ? ihh.why : 'not on this machine') : ie.error}`);
      } else {
        entry.error += ` (not on this machine either)`;
      }
    }
    const facts = this.factsAfter(this.index, s.pid);
    const inferred = inferBases(exeImage, interp, facts, this.logPageSize, this.mapsLines, mp.path, interpName);
    entry.notes.push(...inferred.notes);
    // The executable's and the interpreter's images, where the log shows them: calls there are the loader's.
    const b = inferred.bases;
    if (b.loadBias !== undefined && !partial) this.loaderRanges.push([b.loadBias, b.loadBias + totalMappingSize(exeImage.phdrs, this.logPageSize)]);
    if (b.interpBase !== undefined && interp !== null) this.loaderRanges.push([b.interpBase, b.interpBase + totalMappingSize(interp.phdrs, this.logPageSize)]);
    const r = this.m.execImages(tid, exeImage, interp, inferred.bases, partial);
    // The mm is new: address translations of the old image are gone.
    this.st(tid).moved = [];
    if (!r.ok) {
      if (partial) entry.error += `; ${r.errno}: ${r.reason}`;
      if (partial) return this.uncount(s, entry.error!);
      fail(`${r.errno}: ${r.reason}`);
      if (this.ps !== this.logPageSize) {
        // Portability: a build for this architecture would load; go on with the rest of the layout
        // (the interpreter too if it loads at this page size) so that the program's own calls are judged.
        let again = this.m.execImages(tid, exeImage, interp, inferred.bases, true);
        if (!again.ok && interp !== null) again = this.m.execImages(tid, exeImage, null, inferred.bases, true);
        entry.notes.push(again.ok ? `continuing without the executable's own mappings${interp !== null && again.layout.interpBase === null ? ' and without the interpreter' : ''}` : `continuing with an empty address space: ${again.reason}`);
      }
      return;
    }
    entry.notes.push(`entry 0x${r.layout.entry.toString(16)}`);
    if (partial) return this.uncount(s, entry.error!);
    this.report.agree++;
  }

  /**
   * The first bytes of a host file execve names, or why they were not read:
   * only a regular file is read (a FIFO would block the replay, a device
   * could have side effects; host.ts checks again when it opens).
   */
  private hostHead(p: { path: string; exists: boolean }): { head: Uint8Array | null; why: string } {
    if (!p.exists) return { head: null, why: `${p.path} is not on this machine` };
    const st = this.host.stat(p.path);
    if (st !== null && !st.isFile) return { head: null, why: `${p.path} is ${fileKind(st.mode)}, not a regular file: not read` };
    const head = this.host.readHead(p.path, 1 << 16);
    return { head, why: head === null ? `cannot read ${p.path}` : '' };
  }

  /** A call counted as modelled that turned out not comparable. */
  private uncount(s: CallStmt, why: string): void {
    this.report.modelled--;
    this.skip(s, why);
  }

  /** What the log shows of the exec'd process until its next execve or exit: mprotect targets and the first brk. */
  private factsAfter(from: number, pid: number | undefined): LogFacts {
    const facts: LogFacts = { mprotects: [], firstBrk: null, firstMmap: null };
    const mapped: [number, number][] = [];
    const ps = this.logPageSize;
    for (let i = from + 1; i < this.statements.length; i++) {
      const s = this.statements[i]!;
      if (!this.samePid(s.pid, pid) || s.kind !== 'call') continue;
      if (s.name === 'execve') break;
      const l = loggedOf(s);
      if (l.kind !== 'value') continue;
      if (s.name === 'mmap') {
        const len = Number(evalInt(s.args[1]) ?? 0n);
        mapped.push([Number(l.value), Number(l.value) + Math.ceil(len / ps) * ps]);
        const flags = evalInt(s.args[3]) ?? 0n;
        if (mapped.length === 1 && evalInt(s.args[0]) === 0n && (flags & BigInt(uapi.MAP_FIXED | uapi.MAP_FIXED_NOREPLACE)) === 0n) {
          facts.firstMmap = { addr: Number(l.value), len: Math.ceil(len / ps) * ps, line: s.loc.line };
        }
      } else if (s.name === 'brk' && facts.firstBrk === null) {
        facts.firstBrk = Number(l.value);
      } else if (s.name === 'mprotect') {
        const addr = Number(evalInt(s.args[0]) ?? -1n);
        facts.mprotects.push({ addr, covered: mapped.some(([a, b]) => addr >= a && addr < b) });
      }
    }
    return facts;
  }
}

/**
 * Pids a log shows to be children, whatever order their lines come in (the
 * statements as parsed, split calls not yet joined): each clone/fork/vfork's
 * logged result; each pid strace announces with "Process N attached" once
 * the traced program has made a call (strace -p announces the processes it
 * attaches to first, before any call); and, should the announcement be
 * missing, each pid first seen while a clone/fork/vfork is unfinished.
 */
function announcedChildren(stmts: Statement[]): Set<number> {
  const out = new Set<number>();
  const seen = new Set<number>();
  // Unfinished clones, each owed one child: the first new pid seen while it is pending.
  const pending: { pid: number | undefined; child: number | null }[] = [];
  const CLONES = ['clone', 'clone3', 'fork', 'vfork'];
  let calls = false;
  for (const s of stmts) {
    // `[pid 200] <... vfork resumed>) = 201`: the parent, perhaps named here for the first time.
    const resumesClone = s.kind === 'call' && s.resumed && CLONES.includes(s.name);
    if (s.pid !== undefined && !seen.has(s.pid)) {
      seen.add(s.pid);
      const owed = pending.find((p) => p.child === null && p.pid !== s.pid);
      if (!resumesClone && owed !== undefined) {
        owed.child = s.pid;
        out.add(s.pid);
      }
    }
    if (s.kind === 'call') {
      calls = true;
      if (CLONES.includes(s.name)) {
        if (s.unfinished) pending.push({ pid: s.pid, child: null });
        else if (s.resumed) {
          const i = pending.findIndex((p) => p.pid === s.pid || p.pid === undefined);
          if (i >= 0) pending.splice(i, 1);
        }
        const l = loggedOf(s);
        if (!s.unfinished && l.kind === 'value' && l.value > 0n) out.add(Number(l.value));
      }
    } else if (s.kind === 'message' && calls) {
      const m = /^Process (\d+) attached/.exec(s.text);
      if (m !== null) out.add(Number(m[1]));
    }
  }
  return out;
}

function rangesAt(mm: { vmas: Iterable<{ start: number; end: number }> }, start: number, end: number): string {
  const out: string[] = [];
  for (const v of mm.vmas) if (v.start < end && v.end > start) out.push(`${v.start.toString(16)}-${v.end.toString(16)}`);
  return out.join(', ');
}

/** Replays `text` (a strace log) and returns the report. */
export function replayLog(text: string, options: ReplayOptions = {}): ReplayReport {
  return new Replayer(options).run(text);
}

export { ARCH_PROFILES, PT_LOAD };
