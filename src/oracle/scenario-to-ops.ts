/**
 * Scenario statements (docs/grammar.md) -> host runner ops
 * (docs/oracle-runner.md), so that one scenario file runs on the host kernel
 * and on the model (compare.ts) and `mmsim diff` can put the two side by side.
 *
 * - Step numbers are the statements' line numbers, so `$12` is the result of
 *   line 12 on whichever side ran it.
 * - A bound name becomes a reference `$N` to the step of the line that bound
 *   it, plus or minus a constant (`p + 2 * 4096` is `$N+8192`). Anything
 *   else done to a bound name (`p * 2`, `q - p`, `p | 1`) cannot be said to
 *   the runner: the step gets a "not expressible for the host" note and runs
 *   on neither side (and names it binds have no value later).
 * - Paths: the runner works in a flat sandbox directory and refuses other
 *   absolute paths. `/tmp/NAME` becomes the relative `NAME` (the model's
 *   working directory is compare.ts's MODEL_SANDBOX, so it sees the same
 *   names); relative names stay; /dev/zero and /dev/null (which the runner
 *   opens) pass unchanged; any other absolute path is not expressible.
 * - Processes: the initial pid label is task 0; `fork()`, and clone()/clone3()
 *   without CLONE_THREAD, are `fork NEWTID`; clone with CLONE_THREAD is
 *   `thread NEWTID`. The child's label is the call's written result
 *   (`fork() = 101`), as in the interpreter. exit_group/exit and `+++ exited
 *   with N +++` / `+++ killed by SIG +++` lines of a child are `exit`.
 * - Memory accesses are load/store ops, checkpoints maps()/smaps() are
 *   maps/smaps ops. Expected results written in the file are not checked
 *   here (that is `mmsim run`'s job); diff compares the two kernels.
 *
 * Bad input (an unknown name, a missing argument, a string where a number
 * belongs) is a DiffDiagnostic with file:line:column.
 */
import { type CallStmt, type Expr, type Loc, type Statement, printExpr } from "../scenario/ast.js";
import { constantValue } from "../scenario/flags.js";
import { type Arg, type Op, type OpName, bytes, op, ref } from "./runner-protocol.js";

export interface DiffDiagnostic {
  file: string;
  line: number;
  column: number;
  endColumn?: number;
  severity: "error";
  /** E_UNKNOWN_NAME, E_MISSING_ARG, E_BAD_ARG, E_UNKNOWN_PID */
  code: string;
  message: string;
}

/** What diff compares for a step (fields of compare.ts's StepView). */
export type CompareField = "ret" | "errno" | "error" | "value" | "bytes" | "done" | "signal" | "vec" | "stat" | "minflt" | "majflt" | "lines";

/** One scenario statement, and the op it became (or why it did not). */
export interface PlannedStep {
  line: number;
  column: number;
  /** The statement as written (canonical spacing), with its pid label. */
  text: string;
  pid?: number;
  /** The op run on both sides; absent when the statement runs on neither. */
  op?: Op;
  /** Why the statement runs on neither side, or what is special about it. */
  note?: string;
  /** The fields compared (absent: nothing is, e.g. a skipped step). */
  fields?: readonly CompareField[];
  /** smaps: the fields kept from each VMA's block (Rss, Pss, ...). */
  smapsKeys?: readonly string[];
}

export interface Translation {
  steps: PlannedStep[];
  ops: Op[];
  diagnostics: DiffDiagnostic[];
}

/** The smaps fields compared at an smaps() checkpoint without a field name. */
export const DIFF_SMAPS_KEYS = ["Rss", "Pss", "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty", "Anonymous", "AnonHugePages", "Swap"] as const;

const ALL: readonly CompareField[] = ["ret", "errno", "error", "value", "bytes", "done", "signal", "vec", "stat", "minflt", "majflt", "lines"];
/** The runner's fork/thread/exit and /proc reads carry its own faults (docs/oracle-runner.md, Fault counts); a child's pid is the host's. */
const NO_FAULTS = ALL.filter((f) => f !== "minflt" && f !== "majflt");
const PROCESS_FIELDS = NO_FAULTS.filter((f) => f !== "ret");

/** Not expressible on the host: the statement is skipped on both sides. */
class Skip {
  constructor(readonly why: string) {}
}
/** Bad input: a diagnostic. */
class Bad {
  constructor(
    readonly loc: Loc,
    readonly code: string,
    readonly message: string,
  ) {}
}

