/**
 * `mmsim run FILE [--arch PROFILE] [--trace] [--json]`: runs a scenario (or
 * a strace log) on the model and prints each step strace-style with the
 * model's result, marking expectations that fail.
 *
 * Exit status: 0 when every expectation holds, 1 when one fails, 2 for
 * malformed input (the parser's diagnostics are printed and nothing runs),
 * an unreadable file, a bad option, or an internal error (a bug in mmsim,
 * reported as one line without a stack trace).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ARCH_PROFILES, type ArchName } from '../kernel/arch/profile.js';
import { escapeControl, formatDiagnostics } from '../scenario/diagnostics.js';
import { formatCallLine, pidPrefix } from '../scenario/format.js';
import { type RunSummary, type StepRecord, runScenario } from '../scenario/interpreter.js';
import { formatEvent } from './format-event.js';

export const RUN_HELP = `Usage: mmsim run FILE [--arch PROFILE] [--trace] [--json]

Runs a scenario file (strace syntax with bindings, memory accesses and
checkpoints; see docs/grammar.md) on a fresh model machine. The file is
parsed and checked first (unknown names, missing or extra arguments, values
that do not parse in the calls the model runs); with an error nothing runs. Each line is
printed as strace would print it, with the model's result; a '= RESULT'
written in the file is an expectation, and each one that does not hold is
marked with FAIL and its file:line:column.

Options:
  --arch PROFILE   x86_64 (default), arm64-4k or arm64-16k
  --trace          print the kernel's internal steps (faults, PTEs, page cache,
                   VMA splits...) under each line
  --json           one JSON object per step, then one {"summary": ...} line;
                   for malformed input one {"malformed": true, "diagnostics": [...]}
  --paranoid       re-validate the whole model after every step (slow)
  -h, --help       this text

Exit status: 0 all expectations hold, 1 one failed, 2 malformed input,
unreadable file, bad option, or an internal error in mmsim (reported as one
'mmsim run: internal error' line).

Examples:
  mmsim run examples/mmap-file-msync.strace
  mmsim run examples/page-cache.strace --trace
  mmsim run examples/munmap-split.strace --arch arm64-16k
  mmsim run trace.txt --json > steps.jsonl
`;

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  readFile?: (path: string) => string;
}

/** Writes to stdout, ending quietly when the reader goes away (`mmsim run f | head`). */
function stdoutLine(s: string): void {
  if (stdoutClosed) return;
  process.stdout.write(s + '\n');
}
let stdoutClosed = false;
let epipeGuard = false;

const defaultIo: Io = {
  out: stdoutLine,
  err: (s) => process.stderr.write(s + '\n'),
};

function guardEpipe(): void {
  if (epipeGuard) return;
  epipeGuard = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    stdoutClosed = true;
  });
}

/**
 * Returns the exit status. Never throws: an error nothing else expected (a
 * bug in mmsim) is reported as one `mmsim run: internal error` line, without
 * a stack trace, and gives status 2.
 */
export function runCommand(argv: string[], io: Io = defaultIo): number {
  try {
    return runCommandUnguarded(argv, io);
  } catch (e) {
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    io.err(`mmsim run: internal error (a bug in mmsim, please report it with the input): ${msg.split('\n')[0]}`);
    return 2;
  }
}

function runCommandUnguarded(argv: string[], io: Io): number {
  if (io === defaultIo) guardEpipe();
  let values: { arch?: string; trace?: boolean; json?: boolean; paranoid?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        arch: { type: 'string' },
        trace: { type: 'boolean' },
        json: { type: 'boolean' },
        paranoid: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    io.err(`mmsim run: ${e instanceof Error ? e.message : String(e)}\n`);
    io.err(RUN_HELP);
    return 2;
  }
  if (values.help) {
    io.out(RUN_HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    io.err(`mmsim run: ${positionals.length === 0 ? 'no scenario file given' : `one scenario file expected, got ${positionals.length}`}\n`);
    io.err(RUN_HELP);
    return 2;
  }
  const arch = values.arch ?? 'x86_64';
  if (!Object.prototype.hasOwnProperty.call(ARCH_PROFILES, arch)) {
    io.err(`mmsim run: unknown --arch '${arch}' (expected ${Object.keys(ARCH_PROFILES).join(', ')})`);
    return 2;
  }
  const file = positionals[0]!;
  let source: string;
  try {
    source = (io.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    io.err(`mmsim run: cannot read '${file}'${code ? ` (${code})` : ''}: ${e instanceof Error ? e.message.replace(/^[A-Z]+: /, '') : String(e)}`);
    return 2;
  }

  const json = values.json ?? false;
  const trace = values.trace ?? false;
  const onStep = json ? (r: StepRecord): void => io.out(toJson(r)) : (r: StepRecord): void => printStep(r, trace, io.out);
  const result = runScenario(source, { arch: arch as ArchName, trace, paranoid: values.paranoid ?? false, file, onStep });
  if (result.diagnostics.length > 0) io.err(formatDiagnostics(result.diagnostics, source));
  if (result.malformed) {
    if (json) io.out(toJson({ malformed: true, file, diagnostics: result.diagnostics }));
    io.err(`mmsim run: ${file} is malformed; nothing was run`);
    return 2;
  }
  if (json) io.out(toJson({ summary: result.summary }));
  else io.out(formatSummary(file, result.summary));
  return result.summary.failed > 0 || result.summary.aborted !== undefined ? 1 : 0;
}

function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
}

/** One step as the terminal shows it: the strace-style line, FAIL lines, notes, and (with --trace) the kernel's events. */
export function printStep(r: StepRecord, trace: boolean, out: (s: string) => void): void {
  const prefix = pidPrefix(r.pid);
  // Raw text from the file (a log's unmodelled arguments) may hold control characters.
  const call = escapeControl(r.actual ?? r.text);
  switch (r.kind) {
    case 'skipped':
      out(`${prefix}${escapeControl(r.text)}`);
      break;
    case 'not-modelled':
      // The model has no result: echo the file's, as the log had it.
      out(formatCallLine(prefix, call, escapeControl(r.result || (r.expected ?? ''))));
      break;
    default:
      out(formatCallLine(prefix, call, r.result));
  }
  for (const p of r.problems) out(`!! FAIL ${p.file}:${p.line}:${p.column}: ${p.message}`);
  for (const n of r.notes) out(`   # ${escapeControl(n)}`);
  if (trace && r.events) {
    for (const e of r.events) {
      const s = formatEvent(e);
      if (s !== null) out(`     |${s.startsWith('  ') ? s.slice(1) : ' ' + s}`);
    }
  }
}

export function formatSummary(file: string, s: RunSummary): string {
  const nm = Object.entries(s.notModelled);
  const parts = [
    `${file}: ${s.steps} steps, ${s.expectations} expectations checked, ${s.failed === 0 ? 'all hold' : `${s.failed} step${s.failed === 1 ? '' : 's'} FAILED`}`,
  ];
  if (s.skipped > 0) parts.push(`${s.skipped} skipped`);
  if (s.aborted !== undefined) parts.push(`STOPPED: ${s.aborted}`);
  if (nm.length > 0) parts.push(`not modelled: ${nm.map(([n, c]) => `${n} x${c}`).join(', ')}`);
  return `# ${parts.join('; ')}`;
}
