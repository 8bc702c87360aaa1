/**
 * Buffered writes into the page cache (generic_perform_write() in
 * mm/filemap.c, with ext4's delayed-allocation write_begin/write_end and
 * fs/buffer.c's block helpers): the loop that write() and pwrite64() run for
 * a regular file, whether its bytes come from the scenario (always copyable)
 * or from user memory (copied with faults disabled, then faulted in and
 * tried again).
 *
 * The model's block is a page, so a page's PG_uptodate stands for its
 * buffer's uptodate bit; a folio is uptodate when every page of it is.
 */
import type { Kernel } from '../kernel.js';
import type { File } from '../fs/file.js';
import type { Inode } from '../fs/inode.js';
import { type AddressSpace, ext4BlockTruncatePage, filemapAddLargeFolio, filemapReadFolio, folioOf, folioUptodate, mappingLargeFolioSupport, maxPagecacheOrder, rangeCached } from './filemap.js';
import { PG_uptodate } from './page-alloc.js';
import { folioMarkDirty } from './pte-ops.js';

/** Where a write gets its bytes (the iov_iter of generic_perform_write()). */
export interface WriteSource {
  /** copy_folio_from_iter_atomic(): bytes [off, off + out.length) of the source, copied without faulting; how many. */
  copyAtomic(off: number, out: Uint8Array): number;
  /** fault_in_iov_iter_readable(): fault [off, off + len) of the source in; how many bytes could not be. */
  faultIn(off: number, len: number): number;
}

/** A source in kernel memory (a write() whose bytes the scenario gives): every copy succeeds. */
export function kernelWriteSource(data: Uint8Array): WriteSource {
  return {
    copyAtomic: (off, out) => {
      out.set(data.subarray(off, off + out.length));
      return out.length;
    },
    faultIn: () => 0,
  };
}

/** The folio write_begin returned, and which of its blocks it found new (unallocated: a hole or past end of file). */
interface WriteFolio {
  head: number;
  nr: number;
  fresh: number[];
}

/**
 * generic_perform_write(): write n bytes from `src` at pos, a folio at a
 * time. Each step asks write_begin for a folio sized to what is left of the
 * chunk (at first the largest page-cache folio), copies into it with faults
 * disabled, and lets write_end take the bytes: a short copy into a folio that
 * is not uptodate is refused whole. A refused copy halves the chunk and is
 * tried again for what it got; one that got nothing faults the source in
 * and starts over, or ends the write. Returns the bytes written, or 'EFAULT'
 * / 'OOM' when none were.
 */
export function genericPerformWrite(k: Kernel, file: File, pos0: number, n: number, src: WriteSource): number | 'EFAULT' | 'OOM' {
  const inode = file.inode;
  const as = inode.mapping;
  const ps = k.arch.pageSize;
  if (n === 0) return 0;
  // ext4_write_checks(): a write that starts past end of file first zeroes the rest of the old end-of-file block.
  if (pos0 > inode.size) ext4BlockTruncatePage(k, inode, inode.size);
  let chunk = mappingLargeFolioSupport(k, as) ? ps * 2 ** maxPagecacheOrder(ps) : ps;
  const buf = new Uint8Array(Math.min(n, chunk));
  let written = 0;
  let faultedIn = false;
  while (written < n) {
    let bytes = n - written;
    for (;;) {
      const pos = pos0 + written;
      bytes = Math.min(chunk - (pos % chunk), bytes);
      const folio = writeBegin(k, as, pos, bytes);
      if (folio === null) return written > 0 ? written : 'OOM';
      bytes = Math.min(bytes, (folio.head + folio.nr) * ps - pos);
      const data = buf.subarray(0, bytes);
      const copied = src.copyAtomic(written, data);
      if (copied === 0 && faultedIn) throw new Error(`BUG: write(): the source at +${written} was faulted in but still cannot be read`);
      const status = writeEnd(k, inode, folio, pos, bytes, copied, data);
      if (status > 0) {
        written += status;
        faultedIn = false;
        break;
      }
      // A short copy made write_end() refuse it whole.
      if (chunk > ps) chunk /= 2;
      if (copied > 0) {
        bytes = copied;
        continue;
      }
      if (src.faultIn(written, bytes) === bytes) return written > 0 ? written : 'EFAULT';
      faultedIn = true;
      break;
    }
  }
  return written;
}

