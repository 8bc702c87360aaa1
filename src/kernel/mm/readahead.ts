/**
 * Readahead (mm/readahead.c) and the fault-time read-around of
 * mm/filemap.c:do_sync_mmap_readahead() / do_async_mmap_readahead().
 *
 * Deviation: I/O completes synchronously, so pages are uptodate as soon as
 * they are submitted.
 */
import type { Kernel } from '../kernel.js';
import type { File } from '../fs/file.js';
import { PG_readahead } from './page-alloc.js';
import { folioOf, folioSetFlags, mappingLargeFolioSupport, maxPagecacheOrder, readPagesIntoCache } from './filemap.js';
import type { Vma } from './vma.js';
import { VM_EXEC, VM_RAND_READ, VM_SEQ_READ } from './vm-flags.js';

/** MMAP_LOTSAMISS: past this many misses, a mapping stops reading around. */
const MMAP_LOTSAMISS = 100;

function roundupPowOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** get_init_ra_size() */
export function getInitRaSize(size: number, max: number): number {
  let n = roundupPowOfTwo(size);
  if (n <= max / 32) n *= 4;
  else if (n <= max / 4) n *= 2;
  else n = max;
  return n;
}

/** get_next_ra_size() */
export function getNextRaSize(cur: number, max: number): number {
  if (cur < max / 16) return 4 * cur;
  if (cur <= max / 2) return 2 * cur;
  return max;
}

function ilog2(n: number): number {
  return n < 1 ? 0 : Math.floor(Math.log2(n));
}

/** ffs(): the 1-based index of the lowest set bit. */
function ffs(n: number): number {
  return n === 0 ? 0 : Math.log2(n & -n) + 1;
}

/** page_cache_ra_order(): read the window in folios of ra->order where the mapping supports large folios. */
function raSubmit(k: Kernel, file: File, async: boolean): void {
  const ra = file.ra;
  const as = file.inode.mapping;
  if (!mappingLargeFolioSupport(k, as)) ra.order = 0;
  else ra.order = Math.min(maxPagecacheOrder(k.arch.pageSize), ra.order, ilog2(ra.size));
  const read = readPagesIntoCache(k, as, ra.start, ra.size, ra.asyncSize, async, ra.order);
  k.vmstat.readaheadPages += read;
}

/** page_cache_prev_miss(): the first index at or below `index` not cached, scanning at most max pages; -1 if none. */
function pageCachePrevMiss(file: File, index: number, max: number): number {
  const pages = file.inode.mapping.pages;
  for (let i = 0; i < max; i++, index--) {
    if (index < 0) return -1;
    if (!pages.has(index)) return index;
  }
  return index;
}

/** page_cache_sync_ra(): a read() missed the cache at `index`, wanting reqCount pages. */
export function pageCacheSyncRa(k: Kernel, file: File, index: number, reqCount: number): void {
  const ra = file.ra;
  const max = ra.raPages;
  if (max === 0) {
    readPagesIntoCache(k, file.inode.mapping, index, 1, 0, false);
    return;
  }
  const prevIndex = ra.prevPos < 0 ? -1 : Math.floor(ra.prevPos / k.arch.pageSize);
  if (index === 0 || reqCount > max || index - prevIndex <= 1) {
    ra.order = 0;
    ra.start = index;
    ra.size = getInitRaSize(reqCount, max);
    // A request as large as the window (a VM_SEQ_READ fault asks for ra_pages) marks
    // its middle, so that the stream continues asynchronously (Linux 6.18:
    // `ra->size > req_count ? ra->size - req_count : ra->size >> 1`).
    ra.asyncSize = ra.size > reqCount ? ra.size - reqCount : Math.floor(ra.size / 2);
    raSubmit(k, file, false);
    return;
  }
  const miss = pageCachePrevMiss(file, index - 1, max);
  let contig = index - miss - 1;
  if (contig <= reqCount) {
    readPagesIntoCache(k, file.inode.mapping, index, reqCount, 0, false);
    return;
  }
  if (miss < 0) contig *= 2;
  ra.order = 0;
  ra.start = index;
  ra.size = Math.min(contig + reqCount, max);
  ra.asyncSize = 1;
  raSubmit(k, file, false);
}

/**
 * page_cache_async_ra(): a read or fault reached a folio marked PG_readahead
 * (`index`: the folio's head for a read, the faulting page for a fault).
 */
