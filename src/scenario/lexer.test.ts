import { describe, it, expect } from 'vitest';
import { decodeUtf8, lex, scanPrefix, secondsToNanos, type Token } from './lexer.js';

function kinds(src: string): string[] {
  return lex(src).tokens.map((t) => `${t.kind}:${t.text}`);
}

function only(src: string): Token {
  const r = lex(src);
  expect(r.errors).toEqual([]);
  expect(r.tokens).toHaveLength(1);
  return r.tokens[0]!;
}

function bytesOf(src: string): number[] {
  const t = only(src);
  if (t.kind !== 'string') throw new Error(`not a string: ${t.kind}`);
  return [...t.bytes];
}

describe('lex: numbers', () => {
  it('reads decimal, hex and octal integers with their radix', () => {
    expect(only('4096')).toMatchObject({ kind: 'int', value: 4096n, radix: 10 });
    expect(only('0')).toMatchObject({ kind: 'int', value: 0n, radix: 10 });
    expect(only('0x7f46929d0000')).toMatchObject({ kind: 'int', value: 0x7f46929d0000n, radix: 16 });
    expect(only('0644')).toMatchObject({ kind: 'int', value: 0o644n, radix: 8 });
    expect(only('18446744073709551615')).toMatchObject({ kind: 'int', value: 18446744073709551615n });
  });

  it('leaves the minus sign to the parser', () => {
    expect(kinds('-1')).toEqual(['punct:-', 'int:1']);
  });

  it('reads fractions as decimal tokens and odd digit runs as words', () => {
    expect(only('0.000013').kind).toBe('decimal');
    expect(only('089').kind).toBe('word');
    expect(only('0x').kind).toBe('word');
    expect(only('12abc').kind).toBe('word');
  });
});

describe('lex: strings', () => {
  it('decodes C escapes', () => {
    expect(bytesOf('"a\\tb\\n\\\\\\"\\r\\v\\f"')).toEqual([97, 9, 98, 10, 92, 34, 13, 11, 12]);
  });

  it('decodes octal escapes of one to three digits', () => {
    expect(bytesOf('"\\177ELF\\2\\1\\0"')).toEqual([0x7f, 69, 76, 70, 2, 1, 0]);
    expect(bytesOf('"\\20t"')).toEqual([0x10, 116]);
    expect(bytesOf('"\\0123"')).toEqual([0o12, 51]);
  });

  it('decodes \\x escapes', () => {
    expect(bytesOf('"\\x7f\\x45\\x4c\\x46"')).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    expect(bytesOf('"\\xa5"')).toEqual([0xa5]);
  });

  it('encodes non-ASCII characters as UTF-8', () => {
    expect(bytesOf('"é"')).toEqual([0xc3, 0xa9]);
  });

  it('marks strace truncation "..."...', () => {
    const t = only('"\\6\\0\\0\\0"...');
    expect(t).toMatchObject({ kind: 'string', truncated: true, text: '"\\6\\0\\0\\0"...' });
    expect(lex('"ab" ...').tokens.map((x) => x.kind)).toEqual(['string', 'punct']);
  });

  it('reports an unterminated string', () => {
    const r = lex('store(p, "abc');
    expect(r.errors).toEqual([expect.objectContaining({ code: 'E_UNTERMINATED_STRING', start: 9, end: 13 })]);
  });

  it('reports bad escapes', () => {
    expect(lex('"\\q"').errors[0]?.code).toBe('E_BAD_ESCAPE');
    expect(lex('"\\xg"').errors[0]?.code).toBe('E_BAD_ESCAPE');
  });
});