/** An argument value: a constant, or a step's result plus a constant. */
type Val = { kind: "const"; v: bigint } | { kind: "ref"; step: number; off: bigint };

const LOADS = new Set(["load8", "load16", "load32", "load64"]);
const STORES = new Set(["store8", "store16", "store32", "store64"]);
const CREATING = new Set(["fork", "vfork", "clone", "clone2", "clone3"]);
const CLONE_THREAD = constantValue("CLONE_THREAD") ?? 0x10000n;
const CLONE_VM = constantValue("CLONE_VM") ?? 0x100n;
const CLONE_VFORK = constantValue("CLONE_VFORK") ?? 0x4000n;
const AT_FDCWD = -100n;
const SIGNAL_NUMBERS: Record<string, number> = { SIGSEGV: 11, SIGBUS: 7, SIGKILL: 9, SIGTERM: 15, SIGABRT: 6 };

const decoder = new TextDecoder();

function statementText(s: Statement): string {
  switch (s.kind) {
    case "call":
      return `${s.bind ? `${s.bind.name} = ` : ""}${s.name}(${s.args.map(printExpr).join(", ")})`;
    case "signal":
      return `--- ${s.signal}${s.info ? " " + printExpr(s.info) : ""} ---`;
    case "stopped":
      return `--- stopped by ${s.signal} ---`;
    case "exited":
      return `+++ exited with ${s.status} +++`;
    case "killed":
      return `+++ killed by ${s.signal} +++`;
    case "superseded":
      return `+++ superseded by execve in pid ${s.byPid} +++`;
    case "event":
      return s.text;
    case "message":
      return `strace: ${s.text}`;
    case "frame":
      return ` > ${s.text}`;
  }
}

/** Translates statements (already joined and ordered as the interpreter does) into runner ops. */
export function scenarioToOps(statements: readonly Statement[], file = "<input>"): Translation {
  return new Translator(statements, file).run();
}

class Translator {
  private readonly steps: PlannedStep[] = [];
  private readonly ops: Op[] = [];
  private readonly diagnostics: DiffDiagnostic[] = [];
  /** Bound name -> the step holding its value, or why it has none on the host. */
  private readonly names = new Map<string, { step: number } | { why: string }>();
  /** Scenario pid label -> runner task id; undefined label = the initial process. */
  private readonly tasks = new Map<number, { tid: number; process: number } | { gone: string }>();
  private readonly initialLabel: number | undefined;
  private nextTid = 1;

  constructor(
    private readonly statements: readonly Statement[],
    private readonly file: string,
  ) {
    const created = new Set<number>();
    for (const s of statements) {
      if (s.kind === "call" && CREATING.has(s.name) && s.result?.kind === "value" && s.result.value.kind === "int") created.add(Number(s.result.value.value));
    }
    this.initialLabel = statements.find((s) => s.pid !== undefined && !created.has(s.pid))?.pid;
  }

  run(): Translation {
    const consumedSignal = new Set<number>();
    for (let i = 0; i < this.statements.length; i++) {
      const s = this.statements[i]!;
      const label = s.pid ?? this.initialLabel;
      const step: PlannedStep = { line: s.loc.line, column: s.loc.column, text: statementText(s), ...(label !== undefined ? { pid: label } : {}) };
      try {
        this.statement(s, step, i, consumedSignal);
      } catch (e) {
        if (e instanceof Skip) {
          step.note = e.why;
          delete step.op;
          delete step.fields;
          if (s.kind === "call" && s.bind) this.names.set(s.bind.name, { why: `line ${s.loc.line} did not run on the host (${e.why})` });
        } else if (e instanceof Bad) {
          this.diagnostics.push({ file: this.file, line: e.loc.line, column: e.loc.column, ...(e.loc.endLine === undefined ? { endColumn: e.loc.endColumn } : {}), severity: "error", code: e.code, message: e.message });
          continue;
        } else throw e;
      }
      if (step.op !== undefined) this.ops.push(step.op);
      this.steps.push(step);
    }
    return { steps: this.steps, ops: this.ops, diagnostics: this.diagnostics };
  }

