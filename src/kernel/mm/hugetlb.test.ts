/**
 * Anonymous MAP_HUGETLB|MAP_NORESERVE mappings with no huge pages reserved
 * (vm.nr_hugepages = 0): a hugetlbfs VMA whose every access is SIGBUS. The
 * expected values were measured on Linux 6.18 (x86_64) with no huge pages;
 * the arm64 sizes follow the kernel source (hugetlbpage_init(), HPAGE_SIZE).
 */
import { describe, expect, it } from 'vitest';
import { RW, errno, mapsOf, ok, setup } from '../../../test/model-helpers.js';
import {
  BUS_ADRERR, MADV_COLD, MADV_DODUMP, MADV_DONTNEED, MADV_FREE, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_POPULATE_READ,
  MADV_WILLNEED, MAP_ANONYMOUS, MAP_FIXED, MAP_GROWSDOWN, MAP_HUGETLB, MAP_HUGE_1GB, MAP_HUGE_2MB, MAP_LOCKED,
  MAP_NORESERVE, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, MREMAP_FIXED, MREMAP_MAYMOVE, MS_SYNC, PROT_READ,
} from '../uapi.js';
import type { Machine } from '../machine.js';

const M2 = 2n << 20n;
const HUGE = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_NORESERVE;
const LINE = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]{8}) (\d\d:\d\d) (\d+) +\/anon_hugepage \(deleted\)$/;

function hugeMaps(m: Machine, pid: number): RegExpExecArray[] {
  return mapsOf(m, pid).map((l) => LINE.exec(l)).filter((r): r is RegExpExecArray => r !== null);
}

/** The smaps block of the VMA starting at addr. */
function smapsOf(m: Machine, pid: number, addr: bigint): string {
  const blocks = m.smaps(pid)!.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
  return blocks.find((b) => b.startsWith(addr.toString(16) + '-'))!;
}

function committed(m: Machine): number {
  return Number(/Committed_AS:\s+(\d+)/.exec(m.meminfo())![1]);
}

