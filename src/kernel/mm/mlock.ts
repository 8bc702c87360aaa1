/**
 * mlock(2), mlock2(2), munlock(2), mlockall(2), munlockall(2) (mm/mlock.c):
 * VM_LOCKED / VM_LOCKONFAULT on a range of VMAs (split and merged to fit),
 * RLIMIT_MEMLOCK unless privileged (CAP_IPC_LOCK), then __mm_populate()
 * faults the range in. Pages mapped by a locked VMA carry PG_mlocked.
 *
 * Also the population helpers the rest of mm/ shares with it:
 * populate_vma_page_range() and __mm_populate() over GUP (mm/gup.c).
 */
import type { Kernel } from '../kernel.js';
import { PTE_ACCESSED, PTE_PRESENT, PTE_WRITE } from '../arch/pte.js';
import type { Task } from '../sched.js';
import { MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT, MLOCK_ONFAULT } from '../uapi.js';
import { filemapReadFolio, filemapReadOne, pagesOf } from './filemap.js';
import { doSyncMmapReadahead } from './readahead.js';
import { handleMmFault, VM_FAULT_ERROR, VM_FAULT_MAJOR, VM_FAULT_OOM, VM_FAULT_RETRY } from './memory.js';
import type { MmStruct } from './mm-struct.js';
import { type KRet, totalVmPages, u64 } from './mmap.js';
import { PG_mlocked, PG_unevictable, PG_uptodate } from './page-alloc.js';
import { forEachPresentPte, pteFlagsAt, pteLookup } from './pgtable.js';
import { mlockHugePmdRange } from './huge-memory.js';
import type { Vma } from './vma.js';
import { vmaModify, VM_SPECIAL } from './vma-ops.js';
import { VM_ACCESS_FLAGS, VM_HUGETLB, VM_IO, VM_LOCKED, VM_LOCKED_MASK, VM_LOCKONFAULT, VM_PFNMAP, VM_SHARED, VM_WRITE } from './vm-flags.js';

const U64 = (1n << 64n) - 1n;

/**
 * mlock_vma_pages_range() / mlock_pte_range(): set (or clear) PG_mlocked on
 * the pages mapped in [start, end) of a VMA. The zero page is never locked.
 * Deviation: no mlock_count; munlock clears the flag even when another
 * locked VMA maps the page too.
 */
export function mlockVmaPages(k: Kernel, mm: MmStruct, vma: Vma, start: number, end: number, lock: boolean): void {
  const ps = mm.pageSize;
  const p = k.phys;
  if (mm.nrHugePmds > 0) mlockHugePmdRange(k, mm, start / ps, end / ps, lock);
  forEachPresentPte(mm, start / ps, end / ps, false, (t, i) => {
    const pfn = t.pfns![i]!;
    if (lock) p.flags[pfn] = p.flags[pfn]! | PG_mlocked | PG_unevictable;
    else p.flags[pfn] = p.flags[pfn]! & ~(PG_mlocked | PG_unevictable);
  });
  void vma;
}

/**
 * mlock_vma_folio() as __folio_add_file_rmap() / folio_add_lru_vma() call it
 * for a fault in a VM_LOCKED VMA: lock what the fault mapped (the faulting
 * page and any pages fault-around mapped in its window).
 */
export function mlockFaultedPages(k: Kernel, mm: MmStruct, vma: Vma, vpn: number, mappedFrom = vpn, mappedTo = vpn + 1): void {
  const ps = mm.pageSize;
  // The fault-around window (do_fault_around()): aligned, within the page table; and
  // whatever else the fault mapped (whole large folios).
  const window = Math.max(1, Math.min(Math.floor(k.settings.faultAroundBytes / ps), mm.indexMask + 1));
  const base = vpn - (vpn % window);
  const from = Math.max(vma.start / ps, Math.min(base, mappedFrom));
  const to = Math.min(vma.end / ps, Math.max(base + window, mappedTo));
  mlockVmaPages(k, mm, vma, from * ps, to * ps, true);
}

