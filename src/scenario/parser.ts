/**
 * The scenario parser: strace output lines and mmsim's extensions (see
 * docs/grammar.md) into the syntax tree of ast.ts.
 *
 * Errors are values. parseScenario() never throws and always terminates; a
 * line it cannot parse yields a Diagnostic and no statement, and parsing goes
 * on with the next line so that every error in a file is reported at once.
 *
 * Real strace logs must never be rejected: inside an argument list, anything
 * the grammar does not model but whose brackets balance becomes a RawExpr
 * (set ParseOptions.rawFallback to false to have it reported instead, which
 * gives better messages for hand-written scenarios).
 */

import type {
  ArrayExpr,
  CallStmt,
  ErrnoResult,
  Expr,
  Field,
  FuncExpr,
  HeredocResult,
  IdentExpr,
  IntExpr,
  Loc,
  RawReason,
  Result,
  Statement,
  StructExpr,
} from './ast.js';
import type { Diagnostic, DiagnosticCode } from './diagnostics.js';
import { lex, scanPrefix, type Token } from './lexer.js';

export interface ParseOptions {
  /**
   * Accept balanced text the grammar does not model as RawExpr / RawResult
   * (default true, as strace logs need). With false it is an error.
   */
  rawFallback?: boolean;
}

export interface ParseResult {
  file: string;
  statements: Statement[];
  diagnostics: Diagnostic[];
}

// ---------------------------------------------------------------------------
// Logical lines: usually one source line, but strace -f writing to stderr can
// print its own "strace: Process N attached" in the middle of a call, and the
// call then continues on the next line:
//
//   clone(child_stack=NULL, flags=...|SIGCHLDstrace: Process 3237 attached
//   , child_tidptr=0x7f9d82a9ba10) = 3237
//
// Such a call is parsed from the two pieces joined; positions map back to
// the right line and column through the pieces.

interface Piece {
  /** 1-based source line. */
  line: number;
  /** Offset in LogicalLine.text where this piece starts. */
  textStart: number;
  /** 0-based column in the source line of the piece's first character. */
  col0: number;
  /** The whole source line. */
  source: string;
}

class LogicalLine {
  constructor(
    public text: string,
    public readonly pieces: Piece[],
  ) {}

  private pieceAt(offset: number, isEnd: boolean): Piece {
    let found = this.pieces[0]!;
    for (const p of this.pieces) {
      if (isEnd ? p.textStart < offset : p.textStart <= offset) found = p;
    }
    return found;
  }

  pos(offset: number, isEnd = false): { line: number; column: number; source: string } {
    const p = this.pieceAt(offset, isEnd);
    return { line: p.line, column: offset - p.textStart + p.col0 + 1, source: p.source };
  }

  loc(start: number, end: number): Loc {
    const a = this.pos(start);
    const b = this.pos(Math.max(end, start), true);
    const loc: Loc = { line: a.line, column: a.column, endColumn: b.column };
    if (b.line !== a.line) loc.endLine = b.line;
    else if (b.column < a.column) loc.endColumn = a.column;
    return loc;
  }
}

/** A parse failure inside one line; caught per line (or by the raw fallback). */
class Fail {
  constructor(
    readonly code: DiagnosticCode,
    readonly message: string,
    readonly start: number,
    readonly end: number,
  ) {}
}

const MAX_DEPTH = 200;
/**
 * Binary operators (`+ - * / << |` joining parts) allowed in one line. A
 * left-associative chain nests one level per operator, and everything that
 * walks the tree (printing, evaluation) recurses, so a line of thousands of
 * `1+1+...` would exhaust the stack; strace never prints more than a few.
 */
export const MAX_OPERATORS = 500;
const RE_ERRNO = /^E[A-Z0-9_]+$/;
const RE_SIGNAL = /^SIG[A-Z0-9][A-Z0-9_]*$/;
const OPENERS: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
const CLOSERS = new Set([')', ']', '}']);

/** What may end an element: ',' and these closers (and, in call arguments, `<unfinished ...>`). */
interface ElementContext {
  closers: readonly string[];
  markers?: boolean;
  /** Arrays: another element may follow after whitespace (`[RTMIN RT_1]`, `[0 1 2 3]`). */
  spaceSeparated?: boolean;
}

const CALL_ARGS: ElementContext = { closers: [')'], markers: true };
const FUNC_ARGS: ElementContext = { closers: [')'] };
const ARRAY_ELEMENTS: ElementContext = { closers: [']'], spaceSeparated: true };
const STRUCT_FIELDS: ElementContext = { closers: ['}'] };

function describe(t: Token | undefined): string {
  if (!t) return 'the end of the line';
  return `'${t.text.length > 30 ? t.text.slice(0, 27) + '...' : t.text}'`;
}

function isPunct(t: Token | undefined, text: string): boolean {
  return t !== undefined && t.kind === 'punct' && t.text === text;
}

/** Parses the tokens of one logical line's body. */
class LineParser {
  private pos = 0;
  private limit: number;
  private lastEnd: number;
  private depth = 0;
  private operators = 0;

  constructor(
    private readonly ll: LogicalLine,
    private readonly toks: Token[],
    private readonly rawFallback: boolean,
    bodyStart: number,
  ) {
    this.limit = toks.length;
    this.lastEnd = bodyStart;
  }

  // -- token access ---------------------------------------------------------

  private peek(k = 0): Token | undefined {
    const i = this.pos + k;
    return i < this.limit ? this.toks[i] : undefined;
  }

