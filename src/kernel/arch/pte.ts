/**
 * Page-table entry bits. The model stores each PTE as a frame number plus a
 * small software bit set (below); `encodePte` renders it in the hardware
 * layout of the profile (arch/x86/include/asm/pgtable_types.h,
 * arch/arm64/include/asm/pgtable-hwdef.h and pgtable-prot.h) for display.
 *
 * Bit layout of the software flags (one byte per entry):
 *   bit 0  PRESENT   pte_present(): the entry maps a frame
 *   bit 1  WRITE     the hardware may write through it (pte_write)
 *   bit 2  USER      user-mode access allowed
 *   bit 3  ACCESSED  set by the MMU on any access through it (pte_young)
 *   bit 4  DIRTY     set by the MMU on a write through it (pte_dirty)
 *   bit 5  NX        no instruction fetch
 *   bit 6  SPECIAL   pte_special(): maps the shared zero page, no refcount
 *   bit 7  PROTNONE  present for the kernel, inaccessible to the MMU (PROT_NONE)
 * Read:  (flags & PTE_WRITE) !== 0.   Write: flags | PTE_DIRTY.
 */
import type { ArchProfile } from './profile.js';

export const PTE_PRESENT = 1 << 0;
export const PTE_WRITE = 1 << 1;
export const PTE_USER = 1 << 2;
export const PTE_ACCESSED = 1 << 3;
export const PTE_DIRTY = 1 << 4;
export const PTE_NX = 1 << 5;
export const PTE_SPECIAL = 1 << 6;
export const PTE_PROTNONE = 1 << 7;

/** Render one leaf entry in the architecture's hardware layout, as a 64-bit value. */
export function encodePte(arch: ArchProfile, pfn: number, flags: number): bigint {
  if ((flags & PTE_PRESENT) === 0) return 0n;
  const addr = BigInt(pfn) << BigInt(arch.pageShift);
  const protnone = (flags & PTE_PROTNONE) !== 0;
  if (arch.pteFormat === 'x86') {
    // _PAGE_PRESENT 0, _PAGE_RW 1, _PAGE_USER 2, _PAGE_ACCESSED 5, _PAGE_DIRTY 6,
    // _PAGE_PROTNONE 8 (aliases _PAGE_GLOBAL), _PAGE_SPECIAL 9, _PAGE_NX 63.
    let v = addr;
    if (!protnone) v |= 1n;
    else v |= 1n << 8n;
    if (flags & PTE_WRITE) v |= 1n << 1n;
    if (flags & PTE_USER) v |= 1n << 2n;
    if (flags & PTE_ACCESSED) v |= 1n << 5n;
    if (flags & PTE_DIRTY) v |= 1n << 6n;
    if (flags & PTE_SPECIAL) v |= 1n << 9n;
    if (flags & PTE_NX) v |= 1n << 63n;
    return v;
  }
  // arm64 (pgtable-hwdef.h, pgtable-prot.h as of 6.10+): PTE_VALID 0, PTE_TYPE_PAGE bit 1,
  // AttrIndx(MT_NORMAL) 2-4 = 0, PTE_USER (AP[1]) 6, PTE_RDONLY (AP[2]) 7, PTE_SHARED 8-9
  // (inner shareable, 3), PTE_AF 10, PTE_NG 11, PTE_DBM 51 (= PTE_WRITE), PTE_PXN 53,
  // PTE_UXN 54, PTE_DIRTY (software) 55, PTE_SPECIAL (software) 56. User protections are
  // PAGE_READONLY/PAGE_SHARED...: always nG and PXN. PROT_NONE is PAGE_NONE: the valid bit
  // clear, PTE_PRESENT_INVALID (= PTE_NG, "only when !PTE_VALID") set, RDONLY, PXN and UXN.
  let v = addr | (1n << 1n) | (3n << 8n) | (1n << 11n) | (1n << 53n);
  if (!protnone) v |= 1n;
  else v |= 1n << 54n;
  if (flags & PTE_USER) v |= 1n << 6n;
  if (flags & PTE_WRITE) v |= 1n << 51n;
  // Hardware dirty is DBM with AP[2] clear: a clean writable page keeps PTE_RDONLY until
  // written; pte_mkdirty() sets PTE_DIRTY and clears PTE_RDONLY of a writable entry.
  // Deviation: one dirty bit in the model, so a page the MMU dirtied through DBM (which
  // clears only PTE_RDONLY) shows PTE_DIRTY too.
  if (!(flags & PTE_WRITE) || !(flags & PTE_DIRTY)) v |= 1n << 7n;
  if (flags & PTE_DIRTY) v |= 1n << 55n;
  if (flags & PTE_ACCESSED) v |= 1n << 10n;
  if (flags & PTE_SPECIAL) v |= 1n << 56n;
  if (flags & PTE_NX) v |= 1n << 54n;
  return v;
}

/** Names of the set software bits, for traces and the page-walk view. */
export function pteFlagNames(flags: number): string[] {
  const names: string[] = [];
  if (flags & PTE_PRESENT) names.push('present');
  if (flags & PTE_WRITE) names.push('write');
  if (flags & PTE_USER) names.push('user');
  if (flags & PTE_ACCESSED) names.push('accessed');
  if (flags & PTE_DIRTY) names.push('dirty');
  if (flags & PTE_NX) names.push('nx');
  if (flags & PTE_SPECIAL) names.push('special');
  if (flags & PTE_PROTNONE) names.push('protnone');
  return names;
}
