/**
 * `mmsim diff FILE [--json]`: runs a scenario on the host kernel (through
 * the C runner) and on the model configured like the host, and shows each
 * step of both side by side, divergences marked. See docs/oracle-diff.md.
 *
 * Exit status: 0 host and model agree on every compared step, 1 they differ,
 * 2 bad input (diagnostics with file:line:column), an unreadable file, a bad
 * option, or a host that cannot run the runner.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { StepView } from "../oracle/compare.js";
import { type DiffResult, type DiffStep, diffScenario } from "../oracle/scenario-diff.js";
import type { CompareField } from "../oracle/scenario-to-ops.js";

export const DIFF_HELP = `Usage: mmsim diff FILE [--json]

Runs a scenario file (docs/grammar.md) twice: on this machine's kernel,
through the C runner, and on the model configured with this host's settings.
Each step is printed with both results side by side; a step where they
differ is marked '!' and its differing fields are listed. Addresses are
written relative to the line that created the region ('$12+0x1000') or to a
fence below the scenario's mappings ('F-0x3000'); see docs/oracle-diff.md.
Expected results written in the file are not checked (use 'mmsim run').

Options:
  --json       one JSON object per step, then one {"summary": ...} line
  -h, --help   this text

Colours only on a terminal, and never when NO_COLOR is set.
Exit status: 0 host and model agree, 1 they differ, 2 bad input (or the host
runner cannot be built or run).

Examples:
  mmsim diff examples/munmap-split.strace
  mmsim diff examples/shared-vs-private.strace --json > diff.jsonl
`;

export interface DiffIo {
  out: (s: string) => void;
  err: (s: string) => void;
  readFile?: (path: string) => string;
  /** Colour the output (default: stdout is a TTY and NO_COLOR is unset or empty). */
  color?: boolean;
}

let stdoutClosed = false;
let epipeGuard = false;

/** Ends quietly when the reader goes away (`mmsim diff f | head`). */
function guardEpipe(): void {
  if (epipeGuard) return;
  epipeGuard = true;
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
    stdoutClosed = true;
  });
}

const defaultIo: DiffIo = {
  out: (s) => {
    if (!stdoutClosed) process.stdout.write(s + "\n");
  },
  err: (s) => process.stderr.write(s + "\n"),
};

function useColor(): boolean {
  const nc = process.env["NO_COLOR"];
  return process.stdout.isTTY === true && (nc === undefined || nc === "");
}

