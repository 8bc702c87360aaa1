/**
 * Operations on leaf page-table entries shared by the fault, unmap,
 * protection and writeback paths: installing an entry (set_pte_at()),
 * zapping a range (mm/memory.c:zap_pte_range()), write-protecting a
 * file page everywhere it is mapped (mm/rmap.c:folio_mkclean()) and
 * unmapping a file range from every mapping (unmap_mapping_range()).
 */
import type { Kernel } from '../kernel.js';
import { PTE_DIRTY, PTE_PRESENT, PTE_SPECIAL, PTE_WRITE, pteFlagNames } from '../arch/pte.js';
import { type AddressSpace, folioOf } from './filemap.js';
import type { MmStruct } from './mm-struct.js';
import { PG_anon, PG_dirty, PG_swapbacked } from './page-alloc.js';
import { pteLookup, type PageTable } from './pgtable.js';
import { folioRemoveRmap } from './rmap.js';
import { zapHugePmdRange } from './huge-memory.js';
import type { Vma } from './vma.js';
import { VM_SHARED } from './vm-flags.js';

/** Install a PTE in an allocated leaf table (set_pte_at()). */
export function setPte(k: Kernel, mm: MmStruct, t: PageTable, vpn: number, pfn: number, flags: number): void {
  const i = vpn & mm.indexMask;
  if (t.flags![i] === 0) t.used++;
  t.pfns![i] = pfn;
  t.flags![i] = flags;
  if (k.tracing) k.emit({ type: 'pte_install', addr: vpn * mm.pageSize, pfn, flags: pteFlagNames(flags), level: k.arch.levels - 1 });
}

/** folio_mark_dirty(): a file or shmem page becomes dirty. */
export function folioMarkDirty(k: Kernel, pfn: number): void {
  const p = k.phys;
  const f = p.flags[pfn]!;
  if (f & PG_dirty) return;
  p.flags[pfn] = f | PG_dirty;
  // Anonymous and shmem pages are swap-backed: not counted as file dirty pages.
  if (f & (PG_anon | PG_swapbacked)) return;
  const as = k.owners[p.mapping[pfn]!] as AddressSpace | undefined;
  if (as === undefined) return;
  as.nrDirty++;
  // A large folio is dirty as a whole: every page of it.
  const { head, nr } = folioOf(as, p.index[pfn]!);
  for (let i = head; i < head + nr; i++) {
    const q = as.pages.get(i)!;
    if (p.flags[q]! & PG_dirty) continue;
    p.flags[q] = p.flags[q]! | PG_dirty;
    as.nrDirty++;
  }
}

/**
 * zap_pte_range(): clear the PTEs of [startVpn, endVpn) in one VMA, carry
 * dirty bits of file pages into the page, drop map counts, flush the TLB for
 * the range, and only then drop the references the PTEs held, as the
 * mmu_gather does (__tlb_remove_page() batches them, tlb_finish_mmu() frees
 * after the flush: no stale translation reaches a freed frame). Huge PMDs go first (zap_pmd_range():
 * zap_huge_pmd() for one covered whole, a split for one covered in part;
 * only anonymous VMAs have them, so a file-only zap leaves them).
 * Returns how many PTEs were present.
 */
