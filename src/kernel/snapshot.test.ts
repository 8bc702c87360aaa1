import { describe, expect, it } from 'vitest';
import type { Machine } from './machine.js';
import type { ArchName } from './arch/profile.js';
import { ANON, RW, makeFile, ok, setup } from '../../test/model-helpers.js';
import { MADV_GUARD_INSTALL, MADV_HUGEPAGE, MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_READ } from './uapi.js';
import { PTE_ACCESSED, PTE_PRESENT } from './arch/pte.js';
import type { PageTable } from './mm/pgtable.js';
import type { Process } from './sched.js';

/**
 * Every process the machine has made, exited ones included, through the
 * internal per-pid lookup (the process table itself is private): pids and
 * thread ids share one counter, so scanning the ids handed out finds them all.
 */
function allProcesses(m: Machine): Process[] {
  const out: Process[] = [];
  for (let id = 1; id < 100_000; id++) {
    const p = m.process(id);
    if (p !== undefined && p.tgid === id) out.push(p);
  }
  return out;
}

/**
 * The model's raw state, read field by field from its data structures, not
 * through any reader under test: every page table (entries, frames, used
 * counts, huge PMDs), the per-frame arrays, each TLB and its walk cache, the
 * mm counters, the page caches and readahead states, vmstat, the disk's
 * statistics, the fault counters and the committed pages.
 */
function rawState(m: Machine): string {
  const k = m.k;
  const p = k.phys;
  const n = p.maxPfn;
  const tables = (t: PageTable): unknown => ({
    level: t.level, pfn: t.pfn, used: t.used, hugePfn: t.hugePfn, hugeFlags: t.hugeFlags,
    flags: t.flags === null ? null : Array.from(t.flags), pfns: t.pfns === null ? null : Array.from(t.pfns),
    children: t.children === null ? null : Array.from(t.children, (c) => (c === undefined ? null : tables(c))),
  });
  const procs = allProcesses(m).map((proc) => {
    const mm = proc.mm;
    const tlb = mm.tlb;
    return {
      pid: proc.tgid, exited: proc.exited,
      threads: proc.threads.map((t) => [t.tid, t.minFlt, t.majFlt]), dead: [proc.deadMinFlt, proc.deadMajFlt],
      pgd: tables(mm.pgd),
      tlb: [Array.from(tlb.vpn), Array.from(tlb.pfn), Array.from(tlb.perm), tlb.fills, tlb.flushesOne, tlb.flushesAll, tlb.walkBase, tlb.walkLeaf?.pfn ?? null],
      mm: [mm.rss, mm.hiwaterRss, mm.hiwaterVm, mm.totalVm, mm.lockedVm, mm.dataVm, mm.execVm, mm.stackVm, mm.pgtablesBytes, mm.nrHugePmds, mm.brk, mm.mmapBase],
      guards: mm.guards === null ? null : [...mm.guards].sort(),
      vmas: [...mm.vmas].map((v) => [v.start, v.end, v.flags, v.pgoff]),
      ra: [...proc.files.fds].map((e) => (e === undefined ? null : { ...e.file.ra, pos: e.file.pos })),
    };
  });
  const caches = k.owners.map((o) => (o !== undefined && 'pages' in o ? { nrDirty: o.nrDirty, pages: [...o.pages], folios: [...o.folios], size: o.host.size } : null));
  return JSON.stringify({
    frames: [Array.from(p.refcount.subarray(0, n)), Array.from(p.mapcount.subarray(0, n)), Array.from(p.flags.subarray(0, n)), Array.from(p.mapping.subarray(0, n)), Array.from(p.index.subarray(0, n))],
    counts: [n, p.nrUsed, p.nrPageTables, [...p.pmdMapped], k.committedPages, k.owners.length],
    vmstat: { ...k.vmstat }, disk: { ...k.disk.stats }, procs, caches,
  });
}

/** Every display reader of the public API, over every process, VMA, page and frame. */
function readEverything(m: Machine): void {
  const ps = BigInt(m.arch.pageSize);
  for (const pid of m.pids()) {
    m.maps(pid); m.smaps(pid); m.smapsRollup(pid); m.status(pid); m.statm(pid); m.rusage(pid);
    m.threads(pid); m.tlb(pid); m.pagemap(pid); m.counters(pid);
    const vmas = m.vmas(pid)!;
    for (const v of vmas) {
      // mincore(2) reports residency from the page tables and the page cache, touching neither.
      m.mincore(pid, v.start, v.end - v.start);
      for (let a = v.start; a < v.end; a += ps) m.walk(pid, a + 1n);
      m.walk(pid, v.end + 3n * ps); // holes too
    }
    m.walk(pid, 0n);
    m.walk(pid, (1n << 64n) - ps);
  }
  m.meminfo(); m.vmstat(); m.diskstats(); m.counters();
  m.frames();
  const total = m.counters().memory.total;
  for (let pfn = -1; pfn <= total + 1; pfn++) m.frame(pfn);
  m.pageCache();
}

