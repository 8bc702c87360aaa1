/**
 * The check pass: finds, before anything runs, the mistakes the interpreter
 * would otherwise meet only half-way through a run. It looks at the calls the
 * interpreter models (syscalls, memory accesses, checkpoints) and at signal
 * expectations, in the places the interpreter evaluates them:
 *
 * - an argument or result the parser could only keep as raw text
 *   (`load8(p +)`), with the parser's own complaint;
 * - a name that is neither a constant nor bound by any line of the file
 *   (`PROT_FOO`, an unbound `q`); a name bound anywhere counts, since the
 *   order of lines is the interpreter's business (forward references fail
 *   there, with a location);
 * - a missing argument (`store8(p)`) or one too many (`load8(p, 3, 4)`);
 * - an integer that does not fit in 64 bits;
 * - a string where a number is needed and the other way round;
 * - an unknown signal, si_code or errno name in an expectation.
 *
 * A call the model does not have is never looked at (real strace logs are
 * full of them; they run as "not modelled"), nor is half of a split call.
 */
import { isErrnoName } from '../kernel/uapi.js';
import { type CallStmt, type Expr, type Loc, type RawReason, type Result, type Statement, type StructExpr, printExpr } from './ast.js';
import type { Diagnostic, DiagnosticCode } from './diagnostics.js';
import { constantValue } from './flags.js';

/** How the interpreter uses an argument. */
type Use =
  /** evaluated as a 64-bit integer (bound names, constants, arithmetic) */
  | 'int'
  /** a string literal (a path, a name, bytes to store) */
  | 'str'
  /** read()/write()'s buffer: the data as a string, or an address */
  | 'buf'
  /** mincore()'s vector: when an array, its elements up to a `...` are integers */
  | 'vector'
  /** a struct whose named members (`checked`) are compared as integers */
  | { struct: readonly string[] }
  /** not evaluated */
  | 'any';

interface Spec {
  /** What each argument is, by position. */
  args: readonly Use[];
  /** How many must be written; the rest are optional. */
  required: number;
  /** What each argument is called in messages. */
  names: readonly string[];  /** Any number of further arguments of this kind (smaps(addr, "Rss", "Pss"): the oracle compares each field). */
  rest?: Use;
}

const ADDR_LEN = ['address', 'length'];
const spec = (args: Use[], required: number, names: string[]): Spec => ({ args, required, names });
const ints = (names: string[], required = names.length): Spec => spec(names.map(() => 'int'), required, names);
const STAT: Use = { struct: ['st_size', 'st_mode'] };
const RUSAGE: Use = { struct: ['ru_minflt', 'ru_majflt'] };
const FADVISE = ints(['descriptor', 'offset', 'length', 'advice']);

/** The interpreter's calls (interpreter.ts's syscall table and pseudo-calls); clone and clone3 are checked on their own. */
const SPECS: Readonly<Record<string, Spec>> = {
  mmap: ints(['address', 'length', 'protection', 'flags', 'descriptor', 'offset']),
  munmap: ints(ADDR_LEN),
  mprotect: ints([...ADDR_LEN, 'protection']),
  msync: ints([...ADDR_LEN, 'flags']),
  mremap: ints(['old address', 'old length', 'new length', 'flags', 'new address'], 4),
  madvise: ints([...ADDR_LEN, 'advice']),
  mlock: ints(ADDR_LEN),
  mlock2: ints([...ADDR_LEN, 'flags'], 2),
  munlock: ints(ADDR_LEN),
  mlockall: ints(['flags']),
  munlockall: ints([]),
  brk: ints(['address']),
  mincore: spec(['int', 'int', 'vector'], 2, [...ADDR_LEN, 'vector']),
  open: spec(['str', 'int', 'int'], 2, ['path', 'flags', 'mode']),
  openat: spec(['int', 'str', 'int', 'int'], 3, ['directory descriptor', 'path', 'flags', 'mode']),
  close: ints(['descriptor']),
  read: spec(['int', 'buf', 'int'], 3, ['descriptor', 'buffer', 'count']),
  pread64: spec(['int', 'buf', 'int', 'int'], 4, ['descriptor', 'buffer', 'count', 'offset']),
  write: spec(['int', 'buf', 'int'], 2, ['descriptor', 'buffer', 'count']),
  pwrite64: spec(['int', 'buf', 'int', 'int'], 4, ['descriptor', 'buffer', 'count', 'offset']),
  lseek: ints(['descriptor', 'offset', 'whence']),
  ftruncate: ints(['descriptor', 'length']),
  fsync: ints(['descriptor']),
  fdatasync: ints(['descriptor']),
  unlink: spec(['str'], 1, ['path']),
  unlinkat: spec(['int', 'str', 'int'], 2, ['directory descriptor', 'path', 'flags']),
  fstat: spec(['int', STAT], 1, ['descriptor', 'stat struct']),
  newfstatat: spec(['int', 'str', STAT, 'int'], 2, ['descriptor', 'path', 'stat struct', 'flags']),
  fadvise64: FADVISE,
  fadvise64_64: FADVISE,
  posix_fadvise: FADVISE,
  memfd_create: spec(['str', 'int'], 2, ['name', 'flags']),
  exit_group: ints(['status'], 0),
  exit: ints(['status'], 0),
  fork: ints([]),
  vfork: ints([]),
  getrusage: spec(['int', RUSAGE], 1, ['RUSAGE_SELF or RUSAGE_THREAD', 'rusage struct']),
  load8: ints(['address']),
  load16: ints(['address']),
  load32: ints(['address']),
  load64: ints(['address']),
  load: ints(['address', 'length']),
  store8: ints(['address', 'value']),
  store16: ints(['address', 'value']),
  store32: ints(['address', 'value']),
  store64: ints(['address', 'value']),
  store: spec(['int', 'str'], 2, ['address', 'string']),
  maps: ints([]),
  smaps_rollup: ints([]),
  meminfo: ints([]),
  vmstat: ints([]),
  diskstats: ints([]),
  status: ints([]),
  statm: ints([]),
  smaps: { ...spec(['int', 'str'], 0, ['address', 'field name']), rest: 'str' },
};

