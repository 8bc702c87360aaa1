/**
 * Run the same op list on the host kernel (through the runner) and on the
 * model (a Machine configured like the host), and put what each step did
 * side by side, with addresses normalised so that the two address-space
 * layouts need not coincide.
 *
 * ## The address rule
 *
 * The host runner's layout (its executable, libc, ld.so, ASLR) and the
 * model's (a bare exec layout without ASLR) differ, so raw addresses cannot
 * be compared. Before the ops, both sides get the same *fence*:
 *
 * 1. The mmap area is every mapping that starts at or above
 *    MMAP_AREA_FLOOR and below `[stack]`. On the host, every gap between two
 *    of these mappings is filled with a PROT_NONE MAP_FIXED_NOREPLACE
 *    mapping, so a top-down search finds no room above the lowest one.
 * 2. A fence `[F, lowest)` of 2 to 4 MiB is mapped MAP_SHARED|MAP_ANONYMOUS PROT_NONE with
 *    MAP_FIXED_NOREPLACE (a shmem mapping merges with nothing) directly below
 *    the lowest mapping of the area, with F chosen congruent to 1 MiB
 *    modulo 2 MiB on both sides.
 *
 * Below F both sides then have a large empty range, identically aligned
 * modulo the PMD size, so a kernel that places mappings the same way puts
 * the scenario's mappings at the same offsets from F. Every address is
 * written relative to F (`F-0x3000`), except that an address inside a region
 * a scenario step created (the page-rounded [ret, ret + len) of a successful
 * `mmap`/`mremap`; the latest such step wins) is written `$N+0x1000`, the
 * way the runner's references are. A region's end is written against the
 * region that contains the byte before it. `mmap`/`mremap` results are
 * written relative to F (or to an earlier region they fall in), so placement
 * is compared too.
 *
 * maps and smaps are cut down to the VMAs that intersect a created region;
 * their addresses are rewritten as above, the inode number is replaced by
 * `INO` (0 stays 0), and file names lose the host's sandbox directory (or
 * the model's working directory). Addresses below 4 GiB that lie in no
 * created region are not randomised on either side (MAP_32BIT, fixed low
 * addresses) and are written absolute (`0x1000`). `brk` results are written
 * against the break before the first op (`brk+0x2000`): the heap lies by
 * the executable, far from the fence, on both sides.
 */
import { readFileSync } from "node:fs";
import { Machine, type MachineOptions, madeAccess } from "../kernel/machine.js";
import type { Settings } from "../kernel/settings.js";
import { AT_FDCWD, SEGV_MAPERR, SI_CODE_NAMES } from "../kernel/uapi.js";
import { type HostSession, openHostSession, type RunOptions } from "./host-runner.js";
import { readHostSettings } from "./host-settings.js";
import { type Arg, type Observation, type Op, op } from "./runner-protocol.js";

/** Mappings starting at or above this address belong to the mmap area (the PIE and its heap lie below). */
export const MMAP_AREA_FLOOR = 0x600000000000n;
const PMD = 2n * 1024n * 1024n;
const FENCE_PHASE = 1024n * 1024n;
/**
 * Addresses below this are not randomised on either side (MAP_32BIT's
 * window, fixed low addresses): written absolute, not relative to the fence.
 */
export const LOW_ABSOLUTE = 1n << 32n;
/**
 * Addresses at or above this lie beyond any user address space (57-bit
 * virtual addresses at most): the kernel half, or a failed call's -1 plus a
 * constant. Neither side randomises them, so they are written absolute too.
 */
export const HIGH_ABSOLUTE = 1n << 57n;
/** The model's working directory for a comparison (the runner's sandbox is a mkdtemp directory). */
export const MODEL_SANDBOX = "/tmp/mmsim-model";
/** Step numbers of the prelude (fillers and fence); scenario steps must stay below. */
export const PRELUDE_STEP = 1_000_000;

