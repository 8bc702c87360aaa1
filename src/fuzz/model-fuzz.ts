/**
 * Model-only fuzzing: random, often nonsensical, syscalls and memory
 * accesses driven through the public Machine API, with every invariant
 * re-validated after each step (or every `validateEvery` steps). Any
 * exception the model throws, or a broken invariant, is a finding.
 * Deterministic: the same seed gives the same sequence of operations.
 */
import { Machine } from '../kernel/machine.js';
import type { ArchName } from '../kernel/arch/profile.js';
import * as U from '../kernel/uapi.js';
import { EM_AARCH64, EM_X86_64, PF_R, PF_W, PF_X, PT_LOAD, buildElf } from './elf-builder.js';
import { Prng } from './prng.js';

export interface ModelFuzzOptions {
  seed: number;
  /** Operations (syscalls and accesses) to run in total. */
  count: number;
  /** Operations per fresh machine before starting another. */
  perMachine?: number;
  validateEvery?: number;
  arch?: ArchName;
  onProgress?: (done: number) => void;
  /** Called before each operation runs, with its description (for finding hangs). */
  onOperation?: (op: number, description: string) => void;
}

export interface ModelFuzzFinding {
  op: number;
  machine: number;
  description: string;
  error: string;
  /** The operations of this machine up to the failure, for reproduction. */
  trace: string[];
}

export interface ModelFuzzResult {
  operations: number;
  syscalls: number;
  accesses: number;
  errnos: number;
  faults: number;
  findings: ModelFuzzFinding[];
}

const PROTS = [U.PROT_NONE, U.PROT_READ, U.PROT_READ | U.PROT_WRITE, U.PROT_READ | U.PROT_EXEC, U.PROT_WRITE, 7];
const MAPS = [
  U.MAP_PRIVATE | U.MAP_ANONYMOUS, U.MAP_SHARED | U.MAP_ANONYMOUS, U.MAP_PRIVATE, U.MAP_SHARED, U.MAP_SHARED_VALIDATE,
  U.MAP_PRIVATE | U.MAP_FIXED, U.MAP_SHARED | U.MAP_FIXED, U.MAP_PRIVATE | U.MAP_ANONYMOUS | U.MAP_FIXED,
  U.MAP_PRIVATE | U.MAP_ANONYMOUS | U.MAP_FIXED_NOREPLACE, U.MAP_PRIVATE | U.MAP_ANONYMOUS | U.MAP_POPULATE,
  U.MAP_PRIVATE | U.MAP_ANONYMOUS | U.MAP_GROWSDOWN, U.MAP_PRIVATE | U.MAP_ANONYMOUS | U.MAP_NORESERVE,
  U.MAP_PRIVATE | U.MAP_ANONYMOUS | U.MAP_LOCKED, U.MAP_PRIVATE | U.MAP_ANONYMOUS | U.MAP_STACK, U.MAP_PRIVATE | U.MAP_32BIT | U.MAP_ANONYMOUS,
  // hugetlbfs with an empty pool: a VMA whose every fault is SIGBUS, split only at huge page boundaries.
  U.MAP_PRIVATE | U.MAP_ANONYMOUS | U.MAP_HUGETLB | U.MAP_NORESERVE, U.MAP_SHARED | U.MAP_ANONYMOUS | U.MAP_HUGETLB | U.MAP_NORESERVE,
  U.MAP_PRIVATE | U.MAP_ANONYMOUS | U.MAP_HUGETLB,
];

