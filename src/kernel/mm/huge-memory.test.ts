import { describe, expect, it } from 'vitest';
import { ANON, RW, errno, ok, setup } from '../../../test/model-helpers.js';
import {
  AT_FDCWD, MAP_SHARED, O_RDONLY, MADV_DONTNEED, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MAP_FIXED, MAP_PRIVATE, MAP_ANONYMOUS, MREMAP_FIXED, MREMAP_MAYMOVE,
  PROT_READ, SEGV_ACCERR,
} from '../uapi.js';
import type { Machine } from '../machine.js';
import { hugePmdAt } from './huge-memory.js';

const MB = 1n << 20n;
const H = 2n * MB;

/** A 4 MiB private anonymous mapping and its 2 MiB-aligned half, MADV_HUGEPAGE. */
function thpRegion(m: Machine, pid: number): bigint {
  const m0 = ok(m.mmap(pid, 0n, 2n * H, RW, ANON, -1, 0n));
  const p = ((m0 + H - 1n) / H) * H;
  ok(m.madvise(pid, p, H, MADV_HUGEPAGE));
  return p;
}

function field(text: string, name: string): number[] {
  return [...text.matchAll(new RegExp(`^${name}:\\s+(\\d+)`, 'gm'))].map((x) => Number(x[1]));
}

function smapsOf(m: Machine, pid: number, addr: bigint): string {
  const all = m.smaps(pid)!;
  const start = all.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/).find((b) => {
    const [s, e] = b.split(' ')[0]!.split('-').map((x) => BigInt('0x' + x));
    return s! <= addr && addr < e!;
  });
  return start ?? '';
}

const statusKb = (m: Machine, pid: number, name: string): number => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(m.status(pid)!)![1]);
const meminfoKb = (m: Machine, name: string): number => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(m.meminfo())![1]);

describe('transparent huge pages (do_huge_pmd_anonymous_page)', () => {
  it('a write fault in an aligned MADV_HUGEPAGE range maps one THP: one fault, 2048 kB', () => {
    const { m, pid } = setup();
    const p = thpRegion(m, pid);
    const pte0 = statusKb(m, pid, 'VmPTE');
    ok(m.store(pid, p + 5n, 1, 9n) as never);
    expect(m.rusage(pid)).toEqual({ minFlt: 1, majFlt: 0 });
    for (let i = 0n; i < 512n; i++) m.store(pid, p + i * 4096n, 1, 1n);
    expect(m.rusage(pid)).toEqual({ minFlt: 1, majFlt: 0 });
    const s = smapsOf(m, pid, p);
    expect(field(s, 'Rss')).toEqual([2048]);
    expect(field(s, 'AnonHugePages')).toEqual([2048]);
    expect(field(s, 'Private_Dirty')).toEqual([2048]);
    expect(statusKb(m, pid, 'RssAnon')).toBe(2048);
    expect(meminfoKb(m, 'AnonHugePages')).toBe(2048);
    // The deposited page table: VmPTE grows by one page (pgtable_trans_huge_deposit()).
    expect(statusKb(m, pid, 'VmPTE')).toBe(pte0 + 4 + 4 + 4);
    expect(m.mincore(pid, p, H).vec.every((b) => b === 1)).toBe(true);
    expect(m.load(pid, p + 5n, 1)).toEqual({ ok: true, value: 9n });
    expect(m.k.vmstat.thpFaultAlloc).toBe(1);
  });

  it('a read maps the huge zero page; a write then allocates the THP in one fault', () => {
    const { m, pid } = setup();
    const p = thpRegion(m, pid);
    expect(m.load(pid, p + 4096n, 8)).toEqual({ ok: true, value: 0n });
    expect(m.rusage(pid)).toEqual({ minFlt: 1, majFlt: 0 });
    expect(field(smapsOf(m, pid, p), 'Rss')).toEqual([0]);
    expect(m.mincore(pid, p, 4n * 4096n).vec).toEqual(new Uint8Array([1, 1, 1, 1]));
    ok(m.store(pid, p, 1, 1n) as never);
    expect(m.rusage(pid)).toEqual({ minFlt: 2, majFlt: 0 });
    expect(field(smapsOf(m, pid, p), 'AnonHugePages')).toEqual([2048]);
  });

  it('no THP under mode never, MADV_NOHUGEPAGE, or when the aligned 2 MiB is not inside the VMA', () => {
    for (const mode of ['never', 'madvise'] as const) {
      const { m, pid } = setup({ settings: { thpEnabled: mode } });
      const p = thpRegion(m, pid);
      if (mode === 'madvise') ok(m.madvise(pid, p, H, MADV_NOHUGEPAGE));
      m.store(pid, p, 1, 1n);
      expect(field(smapsOf(m, pid, p), 'AnonHugePages')).toEqual([0]);
      expect(field(smapsOf(m, pid, p), 'Rss')).toEqual([4]);
    }
    const { m, pid } = setup({ settings: { thpEnabled: 'always' } });
    const q = ok(m.mmap(pid, 0n, H + 4096n * 8n, RW, ANON, -1, 0n));
    m.store(pid, q, 1, 1n);
    expect(field(smapsOf(m, pid, q), 'AnonHugePages')).toEqual([0]);
    const r = ok(m.mmap(pid, 0n, 2n * H, RW, ANON, -1, 0n));
    m.store(pid, r, 1, 1n);
    expect(field(smapsOf(m, pid, r), 'AnonHugePages')).toEqual([2048]);
  });

  it('arm64 with 16 KiB pages: the PMD maps 32 MiB (a kernel built with THP, unlike the Pi 5\'s)', () => {
    const { m, pid } = setup({ arch: 'arm64-16k', settings: { transparentHugepage: true } });
    const h = 32n * MB;
    const m0 = ok(m.mmap(pid, 0n, 2n * h, RW, ANON, -1, 0n));
    const p = ((m0 + h - 1n) / h) * h;
    ok(m.madvise(pid, p, h, MADV_HUGEPAGE));
    m.store(pid, p + h - 1n, 1, 3n);
    expect(m.rusage(pid)).toEqual({ minFlt: 1, majFlt: 0 });
    expect(field(smapsOf(m, pid, p), 'AnonHugePages')).toEqual([32768]);
    expect(m.load(pid, p + h - 1n, 1)).toEqual({ ok: true, value: 3n });
  });
});