  private next(): Token {
    const t = this.toks[this.pos];
    if (t === undefined || this.pos >= this.limit) throw this.failAt('E_EXPECTED_EXPR', 'unexpected end of the line');
    this.pos++;
    this.lastEnd = t.end;
    return t;
  }

  private atEnd(): boolean {
    return this.pos >= this.limit;
  }

  private failAt(code: DiagnosticCode, message: string, t: Token | undefined = this.peek()): Fail {
    if (t) return new Fail(code, message, t.start, t.end);
    const end = this.ll.text.length;
    return new Fail(code, message, Math.max(0, end), end + 1);
  }

  private expectPunct(text: string, opener?: Token): Token {
    const t = this.peek();
    if (isPunct(t, text)) return this.next();
    if (!t && opener) {
      throw new Fail('E_UNCLOSED', `'${opener.text}' is not closed by '${text}' before the end of the line`, opener.start, opener.end);
    }
    throw this.failAt('E_UNEXPECTED_TOKEN', `expected '${text}', found ${describe(t)}`);
  }

  private locFrom(start: number): Loc {
    return this.ll.loc(start, this.lastEnd);
  }

  private textBetween(start: number, end: number): string {
    return this.ll.text.slice(start, end);
  }

  // -- statements -----------------------------------------------------------

  /** `[name =] NAME(ARGS) ...` or `<... NAME resumed>ARGS) ...`. A heredoc result comes back with empty text; the caller reads its body lines. */
  parseCall(): CallStmt {
    const first = this.peek();
    if (!first) throw this.failAt('E_EXPECTED_CALL', 'expected a call');
    const start = first.start;
    let bind: CallStmt['bind'];
    if (first.kind === 'ident' && isPunct(this.peek(1), '=')) {
      this.next();
      this.next();
      bind = { name: first.text, loc: this.ll.loc(first.start, first.end) };
    }
    const nameTok = this.peek();
    let call: CallStmt;
    if (nameTok && nameTok.kind === 'resumed' && !bind) {
      this.next();
      call = { kind: 'call', loc: this.ll.loc(start, start), name: nameTok.name, nameLoc: this.ll.loc(nameTok.start, nameTok.end), args: [], resumed: true };
      if (isPunct(this.peek(), ',')) this.next();
      this.parseArgList(call);
      this.parseCallEnd(call, nameTok);
    } else if (nameTok && (nameTok.kind === 'ident' || (nameTok.kind === 'punct' && /^\?\?+$/.test(nameTok.text))) && isPunct(this.peek(1), '(')) {
      this.next();
      const open = this.next();
      call = { kind: 'call', loc: this.ll.loc(start, start), name: nameTok.text, nameLoc: this.ll.loc(nameTok.start, nameTok.end), args: [] };
      if (bind) call.bind = bind;
      this.parseArgList(call);
      this.parseCallEnd(call, open);
    } else if (bind) {
      throw this.failAt('E_EXPECTED_CALL', `expected a call after '${bind.name} =', found ${describe(nameTok)}`);
    } else {
      throw this.failAt('E_EXPECTED_CALL', `expected a call such as 'mmap(...)', found ${describe(nameTok)}`);
    }
    call.loc = this.locFrom(start);
    return call;
  }

  private parseArgList(call: CallStmt): void {
    let guard = this.limit + 1;
    while (guard-- > 0) {
      const t = this.peek();
      if (!t || isPunct(t, ')') || t.kind === 'unfinished' || t.kind === 'detached') return;
      call.args.push(this.parseArgument());
      const sep = this.peek();
      if (isPunct(sep, ',')) {
        this.next();
        const after = this.peek();
        if (after && (after.kind === 'unfinished' || after.kind === 'detached')) {
          call.trailingComma = true;
          return;
        }
        if (!after || isPunct(after, ')')) throw this.failAt('E_EXPECTED_EXPR', `expected an argument after ',', found ${describe(after)}`);
        continue;
      }
      if (!sep || isPunct(sep, ')') || sep.kind === 'unfinished' || sep.kind === 'detached') return;
      throw this.failAt('E_UNEXPECTED_TOKEN', `expected ',' or ')' after an argument, found ${describe(sep)}`);
    }
  }

  /** A call argument: an element, or strace's `name=value` (clone's `child_stack=NULL`). */
  private parseArgument(): Expr {
    const t = this.peek();
    if (t && t.kind === 'ident' && isPunct(this.peek(1), '=')) {
      this.next();
      this.next();
      const value = this.parseElement(CALL_ARGS);
      return { kind: 'named', name: t.text, value, loc: this.locFrom(t.start) };
    }
    return this.parseElement(CALL_ARGS);
  }

