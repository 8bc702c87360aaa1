/**
 * The scenario lexer: turns one logical line (after its prefix) into tokens.
 *
 * strace's syntax is line-oriented, so the lexer works on a string and a
 * range of it; positions are offsets into that string, and the parser maps
 * them back to lines and columns. The lexer never throws: what it cannot make
 * sense of becomes a one-character 'punct' token for the parser's
 * raw-text fallback, and the few real lexical errors (an unterminated string
 * or comment, a bad escape) are returned as LexErrors beside the tokens.
 *
 * The line prefix (pid, timestamp, -n number) is recognised separately by
 * scanPrefix(), since `12:34:56.123456` or `[pid  3068]` only mean something
 * at the start of a line.
 */

import type { DiagnosticCode } from './diagnostics.js';

interface TokenBase {
  /** Offset of the first character. */
  start: number;
  /** Offset just past the last character. */
  end: number;
  /** The source text from start to end. */
  text: string;
  /** Whitespace (or the start of the range) comes right before this token. */
  spaceBefore: boolean;
}

export type Token =
  | (TokenBase & { kind: 'ident' })
  | (TokenBase & { kind: 'int'; value: bigint; radix: 8 | 10 | 16 })
  /** A number with a fraction, `0.000013`; strace prints these only in timestamps and durations. */
  | (TokenBase & { kind: 'decimal' })
  /** Digits run into letters (`12abc`, `0x`, `089`): not a number. */
  | (TokenBase & { kind: 'word' })
  | (TokenBase & { kind: 'string'; bytes: Uint8Array; truncated: boolean })
  /**
   * Operators and brackets: ( ) [ ] { } , = | + - * / ~ < >, the multi-character
   * `...` `=>` `==` `!=` `<<` `>>` `&&` `||` `->` `<=` `>=`, runs of `?`
   * (`????` is strace's name for an unknown call), and any other single
   * character the grammar has no use for (`@`, `:`, `&`, non-ASCII...).
   */
  | (TokenBase & { kind: 'punct' })
  /** `/* text *\/`; text field is the trimmed inside. */
  | (TokenBase & { kind: 'comment'; body: string })
  | (TokenBase & { kind: 'unfinished' })
  | (TokenBase & { kind: 'detached' })
  | (TokenBase & { kind: 'unavailable' })
  /** `<... mmap resumed>`. */
  | (TokenBase & { kind: 'resumed'; name: string })
  /** `<... resuming interrupted clock_nanosleep ...>`. */
  | (TokenBase & { kind: 'resuming'; name: string })
  /** -T's `<0.000013>`. */
  | (TokenBase & { kind: 'duration'; nanos: bigint })
  /** -y's `</etc/passwd>` or `</memfd:x>(deleted)`, written right after a descriptor (the preceding int or ident token). */
  | (TokenBase & { kind: 'fdpath'; path: string; deleted: boolean });

export type TokenKind = Token['kind'];

export interface LexError {
  code: DiagnosticCode;
  message: string;
  start: number;
  end: number;
}

export interface LexResult {
  tokens: Token[];
  errors: LexError[];
}

const MULTI_PUNCT = ['...', '=>', '==', '!=', '<<', '>>', '&&', '||', '->', '<=', '>='];
const MULTI_START = new Set(MULTI_PUNCT.map((p) => p[0]!));

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v';
}
function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}
function isIdentStart(c: string | undefined): boolean {
  return c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c === '$');
}
function isIdentChar(c: string | undefined): boolean {
  return isIdentStart(c) || isDigit(c);
}
function isHex(c: string | undefined): boolean {
  return c !== undefined && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
}
function isOctal(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '7';
}

/** Appends the UTF-8 encoding of a code point. */
function pushUtf8(out: number[], cp: number): void {
  if (cp < 0x80) out.push(cp);
  else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
  else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
}

/**
 * Decodes UTF-8, mapping each byte of an invalid sequence to the code point of
 * the same value (so byte strings that are not UTF-8 still round-trip through
 * a path string one character per byte).
 */
