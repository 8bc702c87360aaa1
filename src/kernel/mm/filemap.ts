/**
 * The page cache (mm/filemap.c): one AddressSpace per inode, shared by every
 * mapping of the file and by read() and write(); page-cache faults
 * (filemap_fault(), shmem_fault()), buffered reads and writes, writeback and
 * truncation.
 */
import { thpConfigured } from './thp-config.js';
import type { Kernel } from '../kernel.js';
import type { File } from '../fs/file.js';
import type { Inode } from '../fs/inode.js';
import { PG_active, PG_dirty, PG_locked, PG_lru, PG_readahead, PG_referenced, PG_swapbacked, PG_uptodate, PG_writeback } from './page-alloc.js';
import { folioMarkDirty, folioMkclean, unmapMappingRange } from './pte-ops.js';
import { doAsyncMmapReadahead, doSyncMmapReadahead, pageCacheAsyncRa, pageCacheSyncRa } from './readahead.js';
import type { Vma } from './vma.js';
import { XArray } from './xarray.js';

export class AddressSpace {
  readonly id: number;
  readonly host: Inode;
  /** The i_pages xarray: page index -> frame. */
  readonly pages = new XArray();
  /** i_mmap: every VMA mapping this file. */
  readonly iMmap = new Set<Vma>();
  /** Dirty page-cache pages of a disk file (NR_FILE_DIRTY share). */
  nrDirty = 0;
  /**
   * Large folios: head index -> order, for folios of order > 0 (order-0
   * pages are not listed). A folio of order n covers 2^n pages from its
   * head, which is 2^n aligned; each page keeps its own frame in `pages`
   * and the folio's flags (uptodate, readahead) on every one of them.
   * Deviation: the frames of a folio are not physically contiguous.
   */
  readonly folios = new Map<number, number>();

  constructor(k: Kernel, host: Inode) {
    this.host = host;
    this.id = k.newOwnerId(this);
  }

  get isShmem(): boolean {
    return this.host.kind === 'shmem';
  }
}

export function pagesOf(bytes: number, pageSize: number): number {
  return Math.ceil(bytes / pageSize);
}

/** MAX_PAGECACHE_ORDER: min(PMD_ORDER, MAX_XAS_ORDER): 9 with 4 KiB pages, 11 with 16 KiB. */
export function maxPagecacheOrder(pageSize: number): number {
  return Math.min(11, Math.log2(pageSize / 8));
}

/**
 * mapping_large_folio_support(): ext4 calls mapping_set_large_folios() for regular files; shmem
 * here does not (no huge= mount option); without CONFIG_TRANSPARENT_HUGEPAGE
 * mapping_max_folio_order() is 0 for every mapping.
 */
export function mappingLargeFolioSupport(k: Kernel, as: AddressSpace): boolean {
  return !as.isShmem && k.settings.diskFs === 'ext4' && thpConfigured(k);
}

/** The folio holding page `index`: its head index and number of pages (1 for an order-0 page). */
export function folioOf(as: AddressSpace, index: number): { head: number; nr: number } {
  if (as.folios.size > 0) {
    for (let o = 1; o <= 11; o++) {
      const head = index - (index % 2 ** o);
      const order = as.folios.get(head);
      if (order !== undefined && head + 2 ** order > index) return { head, nr: 2 ** order };
    }
  }
  return { head: index, nr: 1 };
}

/**
 * split_folio(): make the folio holding `index` order 0 again (truncation or
 * reclaim of part of it). Deviation: Linux may fail to split a folio with
 * extra references and then keeps it whole; the model always splits.
 */
export function splitFolio(as: AddressSpace, index: number): void {
  const { head, nr } = folioOf(as, index);
  if (nr > 1) as.folios.delete(head);
}

/** Is any page of [index, index + nr) cached (filemap_add_folio() would fail with -EEXIST)? */
export function rangeCached(as: AddressSpace, index: number, nr: number): boolean {
  for (let i = index; i < index + nr; i++) if (as.pages.has(i)) return true;
  return false;
}