  /** After the arguments: `)`, `= RESULT`, `<duration>`, or an unfinished/detached marker. open is the '(' (or the resumed token). */
  private parseCallEnd(call: CallStmt, open: Token): void {
    const t = this.peek();
    if (t && t.kind === 'detached') {
      this.next();
      call.detached = true;
      this.expectEnd();
      return;
    }
    if (t && t.kind === 'unfinished') {
      this.next();
      if (!isPunct(this.peek(), ')')) {
        call.unfinished = true;
        this.expectEnd();
        return;
      }
      // `<unfinished ...>) = ?`: the process went away inside the call.
    }
    if (!this.peek()) {
      throw new Fail('E_UNCLOSED', `the arguments of '${call.name}' are not closed by ')' before the end of the line`, open.start, open.end);
    }
    this.expectPunct(')');
    if (isPunct(this.peek(), '=')) {
      this.next();
      call.result = this.parseResult();
    }
    const d = this.peek();
    if (d && d.kind === 'duration' && call.result?.kind !== 'heredoc') {
      this.next();
      call.duration = { loc: this.ll.loc(d.start, d.end), text: d.text.slice(1, -1), nanos: d.nanos };
    }
    if (!this.atEnd()) {
      const x = this.peek()!;
      throw new Fail(
        'E_TRAILING_TEXT',
        call.result ? `unexpected ${describe(x)} after the result` : `expected ' = ' and a result after the call, found ${describe(x)}`,
        x.start,
        this.toks[this.limit - 1]!.end,
      );
    }
  }

  private expectEnd(): void {
    const t = this.peek();
    if (t) throw new Fail('E_TRAILING_TEXT', `unexpected ${describe(t)}`, t.start, this.toks[this.limit - 1]!.end);
  }

  // -- results --------------------------------------------------------------

  private parseResult(): Result {
    const first = this.peek();
    if (!first || first.kind === 'duration') throw this.failAt('E_EXPECTED_EXPR', "expected a result after '='");
    // Heredoc: `= <<EOF` (a scenario extension), alone on the rest of the line.
    if (isPunct(first, '<<')) {
      const word = this.peek(1);
      if (word && (word.kind === 'ident' || word.kind === 'int') && !word.spaceBefore && this.pos + 2 === this.limit) {
        this.next();
        this.next();
        const r: HeredocResult = { kind: 'heredoc', loc: this.ll.loc(first.start, word.end), terminator: word.text, text: '', endLine: 0 };
        return r;
      }
    }
    // A trailing -T duration is not part of the result.
    const savedLimit = this.limit;
    const lastTok = this.toks[this.limit - 1];
    if (lastTok && lastTok.kind === 'duration' && this.limit - 1 > this.pos) this.limit--;
    const startPos = this.pos;
    try {
      const r = this.parseResultStructured();
      if (!this.atEnd()) {
        const x = this.peek()!;
        throw new Fail('E_TRAILING_TEXT', `unexpected ${describe(x)} after the result`, x.start, this.toks[this.limit - 1]!.end);
      }
      return r;
    } catch (f) {
      if (!(f instanceof Fail) || !this.rawFallback) throw f;
      this.pos = startPos;
      const from = this.toks[startPos]!;
      const to = this.toks[this.limit - 1]!;
      this.pos = this.limit;
      this.lastEnd = to.end;
      return { kind: 'raw', loc: this.ll.loc(from.start, to.end), text: this.textBetween(from.start, to.end), reason: this.reason(f) };
    } finally {
      this.limit = savedLimit;
    }
  }

  private parseResultStructured(): Result {
    const t = this.peek()!;
    const start = t.start;
    if (isPunct(t, '?')) {
      this.next();
      const e = this.peek();
      if (e && e.kind === 'ident' && RE_ERRNO.test(e.text)) {
        this.next();
        return this.finishErrno(start, null, e.text);
      }
      if (e && e.kind === 'unavailable') {
        this.next();
        return { kind: 'unknown', loc: this.locFrom(start), unavailable: true };
      }
      return { kind: 'unknown', loc: this.locFrom(start), unavailable: false };
    }
    if (t.kind === 'ident' && RE_SIGNAL.test(t.text) && (this.peek(1) === undefined || isPunct(this.peek(1), '{'))) {
      this.next();
      let info: StructExpr | undefined;
      if (isPunct(this.peek(), '{')) info = this.parseStruct();
      return { kind: 'signal', loc: this.locFrom(start), signal: t.text, ...(info ? { info } : {}) };
    }
    const value = this.parseInOut();
    const e = this.peek();
    if (value.kind === 'int' && e && e.kind === 'ident' && RE_ERRNO.test(e.text)) {
      this.next();
      return this.finishErrno(start, value.value, e.text);
    }
    const annotation = this.parseParenText();
    return { kind: 'value', loc: this.locFrom(start), value, ...(annotation !== undefined ? { annotation } : {}) };
  }

  /** After `-1 ENOMEM`: the message `(Cannot allocate memory)`, then with strace -e inject a `(INJECTED)`. */
  private finishErrno(start: number, value: bigint | null, errno: string): Result {
    const r: ErrnoResult = { kind: 'errno', loc: this.ll.loc(start, start), value, errno };
    const message = this.parseParenText();
    if (message !== undefined) r.message = message;
    const annotation = this.parseParenText();
    if (annotation !== undefined) r.annotation = annotation;
    r.loc = this.locFrom(start);
    return r;
  }

  /** strace's trailing `(text)` after a result; returns the text inside, or undefined when there is none. */
  private parseParenText(): string | undefined {
    const open = this.peek();
    if (!isPunct(open, '(')) return undefined;
    this.next();
    let depth = 0;
    let guard = this.limit + 1;
    while (guard-- > 0) {
      const t = this.peek();
      if (!t) throw new Fail('E_UNCLOSED', "'(' is not closed by ')' before the end of the line", open!.start, open!.end);
      if (depth === 0 && isPunct(t, ')')) {
        this.next();
        return this.textBetween(open!.end, t.start).trim();
      }
      if (t.kind === 'punct' && t.text in OPENERS) depth++;
      else if (t.kind === 'punct' && CLOSERS.has(t.text)) depth--;
      this.next();
    }
    throw this.failAt('E_INTERNAL', 'runaway parenthetical');
  }