export function zapPteRange(k: Kernel, mm: MmStruct, startVpn: number, endVpn: number, evenCows = true, onlyFileOf: AddressSpace | null = null): number {
  if (mm.nrHugePmds > 0 && onlyFileOf === null) zapHugePmdRange(k, mm, startVpn, endVpn);
  let zapped = 0;
  const p = k.phys;
  const gathered: number[] = [];
  let vpn = startVpn;
  const span = mm.indexMask + 1;
  while (vpn < endVpn) {
    const t = pteLookup(mm.pgd, vpn, mm.divisors, mm.indexMask);
    const tableEnd = (Math.floor(vpn / span) + 1) * span;
    const stop = Math.min(endVpn, tableEnd);
    if (t === null) {
      vpn = stop;
      continue;
    }
    for (; vpn < stop; vpn++) {
      const i = vpn & mm.indexMask;
      const fl = t.flags![i]!;
      if (fl === 0) continue;
      const pfn = t.pfns![i]!;
      if (fl & PTE_PRESENT) {
        if (!(fl & PTE_SPECIAL)) {
          const anon = (p.flags[pfn]! & PG_anon) !== 0;
          if (onlyFileOf !== null && (anon ? !evenCows : p.mapping[pfn] !== onlyFileOf.id)) continue;
          if (!anon && fl & PTE_DIRTY) folioMarkDirty(k, pfn);
          folioRemoveRmap(k, mm, pfn);
          gathered.push(pfn);
        } else if (onlyFileOf !== null && !evenCows) {
          continue;
        }
        zapped++;
        if (k.tracing) k.emit({ type: 'pte_clear', addr: vpn * mm.pageSize, pfn });
      }
      t.flags![i] = 0;
      t.pfns![i] = 0;
      t.used--;
    }
  }
  if (zapped > 0) mm.flushTlbRange(startVpn, endVpn);
  for (const pfn of gathered) p.put(pfn);
  return zapped;
}

/** The address at which a VMA maps file page `index`, or -1 (vma_address()). */
export function vmaAddressOf(vma: Vma, index: number, pageSize: number): number {
  const off = index - vma.pgoff;
  if (off < 0) return -1;
  const addr = vma.start + off * pageSize;
  return addr < vma.end ? addr : -1;
}

/**
 * folio_mkclean(): write-protect and clean every shared-writable PTE that
 * maps a file page, so the next store faults and dirties it again.
 * Returns how many PTEs were cleaned.
 */
export function folioMkclean(k: Kernel, as: AddressSpace, index: number, pfn: number): number {
  let cleaned = 0;
  for (const vma of as.iMmap) {
    if ((vma.flags & VM_SHARED) === 0) continue;
    const addr = vmaAddressOf(vma, index, k.arch.pageSize);
    if (addr < 0) continue;
    const mm = vma.mm!;
    const vpn = addr / mm.pageSize;
    const t = pteLookup(mm.pgd, vpn, mm.divisors, mm.indexMask);
    if (t === null) continue;
    const i = vpn & mm.indexMask;
    const fl = t.flags![i]!;
    if (!(fl & PTE_PRESENT) || t.pfns![i] !== pfn) continue;
    if (fl & (PTE_WRITE | PTE_DIRTY)) {
      t.flags![i] = fl & ~(PTE_WRITE | PTE_DIRTY);
      mm.flushTlbPage(vpn);
      cleaned++;
    }
  }
  if (k.tracing) k.emit({ type: 'page_mkclean', ino: as.host.ino, index, ptes: cleaned });
  return cleaned;
}

/**
 * unmap_mapping_range(): zap the PTEs of file pages [firstIndex, lastIndex]
 * in every VMA mapping the file; with evenCows, private COW copies of those
 * pages go too (truncate), otherwise only the page-cache pages.
 */
export function unmapMappingRange(k: Kernel, as: AddressSpace, firstIndex: number, lastIndex: number, evenCows: boolean): void {
  const ps = k.arch.pageSize;
  for (const vma of [...as.iMmap]) {
    const vmaFirst = vma.pgoff;
    const vmaLast = vma.pgoff + (vma.end - vma.start) / ps - 1;
    const from = Math.max(firstIndex, vmaFirst);
    const to = Math.min(lastIndex, vmaLast);
    if (from > to) continue;
    const mm = vma.mm!;
    const startVpn = (vma.start + (from - vma.pgoff) * ps) / ps;
    const endVpn = startVpn + (to - from + 1);
    zapPteRange(k, mm, startVpn, endVpn, evenCows, as);
  }
}
