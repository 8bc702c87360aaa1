/**
 * Diagnostics: problems found in a scenario file or strace log, as values.
 * The lexer and parser never throw on bad input; they return Diagnostics, and
 * formatDiagnostic() prints them the way compilers do:
 *
 *   scen.txt:3:17: error: unterminated string
 *   store(p + 1, "abc
 *                ^~~~
 */

export type Severity = 'error' | 'warning';

/**
 * Stable codes; tests and tools may match on them. Messages may change.
 * E_ codes are errors (the statement was dropped), W_ codes are warnings.
 */
export type DiagnosticCode =
  /** `"abc` with no closing quote before the end of the line. */
  | 'E_UNTERMINATED_STRING'
  /** `/* ...` with no closing `*\/` before the end of the line. */
  | 'E_UNTERMINATED_COMMENT'
  /** A backslash escape C does not have (`\q`), or `\x` without hex digits. */
  | 'E_BAD_ESCAPE'
  /** The line is not a call, a signal or exit line, nor any other form strace prints. */
  | 'E_EXPECTED_CALL'
  /** A value was expected (an argument, a struct member, a result). */
  | 'E_EXPECTED_EXPR'
  /** A particular token was expected, e.g. ',' or ')' between arguments. */
  | 'E_UNEXPECTED_TOKEN'
  /** A bracket opened on this line is not closed before its end. */
  | 'E_UNCLOSED'
  /** Text after a complete statement. */
  | 'E_TRAILING_TEXT'
  /** `= <<EOF` with no line holding only `EOF` after it. */
  | 'E_UNTERMINATED_HEREDOC'
  /** A line with more operators than the parser allows (MAX_OPERATORS in parser.ts). */
  | 'E_TOO_LONG'
  /** check.ts: an argument or result of a modelled call that the interpreter cannot use (raw text, a string for a number...). */
  | 'E_BAD_ARGUMENT'
  /** check.ts: a name that is no constant and that no line binds; an unknown signal, si_code or errno name. */
  | 'E_UNKNOWN_NAME'
  /** check.ts: a modelled call with an argument missing or too many. */
  | 'E_ARGUMENT_COUNT'
  /** check.ts: an integer that does not fit in 64 bits. */
  | 'E_OUT_OF_RANGE'
  /** A bug in the parser, caught and reported rather than thrown. */
  | 'E_INTERNAL'
  /** joinSplitCalls(): an `<unfinished ...>` call that no `<... resumed>` line completes. */
  | 'W_UNMATCHED_UNFINISHED'
  /** joinSplitCalls(): a `<... NAME resumed>` line with no earlier unfinished NAME call. */
  | 'W_UNMATCHED_RESUMED';

export interface Diagnostic {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** Exclusive; absent for a point. */
  endColumn?: number;
  severity: Severity;
  code: DiagnosticCode;
  message: string;
  /** The text of the line, so that the diagnostic can be printed without the file. */
  sourceLine?: string;
}

/**
 * How a character of a source line is shown: C0 and C1 control characters
 * (but tab), DEL, and the Unicode line separators and bidirectional controls
 * (which would reorder or break the terminal's line) as `\xNN` or `\uNNNN`;
 * anything else as itself.
 */
function shown(ch: string): string {
  const c = ch.charCodeAt(0);
  if (ch === '\t') return ch;
  if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return '\\x' + c.toString(16).padStart(2, '0');
  if (c === 0x2028 || c === 0x2029 || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c === 0x200e || c === 0x200f || c === 0x061c) {
    return '\\u' + c.toString(16).padStart(4, '0');
  }
  return ch;
}

/** text with every control character escaped (see shown()); safe to print to a terminal. */
export function escapeControl(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) out += shown(text[i]!);
  return out;
}

/**
 * The line as printed, and the caret line under columns [column, end): the
 * caret's padding copies tabs and is as wide as each escaped character.
 */
function caretUnder(line: string, column: number, end: number): { text: string; caret: string } {
  let text = '';
  let pad = '';
  let width = 0;
  for (let i = 0; i < line.length; i++) {
    const s = shown(line[i]!);
    text += s;
    if (i < column - 1) pad += s === '\t' ? '\t' : ' '.repeat(s.length);
    else if (i < end - 1) width += s === '\t' ? 1 : s.length;
  }
  return { text, caret: pad + '^' + '~'.repeat(Math.max(1, width) - 1) };
}

/**
 * `file:line:column: error: message`, then (when the source line is known) the
 * line and a caret `^~~~` under the span. source may be the whole file's text
 * or its lines (pass the lines when formatting many diagnostics: the text is
 * split on every call); without it, d.sourceLine is used. Control characters
 * are escaped (`\x1b`), so binary input cannot drive the terminal.
 */
export function formatDiagnostic(d: Diagnostic, source?: string | readonly string[]): string {
  const head = escapeControl(`${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message} [${d.code}]`);
  let line: string | undefined;
  if (typeof source === 'string') line = source.split(/\r?\n/)[d.line - 1];
  else if (source) line = source[d.line - 1];
  else line = d.sourceLine;
  if (line === undefined) return head;
  const column = Math.max(1, Math.min(d.column, line.length + 1));
  const end = d.endColumn !== undefined ? Math.min(Math.max(d.endColumn, column + 1), line.length + 1) : column + 1;
  const { text, caret } = caretUnder(line, column, end);
  return `${head}\n${text}\n${caret}`;
}

/** How many diagnostics formatDiagnostics() prints unless told otherwise. */
export const DIAGNOSTICS_SHOWN = 100;

/**
 * All diagnostics, one block each, in order of position; after the first
 * `limit` (default DIAGNOSTICS_SHOWN) one line says how many more there are.
 * The source text is split into lines once.
 */
export function formatDiagnostics(ds: readonly Diagnostic[], source?: string | readonly string[], options: { limit?: number } = {}): string {
  const lines = typeof source === 'string' ? source.split(/\r?\n/) : source;
  const limit = Math.max(0, options.limit ?? DIAGNOSTICS_SHOWN);
  const sorted = [...ds].sort((a, b) => a.line - b.line || a.column - b.column);
  const out = sorted.slice(0, limit).map((d) => formatDiagnostic(d, lines));
  const more = sorted.length - limit;
  if (more > 0) {
    const errors = sorted.slice(limit).filter((d) => d.severity === 'error').length;
    out.push(`... and ${more} more diagnostic${more === 1 ? '' : 's'} (${errors} error${errors === 1 ? '' : 's'}) not shown`);
  }
  return out.join('\n');
}

/** True when any diagnostic is an error (warnings alone do not fail a parse). */
export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === 'error');
}