describe('lex: comments and punctuation', () => {
  it('reads comments with their trimmed body', () => {
    expect(only('/* 35 vars */')).toMatchObject({ kind: 'comment', body: '35 vars' });
    expect(lex('/* open').errors[0]?.code).toBe('E_UNTERMINATED_COMMENT');
  });

  it('reads multi-character operators', () => {
    expect(kinds('... => << == && -> ||')).toEqual([
      'punct:...', 'punct:=>', 'punct:<<', 'punct:==', 'punct:&&', 'punct:->', 'punct:||',
    ]);
  });

  it('reads runs of ? as one token', () => {
    expect(kinds('????(')).toEqual(['punct:????', 'punct:(']);
    expect(kinds('?')).toEqual(['punct:?']);
  });

  it('records whether whitespace precedes a token', () => {
    expect(lex('a b,c').tokens.map((t) => t.spaceBefore)).toEqual([true, true, false, false]);
  });

  it('keeps unknown characters as single punct tokens', () => {
    expect(kinds('@"x" é')).toEqual(['punct:@', 'string:"x"', 'punct:é']);
  });
});

describe('lex: angle-bracket forms', () => {
  it('reads strace markers', () => {
    expect(kinds('0 <unfinished ...>')).toEqual(['int:0', 'unfinished:<unfinished ...>']);
    expect(kinds('<detached ...>')).toEqual(['detached:<detached ...>']);
    expect(kinds('? <unavailable>')).toEqual(['punct:?', 'unavailable:<unavailable>']);
    expect(only('<... mmap resumed>')).toMatchObject({ kind: 'resumed', name: 'mmap' });
    expect(only('<... resuming interrupted clock_nanosleep ...>')).toMatchObject({ kind: 'resuming', name: 'clock_nanosleep' });
    expect(only('<0.000013>')).toMatchObject({ kind: 'duration', nanos: 13_000n });
  });

  it('reads descriptor paths right after a descriptor', () => {
    const t = lex('3</etc/ld.so.cache>').tokens;
    expect(t.map((x) => x.kind)).toEqual(['int', 'fdpath']);
    expect(t[1]).toMatchObject({ path: '/etc/ld.so.cache', deleted: false });
    expect(lex('AT_FDCWD</tmp>').tokens[1]).toMatchObject({ kind: 'fdpath', path: '/tmp' });
    expect(lex('4</memfd:x>(deleted)').tokens[1]).toMatchObject({ kind: 'fdpath', path: '/memfd:x', deleted: true });
  });

  it('handles -yy nesting, socket brackets and escapes in paths', () => {
    expect(lex('1</dev/null<char 1:3>>').tokens[1]).toMatchObject({ path: '/dev/null<char 1:3>' });
    expect(lex('3<TCP:[127.0.0.1:5->127.0.0.1:80]>').tokens[1]).toMatchObject({ path: 'TCP:[127.0.0.1:5->127.0.0.1:80]' });
    expect(lex('3</a\\x3eb>').tokens[1]).toMatchObject({ path: '/a>b' });
  });

  it('does not take a shift or a spaced < for a path', () => {
    expect(kinds('21<<MAP_HUGE_SHIFT')).toEqual(['int:21', 'punct:<<', 'ident:MAP_HUGE_SHIFT']);
    expect(kinds('3 </x>')).toEqual(['int:3', 'punct:<', 'punct:/', 'ident:x', 'punct:>']);
    expect(kinds('3<nope')).toEqual(['int:3', 'punct:<', 'ident:nope']);
  });
});

describe('lex: ranges', () => {
  it('tokenizes only the given range, with offsets into the whole string', () => {
    const r = lex('XXmmap(1)YY', 2, 9);
    expect(r.tokens.map((t) => [t.text, t.start, t.end])).toEqual([
      ['mmap', 2, 6],
      ['(', 6, 7],
      ['1', 7, 8],
      [')', 8, 9],
    ]);
  });

  it('does not let a string run past the range', () => {
    const r = lex('"abc"', 0, 3);
    expect(r.errors[0]?.code).toBe('E_UNTERMINATED_STRING');
  });
});

