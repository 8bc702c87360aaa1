import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommand } from './run.js';

function cli(argv: string[]): { code: number; out: string; err: string } {
  const out: string[] = [];
  const err: string[] = [];
  const code = runCommand(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const dir = mkdtempSync(join(tmpdir(), 'mmsim-run-'));
function file(name: string, lines: string[]): string {
  const p = join(dir, name);
  writeFileSync(p, lines.join('\n') + '\n');
  return p;
}

const good = file('good.strace', [
  '# a comment',
  'p = mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ff5000',
  'store8(p, 1)',
  'munmap(p, 0) = -1 EINVAL (Invalid argument)',
  'arch_prctl(ARCH_SET_FS, 0x7f0000000740) = 0',
]);

describe('mmsim run', () => {
  it('prints each step strace-style and exits 0 when all expectations hold', () => {
    const r = cli([good]);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('p = mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ff5000');
    expect(lines[1]).toBe('store8(p, 1)');
    expect(lines[2]).toBe('munmap(p, 0)                            = -1 EINVAL (Invalid argument)');
    expect(r.out).toContain('# arch_prctl is not modelled');
    expect(lines.at(-1)).toMatch(/: 4 steps, 2 expectations checked, all hold; not modelled: arch_prctl x1$/);
    expect(r.err).toBe('');
  });

  it('marks a failed expectation with file:line:column and exits 1', () => {
    const f = file('bad.strace', ['p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)', 'munmap(p, 4096) = -1 EINVAL']);
    const r = cli([f]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`!! FAIL ${f}:2:19: expected -1 EINVAL, the model returned 0`);
    expect(r.out).toMatch(/1 step FAILED/);
  });

  it('prints kernel events under each step with --trace', () => {
    const r = cli([good, '--trace']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/store8\(p, 1\)\n {5}\| page fault at 0x7ffff7ff5000 \(write\)\n/);
    expect(r.out).toContain('do_anonymous_page');
  });

  it('prints one JSON record per line with --json, bigints as strings', () => {
    const r = cli([good, '--json', '--trace']);
    expect(r.code).toBe(0);
    const recs = r.out.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(recs).toHaveLength(5);
    expect(recs[0]).toMatchObject({ line: 2, kind: 'call', name: 'mmap', result: '0x7ffff7ff5000', ok: true, checks: 1 });
    expect((recs[1]!['events'] as unknown[]).length).toBeGreaterThan(0);
    expect(recs[4]).toMatchObject({ summary: { failed: 0, expectations: 2, notModelled: { arch_prctl: 1 } } });
  });

  it('prints pid prefixes when the file has them', () => {
    const f = file('pids.strace', ['7  brk(NULL)', '7  fork() = 8', '8  brk(NULL)']);
    const r = cli([f]);
    const steps = r.out.split('\n').filter((l) => !l.startsWith('   #'));
    expect(steps.slice(0, 3)).toEqual([
      '7  brk(NULL)'.padEnd(39) + ' = 0x555555559000',
      '7  fork()'.padEnd(39) + ' = 8',
      '8  brk(NULL)'.padEnd(39) + ' = 0x555555559000',
    ]);
    // strace's -a 40: ' = ' starts at index 39, the pid prefix included.
    expect(steps[0]!.indexOf(' = ')).toBe(39);
  });

  it('exits 2 on malformed input, printing diagnostics with a caret and running nothing', () => {
    const f = file('malformed.strace', ['brk(NULL)', 'store(p, "abc']);
    const r = cli([f]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain(`${f}:2:10: error: unterminated string [E_UNTERMINATED_STRING]\nstore(p, "abc\n         ^~~~`);
    expect(r.err).toContain('nothing was run');
  });

  it('exits 2 with a clear message for an unreadable file, a bad option or a bad --arch', () => {
    const missing = cli([join(dir, 'nope.strace')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/^mmsim run: cannot read '.*nope\.strace' \(ENOENT\)/);
    expect(missing.err).not.toMatch(/\n\s+at /);
    const bad = cli([good, '--frobnicate']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^mmsim run: Unknown option '--frobnicate'/);
    const arch = cli([good, '--arch', 'sparc']);
    expect(arch.code).toBe(2);
    expect(arch.err).toBe("mmsim run: unknown --arch 'sparc' (expected x86_64, arm64-4k, arm64-16k)");
    expect(cli([]).code).toBe(2);
    expect(cli([good, good]).code).toBe(2);
  });

  it('--arch changes the machine', () => {
    const r = cli([good, '--arch', 'arm64-16k']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/expected 0x7ffff7ff5000, the model returned 0x/);
  });

  it('--help shows usage and examples', () => {
    const r = cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Usage: mmsim run FILE [--arch PROFILE] [--trace] [--json]');
    expect(r.out).toContain('Examples:');
  });
});

describe('mmsim run on pathological input', () => {
  it('runs a line of 3000 chained operators as not modelled, without overflowing the stack', () => {
    const terms = Array(3000).fill('1').join('+');
    const f = file('chain.strace', [`foo(${terms}) = 0`]);
    const r = cli([f]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/not modelled: foo x1/);
  });

  it('reports an unexpected internal error as one line and exit status 2, never throwing', () => {
    let code = -1;
    const err: string[] = [];
    expect(() => {
      code = runCommand([good], {
        out: () => {
          throw new RangeError('Maximum call stack size exceeded');
        },
        err: (s) => err.push(s),
      });
    }).not.toThrow();
    expect(code).toBe(2);
    expect(err).toEqual(['mmsim run: internal error (a bug in mmsim, please report it with the input): RangeError: Maximum call stack size exceeded']);
  });
});

describe('mmsim run on garbage', () => {
  it('prints the first 100 diagnostics of 30,000 bad lines, escapes control bytes, and runs nothing', () => {
    const lines = Array.from({ length: 30000 }, (_, i) => `@@ garbage \x1b[31m line ${i}`);
    const f = file('garbage.strace', lines);
    const r = cli([f]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.match(/: error: /g)).toHaveLength(100);
    expect(r.err).toContain('... and 29900 more diagnostics (29900 errors) not shown');
    expect(r.err).toContain('@@ garbage \\x1b[31m line 0\n^');
    expect(r.err).not.toContain('\x1b');
  });
});

describe('mmsim run: the check before running', () => {
  it('exits 2 for a mistake the parser accepted as raw text, with a caret, running nothing', () => {
    const f = file('check.strace', ['p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)', 'load8(p +) = 0', 'load8(p, 3, 4)']);
    const r = cli([f]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain(`${f}:2:10: error: the address 'p +' does not parse: expected a value, found ')' [E_BAD_ARGUMENT]\nload8(p +) = 0\n         ^`);
    expect(r.err).toContain(`${f}:3:10: error: load8() takes at most 1 argument (address); 2 too many [E_ARGUMENT_COUNT]\nload8(p, 3, 4)\n         ^~~~`);
    expect(r.err).toContain('nothing was run');
  });

  it('with --json prints one JSON object holding the diagnostics', () => {
    const f = file('check-json.strace', ['munmap(q, 4096)', 'store(p, "abc']);
    const parse = cli([f, '--json']);
    expect(parse.code).toBe(2);
    const obj = JSON.parse(parse.out) as { malformed: boolean; diagnostics: { line: number; code: string }[] };
    expect(obj.malformed).toBe(true);
    expect(obj.diagnostics.map((d) => [d.line, d.code])).toEqual([[2, 'E_UNTERMINATED_STRING']]);
    const g = file('check-json2.strace', ['munmap(q, 4096)']);
    const checked = cli([g, '--json']);
    expect(checked.code).toBe(2);
    expect(JSON.parse(checked.out)).toMatchObject({ malformed: true, file: g, diagnostics: [{ line: 1, column: 8, code: 'E_UNKNOWN_NAME' }] });
  });

  it('still runs a real log whose unmodelled calls hold anything, counting them', () => {
    const f = file('log.strace', ['1234  ioctl(1, TCGETS, {c_iflag=ICRNL|IXON, ...}) = 0', '1234  foo(PROT_NOPE, x +, 0x10000000000000000) = 0', '1234  brk(NULL) = 0x555555559000']);
    const r = cli([f]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/not modelled: foo x1, ioctl x1/);
  });
});

describe('mmsim run output', () => {
  it('escapes control characters a log line carries into the printed step', () => {
    const f = file('ctl.strace', ['foo(a\x07b, "x") = 0 (\x1bweird)']);
    const r = cli([f]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('foo(a\\x07b, "x")');
    expect(r.out).toContain('(\\x1bweird)');
    expect(r.out).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  });
});
