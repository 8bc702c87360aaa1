/**
 * The scenario language's syntax tree: strace's output syntax plus mmsim's few
 * extensions (bindings, memory-access and checkpoint pseudo-calls, expected
 * signals, heredoc results). See docs/grammar.md for the grammar.
 *
 * This is the interface between the parser and the interpreter. It is purely
 * syntactic: identifiers are not resolved (PROT_READ and a bound name `p` are
 * both IdentExpr), pseudo-calls are ordinary CallStmts, and nothing here
 * imports the kernel model.
 *
 * Every node carries a Loc so that a later stage can print a caret under the
 * exact text it complains about (see diagnostics.ts).
 */

/**
 * A source span. line and column are 1-based; endColumn is exclusive (the
 * column just after the last character). When the span ends on a later line
 * (a call that strace split around its own "Process N attached" message, or
 * a heredoc), endLine is that line and endColumn refers to it.
 */
export interface Loc {
  line: number;
  column: number;
  endColumn: number;
  endLine?: number;
}

// ---------------------------------------------------------------------------
// Expressions (arguments, struct fields, results)

interface ExprBase {
  loc: Loc;
  /** Text of a `/* ... *\/` comment written right after this value, e.g. `35 vars`. */
  comment?: string;
}

/** An integer: `4096`, `-1`, `0x7f46929d0000`, `0644` (octal). radix records how it was written. */
export interface IntExpr extends ExprBase {
  kind: 'int';
  value: bigint;
  radix: 8 | 10 | 16;
}

/** `NULL`. */
export interface NullExpr extends ExprBase {
  kind: 'null';
}

/**
 * A C string literal, escapes decoded to bytes (`\x41`, `\101`, `\n`, ...);
 * non-ASCII characters in a scenario file are taken as UTF-8.
 * truncated: strace printed `"..."...` because the string was longer than -s.
 */
export interface StrExpr extends ExprBase {
  kind: 'str';
  bytes: Uint8Array;
  truncated: boolean;
}

/** A bare name: a constant (`PROT_READ`, `AT_FDCWD`) or a bound name (`p`). The interpreter decides which. */
export interface IdentExpr extends ExprBase {
  kind: 'ident';
  name: string;
}

/** `A|B|C`, in any order; parts may be ints, shifts or idents. */
export interface FlagsExpr extends ExprBase {
  kind: 'flags';
  parts: Expr[];
}

/** `21<<MAP_HUGE_SHIFT`. */
export interface ShiftExpr extends ExprBase {
  kind: 'shift';
  left: Expr;
  right: Expr;
}

/** Integer arithmetic: `p + 4096`, `2 * 4096`, strace's own `8192*1024`. Division truncates. */
export interface BinOpExpr extends ExprBase {
  kind: 'binop';
  op: '+' | '-' | '*' | '/';
  left: Expr;
  right: Expr;
}

/** `-x` (for a non-literal x; `-1` is an IntExpr) and `~x`. */
export interface UnaryExpr extends ExprBase {
  kind: 'unary';
  op: '-' | '~';
  operand: Expr;
}

/**
 * `[1, 0]`, `[]`, `[{...}, ...]`; also strace's space-separated sets
 * (`[RTMIN RT_1]`, `[0 1 2 3]`, separator ' ') and complemented signal sets
 * `~[RTMIN RT_1]` (complement).
 */
export interface ArrayExpr extends ExprBase {
  kind: 'array';
  elements: Expr[];
  complement: boolean;
  separator: ',' | ' ';
}

/** One struct member: `name=value`, or a bare value (name absent), or a bare `...` (value is an EllipsisExpr). */
export interface Field {
  loc: Loc;
  name?: string;
  value: Expr;
}

/** `{st_mode=S_IFREG|0644, st_size=34547, ...}`. */
export interface StructExpr extends ExprBase {
  kind: 'struct';
  fields: Field[];
}

/** strace's `...` standing for elided members or elements. */
export interface EllipsisExpr extends ExprBase {
  kind: 'ellipsis';
}