/** Returns the exit status. */
export async function runDiff(argv: string[], io: DiffIo = defaultIo): Promise<number> {
  if (io === defaultIo) guardEpipe();
  let values: { json?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" } } }));
  } catch (e) {
    io.err(`mmsim diff: ${e instanceof Error ? e.message : String(e)}\n`);
    io.err(DIFF_HELP);
    return 2;
  }
  if (values.help) {
    io.out(DIFF_HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    io.err(`mmsim diff: ${positionals.length === 0 ? "no scenario file given" : `one scenario file expected, got ${positionals.length}`}\n`);
    io.err(DIFF_HELP);
    return 2;
  }
  const file = positionals[0]!;
  let source: string;
  try {
    source = (io.readFile ?? ((p: string) => readFileSync(p, "utf8")))(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    io.err(`mmsim diff: cannot read '${file}'${code ? ` (${code})` : ""}`);
    return 2;
  }
  let r: DiffResult;
  try {
    r = await diffScenario(source, { file });
  } catch (e) {
    io.err(`mmsim diff: cannot run ${file} on the host: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
  if (r.diagnostics.length > 0) io.err(formatDiffDiagnostics(r.diagnostics, source));
  if (r.malformed) {
    io.err(`mmsim diff: ${file} is malformed; nothing was run`);
    return 2;
  }
  if (values.json) {
    for (const s of r.steps) io.out(JSON.stringify(s));
    io.out(JSON.stringify({ summary: { ...r.summary, agree: r.summary.divergent === 0 } }));
  } else {
    for (const l of formatDiff(r, io.color ?? useColor())) io.out(l);
  }
  return r.summary.divergent > 0 ? 1 : 0;
}

/** `file:line:column: error: message [CODE]`, the source line and a caret. */
export function formatDiffDiagnostics(ds: DiffResult["diagnostics"], source: string): string {
  const lines = source.split(/\r?\n/);
  return [...ds]
    .sort((a, b) => a.line - b.line || a.column - b.column)
    .map((d) => {
      const text = lines[d.line - 1];
      const head = `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message} [${d.code}]`;
      if (text === undefined) return head;
      const width = Math.max(1, (d.endColumn ?? d.column + 1) - d.column);
      return `${head}\n${text}\n${" ".repeat(Math.max(0, d.column - 1))}^${"~".repeat(width - 1)}`;
    })
    .join("\n");
}

// ---------------------------------------------------------------------------
// The side-by-side text.

const STMT_W = 46;
const CELL_W = 34;

function clip(s: string, w: number): string {
  return s.length <= w ? s.padEnd(w) : s.slice(0, w - 1) + "…";
}

function showBytes(hex: string): string {
  let s = "";
  for (let i = 0; i < hex.length && s.length < 24; i += 2) {
    const b = parseInt(hex.slice(i, i + 2), 16);
    s += b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : b === 0 ? "\\0" : `\\x${hex.slice(i, i + 2)}`;
  }
  return `"${s}"${hex.length / 2 > 24 ? "..." : ""}`;
}

function showVec(v: readonly number[]): string {
  const s = v.join("");
  return `[${s.length > 24 ? s.slice(0, 24) + "…" : s}]`;
}

/** One side's result in a few words. */
export function cell(v: StepView, fields: readonly CompareField[]): string {
  const parts: string[] = [];
  if (v.error !== null) parts.push(`error: ${v.error}`);
  else if (v.signal !== undefined) parts.push(`${v.signal.name} ${v.signal.code} at ${v.signal.addr}`);
  else if (v.errno !== null) parts.push(`-1 ${v.errno}`);
  else if (v.value !== undefined) parts.push(`= ${v.value}`);
  else if (v.lines !== undefined) parts.push(`${v.lines.length} line${v.lines.length === 1 ? "" : "s"}`);
  else if (v.ret !== null && fields.includes("ret")) parts.push(`= ${v.ret}`);
  else if (v.ret !== null) parts.push(v.op === "fork" || v.op === "thread" ? "ok (a new task)" : "ok");
  if (v.bytes !== undefined) parts.push(showBytes(v.bytes));
  if (v.done !== undefined) parts.push(`done ${v.done}`);
  if (v.vec !== undefined) parts.push(showVec(v.vec));
  if (v.stat !== undefined) parts.push(`size=${v.stat.size} mode=0${v.stat.mode.toString(8)}`);
  if (fields.includes("minflt")) parts.push(`flt ${v.minflt}/${v.majflt}`);
  return parts.join(" ");
}

function fieldText(v: StepView, f: CompareField): string {
  const x = v[f];
  return x === undefined ? "-" : typeof x === "string" ? x : JSON.stringify(x);
}

/** The diff as lines of text: a header, one row per statement, text checkpoints beneath, a summary. */
export function formatDiff(r: DiffResult, color: boolean): string[] {
  const red = (s: string): string => (color ? `\x1b[31m${s}\x1b[0m` : s);
  const dim = (s: string): string => (color ? `\x1b[2m${s}\x1b[0m` : s);
  const bold = (s: string): string => (color ? `\x1b[1m${s}\x1b[0m` : s);
  const out: string[] = [];
  out.push(`# ${r.file}: host Linux ${r.summary.hostKernel ?? "?"} (left) vs the model with the host's settings (right)`);
  out.push(bold(`  ${"LINE".padStart(5)}  ${"STATEMENT".padEnd(STMT_W)}  ${"HOST".padEnd(CELL_W)}  MODEL`));
  for (const s of r.steps) out.push(...formatStep(s, red, dim));
  const sum = r.summary;
  const verdict = sum.divergent === 0 ? "host and model agree" : red(`${sum.divergent} step${sum.divergent === 1 ? "" : "s"} DIFFER`);
  out.push(`# ${sum.compared} steps compared, ${sum.skipped} not run on either side; ${verdict}`);
  return out;
}

function formatStep(s: DiffStep, red: (s: string) => string, dim: (s: string) => string): string[] {
  const out: string[] = [];
  const who = s.pid !== undefined ? `${s.pid} ` : "";
  const stmt = clip(who + s.text, STMT_W);
  const mark = s.differs.length > 0 ? "!" : " ";
  if (s.host === undefined || s.model === undefined) {
    out.push(dim(`  ${String(s.line).padStart(5)}  ${stmt}  -- ${s.note ?? "not run"}`));
    return out;
  }
  const h = cell(s.host, s.compared);
  const m = cell(s.model, s.compared);
  const row = `${mark} ${String(s.line).padStart(5)}  ${stmt}  ${clip(h, CELL_W)}  ${m}`;
  out.push(s.differs.length > 0 ? red(row) : row);
  if (s.note !== undefined) out.push(dim(`         # ${s.note}`));
  for (const f of s.differs) {
    if (f === "lines") continue;
    out.push(red(`         ${f}: host ${fieldText(s.host, f)}, model ${fieldText(s.model, f)}`));
  }
  if ((s.op === "maps" || s.op === "smaps") && (s.host.lines !== undefined || s.model.lines !== undefined)) {
    out.push(...sideBySide(s.host.lines ?? [], s.model.lines ?? [], red));
  }
  return out;
}

/** Text lines of both sides, aligned by a longest common subsequence; lines on one side only are marked. */
function sideBySide(a: readonly string[], b: readonly string[], red: (s: string) => string): string[] {
  const n = a.length;
  const m = b.length;
  const L: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i]![j] = a[i] === b[j] ? L[i + 1]![j + 1]! + 1 : Math.max(L[i + 1]![j]!, L[i]![j + 1]!);
  const out: string[] = [];
  const W = 60;
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push(`           ${clip(a[i]!, W)}  ${b[j]}`);
      i++;
      j++;
    } else if (j >= m || (i < n && L[i + 1]![j]! >= L[i]![j + 1]!)) {
      out.push(red(`         < ${clip(a[i]!, W)}`));
      i++;
    } else {
      out.push(red(`         > ${" ".repeat(W)}  ${b[j]}`));
      j++;
    }
  }
  return out;
}
