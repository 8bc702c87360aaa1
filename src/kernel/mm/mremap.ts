/**
 * mremap(2) (mm/mremap.c): shrink a mapping in place, grow it in place when
 * the range after it is free, or move it (MREMAP_MAYMOVE, MREMAP_FIXED,
 * MREMAP_DONTUNMAP) by copying the VMA and moving its page-table entries, so
 * the pages, their COW state and their dirty bits travel with the mapping.
 *
 * The checks run in do_mremap()'s order: check_mremap_params(), the early
 * map-count check, then per VMA check_prep_vma(), then mremap_to() or
 * mremap_at(). A fixed move of equal length may span several VMAs
 * (remap_move(), Linux 6.17+); anything else must lie in one VMA (EFAULT).
 */
import { moveGuards } from './guard.js';
import type { Kernel } from '../kernel.js';
import type { Task } from '../sched.js';
import { MAP_FIXED, MAP_SHARED, MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE } from '../uapi.js';
import { addLockedVmStale } from './mlock.js';
import type { MmStruct } from './mm-struct.js';
import { getUnmappedArea, isErr, type KRet, mayExpandVm, mlockFutureOk, populateRange, u64, vmEnoughMemory } from './mmap.js';
import { pteAlloc, pteLookup } from './pgtable.js';
import { moveHugePmdRange } from './huge-memory.js';
import type { AnonVma } from './rmap.js';
import { Vma } from './vma.js';
import { doVmiAlignMunmap, fileGet, vmaLink, vmaRelease, VM_SPECIAL } from './vma-ops.js';
import { isVmHugetlbPage, vmaKernelPagesize } from './hugetlb.js';
import { VM_ACCOUNT, VM_DONTEXPAND, VM_IGNORE_MERGE, VM_LOCKED, VM_LOCKED_MASK, VM_MAYSHARE, VM_PFNMAP, VM_SHARED } from './vm-flags.js';

const U64 = (1n << 64n) - 1n;

/** struct vma_remap_struct: the state of one mremap() as it is worked out. */
interface Vrm {
  addr: number;
  oldLen: number;
  newLen: number;
  flags: number;
  newAddr: number;
  vma: Vma | null;
  delta: number;
  type: 'none' | 'shrink' | 'expand';
  charged: number;
  populateExpand: boolean;
}

