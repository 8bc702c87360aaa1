/**
 * Compiles, caches and runs the host runner (src/oracle/runner.c).
 *
 * The binary is built with the system's `cc` into a cache directory
 * (node_modules/.cache/mmsim, else ~/.cache/mmsim) under a name that carries a
 * hash of the source and the flags, so it is rebuilt exactly when runner.c
 * changes. runner.c is found from the package root (the directory holding
 * package.json above this module), so this works both from src/ under vitest
 * and from the built dist/ (tsc does not copy .c files).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  CodedError,
  parseRunnerLine,
  parseRunnerOutput,
  serializeOp,
  serializeOps,
  type FatalReport,
  type Hello,
  type Observation,
  type Op,
} from "./runner-protocol.js";

export type HostRunnerErrorCode =
  | "NO_PACKAGE_ROOT"
  | "SOURCE_MISSING"
  | "CC_NOT_FOUND"
  | "COMPILE_FAILED"
  | "SPAWN_FAILED"
  | "NO_HELLO"
  | "TIMEOUT"
  | "RUNNER_EXITED"
  | "BAD_INPUT";

export class HostRunnerError extends CodedError<HostRunnerErrorCode> {
  override readonly name = "HostRunnerError";
}

/** Flags after `cc`; -z now avoids lazy PLT binding inside measured windows. */
export const RUNNER_CFLAGS: readonly string[] = ["-O2", "-pthread", "-Wl,-z,now"];

export interface BuildOptions {
  /** C compiler; default $MMSIM_CC or "cc" */
  readonly cc?: string;
  /** Cache directory; default $MMSIM_CACHE_DIR, node_modules/.cache/mmsim, or ~/.cache/mmsim */
  readonly cacheDir?: string;
  /** The runner's source; default <package root>/src/oracle/runner.c */
  readonly source?: string;
}

export interface RunnerBinary {
  readonly path: string;
  readonly source: string;
  readonly hash: string;
  /** false when a cached binary was reused */
  readonly compiled: boolean;
}

/** The directory holding package.json, walking up from `start` (default: this module). */
export function findPackageRoot(start: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const up = dirname(dir);
    if (up === dir) {
      throw new HostRunnerError("NO_PACKAGE_ROOT", `findPackageRoot: no package.json above ${start}`, { start });
    }
    dir = up;
  }
}

export function runnerSourcePath(): string {
  return join(findPackageRoot(), "src", "oracle", "runner.c");
}

export function defaultCacheDir(): string {
  const env = process.env.MMSIM_CACHE_DIR;
  if (env) return env;
  try {
    const nm = join(findPackageRoot(), "node_modules");
    if (existsSync(nm)) return join(nm, ".cache", "mmsim");
  } catch {
    // no package root: fall through
  }
  return join(homedir(), ".cache", "mmsim");
}

const built = new Map<string, RunnerBinary>();

/**
 * Returns the runner binary for the current source, compiling it if no cached
 * build with the same hash exists. Throws HostRunnerError (CC_NOT_FOUND,
 * COMPILE_FAILED, SOURCE_MISSING) with a readable message.
 */