describe('anonymous MAP_HUGETLB|MAP_NORESERVE with an empty pool', () => {
  it('maps a hugetlbfs VMA of whole 2 MiB pages at a 2 MiB boundary, named /anon_hugepage (deleted) on 00:11', () => {
    const { m, pid } = setup();
    const before = committed(m);
    const p = ok(m.mmap(pid, 0n, 4096n, RW, HUGE, -1, 0n));
    expect(p % M2).toBe(0n);
    const maps = hugeMaps(m, pid);
    expect(maps).toHaveLength(1);
    const [, s, e, perms, off, dev, ino] = maps[0]!;
    expect([BigInt('0x' + s), BigInt('0x' + e), perms, off, dev]).toEqual([p, p + M2, 'rw-p', '00000000', '00:11']);
    expect(Number(ino)).toBeGreaterThan(0);
    // Each mapping is a file of its own: another inode.
    const q = ok(m.mmap(pid, 0n, 4096n, RW, HUGE, -1, 0n));
    const inos = hugeMaps(m, pid).map((r) => r[6]);
    expect(new Set(inos).size).toBe(2);
    expect(q % M2).toBe(0n);
    // Not charged to the commit limit (no 'ac').
    expect(committed(m)).toBe(before);
    expect(m.meminfo()).not.toMatch(/HugePages_Total:\s+[1-9]/);
  });

  it('MAP_HUGE_1GB rounds the length to 1 GiB, aligned, on 00:12; MAP_HUGE_2MB is the default size', () => {
    const { m, pid } = setup();
    const G = 1n << 30n;
    const p = ok(m.mmap(pid, 0n, 4096n, RW, HUGE | MAP_HUGE_1GB, -1, 0n));
    expect(p % G).toBe(0n);
    const r = hugeMaps(m, pid)[0]!;
    expect([BigInt('0x' + r[2]!) - BigInt('0x' + r[1]!), r[5]]).toEqual([G, '00:12']);
    const q = ok(m.mmap(pid, 0n, M2 + 1n, RW, HUGE | MAP_HUGE_2MB, -1, 0n));
    expect(hugeMaps(m, pid).find((l) => BigInt('0x' + l[1]!) === q)![2]).toBe((q + 2n * M2).toString(16));
  });

  it('rounds a hint up to the next huge page; MAP_FIXED needs a huge page boundary', () => {
    const { m, pid } = setup();
    expect(ok(m.mmap(pid, 0x7c0000001000n, 4096n, RW, HUGE, -1, 0n))).toBe(0x7c0000200000n);
    expect(errno(m.mmap(pid, 0x7b0000001000n, 4096n, RW, HUGE | MAP_FIXED, -1, 0n))).toBe('EINVAL');
    expect(ok(m.mmap(pid, 0x7b0000200000n, 4096n, RW, HUGE | MAP_FIXED, -1, 0n))).toBe(0x7b0000200000n);
    // Offsets: whole huge pages only (hugetlbfs_file_mmap()); 2 MiB shows in maps.
    expect(errno(m.mmap(pid, 0n, 4096n, RW, HUGE, -1, 4096n))).toBe('EINVAL');
    const o = ok(m.mmap(pid, 0n, 4096n, RW, HUGE, -1, M2));
    expect(hugeMaps(m, pid).find((l) => BigInt('0x' + l[1]!) === o)![4]).toBe('00200000');
    // A file mapping: MAP_GROWSDOWN is refused.
    expect(errno(m.mmap(pid, 0n, 4096n, RW, HUGE | MAP_GROWSDOWN, -1, 0n))).toBe('EINVAL');
  });

  it('without MAP_NORESERVE the reservation fails: ENOMEM, after the address checks', () => {
    const { m, pid } = setup();
    const nores = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB;
    expect(errno(m.mmap(pid, 0n, 4096n, RW, nores, -1, 0n))).toBe('ENOMEM');
    expect(errno(m.mmap(pid, 0x7c0000001000n, 4096n, RW, nores | MAP_FIXED, -1, 0n))).toBe('EINVAL');
    expect(errno(m.mmap(pid, 0x7c0000000000n, 4096n, RW, nores | MAP_FIXED, -1, 0n))).toBe('ENOMEM');
    expect(hugeMaps(m, pid)).toHaveLength(0);
  });

  it('MAP_SHARED works (rw-s, r--s); MAP_POPULATE and MAP_LOCKED succeed, the VMA not locked', () => {
    const { m, pid } = setup();
    const shared = MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_NORESERVE;
    const a = ok(m.mmap(pid, 0n, 4096n, RW, shared, -1, 0n));
    const b = ok(m.mmap(pid, 0n, 4096n, PROT_READ, shared, -1, 0n));
    const perms = new Map(hugeMaps(m, pid).map((l) => [BigInt('0x' + l[1]!), l[3]]));
    expect([perms.get(a), perms.get(b)]).toEqual(['rw-s', 'r--s']);
    const c = ok(m.mmap(pid, 0n, 4096n, RW, HUGE | MAP_POPULATE, -1, 0n));
    const d = ok(m.mmap(pid, 0n, 4096n, RW, HUGE | MAP_LOCKED, -1, 0n));
    expect(smapsOf(m, pid, c)).toMatch(/^Rss:\s+0 kB$/m);
    expect(smapsOf(m, pid, d)).toMatch(/^VmFlags: rd wr mr mw me de nr ht $/m);
  });

  it('smaps: 2048 kB kernel and MMU pages, nothing resident, not THP eligible, VmFlags rd wr mr mw me de nr ht', () => {
    const { m, pid } = setup();
    const p = ok(m.mmap(pid, 0n, 4096n, RW, HUGE, -1, 0n));
    const s = smapsOf(m, pid, p);
    for (const re of [
      /^Size:\s+2048 kB$/m, /^KernelPageSize:\s+2048 kB$/m, /^MMUPageSize:\s+2048 kB$/m, /^Rss:\s+0 kB$/m,
      /^Shared_Hugetlb:\s+0 kB$/m, /^Private_Hugetlb:\s+0 kB$/m, /^THPeligible:\s+0$/m, /^VmFlags: rd wr mr mw me de nr ht $/m,
    ]) {
      expect(s).toMatch(re);
    }
  });

  it('every load and store is SIGBUS BUS_ADRERR at the faulting address; the fault makes the PMD table', () => {
    const { m, pid } = setup();
    const p = ok(m.mmap(pid, 0x100000000000n, 4096n, RW, HUGE | MAP_FIXED, -1, 0n));
    const vmPte = () => Number(/VmPTE:\s+(\d+) kB/.exec(m.status(pid)!)![1]);
    const before = vmPte();
    expect(m.store(pid, p + 5n, 1, 1n)).toEqual({ ok: false, fault: { signal: 'SIGBUS', code: BUS_ADRERR, addr: p + 5n } });
    // Measured: a fresh 512 GiB region gains its PUD and PMD tables (8 kB).
    expect(vmPte()).toBe(before + 8);
    expect(m.load(pid, p + M2 - 8n, 8)).toEqual({ ok: false, fault: { signal: 'SIGBUS', code: BUS_ADRERR, addr: p + M2 - 8n } });
    expect(smapsOf(m, pid, p)).toMatch(/^Rss:\s+0 kB$/m);
  });

  it('munmap and mprotect split only at huge page boundaries; a split at the start stays when the end is refused', () => {
    const { m, pid } = setup();
    const p = ok(m.mmap(pid, 0n, 8n * M2, RW, HUGE, -1, 0n));
    const ranges = () => hugeMaps(m, pid).map((l) => `${BigInt('0x' + l[1]!) - p}-${BigInt('0x' + l[2]!) - p} ${l[3]} ${l[4]}`);
    expect(errno(m.munmap(pid, p + 4096n, M2))).toBe('EINVAL');
    expect(errno(m.mprotect(pid, p + 4096n, M2, PROT_READ))).toBe('EINVAL');
    expect(ranges()).toEqual([`0-${8n * M2} rw-p 00000000`]);
    // Measured: munmap(p + 2M, 1M) splits at 2M, then refuses the split at 3M.
    expect(errno(m.munmap(pid, p + M2, M2 / 2n))).toBe('EINVAL');
    expect(ranges()).toEqual([`0-${M2} rw-p 00000000`, `${M2}-${8n * M2} rw-p 00200000`]);
    expect(errno(m.mprotect(pid, p + 2n * M2, M2 + 4096n, PROT_READ))).toBe('EINVAL');
    expect(ranges()).toEqual([`0-${M2} rw-p 00000000`, `${M2}-${2n * M2} rw-p 00200000`, `${2n * M2}-${8n * M2} rw-p 00400000`]);
    ok(m.mprotect(pid, p + 4n * M2, M2, PROT_READ));
    ok(m.munmap(pid, p + 7n * M2, M2));
    expect(ranges()).toEqual([
      `0-${M2} rw-p 00000000`, `${M2}-${2n * M2} rw-p 00200000`, `${2n * M2}-${4n * M2} rw-p 00400000`,
      `${4n * M2}-${5n * M2} r--p 00800000`, `${5n * M2}-${7n * M2} rw-p 00a00000`,
    ]);
  });

  it('munmap of the second 2 MiB of a 4 MiB mapping leaves the first', () => {
    const { m, pid } = setup();
    const p = ok(m.mmap(pid, 0n, 2n * M2, RW, HUGE, -1, 0n));
    ok(m.munmap(pid, p + M2, M2));
    expect(hugeMaps(m, pid).map((l) => [BigInt('0x' + l[1]!), BigInt('0x' + l[2]!)])).toEqual([[p, p + M2]]);
    ok(m.munmap(pid, p, M2));
    expect(hugeMaps(m, pid)).toHaveLength(0);
  });

  it('madvise: DONTNEED from a huge page boundary, MADV_HUGEPAGE, DODUMP and WILLNEED succeed; FREE, COLD and POPULATE do not', () => {
    const { m, pid } = setup();
    const p = ok(m.mmap(pid, 0n, 2n * M2, RW, HUGE, -1, 0n));
    expect(errno(m.madvise(pid, p, 4096n, MADV_DONTNEED))).toBe('ok 0');
    expect(errno(m.madvise(pid, p + 4096n, 4096n, MADV_DONTNEED))).toBe('EINVAL');
    expect(errno(m.madvise(pid, p, 4096n, MADV_FREE))).toBe('EINVAL');
    expect(errno(m.madvise(pid, p, 4096n, MADV_DODUMP))).toBe('ok 0');
    expect(errno(m.madvise(pid, p, 4096n, MADV_WILLNEED))).toBe('ok 0');
    expect(errno(m.madvise(pid, p, 4096n, MADV_COLD))).toBe('EINVAL');
    expect(errno(m.madvise(pid, p, 4096n, MADV_POPULATE_READ))).toBe('EFAULT');
    expect(errno(m.madvise(pid, p + 4096n, 4096n, MADV_NOHUGEPAGE))).toBe('EINVAL');
    expect(errno(m.madvise(pid, p, 2n * M2, MADV_HUGEPAGE))).toBe('ok 0');
    expect(smapsOf(m, pid, p)).toMatch(/^VmFlags: rd wr mr mw me de nr ht hg $/m);
  });

  it('msync succeeds; mlock fails ENOMEM (nothing can be populated)', () => {
    const { m, pid } = setup();
    const p = ok(m.mmap(pid, 0n, 4096n, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_NORESERVE, -1, 0n));
    expect(errno(m.msync(pid, p, 4096n, MS_SYNC))).toBe('ok 0');
    expect(errno(m.mlock(pid, p, 4096n))).toBe('ENOMEM');
    expect(smapsOf(m, pid, p)).toMatch(/^VmFlags: rd wr sh mr mw me ms de nr ht $/m);
  });

  it('mremap: growing is EINVAL, shrinking by less than a huge page keeps it, a fixed move to a boundary works', () => {
    const { m, pid } = setup();
    const p = ok(m.mmap(pid, 0n, M2, RW, HUGE, -1, 0n));
    expect(errno(m.mremap(pid, p, M2, 2n * M2, MREMAP_MAYMOVE))).toBe('EINVAL');
    expect(ok(m.mremap(pid, p, M2, M2 / 2n, 0))).toBe(p);
    expect(hugeMaps(m, pid).map((l) => BigInt('0x' + l[2]!))).toEqual([p + M2]);
    const to = 0x7a0000000000n;
    expect(errno(m.mremap(pid, p, M2, M2, MREMAP_MAYMOVE | MREMAP_FIXED, to + 4096n))).toBe('EINVAL');
    expect(ok(m.mremap(pid, p, M2, M2, MREMAP_MAYMOVE | MREMAP_FIXED, to))).toBe(to);
    const l = hugeMaps(m, pid);
    expect(l.map((r) => [BigInt('0x' + r[1]!), BigInt('0x' + r[2]!)])).toEqual([[to, to + M2]]);
    expect(m.load(pid, to, 1)).toEqual({ ok: false, fault: { signal: 'SIGBUS', code: BUS_ADRERR, addr: to } });
  });

  it('fork copies the VMA (same file, no pages): the child faults SIGBUS too', () => {
    const { m, pid } = setup();
    const p = ok(m.mmap(pid, 0n, 4096n, RW, HUGE, -1, 0n));
    const child = Number(ok(m.fork(pid)));
    expect(hugeMaps(m, child).map((l) => l.slice(1).join(' '))).toEqual(hugeMaps(m, pid).map((l) => l.slice(1).join(' ')));
    expect(m.store(child, p, 1, 1n)).toEqual({ ok: false, fault: { signal: 'SIGBUS', code: BUS_ADRERR, addr: p } });
  });

  it('snapshots give the VMA the kind hugetlb', () => {
    const { m, pid } = setup();
    const p = ok(m.mmap(pid, 0n, 4096n, RW, HUGE, -1, 0n));
    const v = m.vmas(pid)!.find((x) => x.start === p)!;
    expect(v).toMatchObject({ kind: 'hugetlb', name: '/anon_hugepage (deleted)', resident: 0, perms: 'rw-p' });
  });

  it('arm64-16k as the Raspberry Pi 5 builds it (no CONFIG_HUGETLBFS): every MAP_HUGETLB is EINVAL, MAP_NORESERVE or not', () => {
    const { m, pid } = setup({ arch: 'arm64-16k' });
    for (const flags of [HUGE, HUGE | MAP_HUGE_2MB, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB]) expect(errno(m.mmap(pid, 0n, 4096n, RW, flags, -1, 0n))).toBe('EINVAL');
    // The same kernel with hugetlbfs built in maps it.
    const h = setup({ arch: 'arm64-16k', settings: { hugetlbfs: true } });
    expect(ok(h.m.mmap(h.pid, 0n, 4096n, RW, HUGE, -1, 0n)) % (32n << 20n)).toBe(0n);
  });

  it('arm64: the default size is the PMD size (2 MiB with 4 KiB pages, 32 MiB with 16 KiB); only registered sizes (source, not measured)', () => {
    const a4 = setup({ arch: 'arm64-4k' });
    const p = ok(a4.m.mmap(a4.pid, 0n, 4096n, RW, HUGE, -1, 0n));
    expect(p % M2).toBe(0n);
    expect(smapsOf(a4.m, a4.pid, p)).toMatch(/^KernelPageSize:\s+2048 kB$/m);
    const a16 = setup({ arch: 'arm64-16k', settings: { hugetlbfs: true } });
    const q = ok(a16.m.mmap(a16.pid, 0n, 4096n, RW, HUGE, -1, 0n));
    expect(q % (32n << 20n)).toBe(0n);
    expect(smapsOf(a16.m, a16.pid, q)).toMatch(/^Size:\s+32768 kB\nKernelPageSize:\s+32768 kB\nMMUPageSize:\s+32768 kB$/m);
    // 2 MiB is a contiguous-PTE size there (hugetlbpage_init()); 16 MiB no size at all.
    const r = ok(a16.m.mmap(a16.pid, 0n, 4096n, RW, HUGE | MAP_HUGE_2MB, -1, 0n));
    expect(smapsOf(a16.m, a16.pid, r)).toMatch(/^KernelPageSize:\s+2048 kB$/m);
    expect(a16.m.store(a16.pid, r, 1, 1n)).toEqual({ ok: false, fault: { signal: 'SIGBUS', code: BUS_ADRERR, addr: r } });
    expect(errno(a16.m.mmap(a16.pid, 0n, 4096n, RW, HUGE | (24 << 26), -1, 0n))).toBe('EINVAL');
  });
});