const PROT_NONE = 0;
const MAP_SHARED = 0x01;
const MAP_PRIVATE = 0x02;
const MAP_ANONYMOUS = 0x20;
const MAP_NORESERVE = 0x4000;
const MAP_FIXED_NOREPLACE = 0x100000;

/** One step as compared: the same shape for host and model. */
export interface StepView {
  readonly step: number;
  readonly tid: number;
  readonly op: string;
  /** Decimal, or a normalised address for mmap/mremap; null when the op produced none. */
  readonly ret: string | null;
  readonly errno: string | null;
  /** Why it did not run: the runner refused, or the model lacks the op, or a protocol error. */
  readonly error: string | null;
  readonly minflt: number;
  readonly majflt: number;
  /** load8..load64 */
  readonly value?: string;
  /** read, pread, load: hex */
  readonly bytes?: string;
  readonly done?: number;
  readonly signal?: { readonly name: string; readonly code: string; readonly addr: string };
  readonly vec?: readonly number[];
  /** fstat: the inode-independent fields */
  readonly stat?: { readonly size: string; readonly mode: number; readonly nlink: number };
  /** maps/smaps: the lines of VMAs intersecting created regions, normalised */
  readonly lines?: readonly string[];
}

export interface StepPair {
  readonly step: number;
  readonly op: string;
  readonly host: StepView;
  readonly model: StepView;
}

export interface Comparison {
  readonly steps: readonly StepPair[];
  /** The model's settings for the run (the host's values). */
  readonly settings: Partial<Settings>;
  readonly fence: { readonly host: bigint; readonly model: bigint };
  readonly machine: Machine;
}

export interface CompareOptions {
  /** Override settings derived from the host. */
  readonly settings?: Partial<Settings>;
  readonly machine?: Omit<MachineOptions, "settings">;
  readonly host?: RunOptions;
}

/** The model settings that match this host (readHostSettings()). */
export function hostModelSettings(): Partial<Settings> {
  const h = readHostSettings();
  const s: { -readonly [K in keyof Settings]?: Settings[K] } = {
    readAheadKb: h.readaheadKb.value,
    faultAroundBytes: h.faultAroundBytes.value,
    stackGuardGapPages: h.stackGuardGap.value / h.pageSize.value,
    privileged: h.ipcLockCapable.value === true,
    protectionKeys: hostHasPku(),
  };
  if (h.thp.enabled.value !== null) s.thpEnabled = h.thp.enabled.value;
  if (h.thp.useZeroPage.value !== null) s.thpUseZeroPage = h.thp.useZeroPage.value;
  const ov = h.overcommitMemory.value;
  if (ov === 0 || ov === 1 || ov === 2) s.overcommitMemory = ov;
  if (h.overcommitRatio.value !== null) s.overcommitRatio = h.overcommitRatio.value;
  if (h.maxMapCount.value !== null) s.maxMapCount = h.maxMapCount.value;
  if (h.mmapMinAddr.value !== null) s.mmapMinAddr = h.mmapMinAddr.value;
  const st = h.stackRlimit.value?.soft;
  if (st !== undefined && st !== null) s.stackRlimit = Number(st);
  const ml = h.memlockRlimit.value?.soft;
  if (ml !== undefined) s.memlockRlimit = ml === null ? Infinity : Number(ml);
  // The overcommit heuristic compares a request with totalram_pages (+ swap).
  const memTotal = hostMemTotal();
  if (memTotal !== null) s.memTotal = memTotal;
  return s;
}