export function ensureRunnerBinary(options: BuildOptions = {}): RunnerBinary {
  const source = options.source ?? runnerSourcePath();
  const cc = options.cc ?? process.env.MMSIM_CC ?? "cc";
  let text: Buffer;
  try {
    text = readFileSync(source);
  } catch (e) {
    throw new HostRunnerError("SOURCE_MISSING", `ensureRunnerBinary: cannot read the runner source ${source}: ${(e as Error).message}`, {
      source,
    });
  }
  const hash = createHash("sha256").update(text).update("\0").update(RUNNER_CFLAGS.join(" ")).digest("hex").slice(0, 16);
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const path = join(cacheDir, `mmsim-runner-${hash}`);
  const memo = built.get(path);
  if (memo && existsSync(path)) return { ...memo, compiled: false };
  if (existsSync(path) && statSync(path).size > 0) {
    const bin = { path, source, hash, compiled: false };
    built.set(path, bin);
    return bin;
  }
  mkdirSync(cacheDir, { recursive: true });
  // Compile to a private name, then rename: concurrent builders (parallel test
  // workers) each produce a complete file and the last rename wins.
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const r = spawnSync(cc, [...RUNNER_CFLAGS, "-o", tmp, source], { encoding: "utf8" });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new HostRunnerError(
        "CC_NOT_FOUND",
        `No C compiler: '${cc}' was not found. The host oracle compiles src/oracle/runner.c at run time; ` +
          `install gcc or clang (e.g. apt-get install gcc), or set MMSIM_CC.`,
        { cc },
      );
    }
    throw new HostRunnerError("COMPILE_FAILED", `Could not run '${cc}': ${r.error.message}`, { cc });
  }
  if (r.status !== 0) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
    const diag = (r.stderr || "").trim().split("\n").slice(0, 30).join("\n");
    throw new HostRunnerError(
      "COMPILE_FAILED",
      `Compiling the host runner failed (${cc} ${[...RUNNER_CFLAGS, "-o", path, source].join(" ")}):\n${diag}`,
      { cc, source, status: r.status, stderr: r.stderr },
    );
  }
  renameSync(tmp, path);
  const bin = { path, source, hash, compiled: true };
  built.set(path, bin);
  return bin;
}

export interface RunOptions extends BuildOptions {
  /** Per-op watchdog inside the runner (default 10000 ms). */
  readonly opTimeoutMs?: number;
  /** Whole-run limit; the runner is killed after it (default 120000 ms). */
  readonly timeoutMs?: number;
  /** Leave the sandbox directory in place (for debugging). */
  readonly keepSandbox?: boolean;
}

export interface HostRun {
  readonly hello: Hello;
  /** One per op line, in order (fewer if the runner died). */
  readonly observations: readonly Observation[];
  /** Every op produced its observation. */
  readonly complete: boolean;
  readonly fatal: FatalReport | null;
  readonly stderr: string;
  readonly exitCode: number | null;
  readonly exitSignal: NodeJS.Signals | null;
  readonly binary: RunnerBinary;
}

function runnerArgs(options: RunOptions): string[] {
  const args: string[] = [];
  if (options.opTimeoutMs !== undefined) args.push("--op-timeout-ms", String(Math.max(1, Math.round(options.opTimeoutMs))));
  if (options.keepSandbox) args.push("--keep-sandbox");
  return args;
}

/** The runner removes its sandbox; if it was killed, do it here (only our own kind of directory). */
function cleanupSandbox(hello: Hello | null, options: RunOptions): void {
  if (!hello || options.keepSandbox) return;
  if (!/^\/tmp\/mmsim-runner-[A-Za-z0-9]{6}$/.test(hello.sandbox)) return;
  try {
    rmSync(hello.sandbox, { recursive: true, force: true });
  } catch {
    // best effort
  }
}

/** Protocol text for ops: serialized Op objects, or raw lines as given. */
function inputText(input: readonly Op[] | string): { text: string; count: number } {
  if (typeof input === "string") {
    const text = input.endsWith("\n") || input === "" ? input : input + "\n";
    const count = text.split("\n").filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#")).length;
    return { text, count };
  }
  return { text: serializeOps(input), count: input.length };
}

function finish(
  stdout: string,
  stderr: string,
  exitCode: number | null,
  exitSignal: NodeJS.Signals | null,
  count: number,
  binary: RunnerBinary,
  options: RunOptions,
): HostRun {
  const out = parseRunnerOutput(stdout);
  cleanupSandbox(out.hello, options);
  if (!out.hello) {
    throw new HostRunnerError(
      "NO_HELLO",
      `The host runner did not start (exit ${exitCode ?? exitSignal})${out.fatal ? `: ${out.fatal.message}` : ""}` +
        (stderr ? `\n${stderr.trim()}` : ""),
      { exitCode, exitSignal, stderr, stdout: stdout.slice(0, 2000) },
    );
  }
  return {
    hello: out.hello,
    observations: out.observations,
    complete: out.observations.length === count,
    fatal: out.fatal,
    stderr,
    exitCode,
    exitSignal,
    binary,
  };
}