/**
 * A descriptor with its path (strace -y): `3</etc/ld.so.cache>`,
 * `4</memfd:x>(deleted)`, `AT_FDCWD</tmp>`, and with -yy
 * `1</dev/null<char 1:3>>` or `3<TCP:[...]>` (path holds everything between
 * the outer angle brackets, escapes decoded).
 */
export interface FdPathExpr extends ExprBase {
  kind: 'fdpath';
  fd: IntExpr | IdentExpr;
  path: string;
  deleted: boolean;
}

/** A function-like form strace prints inside values: `makedev(0xfe, 0)`, `inet_addr("127.0.0.1")`, `htons(80)`. */
export interface FuncExpr extends ExprBase {
  kind: 'func';
  name: string;
  args: Expr[];
}

/**
 * An in/out argument, `input => output`: clone3's `{flags=..., ...} => {parent_tid=[2886]}`,
 * socket lengths `[128 => 16]`. In the tail of a `<... clone3 resumed>` line the
 * input was printed on the earlier line and is null here; joinSplitCalls() fills it.
 */
export interface InOutExpr extends ExprBase {
  kind: 'inout';
  input: Expr | null;
  output: Expr;
}

/**
 * A call argument strace prints as `name=value`, as clone does:
 * `clone(child_stack=NULL, flags=CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f46931d1a10)`.
 * Only at the top level of a call's arguments (struct members are Fields).
 */
export interface NamedExpr extends ExprBase {
  kind: 'named';
  name: string;
  value: Expr;
}

/** A comment standing where a value would, as in old strace's `[/* 35 vars *\/]`. */
export interface CommentExpr extends ExprBase {
  kind: 'comment';
  text: string;
}

/** `restart_syscall(<... resuming interrupted clock_nanosleep ...>)`: name is the interrupted call. */
export interface ResumingExpr extends ExprBase {
  kind: 'resuming';
  name: string;
}

/**
 * Balanced text the parser accepted without understanding it, e.g.
 * `WIFEXITED(s) && WEXITSTATUS(s) == 3` or `@"abstract-socket"`. Real strace
 * logs must never be rejected, so anything strace prints parses to something;
 * an interpreter that needs the value should report a RawExpr as an error.
 */
export interface RawExpr extends ExprBase {
  kind: 'raw';
  text: string;
  /** Why the grammar did not take the text: the parser's complaint, where it arose (for a later stage that needs the value). */
  reason?: RawReason;
}

/** The parse error a RawExpr or RawResult stands in for. */
export interface RawReason {
  message: string;
  loc: Loc;
}

export type Expr =
  | IntExpr
  | NullExpr
  | StrExpr
  | IdentExpr
  | FlagsExpr
  | ShiftExpr
  | BinOpExpr
  | UnaryExpr
  | ArrayExpr
  | StructExpr
  | EllipsisExpr
  | FdPathExpr
  | FuncExpr
  | InOutExpr
  | NamedExpr
  | CommentExpr
  | ResumingExpr
  | RawExpr;

// ---------------------------------------------------------------------------
// Results: what follows ` = ` after a call

/**
 * A value: `0x7f46929d0000`, `3</path>`, `"bytes"`, `p + 4096`.
 * annotation is the text of strace's trailing parenthetical, without the
 * parentheses: `Timeout` in `= 0 (Timeout)`, `[{fd=3, revents=POLLIN}]`,
 * `flags O_RDONLY|O_LARGEFILE`.
 */
export interface ValueResult {
  kind: 'value';
  loc: Loc;
  value: Expr;
  annotation?: string;
}

/**
 * A failure: `-1 EINVAL (Invalid argument)`, `? ERESTARTSYS (To be restarted
 * if SA_RESTART is set)`, or in a scenario just `-1 ENOMEM`.
 * value is null for `?`.
 */