describe('splitting and zapping huge PMDs', () => {
  it('partial munmap splits the PMD: AnonHugePages 0, the rest still mapped', () => {
    const { m, pid } = setup();
    const p = thpRegion(m, pid);
    m.store(pid, p + 8192n, 8, 77n);
    ok(m.munmap(pid, p + H - 4096n, 4096n));
    const s = smapsOf(m, pid, p);
    expect(field(s, 'AnonHugePages')).toEqual([0]);
    expect(field(s, 'Rss')).toEqual([2044]);
    expect(meminfoKb(m, 'AnonHugePages')).toBe(0);
    expect(m.load(pid, p + 8192n, 8)).toEqual({ ok: true, value: 77n });
    expect(m.rusage(pid)).toEqual({ minFlt: 1, majFlt: 0 });
    expect(m.k.vmstat.thpSplitPmd).toBe(1);
  });

  it('whole-PMD munmap frees the folio and its deposited table', () => {
    const { m, pid } = setup();
    const p = thpRegion(m, pid);
    const used0 = m.k.phys.nrUsed;
    const pte0 = statusKb(m, pid, 'VmPTE');
    m.store(pid, p, 1, 1n);
    ok(m.munmap(pid, p, H));
    expect(m.k.phys.nrUsed).toBeLessThanOrEqual(used0 + 2);
    expect(statusKb(m, pid, 'RssAnon')).toBe(0);
    expect(statusKb(m, pid, 'VmPTE')).toBeLessThanOrEqual(pte0 + 8);
    expect(m.k.vmstat.thpSplitPmd).toBe(0);
  });

  it('mprotect of the whole PMD keeps it huge; of one page splits it', () => {
    const { m, pid } = setup();
    const p = thpRegion(m, pid);
    m.store(pid, p, 1, 1n);
    ok(m.mprotect(pid, p, H, PROT_READ));
    expect(field(smapsOf(m, pid, p), 'AnonHugePages')).toEqual([2048]);
    expect(m.store(pid, p, 1, 2n)).toEqual({ ok: false, fault: { signal: 'SIGSEGV', code: SEGV_ACCERR, addr: p } });
    ok(m.mprotect(pid, p, H, RW));
    expect(m.store(pid, p, 1, 2n)).toEqual({ ok: true, value: undefined });
    ok(m.mprotect(pid, p, 4096n, PROT_READ));
    expect(field(smapsOf(m, pid, p), 'AnonHugePages')).toEqual([0]);
    expect(field(smapsOf(m, pid, p + 4096n), 'Rss')).toEqual([2044]);
  });

  it('MADV_DONTNEED of one page splits; of the whole PMD zaps it, and a write maps a THP again', () => {
    const { m, pid } = setup();
    const p = thpRegion(m, pid);
    m.store(pid, p, 1, 1n);
    ok(m.madvise(pid, p + 4096n, 4096n, MADV_DONTNEED));
    expect(field(smapsOf(m, pid, p), 'Rss')).toEqual([2044]);
    ok(m.madvise(pid, p, H, MADV_DONTNEED));
    expect(field(smapsOf(m, pid, p), 'Rss')).toEqual([0]);
    m.store(pid, p, 1, 1n);
    expect(field(smapsOf(m, pid, p), 'AnonHugePages')).toEqual([2048]);
  });
});

