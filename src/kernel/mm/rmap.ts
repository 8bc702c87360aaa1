/**
 * Reverse mapping (mm/rmap.c): the anon_vma that anonymous pages point at,
 * and the map-count and RSS bookkeeping done when a page is mapped into or
 * unmapped from a page table (folio_add_new_anon_rmap(),
 * folio_add_file_rmap_pte(), folio_remove_rmap_pte()).
 *
 * Deviation: one anon_vma per VMA family without the anon_vma_chain
 * hierarchy; file pages are found through their AddressSpace's i_mmap set.
 */
import type { Kernel } from '../kernel.js';
import type { MmStruct } from './mm-struct.js';
import { MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES } from './mm-struct.js';
import { PG_anon, PG_anon_exclusive, PG_swapbacked, ZERO_PFN } from './page-alloc.js';

export class AnonVma {
  readonly id: number;
  /** VMAs that point at it (anon_vma->num_active_vmas). */
  refs = 0;
  constructor(id: number) {
    this.id = id;
  }
}

/** The RSS counter a mapped page is charged to (mm_counter()). */
export function mmCounterOf(k: Kernel, pfn: number): number {
  const f = k.phys.flags[pfn]!;
  if (f & PG_anon) return MM_ANONPAGES;
  if (f & PG_swapbacked) return MM_SHMEMPAGES;
  return MM_FILEPAGES;
}

/** folio_add_new_anon_rmap(): a freshly allocated anonymous page gets its first mapping. */
export function folioAddNewAnonRmap(k: Kernel, mm: MmStruct, pfn: number, anonVma: AnonVma, linearIndex: number): void {
  const p = k.phys;
  p.flags[pfn] = p.flags[pfn]! | PG_anon | PG_swapbacked | PG_anon_exclusive;
  p.mapping[pfn] = anonVma.id;
  p.index[pfn] = linearIndex;
  p.mapcount[pfn] = 1;
  mm.rss[MM_ANONPAGES]!++;
}

/** folio_add_file_rmap_pte() / folio_dup_anon_rmap: one more PTE maps an existing page. */
export function folioAddRmap(k: Kernel, mm: MmStruct, pfn: number): void {
  if (pfn === ZERO_PFN) return;
  k.phys.mapcount[pfn]!++;
  mm.rss[mmCounterOf(k, pfn)]!++;
}

/** folio_remove_rmap_pte(): a PTE stops mapping the page (the caller drops the reference). */
export function folioRemoveRmap(k: Kernel, mm: MmStruct, pfn: number): void {
  if (pfn === ZERO_PFN) return;
  const m = --k.phys.mapcount[pfn]!;
  if (m < 0) throw new Error(`BUG: mapcount underflow on pfn ${pfn}`);
  mm.rss[mmCounterOf(k, pfn)]!--;
}