/**
 * ext4_da_write_begin(): the folio holding pos, or a new one of the order
 * fgf_set_order(len) asks for (__filemap_get_folio() with FGP_CREAT), and
 * ext4_block_write_begin() over [pos, pos + len) in it: a block not uptodate
 * that the write covers only partly is read if it holds data, and a new
 * block is zeroed (folio_zero_segments()). null on OOM.
 */
function writeBegin(k: Kernel, as: AddressSpace, pos: number, len: number): WriteFolio | null {
  const ps = k.arch.pageSize;
  const index = Math.floor(pos / ps);
  let head = index;
  let nr = 1;
  if (as.pages.has(index)) ({ head, nr } = folioOf(as, index));
  else {
    const order = mappingLargeFolioSupport(k, as) ? writeBeginFolioOrder(as, index, len, ps) : 0;
    if (filemapAddLargeFolio(k, as, index, order) === null) return null;
    nr = 2 ** order;
  }
  const fresh: number[] = [];
  if (as.isShmem) return { head, nr, fresh };
  const inode = as.host;
  const from = pos - head * ps;
  const to = Math.min(from + len, nr * ps);
  for (let i = 0; i < nr; i++) {
    const bs = i * ps;
    if (bs + ps <= from || bs >= to) continue;
    const pi = head + i;
    const pfn = as.pages.get(pi)!;
    if (k.phys.flags[pfn]! & PG_uptodate) continue;
    if (pi * ps >= inode.size || inode.blockdev!.isHole(inode.ino, pi)) {
      k.phys.frameBytes(pfn).fill(0);
      fresh.push(pi);
    } else if (bs < from || bs + ps > to) filemapReadFolio(k, as, pi, pfn);
  }
  return { head, nr, fresh };
}

/**
 * ext4_da_write_end() with block_write_end(): a short copy into a folio
 * that is not uptodate counts as nothing; new blocks the copy did not reach
 * are zeroed (folio_zero_new_buffers()) and the copied blocks committed
 * (block_commit_write()), each uptodate and dirty; i_size moves up to
 * pos + copied. shmem_write_end() keeps a short copy (its pages are
 * uptodate from the start). Returns the bytes taken.
 */
function writeEnd(k: Kernel, inode: Inode, folio: WriteFolio, pos: number, len: number, copied: number, data: Uint8Array): number {
  const as = inode.mapping;
  const ps = k.arch.pageSize;
  const p = k.phys;
  if (copied < len && !folioUptodate(k, as, folio.head)) copied = 0;
  const from = pos - folio.head * ps;
  let dirty = false;
  for (const pi of folio.fresh) {
    const bs = (pi - folio.head) * ps;
    if (bs + ps <= from + copied || bs >= from + len) continue;
    const pfn = as.pages.get(pi)!;
    p.flags[pfn] = p.flags[pfn]! | PG_uptodate;
    dirty = true;
  }
  for (let at = from; at < from + copied;) {
    const i = Math.floor(at / ps);
    const end = Math.min((i + 1) * ps, from + copied);
    const pfn = as.pages.get(folio.head + i)!;
    p.frameBytes(pfn).set(data.subarray(at - from, end - from), at - i * ps);
    p.flags[pfn] = p.flags[pfn]! | PG_uptodate;
    dirty = true;
    at = end;
  }
  if (dirty) folioMarkDirty(k, as.pages.get(folio.head)!);
  if (pos + copied > inode.size) inode.size = pos + copied;
  return copied;
}

/**
 * The folio order write_begin asks for: fgf_set_order(len), at most
 * MAX_PAGECACHE_ORDER, lowered to the index's alignment and until no page of
 * the folio is cached yet (__filemap_get_folio() with FGP_CREAT).
 */
function writeBeginFolioOrder(as: AddressSpace, index: number, len: number, ps: number): number {
  let order = Math.max(0, Math.floor(Math.log2(len)) - Math.log2(ps));
  order = Math.min(order, maxPagecacheOrder(ps));
  if (index % 2 ** order !== 0) order = Math.log2(index & -index);
  while (order > 0 && rangeCached(as, index, 2 ** order)) order--;
  return order;
}
