/**
 * The host's memory-management settings, each with where it came from, so a
 * model run can be configured like the host the oracle runs on.
 *
 * Everything is read from /proc and /sys (no runner needed). Values that are
 * not visible from user space fall back to the kernel's default, and say so in
 * their `source`.
 */
import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { release, tmpdir } from "node:os";
import { join } from "node:path";

export interface Setting<T> {
  readonly value: T;
  /** A path, or "kernel default (...)", or "unreadable: ..." */
  readonly source: string;
  /** Why a default was used, or anything else worth knowing. */
  readonly note?: string;
}

export type ThpMode = "always" | "madvise" | "never";

export interface RlimitValue {
  /** null: unlimited */
  readonly soft: bigint | null;
  readonly hard: bigint | null;
}

export interface HostSettings {
  readonly kernelRelease: Setting<string>;
  readonly pageSize: Setting<number>;
  readonly thp: {
    readonly enabled: Setting<ThpMode | null>;
    readonly defrag: Setting<string | null>;
    readonly shmemEnabled: Setting<string | null>;
    readonly useZeroPage: Setting<boolean | null>;
    readonly pmdSize: Setting<number | null>;
    /** mTHP: per-size "enabled" choice, e.g. { "64kB": "never", "2048kB": "inherit" } */
    readonly sizes: Setting<Readonly<Record<string, string>>>;
  };
  readonly overcommitMemory: Setting<number | null>;
  readonly overcommitRatio: Setting<number | null>;
  readonly overcommitKbytes: Setting<number | null>;
  readonly maxMapCount: Setting<number | null>;
  readonly mmapMinAddr: Setting<number | null>;
  readonly randomizeVaSpace: Setting<number | null>;
  readonly stackRlimit: Setting<RlimitValue | null>;
  readonly memlockRlimit: Setting<RlimitValue | null>;
  /** CAP_IPC_LOCK in the effective set: mlock ignores RLIMIT_MEMLOCK. */
  readonly ipcLockCapable: Setting<boolean | null>;
  /** Bytes kept free below a growing stack (and above a grows-up one). */
  readonly stackGuardGap: Setting<number>;
  /** do_fault_around(): how much around a read fault on a file page is mapped. */
  readonly faultAroundBytes: Setting<number>;
  /** read_ahead_kb of the block device holding `dir` (default: the sandbox parent, /tmp). */
  readonly readaheadKb: Setting<number>;
  readonly swapTotalKb: Setting<number | null>;
}

export interface HostSettingsOptions {
  /** Prefix for /proc and /sys (tests point it at a fake tree). Default "" (the real ones). */
  readonly root?: string;
  /** Whose block device's readahead to report. Default os.tmpdir() (the runner's sandbox lives there). */
  readonly dir?: string;
}

type Read = { ok: true; text: string; path: string } | { ok: false; path: string; why: string };

function reader(root: string): (path: string) => Read {
  return (path) => {
    const full = root + path;
    try {
      return { ok: true, text: readFileSync(full, "utf8"), path };
    } catch (e) {
      return { ok: false, path, why: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
    }
  };
}

function intSetting(r: Read): Setting<number | null> {
  if (!r.ok) return { value: null, source: `unreadable: ${r.path} (${r.why})` };
  const v = Number.parseInt(r.text.trim(), 10);
  return Number.isFinite(v) ? { value: v, source: r.path } : { value: null, source: r.path, note: `unparsable: ${r.text.trim()}` };
}

/** "always [madvise] never" -> "madvise" */
export function bracketChoice(text: string): string | null {
  const m = /\[([^\]]+)\]/.exec(text);
  return m ? m[1]! : null;
}

function choiceSetting(r: Read): Setting<string | null> {
  if (!r.ok) return { value: null, source: `unreadable: ${r.path} (${r.why})` };
  return { value: bracketChoice(r.text), source: r.path };
}