export function decodeUtf8(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let need = 0;
    let cp = 0;
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i++;
      continue;
    } else if (b >= 0xc2 && b < 0xe0) {
      need = 1;
      cp = b & 0x1f;
    } else if (b >= 0xe0 && b < 0xf0) {
      need = 2;
      cp = b & 0x0f;
    } else if (b >= 0xf0 && b < 0xf5) {
      need = 3;
      cp = b & 0x07;
    }
    let ok = need > 0;
    for (let k = 1; ok && k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (c & 0x3f);
    }
    if (ok && need === 2 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) ok = false;
    if (ok && need === 3 && (cp < 0x10000 || cp > 0x10ffff)) ok = false;
    if (ok) {
      out += String.fromCodePoint(cp);
      i += need + 1;
    } else {
      out += String.fromCharCode(b);
      i++;
    }
  }
  return out;
}

/** C's one-letter escapes (`\e` is GNU's ESC). */
const SIMPLE_ESCAPES: Readonly<Record<string, number | undefined>> = {
  n: 10, t: 9, r: 13, v: 11, f: 12, a: 7, b: 8, e: 27, '\\': 92, '"': 34, "'": 39, '?': 63,
};

interface Unescaped {
  bytes: number[];
  /** Offset of the closing delimiter, or -1 if the range ended first. */
  close: number;
}

/**
 * Reads C-escaped text from `from` up to an unescaped `delim` (or `end`),
 * decoding escapes to bytes. Reports bad escapes into errors.
 */
function unescape(src: string, from: number, end: number, delim: string, errors: LexError[]): Unescaped {
  const bytes: number[] = [];
  let i = from;
  while (i < end) {
    const c = src[i]!;
    if (c === delim) return { bytes, close: i };
    if (c !== '\\') {
      const cp = src.codePointAt(i)!;
      pushUtf8(bytes, cp);
      i += cp > 0xffff ? 2 : 1;
      continue;
    }
    const e = src[i + 1];
    if (i + 1 >= end || e === undefined) {
      errors.push({ code: 'E_BAD_ESCAPE', message: 'backslash at the end of the line', start: i, end: i + 1 });
      i++;
      continue;
    }
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      bytes.push(simple);
      i += 2;
    } else if (e === 'x') {
      let j = i + 2;
      let v = 0;
      while (j < end && j < i + 4 && isHex(src[j])) v = v * 16 + parseInt(src[j++]!, 16);
      if (j === i + 2) {
        errors.push({ code: 'E_BAD_ESCAPE', message: "'\\x' must be followed by hex digits", start: i, end: i + 2 });
        bytes.push(0x78);
      } else bytes.push(v);
      i = j;
    } else if (isOctal(e)) {
      let j = i + 1;
      let v = 0;
      while (j < end && j < i + 4 && isOctal(src[j])) v = v * 8 + (src.charCodeAt(j++) - 48);
      bytes.push(v & 0xff);
      i = j;
    } else {
      errors.push({ code: 'E_BAD_ESCAPE', message: `unknown escape '\\${e}'`, start: i, end: i + 2 });
      pushUtf8(bytes, src.codePointAt(i + 1)!);
      i += 2;
    }
  }
  return { bytes, close: -1 };
}

/** Parses `<digits>[.<digits>]` seconds text into nanoseconds. */
export function secondsToNanos(text: string): bigint {
  const dot = text.indexOf('.');
  const whole = dot < 0 ? text : text.slice(0, dot);
  const frac = dot < 0 ? '' : text.slice(dot + 1);
  return BigInt(whole || '0') * 1_000_000_000n + BigInt((frac + '000000000').slice(0, 9));
}

/**
 * Where a descriptor path that opens at `open` (a '<') ends: the matching '>',
 * counting nested <...> (-yy's `/dev/null<char 1:3>`) outside [...] (sockets'
 * `TCP:[1.2.3.4:5->6.7.8.9:80]`); failing that (a file named `a[b`), the
 * first '>'. -1 when there is none.
 */