function impliesNewAddr(vrm: Vrm): boolean {
  return (vrm.flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0;
}

/** vrm_set_delta() + vrm_remap_type() */
function setDeltaAndType(vrm: Vrm): void {
  vrm.delta = Math.abs(vrm.newLen - vrm.oldLen);
  vrm.type = vrm.delta === 0 ? 'none' : vrm.oldLen > vrm.newLen ? 'shrink' : 'expand';
}

/**
 * align_hugetlb(): both lengths rounded up to whole huge pages; the address
 * (and a new address the call asks for) huge-page aligned; no growing.
 * Deviation: Linux reads new_addr here even without MREMAP_FIXED, yet a
 * garbage unaligned new_addr then does not fail on Linux 6.18 (measured); the
 * model checks it only when the call moves to it.
 */
function alignHugetlb(vrm: Vrm, hs: number): boolean {
  vrm.oldLen = Math.ceil(vrm.oldLen / hs) * hs;
  vrm.newLen = Math.ceil(vrm.newLen / hs) * hs;
  if (vrm.addr % hs !== 0) return false;
  if (impliesNewAddr(vrm) && vrm.newAddr % hs !== 0) return false;
  return vrm.newLen <= vrm.oldLen;
}

/**
 * check_prep_vma(): may this VMA be resized or moved as asked? Sets delta,
 * type and (for an in-place resize) newAddr.
 */
function checkPrepVma(k: Kernel, mm: MmStruct, vrm: Vrm): KRet {
  const vma = vrm.vma;
  if (vma === null) return 'EFAULT';
  if (isVmHugetlbPage(vma) && !alignHugetlb(vrm, vmaKernelPagesize(vma, mm.pageSize))) return 'EINVAL';
  setDeltaAndType(vrm);
  if (!impliesNewAddr(vrm)) vrm.newAddr = vrm.addr;
  // vrm_will_map_new()
  if (vrm.type !== 'expand' && !impliesNewAddr(vrm)) return 0;
  let oldLen = vrm.oldLen;
  const newLen = vrm.newLen;
  // Duplicating a private mapping with old_len == 0 is refused.
  if (oldLen === 0 && (vma.flags & (VM_SHARED | VM_MAYSHARE)) === 0) return 'EINVAL';
  if (vrm.flags & MREMAP_DONTUNMAP && vma.flags & (VM_DONTEXPAND | VM_PFNMAP)) return 'EINVAL';
  // Crossing VMA boundaries is allowed for the part a shrink unmaps.
  if (vrm.type === 'shrink') oldLen = newLen;
  if (oldLen > vma.end - vrm.addr) return 'EFAULT';
  if (newLen === oldLen) return 0;
  if (vma.flags & VM_LOCKED) vrm.populateExpand = true;
  // The pgoff overflow check cannot trigger with page offsets below 2^52.
  if (vma.flags & (VM_DONTEXPAND | VM_PFNMAP)) return 'EFAULT';
  if (!mlockFutureOk(k, mm, vma.flags & VM_LOCKED, vrm.delta)) return 'EAGAIN';
  if (!mayExpandVm(k, mm, vma.flags, vrm.delta / mm.pageSize)) return 'ENOMEM';
  return 0;
}

/** vrm_calc_charge(): charge the commit limit for what the new range adds. */
function vrmCalcCharge(k: Kernel, mm: MmStruct, vrm: Vrm): boolean {
  if ((vrm.vma!.flags & VM_ACCOUNT) === 0) return true;
  const charged = (vrm.flags & MREMAP_DONTUNMAP ? vrm.newLen : vrm.delta) / mm.pageSize;
  if (!vmEnoughMemory(k, mm, charged)) return false;
  k.committedPages += charged;
  vrm.charged = charged;
  return true;
}

function vrmUncharge(k: Kernel, vrm: Vrm): void {
  k.committedPages -= vrm.charged;
  vrm.charged = 0;
}

/** is_mergeable_vma() plus is_mergeable_anon_vma() for a range carrying `anonVma`. */
function canMergeWith(v: Vma, src: Vma, anonVma: AnonVma | null): boolean {
  if (((v.flags ^ src.flags) & ~VM_IGNORE_MERGE) !== 0) return false;
  if (v.file !== src.file || v.anonName !== src.anonName || v.specialName !== null) return false;
  if (v.anonFile !== null || src.anonFile !== null) return false;
  if ((src.flags & VM_SPECIAL) !== 0) return false;
  return v.anonVma === null || anonVma === null || v.anonVma === anonVma;
}

/**
 * vma_merge_new_range() as copy_vma() calls it: extend a neighbour of
 * [start, end) over it when flags, file, offsets and anon_vma agree.
 * Returns the VMA covering the range, or null.
 */
function mergeNewRange(mm: MmStruct, start: number, end: number, pgoff: number, src: Vma): Vma | null {
  const ps = mm.pageSize;
  const prev = mm.vmas.findPrev(start);
  const next = prev === null ? mm.vmas.first : prev.next;
  const anon = src.anonVma;
  const left = prev !== null && prev.end === start && canMergeWith(prev, src, anon) && prev.pgoff + (prev.end - prev.start) / ps === pgoff;
  let right = next !== null && next.start === end && canMergeWith(next, src, anon) && pgoff + (end - start) / ps === next.pgoff;
  if (left && right && prev!.anonVma !== null && next!.anonVma !== null && prev!.anonVma !== next!.anonVma) right = false;
  const adopt = (target: Vma, av: AnonVma | null): void => {
    if (target.anonVma === null && av !== null) {
      target.anonVma = av;
      av.refs++;
    }
  };
  if (left) {
    const p = prev!;
    adopt(p, anon);
    if (right) {
      const n = next!;
      adopt(p, n.anonVma);
      const newEnd = n.end;
      mm.vmas.remove(n);
      vmaRelease(mm.k, n);
      mm.vmas.adjust(p, p.start, newEnd);
    } else {
      mm.vmas.adjust(p, p.start, end);
    }
    if (mm.k.tracing) mm.k.emit({ type: 'vma_merge', start: p.start, end: p.end });
    return p;
  }
  if (right) {
    const n = next!;
    adopt(n, anon);
    mm.vmas.adjust(n, start, n.end);
    n.pgoff = pgoff;
    if (mm.k.tracing) mm.k.emit({ type: 'vma_merge', start: n.start, end: n.end });
    return n;
  }
  return null;
}

/**
 * copy_vma(): a VMA for [addr, addr + len) with the attributes of `vma`,
 * merged with a neighbour when possible. An anonymous VMA that never had a
 * page (no anon_vma) takes the pgoff of its new address, as Linux does to
 * help it merge.
 */
export function copyVma(mm: MmStruct, vma: Vma, addr: number, len: number, pgoff: number): Vma {
  if (vma.isAnonymous && vma.anonVma === null) pgoff = addr / mm.pageSize;
  const merged = mergeNewRange(mm, addr, addr + len, pgoff, vma);
  if (merged !== null) return merged;
  const fresh = new Vma(addr, addr + len, vma.flags, pgoff, vma.file, vma.anonVma);
  fresh.anonName = vma.anonName;
  fresh.specialName = vma.specialName;
  fresh.anonFile = vma.anonFile;
  if (fresh.file !== null) fileGet(fresh.file);
  if (fresh.anonFile !== null) fileGet(fresh.anonFile);
  if (fresh.anonVma !== null) fresh.anonVma.refs++;
  vmaLink(mm, fresh);
  return fresh;
}

/**
 * move_page_tables() -> move_ptes(): move every entry of [oldAddr, oldAddr + len)
 * to the same offset from newAddr, with its frame, dirty and accessed bits;
 * map counts and RSS do not change. Returns the bytes moved (less than len
 * only when a page table could not be allocated).
 */
export function movePageTables(k: Kernel, mm: MmStruct, oldAddr: number, newAddr: number, len: number): number {
  const ps = mm.pageSize;
  const oldVpn = oldAddr / ps;
  const newVpn = newAddr / ps;
  const n = len / ps;
  const span = mm.indexMask + 1;
  let moved = false;
  // move_huge_pmd() for huge PMDs that move whole to an aligned place, a split for the rest.
  if (mm.nrHugePmds > 0 && !moveHugePmdRange(k, mm, oldVpn, newVpn, n)) return 0;
  moveGuards(k, mm, oldVpn, newVpn, n);
  for (let i = 0; i < n; i++) {
    const vpn = oldVpn + i;
    const t = pteLookup(mm.pgd, vpn, mm.divisors, mm.indexMask);
    if (t === null) {
      // Skip to the next leaf table.
      i = (Math.floor(vpn / span) + 1) * span - 1 - oldVpn;
      continue;
    }
    const idx = vpn & mm.indexMask;
    const fl = t.flags![idx]!;
    if (fl === 0) continue;
    const dt = pteAlloc(k, mm.pgd, newVpn + i, mm.divisors, mm.indexMask, (b) => (mm.pgtablesBytes += b));
    if (dt === null) {
      if (moved) mm.flushTlbRange(oldVpn, oldVpn + n);
      return i * ps;
    }
    const pfn = t.pfns![idx]!;
    t.flags![idx] = 0;
    t.pfns![idx] = 0;
    t.used--;
    const di = (newVpn + i) & mm.indexMask;
    if (dt.flags![di] === 0) dt.used++;
    dt.pfns![di] = pfn;
    dt.flags![di] = fl;
    moved = true;
    if (k.tracing) k.emit({ type: 'pte_clear', addr: vpn * ps, pfn });
  }
  if (moved) mm.flushTlbRange(oldVpn, oldVpn + n);
  return len;
}

/**
 * unmap_source_vma(): unmap the old range after a move without giving back
 * its commit charge (the new VMA carries it now): VM_ACCOUNT is hidden
 * during the unmap and restored on what is left on either side.
 */
function unmapSourceVma(k: Kernel, mm: MmStruct, vrm: Vrm): void {
  const vma = vrm.vma!;
  const addr = vrm.addr;
  const end = addr + vrm.oldLen;
  if (vrm.oldLen === 0) return; // do_vmi_munmap() refuses an empty range: the source stays.
  const accountable = (vma.flags & VM_ACCOUNT) !== 0 && (vrm.flags & MREMAP_DONTUNMAP) === 0;
  const vmStart = vma.start;
  const vmEnd = vma.end;
  if (accountable) vma.flags &= ~VM_ACCOUNT;
  const err = doVmiAlignMunmap(k, mm, addr, end);
  if (err !== 0) {
    // OOM: unable to split the VMA; put the flag back so the accounting stays right.
    if (accountable) vma.flags |= VM_ACCOUNT;
    return;
  }
  if (accountable) {
    if (vmStart < addr) {
      const prev = mm.vmas.findPrev(addr);
      if (prev !== null) prev.flags |= VM_ACCOUNT;
    }
    if (vmEnd > end) {
      const next = mm.vmas.find(end);
      if (next !== null) next.flags |= VM_ACCOUNT;
    }
  }
}

/**
 * dontunmap_complete(): the old VMA stays, its range now empty, and is no
 * longer locked; moved as a whole, it lets go of its anon_vma.
 */
function dontunmapComplete(mm: MmStruct, vrm: Vrm, newVma: Vma): void {
  const vma = mm.vmas.lookup(vrm.addr);
  if (vma === null) return;
  // locked_vm keeps the whole old VMA although it is no longer locked.
  if (vma.flags & VM_LOCKED) addLockedVmStale(mm, (vma.end - vma.start) / mm.pageSize);
  vma.flags &= ~VM_LOCKED_MASK;
  if (vma !== newVma && vma.start === vrm.addr && vma.end === vrm.addr + vrm.oldLen && vma.anonVma !== null) {
    // unlink_anon_vmas()
    vma.anonVma.refs--;
    vma.anonVma = null;
  }
}

/** move_vma(): copy the VMA to newAddr, move its page tables, then unmap (or keep) the source. */
function moveVma(k: Kernel, mm: MmStruct, vrm: Vrm): KRet {
  // prep_move_vma() -> check_map_count_against_split()
  if (mm.mapCount + 2 > k.settings.maxMapCount) return 'ENOMEM';
  const src = vrm.vma!;
  // vm_ops->may_split(): the kernel's special mappings (special_mapping_split()) move whole or not at all.
  if (src.specialName !== null && (src.start !== vrm.addr || src.end !== vrm.addr + vrm.oldLen)) return 'EINVAL';
  if (!vrmCalcCharge(k, mm, vrm)) return 'ENOMEM';
  const pgoff = src.pgoff + (vrm.addr - src.start) / mm.pageSize;
  const hiwater = mm.hiwaterVm;
  const newVma = copyVma(mm, src, vrm.newAddr, vrm.newLen, pgoff);
  // copy_vma() may have merged the source into the new VMA: look it up again.
  vrm.vma = mm.vmas.lookup(vrm.addr);
  const moved = movePageTables(k, mm, vrm.addr, vrm.newAddr, vrm.oldLen);
  let err: KRet = 0;
  if (moved < vrm.oldLen) {
    // Move back what was moved and unmap the new VMA instead of the old.
    movePageTables(k, mm, vrm.newAddr, vrm.addr, moved);
    err = 'ENOMEM';
    vrm.vma = newVma;
    vrm.oldLen = vrm.newLen;
    vrm.addr = vrm.newAddr;
  }
  if (err === 0 && vrm.flags & MREMAP_DONTUNMAP) dontunmapComplete(mm, vrm, newVma);
  else unmapSourceVma(k, mm, vrm);
  mm.hiwaterVm = hiwater;
  return isErr(err) ? err : vrm.newAddr;
}

/** vrm_set_new_addr(): where the moved mapping goes (get_unmapped_area() with the VMA's file). */
function vrmSetNewAddr(k: Kernel, mm: MmStruct, vrm: Vrm): KRet {
  const vma = vrm.vma!;
  const pgoff = vma.pgoff + (vrm.addr - vma.start) / mm.pageSize;
  const hint = impliesNewAddr(vrm) ? vrm.newAddr : 0;
  let mapFlags = 0;
  if (vrm.flags & MREMAP_FIXED) mapFlags |= MAP_FIXED;
  if (vma.flags & VM_MAYSHARE) mapFlags |= MAP_SHARED;
  // Deviation: an anonymous mapping is THP-aligned as for a fresh mmap, not
  // congruent with its pgoff as thp_get_unmapped_area() would place it.
  const r = getUnmappedArea(k, mm, vma.file, hint, vrm.newLen, pgoff, mapFlags);
  if (isErr(r)) return r;
  vrm.newAddr = r;
  return 0;
}

/** shrink_vma(): unmap [addr + newLen, addr + oldLen). */
function shrinkVma(k: Kernel, mm: MmStruct, vrm: Vrm, reload: boolean): KRet {
  const start = vrm.addr + vrm.newLen;
  // do_vmi_munmap() rejects a range running past user space.
  if (start > mm.taskSize || vrm.oldLen - vrm.newLen > mm.taskSize - start) return 'EINVAL';
  const r = doVmiAlignMunmap(k, mm, start, vrm.addr + vrm.oldLen);
  vrm.vma = null;
  if (r !== 0) return r;
  if (reload) {
    vrm.vma = mm.vmas.lookup(vrm.addr);
    if (vrm.vma === null) return 'EFAULT';
  }
  return 0;
}

/** mremap_to(): move to newAddr (MREMAP_FIXED: unmapping whatever is there first). */
function mremapTo(k: Kernel, mm: MmStruct, vrm: Vrm): KRet {
  if (vrm.flags & MREMAP_FIXED) {
    const r = doVmiAlignMunmap(k, mm, vrm.newAddr, vrm.newAddr + vrm.newLen);
    vrm.vma = null;
    if (r !== 0) return r;
    vrm.vma = mm.vmas.lookup(vrm.addr);
    if (vrm.vma === null) return 'EFAULT';
  }
  if (vrm.type === 'shrink') {
    const r = shrinkVma(k, mm, vrm, true);
    if (r !== 0) return r;
    vrm.oldLen = vrm.newLen;
    // Deviation: Linux leaves vrm->delta as it was, so vrm_calc_charge() charges the
    // pages just unmapped a second time and Committed_AS keeps them for good; the
    // model charges nothing for the move, keeping committed equal to its VM_ACCOUNT VMAs.
    vrm.delta = 0;
  }
  if (vrm.flags & MREMAP_DONTUNMAP && !mayExpandVm(k, mm, vrm.vma!.flags, vrm.oldLen / mm.pageSize)) return 'ENOMEM';
  const r = vrmSetNewAddr(k, mm, vrm);
  if (r !== 0) return r;
  return moveVma(k, mm, vrm);
}

/** vma_expandable(): is [vma.end, vma.end + delta) free and inside user space? */
function vmaExpandable(k: Kernel, mm: MmStruct, vma: Vma, delta: number): boolean {
  const end = vma.end + delta;
  if (mm.vmas.findIntersection(vma.end, end) !== null) return false;
  const r = getUnmappedArea(k, mm, null, vma.start, end - vma.start, 0, MAP_FIXED);
  return !isErr(r);
}

/** expand_vma(): grow in place when the end of the VMA is free, else move (MREMAP_MAYMOVE). */
function expandVma(k: Kernel, mm: MmStruct, vrm: Vrm): KRet {
  const vma = vrm.vma!;
  if (vma.end - vrm.addr === vrm.oldLen && vmaExpandable(k, mm, vma, vrm.delta)) {
    // expand_vma_in_place() -> vma_merge_extend()
    if (!vrmCalcCharge(k, mm, vrm)) return 'ENOMEM';
    const pgoff = vma.pgoff + (vma.end - vma.start) / mm.pageSize;
    const grown = mergeNewRange(mm, vma.end, vma.end + vrm.delta, pgoff, vma);
    if (grown === null) {
      vrmUncharge(k, vrm);
      return 'ENOMEM';
    }
    vrm.vma = grown;
    return vrm.addr;
  }
  if ((vrm.flags & MREMAP_MAYMOVE) === 0) return 'ENOMEM';
  const r = vrmSetNewAddr(k, mm, vrm);
  if (r !== 0) return r;
  return moveVma(k, mm, vrm);
}

/** mremap_at(): resize without a requested address. */
function mremapAt(k: Kernel, mm: MmStruct, vrm: Vrm): KRet {
  switch (vrm.type) {
    case 'none':
      return vrm.addr;
    case 'shrink': {
      const r = shrinkVma(k, mm, vrm, false);
      return r !== 0 ? r : vrm.addr;
    }
    default:
      return expandVma(k, mm, vrm);
  }
}

/**
 * vma_multi_allowed(): a VMA may take part in a move of several VMAs unless
 * its file has its own get_unmapped_area() that MREMAP_FIXED might not obey.
 * ext4 files use thp_get_unmapped_area() and shmem is known good; a private
 * /dev/zero mapping keeps /dev/zero as its file, whose get_unmapped_area_zero()
 * is neither (a shared one's file is shmem). No userfaultfd here.
 */
function vmaMultiAllowed(vma: Vma): boolean {
  return vma.anonFile === null;
}

/**
 * remap_move(): a fixed move of equal length, which may span several VMAs;
 * each is moved keeping the gaps between them. A hole at the start is EFAULT.
 */
function remapMove(k: Kernel, mm: MmStruct, vrm: Vrm): KRet {
  const start = vrm.addr;
  const end = vrm.addr + vrm.oldLen;
  let targetAddr = vrm.newAddr;
  let res: KRet = 'EFAULT';
  let seen = false;
  let lastEnd = 0;
  let cursor = start;
  for (;;) {
    const vma = mm.vmas.find(cursor);
    if (vma === null || vma.start >= end) break;
    const addr = Math.max(vma.start, start);
    const len = Math.min(end, vma.end) - addr;
    if (!seen && start < vma.start) return 'EFAULT';
    // vma_multi_allowed(): only where MREMAP_FIXED is sure to be obeyed; the first
    // VMA may still move alone when it covers the whole range.
    if (!vmaMultiAllowed(vma) && (seen || vma.end < end)) return 'EFAULT';
    const offset = seen ? vma.start - lastEnd : 0;
    lastEnd = vma.end;
    const sub: Vrm = { ...vrm, vma, addr, newAddr: targetAddr + offset, oldLen: len, newLen: len, charged: 0, populateExpand: false };
    let r = checkPrepVma(k, mm, sub);
    if (r === 0) r = mremapTo(k, mm, sub);
    if (isErr(r)) return r;
    if (!seen) res = r;
    seen = true;
    targetAddr = r + len;
    // The iterator goes on after the VMA as it was found (mas_pause(): index = last + 1),
    // so a VMA that stays where it was (MREMAP_DONTUNMAP) is not visited twice.
    cursor = lastEnd;
  }
  return res;
}

/** sys_mremap() -> do_mremap(). Returns the mapping's (new) address or an errno. */
export function sysMremap(k: Kernel, task: Task, addrArg: bigint, oldLenArg: bigint, newLenArg: bigint, flagsArg: bigint, newAddrArg: bigint): KRet {
  const mm = task.mm;
  const ps = BigInt(mm.pageSize);
  const pageMask = ps - 1n;
  const taskSize = BigInt(mm.taskSize);
  const addr = u64(addrArg);
  const flags64 = u64(flagsArg);
  const newAddr = u64(newAddrArg);
  // PAGE_ALIGN() wraps a length near 2^64 to 0.
  const oldLen = (u64(oldLenArg) + pageMask) & ~pageMask & U64;
  const newLen = (u64(newLenArg) + pageMask) & ~pageMask & U64;
  // check_mremap_params()
  if ((flags64 & ~BigInt(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP)) !== 0n) return 'EINVAL';
  const flags = Number(flags64);
  if (addr & pageMask) return 'EINVAL';
  if (newLen === 0n) return 'EINVAL';
  if (newLen > taskSize) return 'EINVAL';
  if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
    if (newAddr > taskSize - newLen) return 'EINVAL';
    if (newAddr & pageMask) return 'EINVAL';
    if ((flags & MREMAP_MAYMOVE) === 0) return 'EINVAL';
    if (flags & MREMAP_DONTUNMAP && oldLen !== newLen) return 'EINVAL';
    // vrm_overlaps()
    if (addr + oldLen > newAddr && newAddr + newLen > addr) return 'EINVAL';
  }
  // check_map_count_against_split_early(): room for two splits before and two during the move.
  if (mm.mapCount + 4 > k.settings.maxMapCount) return 'ENOMEM';
  // Past user space there is no VMA; lengths beyond it cannot fit in one.
  const inUser = addr < taskSize;
  const vrm: Vrm = {
    addr: inUser ? Number(addr) : mm.taskSize,
    oldLen: oldLen > taskSize ? Number(taskSize) + mm.pageSize : Number(oldLen),
    newLen: Number(newLen),
    flags,
    newAddr: Number(newAddr),
    vma: null,
    delta: 0,
    type: 'none',
    charged: 0,
    populateExpand: false,
  };
  let res: KRet;
  if (flags & MREMAP_FIXED && oldLen === newLen) {
    res = remapMove(k, mm, vrm);
  } else {
    vrm.vma = inUser ? mm.vmas.lookup(vrm.addr) : null;
    res = checkPrepVma(k, mm, vrm);
    if (res === 0) {
      res = impliesNewAddr(vrm) ? mremapTo(k, mm, vrm) : mremapAt(k, mm, vrm);
    }
  }
  if (isErr(res)) return res;
  // A locked mapping that grew is populated (mm_populate() of the new part).
  if (vrm.populateExpand) {
    const from = vrm.newAddr + vrm.oldLen;
    populateRange(k, task, from, from + vrm.delta);
  }
  return res;
}
