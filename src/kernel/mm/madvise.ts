/**
 * madvise(2) (mm/madvise.c): do_madvise() -> madvise_walk_vmas() ->
 * madvise_vma_behavior() for each VMA of the range, or madvise_populate()
 * for MADV_POPULATE_(READ|WRITE). Advice that only changes vm_flags splits
 * and merges VMAs through vmaModify (madvise_update_vma()); the rest acts on
 * page tables and the page cache: DONTNEED zaps, FREE marks anonymous pages
 * lazily freeable, REMOVE punches a hole in the file, WILLNEED reads ahead,
 * COLD deactivates and PAGEOUT reclaims what can be reclaimed without swap.
 *
 * An unmapped part of the range gives ENOMEM after the advice was applied to
 * the mapped parts (unlike mprotect and mlock, which stop at the hole).
 */
import { thpConfigured } from './thp-config.js';
import type { Kernel } from '../kernel.js';
import { PTE_ACCESSED, PTE_DIRTY } from '../arch/pte.js';
import { FMODE_WRITE } from '../fs/file.js';
import type { Task } from '../sched.js';
import {
  MADV_COLD, MADV_DODUMP, MADV_DOFORK, MADV_DONTDUMP, MADV_DONTFORK, MADV_DONTNEED, MADV_FREE, MADV_GUARD_INSTALL,
  MADV_GUARD_REMOVE, MADV_HUGEPAGE,
  MADV_KEEPONFORK, MADV_MERGEABLE, MADV_NOHUGEPAGE, MADV_NORMAL, MADV_PAGEOUT, MADV_POPULATE_READ, MADV_POPULATE_WRITE,
  MADV_RANDOM, MADV_REMOVE, MADV_SEQUENTIAL, MADV_UNMERGEABLE, MADV_WILLNEED, MADV_WIPEONFORK,
} from '../uapi.js';
import { filemapRemoveFolio, readPagesIntoCache } from './filemap.js';
import { anyGuarded, madviseGuardInstall, madviseGuardRemove } from './guard.js';
import { isFileHugepages, isVmHugetlbPage, vmaKernelPagesize } from './hugetlb.js';
import { VM_FAULT_ERROR, VM_FAULT_OOM } from './memory.js';
import { gupFault, gupTouch, pageUsable } from './mlock.js';
import type { MmStruct } from './mm-struct.js';
import { type KRet, u64 } from './mmap.js';
import { PG_active, PG_anon, PG_dirty, PG_referenced, PG_swapbacked, PG_unevictable, PG_writeback } from './page-alloc.js';
import { type PageTable, forEachLeafTableIn, forEachPresentPte as walkPresentPtes, pteLookup } from './pgtable.js';
import { unmapMappingRange, zapPteRange } from './pte-ops.js';
import { madviseColdOrPageoutHugePmdRange, madviseFreeHugePmdRange } from './huge-memory.js';
import type { Vma } from './vma.js';
import { vmaModify, VM_SPECIAL } from './vma-ops.js';
import {
  VM_DONTCOPY, VM_DONTDUMP, VM_HUGEPAGE, VM_HUGETLB, VM_IO, VM_LOCKED, VM_MAYSHARE, VM_MAYWRITE, VM_MERGEABLE,
  VM_MIXEDMAP, VM_NOHUGEPAGE, VM_PFNMAP, VM_RAND_READ, VM_SEQ_READ, VM_SHARED, VM_DONTEXPAND, VM_WIPEONFORK, VM_READ,
  VM_WRITE,
} from './vm-flags.js';

/** MADV_DONTNEED_LOCKED (Linux 5.18): DONTNEED that also works on locked VMAs. */
export const MADV_DONTNEED_LOCKED = 24;

const U64 = (1n << 64n) - 1n;

/**
 * madvise_behavior_valid(). Deviation: MADV_COLLAPSE and the memory-failure injections (MADV_HWPOISON, MADV_SOFT_OFFLINE) are not
 * modelled and are rejected as unknown advice.
 */
function madviseBehaviorValid(k: Kernel, b: number): boolean {
  // #ifdef CONFIG_TRANSPARENT_HUGEPAGE around MADV_HUGEPAGE and MADV_NOHUGEPAGE.
  if ((b === MADV_HUGEPAGE || b === MADV_NOHUGEPAGE) && !thpConfigured(k)) return false;
  switch (b) {
    case MADV_DOFORK: case MADV_DONTFORK: case MADV_NORMAL: case MADV_SEQUENTIAL: case MADV_RANDOM:
    case MADV_REMOVE: case MADV_WILLNEED: case MADV_DONTNEED: case MADV_DONTNEED_LOCKED: case MADV_FREE:
    case MADV_COLD: case MADV_PAGEOUT: case MADV_POPULATE_READ: case MADV_POPULATE_WRITE:
    case MADV_MERGEABLE: case MADV_UNMERGEABLE: case MADV_HUGEPAGE: case MADV_NOHUGEPAGE:
    case MADV_DONTDUMP: case MADV_DODUMP: case MADV_WIPEONFORK: case MADV_KEEPONFORK:
    case MADV_GUARD_INSTALL: case MADV_GUARD_REMOVE:
      return true;
    default:
      return false;
  }
}