/** AT_PAGESZ (6) from an auxv image (native-endian pairs of 64-bit words). */
export function pageSizeFromAuxv(auxv: Uint8Array): number | null {
  const view = new DataView(auxv.buffer, auxv.byteOffset, auxv.byteLength);
  for (let off = 0; off + 16 <= auxv.byteLength; off += 16) {
    const type = view.getBigUint64(off, true);
    if (type === 0n) break;
    if (type === 6n) return Number(view.getBigUint64(off + 8, true));
  }
  return null;
}

/** One "Max ..." row of /proc/PID/limits. */
export function parseLimitsRow(limits: string, label: string): RlimitValue | null {
  for (const line of limits.split("\n")) {
    if (!line.startsWith(label)) continue;
    const fields = line.slice(label.length).trim().split(/\s+/);
    const f = (s: string | undefined): bigint | null => (s === undefined || s === "unlimited" ? null : BigInt(s));
    return { soft: f(fields[0]), hard: f(fields[1]) };
  }
  return null;
}

/** glibc's gnu_dev_major/minor for a 64-bit st_dev. */
export function devMajorMinor(dev: bigint): { major: number; minor: number } {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}

function readaheadFor(dir: string, root: string, read: (p: string) => Read): Setting<number> {
  const fallback = (why: string): Setting<number> => ({
    value: 128,
    source: "kernel default (VM_READAHEAD_PAGES: 128 KiB)",
    note: why,
  });
  let dev: bigint;
  try {
    dev = statSync(dir, { bigint: true }).dev;
  } catch (e) {
    return fallback(`cannot stat ${dir}: ${(e as Error).message}`);
  }
  const { major, minor } = devMajorMinor(dev);
  if (major === 0) return fallback(`${dir} is on a filesystem without a block device (dev 0:${minor}, e.g. tmpfs)`);
  const base = `/sys/dev/block/${major}:${minor}`;
  const direct = read(`${base}/queue/read_ahead_kb`);
  if (direct.ok) return { value: Number.parseInt(direct.text.trim(), 10), source: direct.path, note: `block device of ${dir}` };
  // A partition has no queue/ of its own: use its disk's.
  try {
    const real = realpathSync(root + base);
    const parentQueue = join(real, "..", "queue", "read_ahead_kb");
    const text = readFileSync(parentQueue, "utf8");
    return { value: Number.parseInt(text.trim(), 10), source: parentQueue.slice(root.length), note: `disk holding the partition of ${dir}` };
  } catch {
    return fallback(`no read_ahead_kb found for device ${major}:${minor} of ${dir}`);
  }
}

function kernelRelease(root: string, read: (p: string) => Read): Setting<string> {
  if (!root) return { value: release(), source: "os.release() (uname)" };
  const r = read("/proc/sys/kernel/osrelease");
  return r.ok ? { value: r.text.trim(), source: r.path } : { value: "unknown", source: `unreadable: ${r.path} (${r.why})` };
}