/**
 * A fault taken by get_user_pages() (faultin_page() -> handle_mm_fault()):
 * counted in the task's fault counters as mm_account_fault() does for GUP.
 * Returns the vm_fault_t bits.
 *
 * `retryUntried`: the caller is __mm_populate(), which calls
 * __get_user_pages() without __get_user_pages_locked()'s retry loop. A fault
 * that has to read the page drops mmap_lock for the I/O and returns
 * VM_FAULT_RETRY (not counted); __mm_populate() starts again without
 * FOLL_TRIED and finds the page cached: one minor fault. (Measured on 6.18:
 * mlock of an uncached file mapping costs minor faults only, while
 * MADV_POPULATE_READ, which retries with FAULT_FLAG_TRIED, costs major ones.)
 */
export function gupFault(k: Kernel, task: Task, vma: Vma, addr: number, write: boolean, retryUntried = false, allowRetry = true): number {
  // Without FOLL_UNLOCKABLE (a caller passing no `locked`) the fault may not drop
  // mmap_lock: filemap_fault() reads the page in place and returns VM_FAULT_MAJOR.
  const retried = allowRetry && faultRetryForIo(k, task.mm, vma, addr);
  const ret = handleMmFault(k, task.mm, vma, addr, write);
  k.vmstat.pgfault++;
  if (!(ret & VM_FAULT_ERROR)) {
    // mm_account_fault(): a retried fault is major (FAULT_FLAG_TRIED) unless retried from scratch;
    // only a caller that lets the fault drop its lock (FOLL_UNLOCKABLE) gets a retry.
    if ((ret & VM_FAULT_MAJOR || (allowRetry && (retried || ret & VM_FAULT_RETRY))) && !retryUntried) task.majFlt++;
    else task.minFlt++;
  }
  return ret;
}

/**
 * The first attempt of a fault allowed to retry (FAULT_FLAG_ALLOW_RETRY, as
 * GUP's faults are): filemap_fault() finds the page missing, counts
 * PGMAJFAULT, starts read-around (do_sync_mmap_readahead()), which drops
 * mmap_lock, reads the page and returns VM_FAULT_RETRY, mapping nothing and
 * counting no fault. The retry then finds the pages cached, so a read maps
 * the whole fault-around window at once. Returns whether it happened.
 */
function faultRetryForIo(k: Kernel, mm: MmStruct, vma: Vma, addr: number): boolean {
  const file = vma.file;
  // shmem and hugetlbfs have nothing to read in (a hugetlb fault is SIGBUS here).
  if (file === null || file.inode.mapping.isShmem || vma.flags & VM_HUGETLB) return false;
  const vpn = addr / mm.pageSize;
  const t = pteLookup(mm.pgd, vpn, mm.divisors, mm.indexMask);
  if (t !== null && t.flags![vpn & mm.indexMask] !== 0) return false;
  const as = file.inode.mapping;
  const pgoff = vma.pgoff + (addr - vma.start) / mm.pageSize;
  if (pgoff >= pagesOf(file.inode.size, mm.pageSize)) return false;
  const cached = as.pages.get(pgoff);
  if (cached !== undefined) {
    // filemap_fault()'s page_not_uptodate: a cached page is read with the lock dropped
    // (VM_FAULT_RETRY, no PGMAJFAULT).
    if (k.phys.flags[cached]! & PG_uptodate) return false;
    filemapReadFolio(k, as, pgoff, cached);
    return true;
  }
  k.vmstat.pgmajfault++;
  doSyncMmapReadahead(k, vma, file, pgoff);
  if (!as.pages.has(pgoff)) filemapReadOne(k, as, pgoff);
  return true;
}

/**
 * FOLL_TOUCH after a page was found or faulted in: the entry is young (x86
 * makes new entries young anyway: its page protections carry _PAGE_ACCESSED).
 */
export function gupTouch(mm: MmStruct, addr: number): void {
  const vpn = addr / mm.pageSize;
  const t = pteLookup(mm.pgd, vpn, mm.divisors, mm.indexMask);
  if (t === null) return;
  if (t.hugePfn >= 0) {
    t.hugeFlags |= PTE_ACCESSED;
    return;
  }
  const i = vpn & mm.indexMask;
  if (t.flags![i]! & PTE_PRESENT) t.flags![i] = t.flags![i]! | PTE_ACCESSED;
}