const ADVICE = [
  U.MADV_NORMAL, U.MADV_RANDOM, U.MADV_SEQUENTIAL, U.MADV_WILLNEED, U.MADV_DONTNEED, U.MADV_FREE, U.MADV_REMOVE,
  U.MADV_DONTFORK, U.MADV_DOFORK, U.MADV_HUGEPAGE, U.MADV_NOHUGEPAGE, U.MADV_WIPEONFORK, U.MADV_KEEPONFORK,
  U.MADV_COLD, U.MADV_PAGEOUT, U.MADV_POPULATE_READ, U.MADV_POPULATE_WRITE, U.MADV_GUARD_INSTALL, U.MADV_GUARD_REMOVE,
];
const MREMAP_FLAGS = [0, U.MREMAP_MAYMOVE, U.MREMAP_MAYMOVE | U.MREMAP_FIXED, U.MREMAP_MAYMOVE | U.MREMAP_DONTUNMAP, U.MREMAP_FIXED];

/** Run the model fuzzer. Never throws: model exceptions become findings. */
export function runModelFuzz(opts: ModelFuzzOptions): ModelFuzzResult {
  const rng = new Prng(opts.seed);
  const perMachine = opts.perMachine ?? 2000;
  const validateEvery = opts.validateEvery ?? 1;
  const result: ModelFuzzResult = { operations: 0, syscalls: 0, accesses: 0, errnos: 0, faults: 0, findings: [] };
  let machineNo = 0;
  while (result.operations < opts.count) {
    machineNo++;
    // Every third machine runs THP mode "always"; the others "madvise" (the default).
    const thpEnabled = machineNo % 3 === 0 ? 'always' : 'madvise';
    const m = new Machine({ arch: opts.arch ?? 'x86_64', settings: { memTotal: 256 * 2 ** 20, thpEnabled } });
    const ps = BigInt(m.arch.pageSize);
    const pmd = BigInt(m.arch.pmdSize);
    let thpRegions = 0;
    seedExecutables(m);
    const tids: number[] = [m.spawn()];
    const addrs: bigint[] = [];
    const fds: number[] = [];
    const trace: string[] = [];
    const window = 0x10000000n;
    const pickTid = (): number => rng.pick(tids);
    const pickAddr = (): bigint =>
      rng.weighted<() => bigint>([
        [6, () => (addrs.length > 0 ? rng.pick(addrs) + BigInt(rng.int(16)) * ps : window)],
        [3, () => window + BigInt(rng.int(64)) * ps],
        [1, () => BigInt(rng.int(2 ** 31))],
        [1, () => rng.u64()],
        [1, () => 0n],
      ])();
    const pickLen = (): bigint =>
      rng.weighted<() => bigint>([
        [8, () => BigInt(1 + rng.int(8)) * ps],
        [2, () => BigInt(rng.int(5 * Number(ps)))],
        [1, () => 0n],
        [1, () => rng.u64()],
        [1, () => (1n << 64n) - BigInt(rng.int(8192))],
        [1, () => pmd * BigInt(1 + rng.int(2)) + BigInt(rng.int(3) - 1) * ps],
      ])();
    const pickFd = (): number => (fds.length > 0 && rng.bool(0.8) ? rng.pick(fds) : rng.int(8) - 1);
    for (let i = 0; i < perMachine && result.operations < opts.count; i++) {
      result.operations++;
      const tid = pickTid();
      let desc = '';
      const note = (d: string): string => {
        opts.onOperation?.(result.operations, d);
        return d;
      };
      try {
        const kind = rng.int(113);
        if (kind === 112) {
          const path = rng.pick(EXEC_PATHS);
          const options = rng.bool(0.8) ? {} : { loadBias: rng.bool(0.5) ? rng.u64() : BigInt(rng.int(2 ** 20)) * ps, stackTop: rng.bool(0.5) ? undefined : rng.u64() };
          desc = note(`execve(${tid}, ${path}, ${JSON.stringify(options, (_k, v: unknown) => (typeof v === 'bigint' ? '0x' + v.toString(16) : v))})`);
          const r = m.execve(tid, path, options);
          result.syscalls++;
          if (!r.ok) result.errnos++;
          // de_thread() ended the other threads; a failure past the point of no return, the process.
          for (let j = tids.length - 1; j >= 0; j--) if (m.getpid(tids[j]!) === undefined) tids.splice(j, 1);
          if (tids.length === 0) tids.push(m.spawn());
          addrs.length = 0;
        } else if (kind < 30) {
          const addr = rng.bool(0.6) ? 0n : pickAddr();
          const len = pickLen();
          const prot = rng.bool(0.9) ? rng.pick(PROTS) : rng.u32();
          const flags = rng.bool(0.9) ? rng.pick(MAPS) : rng.u32();
          const fd = pickFd();
          const off = rng.bool(0.8) ? BigInt(rng.int(4)) * ps : rng.u64();
          desc = note(`mmap(${tid}, 0x${addr.toString(16)}, ${len}, ${prot}, 0x${flags.toString(16)}, ${fd}, ${off})`);
          const r = m.mmap(tid, addr, len, prot, flags, fd, off);
          result.syscalls++;
          if (r.ok) addrs.push(r.value);
          else result.errnos++;
        } else if (kind < 38) {
          desc = note(`munmap(${tid}, ...)`);
          const r = m.munmap(tid, pickAddr(), pickLen());
          result.syscalls++;
          if (!r.ok) result.errnos++;
        } else if (kind < 46) {
          desc = note('mprotect');
          const r = m.mprotect(tid, pickAddr(), pickLen(), rng.bool(0.9) ? rng.pick(PROTS) : rng.u32());
          result.syscalls++;
          if (!r.ok) result.errnos++;
        } else if (kind < 50) {
          desc = note('msync');
          const r = m.msync(tid, pickAddr(), pickLen(), rng.pick([U.MS_SYNC, U.MS_ASYNC, U.MS_INVALIDATE, 0, 7, rng.u32()]));
          result.syscalls++;
          if (!r.ok) result.errnos++;
        } else if (kind < 52) {
          desc = note('mincore');
          m.mincore(tid, pickAddr(), pickLen());
          result.syscalls++;
        } else if (kind < 54) {
          desc = note('brk');
          // brk(0) changes nothing and returns the current break.
          const cur = m.brk(tid, 0n);
          const brk = cur.ok ? cur.value : 0n;
          m.brk(tid, rng.bool(0.8) ? brk + BigInt(rng.int(9) - 4) * ps : rng.u64());
          result.syscalls++;
        } else if (kind < 60) {
          desc = note('openat');
          const r = m.openat(tid, U.AT_FDCWD, rng.pick(['/tmp/a', '/tmp/b', '/tmp/c', '/nope/x', '', '/tmp', '/dev/zero', '/dev/null']), rng.pick([U.O_RDWR | U.O_CREAT, U.O_RDONLY, U.O_WRONLY | U.O_CREAT, U.O_RDWR | U.O_TRUNC, rng.u32()]), 0o644);
          result.syscalls++;
          if (r.ok) fds.push(Number(r.value));
          else result.errnos++;
        } else if (kind < 66) {
          desc = note('write');
          const n = rng.int(3 * Number(ps));
          m.write(tid, pickFd(), new Uint8Array(n).fill(rng.int(256)), rng.bool(0.5) ? null : BigInt(rng.int(8 * Number(ps))));
          result.syscalls++;
        } else if (kind < 69) {
          desc = note('read');
          m.read(tid, pickFd(), BigInt(rng.int(3 * Number(ps))), rng.bool(0.5) ? null : BigInt(rng.int(8 * Number(ps))));
          result.syscalls++;
        } else if (kind < 71) {
          // read() into and write() from user memory: copies through the MMU that fault pages in.
          const into = rng.bool();
          desc = note(into ? 'readInto' : 'writeFrom');
          const count = rng.bool(0.9) ? BigInt(rng.int(3 * Number(ps))) : rng.u64();
          const pos = rng.bool(0.6) ? null : rng.bool(0.9) ? BigInt(rng.int(8 * Number(ps))) : rng.u64();
          if (into) m.readInto(tid, pickFd(), pickAddr(), count, pos);
          else m.writeFrom(tid, pickFd(), pickAddr(), count, pos);
          result.syscalls++;
        } else if (kind < 73) {
          desc = note('ftruncate');
          m.ftruncate(tid, pickFd(), rng.bool(0.9) ? BigInt(rng.int(10 * Number(ps))) : rng.u64());
          result.syscalls++;
        } else if (kind < 74) {
          desc = note('fsync');
          m.fsync(tid, pickFd());
          result.syscalls++;
        } else if (kind < 75) {
          desc = note('fadvise');
          m.fadvise(tid, pickFd(), BigInt(rng.int(4 * Number(ps))), BigInt(rng.int(4 * Number(ps))), rng.int(7));
          result.syscalls++;
        } else if (kind < 76) {
          const which = rng.int(6);
          desc = note(['close', 'unlink', 'dup', 'lseek', 'fstat', 'fdatasync'][which]!);
          if (which === 0) m.close(tid, pickFd());
          else if (which === 1) m.unlink(tid, rng.pick(['/tmp/a', '/tmp/b', '/tmp/c']));
          else if (which === 2) {
            const r = m.dup(tid, pickFd());
            if (r.ok) fds.push(Number(r.value));
          } else if (which === 3) m.lseek(tid, pickFd(), rng.bool(0.9) ? BigInt(rng.int(8 * Number(ps)) - Number(ps)) : rng.u64(), rng.int(6));
          else if (which === 4) m.fstat(tid, pickFd());
          else m.fdatasync(tid, pickFd());
          result.syscalls++;
        } else if (kind < 77) {
          desc = note('memfd_create');
          const r = m.memfdCreate(tid, 'fz', rng.pick([0, 1, 2, rng.u32()]));
          if (r.ok) fds.push(Number(r.value));
          result.syscalls++;
        } else if (kind < 78 && tids.length < 6) {
          if (rng.bool(0.5)) {
            desc = note('fork');
            const r = m.fork(tid);
            if (r.ok) tids.push(Number(r.value));
          } else {
            desc = note('thread');
            const t = m.createThread(m.getpid(tid)!);
            if (t !== undefined) tids.push(t);
          }
          result.syscalls++;
        } else if (kind < 79 && tids.length > 1) {
          desc = note('exit');
          m.exitThread(tid);
          result.syscalls++;
          tids.splice(tids.indexOf(tid), 1);
          for (let j = tids.length - 1; j >= 0; j--) if (m.getpid(tids[j]!) === undefined) tids.splice(j, 1);
        } else if (kind < 87) {
          // Transparent huge pages: big aligned regions with MADV_HUGEPAGE, and the
          // operations that split, move, copy or zap huge PMDs.
          const what = rng.int(10);
          if (what < 3 && thpRegions < 4) {
            // At most four per machine: split huge PMDs fill whole PTE tables, which
            // the per-step validation walks entry by entry.
            thpRegions++;
            desc = note('mmap THP region');
            const r = m.mmap(tid, 0n, 2n * pmd, U.PROT_READ | U.PROT_WRITE, U.MAP_PRIVATE | U.MAP_ANONYMOUS, -1, 0n);
            if (r.ok) {
              const aligned = ((r.value + pmd - 1n) / pmd) * pmd;
              addrs.push(r.value, aligned);
              m.madvise(tid, aligned, pmd, rng.bool(0.8) ? U.MADV_HUGEPAGE : U.MADV_NOHUGEPAGE);
              if (rng.bool(0.7)) m.store(tid, aligned + BigInt(rng.int(Number(pmd / ps))) * ps, 8, rng.u64());
            }
          } else if (what < 6) {
            const advice = rng.pick([U.MADV_DONTNEED, U.MADV_FREE, U.MADV_HUGEPAGE, U.MADV_NOHUGEPAGE, U.MADV_COLD, U.MADV_PAGEOUT, U.MADV_DONTFORK, U.MADV_DOFORK, U.MADV_WIPEONFORK, U.MADV_POPULATE_WRITE, U.MADV_POPULATE_READ]);
            desc = note(`madvise ${advice}`);
            const r = m.madvise(tid, pickAddr(), pickLen(), advice);
            if (!r.ok) result.errnos++;
          } else if (what < 8) {
            desc = note('mremap');
            const flags = rng.pick([U.MREMAP_MAYMOVE, U.MREMAP_MAYMOVE | U.MREMAP_FIXED, 0, U.MREMAP_MAYMOVE | U.MREMAP_DONTUNMAP]);
            const r = m.mremap(tid, pickAddr(), pickLen(), pickLen(), flags, flags & U.MREMAP_FIXED ? pickAddr() : 0n);
            if (r.ok) addrs.push(r.value);
            else result.errnos++;
          } else {
            desc = note('mlock/munlock');
            const r = rng.bool() ? m.mlock(tid, pickAddr(), pickLen()) : m.munlock(tid, pickAddr(), pickLen());
            if (!r.ok) result.errnos++;
          }
          result.syscalls++;
        } else if (kind >= 100 && kind < 105) {
          const advice = rng.bool(0.9) ? rng.pick(ADVICE) : rng.u32();
          desc = note(`madvise(${tid}, ..., ${advice})`);
          const r = m.madvise(tid, pickAddr(), pickLen(), advice);
          result.syscalls++;
          if (!r.ok) result.errnos++;
        } else if (kind >= 105 && kind < 108) {
          const flags = rng.bool(0.9) ? rng.pick(MREMAP_FLAGS) : rng.u32();
          desc = note(`mremap(${tid}, ..., ${flags})`);
          const r = m.mremap(tid, pickAddr(), pickLen(), pickLen(), flags, pickAddr());
          result.syscalls++;
          if (r.ok) addrs.push(r.value);
          else result.errnos++;
        } else if (kind >= 108 && kind < 112) {
          const which = rng.int(5);
          desc = note(`mlock family ${which}`);
          const r =
            which === 0 ? m.mlock(tid, pickAddr(), pickLen())
            : which === 1 ? m.mlock2(tid, pickAddr(), pickLen(), rng.pick([0, U.MLOCK_ONFAULT, rng.u32()]))
            : which === 2 ? m.munlock(tid, pickAddr(), pickLen())
            : which === 3 ? m.mlockall(tid, rng.pick([U.MCL_CURRENT, U.MCL_FUTURE, U.MCL_CURRENT | U.MCL_ONFAULT, U.MCL_FUTURE | U.MCL_ONFAULT, 0, rng.u32()]))
            : m.munlockall(tid);
          result.syscalls++;
          if (!r.ok) result.errnos++;
        } else {
          const addr = pickAddr();
          let ok: boolean;
          if (rng.bool(0.9)) {
            const size = rng.pick([1, 2, 4, 8] as const);
            desc = note(`access ${addr.toString(16)} ${size}`);
            ok = (rng.bool(0.5) ? m.load(tid, addr, size) : m.store(tid, addr, size, rng.u64())).ok;
          } else {
            // A byte range, which may cross pages and VMAs.
            const len = rng.int(3 * Number(ps));
            desc = note(`access ${addr.toString(16)} [${len}]`);
            ok = (rng.bool(0.5) ? m.loadBytes(tid, addr, len) : m.storeBytes(tid, addr, new Uint8Array(len).fill(rng.int(256)))).ok;
          }
          result.accesses++;
          if (!ok) result.faults++;
        }
        trace.push(desc);
        if (result.operations % validateEvery === 0) m.validate();
        // The display readers must cope with whatever state the operations left.
        if (result.operations % 500 === 0) readEverything(m, tids);
      } catch (e) {
        result.findings.push({ op: result.operations, machine: machineNo, description: desc, error: (e as Error).stack ?? String(e), trace: [...trace, desc] });
        break;
      }
      if (opts.onProgress !== undefined && result.operations % 1000 === 0) opts.onProgress(result.operations);
    }
  }
  return result;
}