describe('fork and mremap with huge PMDs', () => {
  it('fork shares the PMD copy-on-write; a child write splits and copies one page', () => {
    const { m, pid } = setup();
    const p = thpRegion(m, pid);
    m.store(pid, p, 8, 7n);
    const child = Number(ok(m.fork(pid)));
    const cs = smapsOf(m, child, p);
    expect(field(cs, 'AnonHugePages')).toEqual([2048]);
    expect(field(cs, 'Shared_Dirty')).toEqual([2048]);
    expect(field(cs, 'Pss')).toEqual([1024]);
    m.store(child, p + 4096n, 8, 8n);
    expect(m.rusage(child)!.minFlt).toBe(1);
    const cs2 = smapsOf(m, child, p);
    expect(field(cs2, 'AnonHugePages')).toEqual([0]);
    expect(field(cs2, 'Private_Dirty')).toEqual([4]);
    expect(field(smapsOf(m, pid, p), 'AnonHugePages')).toEqual([2048]);
    expect(m.load(pid, p + 4096n, 8)).toEqual({ ok: true, value: 0n });
    expect(m.load(child, p, 8)).toEqual({ ok: true, value: 7n });
    // One folio PMD-mapped by the parent: meminfo counts it once.
    expect(meminfoKb(m, 'AnonHugePages')).toBe(2048);
    m.exitGroup(child);
    // Exclusive again: the parent's write reuses the folio, still huge.
    m.store(pid, p + 4096n, 8, 10n);
    expect(field(smapsOf(m, pid, p), 'AnonHugePages')).toEqual([2048]);
    expect(m.load(pid, p + 4096n, 8)).toEqual({ ok: true, value: 10n });
  });

  it('mremap moves a whole THP to an aligned address as one PMD, splits it otherwise', () => {
    const { m, pid } = setup();
    const m0 = ok(m.mmap(pid, 0n, 8n * MB, RW, ANON, -1, 0n));
    const base = ((m0 + H - 1n) / H) * H;
    ok(m.madvise(pid, m0, 8n * MB, MADV_HUGEPAGE));
    m.store(pid, base, 8, 5n);
    const dst = base + 2n * H;
    if (dst + H > m0 + 8n * MB) throw new Error('test layout');
    expect(ok(m.mremap(pid, base, H, H, MREMAP_MAYMOVE | MREMAP_FIXED, dst))).toBe(dst);
    expect(hugePmdAt(m.process(pid)!.mm, Number(dst) / 4096)).not.toBeNull();
    expect(m.load(pid, dst, 8)).toEqual({ ok: true, value: 5n });
    const r = ok(m.mmap(pid, base, 4n * 4096n, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0n));
    expect(ok(m.mremap(pid, dst, H, H, MREMAP_MAYMOVE | MREMAP_FIXED, r + 4096n))).toBe(r + 4096n);
    expect(hugePmdAt(m.process(pid)!.mm, Number(r + 4096n) / 4096)).toBeNull();
    expect(m.load(pid, r + 4096n, 8)).toEqual({ ok: true, value: 5n });
    expect(m.rusage(pid)!.minFlt).toBe(1);
  });
});

describe('MADV_FREE on huge PMDs (madvise_free_huge_pmd)', () => {
  it('whole: stays huge and lazily freeable; part: splits the folio and maps the zero page for zero subpages', () => {
    const { m, pid } = setup();
    const m0 = ok(m.mmap(pid, 0n, 8n * MB, RW, ANON, -1, 0n));
    ok(m.madvise(pid, m0, 8n * MB, MADV_HUGEPAGE));
    const a = ((m0 + H - 1n) / H) * H;
    const b = a + H;
    m.store(pid, a, 1, 1n);
    m.store(pid, b, 1, 2n);
    ok(m.madvise(pid, a, H, 8 /* MADV_FREE */));
    const s = m.smaps(pid)!;
    expect(field(s, 'LazyFree').reduce((x, y) => x + y, 0)).toBe(2048);
    expect(field(s, 'AnonHugePages').reduce((x, y) => x + y, 0)).toBe(4096);
    ok(m.madvise(pid, b, 8192n, 8 /* MADV_FREE */));
    const s2 = m.smaps(pid)!;
    expect(field(s2, 'AnonHugePages').reduce((x, y) => x + y, 0)).toBe(2048);
    expect(field(s2, 'Rss').reduce((x, y) => x + y, 0)).toBe(2048 + 4);
    expect(m.load(pid, b, 1)).toEqual({ ok: true, value: 2n });
    expect(m.load(pid, b + 4096n, 1)).toEqual({ ok: true, value: 0n });
  });
});