/** Reads the host's settings. Never throws for a missing file: the setting says where it looked. */
export function readHostSettings(options: HostSettingsOptions = {}): HostSettings {
  const root = options.root ?? "";
  const read = reader(root);
  const thpDir = "/sys/kernel/mm/transparent_hugepage";

  // Page size: the kernel tells every process in its aux vector.
  let pageSize: Setting<number>;
  try {
    const v = pageSizeFromAuxv(readFileSync(root + "/proc/self/auxv"));
    pageSize = v ? { value: v, source: "/proc/self/auxv (AT_PAGESZ)" } : { value: 4096, source: "kernel default (x86_64: 4096)", note: "no AT_PAGESZ" };
  } catch (e) {
    pageSize = { value: 4096, source: "kernel default (x86_64: 4096)", note: `/proc/self/auxv unreadable: ${(e as Error).message}` };
  }

  const enabled = choiceSetting(read(`${thpDir}/enabled`));
  const sizes: Record<string, string> = {};
  let sizesSource = `${thpDir}/hugepages-*kB/enabled`;
  const pmd = intSetting(read(`${thpDir}/hpage_pmd_size`));
  try {
    for (const name of readdirSync(root + thpDir)) {
      const m = /^hugepages-(\d+kB)$/.exec(name);
      if (!m) continue;
      const r = read(`${thpDir}/${name}/enabled`);
      if (r.ok) sizes[m[1]!] = bracketChoice(r.text) ?? r.text.trim();
    }
  } catch (e) {
    sizesSource = `unreadable: ${thpDir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
  const zero = read(`${thpDir}/use_zero_page`);

  const limits = read("/proc/self/limits");
  const rlimit = (label: string): Setting<RlimitValue | null> =>
    limits.ok
      ? { value: parseLimitsRow(limits.text, label), source: "/proc/self/limits", note: "the runner inherits this process's limits" }
      : { value: null, source: `unreadable: /proc/self/limits (${limits.why})` };

  const status = read("/proc/self/status");
  let ipcLock: Setting<boolean | null> = { value: null, source: "unreadable: /proc/self/status" };
  if (status.ok) {
    const m = /^CapEff:\s*([0-9a-f]+)/m.exec(status.text);
    if (m) ipcLock = { value: ((BigInt("0x" + m[1]) >> 14n) & 1n) === 1n, source: "/proc/self/status CapEff bit 14 (CAP_IPC_LOCK)" };
  }

  const cmdline = read("/proc/cmdline");
  let stackGuardGap: Setting<number> = {
    value: 256 * pageSize.value,
    source: "kernel default (mm/mmap.c: stack_guard_gap = 256UL << PAGE_SHIFT)",
    note: "only settable on the kernel command line (stack_guard_gap=pages); not set there",
  };
  if (cmdline.ok) {
    const m = /(?:^|\s)stack_guard_gap=(\d+)/.exec(cmdline.text);
    if (m) stackGuardGap = { value: Number(m[1]) * pageSize.value, source: "/proc/cmdline stack_guard_gap= (pages)" };
  } else {
    stackGuardGap = { ...stackGuardGap, note: `/proc/cmdline unreadable (${cmdline.why}); assuming the default` };
  }

  const fa = read("/sys/kernel/debug/fault_around_bytes");
  const faultAroundBytes: Setting<number> = fa.ok
    ? { value: Number.parseInt(fa.text.trim(), 10), source: fa.path }
    : {
        value: 65536,
        source: "kernel default (mm/memory.c: fault_around_pages = 65536 >> PAGE_SHIFT)",
        note: `debugfs not readable here (${fa.why}); the value is assumed, not observed`,
      };

  const meminfo = read("/proc/meminfo");
  let swapTotalKb: Setting<number | null> = { value: null, source: "unreadable: /proc/meminfo" };
  if (meminfo.ok) {
    const m = /^SwapTotal:\s*(\d+) kB/m.exec(meminfo.text);
    swapTotalKb = { value: m ? Number(m[1]) : null, source: "/proc/meminfo SwapTotal" };
  }

  return {
    kernelRelease: kernelRelease(root, read),
    pageSize,
    thp: {
      enabled: { ...enabled, value: enabled.value as ThpMode | null },
      defrag: choiceSetting(read(`${thpDir}/defrag`)),
      shmemEnabled: choiceSetting(read(`${thpDir}/shmem_enabled`)),
      useZeroPage: zero.ok ? { value: zero.text.trim() === "1", source: zero.path } : { value: null, source: `unreadable: ${zero.path} (${zero.why})` },
      pmdSize: pmd,
      sizes: { value: sizes, source: sizesSource },
    },
    overcommitMemory: intSetting(read("/proc/sys/vm/overcommit_memory")),
    overcommitRatio: intSetting(read("/proc/sys/vm/overcommit_ratio")),
    overcommitKbytes: intSetting(read("/proc/sys/vm/overcommit_kbytes")),
    maxMapCount: intSetting(read("/proc/sys/vm/max_map_count")),
    mmapMinAddr: intSetting(read("/proc/sys/vm/mmap_min_addr")),
    randomizeVaSpace: intSetting(read("/proc/sys/kernel/randomize_va_space")),
    stackRlimit: rlimit("Max stack size"),
    memlockRlimit: rlimit("Max locked memory"),
    ipcLockCapable: ipcLock,
    stackGuardGap,
    faultAroundBytes,
    readaheadKb: readaheadFor(options.dir ?? tmpdir(), root, read),
    swapTotalKb,
  };
}