/**
 * A machine with a bit of everything: file pages fault-around mapped but not
 * accessed (arm64 maps them old), a dirty shared page, a private copy, anonymous,
 * zero-page and shared-anonymous pages, a THP, a guard marker and a forked child.
 */
function busyMachine(arch: ArchName) {
  // With THP built in on every profile, so each has a huge PMD for the readers to walk.
  const { m, pid } = setup({ arch, paranoid: false, settings: { transparentHugepage: true } });
  const ps = BigInt(m.k.arch.pageSize);
  const fd = makeFile(m, pid, '/tmp/snap.bin', new Uint8Array(40 * Number(ps)).fill(3));
  ok(m.fsync(pid, fd));
  const f = ok(m.mmap(pid, 0n, 40n * ps, RW, MAP_SHARED, fd, 0n));
  m.load(pid, f + 2n * ps, 1); // fault-around maps its neighbours
  m.store(pid, f + 5n * ps, 1, 7n);
  const priv = ok(m.mmap(pid, 0n, 2n * ps, RW, MAP_PRIVATE, fd, 0n));
  m.store(pid, priv, 1, 9n);
  m.load(pid, priv + ps, 1);
  const a = ok(m.mmap(pid, 0n, 4n * ps, RW, ANON, -1, 0n));
  m.store(pid, a, 8, 1n);
  m.load(pid, a + ps, 8);
  ok(m.madvise(pid, a + 3n * ps, ps, MADV_GUARD_INSTALL));
  const sh = ok(m.mmap(pid, 0n, ps, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0n));
  m.store(pid, sh, 1, 1n);
  const H = BigInt(m.k.arch.pmdSize);
  const big = ok(m.mmap(pid, 0n, 2n * H, RW, ANON, -1, 0n));
  const thp = ((big + H - 1n) / H) * H;
  ok(m.madvise(pid, thp, H, MADV_HUGEPAGE));
  m.store(pid, thp, 1, 1n);
  const child = Number(ok(m.fork(pid)));
  m.load(child, f + 30n * ps, 1);
  const ro = ok(m.mmap(pid, 0n, ps, PROT_READ, MAP_PRIVATE, fd, 10n * ps));
  m.load(pid, ro, 1);
  return { m, pid, child, f, a, thp };
}

/** Present PTEs and whether their accessed bit is set, over every process. */
function ptes(m: Machine): { present: number; old: number } {
  let present = 0;
  let old = 0;
  const visit = (t: PageTable): void => {
    if (t.children !== null) {
      for (const c of t.children) if (c !== undefined) visit(c);
      return;
    }
    for (const fl of t.flags!) {
      if (!(fl & PTE_PRESENT)) continue;
      present++;
      if (!(fl & PTE_ACCESSED)) old++;
    }
  };
  for (const proc of allProcesses(m)) if (!proc.exited) visit(proc.mm.pgd);
  return { present, old };
}