export interface ErrnoResult {
  kind: 'errno';
  loc: Loc;
  value: bigint | null;
  errno: string;
  message?: string;
  /** A second parenthetical: `INJECTED` in `-1 ENOMEM (Cannot allocate memory) (INJECTED)` (strace -e inject). */
  annotation?: string;
}

/** `?`: the call did not return (exit_group, a thread killed in a call). `? <unavailable>`: strace could not read it. */
export interface UnknownResult {
  kind: 'unknown';
  loc: Loc;
  unavailable: boolean;
}

/** Scenario extension: a memory access is expected to fault. `= SIGBUS {si_code=BUS_ADRERR}`, `= SIGSEGV`. */
export interface SignalResult {
  kind: 'signal';
  loc: Loc;
  signal: string;
  info?: StructExpr;
}

/**
 * Scenario extension: a multi-line expected text, `maps() = <<EOF` then lines
 * up to a line holding only the terminator. text is the body lines, each
 * followed by '\n' (so an empty body is ''). loc covers `<<EOF`; endLine is
 * the terminator's line.
 */
export interface HeredocResult {
  kind: 'heredoc';
  loc: Loc;
  terminator: string;
  text: string;
  endLine: number;
}

/** A result strace printed in a form the parser does not model. */
export interface RawResult {
  kind: 'raw';
  loc: Loc;
  text: string;
  reason?: RawReason;
}

export type Result = ValueResult | ErrnoResult | UnknownResult | SignalResult | HeredocResult | RawResult;

// ---------------------------------------------------------------------------
// Statements: one per line (a call split by strace's own messages may span two)

/** -t/-tt (`12:34:56`, `12:34:56.123456`: form 'clock', nanos since midnight) or -ttt/-r (`1700000000.123456`, `0.000123`: form 'seconds'). The two 'seconds' options cannot be told apart by their text. */
export interface Timestamp {
  loc: Loc;
  text: string;
  form: 'clock' | 'seconds';
  nanos: bigint;
}

/** -T's `<0.000013>` after the result. */
export interface Duration {
  loc: Loc;
  text: string;
  nanos: bigint;
}

interface StmtBase {
  /** The statement after any prefix (pid, timestamp, -n number). */
  loc: Loc;
  /** From `2674  ` (strace -f -o) or `[pid  2674] ` (strace -f to stderr). Absent when strace printed no pid. */
  pid?: number;
  pidLoc?: Loc;
  /** The process name strace -Y prints after the pid: `sh` in `2674<sh>  `. */
  comm?: string;
  timestamp?: Timestamp;
  /** strace -i's instruction pointer as printed, without brackets: `00007fbd8c7f2ad7`, or `????????????????` on exit and signal lines. */
  ip?: string;
}

/**
 * `[name =] NAME(ARGS) [= RESULT] [<duration>]`, or half of a call strace split:
 * unfinished: the line ended with `<unfinished ...>` (args are the head);
 * resumed: the line began with `<... NAME resumed>` (args are the tail).
 * joinSplitCalls() merges such pairs; a merged call has neither flag and
 * records the head's location in loc and the tail's in resumedLoc.
 */
export interface CallStmt extends StmtBase {
  kind: 'call';
  /** Scenario extension: `p = mmap(...)` binds the call's result to p. */
  bind?: { name: string; loc: Loc };
  /** Syscall number printed by strace -n (`[   9] mmap(...)`). */
  nr?: number;
  name: string;
  nameLoc: Loc;
  args: Expr[];
  /** After ` = `. Optional in scenario files; when present there it is an expectation. */
  result?: Result;
  duration?: Duration;
  unfinished?: boolean;
  /** The unfinished head's argument text ended with `, ` (more arguments follow on the resumed line). */
  trailingComma?: boolean;
  resumed?: boolean;
  /** strace detached from the process mid-call (`<detached ...>`); no result follows. */
  detached?: boolean;
  /** Set by joinSplitCalls(): where the `<... NAME resumed>` half was. */
  resumedLoc?: Loc;
  /** Set by joinSplitCalls(): the resumed half's timestamp (timestamp is the head's). */
  resumedTimestamp?: Timestamp;
}