  // -- expressions ----------------------------------------------------------

  private isTerminator(ctx: ElementContext, t: Token | undefined): boolean {
    if (!t) return true;
    if (ctx.markers && (t.kind === 'unfinished' || t.kind === 'detached')) return true;
    return t.kind === 'punct' && (t.text === ',' || ctx.closers.includes(t.text));
  }

  private startsElement(t: Token | undefined): boolean {
    if (!t) return false;
    switch (t.kind) {
      case 'int':
      case 'string':
      case 'ident':
      case 'resuming':
      case 'comment':
        return true;
      case 'punct':
        return t.text === '[' || t.text === '{' || t.text === '~' || t.text === '...';
      default:
        return false;
    }
  }

  /**
   * One element of a list. What does not parse, or does not end where an
   * element must, becomes a RawExpr reaching to the next ',' or closer at
   * bracket depth 0 (unless raw fallback is off).
   */
  private parseElement(ctx: ElementContext): Expr {
    const startPos = this.pos;
    const startEnd = this.lastEnd;
    try {
      const e = this.parseInOut();
      const t = this.peek();
      if (this.isTerminator(ctx, t)) return e;
      if (ctx.spaceSeparated && t!.spaceBefore && this.startsElement(t)) return e;
      const expected = ctx.closers.map((c) => `'${c}'`).join(' or ');
      throw this.failAt('E_UNEXPECTED_TOKEN', `expected ',' or ${expected}, found ${describe(t)}`);
    } catch (f) {
      if (!(f instanceof Fail) || !this.rawFallback) throw f;
      this.pos = startPos;
      this.lastEnd = startEnd;
      return this.parseRaw(ctx, f);
    }
  }

  private parseRaw(ctx: ElementContext, why: Fail): Expr {
    const first = this.pos;
    let depth = 0;
    let guard = this.limit + 1;
    while (guard-- > 0) {
      const t = this.peek();
      if (!t) break;
      if (depth === 0 && (this.isTerminator(ctx, t) || t.kind === 'unfinished' || t.kind === 'detached')) break;
      if (t.kind === 'punct' && CLOSERS.has(t.text)) {
        if (depth === 0) break;
        depth--;
      } else if (t.kind === 'punct' && t.text in OPENERS) depth++;
      this.next();
    }
    if (this.pos === first) throw why;
    const a = this.toks[first]!;
    return { kind: 'raw', text: this.textBetween(a.start, this.lastEnd), loc: this.ll.loc(a.start, this.lastEnd), reason: this.reason(why) };
  }

  private reason(f: Fail): RawReason {
    return { message: f.message, loc: this.ll.loc(f.start, Math.max(f.end, f.start + 1)) };
  }

