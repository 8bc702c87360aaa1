import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import type { Expr, Loc, Statement } from './ast.js';
import { dumpExpr, dumpStatement, printExpr, printResult, printStatement, quoteBytes } from './ast.js';
import { lex, scanPrefix, type Token } from './lexer.js';
import { parseScenario, parseStraceLine } from './parser.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/strace/', import.meta.url));
const fixtureNames = readdirSync(FIXTURES).filter((f) => f.endsWith('.log')).sort();

const L: Loc = { line: 1, column: 1, endColumn: 1 };

/** Removes every location, so trees parsed from different text can be compared. */
function strip(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(strip);
  if (x instanceof Uint8Array) return [...x];
  if (x && typeof x === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) {
      if (k === 'loc' || k === 'nameLoc' || k === 'pidLoc' || v === undefined) continue;
      out[k] = strip(v);
    }
    return out;
  }
  return x;
}

function parseExprText(text: string): Expr {
  const r = parseStraceLine(`f(${text})`);
  if (r.diagnostics.length > 0 || r.statement?.kind !== 'call') throw new Error(`does not parse: f(${text})`);
  expect(r.statement.args).toHaveLength(1);
  return r.statement.args[0]!;
}

describe('quoteBytes', () => {
  it('quotes the way strace does', () => {
    const b = (xs: number[]) => quoteBytes(Uint8Array.from(xs));
    expect(b([0x7f, 69, 76, 70, 2, 1, 1, 3, 0, 0])).toBe('"\\177ELF\\2\\1\\1\\3\\0\\0"');
    expect(b([0x10, 0x74])).toBe('"\\20t"');
    expect(b([0x01, 0x32])).toBe('"\\0012"');
    expect(b([...'a"b\\c\t\n\r\v\f'].map((c) => c.charCodeAt(0)))).toBe('"a\\"b\\\\c\\t\\n\\r\\v\\f"');
    expect(b([0xff])).toBe('"\\377"');
  });
});

describe('printExpr', () => {
  it('prints strace syntax', () => {
    for (const text of [
      'NULL', '-1', '0x7f46929d0000', '0644', '"abc"...', 'PROT_READ|PROT_WRITE', '21<<MAP_HUGE_SHIFT', '[1, 0]', '[]',
      '~[RTMIN RT_1]', '{st_mode=S_IFREG|0644, st_size=34547, ...}', '3</etc/ld.so.cache>', '4</memfd:x>(deleted)',
      'makedev(0xfe, 0)', '{flags=CLONE_VM} => {parent_tid=[2886]}', '0x7ffd /* 35 vars */', 'p + 4096', '8192*1024',
      '<... resuming interrupted clock_nanosleep ...>', '[{fd=3, events=POLLIN}, ...]', '/* 35 vars */',
    ]) {
      expect(printExpr(parseExprText(text))).toBe(text);
    }
  });

  it('adds the parentheses precedence needs, and only those', () => {
    const n = (v: bigint) => ({ kind: 'int', value: v, radix: 10, loc: L }) as const;
    const id = (name: string) => ({ kind: 'ident', name, loc: L }) as const;
    const sum: Expr = { kind: 'binop', op: '+', left: id('p'), right: n(1n), loc: L };
    expect(printExpr({ kind: 'binop', op: '*', left: sum, right: n(2n), loc: L })).toBe('(p + 1)*2');
    expect(printExpr({ kind: 'binop', op: '-', left: id('a'), right: { kind: 'binop', op: '-', left: id('b'), right: id('c'), loc: L }, loc: L })).toBe('a - (b - c)');
    expect(printExpr({ kind: 'binop', op: '-', left: { kind: 'binop', op: '-', left: id('a'), right: id('b'), loc: L }, right: id('c'), loc: L })).toBe('a - b - c');
    expect(printExpr({ kind: 'flags', parts: [id('A'), { kind: 'shift', left: n(21n), right: id('S'), loc: L }], loc: L })).toBe('A|21<<S');
    expect(printExpr({ kind: 'shift', left: { kind: 'flags', parts: [id('A'), id('B')], loc: L }, right: n(1n), loc: L })).toBe('(A|B)<<1');
    expect(printExpr({ kind: 'unary', op: '-', operand: sum, loc: L })).toBe('-(p + 1)');
  });
});