/** Visit the present, normal (not zero-page) PTEs of [start, end); huge PMDs are left to the caller. */
function forEachPresentPte(mm: MmStruct, start: number, end: number, fn: (t: PageTable, i: number, vpn: number) => void): void {
  walkPresentPtes(mm, start / mm.pageSize, end / mm.pageSize, false, fn);
}

/**
 * The page-table reclaim of zap_pte_range() (CONFIG_PT_RECLAIM, details->reclaim_pt):
 * a PTE table whose whole span was zapped is freed at once.
 */
function reclaimPteTables(k: Kernel, mm: MmStruct, startVpn: number, endVpn: number): void {
  const ps = mm.pageSize;
  const span = mm.indexMask + 1;
  forEachLeafTableIn(mm.pgd, mm.divisors, mm.indexMask, startVpn, endVpn, (c, t, i, cBase) => {
    // (A table holding guard markers is not empty: it stays.)
    if (cBase < startVpn || cBase + span > endVpn || c.used !== 0 || c.hugePfn >= 0 || anyGuarded(mm, cBase, cBase + span)) return;
    t.children![i] = undefined;
    t.used--;
    mm.pgtablesChanged();
    if (k.tracing) k.emit({ type: 'pgtable_free', level: k.arch.levelNames[c.level]!, pfn: c.pfn });
    k.phys.refcount[c.pfn] = 0;
    k.phys.freePage(c.pfn);
    mm.pgtablesBytes -= ps;
  });
}

/** madvise_dontneed_single_vma(): zap every entry, COW copies included (zap_page_range_single()). */
function madviseDontneed(k: Kernel, mm: MmStruct, start: number, end: number): void {
  const ps = mm.pageSize;
  zapPteRange(k, mm, start / ps, end / ps);
  reclaimPteTables(k, mm, start / ps, end / ps);
}

/**
 * madvise_free_single_vma() -> madvise_free_pte_range(): clean and age the
 * PTEs of exclusively-owned anonymous pages and mark the pages lazily
 * freeable (folio_mark_lazyfree(): no longer swap-backed). Reclaim may then
 * drop them as long as nobody wrote to them again; until then they keep
 * their data. Only private anonymous VMAs.
 */
function madviseFree(k: Kernel, mm: MmStruct, vma: Vma, start: number, end: number): KRet {
  if (!vma.isAnonymous) return 'EINVAL';
  const p = k.phys;
  const ps = mm.pageSize;
  const from = Math.max(vma.start, start);
  const to = Math.min(vma.end, end);
  if (mm.nrHugePmds > 0) madviseFreeHugePmdRange(k, mm, vma, from / ps, to / ps);
  let flush = false;
  walkPresentPtes(mm, from / ps, to / ps, false, (t, i) => {
    const pfn = t.pfns![i]!;
    const pf = p.flags[pfn]!;
    if (!(pf & PG_anon)) return;
    if (pf & PG_dirty) {
      if (p.mapcount[pfn] !== 1) return;
      p.flags[pfn] = p.flags[pfn]! & ~PG_dirty;
    }
    const fl = t.flags![i]!;
    if (fl & (PTE_ACCESSED | PTE_DIRTY)) {
      t.flags![i] = fl & ~(PTE_ACCESSED | PTE_DIRTY);
      flush = true;
    }
    // folio_mark_lazyfree(). Deviation: Linux queues the page on a per-CPU batch of 31
    // and clears PG_swapbacked when the batch drains (the next lru_add_drain()), so
    // smaps shows LazyFree late for a few pages; here it takes effect at once.
    const f = p.flags[pfn]!;
    if (f & PG_swapbacked && !(f & PG_unevictable)) p.flags[pfn] = f & ~(PG_swapbacked | PG_active | PG_referenced);
  });
  if (flush) mm.flushTlbRange(start / ps, end / ps);
  return 0;
}

/**
 * madvise_remove(): punch a hole in the file under a shared writable mapping
 * (vfs_fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)): the pages are
 * unmapped everywhere (private COW copies stay), dropped from the page cache
 * and their blocks freed, so the range reads as zeros afterwards.
 */