export function pageCacheAsyncRa(k: Kernel, file: File, index: number, pfn: number, reqCount: number): void {
  const ra = file.ra;
  const max = ra.raPages;
  if (max === 0) return;
  const as = file.inode.mapping;
  void pfn;
  const nr = folioOf(as, index).nr;
  folioSetFlags(k, as, index, 0, PG_readahead);
  const mark = ra.start + ra.size - ra.asyncSize;
  const expected = mark - (mark % nr);
  if (index === expected || index === ra.start + ra.size) {
    ra.start += ra.size;
    ra.size = Math.max(ra.size, getNextRaSize(ra.size, max));
    ra.asyncSize = ra.size;
  } else {
    // page_cache_next_miss(): resume after the cached run that follows index.
    const pages = file.inode.mapping.pages;
    let start = index + 1;
    while (start - index <= max && pages.has(start)) start++;
    if (start - index > max) return;
    ra.start = start;
    ra.size = getNextRaSize(start - index + reqCount, max);
    ra.asyncSize = ra.size;
  }
  // readit: ramp the folio order up and trim the window's end to its alignment
  // (mm/readahead.c, Linux 6.18: 4, 20, 80, 320... pages for one-page reads, not 84, 340).
  ra.order += 2;
  const align = 2 ** Math.min(ra.order, ffs(max) - 1);
  const end = ra.start + ra.size;
  const alignedEnd = Math.floor(end / align) * align;
  if (alignedEnd > ra.start) ra.size -= end - alignedEnd;
  ra.asyncSize = ra.size;
  raSubmit(k, file, true);
}

/**
 * do_sync_mmap_readahead(): a fault missed the cache. Returns whether it
 * read ahead, for which the kernel drops the mmap lock
 * (maybe_unlock_mmap_for_io()), so that filemap_fault() ends in
 * VM_FAULT_RETRY and the fault is done again.
 */
export function doSyncMmapReadahead(k: Kernel, vma: Vma, file: File, pgoff: number): boolean {
  const ra = file.ra;
  // VM_EXEC is meant for random access already: MADV_RANDOM does not stop its read-around.
  if ((vma.flags & (VM_RAND_READ | VM_EXEC)) === VM_RAND_READ || ra.raPages === 0) return false;
  if ((vma.flags & VM_SEQ_READ) !== 0) {
    pageCacheSyncRa(k, file, pgoff, ra.raPages);
    return true;
  }
  if (ra.mmapMiss < MMAP_LOTSAMISS * 10) ra.mmapMiss++;
  if (ra.mmapMiss > MMAP_LOTSAMISS) return false;
  if ((vma.flags & VM_EXEC) !== 0) {
    // Executable mappings (Linux 6.16+): ra_pages from the fault, rounded to
    // exec_folio_order() (0 on x86_64 and in this model), clipped to the VMA's
    // file range, with no async part, so no PG_readahead mark.
    const order = 0;
    const vmaStart = vma.pgoff;
    const vmaEnd = vma.pgoff + (vma.end - vma.start) / k.arch.pageSize;
    ra.order = order;
    ra.start = Math.max(pgoff - (pgoff % 2 ** order), vmaStart);
    const raEnd = Math.min(Math.ceil((ra.start + ra.raPages) / 2 ** order) * 2 ** order, vmaEnd);
    ra.size = raEnd - ra.start;
    ra.asyncSize = 0;
  } else {
    // mmap read-around: a window of ra_pages centred on the fault.
    ra.order = 0;
    ra.start = Math.max(0, pgoff - Math.floor(ra.raPages / 2));
    ra.size = ra.raPages;
    ra.asyncSize = Math.floor(ra.raPages / 4);
  }
  raSubmit(k, file, false);
  return true;
}

/**
 * do_async_mmap_readahead(): a fault hit the cache; continue a readahead
 * stream if marked. True when it did, which drops the fault's lock: that
 * attempt ends in VM_FAULT_RETRY.
 */
export function doAsyncMmapReadahead(k: Kernel, vma: Vma, file: File, pgoff: number, pfn: number): boolean {
  const ra = file.ra;
  if ((vma.flags & VM_RAND_READ) !== 0 || ra.raPages === 0) return false;
  if (ra.mmapMiss > 0) ra.mmapMiss--;
  if (!(k.phys.flags[pfn]! & PG_readahead)) return false;
  // maybe_unlock_mmap_for_io(): the fault drops its lock for the readahead and will retry.
  pageCacheAsyncRa(k, file, pgoff, pfn, ra.raPages);
  return true;
}
