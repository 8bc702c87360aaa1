/**
 * The host runner's protocol: ops in (one text line each), observations out
 * (one JSON object each). The C side is src/oracle/runner.c; the format is
 * described in docs/oracle-runner.md.
 *
 * Input line:  STEP TID OP ARG...
 *   ARG is a decimal or 0x-hex 64-bit integer (possibly negative), a reference
 *   `$N`, `$N+K`, `$N-K` (the result value of step N plus/minus K, resolved by
 *   the runner, so a scenario can say "p + 4096" where p is the address the
 *   host chose), or a double-quoted C-escaped byte string.
 * Output: a `hello` object first, then exactly one observation per non-blank,
 * non-comment input line, in input order. 64-bit values travel as strings.
 */

/**
 * Op names and their argument kinds: `i` integer or reference, `s` byte
 * string; kinds after `|` are optional. Mirrors g_specs[] in runner.c.
 */
export const OP_SIGNATURES = {
  mmap: "iiiiii", // addr len prot flags fd off
  munmap: "ii", // addr len
  mprotect: "iii", // addr len prot
  msync: "iii", // addr len flags
  mincore: "ii", // addr len -> vec
  madvise: "iii", // addr len advice
  mremap: "iiii|i", // old oldlen newlen flags [newaddr]
  brk: "i", // addr -> the raw syscall result (the break)
  mlock: "ii",
  munlock: "ii",
  mlock2: "iii",
  mlockall: "i",
  munlockall: "",
  openat: "si|i", // path flags [mode], relative to the sandbox (AT_FDCWD)
  close: "i",
  read: "ii", // fd len -> bytes
  read_into: "iii", // fd addr len: read() into memory
  write: "is", // fd "bytes"
  write_from: "iii", // fd addr len: write() from memory
  pread: "iii", // fd len off -> bytes
  pwrite: "isi", // fd "bytes" off
  lseek: "iii", // fd off whence
  ftruncate: "ii",
  fsync: "i",
  fdatasync: "i",
  unlink: "s",
  fstat: "i", // -> stat
  posix_fadvise: "iiii", // fd off len advice (the raw syscall: -1/errno)
  memfd_create: "si", // name flags
  fork: "i", // NEWTID -> ret = child pid, child {tid, pid}
  thread: "i", // NEWTID -> thread {tid, kernelTid, stack range}
  exit: "|i", // [status]: a forked task exits its process, a thread only itself
  load8: "i",
  load16: "i",
  load32: "i",
  load64: "i",
  store8: "ii",
  store16: "ii",
  store32: "ii",
  store64: "ii",
  load: "ii", // addr len -> bytes
  store: "is", // addr "bytes"
  fill: "iii", // addr len byte (memset, one byte at a time)
  rusage: "",
  maps: "",
  smaps: "",
  smaps_rollup: "",
  status: "",
  checkpoint: "",
  bench_fault_anon: "i", // PAGES: time write-first touches of a fresh private anonymous mapping -> bench
  bench_fault_file: "i", // PAGES: time read touches of a cached, fsynced sandbox file mapped MAP_SHARED read-only -> bench
  bench_vma_ops: "ii", // LIVE PAIRS: time PAIRS one-page mmap+munmap pairs with LIVE one-page mappings in place -> bench
} as const satisfies Record<string, string>;

export type OpName = keyof typeof OP_SIGNATURES;

export const OP_NAMES: readonly OpName[] = Object.keys(OP_SIGNATURES) as OpName[];

export function isOpName(name: string): name is OpName {
  return Object.prototype.hasOwnProperty.call(OP_SIGNATURES, name);
}

/** Highest task id + 1 the runner accepts (MAX_TID in runner.c). */
export const MAX_TID = 1024;

/** `$step+offset`: the result value of an earlier step, plus a constant. */
export interface Ref {
  readonly kind: "ref";
  readonly step: number;
  readonly offset: bigint;
}

/** A byte-string argument (paths, data to write or store). */
export interface Bytes {
  readonly kind: "bytes";
  readonly data: Uint8Array;
}

export type Arg = bigint | number | Ref | Bytes;

export interface Op {
  readonly step: number;
  /** The task that executes it: 0 is the initial process; others come from fork/thread. */
  readonly tid: number;
  readonly op: OpName;
  readonly args: readonly Arg[];
}

export function ref(step: number, offset: bigint | number = 0n): Ref {
  return { kind: "ref", step, offset: BigInt(offset) };
}

