import { describe, expect, it } from 'vitest';
import type { Machine } from './machine.js';
import type { KernelEvent } from './events.js';
import { ANON, RW, makeFile, ok, setup } from '../../test/model-helpers.js';
import {
  MADV_GUARD_INSTALL, MADV_GUARD_REMOVE, MADV_HUGEPAGE, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, MS_SYNC,
  POSIX_FADV_DONTNEED, PROT_READ,
} from './uapi.js';
import { VM_ACCOUNT, VM_MAYEXEC, VM_MAYREAD, VM_MAYWRITE, VM_READ, VM_WRITE } from './mm/vm-flags.js';
import { type PageTable, pteLookup } from './mm/pgtable.js';

/**
 * The event stream, one kind at a time: a concrete operation emits the event
 * with the fields the operation determines (addresses, frame numbers taken
 * from the page tables afterwards, file indexes, counts), in its place among
 * its neighbours.
 */

const P = 4096;
const Pn = 4096n;

/** Every kind of event the tests in this file saw (the last test checks them against events.ts). */
const seen = new Set<string>();

/** The events one step emits. */
function trace(m: Machine, step: () => unknown): KernelEvent[] {
  const out: KernelEvent[] = [];
  const off = m.k.subscribe((e) => {
    out.push(e);
    seen.add(e.type);
  });
  try {
    step();
  } finally {
    off();
  }
  return out;
}

type Of<T extends KernelEvent['type']> = Extract<KernelEvent, { type: T }>;

/** The events of one kind. */
function all<T extends KernelEvent['type']>(evs: KernelEvent[], type: T): Of<T>[] {
  return evs.filter((e): e is Of<T> => e.type === type);
}

/** The one event of a kind, and where it is. */
function one<T extends KernelEvent['type']>(evs: KernelEvent[], type: T): [Of<T>, number] {
  const found = all(evs, type);
  expect(found, `exactly one ${type} in ${evs.map((e) => e.type).join(', ')}`).toHaveLength(1);
  return [found[0]!, evs.indexOf(found[0]!)];
}

/** The kinds of events, in order, with repeats of a kind in a row collapsed. */
function kinds(evs: KernelEvent[]): string[] {
  return evs.map((e) => e.type).filter((t, i, a) => i === 0 || a[i - 1] !== t);
}

/** The PTE at addr, read straight from the page tables. */
function pteAt(m: Machine, pid: number, addr: bigint): { pfn: number; flags: number } | null {
  const mm = m.process(pid)!.mm;
  const vpn = Number(addr / Pn);
  const t = pteLookup(mm.pgd, vpn, mm.divisors, mm.indexMask);
  if (t === null || t.flags![vpn & mm.indexMask] === 0) return null;
  return { pfn: t.pfns![vpn & mm.indexMask]!, flags: t.flags![vpn & mm.indexMask]! };
}

/** The tables from the PGD down to the leaf covering addr (levels that exist). */
function tablesAt(m: Machine, pid: number, addr: bigint): PageTable[] {
  const mm = m.process(pid)!.mm;
  const vpn = Number(addr / Pn);
  const out: PageTable[] = [];
  let t: PageTable | undefined = mm.pgd;
  for (let l = 0; t !== undefined; l++) {
    out.push(t);
    if (t.children === null) break;
    t = t.children[Math.floor(vpn / mm.divisors[l]!) & mm.indexMask];
  }
  return out;
}

/** A file of n pages, written back and dropped from the page cache, so the next access misses. */
function coldFile(m: Machine, pid: number, path: string, pages: number): { fd: number; ino: number } {
  const fd = makeFile(m, pid, path, new Uint8Array(pages * P).fill(5));
  ok(m.fsync(pid, fd));
  ok(m.fadvise(pid, fd, 0n, 0n, POSIX_FADV_DONTNEED));
  return { fd, ino: m.process(pid)!.files.get(fd)!.inode.ino };
}

/**
 * A file of n pages written a page at a time: single-page folios. (One
 * larger write() gives large folios, which fault-around maps whole and
 * writeback and truncation handle whole.)
 */
function pagewiseFile(m: Machine, pid: number, path: string, pages: number): { fd: number; ino: number } {
  const fd = makeFile(m, pid, path, new Uint8Array(0));
  for (let i = 0; i < pages; i++) ok(m.write(pid, fd, new Uint8Array(P).fill(i + 1)));
  ok(m.fsync(pid, fd));
  return { fd, ino: m.process(pid)!.files.get(fd)!.inode.ino };
}

/** The frame caching page index of the file open as fd. */
function cachedPfn(m: Machine, pid: number, fd: number, index: number): number | undefined {
  return m.process(pid)!.files.get(fd)!.inode.mapping.pages.get(index);
}