function madviseRemove(k: Kernel, vma: Vma, start: number, end: number): KRet {
  if (vma.flags & VM_LOCKED) return 'EINVAL';
  // vm_file, which a private /dev/zero VMA keeps although it is anonymous.
  const f = vma.file ?? vma.anonFile;
  if (f === null) return 'EINVAL';
  if ((vma.flags & (VM_SHARED | VM_MAYWRITE)) !== (VM_SHARED | VM_MAYWRITE)) return 'EACCES';
  if ((f.fMode & FMODE_WRITE) === 0) return 'EBADF';
  const ps = k.arch.pageSize;
  const first = vma.pgoff + (start - vma.start) / ps;
  const last = first + (end - start) / ps - 1;
  const as = f.inode.mapping;
  unmapMappingRange(k, as, first, last, false);
  for (const [index, pfn] of [...as.pages]) {
    if (index >= first && index <= last) filemapRemoveFolio(k, as, index, pfn);
  }
  f.inode.blockdev?.punchHole(f.inode.ino, first, last);
  return 0;
}

/**
 * madvise_willneed(): start reading the file pages of the range
 * (vfs_fadvise(POSIX_FADV_WILLNEED) -> force_page_cache_ra(), at most the
 * file's readahead window). Anonymous and shmem memory have nothing to read
 * without swap.
 */
function madviseWillneed(k: Kernel, vma: Vma, start: number, end: number): void {
  const f = vma.file;
  // hugetlbfs has no backing device to read from (generic_fadvise() on noop_backing_dev_info).
  if (f === null || f.inode.mapping.isShmem || isFileHugepages(f)) return;
  const ps = k.arch.pageSize;
  const first = vma.pgoff + (start - vma.start) / ps;
  const nr = Math.min((end - start) / ps, Math.max(f.ra.raPages, 1));
  readPagesIntoCache(k, f.inode.mapping, first, nr, 0, false);
}

/** can_madv_lru_vma() */
function canMadvLruVma(vma: Vma): boolean {
  return (vma.flags & (VM_LOCKED | VM_PFNMAP | VM_HUGETLB)) === 0;
}

/**
 * madvise_cold_or_pageout_pte_range(): for pages mapped only here, COLD
 * clears the accessed bits and deactivates; PAGEOUT hands them to reclaim
 * (reclaim_pages() -> shrink_folio_list()), which without swap can drop a
 * clean lazily-freed anonymous page and a clean file page (unmapping it;
 * a dirty file page is unmapped and kept dirty), and keeps the rest.
 */
function madviseColdOrPageout(k: Kernel, mm: MmStruct, vma: Vma, start: number, end: number, pageout: boolean): void {
  const p = k.phys;
  if (mm.nrHugePmds > 0) madviseColdOrPageoutHugePmdRange(k, mm, vma, start / mm.pageSize, end / mm.pageSize, pageout);
  const ps = mm.pageSize;
  let flush = false;
  const reclaim: number[] = [];
  forEachPresentPte(mm, start, end, (t, i, vpn) => {
    const pfn = t.pfns![i]!;
    if (p.mapcount[pfn] !== 1) return;
    const fl = t.flags![i]!;
    if (!pageout && fl & PTE_ACCESSED) {
      t.flags![i] = fl & ~PTE_ACCESSED;
      flush = true;
    }
    p.flags[pfn] = p.flags[pfn]! & ~PG_referenced;
    if (!pageout) p.flags[pfn] = p.flags[pfn]! & ~PG_active;
    else reclaim.push(vpn);
  });
  if (flush) mm.flushTlbRange(start / ps, end / ps);
  for (const vpn of reclaim) {
    const t = pteLookup(mm.pgd, vpn, mm.divisors, mm.indexMask)!;
    const i = vpn & mm.indexMask;
    const pfn = t.pfns![i]!;
    const pf = p.flags[pfn]!;
    const fl = t.flags![i]!;
    if (pf & PG_anon) {
      // Swap-backed anonymous memory has nowhere to go without swap.
      if (pf & PG_swapbacked) continue;
      // try_to_unmap_one(): a lazily-freed page written again becomes swap-backed again.
      if (fl & PTE_DIRTY || pf & PG_dirty) {
        p.flags[pfn] = pf | PG_swapbacked;
        continue;
      }
      zapPteRange(k, mm, vpn, vpn + 1);
      continue;
    }
    if (vma.file === null) continue;
    // A file page: unmapped (its dirty bit passed to the page), then dropped from the cache if clean.
    zapPteRange(k, mm, vpn, vpn + 1);
    const f = p.flags[pfn]!;
    if (p.refcount[pfn] === 1 && !(f & (PG_dirty | PG_writeback))) {
      const as = vma.file.inode.mapping;
      if (as.pages.get(p.index[pfn]!) === pfn) filemapRemoveFolio(k, as, p.index[pfn]!, pfn);
    }
  }
}