describe('scanPrefix', () => {
  it('finds nothing on a bare call', () => {
    expect(scanPrefix('brk(NULL) = 0x1')).toEqual({ body: 0 });
  });

  it('reads the -o pid prefix and the stderr [pid N] prefix', () => {
    expect(scanPrefix('2674  mmap(')).toMatchObject({ pid: { value: 2674, start: 0, end: 4 }, body: 6 });
    expect(scanPrefix('[pid  3068] mmap(')).toMatchObject({ pid: { value: 3068, start: 6, end: 10 }, body: 12 });
  });

  it('reads -t, -tt, -ttt and -r timestamps', () => {
    expect(scanPrefix('12:34:56 brk(').timestamp?.value).toEqual({ text: '12:34:56', form: 'clock', nanos: 45296_000_000_000n });
    expect(scanPrefix('12:34:56.123456 brk(').timestamp?.value.nanos).toBe(45296_123_456_000n);
    expect(scanPrefix('1700000000.123456 brk(').timestamp?.value).toEqual({ text: '1700000000.123456', form: 'seconds', nanos: 1700000000_123_456_000n });
    expect(scanPrefix('     0.000123 brk(')).toMatchObject({ timestamp: { value: { text: '0.000123', nanos: 123_000n } }, body: 14 });
  });

  it("reads strace -Y's process name after the pid", () => {
    expect(scanPrefix('20557<sh> brk(NULL)')).toMatchObject({ pid: { value: 20557, start: 0, end: 5 }, comm: 'sh', body: 10 });
    expect(scanPrefix('[pid 20565<sh>] wait4(')).toMatchObject({ pid: { value: 20565 }, comm: 'sh', body: 16 });
  });

  it('reads pid, timestamp and -n number together', () => {
    const p = scanPrefix('3505       0.000279 [  12] brk(NULL)');
    expect(p.pid?.value).toBe(3505);
    expect(p.timestamp?.value.text).toBe('0.000279');
    expect(p.nr?.value).toBe(12);
    expect(p.body).toBe(27);
  });

  it("reads strace -i's instruction pointer after the other parts", () => {
    expect(scanPrefix('26655 [00007fbd8c7f2ad7] execve(')).toMatchObject({ pid: { value: 26655 }, ip: { value: '00007fbd8c7f2ad7', start: 7, end: 23 }, body: 25 });
    const p = scanPrefix('3505       0.000279 [  12] [00007f67d0133c47] brk(NULL)');
    expect([p.pid?.value, p.nr?.value, p.ip?.value]).toEqual([3505, 12, '00007f67d0133c47']);
    expect(scanPrefix('[????????????????] +++ exited with 0 +++')).toMatchObject({ ip: { value: '????????????????' }, body: 19 });
    // A 16-digit all-decimal pointer is not a -n number.
    expect(scanPrefix('[0000000000401000] brk(')).toMatchObject({ ip: { value: '0000000000401000' } });
    expect(scanPrefix('[0000000000401000] brk(').nr).toBeUndefined();
  });

  it('does not take a timestamp for a pid', () => {
    expect(scanPrefix('1795695162.771307 execve(').pid).toBeUndefined();
    expect(scanPrefix('12:12:42 execve(').pid).toBeUndefined();
  });
});

describe('helpers', () => {
  it('secondsToNanos keeps nanosecond precision', () => {
    expect(secondsToNanos('1795695162.771307')).toBe(1795695162_771_307_000n);
    expect(secondsToNanos('0.000000001')).toBe(1n);
    expect(secondsToNanos('5')).toBe(5_000_000_000n);
  });

  it('decodeUtf8 decodes UTF-8 and keeps invalid bytes one per character', () => {
    expect(decodeUtf8(Uint8Array.from([0x2f, 0xc3, 0xa9]))).toBe('/é');
    expect(decodeUtf8(Uint8Array.from([0xff, 0x41]))).toBe('\u00ffA');
    expect(decodeUtf8(Uint8Array.from([0xe2, 0x82]))).toBe('\u00e2\u0082');
  });
});
