/**
 * A scenario file run on the host kernel and on the model, compared step by
 * step: the library behind `mmsim diff` (src/cli/diff.ts) and
 * test/conformance.test.ts. The scenario becomes runner ops
 * (scenario-to-ops.ts); compare.ts runs them on both sides behind the same
 * fence and normalises addresses; this file picks what each step compares
 * and records the divergences. The address rule is in docs/oracle-diff.md.
 */
import { readFileSync } from "node:fs";
import type { Settings } from "../kernel/settings.js";
import { hasErrors } from "../scenario/diagnostics.js";
import { processCreationFirst } from "../scenario/interpreter.js";
import { joinSplitCalls, parseScenario } from "../scenario/parser.js";
import { type StepView, compareOps, pickSmaps } from "./compare.js";
import type { RunOptions } from "./host-runner.js";
import { type CompareField, type DiffDiagnostic, type PlannedStep, scenarioToOps } from "./scenario-to-ops.js";

export interface DiffStep {
  file: string;
  line: number;
  column: number;
  /** The statement as written (canonical spacing). */
  text: string;
  pid?: number;
  /** The runner task that ran it. */
  tid?: number;
  /** The runner op; absent when the statement ran on neither side. */
  op?: string;
  note?: string;
  host?: StepView;
  model?: StepView;
  /** The fields compared. */
  compared: readonly CompareField[];
  /** The compared fields where host and model differ. */
  differs: CompareField[];
}

export interface DiffSummary {
  file: string;
  /** Statements in the file (comments and blank lines aside). */
  statements: number;
  /** Steps run on both sides and compared. */
  compared: number;
  /** Statements that ran on neither side (not expressible, no runner op, not an operation). */
  skipped: number;
  /** Compared steps with at least one divergence. */
  divergent: number;
  /** The host kernel's release. */
  hostKernel: string | null;
}

export interface DiffResult {
  file: string;
  /** Parser and translation errors: with any, nothing ran. */
  diagnostics: { file: string; line: number; column: number; endColumn?: number; severity: "error" | "warning"; code: string; message: string }[];
  malformed: boolean;
  steps: DiffStep[];
  summary: DiffSummary;
  /** The model's settings (the host's, from readHostSettings()). */
  settings?: Partial<Settings>;
}

export interface DiffOptions {
  file?: string;
  host?: RunOptions;
  settings?: Partial<Settings>;
}

function hostKernel(): string | null {
  try {
    return readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  } catch {
    return null;
  }
}

/** Parses and translates a scenario; diagnostics when it is malformed. */
export function translateScenario(source: string, file: string): { steps: PlannedStep[]; ops: ReturnType<typeof scenarioToOps>["ops"]; diagnostics: DiffResult["diagnostics"] } {
  const parsed = parseScenario(source, file, { rawFallback: true });
  const joined = joinSplitCalls(parsed.statements, { file });
  const diagnostics: DiffResult["diagnostics"] = [...parsed.diagnostics, ...joined.diagnostics].map((d) => ({ ...d }));
  if (hasErrors(parsed.diagnostics) || hasErrors(joined.diagnostics)) return { steps: [], ops: [], diagnostics };
  const t = scenarioToOps(processCreationFirst(joined.statements), file);
  diagnostics.push(...t.diagnostics.map((d: DiffDiagnostic) => ({ ...d })));
  return { steps: t.steps, ops: t.ops, diagnostics };
}

/** Runs a scenario on the host and on the model and compares every step. */
export async function diffScenario(source: string, options: DiffOptions = {}): Promise<DiffResult> {
  const file = options.file ?? "<input>";
  const t = translateScenario(source, file);
  const empty: DiffSummary = { file, statements: t.steps.length, compared: 0, skipped: 0, divergent: 0, hostKernel: hostKernel() };
  if (t.diagnostics.some((d) => d.severity === "error")) return { file, diagnostics: t.diagnostics, malformed: true, steps: [], summary: empty };

  const c = await compareOps(t.ops, { ...(options.settings ? { settings: options.settings } : {}), ...(options.host ? { host: options.host } : {}) });
  const byStep = new Map(c.steps.map((p, i) => [i, p] as const));
  const brkBase: { host: bigint | null; model: bigint | null } = { host: null, model: null };
  const steps: DiffStep[] = [];
  let opIndex = 0;
  for (const p of t.steps) {
    const d: DiffStep = { file, line: p.line, column: p.column, text: p.text, ...(p.pid !== undefined ? { pid: p.pid } : {}), ...(p.note !== undefined ? { note: p.note } : {}), compared: [], differs: [] };
    if (p.op !== undefined) {
      const pair = byStep.get(opIndex++)!;
      d.tid = p.op.tid;
      d.op = p.op.op;
      d.host = shape(pair.host, p, brkBase, "host");
      d.model = shape(pair.model, p, brkBase, "model");
      d.compared = p.fields ?? [];
      for (const f of d.compared) {
        if (JSON.stringify(d.host[f]) !== JSON.stringify(d.model[f])) d.differs.push(f);
      }
    }
    steps.push(d);
  }
  const compared = steps.filter((s) => s.op !== undefined).length;
  return {
    file,
    diagnostics: t.diagnostics,
    malformed: false,
    steps,
    summary: { ...empty, compared, skipped: steps.length - compared, divergent: steps.filter((s) => s.differs.length > 0).length },
    settings: c.settings,
  };
}

/**
 * What is compared of one side's view: smaps reduced to the step's fields;
 * brk results written relative to the first brk result on that side
 * (`B+0x1000`), since the two heaps start at unrelated addresses.
 */
function shape(v: StepView, p: PlannedStep, brkBase: { host: bigint | null; model: bigint | null }, side: "host" | "model"): StepView {
  let out: StepView = v;
  if (v.op === "smaps" && v.lines !== undefined) out = { ...out, lines: pickSmaps(v.lines, p.smapsKeys) };
  if (v.op === "brk" && v.ret !== null && /^-?\d+$/.test(v.ret)) {
    const r = BigInt(v.ret);
    const base = brkBase[side] ?? r;
    brkBase[side] = base;
    const dlt = r - base;
    out = { ...out, ret: dlt >= 0n ? `B+0x${dlt.toString(16)}` : `B-0x${(-dlt).toString(16)}` };
  }
  return out;
}

/** True when every compared step agrees. */
export function agrees(r: DiffResult): boolean {
  return !r.malformed && r.summary.divergent === 0;
}
