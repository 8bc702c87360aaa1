/**
 * fork's copy of an address space (kernel/fork.c:dup_mmap(),
 * mm/memory.c:copy_page_range() / copy_present_pte()) and its teardown at
 * exit (mm/mmap.c:exit_mmap()).
 *
 * Private pages become shared read-only between parent and child and are
 * copied on the first write by either; shared mappings stay shared; VMAs
 * without an anon_vma are not copied entry by entry (the child faults them
 * in); MADV_DONTFORK VMAs are left out and MADV_WIPEONFORK ones start empty.
 */
import type { Kernel } from '../kernel.js';
import { PTE_ACCESSED, PTE_DIRTY, PTE_SPECIAL, PTE_WRITE } from '../arch/pte.js';
import type { MmStruct } from './mm-struct.js';
import { mmAlloc } from './mm-struct.js';
import { PG_anon, PG_anon_exclusive } from './page-alloc.js';
import { forEachLeaf, forEachPresentPte, freePgtables, pteAlloc } from './pgtable.js';
import { setPte, zapPteRange } from './pte-ops.js';
import { copyGuards } from './guard.js';
import { folioAddRmap } from './rmap.js';
import { copyHugePmds } from './huge-memory.js';
import { Vma } from './vma.js';
import { fileGet, vmaLink, vmUnacct } from './vma-ops.js';
import { VM_ACCOUNT, VM_DONTCOPY, VM_LOCKED_MASK, VM_MAYWRITE, VM_MIXEDMAP, VM_PFNMAP, VM_SHARED, VM_WIPEONFORK } from './vm-flags.js';

/** dup_mmap(): the child's copy of the parent's address space, or null when out of memory. */
export function dupMmap(k: Kernel, parent: MmStruct): MmStruct | null {
  const child = mmAlloc(k, parent.mmapBase);
  if (child === null) return null;
  child.startCode = parent.startCode;
  child.endCode = parent.endCode;
  child.startData = parent.startData;
  child.endData = parent.endData;
  child.startBrk = parent.startBrk;
  child.brk = parent.brk;
  child.startStack = parent.startStack;
  child.hiwaterVm = parent.hiwaterVm;
  const ps = parent.pageSize;
  for (const src of parent.vmas) {
    if (src.flags & VM_DONTCOPY) {
      continue;
    }
    const dst = new Vma(src.start, src.end, src.flags & ~VM_LOCKED_MASK, src.pgoff, src.file, null);
    dst.anonName = src.anonName;
    dst.specialName = src.specialName;
    dst.anonFile = src.anonFile;
    if (dst.anonFile !== null) fileGet(dst.anonFile);
    if (src.flags & VM_ACCOUNT) k.committedPages += (src.end - src.start) / ps;
    if (src.anonVma !== null && !(src.flags & VM_WIPEONFORK)) {
      dst.anonVma = k.newAnonVma();
      dst.anonVma.refs++;
    }
    if (dst.file !== null) fileGet(dst.file);
    vmaLink(child, dst);
    if (src.flags & VM_WIPEONFORK) continue;
    if (src.anonVma === null && !(src.flags & (VM_PFNMAP | VM_MIXEDMAP))) continue;
    if (!copyPageRange(k, child, parent, src)) return null;
    if (!copyGuards(k, child, parent, src.start / ps, src.end / ps)) return null;
  }
  return child;
}

/** copy_page_range() for one VMA: share every present page, write-protecting COW mappings. */
function copyPageRange(k: Kernel, dst: MmStruct, src: MmStruct, vma: Vma): boolean {
  const ps = src.pageSize;
  const cow = (vma.flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
  const p = k.phys;
  let wrprotected = false;
  let oom = false;
  // copy_pmd_range(): huge PMDs are shared whole (copy_huge_pmd()).
  if (src.nrHugePmds > 0 && !copyHugePmds(k, dst, src, vma)) return false;
  forEachPresentPte(src, vma.start / ps, vma.end / ps, true, (t, i, vpn) => {
    if (oom) return;
    let fl = t.flags![i]!;
    const pfn = t.pfns![i]!;
    const dt = pteAlloc(k, dst.pgd, vpn, dst.divisors, dst.indexMask, (b) => (dst.pgtablesBytes += b));
    if (dt === null) {
      oom = true;
      return;
    }
    if (!(fl & PTE_SPECIAL)) {
      p.get(pfn);
      folioAddRmap(k, dst, pfn);
      // folio_try_dup_anon_rmap_pte(): the page is no longer known exclusive.
      if (p.flags[pfn]! & PG_anon) p.flags[pfn] = p.flags[pfn]! & ~PG_anon_exclusive;
    }
    if (cow && fl & PTE_WRITE) {
      fl &= ~PTE_WRITE;
      t.flags![i] = fl;
      wrprotected = true;
    }
    let cfl = fl & ~PTE_ACCESSED;
    if (vma.flags & VM_SHARED) cfl &= ~PTE_DIRTY;
    setPte(k, dst, dt, vpn, pfn, cfl);
  });
  if (wrprotected) src.flushTlbRange(vma.start / ps, vma.end / ps);
  return !oom;
}

/** exit_mmap(): unmap everything, free the page tables and drop every VMA's references. */
export function exitMmap(k: Kernel, mm: MmStruct, release: (vma: Vma) => void): void {
  const ps = mm.pageSize;
  for (const vma of [...mm.vmas]) {
    zapPteRange(k, mm, vma.start / ps, vma.end / ps);
    mm.vmas.remove(vma);
    vmUnacct(k, vma.flags, (vma.end - vma.start) / ps);
    release(vma);
  }
  mm.guards = null;
  // No ceiling (USER_PGTABLES_CEILING): the table holding the top of user space spans past TASK_SIZE.
  freePgtables(k, mm.pgd, 0, Infinity, 0, Infinity, mm.divisors, mm.indexMask, (b) => (mm.pgtablesBytes -= b));
  mm.pgtablesChanged();
  forEachLeaf(mm.pgd, mm.divisors, () => {
    throw new Error('BUG: page table left after exit_mmap');
  });
  mm.flushTlbAll();
}