/** Is the page at addr mapped usably for this access (follow_page_pte() succeeding)? */
export function pageUsable(mm: MmStruct, addr: number, write: boolean): boolean {
  const fl = pteFlagsAt(mm, addr / mm.pageSize);
  return (fl & PTE_PRESENT) !== 0 && (!write || (fl & PTE_WRITE) !== 0);
}

/**
 * populate_vma_page_range(): fault in [start, end) of one VMA, writing to
 * private writable mappings to break COW, reading otherwise (FOLL_FORCE).
 * Returns the pages done, or EFAULT (PROT_NONE, or a fault that failed) /
 * ENOMEM (out of memory) when none could be.
 *
 * `unlockable`: the caller passes `locked` (__mm_populate() does), so GUP
 * sets FOLL_UNLOCKABLE and a fault that must read the page retries (see
 * gupFault()); mprotect_fixup() passes NULL, so its faults read in place and
 * an uncached page is a major fault (checked on Linux 6.18; found by mmsim
 * fuzz --seed 31).
 */
export function populateVmaPageRange(k: Kernel, task: Task, vma: Vma, start: number, end: number, unlockable = true): number | 'EFAULT' | 'ENOMEM' {
  const ps = task.mm.pageSize;
  if (vma.flags & VM_LOCKONFAULT) return (end - start) / ps;
  if ((vma.flags & VM_ACCESS_FLAGS) === 0) return 'EFAULT';
  const write = (vma.flags & (VM_WRITE | VM_SHARED)) === VM_WRITE;
  let done = 0;
  for (let addr = start; addr < end; addr += ps) {
    // Deviation: the kernel's own special mappings ([vdso]) have no pages in the model to fault in.
    if (vma.specialName !== null) {
      done++;
      continue;
    }
    if (!pageUsable(task.mm, addr, write)) {
      const ret = gupFault(k, task, vma, addr, write, unlockable, unlockable);
      if (ret & VM_FAULT_ERROR) {
        if (done > 0) return done;
        return ret & VM_FAULT_OOM ? 'ENOMEM' : 'EFAULT';
      }
    }
    gupTouch(task.mm, addr);
    done++;
  }
  return done;
}

/** __mm_populate(): fault in every VMA over [start, start + len); 0 or the first error. */
export function mmPopulate(k: Kernel, task: Task, start: number, len: number, ignoreErrors: boolean): 0 | 'EFAULT' | 'ENOMEM' {
  const mm = task.mm;
  const end = Math.min(start + len, mm.taskSize);
  let nstart = start;
  while (nstart < end) {
    const vma = mm.vmas.findIntersection(nstart, end);
    if (vma === null) break;
    let nend = Math.min(end, vma.end);
    if (vma.flags & (VM_IO | VM_PFNMAP)) {
      nstart = nend;
      continue;
    }
    if (nstart < vma.start) nstart = vma.start;
    const r = populateVmaPageRange(k, task, vma, nstart, nend);
    if (typeof r === 'string') {
      if (ignoreErrors) {
        nstart = nend;
        continue;
      }
      return r;
    }
    nend = nstart + r * mm.pageSize;
    nstart = nend;
  }
  return 0;
}

/** can_do_mlock(): a non-zero RLIMIT_MEMLOCK, or CAP_IPC_LOCK. */
function canDoMlock(k: Kernel): boolean {
  return k.settings.memlockRlimit !== 0 || k.settings.privileged;
}

/**
 * Pages mm->locked_vm holds beyond its VM_LOCKED VMAs, for good: MREMAP_DONTUNMAP
 * of a locked mapping counts the new VMA in and clears VM_LOCKED on the old one
 * without taking it off (dontunmap_complete(): "Because we won't unmap we don't
 * need to touch locked_vm"). Seen on Linux 6.18 as VmLck.
 */
const lockedVmStale = new WeakMap<MmStruct, number>();

/** The part of locked_vm no VMA accounts for (see lockedVmStale). */
export function lockedVmStalePages(mm: MmStruct): number {
  return lockedVmStale.get(mm) ?? 0;
}

/** Record pages left in locked_vm by a VMA that lost VM_LOCKED without being unlocked. */
export function addLockedVmStale(mm: MmStruct, pages: number): void {
  lockedVmStale.set(mm, lockedVmStalePages(mm) + pages);
}