/** `--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_ACCERR, si_addr=0x700000000000} ---`. */
export interface SignalStmt extends StmtBase {
  kind: 'signal';
  signal: string;
  info?: StructExpr;
}

/** `--- stopped by SIGSTOP ---`. */
export interface StoppedStmt extends StmtBase {
  kind: 'stopped';
  signal: string;
}

/** `+++ exited with 0 +++`. */
export interface ExitedStmt extends StmtBase {
  kind: 'exited';
  status: number;
}

/** `+++ killed by SIGSEGV (core dumped) +++`, `+++ killed by SIGKILL +++`. */
export interface KilledStmt extends StmtBase {
  kind: 'killed';
  signal: string;
  coreDumped: boolean;
}

/** `+++ superseded by execve in pid 1234 +++`: a non-leader thread exec'd and took over this pid. */
export interface SupersededStmt extends StmtBase {
  kind: 'superseded';
  byPid: number;
}

/** Any other `--- ... ---` or `+++ ... +++` line; text is what lies between the markers. */
export interface EventStmt extends StmtBase {
  kind: 'event';
  text: string;
}

/** strace's own diagnostic lines (stderr form): `strace: Process 3068 attached`. text excludes `strace: `. */
export interface MessageStmt extends StmtBase {
  kind: 'message';
  text: string;
}

/** A stack frame line from strace -k: ` > /lib/libc.so.6(mmap64+0x26) [0xf8d26]`. text excludes ` > `. */
export interface FrameStmt extends StmtBase {
  kind: 'frame';
  text: string;
}

export type Statement =
  | CallStmt
  | SignalStmt
  | StoppedStmt
  | ExitedStmt
  | KilledStmt
  | SupersededStmt
  | EventStmt
  | MessageStmt
  | FrameStmt;

/**
 * The pseudo-call names the scenario language gives meaning to (the parser
 * treats them as ordinary calls; listed here so the grammar's documentation
 * and the interpreter agree).
 */
export const MEMORY_ACCESS_CALLS = [
  'load8', 'load16', 'load32', 'load64', 'load',
  'store8', 'store16', 'store32', 'store64', 'store',
] as const;
export const CHECKPOINT_CALLS = ['maps', 'smaps', 'smaps_rollup', 'meminfo', 'vmstat', 'diskstats'] as const;

// ---------------------------------------------------------------------------
// Printing back to strace syntax (canonical spacing: no -a padding)

/** Binding strength, loosest first; used to decide where parentheses are needed. */
function precedence(e: Expr): number {
  switch (e.kind) {
    case 'inout':
      return 0;
    case 'flags':
      return 1;
    case 'shift':
      return 2;
    case 'binop':
      return e.op === '+' || e.op === '-' ? 3 : 4;
    case 'unary':
      return 5;
    case 'int':
      return e.value < 0n ? 5 : 6;
    default:
      return 6;
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/**
 * Quotes bytes the way strace does by default: printable ASCII as is, `\t\n\v\f\r`,
 * `\"` and `\\` escaped, anything else in octal with as few digits as possible
 * unless the next byte is a digit (strace's string_quote()).
 */
export function quoteBytes(bytes: Uint8Array): string {
  let out = '"';
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    switch (c) {
      case 0x22: out += '\\"'; continue;
      case 0x5c: out += '\\\\'; continue;
      case 0x09: out += '\\t'; continue;
      case 0x0a: out += '\\n'; continue;
      case 0x0b: out += '\\v'; continue;
      case 0x0c: out += '\\f'; continue;
      case 0x0d: out += '\\r'; continue;
    }
    if (c >= 0x20 && c < 0x7f) {
      out += String.fromCharCode(c);
      continue;
    }
    const next = bytes[i + 1];
    const nextIsDigit = next !== undefined && next >= 0x30 && next <= 0x39;
    out += '\\' + (nextIsDigit ? c.toString(8).padStart(3, '0') : c.toString(8));
  }
  return out + '"';
}

/** True when every ']' in s closes an earlier '['. */
function bracketsBalance(s: string): boolean {
  let depth = 0;
  for (const ch of s) {
    if (ch === '[') depth++;
    else if (ch === ']' && --depth < 0) return false;
  }
  return depth === 0;
}

/** Escapes a descriptor path for `fd<path>`: backslash, angle brackets, control characters, and square brackets unless they pair up (as in `TCP:[...]`). */
function quotePath(path: string): string {
  const escapeBrackets = !bracketsBalance(path);
  let out = '';
  for (const ch of path) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\' || ch === '<' || ch === '>' || (escapeBrackets && (ch === '[' || ch === ']'))) out += '\\x' + hex2(c);
    else if (c < 0x20 || c === 0x7f) out += '\\x' + hex2(c);
    else out += ch;
  }
  return out;
}