  /** Counts one binary operator (the token at hand); see MAX_OPERATORS. */
  private countOperator(): void {
    if (++this.operators > MAX_OPERATORS) {
      throw this.failAt('E_TOO_LONG', `more than ${MAX_OPERATORS} operators in one line; write the value as a single number`);
    }
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) throw this.failAt('E_UNEXPECTED_TOKEN', `nesting deeper than ${MAX_DEPTH} levels`);
  }

  private parseInOut(): Expr {
    const t = this.peek();
    if (isPunct(t, '=>')) {
      // Only in a resumed tail: the input was printed on the unfinished line.
      this.next();
      const output = this.parseFlags();
      return { kind: 'inout', input: null, output, loc: this.locFrom(t!.start) };
    }
    const start = t?.start ?? this.lastEnd;
    const input = this.parseFlags();
    if (isPunct(this.peek(), '=>')) {
      this.next();
      const output = this.parseFlags();
      return { kind: 'inout', input, output, loc: this.locFrom(start) };
    }
    return input;
  }

  private parseFlags(): Expr {
    const start = this.peek()?.start ?? this.lastEnd;
    const first = this.parseShift();
    if (!isPunct(this.peek(), '|')) return first;
    const parts = [first];
    let guard = this.limit + 1;
    while (isPunct(this.peek(), '|') && guard-- > 0) {
      this.next();
      parts.push(this.parseShift());
    }
    return { kind: 'flags', parts, loc: this.locFrom(start) };
  }

  private parseShift(): Expr {
    const start = this.peek()?.start ?? this.lastEnd;
    let left = this.parseAdditive();
    let guard = this.limit + 1;
    while (isPunct(this.peek(), '<<') && guard-- > 0) {
      this.countOperator();
      this.next();
      const right = this.parseAdditive();
      left = { kind: 'shift', left, right, loc: this.locFrom(start) };
    }
    return left;
  }

  private parseAdditive(): Expr {
    const start = this.peek()?.start ?? this.lastEnd;
    let left = this.parseMultiplicative();
    let guard = this.limit + 1;
    while ((isPunct(this.peek(), '+') || isPunct(this.peek(), '-')) && guard-- > 0) {
      this.countOperator();
      const op = this.next().text as '+' | '-';
      const right = this.parseMultiplicative();
      left = { kind: 'binop', op, left, right, loc: this.locFrom(start) };
    }
    return left;
  }

  private parseMultiplicative(): Expr {
    const start = this.peek()?.start ?? this.lastEnd;
    let left = this.parseUnary();
    let guard = this.limit + 1;
    while ((isPunct(this.peek(), '*') || isPunct(this.peek(), '/')) && guard-- > 0) {
      this.countOperator();
      const op = this.next().text as '*' | '/';
      const right = this.parseUnary();
      left = { kind: 'binop', op, left, right, loc: this.locFrom(start) };
    }
    return left;
  }

  private parseUnary(): Expr {
    const t = this.peek();
    this.enter();
    try {
      if (isPunct(t, '-')) {
        this.next();
        const operand = this.parseUnary();
        if (operand.kind === 'int' && operand.value >= 0n) {
          return { ...operand, value: -operand.value, loc: this.locFrom(t!.start) };
        }
        return { kind: 'unary', op: '-', operand, loc: this.locFrom(t!.start) };
      }
      if (isPunct(t, '~')) {
        this.next();
        if (isPunct(this.peek(), '[')) {
          const arr = this.parseArray();
          arr.complement = true;
          arr.loc = this.locFrom(t!.start);
          return this.parseTrailingComments(arr);
        }
        const operand = this.parseUnary();
        return { kind: 'unary', op: '~', operand, loc: this.locFrom(t!.start) };
      }
      return this.parseTrailingComments(this.parsePrimary());
    } finally {
      this.depth--;
    }
  }

  /** `0x7ffc5d2d0a48 /* 35 vars *\/`: comments after a value annotate it. */
  private parseTrailingComments<E extends Expr>(e: E): E {
    let guard = this.limit + 1;
    while (guard-- > 0) {
      const t = this.peek();
      if (!t || t.kind !== 'comment') return e;
      this.next();
      e.comment = e.comment === undefined ? t.body : `${e.comment} ${t.body}`;
    }
    return e;
  }

  private parsePrimary(): Expr {
    const t = this.peek();
    if (!t) throw this.failAt('E_EXPECTED_EXPR', 'expected a value before the end of the line');
    const loc = (): Loc => this.locFrom(t.start);
    switch (t.kind) {
      case 'int': {
        this.next();
        const int: IntExpr = { kind: 'int', value: t.value, radix: t.radix, loc: loc() };
        return this.parseFdPath(int, t.start);
      }
      case 'string':
        this.next();
        return { kind: 'str', bytes: t.bytes, truncated: t.truncated, loc: loc() };
      case 'ident': {
        this.next();
        if (t.text === 'NULL') return { kind: 'null', loc: loc() };
        const after = this.peek();
        if (isPunct(after, '(') && !after!.spaceBefore) return this.parseFunc(t);
        const id: IdentExpr = { kind: 'ident', name: t.text, loc: loc() };
        return this.parseFdPath(id, t.start);
      }
      case 'comment':
        this.next();
        return { kind: 'comment', text: t.body, loc: loc() };
      case 'resuming':
        this.next();
        return { kind: 'resuming', name: t.name, loc: loc() };
      case 'punct':
        switch (t.text) {
          case '[':
            return this.parseArray();
          case '{':
            return this.parseStruct();
          case '...':
            this.next();
            return { kind: 'ellipsis', loc: loc() };
          case '(': {
            const open = this.next();
            this.enter();
            try {
              const inner = this.parseInOut();
              this.expectPunct(')', open);
              return inner;
            } finally {
              this.depth--;
            }
          }
        }
        break;
      default:
        break;
    }
    throw this.failAt('E_EXPECTED_EXPR', `expected a value, found ${describe(t)}`);
  }

  private parseFdPath(fd: IntExpr | IdentExpr, start: number): Expr {
    const p = this.peek();
    if (!p || p.kind !== 'fdpath' || p.spaceBefore) return fd;
    this.next();
    return { kind: 'fdpath', fd, path: p.path, deleted: p.deleted, loc: this.locFrom(start) };
  }

  private parseFunc(name: Token): FuncExpr {
    const open = this.next();
    const args: Expr[] = [];
    this.enter();
    try {
      let guard = this.limit + 1;
      while (!isPunct(this.peek(), ')') && guard-- > 0) {
        if (!this.peek()) break;
        args.push(this.parseElement(FUNC_ARGS));
        if (isPunct(this.peek(), ',')) this.next();
        else break;
      }
      this.expectPunct(')', open);
    } finally {
      this.depth--;
    }
    return { kind: 'func', name: name.text, args, loc: this.locFrom(name.start) };
  }

  private parseArray(): ArrayExpr {
    const open = this.next();
    const arr: ArrayExpr = { kind: 'array', elements: [], complement: false, separator: ',', loc: this.locFrom(open.start) };
    this.enter();
    try {
      let guard = this.limit + 1;
      while (guard-- > 0) {
        const t = this.peek();
        if (!t) break;
        if (isPunct(t, ']')) break;
        arr.elements.push(this.parseElement(ARRAY_ELEMENTS));
        const sep = this.peek();
        if (isPunct(sep, ',')) {
          this.next();
          continue;
        }
        if (sep && sep.spaceBefore && this.startsElement(sep)) {
          arr.separator = ' ';
          continue;
        }
        break;
      }
      this.expectPunct(']', open);
    } finally {
      this.depth--;
    }
    arr.loc = this.locFrom(open.start);
    return arr;
  }

  private parseStruct(): StructExpr {
    const open = this.next();
    const fields: Field[] = [];
    this.enter();
    try {
      let guard = this.limit + 1;
      while (guard-- > 0) {
        const t = this.peek();
        if (!t || isPunct(t, '}')) break;
        if (t.kind === 'ident' && isPunct(this.peek(1), '=')) {
          this.next();
          this.next();
          const value = this.parseElement(STRUCT_FIELDS);
          fields.push({ name: t.text, value, loc: this.locFrom(t.start) });
        } else {
          const value = this.parseElement(STRUCT_FIELDS);
          fields.push({ value, loc: value.loc });
        }
        if (isPunct(this.peek(), ',')) this.next();
        else break;
      }
      this.expectPunct('}', open);
    } finally {
      this.depth--;
    }
    return { kind: 'struct', fields, loc: this.locFrom(open.start) };
  }

  /** `--- SIGSEGV {...} ---` inside: a signal name and an optional siginfo struct, nothing else. */
  parseSignalBody(): { signal: string; info?: StructExpr } {
    const t = this.peek();
    if (!t || t.kind !== 'ident' || !RE_SIGNAL.test(t.text)) throw this.failAt('E_EXPECTED_EXPR', `expected a signal name, found ${describe(t)}`);
    this.next();
    let info: StructExpr | undefined;
    if (isPunct(this.peek(), '{')) info = this.parseStruct();
    this.expectEnd();
    return info ? { signal: t.text, info } : { signal: t.text };
  }
}

