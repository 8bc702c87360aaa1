import { describe, it, expect } from 'vitest';
import { formatDiagnostic, formatDiagnostics, hasErrors, type Diagnostic } from './diagnostics.js';

const d = (over: Partial<Diagnostic> = {}): Diagnostic => ({
  file: 'scen.txt',
  line: 2,
  column: 14,
  endColumn: 18,
  severity: 'error',
  code: 'E_UNTERMINATED_STRING',
  message: 'unterminated string',
  ...over,
});

describe('formatDiagnostic', () => {
  it('prints the position, the source line and a caret under the span', () => {
    const src = 'p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\nstore(p + 1, "abc';
    expect(formatDiagnostic(d(), src)).toBe(
      'scen.txt:2:14: error: unterminated string [E_UNTERMINATED_STRING]\n' +
        'store(p + 1, "abc\n' +
        '             ^~~~',
    );
  });

  it('uses the diagnostic\'s own source line when no source is given', () => {
    const text = formatDiagnostic(d({ line: 7, column: 1, endColumn: 4, sourceLine: 'abc(' }));
    expect(text.split('\n').slice(1)).toEqual(['abc(', '^~~']);
  });

  it('prints just the head when the line is unknown', () => {
    expect(formatDiagnostic(d({ sourceLine: undefined }))).toBe('scen.txt:2:14: error: unterminated string [E_UNTERMINATED_STRING]');
  });

  it('keeps tabs so the caret lines up', () => {
    const text = formatDiagnostic(d({ line: 1, column: 3, endColumn: 4 }), ['\t\tx']);
    expect(text.split('\n')[2]).toBe('\t\t^');
  });

  it('draws a single caret for a point or a span past the end of the line', () => {
    expect(formatDiagnostic(d({ line: 1, column: 4, endColumn: undefined }), ['abc']).split('\n')[2]).toBe('   ^');
    expect(formatDiagnostic(d({ line: 1, column: 9, endColumn: 12 }), ['abc']).split('\n')[2]).toBe('   ^');
  });

  it('prints warnings as warnings', () => {
    expect(formatDiagnostic(d({ severity: 'warning', code: 'W_UNMATCHED_RESUMED', message: 'm' }))).toContain(': warning: m [W_UNMATCHED_RESUMED]');
  });
});

describe('formatDiagnostics and hasErrors', () => {
  it('sorts by position', () => {
    const text = formatDiagnostics([d({ line: 3, message: 'second' }), d({ line: 1, message: 'first' })]);
    expect(text.indexOf('first')).toBeLessThan(text.indexOf('second'));
  });

  it('counts only errors', () => {
    expect(hasErrors([d({ severity: 'warning' })])).toBe(false);
    expect(hasErrors([d({ severity: 'warning' }), d()])).toBe(true);
  });
});

describe('formatDiagnostics on large or binary input', () => {
  it('prints the first 100 diagnostics, then how many more there are', () => {
    const many = Array.from({ length: 30000 }, (_, i) => d({ line: i + 1, column: 1, endColumn: 2 }));
    const source = Array(30000).fill('@@@').join('\n');
    const text = formatDiagnostics(many, source);
    expect(text.match(/^scen\.txt:\d+:1: error:/gm)).toHaveLength(100);
    expect(text.split('\n').at(-1)).toBe('... and 29900 more diagnostics (29900 errors) not shown');
    expect(formatDiagnostics(many.slice(0, 3), source, { limit: 2 }).split('\n').at(-1)).toBe('... and 1 more diagnostic (1 error) not shown');
  });

  it('escapes control characters in the echoed line and keeps the caret under the span', () => {
    const text = formatDiagnostic(d({ line: 1, column: 4, endColumn: 6, message: "found '\x1b'" }), 'a\x1b[b\x07c\td');
    expect(text).toBe("scen.txt:1:4: error: found '\\x1b' [E_UNTERMINATED_STRING]\n" + 'a\\x1b[b\\x07c\td\n' + '      ^~~~~');
    expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  });

  it('escapes bidirectional controls and C1 characters', () => {
    const text = formatDiagnostic(d({ line: 1, column: 3, endColumn: 4 }), '\u202e\x9bx');
    expect(text.split('\n').slice(1)).toEqual(['\\u202e\\x9bx', '          ^']);
  });
});