/**
 * filemap_alloc_folio() + filemap_add_folio() of order `order` at `index`
 * (aligned, every page uncached): the frames of its pages, or null on OOM
 * (nothing left allocated).
 */
export function filemapAddLargeFolio(k: Kernel, as: AddressSpace, index: number, order: number): number[] | null {
  const nr = 2 ** order;
  const pfns: number[] = [];
  for (let i = 0; i < nr; i++) {
    const pfn = filemapAddFolio(k, as, index + i);
    if (pfn < 0) {
      for (let j = 0; j < pfns.length; j++) filemapRemoveFolio(k, as, index + j, pfns[j]!);
      return null;
    }
    pfns.push(pfn);
  }
  if (order > 0) as.folios.set(index, order);
  return pfns;
}

/** Set or clear page flags on every page of the folio holding `index` (folio_set_*() / folio_clear_*()). */
export function folioSetFlags(k: Kernel, as: AddressSpace, index: number, set: number, clear: number): void {
  const { head, nr } = folioOf(as, index);
  for (let i = head; i < head + nr; i++) {
    const pfn = as.pages.get(i)!;
    k.phys.flags[pfn] = (k.phys.flags[pfn]! & ~clear) | set;
  }
}

/**
 * Allocate a frame and insert it in the cache (filemap_add_folio()): it holds
 * the cache's reference, is on the LRU, and is not yet uptodate. -1 on OOM.
 */
export function filemapAddFolio(k: Kernel, as: AddressSpace, index: number): number {
  const pfn = k.phys.allocPage(as.isShmem);
  if (pfn < 0) return -1;
  const p = k.phys;
  p.flags[pfn] = PG_lru | (as.isShmem ? PG_swapbacked | PG_uptodate : 0);
  p.mapping[pfn] = as.id;
  p.index[pfn] = index;
  as.pages.set(index, pfn);
  k.vmstat.pgalloc++;
  if (k.tracing) k.emit({ type: 'page_alloc', pfn, purpose: as.isShmem ? 'shmem' : 'pagecache' });
  return pfn;
}

/** Remove a page from the cache and drop the cache's reference (filemap_remove_folio()). */
export function filemapRemoveFolio(k: Kernel, as: AddressSpace, index: number, pfn: number): void {
  const p = k.phys;
  splitFolio(as, index);
  if (p.flags[pfn]! & PG_dirty) {
    if (!(p.flags[pfn]! & PG_swapbacked)) as.nrDirty--;
    p.flags[pfn] = p.flags[pfn]! & ~PG_dirty;
  }
  as.pages.delete(index);
  p.flags[pfn] = p.flags[pfn]! & ~PG_lru;
  p.mapping[pfn] = 0;
  if (k.tracing) k.emit({ type: 'pagecache_remove', ino: as.host.ino, index, pfn });
  if (p.refcount[pfn] === 1) k.vmstat.pgfree++;
  p.put(pfn);
}

/**
 * Read missing pages [start, start + nr) of a disk file from the device
 * (do_page_cache_ra() -> page_cache_ra_unbounded()), clipped to end of file,
 * skipping pages already cached, marking the page `nr - lookahead` of the
 * clipped window with PG_readahead. Contiguous missing pages go to the
 * device as one request.
 *
 * With an `order` (0 or more), this is page_cache_ra_order() instead, which
 * a mapping with large folios always takes, whatever the order: folios of up
 * to `order`, the mark at start + nr - lookahead of the unclipped window
 * (Linux 6.18), stopping at the first page already cached and reading the
 * rest as do_page_cache_ra() does.
 */