function fdPathClose(src: string, open: number, end: number): number {
  let depth = 1;
  let brackets = 0;
  let firstClose = -1;
  for (let j = open + 1; j < end; j++) {
    const c = src[j];
    if (c === '\\') {
      j++;
      continue;
    }
    if (c === '>' && firstClose < 0) firstClose = j;
    if (c === '[') brackets++;
    else if (c === ']' && brackets > 0) brackets--;
    else if (brackets === 0 && c === '<') depth++;
    else if (brackets === 0 && c === '>' && --depth === 0) return j;
  }
  return firstClose;
}

const RE_RESUMED = /<\.\.\. ([^\s<>]+) resumed>/y;
const RE_RESUMING = /<\.\.\. resuming interrupted ([^\s<>]+) \.\.\.>/y;
const RE_DURATION = /<(\d+(?:\.\d+)?)>/y;

/**
 * Tokenizes src[start, end). Always terminates: every iteration consumes at
 * least one character.
 */
export function lex(src: string, start = 0, end = src.length): LexResult {
  const tokens: Token[] = [];
  const errors: LexError[] = [];
  let i = start;
  let space = true;
  // Tokens are built as literals, one shape per kind: object spread here
  // made lexing several times slower.
  const push = (t: Token): void => {
    tokens.push(t);
    space = false;
  };

  while (i < end) {
    const c = src[i]!;
    if (isSpace(c)) {
      i++;
      space = true;
      continue;
    }

    // Strings: "..." with C escapes, and strace's "..."... for truncation.
    if (c === '"') {
      const u = unescape(src, i + 1, end, '"', errors);
      if (u.close < 0) {
        errors.push({ code: 'E_UNTERMINATED_STRING', message: 'unterminated string', start: i, end });
        push({ kind: 'string', start: i, end, text: src.slice(i, end), spaceBefore: space, bytes: Uint8Array.from(u.bytes), truncated: false });
        i = end;
        continue;
      }
      let stop = u.close + 1;
      const truncated = src.startsWith('...', stop) && stop + 3 <= end;
      if (truncated) stop += 3;
      push({ kind: 'string', start: i, end: stop, text: src.slice(i, stop), spaceBefore: space, bytes: Uint8Array.from(u.bytes), truncated });
      i = stop;
      continue;
    }

    // Comments: /* ... */
    if (c === '/' && src[i + 1] === '*' && i + 1 < end) {
      const close = src.indexOf('*/', i + 2);
      if (close < 0 || close + 2 > end) {
        errors.push({ code: 'E_UNTERMINATED_COMMENT', message: 'unterminated comment', start: i, end });
        i = end;
        continue;
      }
      push({ kind: 'comment', start: i, end: close + 2, text: src.slice(i, close + 2), spaceBefore: space, body: src.slice(i + 2, close).trim() });
      i = close + 2;
      continue;
    }

    // Numbers: 4096, -1 (the '-' is separate), 0x7f.., 0644, 0.000013.
    if (isDigit(c)) {
      let j = i;
      while (j < end && (isIdentChar(src[j]))) j++;
      const word = src.slice(i, j);
      if (/^[0-9]+$/.test(word) && src[j] === '.' && isDigit(src[j + 1]) && j + 1 < end) {
        let k = j + 1;
        while (k < end && isDigit(src[k])) k++;
        push({ kind: 'decimal', start: i, end: k, text: src.slice(i, k), spaceBefore: space });
        i = k;
        continue;
      }
      if (/^0[xX][0-9a-fA-F]+$/.test(word)) push({ kind: 'int', start: i, end: j, text: src.slice(i, j), spaceBefore: space, value: BigInt(word), radix: 16 });
      else if (/^0[0-7]+$/.test(word)) push({ kind: 'int', start: i, end: j, text: src.slice(i, j), spaceBefore: space, value: BigInt('0o' + word.slice(1)), radix: 8 });
      else if (/^[0-9]+$/.test(word) && (word === '0' || word[0] !== '0'))
        push({ kind: 'int', start: i, end: j, text: src.slice(i, j), spaceBefore: space, value: BigInt(word), radix: 10 });
      else push({ kind: 'word', start: i, end: j, text: src.slice(i, j), spaceBefore: space });
      i = j;
      continue;
    }

    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < end && isIdentChar(src[j])) j++;
      push({ kind: 'ident', start: i, end: j, text: src.slice(i, j), spaceBefore: space });
      i = j;
      continue;
    }

    if (c === '<') {
      const prev = tokens[tokens.length - 1];
      // A descriptor's path: 3</etc/passwd>, AT_FDCWD</tmp>, 4</memfd:x>(deleted).
      if (prev && !space && (prev.kind === 'int' || prev.kind === 'ident') && src[i + 1] !== '<') {
        const close = fdPathClose(src, i, end);
        if (close > i) {
          const u = unescape(src, i + 1, close, '\0', errors);
          let stop = close + 1;
          const deleted = src.startsWith('(deleted)', stop) && stop + 9 <= end;
          if (deleted) stop += 9;
          push({ kind: 'fdpath', start: i, end: stop, text: src.slice(i, stop), spaceBefore: space, path: decodeUtf8(Uint8Array.from(u.bytes)), deleted });
          i = stop;
          continue;
        }
      }
      const c1 = src[i + 1];
      if (c1 === 'u' || c1 === 'd') {
        const kind = src.startsWith('<unfinished ...>', i) ? 'unfinished' : src.startsWith('<detached ...>', i) ? 'detached' : src.startsWith('<unavailable>', i) ? 'unavailable' : undefined;
        const stop = i + (kind === 'unfinished' ? 16 : kind === 'detached' ? 14 : 13);
        if (kind && stop <= end) {
          push({ kind, start: i, end: stop, text: src.slice(i, stop), spaceBefore: space });
          i = stop;
          continue;
        }
      } else if (c1 === '.') {
        let m: RegExpExecArray | null;
        RE_RESUMED.lastIndex = i;
        if ((m = RE_RESUMED.exec(src)) && i + m[0].length <= end) {
          const stop = i + m[0].length;
          push({ kind: 'resumed', start: i, end: stop, text: src.slice(i, stop), spaceBefore: space, name: m[1]! });
          i = stop;
          continue;
        }
        RE_RESUMING.lastIndex = i;
        if ((m = RE_RESUMING.exec(src)) && i + m[0].length <= end) {
          const stop = i + m[0].length;
          push({ kind: 'resuming', start: i, end: stop, text: src.slice(i, stop), spaceBefore: space, name: m[1]! });
          i = stop;
          continue;
        }
      } else if (isDigit(c1)) {
        RE_DURATION.lastIndex = i;
        const m = RE_DURATION.exec(src);
        if (m && i + m[0].length <= end) {
          const stop = i + m[0].length;
          push({ kind: 'duration', start: i, end: stop, text: src.slice(i, stop), spaceBefore: space, nanos: secondsToNanos(m[1]!) });
          i = stop;
          continue;
        }
      }
    }

    if (c === '?') {
      let j = i;
      while (j < end && src[j] === '?') j++;
      push({ kind: 'punct', start: i, end: j, text: src.slice(i, j), spaceBefore: space });
      i = j;
      continue;
    }

    const multi = MULTI_START.has(c) ? MULTI_PUNCT.find((p) => src.startsWith(p, i) && i + p.length <= end) : undefined;
    if (multi) {
      push({ kind: 'punct', start: i, end: i + multi.length, text: src.slice(i, i + multi.length), spaceBefore: space });
      i += multi.length;
      continue;
    }

    // Any other character, one code point at a time.
    const cp = src.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    push({ kind: 'punct', start: i, end: i + width, text: src.slice(i, i + width), spaceBefore: space });
    i += width;
  }
  return { tokens, errors };
}