  private task(s: Statement): { tid: number; process: number } {
    const label = s.pid ?? this.initialLabel;
    if (label === undefined || label === this.initialLabel) {
      const t = this.tasks.get(-1);
      if (t !== undefined && "gone" in t) throw new Skip(t.gone);
      return { tid: 0, process: 0 };
    }
    const t = this.tasks.get(label);
    if (t === undefined) throw new Bad(s.pidLoc ?? s.loc, "E_UNKNOWN_PID", `pid ${label} was not created by a fork() or clone() earlier in this file`);
    if ("gone" in t) throw new Skip(t.gone);
    return t;
  }

  private statement(s: Statement, step: PlannedStep, index: number, consumedSignal: Set<number>): void {
    switch (s.kind) {
      case "message":
      case "frame":
      case "event":
      case "stopped":
      case "superseded":
        step.note = "not an operation: nothing to compare";
        return;
      case "signal":
        step.note = consumedSignal.has(index) ? "the signal of the access above: compared there" : "a signal line: the signals of accesses are compared at the access";
        return;
      case "exited":
      case "killed": {
        const label = s.pid ?? this.initialLabel;
        if (label === undefined || label === this.initialLabel) {
          step.note = "the initial process ends with the run";
          return;
        }
        const t = this.tasks.get(label);
        if (t === undefined || "gone" in t) {
          step.note = "already gone";
          return;
        }
        const status = s.kind === "exited" ? s.status : 128 + (SIGNAL_NUMBERS[s.signal] ?? 9);
        this.exitTask(s, step, t, label, status);
        return;
      }
      case "call":
        this.call(s, step, index, consumedSignal);
        return;
    }
  }

  private exitTask(s: Statement, step: PlannedStep, t: { tid: number; process: number }, label: number, status: number): void {
    step.op = op(s.loc.line, t.tid, "exit", status);
    step.fields = PROCESS_FIELDS;
    const why = `pid ${label} exited at line ${s.loc.line}`;
    if (t.process === t.tid) {
      // exit_group: every label of the process is gone.
      for (const [l, x] of this.tasks) if (!("gone" in x) && x.process === t.process) this.tasks.set(l, { gone: why });
    } else this.tasks.set(label, { gone: why });
  }

  // -- values -----------------------------------------------------------------

  private val(e: Expr): Val {
    switch (e.kind) {
      case "int":
        return { kind: "const", v: e.value };
      case "null":
        return { kind: "const", v: 0n };
      case "ident": {
        const b = this.names.get(e.name);
        if (b !== undefined) {
          if ("why" in b) throw new Skip(`'${e.name}' has no value on the host: ${b.why}`);
          return { kind: "ref", step: b.step, off: 0n };
        }
        const c = constantValue(e.name);
        if (c !== undefined) return { kind: "const", v: c };
        throw new Bad(e.loc, "E_UNKNOWN_NAME", `unknown name '${e.name}' (not a bound name nor a constant)`);
      }
      case "flags": {
        let v = 0n;
        for (const p of e.parts) v |= this.constOnly(p, "'|'");
        return { kind: "const", v };
      }
      case "shift": {
        const r = this.constOnly(e.right, "'<<'");
        if (r < 0n || r > 63n) throw new Bad(e.loc, "E_BAD_ARG", `shift by ${r} is out of range`);
        return { kind: "const", v: this.constOnly(e.left, "'<<'") << r };
      }
      case "binop": {
        const l = this.val(e.left);
        const r = this.val(e.right);
        if (l.kind === "const" && r.kind === "const") {
          switch (e.op) {
            case "+": return { kind: "const", v: l.v + r.v };
            case "-": return { kind: "const", v: l.v - r.v };
            case "*": return { kind: "const", v: l.v * r.v };
            case "/":
              if (r.v === 0n) throw new Bad(e.loc, "E_BAD_ARG", "division by zero");
              return { kind: "const", v: l.v / r.v };
          }
        }
        if (e.op === "+" && l.kind === "ref" && r.kind === "const") return { ...l, off: l.off + r.v };
        if (e.op === "+" && l.kind === "const" && r.kind === "ref") return { ...r, off: r.off + l.v };
        if (e.op === "-" && l.kind === "ref" && r.kind === "const") return { ...l, off: l.off - r.v };
        throw new Skip(`'${printExpr(e)}' is not expressible for the host (only a bound name plus or minus a constant is)`);
      }
      case "unary": {
        const v = this.constOnly(e.operand, `'${e.op}'`);
        return { kind: "const", v: e.op === "-" ? -v : BigInt.asUintN(64, ~v) };
      }
      case "fdpath":
        return this.val(e.fd);
      case "named":
        return this.val(e.value);
      case "str":
        throw new Bad(e.loc, "E_BAD_ARG", "expected a number, found a string");
      case "raw":
        throw new Bad(e.loc, "E_BAD_ARG", `cannot evaluate '${e.text}'`);
      default:
        throw new Bad(e.loc, "E_BAD_ARG", `expected a number, found '${printExpr(e)}'`);
    }
  }