/** Bytes from a Uint8Array, or from a string encoded as UTF-8. */
export function bytes(data: string | Uint8Array): Bytes {
  return { kind: "bytes", data: typeof data === "string" ? new TextEncoder().encode(data) : data };
}

export function op(step: number, tid: number, name: OpName, ...args: Arg[]): Op {
  return { step, tid, op: name, args };
}

export type ProtocolErrorCode = "BAD_OP" | "BAD_ARG" | "BAD_OUTPUT";

/** An error with a stable code and a data payload, serialisable with toJSON(). */
export class CodedError<C extends string> extends Error {
  constructor(
    readonly code: C,
    message: string,
    readonly data: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
  toJSON(): { code: C; message: string; data: Readonly<Record<string, unknown>> } {
    return { code: this.code, message: this.message, data: this.data };
  }
}

/** A malformed op (caller's bug) or malformed runner output (runner's bug). */
export class ProtocolError extends CodedError<ProtocolErrorCode> {
  override readonly name = "ProtocolError";
}

const INT64_MIN = -(1n << 63n);
const UINT64_MAX = (1n << 64n) - 1n;

function formatInteger(value: bigint | number, where: string): string {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      throw new ProtocolError("BAD_ARG", `${where}: ${value} is not a safe integer; pass a bigint`, { value });
    }
    return String(value);
  }
  if (value < INT64_MIN || value > UINT64_MAX) {
    throw new ProtocolError("BAD_ARG", `${where}: ${value} does not fit in 64 bits`, { value: String(value) });
  }
  return value.toString();
}

/** C-style quoting understood by runner.c (\xHH takes exactly two digits). */
export function quoteBytes(data: Uint8Array): string {
  let out = '"';
  for (const b of data) {
    if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += "\\\\";
    else if (b === 0x0a) out += "\\n";
    else if (b === 0x09) out += "\\t";
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += "\\x" + b.toString(16).padStart(2, "0");
  }
  return out + '"';
}

export function formatArg(arg: Arg, where = "argument"): string {
  if (typeof arg === "number" || typeof arg === "bigint") return formatInteger(arg, where);
  if (arg.kind === "ref") {
    if (!Number.isSafeInteger(arg.step) || arg.step < 0) {
      throw new ProtocolError("BAD_ARG", `${where}: reference to step ${arg.step}`, { step: arg.step });
    }
    if (arg.offset === 0n) return `$${arg.step}`;
    const k = arg.offset < 0n ? -arg.offset : arg.offset;
    return `$${arg.step}${arg.offset < 0n ? "-" : "+"}${formatInteger(k, where)}`;
  }
  return quoteBytes(arg.data);
}

/** One protocol line (without the newline). Throws ProtocolError on a malformed op. */
export function serializeOp(o: Op): string {
  const where = `serializeOp(step ${o.step}, ${o.op})`;
  if (!Number.isSafeInteger(o.step)) throw new ProtocolError("BAD_OP", `${where}: step must be an integer`);
  if (!Number.isInteger(o.tid) || o.tid < 0 || o.tid >= MAX_TID) {
    throw new ProtocolError("BAD_OP", `${where}: tid ${o.tid} outside 0..${MAX_TID - 1}`);
  }
  if (!isOpName(o.op)) throw new ProtocolError("BAD_OP", `serializeOp(step ${o.step}): unknown op '${String(o.op)}'`);
  const sig = OP_SIGNATURES[o.op];
  const [required, optional = ""] = sig.split("|") as [string, string?];
  const kinds = required + optional;
  if (o.args.length < required.length || o.args.length > kinds.length) {
    const want = optional ? `${required.length}..${kinds.length}` : String(required.length);
    throw new ProtocolError("BAD_OP", `${where}: takes ${want} arguments, got ${o.args.length}`);
  }
  const parts: string[] = [String(o.step), String(o.tid), o.op];
  o.args.forEach((a, i) => {
    const argWhere = `${where} argument ${i + 1}`;
    const isBytes = typeof a === "object" && a.kind === "bytes";
    if ((kinds[i] === "s") !== isBytes) {
      throw new ProtocolError("BAD_ARG", `${argWhere}: expected ${kinds[i] === "s" ? "bytes" : "an integer or reference"}`);
    }
    parts.push(formatArg(a, argWhere));
  });
  return parts.join(" ");
}

/** Lines for all ops, each ending with a newline. */
export function serializeOps(ops: readonly Op[]): string {
  return ops.map((o) => serializeOp(o) + "\n").join("");
}