describe('reading state for display never changes it', () => {
  for (const arch of ['arm64-4k', 'arm64-16k'] as const) {
    it(`on ${arch}: page tables, frames, TLBs, counters and the disk are the same after every reader`, () => {
      const { m, pid, f } = busyMachine(arch);
      m.validate();
      // The readers have something to disturb: old PTEs (arm64's fault-around), pages mapped
      // but not in the TLB, a huge PMD.
      const before = ptes(m);
      expect(before.old).toBeGreaterThan(5);
      const mm = m.process(pid)!.mm;
      const ps = BigInt(m.k.arch.pageSize);
      expect(mm.tlb.probe(Number((f + 3n * ps) / ps))).toBe(-1);
      expect(m.walk(pid, f + 3n * ps)!.pte!.flags).not.toContain('accessed');
      expect(mm.nrHugePmds).toBe(1);

      const raw = rawState(m);
      readEverything(m);
      readEverything(m);
      expect(rawState(m)).toBe(raw);
      expect(ptes(m)).toEqual(before);
      m.validate();

      // The raw comparison can see a change: the same access a reader must not make does show.
      m.load(pid, f + 3n * ps, 1);
      expect(rawState(m)).not.toBe(raw);
      expect(ptes(m).old).toBe(before.old - 1);
    });
  }

  it('on x86_64: the snapshots describe VMAs, the page walk, frames, the page cache and the TLB', () => {
    const { m, pid } = setup();
    const a = ok(m.mmap(pid, 0n, 8192n, RW, ANON, -1, 0n));
    m.store(pid, a, 8, 1n);
    const fd = makeFile(m, pid, '/tmp/snap.bin', 'abc');
    const f = ok(m.mmap(pid, 0n, 4096n, RW, MAP_SHARED, fd, 0n));
    m.load(pid, f, 1);
    const raw = rawState(m);
    const vmas = m.vmas(pid)!;
    const walkA = m.walk(pid, a)!;
    const walkHole = m.walk(pid, a + 4096n)!;
    const frames = m.frames();
    const frame0 = m.frame(0);
    const cache = m.pageCache();
    const tlb = m.tlb(pid)!;
    const pagemap = m.pagemap(pid)!;
    const counters = m.counters(pid);
    const global = m.counters();
    expect(rawState(m)).toBe(raw);
    expect(JSON.stringify(m.counters(pid))).toBe(JSON.stringify(counters));

    expect(vmas.find((v) => v.start === a)).toMatchObject({ perms: 'rw-p', kind: 'anon', resident: 1, flagNames: 'rd wr mr mw me ac' });
    expect(vmas.find((v) => v.start === f)).toMatchObject({ perms: 'rw-s', kind: 'file-shared', name: '/tmp/snap.bin', resident: 1 });
    expect(walkA.levels.map((l) => l.level)).toEqual(['pgd', 'pud', 'pmd', 'pte']);
    expect(walkA.levels.every((l) => l.present)).toBe(true);
    expect(walkA.pte!.flags).toEqual(['present', 'write', 'user', 'accessed', 'dirty', 'nx']);
    // x86: present, RW, user, accessed, dirty and NX (bit 63) around the frame number.
    expect(walkA.pte!.raw).toBe((BigInt(walkA.pte!.pfn) << 12n) | 0x67n | (1n << 63n));
    expect(walkHole.pte).toBeNull();
    expect(walkHole.levels[3]!.present).toBe(false);
    const anonFrame = frames.find((fr) => fr.pfn === walkA.pte!.pfn)!;
    expect(anonFrame).toMatchObject({ kind: 'anon', refcount: 1, mapcount: 1 });
    expect(cache.find((c) => c.path === '/tmp/snap.bin')!.pages).toHaveLength(1);
    expect(tlb.some((e) => e.addr === a && e.writable)).toBe(true);
    expect(frame0.kind).toBe('zero');
    expect(pagemap.find((e) => e.addr === a)).toEqual({ addr: a, pfn: walkA.pte!.pfn, writable: true, huge: false });
    expect(pagemap.find((e) => e.addr === f)).toMatchObject({ writable: false, huge: false });

    // write(2) put the file's one page in the cache, dirty until something syncs it.
    const snap = cache.find((c) => c.path === '/tmp/snap.bin')!;
    expect(snap).toMatchObject({ size: 3, uptodate: 1, dirty: 1, writeback: 0 });
    expect(counters.memory.dirty).toBe(1);

    // Two faults (the anonymous store, the file load) and what they left.
    expect(counters.vmstat.pgfault).toBe(2);
    expect(counters.process).toMatchObject({ pid, threads: 1, minFlt: 2, majFlt: 0, rssAnon: 1, rssFile: 1, rssShmem: 0 });
    expect(counters.process!.minFlt).toBe(m.rusage(pid)!.minFlt);
    expect(counters.memory.used).toBe(frames.length - 1);
    expect(counters.memory.anon).toBe(frames.filter((fr) => fr.kind === 'anon').length);
    expect(counters.memory.pageTables).toBe(frames.filter((fr) => fr.kind === 'pagetable').length);
    expect(counters.memory.total - counters.memory.free - 1).toBe(counters.memory.used);
    expect(counters.disk).toEqual(m.k.disk.stats);
    expect(global.process).toBeNull();
    expect({ ...global, process: counters.process }).toEqual(counters);

    // A pid that is not a live process.
    expect(m.vmas(99999)).toBeUndefined();
    expect(m.walk(99999, a)).toBeUndefined();
    expect(m.counters(99999).process).toBeNull();

    // fsync() writes it back: clean, and counted as written.
    ok(m.fsync(pid, fd));
    expect(m.pageCache().find((c) => c.path === '/tmp/snap.bin')).toMatchObject({ uptodate: 1, dirty: 0 });
    expect(m.counters().vmstat.pgpgout).toBe(counters.vmstat.pgpgout + 4);
    expect(m.counters().disk.writeRequests).toBe(counters.disk.writeRequests + 1);
  });
});