  private constOnly(e: Expr, what: string): bigint {
    const v = this.val(e);
    if (v.kind === "ref") throw new Skip(`${what} applied to a bound name in '${printExpr(e)}' is not expressible for the host`);
    return v.v;
  }

  private int(e: Expr): Arg {
    const v = this.val(e);
    return v.kind === "const" ? v.v : ref(v.step, v.off);
  }

  private arg(s: CallStmt, i: number, what: string): Expr {
    const a = s.args[i];
    if (a === undefined) throw new Bad(s.nameLoc, "E_MISSING_ARG", `${s.name}() needs a ${what} as argument ${i + 1}`);
    return a;
  }

  private I(s: CallStmt, i: number, what: string): Arg {
    return this.int(this.arg(s, i, what));
  }

  private str(e: Expr): Uint8Array {
    if (e.kind === "str") return e.bytes;
    throw new Bad(e.loc, "E_BAD_ARG", `expected a string, found '${printExpr(e)}'`);
  }

  /** A path in the runner's sandbox: `/tmp/NAME` -> `NAME`. */
  private path(e: Expr): Uint8Array {
    const p = decoder.decode(this.str(e));
    if (p.startsWith("/tmp/") && p.length > 5 && !p.slice(5).includes("/")) return new TextEncoder().encode(p.slice(5));
    if (p === "/dev/zero" || p === "/dev/null") return new TextEncoder().encode(p); // the runner opens these two
    if (p.startsWith("/")) throw new Skip(`the path "${p}" is outside the runner's sandbox (only /tmp/NAME and relative names are expressible for the host)`);
    if (p.split("/").includes("..")) throw new Skip(`the path "${p}" leaves the runner's sandbox`);
    return new TextEncoder().encode(p);
  }

  private bind(s: CallStmt): void {
    if (s.bind) this.names.set(s.bind.name, { step: s.loc.line });
  }

  // -- calls ------------------------------------------------------------------

  private call(s: CallStmt, step: PlannedStep, index: number, consumedSignal: Set<number>): void {
    if (s.unfinished || s.resumed || s.detached) {
      step.note = "half of a split call with no partner: not run";
      return;
    }
    const t = this.task(s);
    const n = s.loc.line;
    const mk = (name: OpName, ...args: Arg[]): void => {
      step.op = op(n, t.tid, name, ...args);
      step.fields ??= ALL;
    };
    const name = s.name;
    if (LOADS.has(name)) mk(name as OpName, this.I(s, 0, "address"));
    else if (STORES.has(name)) mk(name as OpName, this.I(s, 0, "address"), this.I(s, 1, "value"));
    else if (name === "load") mk("load", this.I(s, 0, "address"), this.I(s, 1, "length"));
    else if (name === "store") mk("store", this.I(s, 0, "address"), bytes(this.str(this.arg(s, 1, "string"))));
    else if (name === "maps" || name === "smaps") {
      step.fields = NO_FAULTS;
      if (name === "smaps") {
        const f = s.args[1];
        step.smapsKeys = f === undefined ? DIFF_SMAPS_KEYS : [decoder.decode(this.str(f)).replace(/[^A-Za-z0-9_]/g, "")];
        if (s.args[0] !== undefined) this.val(s.args[0]); // checked for bad names; every created region is compared
      }
      mk(name);
      if (s.bind) throw new Skip(`a value bound from ${name}() is not expressible for the host`);
      return;
    } else if (["smaps_rollup", "meminfo", "vmstat", "status", "statm"].includes(name)) {
      throw new Skip(`${name}() covers the whole runner (or machine), not the scenario's regions: not compared`);
    } else this.syscall(s, step, t, mk);
    // Pair a `--- SIG ---` line of the same pid right after an access with it.
    if (LOADS.has(name) || STORES.has(name) || name === "load" || name === "store") {
      const next = this.statements[index + 1];
      if (next?.kind === "signal" && (next.pid ?? this.initialLabel) === (s.pid ?? this.initialLabel)) consumedSignal.add(index + 1);
    }
    this.bind(s);
  }