export function readPagesIntoCache(k: Kernel, as: AddressSpace, start: number, nr: number, lookahead: number, async: boolean, order = -1): number {
  const inode = as.host;
  const ps = k.arch.pageSize;
  const endIndex = pagesOf(inode.size, ps) - 1;
  if (start > endIndex || nr <= 0) return 0;
  let run: number[] = [];
  let runStart = 0;
  let readCount = 0;
  const submit = (): void => {
    if (run.length === 0) return;
    submitRead(k, as, runStart, run.map((pfn) => k.phys.frameBytes(pfn)));
    for (const pfn of run) k.phys.flags[pfn] = k.phys.flags[pfn]! | PG_uptodate;
    readCount += run.length;
    run = [];
  };
  if (order >= 0 && mappingLargeFolioSupport(k, as)) {
    // page_cache_ra_order(): aligned folios of up to `order`, smaller where the index is
    // not aligned or the folio would pass end of file or the window; ra_alloc_folio()
    // marks the folio holding round_down(mark, folio size). A page already cached
    // stops it (-EEXIST) and do_page_cache_ra() reads the rest one page at a time.
    const mark = start + nr - lookahead;
    const limit = Math.min(endIndex, start + nr - 1);
    const newOrder = Math.min(maxPagecacheOrder(ps), order, Math.floor(Math.log2(nr)));
    let index = start;
    let err = false;
    while (index <= limit) {
      let o = newOrder;
      if (index % 2 ** o !== 0) o = Math.log2(index & -index);
      while (o > 0 && index + 2 ** o - 1 > limit) o--;
      if (rangeCached(as, index, 2 ** o)) {
        err = true;
        break;
      }
      const pfns = filemapAddLargeFolio(k, as, index, o);
      if (pfns === null) {
        // Out of memory: read what was allocated, as read_pages() does.
        submit();
        return readCount;
      }
      if (lookahead > 0 && index === mark - (mark % 2 ** o)) folioSetFlags(k, as, index, PG_readahead, 0);
      if (run.length === 0) runStart = index;
      run.push(...pfns);
      index += 2 ** o;
    }
    submit();
    if (!err) {
      if (k.tracing) k.emit({ type: 'readahead', ino: inode.ino, start, count: nr, async, mark: lookahead > 0 ? mark : -1 });
      return readCount;
    }
    return readCount + readPagesIntoCache(k, as, index, nr - (index - start), lookahead, async);
  }
  if (nr > endIndex - start + 1) nr = endIndex - start + 1;
  const mark = lookahead > 0 ? start + nr - lookahead : -1;
  for (let i = start; i < start + nr; i++) {
    if (as.pages.has(i)) {
      submit();
      continue;
    }
    const pfn = filemapAddFolio(k, as, i);
    if (pfn < 0) break;
    if (i === mark) k.phys.flags[pfn] = k.phys.flags[pfn]! | PG_readahead;
    if (run.length === 0) runStart = i;
    run.push(pfn);
  }
  submit();
  if (k.tracing) k.emit({ type: 'readahead', ino: inode.ino, start, count: nr, async, mark });
  return readCount;
}

/** Read exactly one missing page (filemap_read_folio() after readahead declined). -1 on OOM. */
export function filemapReadOne(k: Kernel, as: AddressSpace, index: number): number {
  const pfn = filemapAddFolio(k, as, index);
  if (pfn < 0) return -1;
  if (!as.isShmem) bhRead(k, as, index, pfn);
  return pfn;
}

/**
 * filemap_read_folio() (block_read_full_folio()): read every page of the
 * folio holding `index` that is not uptodate from the device; `pfn` is the
 * frame at `index`. The folio is then uptodate.
 */
export function filemapReadFolio(k: Kernel, as: AddressSpace, index: number, pfn: number): void {
  const { head, nr } = folioOf(as, index);
  if (nr === 1) {
    bhRead(k, as, index, pfn);
    return;
  }
  for (let i = head; i < head + nr; i++) {
    const q = as.pages.get(i)!;
    if (!(k.phys.flags[q]! & PG_uptodate)) bhRead(k, as, i, q);
  }
}

/** bh_read(): read one page's block from the device into its frame, which becomes uptodate. */
export function bhRead(k: Kernel, as: AddressSpace, index: number, pfn: number): void {
  submitRead(k, as, index, [k.phys.frameBytes(pfn)]);
  k.phys.flags[pfn] = k.phys.flags[pfn]! | PG_uptodate;
}