// ---------------------------------------------------------------------------
// Lines

const RE_EMBEDDED_MESSAGE = /strace: (Process \d+ [a-z][a-z ]*|\[ Process PID=\d+ runs in .* mode\. \])$/;
const RE_SIGNAL_LINE = /^---[ \t]+(.*?)[ \t]+---[ \t]*$/;
const RE_EXIT_LINE = /^\+\+\+[ \t]+(.*?)[ \t]+\+\+\+[ \t]*$/;

/** What every statement may carry from its line's prefix. */
type Base = Pick<CallStmt, 'pid' | 'pidLoc' | 'comm' | 'timestamp' | 'ip'>;

interface LineOutcome {
  statements: Statement[];
  /** Set when the call's result is `<<WORD`: the caller reads the body lines. */
  heredoc?: HeredocResult;
}

class Parser {
  readonly statements: Statement[] = [];
  readonly diagnostics: Diagnostic[] = [];

  constructor(
    private readonly file: string,
    private readonly rawFallback: boolean,
  ) {}

  report(ll: LogicalLine, code: DiagnosticCode, message: string, start: number, end: number): void {
    const a = ll.pos(start);
    const b = ll.pos(Math.max(end, start + 1), true);
    const d: Diagnostic = { file: this.file, line: a.line, column: a.column, severity: 'error', code, message, sourceLine: a.source };
    d.endColumn = b.line === a.line ? Math.max(b.column, a.column + 1) : a.source.length + 1;
    this.diagnostics.push(d);
  }

  reportAt(line: number, column: number, endColumn: number, source: string, code: DiagnosticCode, message: string): void {
    this.diagnostics.push({ file: this.file, line, column, endColumn, severity: 'error', code, message, sourceLine: source });
  }

  /** Parses one logical line; on failure reports and returns no statements. */
  parseLogical(ll: LogicalLine): LineOutcome {
    try {
      return this.parseLogicalUnguarded(ll);
    } catch (e) {
      if (e instanceof Fail) {
        this.report(ll, e.code, e.message, e.start, e.end);
      } else {
        const msg = e instanceof Error ? e.message : String(e);
        this.report(ll, 'E_INTERNAL', `internal parser error: ${msg}`, 0, ll.text.length);
      }
      return { statements: [] };
    }
  }

  private parseLogicalUnguarded(ll: LogicalLine): LineOutcome {
    const text = ll.text;
    const prefix = scanPrefix(text);
    const body = prefix.body;
    const rest = text.slice(body);
    const base: Base = {};
    if (prefix.pid) {
      base.pid = prefix.pid.value;
      base.pidLoc = ll.loc(prefix.pid.start, prefix.pid.end);
    }
    if (prefix.comm !== undefined) base.comm = prefix.comm;
    if (prefix.ip) base.ip = prefix.ip.value;
    if (prefix.timestamp) {
      const ts = prefix.timestamp;
      base.timestamp = { loc: ll.loc(ts.start, ts.end), text: ts.value.text, form: ts.value.form, nanos: ts.value.nanos };
    }
    const end = text.trimEnd().length;
    const bodyLoc = ll.loc(body, Math.max(body, end));

    if (rest.startsWith('strace: ')) {
      return { statements: [{ kind: 'message', ...base, loc: bodyLoc, text: text.slice(body + 8, end) }] };
    }
    if (/^>[ \t]/.test(rest)) {
      return { statements: [{ kind: 'frame', ...base, loc: bodyLoc, text: text.slice(body + 2, end).trim() }] };
    }
    if (rest.startsWith('---')) return { statements: [this.parseSignalLine(ll, body, end, base, bodyLoc)] };
    if (rest.startsWith('+++')) return { statements: [this.parseExitLine(ll, body, end, base, bodyLoc)] };

    const { tokens, errors } = lex(text, body, text.length);
    if (errors.length > 0) {
      for (const e of errors) this.report(ll, e.code, e.message, e.start, e.end);
      return { statements: [] };
    }
    if (tokens.length === 0) throw new Fail('E_EXPECTED_CALL', 'expected a call after the line prefix', body, body + 1);
    const lp = new LineParser(ll, tokens, this.rawFallback, body);
    const call = lp.parseCall();
    Object.assign(call, base);
    if (prefix.nr) call.nr = prefix.nr.value;
    const outcome: LineOutcome = { statements: [call] };
    if (call.result?.kind === 'heredoc') outcome.heredoc = call.result;
    return outcome;
  }