  private syscall(s: CallStmt, step: PlannedStep, t: { tid: number; process: number }, mk: (name: OpName, ...args: Arg[]) => void): void {
    const I = (i: number, what: string): Arg => this.I(s, i, what);
    switch (s.name) {
      case "mmap":
      case "mmap2":
        return mk("mmap", I(0, "address"), I(1, "length"), I(2, "protection"), I(3, "flags"), I(4, "descriptor"), I(5, "offset"));
      case "munmap":
        return mk("munmap", I(0, "address"), I(1, "length"));
      case "mprotect":
        return mk("mprotect", I(0, "address"), I(1, "length"), I(2, "protection"));
      case "msync":
        return mk("msync", I(0, "address"), I(1, "length"), I(2, "flags"));
      case "madvise":
        return mk("madvise", I(0, "address"), I(1, "length"), I(2, "advice"));
      case "mremap":
        return s.args.length > 4
          ? mk("mremap", I(0, "old address"), I(1, "old length"), I(2, "new length"), I(3, "flags"), I(4, "new address"))
          : mk("mremap", I(0, "old address"), I(1, "old length"), I(2, "new length"), I(3, "flags"));
      case "mlock":
      case "munlock":
        return mk(s.name, I(0, "address"), I(1, "length"));
      case "mlock2":
        return mk("mlock2", I(0, "address"), I(1, "length"), s.args[2] ? I(2, "flags") : 0n);
      case "mlockall":
        // MCL_CURRENT populates the runner's own mappings too: its fault count is not the scenario's.
        step.fields = NO_FAULTS;
        return mk("mlockall", I(0, "flags"));
      case "munlockall":
        return mk("munlockall");
      case "brk":
        return mk("brk", I(0, "address"));
      case "mincore":
        return mk("mincore", I(0, "address"), I(1, "length"));
      case "open":
        return mk("openat", bytes(this.path(this.arg(s, 0, "path"))), I(1, "flags"), s.args[2] ? I(2, "mode") : 0o644);
      case "openat": {
        const dirfd = this.val(this.arg(s, 0, "directory descriptor"));
        if (dirfd.kind !== "const" || BigInt.asIntN(64, dirfd.v) !== AT_FDCWD) throw new Skip("openat relative to a directory descriptor is not expressible for the host (use AT_FDCWD)");
        return mk("openat", bytes(this.path(this.arg(s, 1, "path"))), I(2, "flags"), s.args[3] ? I(3, "mode") : 0o644);
      }
      case "close":
        return mk("close", I(0, "descriptor"));
      case "read":
      case "pread64": {
        const buf = this.arg(s, 1, "buffer");
        const count = I(2, "count");
        if (s.name === "pread64") {
          if (buf.kind !== "str") throw new Skip("pread64() into an address is not expressible for the host (the runner's pread returns the bytes)");
          return mk("pread", I(0, "descriptor"), count, I(3, "offset"));
        }
        return buf.kind === "str" ? mk("read", I(0, "descriptor"), count) : mk("read_into", I(0, "descriptor"), this.int(buf), count);
      }
      case "write":
      case "pwrite64": {
        const buf = this.arg(s, 1, "buffer");
        const countExpr = s.args[2];
        if (buf.kind !== "str") {
          if (s.name === "pwrite64") throw new Skip("pwrite64() from an address is not expressible for the host");
          if (countExpr === undefined) throw new Bad(s.nameLoc, "E_MISSING_ARG", "write() from an address needs a count");
          return mk("write_from", I(0, "descriptor"), this.int(buf), this.int(countExpr));
        }
        let data = buf.bytes;
        if (countExpr !== undefined) {
          const c = this.val(countExpr);
          if (c.kind !== "const") throw new Skip("a count computed from a bound name is not expressible for the host");
          if (c.v < 0n || c.v > 1n << 24n) throw new Bad(countExpr.loc, "E_BAD_ARG", `count ${c.v} is out of range for written data`);
          const padded = new Uint8Array(Number(c.v));
          padded.set(data.subarray(0, Number(c.v)));
          data = padded;
        }
        return s.name === "write" ? mk("write", I(0, "descriptor"), bytes(data)) : mk("pwrite", I(0, "descriptor"), bytes(data), I(3, "offset"));
      }
      case "lseek":
        return mk("lseek", I(0, "descriptor"), I(1, "offset"), I(2, "whence"));
      case "ftruncate":
        return mk("ftruncate", I(0, "descriptor"), I(1, "length"));
      case "fsync":
      case "fdatasync":
        return mk(s.name, I(0, "descriptor"));
      case "unlink":
        return mk("unlink", bytes(this.path(this.arg(s, 0, "path"))));
      case "unlinkat": {
        const dirfd = this.val(this.arg(s, 0, "directory descriptor"));
        if (dirfd.kind !== "const" || BigInt.asIntN(64, dirfd.v) !== AT_FDCWD) throw new Skip("unlinkat relative to a directory descriptor is not expressible for the host");
        if (s.args[2] !== undefined && this.constOnly(s.args[2], "flags") !== 0n) throw new Skip("unlinkat flags are not expressible for the host");
        return mk("unlink", bytes(this.path(this.arg(s, 1, "path"))));
      }
      case "fstat":
        return mk("fstat", I(0, "descriptor"));
      case "fadvise64":
      case "fadvise64_64":
      case "posix_fadvise":
        return mk("posix_fadvise", I(0, "descriptor"), I(1, "offset"), I(2, "length"), I(3, "advice"));
      case "memfd_create":
        return mk("memfd_create", bytes(this.str(this.arg(s, 0, "name"))), I(1, "flags"));
      case "getrusage":
        step.fields = ["errno", "error", "minflt", "majflt"];
        return mk("rusage");
      case "fork":
        return this.fork(s, step, t, mk, "fork");
      case "clone":
      case "clone3": {
        let flags = 0n;
        if (s.name === "clone") {
          const f = s.args.find((a) => a.kind === "named" && a.name === "flags") ?? s.args.find((a) => a.kind !== "named");
          if (f !== undefined) flags = this.constOnly(f, "clone flags");
        } else {
          let a = this.arg(s, 0, "clone_args struct");
          if (a.kind === "inout" && a.input !== null) a = a.input;
          if (a.kind !== "struct") throw new Bad(a.loc, "E_BAD_ARG", "clone3() needs its {flags=..., ...} struct");
          const f = a.fields.find((x) => x.name === "flags");
          if (f !== undefined) flags = this.constOnly(f.value, "clone flags");
        }
        if (flags & CLONE_THREAD) return this.fork(s, step, t, mk, "thread");
        if (flags & (CLONE_VM | CLONE_VFORK)) throw new Skip("clone with CLONE_VM or CLONE_VFORK but not CLONE_THREAD is not expressible for the host");
        return this.fork(s, step, t, mk, "fork");
      }
      case "vfork":
        throw new Skip("vfork is not expressible for the host");
      case "exit_group":
      case "exit": {
        const label = s.pid ?? this.initialLabel;
        if (label === undefined || label === this.initialLabel) {
          if (s.name === "exit_group" || t.tid === 0) {
            step.note = "the initial process ends with the run";
            this.tasks.set(-1, { gone: `the initial process exited at line ${s.loc.line}` });
            throw new Skip(step.note);
          }
        }
        const status = s.args[0] ? this.constOnly(s.args[0], "exit status") : 0n;
        if (s.name === "exit_group" && t.process === 0) throw new Skip("exit_group of the initial process: it ends with the run");
        const target = s.name === "exit_group" ? { tid: t.process === t.tid ? t.tid : this.processLeaderTid(t.process), process: t.process } : t;
        this.exitTask(s, step, target, label ?? -1, Number(status));
        if (s.name === "exit_group") this.tasks.set(label ?? -1, { gone: `exit_group at line ${s.loc.line}` });
        return;
      }
      default:
        throw new Skip(`${s.name}() has no runner op: not compared`);
    }
  }

  private processLeaderTid(process: number): number {
    return process;
  }

  private fork(s: CallStmt, step: PlannedStep, t: { tid: number; process: number }, mk: (name: OpName, ...args: Arg[]) => void, kind: "fork" | "thread"): void {
    const tid = this.nextTid++;
    if (tid >= 1024) throw new Skip("more than 1023 tasks");
    mk(kind, tid);
    step.fields = PROCESS_FIELDS;
    const exp = s.result;
    let label: number | undefined;
    if (exp?.kind === "value") {
      const v = this.val(exp.value);
      if (v.kind === "const") label = Number(v.v);
    }
    if (label !== undefined) this.tasks.set(label, { tid, process: kind === "fork" ? tid : t.process });
    else step.note = `the child has no pid label (write '= PID' on the ${s.name}() line to give its lines a prefix)`;
  }
}