function printInt(e: IntExpr): string {
  const neg = e.value < 0n;
  const mag = neg ? -e.value : e.value;
  let digits: string;
  if (e.radix === 16) digits = '0x' + mag.toString(16);
  else if (e.radix === 8) digits = mag === 0n ? '0' : '0' + mag.toString(8);
  else digits = mag.toString(10);
  return (neg ? '-' : '') + digits;
}

function wrap(child: Expr, minPrec: number): string {
  const s = printExpr(child);
  return precedence(child) < minPrec ? `(${s})` : s;
}

/** Prints an expression in strace's syntax (comments included). */
export function printExpr(e: Expr): string {
  const body = printExprBody(e);
  return e.comment !== undefined && e.kind !== 'comment' ? `${body} /* ${e.comment} */` : body;
}

function printExprBody(e: Expr): string {
  switch (e.kind) {
    case 'int':
      return printInt(e);
    case 'null':
      return 'NULL';
    case 'str':
      return quoteBytes(e.bytes) + (e.truncated ? '...' : '');
    case 'ident':
      return e.name;
    case 'flags':
      return e.parts.map((p) => wrap(p, 2)).join('|');
    case 'shift':
      return `${wrap(e.left, 2)}<<${wrap(e.right, 3)}`;
    case 'binop': {
      const p = precedence(e);
      const op = e.op === '+' || e.op === '-' ? ` ${e.op} ` : e.op;
      return `${wrap(e.left, p)}${op}${wrap(e.right, p + 1)}`;
    }
    case 'unary':
      return e.op + wrap(e.operand, 5);
    case 'array': {
      const sep = e.separator === ' ' ? ' ' : ', ';
      return (e.complement ? '~' : '') + '[' + e.elements.map(printExpr).join(sep) + ']';
    }
    case 'struct':
      return '{' + e.fields.map((f) => (f.name !== undefined ? `${f.name}=` : '') + printExpr(f.value)).join(', ') + '}';
    case 'ellipsis':
      return '...';
    case 'fdpath':
      return `${printExprBody(e.fd)}<${quotePath(e.path)}>${e.deleted ? '(deleted)' : ''}`;
    case 'func':
      return `${e.name}(${e.args.map(printExpr).join(', ')})`;
    case 'inout':
      return e.input === null ? `=> ${printExpr(e.output)}` : `${wrap(e.input, 1)} => ${wrap(e.output, 1)}`;
    case 'named':
      return `${e.name}=${printExpr(e.value)}`;
    case 'comment':
      return `/* ${e.text} */`;
    case 'resuming':
      return `<... resuming interrupted ${e.name} ...>`;
    case 'raw':
      return e.text;
  }
}