/** mm->locked_vm in pages: the VM_LOCKED VMAs plus what stayed behind. */
export function lockedVmPages(mm: MmStruct): number {
  let n = lockedVmStalePages(mm);
  for (const v of mm.vmas) if (v.flags & VM_LOCKED) n += (v.end - v.start) / mm.pageSize;
  return n;
}

/** count_mm_mlocked_page_nr(): pages of [start, start + len) already in locked VMAs. */
function countMmMlockedPageNr(mm: MmStruct, start: number, len: number): number {
  const end = start + len;
  let count = 0;
  for (let v = mm.vmas.find(start); v !== null && v.start < end; v = v.next) {
    if ((v.flags & VM_LOCKED) === 0) continue;
    if (start > v.start) count -= start - v.start;
    if (end < v.end) {
      count += end - v.start;
      break;
    }
    count += v.end - v.start;
  }
  return Math.floor(count / mm.pageSize);
}

/** vma_supports_mlock(): not VM_SPECIAL ([vvar], [vdso]) nor hugetlb. */
function vmaSupportsMlock(vma: Vma): boolean {
  return (vma.flags & (VM_SPECIAL | VM_HUGETLB)) === 0;
}

/** mlock_fixup(): give [start, end) of vma the lock flags newFlags. */
function mlockFixup(k: Kernel, mm: MmStruct, vma: Vma, start: number, end: number, newFlags: number): KRet {
  const oldFlags = vma.flags;
  if (newFlags === oldFlags || !vmaSupportsMlock(vma)) return 0;
  const splits = (start > vma.start ? 1 : 0) + (end < vma.end ? 1 : 0);
  if (splits > 0 && mm.mapCount >= k.settings.maxMapCount) return 'ENOMEM';
  const target = vmaModify(mm, vma, start, end, { flags: newFlags, file: vma.file, anonName: vma.anonName, anonFile: vma.anonFile });
  if (target === 'EINVAL') return target;
  target.flags = newFlags;
  // Locking twice, or changing only VM_LOCKONFAULT, leaves the pages as they are.
  if (!(newFlags & VM_LOCKED && oldFlags & VM_LOCKED)) mlockVmaPages(k, mm, target, start, end, (newFlags & VM_LOCKED) !== 0);
  return 0;
}

/** apply_vma_lock_flags(): lock flags over [start, start + len); ENOMEM on a hole. */
function applyVmaLockFlags(k: Kernel, mm: MmStruct, start: bigint, len: bigint, flags: number): KRet {
  const end64 = start + len;
  if (end64 > U64) return 'EINVAL';
  if (end64 === start) return 0;
  const taskSize = BigInt(mm.taskSize);
  if (start >= taskSize) return 'ENOMEM';
  const s = Number(start);
  const end = end64 > taskSize ? mm.taskSize + mm.pageSize : Number(end64);
  let vma = mm.vmas.lookup(s);
  if (vma === null) return 'ENOMEM';
  let nstart = s;
  let tmp = vma.start;
  while (vma !== null && vma.start < end) {
    if (vma.start !== tmp) return 'ENOMEM';
    const newFlags = (vma.flags & ~VM_LOCKED_MASK) | flags;
    tmp = Math.min(vma.end, end);
    const r = mlockFixup(k, mm, vma, nstart, tmp, newFlags);
    if (r !== 0) return r;
    // The iterator now sits on the VMA covering nstart, which may have merged further.
    const cur = mm.vmas.lookup(nstart);
    if (cur !== null && cur.end > tmp) tmp = cur.end;
    nstart = tmp;
    vma = mm.vmas.find(tmp);
  }
  return tmp < end ? 'ENOMEM' : 0;
}

/** __mlock_posix_error_return(): EFAULT -> ENOMEM, ENOMEM -> EAGAIN. */
function mlockPosixError(r: 'EFAULT' | 'ENOMEM'): KRet {
  return r === 'EFAULT' ? 'ENOMEM' : 'EAGAIN';
}