/** The paths the fuzzer's execve() picks from: good executables, one that fails past the point of no return on 16 KiB pages, and refusals. */
const EXEC_PATHS = ['/bin/static', '/bin/pie', '/bin/4k', '/bin/noexec', '/bin/bad-interp', '/lib/ld.so', '/bin', '/nope', '/dev/zero', ''];

/** The ELF files execve() runs, for the machine's architecture. */
function seedExecutables(m: Machine): void {
  const machine = m.arch.name === 'x86_64' ? EM_X86_64 : EM_AARCH64;
  const text = { type: PT_LOAD, flags: PF_R | PF_X, offset: 0, vaddr: 0, filesz: 0x1000, memsz: 0x1000 };
  const data = { type: PT_LOAD, flags: PF_R | PF_W, offset: 0x1000, vaddr: 0x1000, filesz: 0x100, memsz: 0x3000 };
  m.seedFile('/lib/ld.so', buildElf({ type: 3, machine, entry: 0x80, size: 0x2000, segs: [text, data] }), 0o755);
  m.seedFile('/bin/pie', buildElf({ type: 3, machine, entry: 0x40, size: 0x2000, interp: '/lib/ld.so', segs: [text, data] }), 0o755);
  const at = (seg: typeof text, base: number) => ({ ...seg, vaddr: seg.vaddr + base });
  m.seedFile('/bin/static', buildElf({ type: 2, machine, entry: 0x400040, size: 0x2000, segs: [at(text, 0x400000), at(data, 0x400000)] }), 0o755);
  // vaddr - offset 0x401000: a multiple of 4 KiB, not of 16 KiB.
  m.seedFile('/bin/4k', buildElf({ type: 2, machine, entry: 0x400040, size: 0x2000, segs: [at(text, 0x400000), at(data, 0x401000)] }), 0o755);
  m.seedFile('/bin/noexec', buildElf({ type: 2, machine, entry: 0x400040, size: 0x2000, segs: [at(text, 0x400000)] }), 0o644);
  m.seedFile('/bin/bad-interp', buildElf({ type: 3, machine, entry: 0, size: 0x2000, interp: '/bin/noexec', segs: [text] }), 0o755);
}