/**
 * madvise_populate() -> faultin_page_range(): fault the range in for
 * reading or writing through GUP. No VMA: ENOMEM; a VMA that does not allow
 * the access: EINVAL; a fault that fails (SIGBUS, SIGSEGV): EFAULT. Pages
 * before the failing one stay populated.
 */
function madvisePopulate(k: Kernel, task: Task, start: number, end: number, write: boolean): KRet {
  const mm = task.mm;
  const ps = mm.pageSize;
  while (start < end) {
    const vma = start < mm.taskSize ? mm.vmas.lookup(start) : null;
    if (vma === null) return 'ENOMEM';
    // check_vma_flags()
    if (vma.flags & (VM_IO | VM_PFNMAP)) return 'EINVAL';
    if (write ? (vma.flags & VM_WRITE) === 0 : (vma.flags & VM_READ) === 0) return 'EINVAL';
    const stop = Math.min(end, vma.end);
    for (; start < stop; start += ps) {
      if (!pageUsable(mm, start, write)) {
        const ret = gupFault(k, task, vma, start, write);
        if (ret & VM_FAULT_ERROR) return ret & VM_FAULT_OOM ? 'ENOMEM' : 'EFAULT';
      }
      gupTouch(mm, start);
    }
  }
  return 0;
}

/** madvise_update_vma(): give [start, end) the flags newFlags; ENOMEM (as EAGAIN) when a split would exceed max_map_count. */
function madviseUpdateVma(k: Kernel, mm: MmStruct, vma: Vma, start: number, end: number, newFlags: number): KRet {
  if (newFlags === vma.flags) return 0;
  const splits = (start > vma.start ? 1 : 0) + (end < vma.end ? 1 : 0);
  if (splits > 0 && mm.mapCount >= k.settings.maxMapCount) return 'EAGAIN';
  const target = vmaModify(mm, vma, start, end, { flags: newFlags, file: vma.file, anonName: vma.anonName, anonFile: vma.anonFile });
  if (target === 'EINVAL') return target;
  target.flags = newFlags;
  return 0;
}

/** vma_ksm_compatible() */
function vmaKsmCompatible(vma: Vma): boolean {
  return (vma.flags & (VM_SHARED | VM_MAYSHARE | VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_HUGETLB | VM_MIXEDMAP)) === 0;
}

/**
 * madvise_vma_behavior(): apply the advice to [start, end) of one VMA.
 * `dropped` is set for the advice that drops mmap_lock (REMOVE, WILLNEED on a file).
 */