describe('the kernel event stream', () => {
  it('unmapped_area: mmap without a hint asks get_unmapped_area for the length, top down, before the VMA exists', () => {
    const { m, pid } = setup();
    let a = 0n;
    const evs = trace(m, () => (a = ok(m.mmap(pid, 0n, 3n * Pn, RW, ANON, -1, 0n))));
    const [e, i] = one(evs, 'unmapped_area');
    expect(e).toEqual({ type: 'unmapped_area', len: 3 * P, result: Number(a), topdown: true });
    expect(i).toBe(0);
    expect(kinds(evs)).toEqual(['unmapped_area', 'vma_new', 'syscall_return']);
  });

  it('vma_new: the new VMA with its range and vm_flags', () => {
    const { m, pid } = setup();
    let a = 0n;
    const evs = trace(m, () => (a = ok(m.mmap(pid, 0n, 3n * Pn, RW, ANON, -1, 0n))));
    const [e] = one(evs, 'vma_new');
    // A private writable anonymous mapping: read, write, the three MAY bits, charged (VM_ACCOUNT).
    expect(e).toEqual({ type: 'vma_new', start: Number(a), end: Number(a) + 3 * P, flags: VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_ACCOUNT });
  });

  it('syscall_return: the last event of a call, with the value or the errno', () => {
    const { m, pid } = setup();
    let a = 0n;
    const good = trace(m, () => (a = ok(m.mmap(pid, 0n, Pn, RW, ANON, -1, 0n))));
    expect(good.at(-1)).toEqual({ type: 'syscall_return', pid, name: 'mmap', result: '0x' + a.toString(16) });
    const bad = trace(m, () => m.munmap(pid, a + 1n, Pn));
    expect(bad).toEqual([{ type: 'syscall_return', pid, name: 'munmap', result: '-22 EINVAL' }]);
  });

  it('fault: first, with the exact faulting address, the access and the VMA it falls in', () => {
    const { m, pid } = setup();
    const a = ok(m.mmap(pid, 0n, 2n * Pn, RW, ANON, -1, 0n));
    const evs = trace(m, () => m.store(pid, a + Pn + 0x123n, 1, 1n));
    expect(evs[0]).toEqual({ type: 'fault', pid, addr: Number(a + Pn + 0x123n), write: true, vmaStart: Number(a) });
    expect(all(evs, 'fault')).toHaveLength(1);
    const read = trace(m, () => m.load(pid, a + 7n, 1));
    expect(read[0]).toEqual({ type: 'fault', pid, addr: Number(a + 7n), write: false, vmaStart: Number(a) });
  });

  it('pgtable_alloc: the first fault in an empty mm builds PUD, PMD and PTE tables, top down, in the frames the walk now holds', () => {
    const { m, pid } = setup();
    const a = ok(m.mmap(pid, 0n, Pn, RW, ANON, -1, 0n));
    const evs = trace(m, () => m.store(pid, a, 1, 1n));
    const allocs = all(evs, 'pgtable_alloc');
    const tables = tablesAt(m, pid, a);
    expect(tables).toHaveLength(4);
    expect(allocs).toEqual(['pud', 'pmd', 'pte'].map((level, i) => ({ type: 'pgtable_alloc', level, pfn: tables[i + 1]!.pfn, addr: Number(a) })));
    expect(kinds(evs).slice(0, 3)).toEqual(['fault', 'pgtable_alloc', 'fault_handler']);
    // A second fault under the same PTE table builds nothing.
    ok(m.munmap(pid, a, Pn));
    const b = ok(m.mmap(pid, a, Pn, RW, ANON | MAP_FIXED, -1, 0n));
    expect(all(trace(m, () => m.store(pid, b, 1, 1n)), 'pgtable_alloc')).toEqual([]);
  });

  it('fault_handler: the handler handle_pte_fault chose, after the fault and before the PTE', () => {
    const { m, pid } = setup();
    const a = ok(m.mmap(pid, 0n, 2n * Pn, RW, ANON, -1, 0n));
    ok(m.store(pid, a, 1, 1n) as never); // builds the tables
    const evs = trace(m, () => m.load(pid, a + Pn + 9n, 1));
    const [h, hi] = one(evs, 'fault_handler');
    expect(h).toEqual({ type: 'fault_handler', handler: 'do_anonymous_page', addr: Number(a + Pn + 9n), detail: 'zero page' });
    expect(kinds(evs)).toEqual(['fault', 'fault_handler', 'pte_install', 'fault_done', 'tlb_fill']);
    expect(hi).toBe(1);
  });

  it('page_alloc: an anonymous write fault takes the frame its PTE then maps, after the handler and before the PTE', () => {
    const { m, pid } = setup();
    const a = ok(m.mmap(pid, 0n, Pn, RW, ANON, -1, 0n));
    const evs = trace(m, () => m.store(pid, a, 8, 42n));
    const [e, i] = one(evs, 'page_alloc');
    expect(e).toEqual({ type: 'page_alloc', pfn: pteAt(m, pid, a)!.pfn, purpose: 'anon' });
    expect(evs[i - 1]).toMatchObject({ type: 'fault_handler', handler: 'do_anonymous_page', detail: 'new zeroed page' });
    expect(evs[i + 1]).toMatchObject({ type: 'pte_install', pfn: e.pfn });
  });

  it('pte_install: the page-aligned address, the frame, the PTE bits and the leaf level', () => {
    const { m, pid } = setup();
    const a = ok(m.mmap(pid, 0n, Pn, RW, ANON, -1, 0n));
    const evs = trace(m, () => m.store(pid, a + 5n, 1, 1n));
    const [e, i] = one(evs, 'pte_install');
    expect(e).toEqual({ type: 'pte_install', addr: Number(a), pfn: pteAt(m, pid, a)!.pfn, flags: ['present', 'write', 'user', 'accessed', 'dirty', 'nx'], level: 3 });
    expect(evs[i + 1]!.type).toBe('fault_done');
  });

  it('fault_done: after the PTE, minor for memory already there, major when the page came from the disk', () => {
    const { m, pid } = setup();
    const a = ok(m.mmap(pid, 0n, Pn, RW, ANON, -1, 0n));
    const minor = trace(m, () => m.store(pid, a + 3n, 1, 1n));
    const [d, di] = one(minor, 'fault_done');
    expect(d).toEqual({ type: 'fault_done', addr: Number(a + 3n), major: false, result: 'ok' });
    expect(minor[di - 1]!.type).toBe('pte_install');
    const { fd } = coldFile(m, pid, '/tmp/fd.bin', 1);
    const f = ok(m.mmap(pid, 0n, Pn, PROT_READ, MAP_PRIVATE, fd, 0n));
    expect(one(trace(m, () => m.load(pid, f, 1)), 'fault_done')[0]).toEqual({ type: 'fault_done', addr: Number(f), major: true, result: 'ok' });
  });

  it('tlb_fill: the access retried after the fault fills the TLB; a second access hits it and emits nothing', () => {
    const { m, pid } = setup();
    const a = ok(m.mmap(pid, 0n, Pn, RW, ANON, -1, 0n));
    const evs = trace(m, () => m.store(pid, a + 8n, 8, 1n));
    expect(evs.at(-1)).toEqual({ type: 'tlb_fill', addr: Number(a), pfn: pteAt(m, pid, a)!.pfn, write: true });
    expect(evs.at(-2)!.type).toBe('fault_done');
    expect(trace(m, () => m.load(pid, a + 16n, 8))).toEqual([]);
  });

  it('cow_copy: a store to a private file page copies the cached frame into the one the PTE then maps', () => {
    const { m, pid } = setup();
    const fd = makeFile(m, pid, '/tmp/cow.bin', new Uint8Array(2 * P).fill(1));
    const f = ok(m.mmap(pid, 0n, Pn, RW, MAP_PRIVATE, fd, Pn));
    const cached = cachedPfn(m, pid, fd, 1)!;
    const evs = trace(m, () => m.store(pid, f, 1, 2n));
    const [c, ci] = one(evs, 'cow_copy');
    const mapped = pteAt(m, pid, f)!.pfn;
    expect(mapped).not.toBe(cached);
    expect(c).toEqual({ type: 'cow_copy', addr: Number(f), from: cached, to: mapped, zero: false });
    expect(evs[ci - 1]).toEqual({ type: 'page_alloc', pfn: mapped, purpose: 'cow' });
    expect(evs[ci + 1]).toMatchObject({ type: 'pte_install', addr: Number(f), pfn: mapped });
    // From the zero page: no source to copy, zero-filled.
    const a = ok(m.mmap(pid, 0n, Pn, RW, ANON, -1, 0n));
    m.load(pid, a, 1);
    const z = trace(m, () => m.store(pid, a, 1, 1n));
    expect(one(z, 'cow_copy')[0]).toEqual({ type: 'cow_copy', addr: Number(a), from: 0, to: pteAt(m, pid, a)!.pfn, zero: true });
  });

  it('page_reuse and pte_update: a store to a read-only shared file page makes its PTE writable in place', () => {
    const { m, pid } = setup();
    const fd = makeFile(m, pid, '/tmp/re.bin', new Uint8Array(P));
    const f = ok(m.mmap(pid, 0n, Pn, RW, MAP_SHARED, fd, 0n));
    m.load(pid, f, 1);
    const pfn = cachedPfn(m, pid, fd, 0)!;
    expect(pteAt(m, pid, f)).toMatchObject({ pfn });
    const evs = trace(m, () => m.store(pid, f, 1, 1n));
    const [r, ri] = one(evs, 'page_reuse');
    expect(r).toEqual({ type: 'page_reuse', addr: Number(f), pfn });
    expect(evs[ri + 1]).toEqual({ type: 'pte_update', addr: Number(f), pfn, flags: ['present', 'write', 'user', 'accessed', 'dirty', 'nx'] });
    expect(evs[ri - 1]).toMatchObject({ type: 'fault_handler', handler: 'do_wp_page' });
    expect(all(evs, 'page_alloc')).toEqual([]);
  });

  it('pagecache_hit: a private file fault finds the cached page by file index, before copying it', () => {
    const { m, pid } = setup();
    const fd = makeFile(m, pid, '/tmp/hit.bin', new Uint8Array(3 * P));
    const ino = m.process(pid)!.files.get(fd)!.inode.ino;
    const f = ok(m.mmap(pid, 0n, Pn, RW, MAP_PRIVATE, fd, 2n * Pn));
    const evs = trace(m, () => m.store(pid, f, 1, 1n));
    const [h, hi] = one(evs, 'pagecache_hit');
    expect(h).toEqual({ type: 'pagecache_hit', ino, index: 2, pfn: cachedPfn(m, pid, fd, 2)! });
    expect(hi).toBeLessThan(evs.findIndex((e) => e.type === 'cow_copy'));
  });

  it('pagecache_miss, readahead and io_read: a fault on an uncached file reads a 32-page window around it from the disk', () => {
    const { m, pid } = setup();
    const { fd, ino } = coldFile(m, pid, '/tmp/ra.bin', 40);
    const f = ok(m.mmap(pid, 0n, 40n * Pn, PROT_READ, MAP_SHARED, fd, 0n));
    const reads0 = m.k.disk.stats.readRequests;
    const evs = trace(m, () => m.load(pid, f + 3n * Pn, 1));
    const [miss, mi] = one(evs, 'pagecache_miss');
    expect(miss).toEqual({ type: 'pagecache_miss', ino, index: 3 });
    // do_sync_mmap_readahead(): read-around of ra_pages (32) from max(0, 3 - 16), the last quarter marked.
    const [ra, rai] = one(evs, 'readahead');
    expect(ra).toEqual({ type: 'readahead', ino, start: 0, count: 32, async: false, mark: 24 });
    const [io, ioi] = one(evs, 'io_read');
    expect(io).toEqual({ type: 'io_read', ino, index: 0, pages: 32 });
    expect(m.k.disk.stats.readRequests).toBe(reads0 + 1);
    const allocs = all(evs, 'page_alloc');
    expect(allocs).toHaveLength(32);
    expect(allocs.every((a) => a.purpose === 'pagecache')).toBe(true);
    expect(new Set(allocs.map((a) => a.pfn))).toEqual(new Set(Array.from({ length: 32 }, (_, i) => cachedPfn(m, pid, fd, i)!)));
    // miss, then the frames, then the disk read, then the window, then the PTEs.
    expect(mi).toBeLessThan(evs.indexOf(allocs[0]!));
    expect(evs.indexOf(allocs.at(-1)!)).toBeLessThan(ioi);
    expect(ioi).toBeLessThan(rai);
    expect(rai).toBeLessThan(evs.findIndex((e) => e.type === 'pte_install'));
    expect(one(evs, 'fault_done')[0].major).toBe(true);
  });

  it('readahead (async): touching the marked page starts the next window, cut at the end of the file', () => {
    const { m, pid } = setup();
    const { fd, ino } = coldFile(m, pid, '/tmp/ra2.bin', 40);
    const f = ok(m.mmap(pid, 0n, 40n * Pn, PROT_READ, MAP_SHARED, fd, 0n));
    m.load(pid, f, 1); // window 0..31, mark at 24
    const evs = trace(m, () => m.load(pid, f + 24n * Pn, 1));
    const [ra] = one(evs, 'readahead');
    // get_next_ra_size(32 pages, max 32) = 32, all of it async: the mark on its first page.
    expect(ra).toEqual({ type: 'readahead', ino, start: 32, count: 32, async: true, mark: 32 });
    // Only pages 32..39 exist.
    expect(one(evs, 'io_read')[0]).toEqual({ type: 'io_read', ino, index: 32, pages: 8 });
    expect(all(evs, 'page_alloc')).toHaveLength(8);
    expect(one(evs, 'fault_done')[0].major).toBe(false);
  });

  it('fault_around: a read fault on cached pages maps the 16-page window around it that is cached', () => {
    const { m, pid } = setup();
    const { fd } = pagewiseFile(m, pid, '/tmp/fa.bin', 20);
    const f = ok(m.mmap(pid, 0n, 20n * Pn, PROT_READ, MAP_SHARED, fd, 0n));
    // The window is 64 KiB aligned in the address space (do_fault_around()).
    const win = (f + 17n * Pn) & ~(16n * Pn - 1n);
    const start = win < f ? f : win;
    const end = win + 16n * Pn > f + 20n * Pn ? f + 20n * Pn : win + 16n * Pn;
    const evs = trace(m, () => m.load(pid, f + 17n * Pn, 1));
    const [fa, fi] = one(evs, 'fault_around');
    const installs = all(evs, 'pte_install');
    expect(fa).toEqual({ type: 'fault_around', start: Number(start), end: Number(end), mapped: Number((end - start) / Pn) });
    expect(installs.map((e) => e.addr)).toEqual(Array.from({ length: fa.mapped }, (_, i) => Number(start) + i * P));
    expect(fi).toBe(evs.indexOf(installs.at(-1)!) + 1);
    expect(evs[fi + 1]).toMatchObject({ type: 'fault_handler', handler: 'do_read_fault', detail: 'mapped by fault-around' });
  });

  it('page_mkclean, writeback and io_write: msync write-protects the dirty page, writes it back, then issues one disk write', () => {
    const { m, pid } = setup();
    const { fd, ino } = pagewiseFile(m, pid, '/tmp/wb.bin', 3);
    const f = ok(m.mmap(pid, 0n, 3n * Pn, RW, MAP_SHARED, fd, 0n));
    ok(m.store(pid, f + 1n * Pn, 1, 1n) as never);
    ok(m.store(pid, f + 2n * Pn, 1, 1n) as never);
    const evs = trace(m, () => m.msync(pid, f, 3n * Pn, MS_SYNC));
    const pfn = (i: number) => cachedPfn(m, pid, fd, i)!;
    expect(all(evs, 'page_mkclean')).toEqual([1, 2].map((index) => ({ type: 'page_mkclean', ino, index, ptes: 1 })));
    expect(all(evs, 'writeback')).toEqual([1, 2].map((index) => ({ type: 'writeback', ino, index, pfn: pfn(index) })));
    expect(one(evs, 'io_write')[0]).toEqual({ type: 'io_write', ino, index: 1, pages: 2 });
    const order = evs.filter((e) => e.type === 'page_mkclean' || e.type === 'writeback' || e.type === 'io_write').map((e) => `${e.type}${'index' in e ? e.index : ''}`);
    expect(order).toEqual(['page_mkclean1', 'writeback1', 'page_mkclean2', 'writeback2', 'io_write1']);
    expect(pteAt(m, pid, f + Pn)!.flags & 2).toBe(0);
  });

  it('tlb_flush: mprotect flushes the range it changed; a COW break flushes the one page', () => {
    const { m, pid } = setup();
    const a = ok(m.mmap(pid, 0n, 4n * Pn, RW, ANON, -1, 0n));
    for (let i = 0n; i < 4n; i++) ok(m.store(pid, a + i * Pn, 1, 1n) as never);
    const evs = trace(m, () => m.mprotect(pid, a + Pn, 2n * Pn, PROT_READ));
    expect(one(evs, 'tlb_flush')[0]).toEqual({ type: 'tlb_flush', scope: 'range', start: Number(a + Pn), end: Number(a + 3n * Pn) });
    // The flushed pages refill (and fault) on the next access; the others still hit.
    expect(trace(m, () => m.load(pid, a, 1))).toEqual([]);
    expect(trace(m, () => m.load(pid, a + Pn, 1)).map((e) => e.type)).toEqual(['tlb_fill']);
    const z = ok(m.mmap(pid, 0n, Pn, RW, ANON, -1, 0n));
    m.load(pid, z, 1);
    const cow = trace(m, () => m.store(pid, z, 1, 1n));
    const [fl, fli] = one(cow, 'tlb_flush');
    expect(fl).toEqual({ type: 'tlb_flush', scope: 'page', start: Number(z), end: Number(z) + P });
    expect(fli).toBeGreaterThan(cow.findIndex((e) => e.type === 'cow_copy'));
    expect(fli).toBeLessThan(cow.findIndex((e) => e.type === 'pte_install'));
  });

  it('pte_clear and page_free: munmap clears the PTE, flushes the TLB, and only then frees the frame', () => {
    const { m, pid } = setup();
    const a = ok(m.mmap(pid, 0n, 2n * Pn, RW, ANON, -1, 0n));
    ok(m.store(pid, a, 1, 1n) as never);
    const pfn = pteAt(m, pid, a)!.pfn;
    const evs = trace(m, () => m.munmap(pid, a, 2n * Pn));
    expect(one(evs, 'pte_clear')[0]).toEqual({ type: 'pte_clear', addr: Number(a), pfn });
    expect(one(evs, 'page_free')[0]).toEqual({ type: 'page_free', pfn });
    expect(kinds(evs)).toEqual(['pte_clear', 'tlb_flush', 'page_free', 'vma_remove', 'syscall_return']);
    expect(m.k.phys.isFree(pfn)).toBe(true);
  });

  it('page_free: a frame still in the page cache is not freed by munmap, but is by FADV_DONTNEED after pagecache_remove', () => {
    const { m, pid } = setup();
    const fd = makeFile(m, pid, '/tmp/pf.bin', new Uint8Array(P));
    ok(m.fsync(pid, fd));
    const ino = m.process(pid)!.files.get(fd)!.inode.ino;
    const f = ok(m.mmap(pid, 0n, Pn, PROT_READ, MAP_SHARED, fd, 0n));
    m.load(pid, f, 1);
    const pfn = cachedPfn(m, pid, fd, 0)!;
    expect(all(trace(m, () => m.munmap(pid, f, Pn)), 'page_free')).toEqual([]);
    const evs = trace(m, () => m.fadvise(pid, fd, 0n, 0n, POSIX_FADV_DONTNEED));
    expect(evs.slice(0, 2)).toEqual([{ type: 'pagecache_remove', ino, index: 0, pfn }, { type: 'page_free', pfn }]);
  });

  it('pgtable_free: unmapping the only mapping under a PUD frees its PTE, PMD and PUD tables, bottom up, after the VMA goes', () => {
    const { m, pid } = setup();
    const q = 0x100000000000n; // 16 TiB: a PGD slot of its own
    ok(m.mmap(pid, q, 2n * Pn, RW, ANON | MAP_FIXED, -1, 0n));
    ok(m.store(pid, q, 1, 1n) as never);
    const tables = tablesAt(m, pid, q);
    const evs = trace(m, () => m.munmap(pid, q, 2n * Pn));
    expect(all(evs, 'pgtable_free')).toEqual([
      { type: 'pgtable_free', level: 'pte', pfn: tables[3]!.pfn },
      { type: 'pgtable_free', level: 'pmd', pfn: tables[2]!.pfn },
      { type: 'pgtable_free', level: 'pud', pfn: tables[1]!.pfn },
    ]);
    // Each table's frame is freed right after it is.
    for (const t of tables.slice(1)) {
      const i = evs.findIndex((e) => e.type === 'pgtable_free' && e.pfn === t.pfn);
      expect(evs[i + 1]).toEqual({ type: 'page_free', pfn: t.pfn });
    }
    expect(evs.findIndex((e) => e.type === 'pgtable_free')).toBeGreaterThan(evs.findIndex((e) => e.type === 'vma_remove'));
    expect(tablesAt(m, pid, q)).toHaveLength(1);
  });

  it('vma_split, vma_change and vma_merge: mprotect of a middle page splits, changes flags, and merges back', () => {
    const { m, pid } = setup();
    const a = ok(m.mmap(pid, 0n, 3n * Pn, RW, ANON, -1, 0n));
    const evs = trace(m, () => m.mprotect(pid, a + Pn, Pn, PROT_READ));
    expect(all(evs, 'vma_split')).toEqual([
      { type: 'vma_split', at: Number(a + Pn), start: Number(a), end: Number(a + 3n * Pn) },
      { type: 'vma_split', at: Number(a + 2n * Pn), start: Number(a + Pn), end: Number(a + 3n * Pn) },
    ]);
    const [c, ci] = one(evs, 'vma_change');
    // mprotect_fixup(): made read-only before any fault (no anon_vma), the VMA is no longer charged: VM_ACCOUNT goes.
    expect(c).toEqual({ type: 'vma_change', start: Number(a + Pn), end: Number(a + 2n * Pn), flags: VM_READ | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC });
    expect(ci).toBeGreaterThan(evs.lastIndexOf(all(evs, 'vma_split')[1]!));
    const back = trace(m, () => m.mprotect(pid, a + Pn, Pn, RW));
    expect(back[0]).toEqual({ type: 'vma_merge', start: Number(a), end: Number(a + 3n * Pn) });
    expect(all(back, 'vma_merge')).toHaveLength(1);
    expect(m.maps(pid)!.split('\n').filter((l) => l.startsWith(a.toString(16) + '-'))).toEqual([
      `${a.toString(16)}-${(a + 3n * Pn).toString(16)} rw-p 00000000 00:00 0 `,
    ]);
  });

  it('vma_remove: munmap of part of a VMA splits it and removes the part', () => {
    const { m, pid } = setup();
    const a = ok(m.mmap(pid, 0n, 3n * Pn, RW, ANON, -1, 0n));
    const evs = trace(m, () => m.munmap(pid, a + 2n * Pn, Pn));
    expect(kinds(evs)).toEqual(['vma_split', 'vma_remove', 'syscall_return']);
    expect(one(evs, 'vma_remove')[0]).toEqual({ type: 'vma_remove', start: Number(a + 2n * Pn), end: Number(a + 3n * Pn) });
  });

  it('signal: an access outside any VMA gets SIGSEGV/SEGV_MAPERR, one past EOF SIGBUS/BUS_ADRERR, each after its fault', () => {
    const { m, pid } = setup();
    const a = ok(m.mmap(pid, 0n, Pn, RW, ANON, -1, 0n));
    ok(m.munmap(pid, a, Pn));
    const segv = trace(m, () => m.load(pid, a + 4n, 1));
    expect(kinds(segv)).toEqual(['fault', 'signal']);
    expect(segv[1]).toEqual({ type: 'signal', pid, signal: 'SIGSEGV', code: 'SEGV_MAPERR', addr: Number(a + 4n) });
    const fd = makeFile(m, pid, '/tmp/bus.bin', 'x');
    const f = ok(m.mmap(pid, 0n, 2n * Pn, PROT_READ, MAP_SHARED, fd, 0n));
    const bus = trace(m, () => m.load(pid, f + Pn + 1n, 1));
    expect(bus.at(-2)).toEqual({ type: 'fault_done', addr: Number(f + Pn + 1n), major: false, result: 'error' });
    expect(bus.at(-1)).toEqual({ type: 'signal', pid, signal: 'SIGBUS', code: 'BUS_ADRERR', addr: Number(f + Pn + 1n) });
  });

  it('truncate: ftruncate reports the old and new sizes first, then unmaps and drops the pages past the end', () => {
    const { m, pid } = setup();
    const { fd, ino } = pagewiseFile(m, pid, '/tmp/tr.bin', 3);
    const f = ok(m.mmap(pid, 0n, 3n * Pn, PROT_READ, MAP_SHARED, fd, 0n));
    m.load(pid, f, 1); // fault-around maps all three
    const dropped = [1, 2].map((i) => cachedPfn(m, pid, fd, i)!);
    const evs = trace(m, () => m.ftruncate(pid, fd, Pn));
    expect(evs[0]).toEqual({ type: 'truncate', ino, from: 3 * P, to: P });
    expect(all(evs, 'pte_clear')).toEqual([1, 2].map((i) => ({ type: 'pte_clear', addr: Number(f) + i * P, pfn: dropped[i - 1] })));
    expect(all(evs, 'pagecache_remove')).toEqual([1, 2].map((i) => ({ type: 'pagecache_remove', ino, index: i, pfn: dropped[i - 1] })));
    expect(evs.findIndex((e) => e.type === 'pagecache_remove')).toBeGreaterThan(evs.findIndex((e) => e.type === 'tlb_flush'));
  });

  it('huge_pmd: a write fault in an aligned MADV_HUGEPAGE range deposits a table and maps a PMD-sized folio', () => {
    const { m, pid } = setup();
    const H = 2n << 20n;
    const m0 = ok(m.mmap(pid, 0n, 2n * H, RW, ANON, -1, 0n));
    const p = ((m0 + H - 1n) / H) * H;
    ok(m.madvise(pid, p, H, MADV_HUGEPAGE));
    const evs = trace(m, () => m.store(pid, p + 5n, 1, 9n));
    const pmd = tablesAt(m, pid, p)[3]!;
    expect(pmd.hugePfn).toBeGreaterThan(0);
    const [h, hi] = one(evs, 'huge_pmd');
    expect(h).toEqual({ type: 'huge_pmd', op: 'map', addr: Number(p), pfn: pmd.hugePfn });
    expect(evs[hi - 1]).toEqual({ type: 'pgtable_alloc', level: 'pte', pfn: pmd.pfn, addr: Number(p) });
    expect(evs[hi + 1]).toMatchObject({ type: 'fault_done', major: false, result: 'ok' });
    // The handler and the folio come before the deposited table, as in __do_huge_pmd_anonymous_page().
    const [fh, fhi] = one(evs, 'fault_handler');
    expect(fh).toEqual({ type: 'fault_handler', handler: 'do_huge_pmd_anonymous_page', addr: Number(p + 5n), detail: 'new zeroed huge folio' });
    expect(evs[fhi + 1]).toEqual({ type: 'page_alloc', pfn: pmd.hugePfn, purpose: 'thp' });
    expect(fhi + 1).toBeLessThan(hi - 1);
    expect(all(evs, 'page_alloc')).toHaveLength(1);

    // A read fault in another aligned range maps the huge zero page: a handler, no allocation.
    const r0 = ok(m.mmap(pid, 0n, 2n * H, RW, ANON, -1, 0n));
    const q = ((r0 + H - 1n) / H) * H;
    ok(m.madvise(pid, q, H, MADV_HUGEPAGE));
    const read = trace(m, () => m.load(pid, q + 3n, 1));
    expect(one(read, 'fault_handler')[0]).toEqual({ type: 'fault_handler', handler: 'do_huge_pmd_anonymous_page', addr: Number(q + 3n), detail: 'huge zero page' });
    expect(one(read, 'huge_pmd')[0]).toMatchObject({ op: 'zero', addr: Number(q) });
    expect(all(read, 'page_alloc')).toEqual([]);
  });

  it('guard: MADV_GUARD_INSTALL and _REMOVE report the range; a guarded access faults with SIGSEGV', () => {
    const { m, pid } = setup();
    const g = ok(m.mmap(pid, 0n, 4n * Pn, RW, ANON, -1, 0n));
    const on = trace(m, () => m.madvise(pid, g + Pn, 2n * Pn, MADV_GUARD_INSTALL));
    // The markers live in PTE slots: the tables are built first.
    expect(kinds(on)).toEqual(['pgtable_alloc', 'guard', 'syscall_return']);
    expect(one(on, 'guard')[0]).toEqual({ type: 'guard', op: 'install', start: Number(g + Pn), end: Number(g + 3n * Pn) });
    const hit = trace(m, () => m.load(pid, g + 2n * Pn, 1));
    expect(hit.at(-1)).toEqual({ type: 'signal', pid, signal: 'SIGSEGV', code: 'SEGV_MAPERR', addr: Number(g + 2n * Pn) });
    const off = trace(m, () => m.madvise(pid, g + Pn, 2n * Pn, MADV_GUARD_REMOVE));
    expect(off[0]).toEqual({ type: 'guard', op: 'remove', start: Number(g + Pn), end: Number(g + 3n * Pn) });
    expect(m.load(pid, g + 2n * Pn, 1)).toEqual({ ok: true, value: 0n });
  });

  it('pagecache_remove: FADV_DONTNEED drops each clean cached page by index', () => {
    const { m, pid } = setup();
    const fd = makeFile(m, pid, '/tmp/rm.bin', new Uint8Array(2 * P));
    ok(m.fsync(pid, fd));
    const ino = m.process(pid)!.files.get(fd)!.inode.ino;
    const pfns = [0, 1].map((i) => cachedPfn(m, pid, fd, i)!);
    const evs = trace(m, () => m.fadvise(pid, fd, 0n, 0n, POSIX_FADV_DONTNEED));
    expect(all(evs, 'pagecache_remove')).toEqual([0, 1].map((i) => ({ type: 'pagecache_remove', ino, index: i, pfn: pfns[i] })));
    expect(cachedPfn(m, pid, fd, 0)).toBeUndefined();
  });

  it('every kind declared in events.ts was emitted by the tests above', () => {
    // Kept in step with KernelEvent by the compiler: a new kind without an entry here fails to type-check.
    const declared = {
      syscall_return: true, fault: true, fault_handler: true, fault_done: true, page_alloc: true, page_free: true,
      pte_install: true, pte_update: true, pte_clear: true, pgtable_alloc: true, pgtable_free: true, cow_copy: true, page_reuse: true,
      pagecache_hit: true, pagecache_miss: true, readahead: true, fault_around: true, io_read: true, io_write: true, writeback: true,
      page_mkclean: true, pagecache_remove: true, tlb_flush: true, tlb_fill: true, vma_new: true, vma_merge: true, vma_split: true,
      vma_remove: true, vma_change: true, unmapped_area: true, signal: true, huge_pmd: true, truncate: true, guard: true,
    } satisfies Record<KernelEvent['type'], true>;
    expect([...seen].sort()).toEqual(Object.keys(declared).sort());
  });
});