/** Prints a result as it follows ` = ` (a heredoc prints its `<<EOF`, body and terminator). */
export function printResult(r: Result): string {
  switch (r.kind) {
    case 'value':
      return printExpr(r.value) + (r.annotation !== undefined ? ` (${r.annotation})` : '');
    case 'errno':
      return (
        `${r.value === null ? '?' : r.value.toString()} ${r.errno}` +
        (r.message !== undefined ? ` (${r.message})` : '') +
        (r.annotation !== undefined ? ` (${r.annotation})` : '')
      );
    case 'unknown':
      return r.unavailable ? '? <unavailable>' : '?';
    case 'signal':
      return r.signal + (r.info ? ' ' + printExpr(r.info) : '');
    case 'heredoc':
      return `<<${r.terminator}\n${r.text}${r.terminator}`;
    case 'raw':
      return r.text;
  }
}

function printPrefix(s: Statement): string {
  let out = '';
  if (s.pid !== undefined) out += s.comm !== undefined ? `${s.pid}<${s.comm}>  ` : `${s.pid}  `;
  if (s.timestamp) out += s.timestamp.text + ' ';
  if (s.kind === 'call' && s.nr !== undefined) out += `[${String(s.nr).padStart(4)}] `;
  if (s.ip !== undefined) out += `[${s.ip}] `;
  return out;
}

/**
 * Prints a statement as one line of `strace -f -o` output (pid as `N  `, no
 * column padding before ` = `). A joined call prints as a single whole call.
 */
export function printStatement(s: Statement): string {
  const prefix = printPrefix(s);
  switch (s.kind) {
    case 'call': {
      let out = prefix + (s.bind ? `${s.bind.name} = ` : '');
      const args = s.args.map(printExpr).join(', ');
      if (s.resumed) {
        const first = s.args[0];
        const glue = first && first.kind === 'inout' && first.input === null ? ' ' : '';
        out += `<... ${s.name} resumed>${glue}${args}`;
      } else {
        out += `${s.name}(${args}`;
      }
      if (s.detached) return out + (s.trailingComma ? ', ' : '') + ' <detached ...>';
      if (s.unfinished) return out + (s.trailingComma ? ', ' : '') + ' <unfinished ...>';
      out += ')';
      if (s.result) out += ' = ' + printResult(s.result);
      if (s.duration) out += ` <${s.duration.text}>`;
      return out;
    }
    case 'signal':
      return `${prefix}--- ${s.signal}${s.info ? ' ' + printExpr(s.info) : ''} ---`;
    case 'stopped':
      return `${prefix}--- stopped by ${s.signal} ---`;
    case 'exited':
      return `${prefix}+++ exited with ${s.status} +++`;
    case 'killed':
      return `${prefix}+++ killed by ${s.signal}${s.coreDumped ? ' (core dumped)' : ''} +++`;
    case 'superseded':
      return `${prefix}+++ superseded by execve in pid ${s.byPid} +++`;
    case 'event':
      return `${prefix}${s.text}`;
    case 'message':
      return `strace: ${s.text}`;
    case 'frame':
      return `${prefix} > ${s.text}`;
  }
}

// ---------------------------------------------------------------------------
// A compact structural dump, for golden files and debugging

function dumpStr(bytes: Uint8Array): string {
  return quoteBytes(bytes);
}

/** An S-expression showing the tree's structure, e.g. `(flags PROT_READ PROT_WRITE)`. */
export function dumpExpr(e: Expr): string {
  const c = e.comment !== undefined && e.kind !== 'comment' ? ` /*${e.comment}*/` : '';
  return dumpExprBody(e) + c;
}