/**
 * submit_bio() of a read of consecutive pages: blocks that hold data come
 * from the device and count in pgpgin (kilobytes, as /proc/vmstat shows
 * the sectors submit_bio() counts); holes read as zeros without I/O.
 */
function submitRead(k: Kernel, as: AddressSpace, index: number, dsts: Uint8Array[]): void {
  const inode = as.host;
  const pages = inode.blockdev!.readPages(inode.ino, index, dsts);
  if (pages === 0) return;
  k.vmstat.pgpgin += (pages * k.arch.pageSize) / 1024;
  if (k.tracing) k.emit({ type: 'io_read', ino: inode.ino, index, pages });
}

/** folio_test_uptodate(): is every page of the folio holding `index` uptodate? */
export function folioUptodate(k: Kernel, as: AddressSpace, index: number): boolean {
  const { head, nr } = folioOf(as, index);
  for (let i = head; i < head + nr; i++) if (!(k.phys.flags[as.pages.get(i)!]! & PG_uptodate)) return false;
  return true;
}

/**
 * ext4_block_truncate_page(): ext4 zeroes the rest of the block holding
 * `from` (a new end of file inside a page when shrinking; the old one when
 * ftruncate() or a write past it grows the file), which looks the page up
 * with FGP_CREAT: an uncached page enters the cache, not uptodate, so
 * mincore() does not count it and the next fault on it reads it without a
 * major fault (measured on Linux 6.18). A file system without this step
 * (settings.diskFs 'simple') leaves the cache alone.
 *
 * Deviation: where the block is allocated ext4 reads it, zeroes its tail and
 * dirties its buffer; the model zeroes the tail on the device
 * (BlockDevice.truncate()) and leaves the page clean, to be read on use.
 */
export function ext4BlockTruncatePage(k: Kernel, inode: Inode, from: number): void {
  const as = inode.mapping;
  const ps = k.arch.pageSize;
  if (as.isShmem || k.settings.diskFs !== 'ext4' || from % ps === 0) return;
  const index = Math.floor(from / ps);
  if (as.pages.has(index)) return;
  filemapAddFolio(k, as, index);
}

/**
 * What filemap_fault() found: the page (with a reference for the caller),
 * whether it was a major fault, whether it had to be read (`retry`: the
 * fault then redoes fault-around), and whether the first attempt would have
 * ended in VM_FAULT_RETRY (`dropped`: a read, or async readahead started with
 * the lock dropped), which makes a fault that cannot use the per-VMA lock
 * (one taken in the kernel, by copy_to_user()) count major.
 */
export type FaultPage = { pfn: number; major: boolean; retry: boolean; dropped: boolean } | 'SIGBUS' | 'OOM';

/**
 * filemap_fault() / shmem_fault(): find or read the page-cache page for a
 * fault at file page `pgoff`, with one reference for the caller.
 * SIGBUS when the page lies wholly past end of file.
 */