/**
 * Runs ops on the host and returns the runner's hello and one observation per
 * op. `input` may also be raw protocol text (one op per line), e.g. to feed
 * malformed lines on purpose.
 */
export function runOnHost(input: readonly Op[] | string, options: RunOptions = {}): Promise<HostRun> {
  let binary: RunnerBinary;
  let text: string;
  let count: number;
  try {
    binary = ensureRunnerBinary(options);
    ({ text, count } = inputText(input));
  } catch (e) {
    return Promise.reject(e as Error);
  }
  const timeoutMs = options.timeoutMs ?? 120_000;
  return new Promise<HostRun>((resolvePromise, reject) => {
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn(binary.path, runnerArgs(options), { cwd: tmpdir(), stdio: ["pipe", "pipe", "pipe"] });
    } catch (e) {
      reject(new HostRunnerError("SPAWN_FAILED", `Could not start ${binary.path}: ${(e as Error).message}`));
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let killer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGTERM");
      killer = setTimeout(() => child.kill("SIGKILL"), 2000);
    }, timeoutMs);
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.stdin.on("error", () => {
      // EPIPE: the runner died early; its exit status tells the story
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new HostRunnerError("SPAWN_FAILED", `Could not start ${binary.path}: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (killer) clearTimeout(killer);
      const stdout = Buffer.concat(out).toString("latin1");
      const stderr = Buffer.concat(err).toString("utf8");
      if (timedOut) {
        const partial = parseRunnerOutput(stdout);
        cleanupSandbox(partial.hello, options);
        reject(
          new HostRunnerError("TIMEOUT", `The host runner did not finish within ${timeoutMs} ms`, {
            observations: partial.observations.length,
            expected: count,
            stderr,
          }),
        );
        return;
      }
      try {
        resolvePromise(finish(stdout, stderr, code, signal, count, binary, options));
      } catch (e) {
        reject(e);
      }
    });
    child.stdin.end(text);
  });
}

/** runOnHost, synchronously (child_process.spawnSync). */
export function runOnHostSync(input: readonly Op[] | string, options: RunOptions = {}): HostRun {
  const binary = ensureRunnerBinary(options);
  const { text, count } = inputText(input);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const r = spawnSync(binary.path, runnerArgs(options), {
    cwd: tmpdir(),
    input: text,
    timeout: timeoutMs,
    killSignal: "SIGTERM",
    maxBuffer: 1 << 30,
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ETIMEDOUT") {
    const partial = parseRunnerOutput(r.stdout ? r.stdout.toString("latin1") : "");
    cleanupSandbox(partial.hello, options);
    throw new HostRunnerError("TIMEOUT", `The host runner did not finish within ${timeoutMs} ms`, {
      observations: partial.observations.length,
      expected: count,
    });
  }
  if (r.error) throw new HostRunnerError("SPAWN_FAILED", `Could not start ${binary.path}: ${r.error.message}`);
  return finish(r.stdout.toString("latin1"), r.stderr.toString("utf8"), r.status, r.signal, count, binary, options);
}

export interface SessionEnd {
  readonly stderr: string;
  readonly exitCode: number | null;
  readonly exitSignal: NodeJS.Signals | null;
  readonly fatal: FatalReport | null;
}

/**
 * An interactive runner: send one op, get its observation, decide the next.
 * Ops are executed strictly one after another; exec() calls queue up.
 */
export class HostSession {
  private buffered = "";
  private readonly pending: { resolve: (o: Observation) => void; reject: (e: Error) => void }[] = [];
  private fatal: FatalReport | null = null;
  private stderrText = "";
  private exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exitWaiters: (() => void)[] = [];
  private helloWaiter: { resolve: (h: Hello) => void; reject: (e: Error) => void } | null = null;
  /** Set once the runner has said hello. */
  hello: Hello | null = null;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly binary: RunnerBinary,
    private readonly options: RunOptions,
  ) {
    child.stdout.on("data", (d: Buffer) => this.onData(d.toString("latin1")));
    child.stderr.on("data", (d: Buffer) => (this.stderrText += d.toString("utf8")));
    child.stdin.on("error", () => {
      // EPIPE after the runner died: reported through 'close'
    });
    child.on("close", (code, signal) => this.onClose(code, signal));
    child.on("error", (e) => this.failAll(new HostRunnerError("SPAWN_FAILED", `Could not start ${binary.path}: ${e.message}`)));
  }

  static open(options: RunOptions = {}): Promise<HostSession> {
    let binary: RunnerBinary;
    try {
      binary = ensureRunnerBinary(options);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    const child = spawn(binary.path, runnerArgs(options), { cwd: tmpdir(), stdio: ["pipe", "pipe", "pipe"] });
    const session = new HostSession(child, binary, options);
    return new Promise<HostSession>((resolvePromise, reject) => {
      session.helloWaiter = { resolve: () => resolvePromise(session), reject };
    });
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    let nl: number;
    while ((nl = this.buffered.indexOf("\n")) >= 0) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      if (line === "") continue;
      let m;
      try {
        m = parseRunnerLine(line);
      } catch (e) {
        this.failAll(e as Error);
        return;
      }
      if (m.kind === "hello") {
        this.hello = m;
        this.helloWaiter?.resolve(m);
        this.helloWaiter = null;
      } else if (m.kind === "fatal") {
        this.fatal = m;
      } else {
        this.pending.shift()?.resolve(m);
      }
    }
  }

  private failAll(e: Error): void {
    this.helloWaiter?.reject(e);
    this.helloWaiter = null;
    for (const p of this.pending.splice(0)) p.reject(e);
  }

  private onClose(code: number | null, signal: NodeJS.Signals | null): void {
    this.exited = { code, signal };
    cleanupSandbox(this.hello, this.options);
    const why = this.fatal ? this.fatal.message : `exit ${code ?? signal}`;
    if (this.helloWaiter) {
      this.failAll(
        new HostRunnerError("NO_HELLO", `The host runner did not start (${why})${this.stderrText ? `\n${this.stderrText.trim()}` : ""}`, {
          exitCode: code,
          exitSignal: signal,
        }),
      );
    }
    this.failAll(new HostRunnerError("RUNNER_EXITED", `The host runner exited (${why}) before answering`, { exitCode: code, exitSignal: signal }));
    for (const w of this.exitWaiters.splice(0)) w();
  }

  /** Executes one op (or one raw protocol line) and returns its observation. */
  exec(o: Op | string): Promise<Observation> {
    const line = typeof o === "string" ? o : serializeOp(o);
    if (line.includes("\n") || line.trim() === "" || line.trimStart().startsWith("#")) {
      return Promise.reject(new HostRunnerError("BAD_INPUT", "HostSession.exec: exactly one op line expected", { line }));
    }
    if (this.exited) {
      return Promise.reject(new HostRunnerError("RUNNER_EXITED", "HostSession.exec: the runner has exited"));
    }
    return new Promise<Observation>((resolvePromise, reject) => {
      this.pending.push({ resolve: resolvePromise, reject });
      this.child.stdin.write(line + "\n");
    });
  }

  /** Ends the input; the runner kills its tasks, removes its sandbox and exits. */
  close(): Promise<SessionEnd> {
    if (!this.exited) this.child.stdin.end();
    return new Promise<SessionEnd>((resolvePromise) => {
      const done = () =>
        resolvePromise({
          stderr: this.stderrText,
          exitCode: this.exited?.code ?? null,
          exitSignal: this.exited?.signal ?? null,
          fatal: this.fatal,
        });
      if (this.exited) done();
      else this.exitWaiters.push(done);
    });
  }
}

export function openHostSession(options: RunOptions = {}): Promise<HostSession> {
  return HostSession.open(options);
}