// ---------------------------------------------------------------------------
// Output.

export interface Limit {
  /** null: unlimited */
  readonly soft: bigint | null;
  readonly hard: bigint | null;
}

export interface ProtectedRange {
  readonly start: bigint;
  readonly end: bigint;
  readonly name: string;
}

/** The runner's first line: who it is and its own address-space layout. */
export interface Hello {
  readonly kind: "hello";
  readonly version: number;
  readonly pid: number;
  readonly pageSize: number;
  /** mkdtemp directory under /tmp; the runner's cwd, removed at the end */
  readonly sandbox: string;
  /** The program break at the hello (after the runner settled its heap). */
  readonly brk: bigint;
  /** mm->start_brk, from /proc/self/stat */
  readonly startBrk: bigint;
  /** Runner-internal descriptors are >= fdBase (and 0..2); ops on them are refused. */
  readonly fdBase: number;
  readonly opTimeoutMs: number;
  readonly maxBytes: number;
  readonly maxStr: number;
  readonly maxText: number;
  readonly maxTasks: number;
  readonly limits: Readonly<Record<"stack" | "memlock" | "as" | "data" | "nofile", Limit>>;
  /** The runner's mappings at the hello: MAP_FIXED/munmap/mprotect/mremap/stores over them are refused. */
  readonly protectedRanges: readonly ProtectedRange[];
  /** /proc/self/maps at the hello, byte for byte. */
  readonly maps: string;
}

export interface FaultSignal {
  /** SIGSEGV, SIGBUS */
  readonly name: string;
  /** SEGV_MAPERR, SEGV_ACCERR, BUS_ADRERR, BUS_OBJERR, ... (or a number as text) */
  readonly code: string;
  /** si_addr */
  readonly addr: bigint;
}

export interface StatInfo {
  readonly size: bigint;
  readonly ino: bigint;
  readonly dev: bigint;
  readonly devMajor: number;
  readonly devMinor: number;
  readonly blocks: bigint;
  readonly blksize: number;
  readonly mode: number;
  readonly nlink: number;
}

export interface RusageInfo {
  /** getrusage(RUSAGE_SELF) of the executing task's process */
  readonly minflt: number;
  readonly majflt: number;
  readonly maxrssKb: number;
  /** getrusage(RUSAGE_THREAD) of the executing thread */
  readonly threadMinflt: number;
  readonly threadMajflt: number;
}

/** bench_* ops: the timed part only (clock_gettime(CLOCK_MONOTONIC), getrusage deltas). */
export interface BenchInfo {
  readonly ns: bigint;
  /** pages touched, or mmap+munmap pairs */
  readonly ops: number;
  /** bench_vma_ops: the live mappings in place (0 otherwise) */
  readonly live: number;
  readonly minflt: number;
  readonly majflt: number;
}

export interface ThreadInfo {
  readonly tid: number;
  readonly pid: number;
  readonly kernelTid: number;
  /** The thread's stack mapping, guard page included: [stackStart, stackEnd). */
  readonly stackStart: bigint;
  readonly stackEnd: bigint;
  readonly guardSize: number;
}

export interface Observation {
  readonly kind: "observation";
  readonly step: number | null;
  readonly tid: number | null;
  /** pid of the executing process (absent on errors found by the controller) */
  readonly pid: number | null;
  readonly op: OpName | null;
  /** The raw return value; null when the op produced none (fault, refusal, error). */
  readonly ret: bigint | null;
  /** errno name when the syscall returned -1 */
  readonly errno: string | null;
  /** Why the runner would not execute it (it would touch the runner itself). */
  readonly refused: string | null;
  /** Parse errors, dead tasks, watchdog timeouts. */
  readonly error: string | null;
  /** getrusage(RUSAGE_SELF) deltas around the op, in the executing process. */
  readonly minflt: number;
  readonly majflt: number;
  readonly signal?: FaultSignal;
  /** load8..load64 */
  readonly value?: bigint;
  /** read, pread, load (on a fault: the bytes before it) */
  readonly bytes?: Uint8Array;
  /** load/store/fill that faulted: bytes done before the fault */
  readonly done?: number;
  /** mincore */
  readonly vec?: readonly number[];
  readonly stat?: StatInfo;
  readonly rusage?: RusageInfo;
  /** bench_fault_anon, bench_fault_file, bench_vma_ops */
  readonly bench?: BenchInfo;
  /** fork */
  readonly child?: { readonly tid: number; readonly pid: number };
  readonly thread?: ThreadInfo;
  readonly exit?: { readonly status: number; readonly kind: "process" | "thread" };
  /** maps, smaps, smaps_rollup, status */
  readonly text?: string;
  readonly truncated?: boolean;
  /** the offending input line, for parse errors */
  readonly line?: string;
}