describe('MADV_COLD and MADV_PAGEOUT on huge PMDs', () => {
  it('COLD keeps a whole THP huge; PAGEOUT without swap splits it and keeps only the written pages', () => {
    const { m, pid } = setup();
    const p = thpRegion(m, pid);
    m.store(pid, p + 4096n, 1, 1n);
    ok(m.madvise(pid, p, H, 20 /* MADV_COLD */));
    expect(field(smapsOf(m, pid, p), 'AnonHugePages')).toEqual([2048]);
    ok(m.madvise(pid, p, H, 21 /* MADV_PAGEOUT */));
    expect(field(smapsOf(m, pid, p), 'AnonHugePages')).toEqual([0]);
    expect(field(smapsOf(m, pid, p), 'Rss')).toEqual([4]);
    expect(m.load(pid, p + 4096n, 1)).toEqual({ ok: true, value: 1n });
    expect(m.load(pid, p, 1)).toEqual({ ok: true, value: 0n });
    expect(m.rusage(pid)).toEqual({ minFlt: 1, majFlt: 0 });
  });
});

describe('a kernel built without transparent huge pages (arm64-16k, as the Pi 5\'s bcm2712_defconfig)', () => {
  it('refuses MADV_HUGEPAGE and MADV_NOHUGEPAGE, never maps a huge PMD, and aligns nothing to 32 MiB', () => {
    const { m, pid } = setup({ arch: 'arm64-16k', settings: { thpEnabled: 'always' } });
    const h = 32n * MB;
    const a = ok(m.mmap(pid, 0n, 4n * h, RW, ANON, -1, 0n));
    expect(errno(m.madvise(pid, a, h, MADV_HUGEPAGE))).toBe('EINVAL');
    expect(errno(m.madvise(pid, a, h, MADV_NOHUGEPAGE))).toBe('EINVAL');
    // Top-down, directly below the previous mapping: no THP alignment (mmap_base is 32 MiB-aligned, so
    // compare with a kernel that has THP, where a 4 x 32 MiB request lands on a 32 MiB boundary too).
    const b = ok(m.mmap(pid, 0n, 16384n, RW, ANON, -1, 0n));
    const c = ok(m.mmap(pid, 0n, h, RW, ANON, -1, 0n));
    expect(c).toBe(b - h);
    expect(c % h).not.toBe(0n);
    // thpEnabled 'always' changes nothing: every fault maps one 16 KiB page.
    const aligned = ((a + h - 1n) / h) * h;
    m.store(pid, aligned, 1, 1n);
    expect(m.counters(pid).process!.rssAnon).toBe(1);
    expect(m.meminfo()).not.toMatch(/AnonHugePages/);
    expect(m.vmstat()).not.toMatch(/thp_/);
    const built = setup({ arch: 'arm64-16k', settings: { thpEnabled: 'always', transparentHugepage: true } });
    expect(built.m.meminfo()).toMatch(/AnonHugePages/);
    expect(built.m.vmstat()).toMatch(/thp_fault_alloc/);
  });

  it('keeps single-page folios in the page cache: fault-around maps at most 64 KiB, four 16 KiB pages, per fault', () => {
    const faults = (transparentHugepage: boolean): number => {
      const { m, pid } = setup({ arch: 'arm64-16k', settings: { transparentHugepage } });
      m.seedFile('/tmp/f', new Uint8Array(64 * 16384).fill(1));
      const fd = Number(ok(m.openat(pid, AT_FDCWD, '/tmp/f', O_RDONLY)));
      const a = ok(m.mmap(pid, 0n, 64n * 16384n, PROT_READ, MAP_SHARED, fd, 0n));
      for (let i = 0n; i < 64n; i++) expect(m.load(pid, a + i * 16384n, 1).ok).toBe(true);
      const c = m.counters(pid).process!;
      return c.minFlt + c.majFlt;
    };
    const without = faults(false);
    // do_fault_around() maps whole folios that fit; with only single pages that is
    // fault_around_bytes (64 KiB) = 4 pages a fault, so 64 pages take at least 16 faults.
    expect(without).toBeGreaterThanOrEqual(16);
    expect(without).toBeGreaterThan(faults(true));
  });
});