describe('printStatement and printResult', () => {
  it('prints each statement form as strace -o would, without padding', () => {
    for (const line of [
      '2674  mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f77421e8000',
      'munmap(0x7f7741efa000, 0) = -1 EINVAL (Invalid argument)',
      '2997  rt_sigprocmask(SIG_SETMASK, [],  <unfinished ...>',
      '2998  rseq(0x7f19af8a3fe0, 0x20, 0, 0x53053053 <unfinished ...>',
      '2997  <... rt_sigprocmask resumed>NULL, 8) = 0',
      '2997  <... clone3 resumed> => {parent_tid=[2999]}, 88) = 2999',
      '12:09:55.990674 openat(AT_FDCWD</tmp/mmsim-st>, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3</etc/ld.so.cache> <0.000037>',
      '3022  read(3, 0x7ffcbdffe9b7, 1) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)',
      '3022  poll([{fd=3, events=POLLIN}], 1, 0) = 1 ([{fd=3, revents=POLLIN}])',
      '3010  --- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_ACCERR, si_addr=0x700000000001} ---',
      '3206  --- stopped by SIGSTOP ---',
      '3006  +++ exited with 3 +++',
      '3213  +++ killed by SIGSEGV (core dumped) +++',
      '+++ superseded by execve in pid 12 +++',
      'strace: Process 3237 attached',
      '3505  0.000279 [  12] brk(NULL) = 0x55970d859000',
      'p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)',
      'load8(p + 4096) = SIGBUS {si_code=BUS_ADRERR}',
      'read(0,  <detached ...>',
      'exit_group(0) = ? <unavailable>',
      '20557<sh>  getppid() = 20554<strace>',
      'mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 3, 0) = -1 ENOMEM (Cannot allocate memory) (INJECTED) <0.000002>',
    ]) {
      const s = parseStraceLine(line).statement!;
      expect(printStatement(s)).toBe(line);
    }
  });

  it('prints a heredoc with its body and terminator', () => {
    const r = parseScenario('maps() = <<EOF\na\nb\nEOF\n');
    const s = r.statements[0]!;
    expect(s.kind === 'call' && printResult(s.result!)).toBe('<<EOF\na\nb\nEOF');
  });
});

/** A token's identity for comparing two renderings of a line, ignoring spacing and string escape style. */
function tokenKey(t: Token): string {
  switch (t.kind) {
    case 'string':
      return `s:${[...t.bytes].join(',')}${t.truncated ? '...' : ''}`;
    case 'int':
      return `i:${t.value}:${t.radix}`;
    case 'fdpath':
      return `p:${t.path}:${t.deleted}`;
    default:
      return `${t.kind}:${t.text}`;
  }
}

function bodyTokens(line: string): string[] {
  const p = scanPrefix(line);
  return lex(line, p.body).tokens.map(tokenKey);
}

describe('round trips through real strace output', () => {
  for (const name of fixtureNames) {
    it(`${name}: printing a parsed line gives back its tokens, and parsing that gives back the tree`, () => {
      const text = readFileSync(FIXTURES + name, 'utf8');
      const lines = text.split('\n');
      const { statements, diagnostics } = parseScenario(text, name);
      expect(diagnostics).toEqual([]);
      let compared = 0;
      for (const s of statements) {
        const printed = printStatement(s);
        const again = parseStraceLine(printed);
        expect(again.diagnostics, printed).toEqual([]);
        expect(strip(again.statement), printed).toEqual(strip(s));
        if (s.loc.endLine === undefined && s.kind !== 'message') {
          const source = lines[s.loc.line - 1]!;
          expect(bodyTokens(printed), source).toEqual(bodyTokens(source));
          const p = scanPrefix(source);
          expect(s.pid).toBe(p.pid?.value);
          expect(s.timestamp?.text).toBe(p.timestamp?.value.text);
          compared++;
        }
      }
      expect(compared).toBeGreaterThan(statements.length / 2);
    });
  }
});

// ---------------------------------------------------------------------------
// Property: any tree in the printer's canonical form prints to text that
// parses back to the same tree.

const identName = fc
  .stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/)
  .filter((s) => s !== 'NULL' && !/^SIG[A-Z0-9]/.test(s));
const commentText = fc.stringMatching(/^[A-Za-z0-9?_ .:-]{0,12}$/).map((s) => s.trim());
/** Zero is written `0`, which reads as decimal. */
const canonicalRadix = <T extends { value: bigint; radix: 8 | 10 | 16 }>(i: T): T => (i.value === 0n && i.radix === 8 ? { ...i, radix: 10 } : i);
const intExpr = fc
  .record({
    kind: fc.constant('int' as const),
    value: fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
    radix: fc.constantFrom(8 as const, 10 as const, 16 as const),
    loc: fc.constant(L),
  })
  .map(canonicalRadix);