/** The runner died of an unexpected signal (its own bug, or a scenario that clobbered it). */
export interface FatalReport {
  readonly kind: "fatal";
  readonly message: string;
}

export type RunnerMessage = Hello | Observation | FatalReport;

type Json = Record<string, unknown>;

function bad(message: string, line: string): never {
  throw new ProtocolError("BAD_OUTPUT", message, { line: line.length > 200 ? line.slice(0, 200) + "..." : line });
}

/** The runner escapes every byte >= 0x7f as \u00XX: undo that into UTF-8 text. */
function bytesText(s: string): string {
  if (!/[\u0080-\u00ff]/.test(s)) return s;
  return new TextDecoder("utf-8").decode(Uint8Array.from(s, (c) => c.charCodeAt(0)));
}

function hexBytes(hex: string, line: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex)) bad("bad hex bytes", line);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function big(v: unknown, what: string, line: string): bigint {
  if (typeof v !== "string" || !/^-?(0x[0-9a-f]+|[0-9]+)$/.test(v)) bad(`${what}: expected a numeric string`, line);
  return v.startsWith("-") ? -BigInt(v.slice(1)) : BigInt(v);
}

function num(v: unknown, what: string, line: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) bad(`${what}: expected a number`, line);
  return v;
}

function optStr(v: unknown): string | null {
  return typeof v === "string" ? bytesText(v) : null;
}

function parseLimit(v: unknown, line: string): Limit {
  if (!Array.isArray(v) || v.length !== 2) bad("bad limit", line);
  const f = (x: unknown): bigint | null => (x === null ? null : big(x, "limit", line));
  return { soft: f(v[0]), hard: f(v[1]) };
}

function parseHello(j: Json, line: string): Hello {
  const limits = (j.limits ?? {}) as Json;
  const prot = Array.isArray(j.protected) ? j.protected : bad("hello without protected ranges", line);
  return {
    kind: "hello",
    version: num(j.version, "version", line),
    pid: num(j.pid, "pid", line),
    pageSize: num(j.pageSize, "pageSize", line),
    sandbox: String(j.sandbox),
    brk: big(j.brk, "brk", line),
    startBrk: big(j.startBrk, "startBrk", line),
    fdBase: num(j.fdBase, "fdBase", line),
    opTimeoutMs: num(j.opTimeoutMs, "opTimeoutMs", line),
    maxBytes: num(j.maxBytes, "maxBytes", line),
    maxStr: num(j.maxStr, "maxStr", line),
    maxText: num(j.maxText, "maxText", line),
    maxTasks: num(j.maxTasks, "maxTasks", line),
    limits: {
      stack: parseLimit(limits.stack, line),
      memlock: parseLimit(limits.memlock, line),
      as: parseLimit(limits.as, line),
      data: parseLimit(limits.data, line),
      nofile: parseLimit(limits.nofile, line),
    },
    protectedRanges: prot.map((r: unknown) => {
      if (!Array.isArray(r) || r.length !== 3) bad("bad protected range", line);
      return { start: big(r[0], "range", line), end: big(r[1], "range", line), name: bytesText(String(r[2])) };
    }),
    maps: bytesText(String(j.maps)),
  };
}