// ---------------------------------------------------------------------------
// Line prefixes

export interface PrefixPart<T> {
  value: T;
  start: number;
  end: number;
}

export interface LinePrefix {
  pid?: PrefixPart<number>;
  /** The process's name after its pid, with strace -Y: `2674<sh>  `, `[pid 2674<sh>] `. */
  comm?: string;
  timestamp?: PrefixPart<{ text: string; form: 'clock' | 'seconds'; nanos: bigint }>;
  /** strace -n's `[  9] `. */
  nr?: PrefixPart<number>;
  /**
   * strace -i's instruction pointer, `[00007fbd8c7f2ad7] `: the hex digits, or
   * `????????????????` (on exit and signal lines) as written.
   */
  ip?: PrefixPart<string>;
  /** Offset where the statement proper starts (after the prefix and its spaces). */
  body: number;
}

const RE_PID_BRACKET = /\[pid\s+(\d+)(?:<([^>]*)>)?\][ \t]*/y;
const RE_PID_BARE = /(\d+)(?:<([^>]*)>)?[ \t]+(?=\S)/y;
const RE_TS_CLOCK = /(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?[ \t]+/y;
const RE_TS_SECONDS = /(\d+\.\d+)[ \t]+/y;
/** -n's number; not 8 or 16 digits with no padding, which is -i's pointer. */
const RE_NR = /\[(?![0-9a-fA-F]{8}\]|[0-9a-fA-F]{16}\])[ \t]*(\d+)\][ \t]+/y;
const RE_IP = /\[([0-9a-fA-F]{16}|[0-9a-fA-F]{8}|\?{16}|\?{8})\][ \t]+/y;
const RE_SPACE = /[ \t]*/y;