export function filemapFault(k: Kernel, vma: Vma, pgoff: number): FaultPage {
  const file = vma.file!;
  const as = file.inode.mapping;
  const ps = k.arch.pageSize;
  if (pgoff >= pagesOf(file.inode.size, ps)) return 'SIGBUS';
  let pfn = as.pages.get(pgoff);
  let major = false;
  let retry = false;
  let dropped = false;
  if (pfn !== undefined) {
    if (k.tracing) k.emit({ type: 'pagecache_hit', ino: file.inode.ino, index: pgoff, pfn });
    if (!as.isShmem) dropped = doAsyncMmapReadahead(k, vma, file, pgoff, pfn);
    if (!(k.phys.flags[pfn]! & PG_uptodate)) {
      // page_not_uptodate: read it, dropping the mmap lock (VM_FAULT_RETRY). The
      // retry finds it uptodate; a user fault's retry after the per-VMA-lock
      // attempt is not FAULT_FLAG_TRIED unless that attempt was major, so the
      // fault counts minor (checked on Linux 6.18).
      filemapReadFolio(k, as, pgoff, pfn);
      retry = true;
    }
  } else if (as.isShmem) {
    // shmem_get_folio(): a new zeroed page; no I/O, so never a major fault (no swap here).
    if (k.tracing) k.emit({ type: 'pagecache_miss', ino: file.inode.ino, index: pgoff });
    const n = filemapAddFolio(k, as, pgoff);
    if (n < 0) return 'OOM';
    pfn = n;
  } else {
    if (k.tracing) k.emit({ type: 'pagecache_miss', ino: file.inode.ino, index: pgoff });
    k.vmstat.pgmajfault++;
    major = true;
    retry = doSyncMmapReadahead(k, vma, file, pgoff);
    pfn = as.pages.get(pgoff);
    if (pfn === undefined) {
      const n = filemapReadOne(k, as, pgoff);
      if (n < 0) return 'OOM';
      pfn = n;
    }
  }
  k.phys.get(pfn);
  return { pfn, major, retry, dropped: dropped || retry || major };
}

/** folio_mark_accessed(): referenced on first use, active on the second (mm/swap.c). */
export function folioMarkAccessed(k: Kernel, pfn: number): void {
  const p = k.phys;
  const f = p.flags[pfn]!;
  if (!(f & PG_referenced)) {
    p.flags[pfn] = f | PG_referenced;
  } else if (!(f & PG_active)) {
    p.flags[pfn] = (f | PG_active) & ~PG_referenced;
    k.vmstat.pgactivate++;
  }
}

/**
 * filemap_read(): copy [pos, pos + count) of a file out of the page cache,
 * reading missing pages with readahead. Returns the bytes, or 'OOM'.
 */
export function filemapRead(k: Kernel, file: File, pos: number, count: number): Uint8Array | 'OOM' {
  const size = file.inode.size;
  if (pos >= size || count <= 0) return new Uint8Array(0);
  const out = new Uint8Array(Math.min(pos + count, size) - pos);
  const r = filemapReadTo(k, file, pos, count, (bytes, at) => {
    out.set(bytes, at);
    return bytes.length;
  });
  return r === 'OOM' ? r : out;
}

/**
 * filemap_read() handing each page's part to `copy` (at its offset in the
 * read) as it goes, as copy_folio_to_iter() does: a short copy (a fault in
 * copy_to_user()) ends the read there, so pages after it are neither read
 * nor read ahead. Returns the bytes copied, or 'OOM'.
 */
export function filemapReadTo(k: Kernel, file: File, pos: number, count: number, copy: (bytes: Uint8Array, at: number) => number): number | 'OOM' {
  const inode = file.inode;
  const as = inode.mapping;
  const ps = k.arch.pageSize;
  const size = inode.size;
  if (pos >= size || count <= 0) return 0;
  const end = Math.min(pos + count, size);
  const first = Math.floor(pos / ps);
  const last = Math.floor((end - 1) / ps);
  const prevIndex = file.ra.prevPos < 0 ? -1 : Math.floor((file.ra.prevPos - 1) / ps);
  let done = 0;
  let index = first;
  while (index <= last) {
    // filemap_get_pages(): a batch of cached pages from index, reading ahead when the
    // first is missing; the batch ends after a page marked for readahead or not
    // uptodate, and a mark on its last page starts async readahead before any copy.
    let pfn = as.pages.get(index);
    if (pfn === undefined) {
      if (!as.isShmem) {
        pageCacheSyncRa(k, file, index, last - index + 1);
        pfn = as.pages.get(index);
      }
      if (pfn === undefined) {
        const n = filemapReadOne(k, as, index);
        if (n < 0) return 'OOM';
        pfn = n;
      }
    }
    let batchEnd = index;
    for (;;) {
      const q = as.pages.get(batchEnd);
      if (q === undefined) break;
      const fl = k.phys.flags[q]!;
      batchEnd++;
      if (fl & PG_readahead || !(fl & PG_uptodate) || batchEnd > last) break;
    }
    const tail = as.pages.get(batchEnd - 1)!;
    if (k.phys.flags[tail]! & PG_readahead) {
      // filemap_readahead(): from the folio's first page.
      const head = folioOf(as, batchEnd - 1).head;
      pageCacheAsyncRa(k, file, head, tail, last - head + 1);
    }
    for (; index < batchEnd; index++) {
      const q = as.pages.get(index)!;
      if (!(k.phys.flags[q]! & PG_uptodate)) filemapReadFolio(k, as, index, q);
      const from = Math.max(pos, index * ps);
      const to = Math.min(end, (index + 1) * ps);
      if (!(index === first && index === prevIndex)) folioMarkAccessed(k, q);
      const n = copy(k.phys.frameBytes(q).subarray(from - index * ps, to - index * ps), from - pos);
      done += n;
      if (n < to - from) {
        file.ra.prevPos = pos + done;
        return done;
      }
    }
  }
  file.ra.prevPos = pos + done;
  return done;
}