const MEMORY_ACCESSES = new Set(['load8', 'load16', 'load32', 'load64', 'load', 'store8', 'store16', 'store32', 'store64', 'store']);
const TEXT_CHECKPOINTS = new Set(['maps', 'smaps_rollup', 'meminfo', 'vmstat', 'diskstats', 'status', 'statm']);

/** Signal names strace prints (asm-generic/signal.h, aliases, real-time signals). */
const SIGNAL_NAMES = new Set([
  'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGIOT', 'SIGBUS', 'SIGFPE', 'SIGKILL', 'SIGUSR1', 'SIGSEGV',
  'SIGUSR2', 'SIGPIPE', 'SIGALRM', 'SIGTERM', 'SIGSTKFLT', 'SIGCHLD', 'SIGCONT', 'SIGSTOP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU',
  'SIGURG', 'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGWINCH', 'SIGIO', 'SIGPOLL', 'SIGPWR', 'SIGSYS', 'SIGUNUSED',
  'SIGRTMIN', 'SIGRTMAX',
]);
const isSignalName = (s: string): boolean => SIGNAL_NAMES.has(s) || /^SIGRT_\d+$/.test(s);

/** include/uapi/asm-generic/siginfo.h: the SIGSEGV and SIGBUS codes. Other si_code names (SI_USER, CLD_EXITED ...) are not checked. */
const FAULT_CODES = new Set([
  'SEGV_MAPERR', 'SEGV_ACCERR', 'SEGV_BNDERR', 'SEGV_PKUERR', 'SEGV_ACCADI', 'SEGV_ADIDERR', 'SEGV_ADIPERR', 'SEGV_MTEAERR',
  'SEGV_MTESERR', 'SEGV_CPERR', 'BUS_ADRALN', 'BUS_ADRERR', 'BUS_OBJERR', 'BUS_MCEERR_AR', 'BUS_MCEERR_AO',
]);

/** include/linux/errno.h: errnos that never reach user space but that strace shows (`? ERESTARTSYS (To be restarted ...)`). */
const KERNEL_ERRNOS = new Set([
  'ERESTARTSYS', 'ERESTARTNOINTR', 'ERESTARTNOHAND', 'ENOIOCTLCMD', 'ERESTART_RESTARTBLOCK', 'EPROBE_DEFER', 'EOPENSTALE',
  'ENOPARAM', 'EBADHANDLE', 'ENOTSYNC', 'EBADCOOKIE', 'ENOTSUPP', 'ETOOSMALL', 'ESERVERFAULT', 'EBADTYPE', 'EJUKEBOX',
  'EIOCBQUEUED', 'ERECALLCONFLICT', 'ENOGRACE',
]);

const U64_LIMIT = 1n << 64n;
const I64_MIN = -(1n << 63n);

/** `a address` -> `an address`. */
export function withArticle(what: string): string {
  return (/^[aeiou]/i.test(what) ? 'an ' : 'a ') + what;
}

const ordinal = (n: number): string => `argument ${n}`;