/**
 * Recognises a line's prefix: a pid (`2674  ` or `[pid  2674] `, either
 * with -Y's `<comm>` after the number), a timestamp
 * (-t, -tt, -ttt or -r), strace -n's `[ 9] ` and strace -i's instruction
 * pointer `[00007fbd8c7f2ad7] `, each optional, in that order (strace's
 * printleader()).
 */
export function scanPrefix(line: string): LinePrefix {
  const prefix: LinePrefix = { body: 0 };
  let i = 0;
  const skipSpace = () => {
    RE_SPACE.lastIndex = i;
    RE_SPACE.exec(line);
    i = RE_SPACE.lastIndex;
  };
  const tryRe = (re: RegExp): RegExpExecArray | null => {
    re.lastIndex = i;
    const m = re.exec(line);
    return m;
  };
  skipSpace();
  let m: RegExpExecArray | null;
  if ((m = tryRe(RE_PID_BRACKET)) || (m = tryRe(RE_PID_BARE))) {
    const text = m[1]!;
    const start = i + m[0].indexOf(text);
    const value = Number(text);
    if (Number.isSafeInteger(value)) prefix.pid = { value, start, end: start + text.length };
    if (m[2] !== undefined) prefix.comm = m[2];
    i += m[0].length;
  }
  if ((m = tryRe(RE_TS_CLOCK))) {
    const text = m[0].trimEnd();
    const secs = (Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3]);
    const nanos = BigInt(secs) * 1_000_000_000n + BigInt(((m[4] ?? '') + '000000000').slice(0, 9));
    prefix.timestamp = { value: { text, form: 'clock', nanos }, start: i, end: i + text.length };
    i += m[0].length;
  } else if ((m = tryRe(RE_TS_SECONDS))) {
    const text = m[1]!;
    prefix.timestamp = { value: { text, form: 'seconds', nanos: secondsToNanos(text) }, start: i, end: i + text.length };
    i += m[0].length;
  }
  if ((m = tryRe(RE_NR))) {
    const start = i + m[0].indexOf(m[1]!);
    prefix.nr = { value: Number(m[1]), start, end: start + m[1]!.length };
    i += m[0].length;
  }
  if ((m = tryRe(RE_IP))) {
    prefix.ip = { value: m[1]!, start: i + 1, end: i + 1 + m[1]!.length };
    i += m[0].length;
  }
  skipSpace();
  prefix.body = i;
  return prefix;
}
