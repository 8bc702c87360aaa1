/**
 * Guard regions: MADV_GUARD_INSTALL and MADV_GUARD_REMOVE (mm/madvise.c,
 * Linux 6.13+; file-backed mappings since 6.15).
 *
 * Installing zaps the range and leaves a guard marker in each PTE: any access
 * then gets SIGSEGV (SEGV_MAPERR) although the VMA stays, and the faults are
 * not counted. Markers survive MADV_DONTNEED/MADV_FREE, mprotect and fork
 * (copy_page_range() copies them: installing prepares an anon_vma so the
 * VMA's tables are copied), move with mremap, and go with munmap. Removing
 * them leaves ordinary empty PTEs, so the next access faults in a fresh page.
 * A fault populating a guarded page (mlock, MAP_POPULATE, MADV_POPULATE_*)
 * fails as an access would, and fault-around skips it.
 *
 * Deviation: Linux keeps a guard as a non-present PTE value
 * (PTE_MARKER_GUARD); the model keeps the guarded page numbers in a set per
 * mm beside the page table, null while there are none, so the fault path
 * pays one null test. The PTE under a guard is pte_none. Installing
 * allocates the page tables of the range as the marker's installation does,
 * and a table holding guards is not reclaimed by MADV_DONTNEED.
 */
import type { Kernel } from '../kernel.js';
import type { KRet } from './mmap.js';
import { anonVmaPrepare } from './memory.js';
import type { MmStruct } from './mm-struct.js';
import { pteAlloc } from './pgtable.js';
import { zapPteRange } from './pte-ops.js';
import type { Vma } from './vma.js';
import { VM_HUGETLB, VM_LOCKED } from './vm-flags.js';
import { VM_SPECIAL } from './vma-ops.js';

/** is_valid_guard_vma(): not special, not hugetlb, and (to install) not mlocked. */
function isValidGuardVma(vma: Vma, allowLocked: boolean): boolean {
  const disallowed = VM_SPECIAL | VM_HUGETLB | (allowLocked ? 0 : VM_LOCKED);
  return (vma.flags & disallowed) === 0;
}

/** True when page vpn of mm carries a guard marker (is_guard_pte_marker()). */
export function isGuarded(mm: MmStruct, vpn: number): boolean {
  return mm.guards !== null && mm.guards.has(vpn);
}

/** True when any page of [startVpn, endVpn) carries a guard marker. */
export function anyGuarded(mm: MmStruct, startVpn: number, endVpn: number): boolean {
  const g = mm.guards;
  if (g === null) return false;
  if (endVpn - startVpn <= g.size) {
    for (let v = startVpn; v < endVpn; v++) if (g.has(v)) return true;
    return false;
  }
  for (const v of g) if (v >= startVpn && v < endVpn) return true;
  return false;
}

/** madvise_guard_install() for [start, end) of one VMA. */
export function madviseGuardInstall(k: Kernel, mm: MmStruct, vma: Vma, start: number, end: number): KRet {
  if (!isValidGuardVma(vma, false)) return 'EINVAL';
  // "If anonymous and we are establishing page tables the VMA ought to have
  // an anon_vma": it also makes fork copy this VMA's page tables (markers).
  anonVmaPrepare(k, vma);
  const ps = mm.pageSize;
  const s = start / ps;
  const e = end / ps;
  // Zap what is mapped (existing markers stay), then install a marker per page.
  zapPteRange(k, mm, s, e);
  for (let vpn = s; vpn < e; vpn++) {
    if (pteAlloc(k, mm.pgd, vpn, mm.divisors, mm.indexMask, mm.chargePgtables) === null) return 'ENOMEM';
    (mm.guards ??= new Set()).add(vpn);
  }
  if (k.tracing) k.emit({ type: 'guard', op: 'install', start, end });
  return 0;
}

/** madvise_guard_remove() for [start, end) of one VMA: clear the markers. */
export function madviseGuardRemove(k: Kernel, mm: MmStruct, vma: Vma, start: number, end: number): KRet {
  if (!isValidGuardVma(vma, true)) return 'EINVAL';
  const ps = mm.pageSize;
  dropGuards(mm, start / ps, end / ps);
  if (k.tracing) k.emit({ type: 'guard', op: 'remove', start, end });
  return 0;
}

/** The markers of [startVpn, endVpn) go (munmap, guard removal). */
export function dropGuards(mm: MmStruct, startVpn: number, endVpn: number): void {
  const g = mm.guards;
  if (g === null) return;
  if (endVpn - startVpn <= g.size) {
    for (let v = startVpn; v < endVpn; v++) g.delete(v);
  } else {
    for (const v of g) if (v >= startVpn && v < endVpn) g.delete(v);
  }
  if (g.size === 0) mm.guards = null;
}

/** move_ptes() carries markers: those of [oldVpn, oldVpn + n) move to newVpn (their tables allocated). */
export function moveGuards(k: Kernel, mm: MmStruct, oldVpn: number, newVpn: number, n: number): void {
  const g = mm.guards;
  if (g === null) return;
  const moved: number[] = [];
  for (const v of g) if (v >= oldVpn && v < oldVpn + n) moved.push(v);
  for (const v of moved) g.delete(v);
  for (const v of moved) {
    const to = v - oldVpn + newVpn;
    if (pteAlloc(k, mm.pgd, to, mm.divisors, mm.indexMask, mm.chargePgtables) !== null) g.add(to);
  }
  if (g.size === 0) mm.guards = null;
}

/** copy_nonpresent_pte(): fork copies the markers of [startVpn, endVpn) into the child's tables. */
export function copyGuards(k: Kernel, dst: MmStruct, src: MmStruct, startVpn: number, endVpn: number): boolean {
  const g = src.guards;
  if (g === null) return true;
  for (const v of g) {
    if (v < startVpn || v >= endVpn) continue;
    if (pteAlloc(k, dst.pgd, v, dst.divisors, dst.indexMask, dst.chargePgtables) === null) return false;
    (dst.guards ??= new Set()).add(v);
  }
  return true;
}
