/**
 * Printing what the interpreter saw the way strace prints it: results
 * (`= 0x7f0000000000`, `= -1 EINVAL (Invalid argument)`, `= ?`), signals as
 * `SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0x...}`, byte
 * buffers quoted with strace's escapes, and whole step lines with ` = `
 * padded to column 39 (strace -a 40).
 */
import type { AccessFault } from '../kernel/machine.js';
import { type ErrnoName, SI_CODE_NAMES, errnoMessage, errnoNumber } from '../kernel/uapi.js';
import { quoteBytes } from './ast.js';

/** strace's default -a: results start at column 40 (` = ` begins at 39, 0-based). */
export const RESULT_COLUMN = 39;

/** strace's default -s: strings longer than this print as `"..."...`. */
export const STRING_LIMIT = 32;

export function hex(v: bigint | number): string {
  const b = typeof v === 'number' ? BigInt(v) : v;
  return '0x' + BigInt.asUintN(64, b).toString(16);
}

/** `-1 EINVAL (Invalid argument)` */
export function formatErrno(errno: ErrnoName): string {
  return `-1 ${errno} (${errnoMessage(errno)})`;
}

/** The errno's number, for JSON consumers. */
export function errnoValue(errno: ErrnoName): number {
  return errnoNumber(errno);
}

/** `"hello"`, or `"0123..."...` past limit bytes (strace -s). */
export function formatBytes(bytes: Uint8Array, limit = STRING_LIMIT): string {
  if (bytes.length <= limit) return quoteBytes(bytes);
  return quoteBytes(bytes.subarray(0, limit)) + '...';
}

/** The si_code's name for a fault, `SEGV_MAPERR`, or its number. */
export function siCodeName(f: AccessFault): string {
  return SI_CODE_NAMES[f.signal]?.[f.code] ?? String(f.code);
}

/** `SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0x7f0000000000}`, as in strace's `--- ... ---` line. */
export function formatFault(f: AccessFault): string {
  return `${f.signal} {si_signo=${f.signal}, si_code=${siCodeName(f)}, si_addr=${hex(f.addr)}}`;
}

/** A whole step line: an optional pid prefix, the call, ` = ` at column 39 unless the call is longer, the result. */
export function formatCallLine(prefix: string, call: string, result: string): string {
  if (result === '') return prefix + call;
  const head = prefix + call;
  return `${head.padEnd(RESULT_COLUMN)} = ${result}`;
}

/** strace -f -o's pid prefix: the pid and two spaces. */
export function pidPrefix(pid: number | undefined): string {
  return pid === undefined ? '' : `${pid}  `;
}

/** `<<EOF`, the text, `EOF` (a terminator that does not occur as a line of the text). */
export function formatHeredoc(text: string): string {
  let term = 'EOF';
  const lines = new Set(text.split('\n').map((l) => l.trim()));
  for (let i = 1; lines.has(term); i++) term = `EOF${i}`;
  const body = text === '' || text.endsWith('\n') ? text : text + '\n';
  return `<<${term}\n${body}${term}`;
}