  private parseSignalLine(ll: LogicalLine, body: number, end: number, base: Base, loc: Loc): Statement {
    const m = RE_SIGNAL_LINE.exec(ll.text.slice(body, end));
    if (!m) throw new Fail('E_UNEXPECTED_TOKEN', "a signal line is written '--- SIGNAME {...} ---'", body, end);
    const inner = m[1]!;
    const innerStart = body + m[0].indexOf(inner, 3);
    const stopped = /^stopped by (SIG[A-Z0-9_]+)$/.exec(inner);
    if (stopped) return { kind: 'stopped', ...base, loc, signal: stopped[1]! };
    const { tokens, errors } = lex(ll.text, innerStart, innerStart + inner.length);
    try {
      if (errors.length > 0) {
        const e = errors[0]!;
        throw new Fail(e.code, e.message, e.start, e.end);
      }
      const lp = new LineParser(ll, tokens, this.rawFallback, innerStart);
      const sig = lp.parseSignalBody();
      return { kind: 'signal', ...base, loc, ...sig };
    } catch (f) {
      if (!(f instanceof Fail) || !this.rawFallback) throw f;
      return { kind: 'event', ...base, loc, text: inner };
    }
  }

  private parseExitLine(ll: LogicalLine, body: number, end: number, base: Base, loc: Loc): Statement {
    const m = RE_EXIT_LINE.exec(ll.text.slice(body, end));
    if (!m) throw new Fail('E_UNEXPECTED_TOKEN', "an exit line is written '+++ exited with N +++'", body, end);
    const inner = m[1]!;
    let x: RegExpExecArray | null;
    if ((x = /^exited with (-?\d+)$/.exec(inner))) return { kind: 'exited', ...base, loc, status: Number(x[1]) };
    if ((x = /^killed by (SIG[A-Z0-9_]+)( \(core dumped\))?$/.exec(inner)))
      return { kind: 'killed', ...base, loc, signal: x[1]!, coreDumped: x[2] !== undefined };
    if ((x = /^superseded by execve in pid (\d+)$/.exec(inner))) return { kind: 'superseded', ...base, loc, byPid: Number(x[1]) };
    if (!this.rawFallback) throw new Fail('E_UNEXPECTED_TOKEN', `unknown exit line '+++ ${inner} +++'`, body, end);
    return { kind: 'event', ...base, loc, text: inner };
  }
}

function splitLines(text: string): string[] {
  return text.split(/\r?\n/);
}

/**
 * Parses a scenario file or strace log. Blank lines and lines starting with
 * `#` are skipped. Never throws; see ParseResult.diagnostics.
 */
export function parseScenario(text: string, file = '<input>', options: ParseOptions = {}): ParseResult {
  const parser = new Parser(file, options.rawFallback ?? true);
  const lines = splitLines(String(text));
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      i++;
      continue;
    }
    // Gather a logical line: a call strace split around its own message.
    const ll = new LogicalLine(line, [{ line: i + 1, textStart: 0, col0: 0, source: line }]);
    const messages: Statement[] = [];
    let used = 1;
    for (let guard = 0; guard < lines.length; guard++) {
      const m = RE_EMBEDDED_MESSAGE.exec(ll.text);
      if (!m || i + used >= lines.length) break;
      const msgStart = m.index;
      const partial = ll.text.slice(0, msgStart);
      if (partial.trim() === '') break;
      const at = ll.pos(msgStart);
      const atEnd = ll.pos(ll.text.length, true);
      messages.push({
        kind: 'message',
        text: m[1]!,
        loc: { line: at.line, column: at.column, endColumn: atEnd.column },
      });
      const nextLine = lines[i + used]!;
      ll.text = partial + nextLine;
      ll.pieces.push({ line: i + used + 1, textStart: partial.length, col0: 0, source: nextLine });
      used++;
    }
    const outcome = parser.parseLogical(ll);
    i += used;
    if (outcome.heredoc) {
      const h = outcome.heredoc;
      const body: string[] = [];
      let closed = false;
      while (i < lines.length) {
        const l = lines[i]!;
        i++;
        if (l.trim() === h.terminator) {
          closed = true;
          h.endLine = i;
          break;
        }
        body.push(l);
      }
      if (!closed) {
        parser.reportAt(h.loc.line, h.loc.column, h.loc.endColumn, ll.pieces[0]!.source, 'E_UNTERMINATED_HEREDOC', `no line '${h.terminator}' ends this heredoc`);
        outcome.statements = [];
      } else {
        h.text = body.map((l) => l + '\n').join('');
      }
    }
    parser.statements.push(...outcome.statements, ...messages);
  }
  return { file, statements: parser.statements, diagnostics: parser.diagnostics };
}

/**
 * Parses a single line of strace output (or of a scenario, without heredocs).
 * line is the 1-based line number used in locations and diagnostics.
 */
