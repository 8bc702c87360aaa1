/**
 * Creating, splitting, merging and removing VMAs (mm/vma.c): __split_vma(),
 * vma_merge_new_range(), vma_merge_existing_range() behind vma_modify(), and
 * the unmap of a range (do_vmi_align_munmap()).
 */
import type { Kernel } from '../kernel.js';
import type { File } from '../fs/file.js';
import { truncateInodePagesFinal } from './filemap.js';
import type { MmStruct } from './mm-struct.js';
import { freePgtables } from './pgtable.js';
import { zapPteRange } from './pte-ops.js';
import { dropGuards } from './guard.js';
import { hugetlbVmOpSplit } from './hugetlb.js';
import type { AnonVma } from './rmap.js';
import { Vma } from './vma.js';
import { VM_ACCOUNT, VM_DONTEXPAND, VM_IGNORE_MERGE, VM_IO, VM_MIXEDMAP, VM_PFNMAP } from './vm-flags.js';

/** VM_SPECIAL: mappings that never merge or expand. */
export const VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;

function pages(vma: Vma, ps: number): number {
  return (vma.end - vma.start) / ps;
}

/** get_file(): a mapping takes a reference on the file and inode. */
export function fileGet(file: File): void {
  file.refs++;
  file.inode.refs++;
}

/** fput(): drop a reference; the last one on an unlinked inode frees its pages and blocks. */
export function filePut(k: Kernel, file: File): void {
  file.refs--;
  const inode = file.inode;
  inode.refs--;
  if (inode.refs === 0 && inode.nlink === 0) {
    truncateInodePagesFinal(k, inode.mapping);
    inode.blockdev?.release(inode.ino);
    // shmem_evict_inode() -> shmem_unacct_size()
    k.committedPages -= inode.acctPages;
    inode.acctPages = 0;
  }
}

/** vma_link(): put a VMA into the mm and its file's i_mmap. */
export function vmaLink(mm: MmStruct, vma: Vma): void {
  vma.mm = mm;
  mm.vmas.insert(vma);
  if (vma.file !== null) vma.file.inode.mapping.iMmap.add(vma);
  if (mm.k.tracing) mm.k.emit({ type: 'vma_new', start: vma.start, end: vma.end, flags: vma.flags });
}

/** Take the references a new VMA holds (file, anon_vma). */
function vmaTakeRefs(vma: Vma): void {
  if (vma.file !== null) fileGet(vma.file);
  if (vma.anonFile !== null) fileGet(vma.anonFile);
  if (vma.anonVma !== null) vma.anonVma.refs++;
}

/** remove_vma() after the VMA left the tree: drop file and anon_vma references. */
export function vmaRelease(k: Kernel, vma: Vma): void {
  if (vma.file !== null) {
    vma.file.inode.mapping.iMmap.delete(vma);
    filePut(k, vma.file);
  }
  if (vma.anonFile !== null) filePut(k, vma.anonFile);
  if (vma.anonVma !== null) vma.anonVma.refs--;
}

/** vm_unacct_memory() for a VMA (or part of one) that carried VM_ACCOUNT. */
export function vmUnacct(k: Kernel, flags: number, npages: number): void {
  if ((flags & VM_ACCOUNT) !== 0) k.committedPages -= npages;
}

/**
 * __split_vma(): cut a VMA at addr into two that share its file, anon_vma
 * and page tables. `newBelow` says which part is the new VMA. Returns the new one.
 */
export function splitVma(mm: MmStruct, vma: Vma, addr: number, newBelow: boolean): Vma {
  const ps = mm.pageSize;
  if (addr <= vma.start || addr >= vma.end || addr % ps !== 0) throw new Error('BUG: bad split address');
  const delta = (addr - vma.start) / ps;
  let fresh: Vma;
  if (newBelow) {
    fresh = new Vma(vma.start, addr, vma.flags, vma.pgoff, vma.file, vma.anonVma);
    mm.vmas.adjust(vma, addr, vma.end);
    vma.pgoff += delta;
  } else {
    fresh = new Vma(addr, vma.end, vma.flags, vma.pgoff + delta, vma.file, vma.anonVma);
    mm.vmas.adjust(vma, vma.start, addr);
  }
  fresh.anonName = vma.anonName;
  fresh.specialName = vma.specialName;
  fresh.anonFile = vma.anonFile;
  vmaTakeRefs(fresh);
  fresh.mm = mm;
  mm.vmas.insert(fresh);
  if (fresh.file !== null) fresh.file.inode.mapping.iMmap.add(fresh);
  if (mm.k.tracing) mm.k.emit({ type: 'vma_split', at: addr, start: Math.min(vma.start, fresh.start), end: Math.max(vma.end, fresh.end) });
  return fresh;
}