class Checker {
  readonly diagnostics: Diagnostic[] = [];
  private readonly bound = new Set<string>();

  constructor(
    private readonly file: string,
    statements: readonly Statement[],
  ) {
    for (const s of statements) if (s.kind === 'call' && s.bind) this.bound.add(s.bind.name);
  }

  private report(loc: Loc, code: DiagnosticCode, message: string): void {
    const d: Diagnostic = { file: this.file, line: loc.line, column: loc.column, severity: 'error', code, message };
    if (loc.endLine === undefined) d.endColumn = Math.max(loc.endColumn, loc.column + 1);
    this.diagnostics.push(d);
  }

  private raw(loc: Loc, whole: string, reason: RawReason | undefined, what: string): void {
    const text = whole.length > 40 ? whole.slice(0, 37) + '...' : whole;
    if (reason) this.report(reason.loc, 'E_BAD_ARGUMENT', `${what} '${text}' does not parse: ${reason.message}`);
    else this.report(loc, 'E_BAD_ARGUMENT', `${what} '${text}' does not parse`);
  }

  /** Mirrors Interpreter.evalInt(): everything it would refuse. */
  int(e: Expr, what: string): void {
    switch (e.kind) {
      case 'int':
        if (e.value >= U64_LIMIT || e.value < I64_MIN) this.report(e.loc, 'E_OUT_OF_RANGE', `${e.value} does not fit in 64 bits`);
        return;
      case 'null':
        return;
      case 'ident':
        if (!this.bound.has(e.name) && constantValue(e.name) === undefined) {
          this.report(e.loc, 'E_UNKNOWN_NAME', `unknown name '${e.name}': not a constant the model knows, and no line of this file binds it`);
        }
        return;
      case 'flags':
        for (const p of e.parts) this.int(p, what);
        return;
      case 'shift':
      case 'binop':
        this.int(e.left, what);
        this.int(e.right, what);
        return;
      case 'unary':
        this.int(e.operand, what);
        return;
      case 'fdpath':
        this.int(e.fd, what);
        return;
      case 'named':
        this.int(e.value, what);
        return;
      case 'raw':
        this.raw(e.loc, e.text, e.reason, what);
        return;
      case 'str':
        this.report(e.loc, 'E_BAD_ARGUMENT', `${what} is a number, not a string`);
        return;
      default:
        this.report(e.loc, 'E_BAD_ARGUMENT', `${what} is a number; this is ${e.kind === 'struct' ? 'a struct' : e.kind === 'array' ? 'an array' : `'${e.kind}'`}`);
    }
  }

  private str(e: Expr, what: string): void {
    if (e.kind === 'str') return;
    if (e.kind === 'raw') this.raw(e.loc, e.text, e.reason, what);
    else this.report(e.loc, 'E_BAD_ARGUMENT', `${what} must be a quoted string ("..."), found '${printExpr(e)}'`);
  }

  private use(u: Use, e: Expr, what: string): void {
    if (u === 'any') return;
    if (u === 'int') return this.int(e, what);
    if (u === 'str') return this.str(e, what);
    if (u === 'buf') return e.kind === 'str' ? undefined : this.int(e, what);
    if (u === 'vector') {
      if (e.kind === 'raw') return this.raw(e.loc, e.text, e.reason, what);
      if (e.kind !== 'array') return;
      for (const x of e.elements) {
        if (x.kind === 'ellipsis') break;
        this.int(x, `an element of the ${what}`);
      }
      return;
    }
    if (e.kind === 'raw') return this.raw(e.loc, e.text, e.reason, what);
    if (e.kind !== 'struct') return;
    for (const f of e.fields) if (f.name !== undefined && u.struct.includes(f.name)) this.int(f.value, f.name);
  }

