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

/** Expands tabs in the part of the source before a column so the caret lines up under it. */
function padTo(sourceLine: string, column: number): string {
  let pad = '';
  for (let i = 0; i < column - 1; i++) pad += sourceLine[i] === '\t' ? '\t' : ' ';
  return pad;
}

/**
 * `file:line:column: error: message`, then (when the source line is known) the
 * line and a caret `^~~~` under the span. source may be the whole file's text
 * or its lines; without it, d.sourceLine is used.
 */
export function formatDiagnostic(d: Diagnostic, source?: string | readonly string[]): string {
  const head = `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message} [${d.code}]`;
  let line: string | undefined;
  if (typeof source === 'string') line = source.split(/\r?\n/)[d.line - 1];
  else if (source) line = source[d.line - 1];
  else line = d.sourceLine;
  if (line === undefined) return head;
  const column = Math.max(1, Math.min(d.column, line.length + 1));
  const end = d.endColumn !== undefined ? Math.min(Math.max(d.endColumn, column + 1), line.length + 1) : column + 1;
  const width = Math.max(1, end - column);
  return `${head}\n${line}\n${padTo(line, column)}^${'~'.repeat(width - 1)}`;
}

/** All diagnostics, one block each, in order of position. */
export function formatDiagnostics(ds: readonly Diagnostic[], source?: string | readonly string[]): string {
  return [...ds]
    .sort((a, b) => a.line - b.line || a.column - b.column)
    .map((d) => formatDiagnostic(d, source))
    .join('\n');
}

/** True when any diagnostic is an error (warnings alone do not fail a parse). */
export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === 'error');
}