const natExpr = fc
  .record({
    kind: fc.constant('int' as const),
    value: fc.bigInt({ min: 0n, max: 2n ** 64n }),
    radix: fc.constantFrom(8 as const, 10 as const, 16 as const),
    loc: fc.constant(L),
  })
  .map(canonicalRadix);
const identExpr = fc.record({ kind: fc.constant('ident' as const), name: identName, loc: fc.constant(L) });

function withComment<T extends Expr>(arb: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.tuple(arb, fc.option(commentText, { nil: undefined })).map(([e, c]) => (c === undefined ? e : { ...e, comment: c }));
}

const { expr } = fc.letrec<{ expr: Expr; leaf: Expr }>((tie) => ({
  leaf: fc.oneof(
    withComment(intExpr),
    withComment(identExpr),
    fc.constant<Expr>({ kind: 'null', loc: L }),
    fc.record({ kind: fc.constant('str' as const), bytes: fc.uint8Array({ maxLength: 12 }), truncated: fc.boolean(), loc: fc.constant(L) }),
    fc.constant<Expr>({ kind: 'ellipsis', loc: L }),
    fc.record({ kind: fc.constant('comment' as const), text: commentText, loc: fc.constant(L) }),
    fc.record({ kind: fc.constant('resuming' as const), name: identName, loc: fc.constant(L) }),
    fc.record({
      kind: fc.constant('fdpath' as const),
      fd: fc.oneof(natExpr, identExpr),
      path: fc.stringMatching(/^[\x20-\x7e\u00e9\u4e2d]{0,16}$/),
      deleted: fc.boolean(),
      loc: fc.constant(L),
    }),
  ),
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc.record({ kind: fc.constant('flags' as const), parts: fc.array(tie('expr'), { minLength: 2, maxLength: 4 }), loc: fc.constant(L) }),
    fc.record({ kind: fc.constant('shift' as const), left: tie('expr'), right: tie('expr'), loc: fc.constant(L) }),
    fc.record({ kind: fc.constant('binop' as const), op: fc.constantFrom('+' as const, '-' as const, '*' as const, '/' as const), left: tie('expr'), right: tie('expr'), loc: fc.constant(L) }),
    fc.record({ kind: fc.constant('unary' as const), op: fc.constantFrom('-' as const, '~' as const), operand: tie('expr'), loc: fc.constant(L) })
      .filter((u) => !(u.operand.kind === 'array') && !(u.op === '-' && u.operand.kind === 'int' && u.operand.value >= 0n)),
    fc.record({ kind: fc.constant('array' as const), elements: fc.array(tie('expr'), { maxLength: 4 }), complement: fc.boolean(), separator: fc.constant(',' as const), loc: fc.constant(L) }),
    fc.record({ kind: fc.constant('array' as const), elements: fc.array(fc.oneof(natExpr, identExpr), { minLength: 2, maxLength: 4 }), complement: fc.boolean(), separator: fc.constant(' ' as const), loc: fc.constant(L) }),
    fc.record({
      kind: fc.constant('struct' as const),
      fields: fc.array(fc.record({ name: fc.option(identName, { nil: undefined }), value: tie('expr'), loc: fc.constant(L) }), { maxLength: 4 }),
      loc: fc.constant(L),
    }),
    fc.record({ kind: fc.constant('func' as const), name: identName, args: fc.array(tie('expr'), { maxLength: 3 }), loc: fc.constant(L) }),
    fc.record({ kind: fc.constant('inout' as const), input: tie('expr'), output: tie('expr'), loc: fc.constant(L) }),
  ),
}));

describe('printExpr and the parser agree', () => {
  it('parse(print(e)) == e for canonical trees', () => {
    fc.assert(
      fc.property(expr, (e) => {
        const text = printExpr(e);
        const back = parseExprText(text);
        expect(dumpExpr(back)).toBe(dumpExpr(e));
        expect(strip(back)).toEqual(strip(e));
      }),
      { numRuns: 1500 },
    );
  });

  it('dumpStatement shows structure', () => {
    const s = parseStraceLine('2674  p = mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000').statement as Statement;
    expect(dumpStatement(s)).toBe('L1 pid=2674 p= call mmap NULL 4096 (| PROT_READ PROT_WRITE) (| MAP_PRIVATE MAP_ANONYMOUS) -1 0 = (value 0x7f0000000000)');
  });
});