function parseObservation(j: Json, line: string): Observation {
  const opName = typeof j.op === "string" && isOpName(j.op) ? j.op : null;
  const o: { -readonly [K in keyof Observation]: Observation[K] } = {
    kind: "observation",
    step: typeof j.step === "number" ? j.step : null,
    tid: typeof j.tid === "number" ? j.tid : null,
    pid: typeof j.pid === "number" ? j.pid : null,
    op: opName,
    ret: j.ret === null || j.ret === undefined ? null : big(j.ret, "ret", line),
    errno: optStr(j.errno),
    refused: optStr(j.refused),
    error: optStr(j.error),
    minflt: num(j.minflt, "minflt", line),
    majflt: num(j.majflt, "majflt", line),
  };
  if (j.signal !== undefined) {
    const s = j.signal as Json;
    o.signal = { name: String(s.name), code: String(s.code), addr: big(s.addr, "signal.addr", line) };
  }
  if (j.value !== undefined) o.value = big(j.value, "value", line);
  if (j.bytes !== undefined) o.bytes = hexBytes(String(j.bytes), line);
  if (j.done !== undefined) o.done = num(j.done, "done", line);
  if (j.vec !== undefined) {
    if (!Array.isArray(j.vec)) bad("vec: expected an array", line);
    o.vec = j.vec.map((x: unknown) => num(x, "vec", line));
  }
  if (j.stat !== undefined) {
    const s = j.stat as Json;
    o.stat = {
      size: big(s.size, "stat.size", line),
      ino: big(s.ino, "stat.ino", line),
      dev: big(s.dev, "stat.dev", line),
      devMajor: num(s.devMajor, "stat.devMajor", line),
      devMinor: num(s.devMinor, "stat.devMinor", line),
      blocks: big(s.blocks, "stat.blocks", line),
      blksize: num(s.blksize, "stat.blksize", line),
      mode: num(s.mode, "stat.mode", line),
      nlink: num(s.nlink, "stat.nlink", line),
    };
  }
  if (j.rusage !== undefined) {
    const r = j.rusage as Json;
    o.rusage = {
      minflt: num(r.minflt, "rusage.minflt", line),
      majflt: num(r.majflt, "rusage.majflt", line),
      maxrssKb: num(r.maxrssKb, "rusage.maxrssKb", line),
      threadMinflt: num(r.threadMinflt, "rusage.threadMinflt", line),
      threadMajflt: num(r.threadMajflt, "rusage.threadMajflt", line),
    };
  }
  if (j.bench !== undefined) {
    const b = j.bench as Json;
    o.bench = {
      ns: big(b.ns, "bench.ns", line),
      ops: num(b.ops, "bench.ops", line),
      live: num(b.live, "bench.live", line),
      minflt: num(b.minflt, "bench.minflt", line),
      majflt: num(b.majflt, "bench.majflt", line),
    };
  }
  if (j.child !== undefined) {
    const c = j.child as Json;
    o.child = { tid: num(c.tid, "child.tid", line), pid: num(c.pid, "child.pid", line) };
  }
  if (j.thread !== undefined) {
    const t = j.thread as Json;
    o.thread = {
      tid: num(t.tid, "thread.tid", line),
      pid: num(t.pid, "thread.pid", line),
      kernelTid: num(t.kernelTid, "thread.kernelTid", line),
      stackStart: big(t.stackStart, "thread.stackStart", line),
      stackEnd: big(t.stackEnd, "thread.stackEnd", line),
      guardSize: num(t.guardSize, "thread.guardSize", line),
    };
  }
  if (j.exit !== undefined) {
    const e = j.exit as Json;
    o.exit = { status: num(e.status, "exit.status", line), kind: e.kind === "thread" ? "thread" : "process" };
  }
  if (j.text !== undefined) o.text = bytesText(String(j.text));
  if (j.truncated === true) o.truncated = true;
  if (j.line !== undefined) o.line = bytesText(String(j.line));
  return o;
}

/** Parses one line of runner output. Throws ProtocolError if it is not a runner message. */
export function parseRunnerLine(line: string): RunnerMessage {
  let j: unknown;
  try {
    j = JSON.parse(line);
  } catch {
    bad("runner output is not JSON", line);
  }
  if (typeof j !== "object" || j === null || Array.isArray(j)) bad("runner output is not a JSON object", line);
  const obj = j as Json;
  if (obj.hello === true) return parseHello(obj, line);
  if (typeof obj.fatal === "string") return { kind: "fatal", message: bytesText(obj.fatal) };
  return parseObservation(obj, line);
}

export interface RunnerOutput {
  readonly hello: Hello | null;
  readonly observations: readonly Observation[];
  readonly fatal: FatalReport | null;
}

/** Parses the runner's whole stdout. A cut-off last line (the runner died mid-write) is ignored. */
export function parseRunnerOutput(text: string): RunnerOutput {
  let hello: Hello | null = null;
  let fatal: FatalReport | null = null;
  const observations: Observation[] = [];
  // The last element is "" after a final newline, or a line cut short: drop it.
  const complete = text.split("\n").slice(0, -1);
  for (const line of complete) {
    if (line === "") continue;
    const m = parseRunnerLine(line);
    if (m.kind === "hello") {
      if (hello) bad("second hello", line);
      hello = m;
    } else if (m.kind === "fatal") {
      fatal = m;
    } else {
      observations.push(m);
    }
  }
  return { hello, observations, fatal };
}