/**
 * filemap_write_and_wait_range(): write back dirty pages [first, last] of a
 * disk file, write-protecting their shared mappings first
 * (folio_clear_dirty_for_io()). shmem has no backing store: nothing to do.
 * Returns the number of pages written.
 */
export function filemapWriteAndWait(k: Kernel, as: AddressSpace, first: number, last: number): number {
  if (as.isShmem) return 0;
  const inode = as.host;
  const ps = k.arch.pageSize;
  const dirty: [number, number][] = [];
  for (const [index, pfn] of as.pages) {
    if (index >= first && index <= last && k.phys.flags[pfn]! & PG_dirty) dirty.push([index, pfn]);
  }
  if (dirty.length === 0) return 0;
  dirty.sort((a, b) => a[0] - b[0]);
  const p = k.phys;
  let run: [number, number][] = [];
  const submit = (): void => {
    if (run.length === 0) return;
    const srcs = run.map(([, pfn]) => p.frameBytes(pfn));
    const valid = run.map(([index]) => Math.max(0, Math.min(ps, inode.size - index * ps)));
    inode.blockdev!.writePages(inode.ino, run[0]![0], srcs, valid);
    k.vmstat.pgpgout += (run.length * ps) / 1024;
    if (k.tracing) k.emit({ type: 'io_write', ino: inode.ino, index: run[0]![0], pages: run.length });
    for (const [, pfn] of run) p.flags[pfn] = p.flags[pfn]! & ~PG_writeback;
    run = [];
  };
  const eofIndex = Math.floor(inode.size / ps);
  const eofTail = inode.size % ps;
  for (const [index, pfn] of dirty) {
    folioMkclean(k, as, index, pfn);
    // The folio straddling i_size is zeroed past it on every writeback, since a
    // mapping may have stored there (ext4_bio_write_folio() / block_write_full_folio():
    // folio_zero_segment()); the mapping then reads zeros (checked on Linux 6.18).
    if (index === eofIndex && eofTail !== 0) p.frameBytes(pfn).fill(0, eofTail);
    p.flags[pfn] = (p.flags[pfn]! & ~PG_dirty) | PG_writeback;
    as.nrDirty--;
    if (k.tracing) k.emit({ type: 'writeback', ino: inode.ino, index, pfn });
    if (run.length > 0 && run[run.length - 1]![0] !== index - 1) submit();
    run.push([index, pfn]);
  }
  submit();
  return dirty.length;
}

/**
 * truncate_pagecache() with truncate_setsize(): unmap pages past the new end
 * from every mapping (private COW copies too), drop them from the cache,
 * zero the tail of the page that now holds end of file, and trim the device.
 */