/** do_mlock() */
function doMlock(k: Kernel, task: Task, startArg: bigint, lenArg: bigint, flags: number): KRet {
  const mm = task.mm;
  if (!canDoMlock(k)) return 'EPERM';
  const ps = BigInt(mm.pageSize);
  const mask = ps - 1n;
  let start = u64(startArg);
  const len = (u64(lenArg) + (start & mask) + mask) & ~mask & U64;
  start &= ~mask;
  const priv = k.settings.privileged;
  const lockLimit = Math.floor(k.settings.memlockRlimit / mm.pageSize);
  const lenPages = Number(len / ps);
  let locked = lenPages + lockedVmPages(mm);
  const startN = start >= BigInt(mm.taskSize) ? mm.taskSize : Number(start);
  if (locked > lockLimit && !priv) locked -= countMmMlockedPageNr(mm, startN, Number(len));
  if (!(locked <= lockLimit || priv)) return 'ENOMEM';
  const r = applyVmaLockFlags(k, mm, start, len, flags);
  if (r !== 0) return r;
  const p = mmPopulate(k, task, startN, Number(len), false);
  return p === 0 ? 0 : mlockPosixError(p);
}

/** mlock(2) */
export function sysMlock(k: Kernel, task: Task, start: bigint, len: bigint): KRet {
  return doMlock(k, task, start, len, VM_LOCKED);
}

/** mlock2(2): MLOCK_ONFAULT locks pages as they are faulted in, populating nothing. */
export function sysMlock2(k: Kernel, task: Task, start: bigint, len: bigint, flagsArg: bigint): KRet {
  // The flags argument is an int.
  const flags = Number(BigInt.asIntN(32, u64(flagsArg)));
  if (flags & ~MLOCK_ONFAULT) return 'EINVAL';
  return doMlock(k, task, start, len, VM_LOCKED | (flags & MLOCK_ONFAULT ? VM_LOCKONFAULT : 0));
}

/** munlock(2) */
export function sysMunlock(k: Kernel, task: Task, startArg: bigint, lenArg: bigint): KRet {
  const mm = task.mm;
  const ps = BigInt(mm.pageSize);
  const mask = ps - 1n;
  let start = u64(startArg);
  const len = (u64(lenArg) + (start & mask) + mask) & ~mask & U64;
  start &= ~mask;
  return applyVmaLockFlags(k, mm, start, len, 0);
}

/** apply_mlockall_flags(): mm.defFlags for MCL_FUTURE, every VMA for MCL_CURRENT (errors ignored). */
function applyMlockallFlags(k: Kernel, mm: MmStruct, flags: number): void {
  mm.defFlags &= ~VM_LOCKED_MASK;
  if (flags & MCL_FUTURE) {
    mm.defFlags |= VM_LOCKED;
    if (flags & MCL_ONFAULT) mm.defFlags |= VM_LOCKONFAULT;
    if ((flags & MCL_CURRENT) === 0) return;
  }
  let toAdd = 0;
  if (flags & MCL_CURRENT) {
    toAdd |= VM_LOCKED;
    if (flags & MCL_ONFAULT) toAdd |= VM_LOCKONFAULT;
  }
  let cursor = 0;
  for (;;) {
    const vma = mm.vmas.find(cursor);
    if (vma === null) break;
    const end = vma.end;
    if (vma.start >= cursor) mlockFixup(k, mm, vma, vma.start, end, (vma.flags & ~VM_LOCKED_MASK) | toAdd);
    cursor = end;
  }
}

/** mlockall(2) */
export function sysMlockall(k: Kernel, task: Task, flagsArg: bigint): KRet {
  const mm = task.mm;
  const flags = Number(BigInt.asIntN(32, u64(flagsArg)));
  if (flags === 0 || flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) || flags === MCL_ONFAULT) return 'EINVAL';
  if (!canDoMlock(k)) return 'EPERM';
  const lockLimit = Math.floor(k.settings.memlockRlimit / mm.pageSize);
  if (!(!(flags & MCL_CURRENT) || totalVmPages(mm) <= lockLimit || k.settings.privileged)) return 'ENOMEM';
  applyMlockallFlags(k, mm, flags);
  if (flags & MCL_CURRENT) mmPopulate(k, task, 0, mm.taskSize, true);
  return 0;
}

/** munlockall(2) */
export function sysMunlockall(k: Kernel, task: Task): KRet {
  applyMlockallFlags(k, task.mm, 0);
  return 0;
}