  call(s: CallStmt): void {
    if (s.unfinished || s.resumed || s.detached) return;
    if (s.name === 'clone' || s.name === 'clone3') return this.clone(s);
    const sp = Object.prototype.hasOwnProperty.call(SPECS, s.name) ? SPECS[s.name] : undefined;
    if (sp === undefined) return;
    const n = s.args.length;
    if (n < sp.required) {
      const missing = sp.names[n]!;
      this.report(s.nameLoc, 'E_ARGUMENT_COUNT', `${s.name}() needs ${withArticle(missing)} as ${ordinal(n + 1)} (${sp.required} argument${sp.required === 1 ? '' : 's'}: ${sp.names.slice(0, sp.required).join(', ')})`);
    }
    if (n > sp.args.length && sp.rest === undefined) {
      const extra = s.args[sp.args.length]!;
      const last = s.args[n - 1]!;
      const loc: Loc = { line: extra.loc.line, column: extra.loc.column, endColumn: last.loc.line === extra.loc.line && last.loc.endLine === undefined ? last.loc.endColumn : extra.loc.endColumn };
      this.report(loc, 'E_ARGUMENT_COUNT', `${s.name}() takes ${sp.args.length === 0 ? 'no arguments' : `at most ${sp.args.length} argument${sp.args.length === 1 ? '' : 's'} (${sp.names.join(', ')})`}; ${n - sp.args.length} too many`);
    }
    s.args.forEach((a, i) => {
      const u = sp.args[i] ?? sp.rest;
      if (u !== undefined) this.use(u, a, `the ${sp.names[Math.min(i, sp.names.length - 1)]}`);
    });
    if (s.name === 'write' || s.name === 'pwrite64') {
      const buf = s.args[1];
      if (buf !== undefined && buf.kind !== 'str' && s.args[2] === undefined) this.report(s.nameLoc, 'E_ARGUMENT_COUNT', `${s.name}() from an address needs a count as argument 3`);
    }
    if (s.result) this.result(s, s.result);
  }

  private clone(s: CallStmt): void {
    if (s.name === 'clone') {
      const flags = s.args.find((a) => a.kind === 'named' && a.name === 'flags') ?? s.args.find((a) => a.kind !== 'named');
      if (flags) this.int(flags, 'the flags');
    } else {
      let a = s.args[0];
      if (a === undefined) this.report(s.nameLoc, 'E_ARGUMENT_COUNT', 'clone3() needs its {flags=..., ...} struct as argument 1');
      else {
        if (a.kind === 'inout' && a.input !== null) a = a.input;
        if (a.kind === 'raw') this.raw(a.loc, a.text, a.reason, 'the clone_args struct');
        else if (a.kind !== 'struct') this.report(a.loc, 'E_BAD_ARGUMENT', 'clone3() needs its {flags=..., ...} struct');
        else for (const f of a.fields) if (f.name === 'flags') this.int(f.value, 'the flags');
      }
    }
    if (s.result) this.result(s, s.result);
  }

  private result(s: CallStmt, r: Result): void {
    switch (r.kind) {
      case 'value':
        if (r.value.kind === 'str') return;
        if (TEXT_CHECKPOINTS.has(s.name) || (s.name === 'smaps' && s.args.length < 2)) return;
        this.int(r.value, 'the expected result');
        return;
      case 'errno':
        if (!isErrnoName(r.errno) && !KERNEL_ERRNOS.has(r.errno)) this.report(r.loc, 'E_UNKNOWN_NAME', `unknown errno name ${r.errno}`);
        return;
      case 'signal':
        if (!MEMORY_ACCESSES.has(s.name)) return; // the interpreter reports it: a syscall returns EFAULT
        this.signal({ line: r.loc.line, column: r.loc.column, endColumn: r.loc.column + r.signal.length }, r.signal, r.info);
        return;
      case 'raw':
        this.raw(r.loc, r.text, r.reason, 'the result');
        return;
      default:
        return;
    }
  }

  /** An expected signal (loc: where its name is) or a signal line (loc: the line). */
  signal(loc: Loc, signal: string, info: StructExpr | undefined): void {
    if (!isSignalName(signal)) this.report(loc, 'E_UNKNOWN_NAME', `unknown signal ${signal}`);
    for (const f of info?.fields ?? []) {
      const v = f.value;
      if (f.name === 'si_code') {
        if (v.kind === 'ident' && !this.bound.has(v.name)) {
          if (/^(SEGV|BUS)_/.test(v.name) && !FAULT_CODES.has(v.name)) this.report(v.loc, 'E_UNKNOWN_NAME', `unknown si_code ${v.name}`);
        } else this.int(v, 'si_code');
      } else if (f.name === 'si_addr') {
        this.int(v, 'si_addr');
      } else if (f.name === 'si_signo' && v.kind === 'ident' && !isSignalName(v.name)) {
        this.report(v.loc, 'E_UNKNOWN_NAME', `unknown signal ${v.name}`);
      }
    }
  }
}

/**
 * The check pass over parsed (and joined) statements: errors for what the
 * interpreter would stumble on, located for a caret. Empty when the file can
 * run.
 */
export function checkStatements(statements: readonly Statement[], file = '<input>'): Diagnostic[] {
  const c = new Checker(file, statements);
  for (const s of statements) {
    if (s.kind === 'call') c.call(s);
    else if (s.kind === 'signal') c.signal(s.loc, s.signal, s.info);
  }
  return c.diagnostics;
}