export function truncateSetsize(k: Kernel, inode: Inode, newSize: number): void {
  const as = inode.mapping;
  const ps = k.arch.pageSize;
  const oldSize = inode.size;
  inode.size = newSize;
  if (k.tracing) k.emit({ type: 'truncate', ino: inode.ino, from: oldSize, to: newSize });
  const holeIndex = pagesOf(newSize, ps);
  if (newSize < oldSize) unmapMappingRange(k, as, holeIndex, Number.MAX_SAFE_INTEGER, true);
  // truncate_pagecache(): a disk file's cache is cut at the new end of file
  // whichever way the size moved (ext4_setattr()); shmem only when it shrinks.
  if (newSize < oldSize || (newSize > oldSize && !as.isShmem)) {
    truncateInodePartialFolio(k, as, newSize);
    for (const [index, pfn] of [...as.pages]) {
      if (index >= holeIndex) filemapRemoveFolio(k, as, index, pfn);
    }
  }
  if (newSize < oldSize) inode.blockdev?.truncate(inode.ino, newSize);
  // The page holding the (old or new) end of file: bytes past the smaller size read as zeros.
  const edge = Math.min(oldSize, newSize);
  const tail = edge % ps;
  if (tail !== 0) {
    const pfn = as.pages.get(Math.floor(edge / ps));
    if (pfn !== undefined) k.phys.frameBytes(pfn).fill(0, tail);
    if (newSize > oldSize) inode.blockdev?.truncate(inode.ino, oldSize);
    if (newSize !== oldSize) ext4BlockTruncatePage(k, inode, edge);
  }
}

/**
 * truncate_inode_partial_folio() for a large folio that straddles the new
 * end of file: its bytes past the end are zeroed and it is split, which
 * unmaps every page of it first (a file folio is not remapped after a split,
 * so the next access to any of its pages faults again); its pages past the
 * end then leave the cache with the rest.
 */
function truncateInodePartialFolio(k: Kernel, as: AddressSpace, newSize: number): void {
  const ps = k.arch.pageSize;
  const index = Math.floor(newSize / ps);
  if (!as.pages.has(index)) return;
  const { head, nr } = folioOf(as, index);
  if (nr === 1 || head * ps >= newSize) return;
  unmapMappingRange(k, as, head, head + nr - 1, false);
  splitFolio(as, head);
  for (let at = newSize; at < (head + nr) * ps; at = (Math.floor(at / ps) + 1) * ps) {
    k.phys.frameBytes(as.pages.get(Math.floor(at / ps))!).fill(0, at % ps);
  }
}

/**
 * invalidate_mapping_pages(): drop clean, unmapped, unlocked pages of
 * [first, last] from the cache (POSIX_FADV_DONTNEED), but not those of
 * `underWriteback` (the model's writeback completes at once; on Linux the
 * writeback DONTNEED starts is still running). Returns pages dropped.
 */
export function invalidateMappingPages(k: Kernel, as: AddressSpace, first: number, last: number, underWriteback?: ReadonlySet<number>): number {
  let dropped = 0;
  const p = k.phys;
  for (const [index] of [...as.pages]) {
    if (index < first || index > last || !as.pages.has(index)) continue;
    // find_lock_entries(): a large folio reaching outside the range is left alone;
    // mapping_evict_folio() drops a folio whole or not at all.
    const { head, nr } = folioOf(as, index);
    if (head < first || head + nr - 1 > last) continue;
    let evictable = true;
    for (let i = head; i < head + nr && evictable; i++) {
      const q = as.pages.get(i)!;
      if (p.flags[q]! & (PG_dirty | PG_writeback | PG_locked) || p.mapcount[q]! > 0 || p.refcount[q]! > 1) evictable = false;
      if (underWriteback?.has(i)) evictable = false;
    }
    if (!evictable) continue;
    for (let i = head; i < head + nr; i++) filemapRemoveFolio(k, as, i, as.pages.get(i)!);
    dropped += nr;
  }
  return dropped;
}

/** Drop every page of an inode whose last reference went away (evict()). */
export function truncateInodePagesFinal(k: Kernel, as: AddressSpace): void {
  for (const [index, pfn] of [...as.pages]) filemapRemoveFolio(k, as, index, pfn);
}