export function parseStraceLine(
  text: string,
  options: ParseOptions & { file?: string; line?: number } = {},
): { statement?: Statement; diagnostics: Diagnostic[] } {
  const file = options.file ?? '<input>';
  const parser = new Parser(file, options.rawFallback ?? true);
  const source = String(text).replace(/\r?\n$/, '');
  const lineNo = options.line ?? 1;
  if (source.trim() === '' || source.trim().startsWith('#')) return { diagnostics: [] };
  const ll = new LogicalLine(source, [{ line: lineNo, textStart: 0, col0: 0, source }]);
  const outcome = parser.parseLogical(ll);
  if (outcome.heredoc) {
    const h = outcome.heredoc;
    parser.reportAt(h.loc.line, h.loc.column, h.loc.endColumn, source, 'E_UNTERMINATED_HEREDOC', 'a heredoc needs the lines after it; use parseScenario()');
    return { diagnostics: parser.diagnostics };
  }
  const statement = outcome.statements[0];
  return statement ? { statement, diagnostics: parser.diagnostics } : { diagnostics: parser.diagnostics };
}

// ---------------------------------------------------------------------------
// Joining calls strace split across threads

export interface JoinOptions {
  /** Where the joined call goes: at the resumed line (the call's completion, the default) or at the unfinished line (its start). */
  at?: 'resumed' | 'unfinished';
  /** For warnings. */
  file?: string;
}

/** Appends a resumed tail's arguments to a head's; a leading `=> X` completes the head's last argument. */
function joinArgs(head: readonly Expr[], tail: readonly Expr[]): Expr[] {
  const first = tail[0];
  const last = head[head.length - 1];
  if (first && first.kind === 'inout' && first.input === null && last) {
    const loc: Loc = { line: last.loc.line, column: last.loc.column, endColumn: first.loc.endColumn };
    if (first.loc.line !== last.loc.line) loc.endLine = first.loc.endLine ?? first.loc.line;
    return [...head.slice(0, -1), { ...first, input: last, loc }, ...tail.slice(1)];
  }
  return [...head, ...tail];
}

/**
 * Joins each `NAME(... <unfinished ...>` line with its later `<... NAME
 * resumed>...` line into one call, matching by pid and call name. strace drops
 * the `[pid N]` prefix while only one process is traced, so a half without a
 * pid matches the most recent pending half of the same name whatever its pid.
 *
 * The joined call keeps the head's loc and timestamp and records the tail's
 * in resumedLoc and resumedTimestamp; its args are the head's and the tail's
 * together, its result and duration the tail's. Halves that find no partner
 * stay in place, flagged as before, with a warning.
 */
export function joinSplitCalls(
  statements: readonly Statement[],
  options: JoinOptions = {},
): { statements: Statement[]; diagnostics: Diagnostic[] } {
  const file = options.file ?? '<input>';
  const atResumed = (options.at ?? 'resumed') === 'resumed';
  const out: (Statement | null)[] = [];
  const diagnostics: Diagnostic[] = [];
  /** Pending heads: index into out. */
  const pending: number[] = [];

  const warn = (s: CallStmt, code: DiagnosticCode, message: string): void => {
    diagnostics.push({ file, line: s.loc.line, column: s.loc.column, endColumn: s.loc.endLine ? s.loc.column + 1 : s.loc.endColumn, severity: 'warning', code, message });
  };

  for (const s of statements) {
    if (s.kind !== 'call' || (!s.unfinished && !s.resumed)) {
      out.push(s);
      continue;
    }
    if (s.resumed) {
      let match = -1;
      for (let k = pending.length - 1; k >= 0 && match < 0; k--) {
        const h = out[pending[k]!] as CallStmt;
        if (h.name === s.name && h.pid === s.pid) match = k;
      }
      for (let k = pending.length - 1; k >= 0 && match < 0; k--) {
        const h = out[pending[k]!] as CallStmt;
        if (h.name === s.name && (h.pid === undefined || s.pid === undefined)) match = k;
      }
      if (match < 0) {
        warn(s, 'W_UNMATCHED_RESUMED', `no earlier unfinished '${s.name}' call for this '<... ${s.name} resumed>'`);
        out.push(s);
        continue;
      }
      const idx = pending[match]!;
      pending.splice(match, 1);
      const head = out[idx] as CallStmt;
      const joined: CallStmt = { ...head, args: joinArgs(head.args, s.args), resumedLoc: s.loc };
      delete joined.unfinished;
      delete joined.trailingComma;
      if (joined.pid === undefined && s.pid !== undefined) {
        joined.pid = s.pid;
        if (s.pidLoc) joined.pidLoc = s.pidLoc;
        if (s.comm !== undefined) joined.comm = s.comm;
      }
      if (s.timestamp) joined.resumedTimestamp = s.timestamp;
      if (s.result) joined.result = s.result;
      if (s.duration) joined.duration = s.duration;
      if (s.unfinished) joined.unfinished = true;
      if (s.detached) joined.detached = true;
      if (atResumed) {
        out[idx] = null;
        out.push(joined);
      } else {
        out[idx] = joined;
      }
      continue;
    }
    // A head. A still-pending head with the same pid and name was never resumed.
    for (let k = pending.length - 1; k >= 0; k--) {
      const h = out[pending[k]!] as CallStmt;
      if (h.name === s.name && h.pid === s.pid && s.pid !== undefined) {
        warn(h, 'W_UNMATCHED_UNFINISHED', `this unfinished '${h.name}' call is never resumed`);
        pending.splice(k, 1);
      }
    }
    pending.push(out.length);
    out.push(s);
  }
  for (const idx of pending) {
    const h = out[idx] as CallStmt;
    warn(h, 'W_UNMATCHED_UNFINISHED', `this unfinished '${h.name}' call is never resumed`);
  }
  return { statements: out.filter((s): s is Statement => s !== null), diagnostics };
}