/** /proc/meminfo MemTotal in bytes (totalram_pages), or null. */
function hostMemTotal(): number | null {
  try {
    const m = /^MemTotal:\s*(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** x86 CPUs with protection keys list `pku` and `ospke` in /proc/cpuinfo; smaps then has a ProtectionKey line. */
function hostHasPku(): boolean {
  try {
    return /^flags\s*:.*\bospke\b/m.test(readFileSync("/proc/cpuinfo", "utf8"));
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Layout: the mmap area, its gaps, the fence.

interface MapsRange {
  start: bigint;
  end: bigint;
  name: string;
}

function parseMapsRanges(maps: string): MapsRange[] {
  const out: MapsRange[] = [];
  for (const line of maps.split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) out.push({ start: BigInt("0x" + m[1]), end: BigInt("0x" + m[2]), name: m[3]!.trim() });
  }
  return out;
}

/** The mmap area's mappings (sorted), and where the fence goes below them. */
export function planFence(maps: string, pageSize: number): { gaps: [bigint, bigint][]; fence: [bigint, bigint] } {
  void pageSize; // the fence's length and phase are in bytes, whatever the page size
  const all = parseMapsRanges(maps);
  const stack = all.find((r) => r.name === "[stack]");
  const area = all.filter((r) => r.start >= MMAP_AREA_FLOOR && (stack === undefined || r.end <= stack.start) && r.name !== "[stack]");
  if (area.length === 0) throw new Error("compare: no mapping in the mmap area");
  const gaps: [bigint, bigint][] = [];
  for (let i = 1; i < area.length; i++) {
    if (area[i]!.start > area[i - 1]!.end) gaps.push([area[i - 1]!.end, area[i]!.start]);
  }
  const lowest = area[0]!.start;
  // At least 2 MiB of fence: a scenario reaching a little past its topmost
  // region (a mincore of three pages from the last one) must meet the fence on
  // both sides, not the runner's lowest library, whose distance above F
  // depends on ASLR (found flaky in CI when the fence was one page long).
  const top = lowest - PMD;
  const x = top - ((((top - FENCE_PHASE) % PMD) + PMD) % PMD);
  return { gaps, fence: [x, lowest] };
}

function preludeOps(plan: ReturnType<typeof planFence>, pageSize: number): Op[] {
  void pageSize;
  const ops: Op[] = [];
  let step = PRELUDE_STEP;
  for (const [s, e] of plan.gaps) {
    ops.push(op(step++, 0, "mmap", s, e - s, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0));
  }
  const [fs, fe] = plan.fence;
  ops.push(op(step++, 0, "mmap", fs, fe - fs, PROT_NONE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0));
  return ops;
}

// ---------------------------------------------------------------------------
// Running the ops on the model, producing runner-shaped observations.

type Raw = Omit<Observation, "kind"> & { kind: "observation" };

function blank(o: Op, pid: number | null): { -readonly [K in keyof Raw]: Raw[K] } {
  return { kind: "observation", step: o.step, tid: o.tid, pid, op: o.op, ret: null, errno: null, refused: null, error: null, minflt: 0, majflt: 0 };
}

const ACCESS_SIZES = { load8: 1, load16: 2, load32: 4, load64: 8, store8: 1, store16: 2, store32: 4, store64: 8 } as const;

/** Executes runner ops on a Machine, resolving `$N` against the model's own results. */
export class ModelRunner {
  readonly m: Machine;
  readonly pid: number;
  private readonly tids = new Map<number, number>();
  private readonly results = new Map<number, bigint>();
  readonly initialBrk: bigint;

  constructor(m: Machine) {
    this.m = m;
    this.pid = m.spawn();
    this.tids.set(0, this.pid);
    // Files live in a directory of their own, as the runner's do in its sandbox.
    m.k.vfs.ensureDir(MODEL_SANDBOX);
    m.process(this.pid)!.cwd = MODEL_SANDBOX;
    const b = m.brk(this.pid, 0n);
    this.initialBrk = b.ok ? b.value : 0n;
  }

  private int(a: Arg | undefined): bigint {
    if (a === undefined) throw new Error("missing argument");
    if (typeof a === "bigint") return BigInt.asUintN(64, a);
    if (typeof a === "number") return BigInt.asUintN(64, BigInt(a));
    if (a.kind === "ref") {
      const v = this.results.get(a.step);
      if (v === undefined) throw new RefError(`reference $${a.step}: no result`);
      return BigInt.asUintN(64, v + a.offset);
    }
    throw new Error("string where an integer was expected");
  }

  private str(a: Arg | undefined): Uint8Array {
    if (a === undefined || typeof a !== "object" || a.kind !== "bytes") throw new Error("expected a string argument");
    return a.data;
  }

  exec(o: Op): Raw {
    const tid = this.tids.get(o.tid);
    const obs = blank(o, tid === undefined ? null : this.m.task(tid)?.process.tgid ?? null);
    if (tid === undefined || this.m.task(tid) === undefined) {
      obs.error = `task ${o.tid} does not exist or has exited`;
      return obs;
    }
    const before = this.m.rusage(tid)!;
    try {
      this.run(o, tid, obs);
    } catch (e) {
      if (!(e instanceof RefError)) throw e;
      obs.error = e.message;
    }
    const after = this.m.rusage(tid) ?? before;
    obs.minflt = after.minFlt - before.minFlt;
    obs.majflt = after.majFlt - before.majFlt;
    // As the runner does: a failed call's -1 is its result too, so a later
    // step using its name runs with -1 on both sides.
    if (obs.ret !== null) this.results.set(o.step, obs.ret);
    return obs;
  }

  private sys(obs: { ret: bigint | null; errno: string | null }, r: { ok: true; value: bigint } | { ok: false; errno: string }): void {
    if (r.ok) obs.ret = r.value;
    else {
      obs.ret = -1n;
      obs.errno = r.errno;
    }
  }

  private fault(obs: { signal?: Raw["signal"] }, f: { signal: string; code: number; addr: bigint }): void {
    const names = SI_CODE_NAMES[f.signal];
    obs.signal = { name: f.signal, code: names?.[f.code] ?? String(f.code), addr: f.addr };
  }

  private run(o: Op, tid: number, obs: { -readonly [K in keyof Raw]: Raw[K] }): void {
    const m = this.m;
    const a = o.args;
    const I = (i: number): bigint => this.int(a[i]);
    const N = (i: number): number => Number(BigInt.asIntN(64, this.int(a[i])));
    const pid = m.task(tid)!.process.tgid;
    switch (o.op) {
      case "mmap": return this.sys(obs, m.mmap(tid, I(0), I(1), I(2), I(3), I(4), I(5)));
      case "munmap": return this.sys(obs, m.munmap(tid, I(0), I(1)));
      case "mprotect": return this.sys(obs, m.mprotect(tid, I(0), I(1), I(2)));
      case "msync": return this.sys(obs, m.msync(tid, I(0), I(1), I(2)));
      case "mremap": return this.sys(obs, m.mremap(tid, I(0), I(1), I(2), I(3), a.length > 4 ? I(4) : 0n));
      case "madvise": return this.sys(obs, m.madvise(tid, I(0), I(1), I(2)));
      case "mlock": return this.sys(obs, m.mlock(tid, I(0), I(1)));
      case "mlock2": return this.sys(obs, m.mlock2(tid, I(0), I(1), I(2)));
      case "munlock": return this.sys(obs, m.munlock(tid, I(0), I(1)));
      case "mlockall": return this.sys(obs, m.mlockall(tid, I(0)));
      case "munlockall": return this.sys(obs, m.munlockall(tid));
      case "brk": {
        const r = m.brk(tid, I(0));
        obs.ret = r.ok ? r.value : -1n;
        return;
      }
      case "mincore": {
        const r = m.mincore(tid, I(0), I(1));
        this.sys(obs, r);
        if (r.ok) obs.vec = [...r.vec];
        return;
      }
      case "openat": {
        const path = new TextDecoder().decode(this.str(a[0]).subarray(0, nul(this.str(a[0]))));
        return this.sys(obs, m.openat(tid, AT_FDCWD, path, N(1), a.length > 2 ? N(2) : 0));
      }
      case "close": return this.sys(obs, m.close(tid, N(0)));
      case "read":
      case "pread": {
        const r = m.read(tid, N(0), I(1), o.op === "pread" ? I(2) : null);
        this.sys(obs, r);
        if (r.ok) obs.bytes = r.data;
        return;
      }
      case "read_into": return this.sys(obs, m.readInto(tid, N(0), I(1), I(2)));
      case "write": return this.sys(obs, m.write(tid, N(0), this.str(a[1])));
      case "pwrite": return this.sys(obs, m.write(tid, N(0), this.str(a[1]), I(2)));
      case "write_from": return this.sys(obs, m.writeFrom(tid, N(0), I(1), I(2)));
      case "lseek": return this.sys(obs, m.lseek(tid, N(0), BigInt.asIntN(64, I(1)), N(2)));
      case "ftruncate": return this.sys(obs, m.ftruncate(tid, N(0), BigInt.asIntN(64, I(1))));
      case "fsync": return this.sys(obs, m.fsync(tid, N(0)));
      case "fdatasync": return this.sys(obs, m.fdatasync(tid, N(0)));
      case "unlink": return this.sys(obs, m.unlink(tid, new TextDecoder().decode(this.str(a[0]))));
      case "fstat": {
        const r = m.fstat(tid, N(0));
        this.sys(obs, r);
        if (r.ok && r.stat !== undefined) {
          const s = r.stat;
          obs.stat = {
            size: BigInt(s.st_size), ino: BigInt(s.st_ino), dev: BigInt(s.st_dev), devMajor: Math.floor(s.st_dev / 256), devMinor: s.st_dev % 256,
            blocks: BigInt(s.st_blocks), blksize: s.st_blksize, mode: s.st_mode, nlink: s.st_nlink,
          };
        }
        return;
      }
      case "posix_fadvise": return this.sys(obs, m.fadvise(tid, N(0), BigInt.asIntN(64, I(1)), BigInt.asIntN(64, I(2)), N(3)));
      case "memfd_create": return this.sys(obs, m.memfdCreate(tid, new TextDecoder().decode(this.str(a[0])), N(1)));
      case "fork": {
        const r = m.fork(tid);
        this.sys(obs, r);
        if (r.ok) {
          this.tids.set(N(0), Number(r.value));
          obs.child = { tid: N(0), pid: Number(r.value) };
        }
        return;
      }
      case "thread": {
        const t = m.createThread(pid);
        if (t === undefined) obs.error = "model: thread creation failed";
        else {
          this.tids.set(N(0), t);
          obs.ret = 0n;
        }
        return;
      }
      case "exit": {
        const p = m.task(tid)!.process;
        if (p.threads[0]?.tid === tid && tid === this.pid) {
          obs.refused = "exit of task 0";
          return;
        }
        if (tid === p.tgid) m.exitGroup(tid, a.length > 0 ? N(0) : 0);
        else m.exitThread(tid, a.length > 0 ? N(0) : 0);
        this.tids.delete(o.tid);
        return;
      }
      case "load8":
      case "load16":
      case "load32":
      case "load64": {
        const r = madeAccess(m.load(tid, I(0), ACCESS_SIZES[o.op]));
        if (r.ok) {
          obs.value = r.value;
          obs.ret = BigInt.asIntN(64, r.value);
        } else this.fault(obs, r.fault);
        return;
      }
      case "store8":
      case "store16":
      case "store32":
      case "store64": {
        const r = madeAccess(m.store(tid, I(0), ACCESS_SIZES[o.op], I(1)));
        if (r.ok) obs.ret = 0n;
        else this.fault(obs, r.fault);
        return;
      }
      case "load":
      case "store":
      case "fill": {
        const mmu = m.mmu(tid)!;
        const at = I(0);
        const buf = o.op === "load" ? new Uint8Array(Number(I(1))) : o.op === "store" ? this.str(a[1]) : new Uint8Array(Number(I(1))).fill(Number(I(2) & 0xffn));
        if (at >= BigInt(mmu.task.mm.taskSize) && buf.length > 0) {
          // Past TASK_SIZE (a failed call's -1): the first byte faults, and
          // a number could not hold the address exactly.
          if (o.op === "load") obs.bytes = new Uint8Array(0);
          this.fault(obs, { signal: "SIGSEGV", code: SEGV_MAPERR, addr: at });
          obs.done = 0;
          return;
        }
        const addr = Number(at);
        // The runner's memcpy: the task's own accesses (user-mode faults).
        const done = o.op === "load" ? mmu.loadInto(addr, buf) : mmu.storeFrom(addr, buf);
        if (o.op === "load") obs.bytes = buf.subarray(0, done);
        if (done === buf.length) obs.ret = 0n;
        else {
          const f = mmu.fault!;
          this.fault(obs, { signal: f.signal, code: f.code, addr: BigInt(f.addr) });
          obs.done = done;
        }
        return;
      }
      case "rusage": {
        const r = m.rusage(tid)!;
        obs.ret = 0n;
        obs.rusage = { minflt: r.minFlt, majflt: r.majFlt, maxrssKb: 0, threadMinflt: 0, threadMajflt: 0 };
        return;
      }
      case "maps":
      case "smaps":
      case "smaps_rollup":
      case "status": {
        const text = o.op === "maps" ? m.maps(pid) : o.op === "smaps" ? m.smaps(pid) : o.op === "smaps_rollup" ? m.smapsRollup(pid) : m.status(pid);
        obs.ret = 0n;
        obs.text = text ?? "";
        return;
      }
      case "checkpoint":
        obs.ret = 0n;
        return;
      default:
        obs.error = `model: op ${o.op} is not modelled by Machine`;
    }
  }
}

class RefError extends Error {}

function nul(b: Uint8Array): number {
  const i = b.indexOf(0);
  return i < 0 ? b.length : i;
}

// ---------------------------------------------------------------------------
// Normalisation.

interface Region {
  step: number;
  start: bigint;
  end: bigint;
}

/** Normalises one side's observations: addresses, paths, inodes. */
export class Normaliser {
  private readonly regions: Region[] = [];
  constructor(
    private readonly fence: bigint,
    private readonly pageSize: number,
    private readonly dir: string,
    /** The program break before the first op: brk results are written `brk+0x...` against it. */
    private readonly brk0: bigint | null = null,
  ) {}

  private rel(base: string, d: bigint): string {
    return d === 0n ? `${base}+0x0` : d > 0n ? `${base}+0x${d.toString(16)}` : `${base}-0x${(-d).toString(16)}`;
  }

  /** An address: `$N+K` inside a created region, else absolute below 4 GiB or past user space, else `F±K`. */
  addr(a: bigint): string {
    for (let i = this.regions.length - 1; i >= 0; i--) {
      const r = this.regions[i]!;
      if (a >= r.start && a < r.end) return this.rel(`$${r.step}`, a - r.start);
    }
    if (a < LOW_ABSOLUTE || a >= HIGH_ABSOLUTE) return `0x${a.toString(16)}`;
    return this.rel("F", a - this.fence);
  }

  /** An exclusive end address: against the region holding the byte before it. */
  end(a: bigint): string {
    for (let i = this.regions.length - 1; i >= 0; i--) {
      const r = this.regions[i]!;
      if (a > r.start && a <= r.end) return this.rel(`$${r.step}`, a - r.start);
    }
    if (a <= LOW_ABSOLUTE || a > HIGH_ABSOLUTE) return `0x${a.toString(16)}`;
    return this.rel("F", a - this.fence);
  }

  private touchesRegion(start: bigint, end: bigint): boolean {
    return this.regions.some((r) => start < r.end && end > r.start);
  }

  private mapsLine(line: string): string | null {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) (\S+) (\S+) (\d+) ?\s*(.*)$/.exec(line);
    if (!m) return null;
    const start = BigInt("0x" + m[1]);
    const end = BigInt("0x" + m[2]);
    if (!this.touchesRegion(start, end)) return null;
    let name = m[7]!;
    const prefix = this.dir.endsWith("/") ? this.dir : this.dir + "/";
    if (this.dir !== "" && name.startsWith(prefix)) name = name.slice(prefix.length);
    const ino = m[6] === "0" ? "0" : "INO";
    return `${this.addr(start)}-${this.end(end)} ${m[3]} ${m[4]} ${m[5]} ${ino}${name === "" ? "" : " " + name}`;
  }

  /** maps: the normalised lines of VMAs that intersect a created region. */
  maps(text: string): string[] {
    const out: string[] = [];
    for (const line of text.split("\n")) {
      const n = this.mapsLine(line);
      if (n !== null) out.push(n);
    }
    return out;
  }

  /** smaps: for each VMA intersecting a created region, its header and fields. */
  smaps(text: string): string[] {
    const out: string[] = [];
    let keep = false;
    for (const line of text.split("\n")) {
      if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
        const n = this.mapsLine(line);
        keep = n !== null;
        if (n !== null) out.push(n);
      } else if (keep && line !== "") {
        out.push(line.replace(/\s+/g, " ").trim());
      }
    }
    return out;
  }

  view(o: Observation | Raw, len: bigint | null): StepView {
    const isMap = (o.op === "mmap" || o.op === "mremap") && o.ret !== null && o.errno === null;
    let ret: string | null = o.ret === null ? null : o.ret.toString();
    if (isMap) ret = this.addr(o.ret!);
    if (o.op === "brk" && o.ret !== null && this.brk0 !== null) ret = this.rel("brk", o.ret - this.brk0);
    const v: { -readonly [K in keyof StepView]: StepView[K] } = {
      step: o.step ?? -1,
      tid: o.tid ?? -1,
      op: o.op ?? "?",
      ret,
      errno: o.errno,
      error: o.refused ?? o.error,
      minflt: o.minflt,
      majflt: o.majflt,
    };
    if (o.value !== undefined) v.value = o.value.toString();
    if (o.bytes !== undefined) v.bytes = Buffer.from(o.bytes).toString("hex");
    if (o.done !== undefined) v.done = o.done;
    if (o.signal !== undefined) v.signal = { name: o.signal.name, code: o.signal.code, addr: this.addr(o.signal.addr) };
    if (o.vec !== undefined) v.vec = [...o.vec];
    if (o.stat !== undefined) v.stat = { size: o.stat.size.toString(), mode: o.stat.mode, nlink: o.stat.nlink };
    if (isMap && len !== null && o.step !== null) {
      const ps = BigInt(this.pageSize);
      this.regions.push({ step: o.step, start: o.ret!, end: o.ret! + ((len + ps - 1n) / ps) * ps });
    }
    if (o.text !== undefined) {
      if (o.op === "maps") v.lines = this.maps(o.text);
      else if (o.op === "smaps") v.lines = this.smaps(o.text);
    }
    return v;
  }
}

/** The length argument of a mapping op, when it is a plain number. */
function mappedLength(o: Op): bigint | null {
  const a = o.op === "mmap" ? o.args[1] : o.op === "mremap" ? o.args[2] : undefined;
  if (typeof a === "bigint") return a;
  if (typeof a === "number") return BigInt(a);
  return null;
}

// ---------------------------------------------------------------------------

/** Run ops on the host and on a host-configured model; return each step side by side. */
export async function compareOps(ops: readonly Op[], options: CompareOptions = {}): Promise<Comparison> {
  for (const o of ops) if (o.step >= PRELUDE_STEP) throw new Error(`compare: step numbers must be below ${PRELUDE_STEP}`);
  const settings = { ...hostModelSettings(), ...options.settings };

  // Host: read the hello's layout, lay the fence, run the ops.
  const session: HostSession = await openHostSession(options.host);
  const hostObs: Observation[] = [];
  let hostFence: bigint;
  let sandbox: string;
  let hostBrk: bigint;
  let pageSize: number;
  try {
    const hello = session.hello!;
    sandbox = hello.sandbox;
    hostBrk = hello.brk;
    pageSize = hello.pageSize;
    const plan = planFence(hello.maps, pageSize);
    hostFence = plan.fence[0];
    for (const p of preludeOps(plan, pageSize)) {
      const r = await session.exec(p);
      if (r.errno !== null || r.error !== null || r.refused !== null) throw new Error(`compare: host prelude step failed: ${JSON.stringify({ ...r, ret: String(r.ret) })}`);
    }
    for (const o of ops) hostObs.push(await session.exec(o));
  } finally {
    await session.close();
  }

  // Model: the same fence under its own layout.
  const m = new Machine({ arch: "x86_64", ...options.machine, settings });
  const mr = new ModelRunner(m);
  const plan = planFence(m.maps(mr.pid)!, m.arch.pageSize);
  const modelFence = plan.fence[0];
  for (const p of preludeOps(plan, m.arch.pageSize)) {
    const r = mr.exec(p);
    if (r.errno !== null) throw new Error(`compare: model prelude failed: ${r.errno}`);
  }
  const modelObs = ops.map((o) => mr.exec(o));

  const hn = new Normaliser(hostFence, pageSize, sandbox, hostBrk);
  const mn = new Normaliser(modelFence, m.arch.pageSize, m.process(mr.pid)!.cwd, mr.initialBrk);
  const steps: StepPair[] = ops.map((o, i) => ({
    step: o.step,
    op: o.op,
    host: hn.view(hostObs[i]!, mappedLength(o)),
    model: mn.view(modelObs[i]!, mappedLength(o)),
  }));
  return { steps, settings, fence: { host: hostFence, model: modelFence }, machine: m };
}

/** The steps (or chosen fields of them) where host and model differ. */
export function differences(c: Comparison, fields?: readonly (keyof StepView)[]): { step: number; op: string; field: string; host: unknown; model: unknown }[] {
  const out: { step: number; op: string; field: string; host: unknown; model: unknown }[] = [];
  for (const p of c.steps) {
    const keys = fields ?? (Object.keys({ ...p.host, ...p.model }) as (keyof StepView)[]);
    for (const k of keys) {
      const h = JSON.stringify(p.host[k]);
      const mv = JSON.stringify(p.model[k]);
      if (h !== mv) out.push({ step: p.step, op: p.op, field: k, host: p.host[k], model: p.model[k] });
    }
  }
  return out;
}

/** A compact table of both sides, for failure messages and exploration. */
export function formatComparison(c: Comparison): string {
  const lines: string[] = [];
  for (const p of c.steps) {
    const show = (v: StepView): string => {
      const { step: _s, tid: _t, op: _o, lines: l, ...rest } = v;
      void _s; void _t; void _o;
      return JSON.stringify(rest) + (l ? "\n      " + l.join("\n      ") : "");
    };
    lines.push(`${p.step} ${p.op}`);
    lines.push(`  host:  ${show(p.host)}`);
    lines.push(`  model: ${show(p.model)}`);
  }
  return lines.join("\n");
}

/** The smaps fields used for accounting comparisons. */
export const SMAPS_ACCOUNTING = ["Rss", "Pss", "Pss_Dirty", "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty", "Anonymous"] as const;

/** Keep the VMA header lines and the named fields of normalised smaps lines. */
export function pickSmaps(lines: readonly string[] | undefined, keys: readonly string[] = SMAPS_ACCOUNTING): string[] {
  if (lines === undefined) return [];
  return lines.filter((l) => /^(\$\d+[+-]0x|F[+-]0x|0x)[0-9a-f]*-/.test(l) || keys.includes(l.slice(0, l.indexOf(":"))));
}