/** is_mergeable_anon_vma() */
function anonCompatible(a: AnonVma | null, b: AnonVma | null): boolean {
  return a === null || b === null || a === b;
}

/** The attributes a range would have, for merge decisions. */
export interface VmaAttrs {
  flags: number;
  file: File | null;
  anonName: string | null;
  /** The VMA's anonFile (a private /dev/zero mapping), when it has one. */
  anonFile?: File | null;
}

/** is_mergeable_vma() */
function isMergeable(vma: Vma, attrs: VmaAttrs): boolean {
  if (((vma.flags ^ attrs.flags) & ~VM_IGNORE_MERGE) !== 0) return false;
  if (vma.file !== attrs.file) return false;
  if (vma.anonName !== attrs.anonName) return false;
  if (vma.specialName !== null) return false;
  // Deviation: a private /dev/zero VMA never merges (Linux merges one with a
  // neighbour mapping the same file at a contiguous offset).
  if (vma.anonFile !== null || (attrs.anonFile ?? null) !== null) return false;
  return (attrs.flags & VM_SPECIAL) === 0;
}

/**
 * vma_merge_new_range(): extend a neighbour over [start, end) instead of
 * creating a VMA, when flags, file, offsets and anon_vma allow. Returns the
 * VMA that now covers the range, or null.
 */
export function vmaMergeNewRange(mm: MmStruct, start: number, end: number, pgoff: number, attrs: VmaAttrs): Vma | null {
  const ps = mm.pageSize;
  const prev = mm.vmas.findPrev(start);
  const next = prev === null ? mm.vmas.first : prev.next;
  const npages = (end - start) / ps;
  const left = prev !== null && prev.end === start && isMergeable(prev, attrs) && prev.pgoff + pages(prev, ps) === pgoff;
  let right = next !== null && next.start === end && isMergeable(next, attrs) && pgoff + npages === next.pgoff;
  if (left && right && !anonCompatible(prev!.anonVma, next!.anonVma)) right = false;
  if (!left && !right) return null;
  if (left) {
    const p = prev!;
    if (right) {
      const n = next!;
      const newEnd = n.end;
      if (p.anonVma === null && n.anonVma !== null) {
        p.anonVma = n.anonVma;
        p.anonVma.refs++;
      }
      mm.vmas.remove(n);
      vmaRelease(mm.k, n);
      mm.vmas.adjust(p, p.start, newEnd);
    } else {
      mm.vmas.adjust(p, p.start, end);
    }
    if (mm.k.tracing) mm.k.emit({ type: 'vma_merge', start: p.start, end: p.end });
    return p;
  }
  const n = next!;
  mm.vmas.adjust(n, start, n.end);
  n.pgoff = pgoff;
  if (mm.k.tracing) mm.k.emit({ type: 'vma_merge', start: n.start, end: n.end });
  return n;
}

/**
 * vma_modify() -> vma_merge_existing_range() or split: give [start, end)
 * inside `vma` the attributes `attrs`, merging with a neighbour where the
 * result is compatible and splitting otherwise. Returns the VMA that covers
 * [start, end) afterwards, or EINVAL when a split is refused (hugetlb_vm_op_split():
 * a split at `start` already made stays, as in Linux). The caller has checked
 * map_count for the splits.
 */