function dumpExprBody(e: Expr): string {
  switch (e.kind) {
    case 'int':
      return printInt(e);
    case 'null':
      return 'NULL';
    case 'str':
      return dumpStr(e.bytes) + (e.truncated ? '...' : '');
    case 'ident':
      return e.name;
    case 'flags':
      return `(| ${e.parts.map(dumpExpr).join(' ')})`;
    case 'shift':
      return `(<< ${dumpExpr(e.left)} ${dumpExpr(e.right)})`;
    case 'binop':
      return `(${e.op} ${dumpExpr(e.left)} ${dumpExpr(e.right)})`;
    case 'unary':
      return `(${e.op} ${dumpExpr(e.operand)})`;
    case 'array':
      return `(${e.complement ? '~' : ''}array${e.separator === ' ' ? '/sp' : ''}${e.elements.map((x) => ' ' + dumpExpr(x)).join('')})`;
    case 'struct':
      return `(struct${e.fields.map((f) => ' ' + (f.name !== undefined ? `${f.name}=` : '') + dumpExpr(f.value)).join('')})`;
    case 'ellipsis':
      return '...';
    case 'fdpath':
      return `(fd ${dumpExprBody(e.fd)} ${JSON.stringify(e.path)}${e.deleted ? ' deleted' : ''})`;
    case 'func':
      return `(${e.name}${e.args.map((x) => ' ' + dumpExpr(x)).join('')})`;
    case 'inout':
      return `(=> ${e.input === null ? '_' : dumpExpr(e.input)} ${dumpExpr(e.output)})`;
    case 'named':
      return `${e.name}=${dumpExpr(e.value)}`;
    case 'comment':
      return `(comment ${JSON.stringify(e.text)})`;
    case 'resuming':
      return `(resuming ${e.name})`;
    case 'raw':
      return `(raw ${JSON.stringify(e.text)})`;
  }
}

export function dumpResult(r: Result): string {
  switch (r.kind) {
    case 'value':
      return `(value ${dumpExpr(r.value)}${r.annotation !== undefined ? ' ' + JSON.stringify(r.annotation) : ''})`;
    case 'errno':
      return `(errno ${r.value === null ? '?' : r.value.toString()} ${r.errno}${r.message !== undefined ? ' ' + JSON.stringify(r.message) : ''}${r.annotation !== undefined ? ' ' + JSON.stringify(r.annotation) : ''})`;
    case 'unknown':
      return r.unavailable ? '(? unavailable)' : '?';
    case 'signal':
      return `(signal ${r.signal}${r.info ? ' ' + dumpExpr(r.info) : ''})`;
    case 'heredoc':
      return `(heredoc ${r.terminator} ${JSON.stringify(r.text)})`;
    case 'raw':
      return `(raw ${JSON.stringify(r.text)})`;
  }
}

/** One line per statement: `L12 pid=3005 call mmap NULL 8192 ... = (value 0x7f...)`. */
export function dumpStatement(s: Statement): string {
  let out = `L${s.loc.line}`;
  if (s.kind === 'call' && s.resumedLoc) out += `+L${s.resumedLoc.line}`;
  if (s.pid !== undefined) out += ` pid=${s.pid}${s.comm !== undefined ? `<${s.comm}>` : ''}`;
  if (s.timestamp) out += ` t=${s.timestamp.text}`;
  if (s.ip !== undefined) out += ` ip=${s.ip}`;
  switch (s.kind) {
    case 'call': {
      if (s.nr !== undefined) out += ` nr=${s.nr}`;
      if (s.bind) out += ` ${s.bind.name}=`;
      out += ` ${s.resumed ? 'resumed' : 'call'} ${s.name}`;
      for (const a of s.args) out += ' ' + dumpExpr(a);
      if (s.trailingComma) out += ' ,';
      if (s.unfinished) out += ' <unfinished>';
      if (s.detached) out += ' <detached>';
      if (s.result) out += ' = ' + dumpResult(s.result);
      if (s.duration) out += ` <${s.duration.text}>`;
      return out;
    }
    case 'signal':
      return `${out} signal ${s.signal}${s.info ? ' ' + dumpExpr(s.info) : ''}`;
    case 'stopped':
      return `${out} stopped ${s.signal}`;
    case 'exited':
      return `${out} exited ${s.status}`;
    case 'killed':
      return `${out} killed ${s.signal}${s.coreDumped ? ' core' : ''}`;
    case 'superseded':
      return `${out} superseded ${s.byPid}`;
    case 'event':
    case 'message':
    case 'frame':
      return `${out} ${s.kind} ${JSON.stringify(s.text)}`;
  }
}