function madviseVmaBehavior(k: Kernel, task: Task, vma: Vma, start: number, end: number, behavior: number, dropped: { v: boolean }): KRet {
  const mm = task.mm;
  let flags = vma.flags;
  switch (behavior) {
    case MADV_GUARD_INSTALL:
      return madviseGuardInstall(k, mm, vma, start, end);
    case MADV_GUARD_REMOVE:
      return madviseGuardRemove(k, mm, vma, start, end);
    case MADV_REMOVE:
      dropped.v = true;
      return madviseRemove(k, vma, start, end);
    case MADV_WILLNEED:
      if (vma.file !== null && !vma.file.inode.mapping.isShmem) dropped.v = true;
      madviseWillneed(k, vma, start, end);
      return 0;
    case MADV_COLD:
    case MADV_PAGEOUT:
      if (!canMadvLruVma(vma)) return 'EINVAL';
      madviseColdOrPageout(k, mm, vma, start, end, behavior === MADV_PAGEOUT);
      return 0;
    case MADV_FREE:
    case MADV_DONTNEED:
    case MADV_DONTNEED_LOCKED: {
      // madvise_dontneed_free_valid_vma(): on hugetlb, DONTNEED(_LOCKED) only, from a huge page
      // boundary, the end rounded down to one; the empty pool mapped nothing to zap.
      if (isVmHugetlbPage(vma)) return behavior === MADV_FREE || start % vmaKernelPagesize(vma, mm.pageSize) !== 0 ? 'EINVAL' : 0;
      const forbidden = VM_PFNMAP | (behavior === MADV_DONTNEED_LOCKED ? 0 : VM_LOCKED);
      if (vma.flags & forbidden) return 'EINVAL';
      if (behavior === MADV_FREE) return madviseFree(k, mm, vma, start, end);
      madviseDontneed(k, mm, start, end);
      return 0;
    }
    case MADV_NORMAL:
      flags &= ~(VM_RAND_READ | VM_SEQ_READ);
      break;
    case MADV_SEQUENTIAL:
      flags = (flags & ~VM_RAND_READ) | VM_SEQ_READ;
      break;
    case MADV_RANDOM:
      flags = (flags & ~VM_SEQ_READ) | VM_RAND_READ;
      break;
    case MADV_DONTFORK:
      flags |= VM_DONTCOPY;
      break;
    case MADV_DOFORK:
      if (flags & VM_IO) return 'EINVAL';
      flags &= ~VM_DONTCOPY;
      break;
    case MADV_WIPEONFORK:
      // Only private memory without a vm_file (so not a private /dev/zero mapping).
      if (vma.file !== null || vma.anonFile !== null || flags & VM_SHARED) return 'EINVAL';
      flags |= VM_WIPEONFORK;
      break;
    case MADV_KEEPONFORK:
      // Deviation: VM_DROPPABLE is not a flag of its own here, so KEEPONFORK on MAP_DROPPABLE memory is not refused.
      flags &= ~VM_WIPEONFORK;
      break;
    case MADV_DONTDUMP:
      flags |= VM_DONTDUMP;
      break;
    case MADV_DODUMP:
      if (flags & VM_SPECIAL && !isVmHugetlbPage(vma)) return 'EINVAL';
      flags &= ~VM_DONTDUMP;
      break;
    case MADV_MERGEABLE:
      // ksm_madvise(): memory KSM cannot merge keeps its flags, without an error.
      if (!(flags & VM_MERGEABLE) && vmaKsmCompatible(vma)) flags |= VM_MERGEABLE;
      break;
    case MADV_UNMERGEABLE:
      flags &= ~VM_MERGEABLE;
      break;
    case MADV_HUGEPAGE:
      // hugepage_madvise(): later faults in THP mode madvise may map huge PMDs (huge-memory.ts).
      // Deviation: no khugepaged_enter_vma(): nothing collapses what is already mapped.
      flags = (flags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE;
      break;
    case MADV_NOHUGEPAGE:
      flags = (flags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE;
      break;
    default:
      return 'EINVAL';
  }
  return madviseUpdateVma(k, mm, vma, start, end, flags | 0);
}

/** do_madvise(): madvise(2) over [start, start + len). */
export function sysMadvise(k: Kernel, task: Task, startArg: bigint, lenArg: bigint, adviceArg: bigint): KRet {
  const mm = task.mm;
  const ps = BigInt(mm.pageSize);
  const mask = ps - 1n;
  // The advice argument is an int.
  const behavior = Number(BigInt.asIntN(32, u64(adviceArg)));
  const start = u64(startArg);
  const lenIn = u64(lenArg);
  // is_valid_madvise()
  if (!madviseBehaviorValid(k, behavior)) return 'EINVAL';
  if (start & mask) return 'EINVAL';
  const len = (lenIn + mask) & ~mask & U64;
  if (lenIn !== 0n && len === 0n) return 'EINVAL';
  if (start + len > U64) return 'EINVAL';
  if (len === 0n) return 0;
  const taskSize = BigInt(mm.taskSize);
  // Past user space nothing is mapped: clip there, the hole gives ENOMEM.
  let s = start >= taskSize ? mm.taskSize : Number(start);
  const end = start + len > taskSize ? mm.taskSize + mm.pageSize : Number(start + len);
  if (behavior === MADV_POPULATE_READ || behavior === MADV_POPULATE_WRITE) {
    return madvisePopulate(k, task, s, end, behavior === MADV_POPULATE_WRITE);
  }
  // madvise_walk_vmas()
  let unmapped = false;
  let vma = s < mm.taskSize ? mm.vmas.find(s) : null;
  for (;;) {
    if (vma === null) return 'ENOMEM';
    if (s < vma.start) {
      unmapped = true;
      s = vma.start;
      if (s >= end) break;
    }
    let rEnd = Math.min(vma.end, end);
    const dropped = { v: false };
    const err = madviseVmaBehavior(k, task, vma, s, rEnd, behavior, dropped);
    if (err !== 0) return err;
    const cur = dropped.v ? null : mm.vmas.lookup(s);
    if (cur !== null && rEnd < cur.end) rEnd = cur.end;
    if (rEnd >= end) break;
    vma = mm.vmas.find(cur !== null ? cur.end : rEnd);
    s = rEnd;
  }
  return unmapped ? 'ENOMEM' : 0;
}