export function vmaModify(mm: MmStruct, vma: Vma, start: number, end: number, attrs: VmaAttrs): Vma | 'EINVAL' {
  const ps = mm.pageSize;
  const leftSide = start === vma.start;
  const rightSide = end === vma.end;
  const prev = vma.prev;
  const next = vma.next;
  const pgoffStart = vma.pgoff + (start - vma.start) / ps;
  const pgoffEnd = vma.pgoff + (end - vma.start) / ps;
  const mergeLeft =
    leftSide && prev !== null && prev.end === start && isMergeable(prev, attrs) &&
    anonCompatible(prev.anonVma, vma.anonVma) && prev.pgoff + pages(prev, ps) === pgoffStart;
  let mergeRight =
    rightSide && next !== null && next.start === end && isMergeable(next, attrs) &&
    anonCompatible(next.anonVma, vma.anonVma) && next.pgoff === pgoffEnd;
  if (mergeLeft && mergeRight && !anonCompatible(prev!.anonVma, next!.anonVma)) mergeRight = false;
  const adoptAnon = (target: Vma, source: Vma): void => {
    if (target.anonVma === null && source.anonVma !== null) {
      target.anonVma = source.anonVma;
      target.anonVma.refs++;
    }
  };
  if (mergeLeft) {
    const p = prev!;
    adoptAnon(p, vma);
    if (rightSide) {
      let newEnd = vma.end;
      mm.vmas.remove(vma);
      vmaRelease(mm.k, vma);
      if (mergeRight) {
        const n = next!;
        adoptAnon(p, n);
        newEnd = n.end;
        mm.vmas.remove(n);
        vmaRelease(mm.k, n);
      }
      mm.vmas.adjust(p, p.start, newEnd);
    } else {
      // prev takes [start, end); vma keeps [end, vma.end).
      mm.vmas.adjust(vma, end, vma.end);
      vma.pgoff = pgoffEnd;
      mm.vmas.adjust(p, p.start, end);
    }
    if (mm.k.tracing) mm.k.emit({ type: 'vma_merge', start: p.start, end: p.end });
    return p;
  }
  if (mergeRight) {
    const n = next!;
    adoptAnon(n, vma);
    if (leftSide) {
      mm.vmas.remove(vma);
      vmaRelease(mm.k, vma);
    } else {
      mm.vmas.adjust(vma, vma.start, start);
    }
    mm.vmas.adjust(n, start, n.end);
    n.pgoff = pgoffStart;
    if (mm.k.tracing) mm.k.emit({ type: 'vma_merge', start: n.start, end: n.end });
    return n;
  }
  let target = vma;
  if (!leftSide) {
    if (hugetlbVmOpSplit(target, start) !== 0) return 'EINVAL';
    target = splitVma(mm, target, start, false);
  }
  if (end < target.end) {
    if (hugetlbVmOpSplit(target, end) !== 0) return 'EINVAL';
    splitVma(mm, target, end, false);
  }
  target.flags = attrs.flags;
  target.anonName = attrs.anonName;
  if (mm.k.tracing) mm.k.emit({ type: 'vma_change', start: target.start, end: target.end, flags: target.flags });
  return target;
}

/**
 * do_vmi_align_munmap(): remove [start, end) from the address space,
 * splitting VMAs at the edges, zapping their PTEs, freeing page tables no
 * longer covering any mapping, and dropping VMA references.
 * Returns 0, ENOMEM (a split would exceed max_map_count) or EINVAL (a hugetlb
 * VMA split inside a huge page, hugetlb_vm_op_split(); a split at `start`
 * already made stays, as vms_gather_munmap_vmas() leaves it).
 */
export function doVmiAlignMunmap(k: Kernel, mm: MmStruct, start: number, end: number): 0 | 'ENOMEM' | 'EINVAL' {
  let vma = mm.vmas.find(start);
  if (vma === null || vma.start >= end) return 0;
  const ps = mm.pageSize;
  if (start > vma.start) {
    // vms_gather_munmap_vmas(): "let map_count go just above its limit temporarily".
    if (end < vma.end && mm.mapCount >= k.settings.maxMapCount) return 'ENOMEM';
    if (hugetlbVmOpSplit(vma, start) !== 0) return 'EINVAL';
    splitVma(mm, vma, start, true);
  }
  const last = mm.vmas.find(end - 1);
  // The end split is not refused for map_count (__split_vma() does not check it).
  if (last !== null && last.start < end && last.end > end) {
    if (hugetlbVmOpSplit(last, end) !== 0) return 'EINVAL';
    splitVma(mm, last, end, false);
  }
  let v = mm.vmas.find(start);
  if (v === null || v.start >= end) return 0;
  const floor = v.prev?.end ?? 0;
  // The VMAs inside [start, end), in order; the first one after them is the ceiling.
  let after: Vma | null;
  do {
    after = v.next;
    zapPteRange(k, mm, v.start / ps, v.end / ps);
    mm.vmas.remove(v);
    if (k.tracing) k.emit({ type: 'vma_remove', start: v.start, end: v.end });
    vmUnacct(k, v.flags, (v.end - v.start) / ps);
    vmaRelease(k, v);
    v = after;
  } while (v !== null && v.start < end);
  // With no VMA above, there is no ceiling: tables spanning past TASK_SIZE may go too.
  const ceiling = after?.start ?? Infinity;
  dropGuards(mm, start / ps, end / ps);
  freePgtables(k, mm.pgd, start / ps, end / ps, floor / ps, ceiling / ps, mm.divisors, mm.indexMask, mm.unchargePgtables);
  mm.pgtablesChanged();
  return 0;
}