/**
 * Every /proc renderer and read-only view for every live process, as a
 * display would read them, and the accesses no thread could make (a dead
 * thread, a width no CPU has), which must come back as errno values.
 */
function readEverything(m: Machine, tids: readonly number[]): void {
  m.meminfo();
  m.vmstat();
  m.diskstats();
  m.frames();
  m.pageCache();
  m.counters();
  for (const tid of tids) {
    const pid = m.getpid(tid);
    if (pid === undefined) continue;
    m.maps(pid);
    m.smaps(pid);
    m.smapsRollup(pid);
    m.status(pid);
    m.statm(pid);
    m.counters(pid);
    m.tlb(pid);
    m.pagemap(pid);
    for (const v of m.vmas(pid) ?? []) {
      m.walk(pid, v.start);
      m.walk(pid, v.end);
    }
  }
  const tid = tids[0];
  if (tid === undefined) return;
  const wrong: [string, { ok: boolean; errno?: string }, string][] = [
    ['load by thread 0', m.load(0, 0n, 8), 'ESRCH'],
    ['load of 3 bytes', m.load(tid, 0n, 3 as 1), 'EINVAL'],
    ['loadBytes of -1 bytes', m.loadBytes(tid, 0n, -1), 'EINVAL'],
  ];
  for (const [what, r, errno] of wrong) {
    if (r.ok || r.errno !== errno) throw new Error(`${what}: ${JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}, expected ${errno}`);
  }
}
