/**
 * Transparent huge pages for anonymous memory (mm/huge_memory.c): a
 * PMD-sized, PMD-aligned range of an eligible private anonymous VMA is mapped
 * by one huge PMD leaf entry on its first fault, and split into PTEs when an
 * operation covers only part of it.
 *
 * A huge PMD is a leaf PageTable whose `hugePfn` is set (pgtable.ts): the
 * table object is the page table Linux deposits with every anonymous huge PMD
 * (pgtable_trans_huge_deposit(), counted by mm_inc_nr_ptes()), so VmPTE and
 * PageTables count it, and a split fills it with HPAGE_PMD_NR PTEs.
 *
 * Bookkeeping is per frame, as for base pages: a PMD mapping counts one map
 * and one reference on every frame of the folio (Linux counts one entire
 * mapping and one folio reference), so splitting a PMD into PTEs changes no
 * count. `PhysMem.pmdMapped` holds the folios' entire map counts, which
 * NR_ANON_THPS (meminfo AnonHugePages) counts.
 *
 * Deviation: no khugepaged (nothing collapses PTE-mapped memory back into a
 * huge page, and MADV_COLLAPSE is not modelled), no deferred split queue or
 * shrinker: frames of a split folio that nothing maps any more are freed at
 * once, where Linux keeps the whole folio until the shrinker splits it; no
 * mTHP (only PMD order); defrag changes nothing, as there is no compaction
 * or reclaim to stall in.
 */
import { thpConfigured } from './thp-config.js';
import type { Kernel } from '../kernel.js';
import { PTE_ACCESSED, PTE_DIRTY, PTE_NX, PTE_PRESENT, PTE_PROTNONE, PTE_SPECIAL, PTE_USER, PTE_WRITE } from '../arch/pte.js';
import type { MmStruct } from './mm-struct.js';
import { PG_active, PG_anon_exclusive, PG_dirty, PG_head, PG_mlocked, PG_referenced, PG_swapbacked, PG_tail, PG_unevictable, ZERO_PFN } from './page-alloc.js';
import { PageTable, forEachLeafTableIn, pmdAlloc, pmdIndex, pmdLookup, pteLookup } from './pgtable.js';
import { folioAddNewAnonRmap, folioAddRmap, folioRemoveRmap } from './rmap.js';
import type { Vma } from './vma.js';
import { VM_HUGEPAGE, VM_LOCKED, VM_NOHUGEPAGE, VM_SHARED, VM_WRITE } from './vm-flags.js';
import { anonVmaPrepare, vmaPageProt } from './memory.js';

/** VM_FAULT_FALLBACK: the huge-PMD handler gave up; the fault goes on at PTE level. */
export const VM_FAULT_FALLBACK = 0x800;

/** HPAGE_PMD_NR: base pages per huge PMD. */
export function hpagePmdNr(mm: MmStruct): number {
  return mm.indexMask + 1;
}

/**
 * __thp_vma_allowable_orders() for PMD_ORDER, without the range check: the
 * VMA is anonymous and private, not VM_NOHUGEPAGE, not a special mapping, and
 * the sysfs mode allows it (always, or madvise with VM_HUGEPAGE).
 */
export function thpVmaAllowed(k: Kernel, vma: Vma): boolean {
  if (!thpConfigured(k)) return false;
  if ((vma.flags & VM_NOHUGEPAGE) !== 0 || vma.specialName !== null || !vma.isAnonymous) return false;
  const mode = k.settings.thpEnabled;
  return mode === 'always' || (mode === 'madvise' && (vma.flags & VM_HUGEPAGE) !== 0);
}

/** thp_vma_suitable_order(): the PMD-aligned range around addr lies wholly inside the VMA. */
export function thpVmaSuitable(k: Kernel, vma: Vma, addr: number): boolean {
  const hs = k.arch.pmdSize;
  const haddr = Math.floor(addr / hs) * hs;
  return haddr >= vma.start && haddr + hs <= vma.end;
}

function trace(k: Kernel, op: 'map' | 'zero' | 'split' | 'zap' | 'copy' | 'move' | 'reuse' | 'protect', baseVpn: number, pfn: number, mm: MmStruct): void {
  if (k.tracing) k.emit({ type: 'huge_pmd', op, addr: baseVpn * mm.pageSize, pfn });
}

/** pte_alloc_one() + pgtable_trans_huge_deposit() + set_pmd_at(): a huge PMD in slot idx of a PMD-level table. */
function installHugePmd(k: Kernel, mm: MmStruct, pmdT: PageTable, idx: number, pfn: number, flags: number, baseVpn: number): PageTable | null {
  const tpfn = k.phys.allocPageTable();
  if (tpfn < 0) return null;
  const t = new PageTable(pmdT.level + 1, true, mm.indexMask + 1, tpfn);
  t.hugePfn = pfn;
  t.hugeFlags = flags;
  pmdT.children![idx] = t;
  pmdT.used++;
  mm.pgtablesBytes += mm.pageSize;
  mm.nrHugePmds++;
  if (k.tracing) k.emit({ type: 'pgtable_alloc', level: k.arch.levelNames[t.level]!, pfn: tpfn, addr: baseVpn * mm.pageSize });
  return t;
}

/** folio_add_new_anon_rmap(..., RMAP_EXCLUSIVE) for a PMD-mapped folio: every frame mapped once, RSS + HPAGE_PMD_NR. */
function mapNewAnonFolio(k: Kernel, mm: MmStruct, vma: Vma, head: number, baseVpn: number): void {
  const av = anonVmaPrepare(k, vma);
  const pgoff = vma.pgoff + (baseVpn * mm.pageSize - vma.start) / mm.pageSize;
  const nr = hpagePmdNr(mm);
  for (let i = 0; i < nr; i++) folioAddNewAnonRmap(k, mm, head + i, av, pgoff + i);
  k.phys.pmdMapped.set(head, 1);
  k.vmstat.thpFaultAlloc++;
  k.vmstat.pgalloc += nr;
}

/**
 * do_huge_pmd_anonymous_page() -> __do_huge_pmd_anonymous_page(): the first
 * fault in an empty PMD range of an eligible VMA. A read maps the huge zero
 * page (use_zero_page); a write maps a new zeroed PMD-sized folio, dirty and
 * writable. VM_FAULT_FALLBACK when no huge folio can be had.
 */
export function doHugePmdAnonymousPage(k: Kernel, mm: MmStruct, vma: Vma, addr: number, write: boolean, pmdT: PageTable, idx: number): number {
  const nr = hpagePmdNr(mm);
  const baseVpn = Math.floor(addr / mm.pageSize / nr) * nr;
  const prot = vmaPageProt(vma);
  // vmf_anon_prepare() comes first, so a VMA holding only the huge zero page
  // has an anon_vma too, and fork copies its page tables (found by mmsim fuzz).
  anonVmaPrepare(k, vma);
  if (!write && k.settings.thpUseZeroPage) {
    // set_huge_zero_folio(): read-only, special; RSS does not count it.
    if (k.tracing) k.emit({ type: 'fault_handler', handler: 'do_huge_pmd_anonymous_page', addr, detail: 'huge zero page' });
    if (installHugePmd(k, mm, pmdT, idx, ZERO_PFN, (prot & ~PTE_WRITE) | PTE_SPECIAL, baseVpn) === null) return VM_FAULT_FALLBACK;
    trace(k, 'zero', baseVpn, ZERO_PFN, mm);
    return 0;
  }
  const head = k.phys.allocHugeFolio(nr);
  if (head < 0) {
    k.vmstat.thpFaultFallback++;
    return VM_FAULT_FALLBACK;
  }
  if (k.tracing) {
    k.emit({ type: 'fault_handler', handler: 'do_huge_pmd_anonymous_page', addr, detail: 'new zeroed huge folio' });
    k.emit({ type: 'page_alloc', pfn: head, purpose: 'thp' });
  }
  let flags = prot | PTE_DIRTY;
  if (vma.flags & VM_WRITE) flags |= PTE_WRITE;
  if (installHugePmd(k, mm, pmdT, idx, head, flags, baseVpn) === null) {
    for (let i = 0; i < nr; i++) k.phys.put(head + i);
    return VM_FAULT_FALLBACK;
  }
  mapNewAnonFolio(k, mm, vma, head, baseVpn);
  trace(k, 'map', baseVpn, head, mm);
  return 0;
}

/** huge_pmd_set_accessed(): a fault on a usable huge PMD (a stale TLB view): mark it young, dirty for a write. */
export function hugePmdSetAccessed(t: PageTable, write: boolean): void {
  t.hugeFlags |= PTE_ACCESSED | (write ? PTE_DIRTY : 0);
}

/**
 * do_huge_pmd_wp_page(): a write to a write-protected huge PMD. The huge zero
 * page gets a new THP (do_huge_zero_wp_pmd(), since 6.14); an anonymous
 * folio is reused in place when exclusive (PageAnonExclusive, or no other
 * reference); otherwise the PMD is split and the fault falls back to PTE
 * level, which copies one base page.
 */
export function doHugePmdWpPage(k: Kernel, mm: MmStruct, vma: Vma, t: PageTable, baseVpn: number): number {
  const nr = hpagePmdNr(mm);
  const p = k.phys;
  if (k.tracing) k.emit({ type: 'fault_handler', handler: 'do_huge_pmd_wp_page', addr: baseVpn * mm.pageSize });
  if (t.hugeFlags & PTE_SPECIAL) {
    // do_huge_zero_wp_pmd(): a fresh folio replaces the huge zero page under the same deposited table.
    const head = p.allocHugeFolio(nr);
    if (head < 0) {
      k.vmstat.thpFaultFallback++;
      splitHugePmd(k, mm, t, baseVpn);
      return VM_FAULT_FALLBACK;
    }
    if (k.tracing) k.emit({ type: 'page_alloc', pfn: head, purpose: 'thp' });
    t.hugePfn = head;
    t.hugeFlags = vmaPageProt(vma) | PTE_DIRTY | PTE_ACCESSED | (vma.flags & VM_WRITE ? PTE_WRITE : 0);
    mm.flushTlbPmd(baseVpn, nr);
    mapNewAnonFolio(k, mm, vma, head, baseVpn);
    trace(k, 'map', baseVpn, head, mm);
    return 0;
  }
  const head = t.hugePfn;
  if (!(p.flags[head]! & PG_anon_exclusive)) {
    // folio_ref_count(folio) == 1: nothing but this PMD holds the folio.
    for (let i = 0; i < nr; i++) {
      if (p.refcount[head + i] !== 1) {
        splitHugePmd(k, mm, t, baseVpn);
        return VM_FAULT_FALLBACK;
      }
    }
    for (let i = 0; i < nr; i++) p.flags[head + i] = p.flags[head + i]! | PG_anon_exclusive;
  }
  // reuse: pmd_mkyoung(), pmd_mkdirty(), maybe_pmd_mkwrite().
  t.hugeFlags |= PTE_ACCESSED | PTE_DIRTY | (vma.flags & VM_WRITE ? PTE_WRITE : 0);
  k.vmstat.pgreuse++;
  trace(k, 'reuse', baseVpn, head, mm);
  return 0;
}

/**
 * __split_huge_pmd_locked(): replace a huge PMD by the PTE table deposited
 * with it, filled with one PTE per base page carrying the PMD's bits (the huge
 * zero page becomes zero-page PTEs). Map counts and references do not change;
 * the folio stays one large folio, now PTE-mapped.
 */
export function splitHugePmd(k: Kernel, mm: MmStruct, t: PageTable, baseVpn: number): void {
  const nr = hpagePmdNr(mm);
  const fl = t.hugeFlags;
  const head = t.hugePfn;
  const zero = (fl & PTE_SPECIAL) !== 0;
  const pfns = t.pfns!;
  const flags = t.flags!;
  for (let i = 0; i < nr; i++) {
    pfns[i] = zero ? ZERO_PFN : head + i;
    flags[i] = fl;
  }
  t.used = nr;
  t.hugePfn = -1;
  t.hugeFlags = 0;
  mm.nrHugePmds--;
  if (!zero) dropEntireMapping(k, head);
  k.vmstat.thpSplitPmd++;
  mm.flushTlbPmd(baseVpn, nr);
  trace(k, 'split', baseVpn, head, mm);
}

function dropEntireMapping(k: Kernel, head: number): void {
  const n = (k.phys.pmdMapped.get(head) ?? 0) - 1;
  if (n < 0) throw new Error(`BUG: entire mapcount underflow on folio ${head}`);
  if (n === 0) k.phys.pmdMapped.delete(head);
  else k.phys.pmdMapped.set(head, n);
}

/**
 * zap_huge_pmd(): unmap a whole huge PMD: drop every frame's map count and
 * reference (freeing the folio when nothing else holds it), RSS −
 * HPAGE_PMD_NR, and free the deposited table (zap_deposited_table()).
 */
export function zapHugePmd(k: Kernel, mm: MmStruct, pmdT: PageTable, idx: number, t: PageTable, baseVpn: number): void {
  const nr = hpagePmdNr(mm);
  const p = k.phys;
  const head = t.hugePfn;
  if (!(t.hugeFlags & PTE_SPECIAL)) {
    dropEntireMapping(k, head);
    for (let i = 0; i < nr; i++) {
      folioRemoveRmap(k, mm, head + i);
      p.put(head + i);
    }
  }
  t.hugePfn = -1;
  t.hugeFlags = 0;
  pmdT.children![idx] = undefined;
  pmdT.used--;
  mm.pgtablesChanged();
  if (k.tracing) k.emit({ type: 'pgtable_free', level: k.arch.levelNames[t.level]!, pfn: t.pfn });
  p.refcount[t.pfn] = 0;
  p.freePage(t.pfn);
  mm.pgtablesBytes -= mm.pageSize;
  mm.nrHugePmds--;
  mm.flushTlbPmd(baseVpn, nr);
  trace(k, 'zap', baseVpn, head, mm);
}

/**
 * Visit every huge PMD intersecting [startVpn, endVpn): fn gets the huge
 * table, its PMD-level parent and slot, its first vpn and whether the range
 * covers it whole. fn may split, zap or move it.
 */
export function forEachHugePmd(
  mm: MmStruct,
  startVpn: number,
  endVpn: number,
  fn: (t: PageTable, pmdT: PageTable, idx: number, baseVpn: number, whole: boolean) => void,
): void {
  if (mm.nrHugePmds === 0) return;
  const span = mm.indexMask + 1;
  forEachLeafTableIn(mm.pgd, mm.divisors, mm.indexMask, startVpn, endVpn, (c, t, i, cBase) => {
    if (c.hugePfn >= 0) fn(c, t, i, cBase, cBase >= startVpn && cBase + span <= endVpn);
  });
}

/**
 * split_huge_pmd_if_needed() (from vma_adjust_trans_huge()): a VMA boundary
 * is about to fall at addr; a huge PMD straddling it is split.
 */
export function splitHugePmdIfNeeded(k: Kernel, mm: MmStruct, addr: number): void {
  if (mm.nrHugePmds === 0 || addr % k.arch.pmdSize === 0) return;
  const vpn = Math.floor(addr / mm.pageSize);
  const t = pteLookup(mm.pgd, vpn, mm.divisors, mm.indexMask);
  if (t !== null && t.hugePfn >= 0) splitHugePmd(k, mm, t, vpn - (vpn & mm.indexMask));
}

/**
 * zap_pmd_range()'s huge-PMD part, before zap_pte_range(): a huge PMD the
 * range covers whole is zapped (zap_huge_pmd()), one covered in part is split
 * so the PTE walk zaps its part.
 */
export function zapHugePmdRange(k: Kernel, mm: MmStruct, startVpn: number, endVpn: number): void {
  forEachHugePmd(mm, startVpn, endVpn, (t, pmdT, idx, baseVpn, whole) => {
    if (whole) zapHugePmd(k, mm, pmdT, idx, t, baseVpn);
    else splitHugePmd(k, mm, t, baseVpn);
  });
}

/**
 * change_huge_pmd() for the huge PMDs of [startVpn, endVpn) in a VMA that
 * already has its new flags (change_pmd_range() splits one covered in part).
 * Returns whether an entry changed.
 */
export function changeHugePmdRange(k: Kernel, mm: MmStruct, vma: Vma, startVpn: number, endVpn: number): boolean {
  let changed = false;
  const prot = vmaPageProt(vma);
  const tryWritable = (vma.flags & (VM_SHARED | VM_WRITE)) === VM_WRITE;
  forEachHugePmd(mm, startVpn, endVpn, (t, _pmdT, _idx, baseVpn, whole) => {
    if (!whole) {
      splitHugePmd(k, mm, t, baseVpn);
      return;
    }
    const old = t.hugeFlags;
    let fl = (old & (PTE_DIRTY | PTE_ACCESSED | PTE_SPECIAL)) | (prot & (PTE_PRESENT | PTE_USER | PTE_NX | PTE_PROTNONE | PTE_WRITE));
    if (old & PTE_SPECIAL) fl &= ~PTE_WRITE;
    // can_change_pmd_writable(): an exclusive anonymous folio may be writable at once.
    else if (tryWritable && !(fl & PTE_WRITE) && !(fl & PTE_PROTNONE) && k.phys.flags[t.hugePfn]! & PG_anon_exclusive) fl |= PTE_WRITE;
    if (fl !== old) {
      t.hugeFlags = fl;
      mm.flushTlbPmd(baseVpn, hpagePmdNr(mm));
      changed = true;
      trace(k, 'protect', baseVpn, t.hugePfn, mm);
    }
  });
  return changed;
}

/**
 * mlock_pte_range()'s huge-PMD part: mlock_folio()/munlock_folio() on each
 * PMD-mapped folio the range touches (the whole folio; the VMA split at a
 * boundary inside a PMD has already split it).
 */
export function mlockHugePmdRange(k: Kernel, mm: MmStruct, startVpn: number, endVpn: number, lock: boolean): void {
  const p = k.phys;
  const nr = hpagePmdNr(mm);
  forEachHugePmd(mm, startVpn, endVpn, (t) => {
    if (t.hugeFlags & PTE_SPECIAL) return;
    for (let pfn = t.hugePfn; pfn < t.hugePfn + nr; pfn++) {
      if (lock) p.flags[pfn] = p.flags[pfn]! | PG_mlocked | PG_unevictable;
      else p.flags[pfn] = p.flags[pfn]! & ~(PG_mlocked | PG_unevictable);
    }
  });
}

/**
 * copy_huge_pmd(): fork shares each huge PMD of a VMA copy-on-write: both
 * PMDs write-protected, the child's old; the child gets its own deposited
 * table; the folio loses PageAnonExclusive. Returns false when out of memory.
 */
export function copyHugePmds(k: Kernel, dst: MmStruct, src: MmStruct, vma: Vma): boolean {
  let ok = true;
  const nr = hpagePmdNr(src);
  const p = k.phys;
  forEachHugePmd(src, vma.start / src.pageSize, vma.end / src.pageSize, (t, _pmdT, _idx, baseVpn) => {
    if (!ok) return;
    const dpmd = pmdAlloc(k, dst.pgd, baseVpn, dst.divisors, dst.indexMask, (b) => (dst.pgtablesBytes += b));
    if (dpmd === null) {
      ok = false;
      return;
    }
    const idx = pmdIndex(baseVpn, dst.divisors, dst.indexMask);
    const head = t.hugePfn;
    if (!(t.hugeFlags & PTE_SPECIAL)) {
      if (t.hugeFlags & PTE_WRITE) {
        t.hugeFlags &= ~PTE_WRITE;
        src.flushTlbPmd(baseVpn, nr);
      }
    }
    if (installHugePmd(k, dst, dpmd, idx, head, t.hugeFlags & ~PTE_ACCESSED, baseVpn) === null) {
      ok = false;
      return;
    }
    if (!(t.hugeFlags & PTE_SPECIAL)) {
      // folio_try_dup_anon_rmap_pmd()
      for (let pfn = head; pfn < head + nr; pfn++) {
        p.get(pfn);
        folioAddRmap(k, dst, pfn);
        p.flags[pfn] = p.flags[pfn]! & ~PG_anon_exclusive;
      }
      p.pmdMapped.set(head, (p.pmdMapped.get(head) ?? 0) + 1);
    }
    trace(k, 'copy', baseVpn, head, dst);
  });
  return ok;
}

/**
 * move_page_tables()'s huge-PMD part for mremap: a huge PMD covered whole,
 * whose new place is PMD aligned too, moves as one entry (move_huge_pmd());
 * any other is split first and its PTEs move one by one. Returns false when
 * out of memory.
 */
export function moveHugePmdRange(k: Kernel, mm: MmStruct, oldVpn: number, newVpn: number, n: number): boolean {
  const nr = hpagePmdNr(mm);
  let ok = true;
  forEachHugePmd(mm, oldVpn, oldVpn + n, (t, pmdT, idx, baseVpn, whole) => {
    if (!ok) return;
    const dstVpn = baseVpn - oldVpn + newVpn;
    if (whole && dstVpn % nr === 0) {
      const dpmd = pmdAlloc(k, mm.pgd, dstVpn, mm.divisors, mm.indexMask, (b) => (mm.pgtablesBytes += b));
      if (dpmd === null) {
        ok = false;
        return;
      }
      const didx = pmdIndex(dstVpn, mm.divisors, mm.indexMask);
      if (dpmd.children![didx] === undefined) {
        pmdT.children![idx] = undefined;
        pmdT.used--;
        mm.pgtablesChanged();
        dpmd.children![didx] = t;
        dpmd.used++;
        mm.flushTlbPmd(baseVpn, nr);
        trace(k, 'move', dstVpn, t.hugePfn, mm);
        return;
      }
    }
    splitHugePmd(k, mm, t, baseVpn);
  });
  return ok;
}

/**
 * split_folio() of a folio this PTE table alone maps (after splitHugePmd()):
 * the folio becomes base pages, and remap_page() with RMP_USE_SHARED_ZEROPAGE
 * (try_to_map_unused_to_zeropage(), 6.12+) maps the zero page instead of
 * each page that holds only zeros, freeing it.
 */
function splitFolio(k: Kernel, mm: MmStruct, vma: Vma, t: PageTable, head: number): void {
  const p = k.phys;
  const nr = hpagePmdNr(mm);
  const zeroOk = !(vma.flags & VM_LOCKED) && !(p.flags[head]! & PG_mlocked);
  const zeroPte = (vmaPageProt(vma) & ~PTE_WRITE) | PTE_SPECIAL;
  for (let i = 0; i < nr; i++) {
    const pfn = head + i;
    p.flags[pfn] = p.flags[pfn]! & ~(PG_head | PG_tail);
    if (!zeroOk || t.pfns![i] !== pfn) continue;
    const bytes = p.peekBytes(pfn);
    if (bytes !== undefined && bytes.some((b) => b !== 0)) continue;
    folioRemoveRmap(k, mm, pfn);
    p.put(pfn);
    t.pfns![i] = ZERO_PFN;
    t.flags![i] = zeroPte;
  }
}

/**
 * The folio a huge PMD maps, when madvise may touch it: not the huge zero
 * page, and not mapped by another process (folio_maybe_mapped_shared());
 * else -1.
 */
function exclusiveHugeFolio(k: Kernel, t: PageTable, nr: number): number {
  if (t.hugeFlags & PTE_SPECIAL) return -1;
  const head = t.hugePfn;
  for (let pfn = head; pfn < head + nr; pfn++) if (k.phys.mapcount[pfn]! > 1) return -1;
  return head;
}

/**
 * madvise_free_huge_pmd() for the huge PMDs of [startVpn, endVpn): the huge
 * zero page and a folio another process maps too are left alone (not even
 * split); one covered in part is split, folio and all (splitFolio()), for the PTE walk; one
 * covered whole stays PMD-mapped, made clean and old, its folio lazily
 * freeable (folio_mark_lazyfree(): no longer swap-backed).
 */
export function madviseFreeHugePmdRange(k: Kernel, mm: MmStruct, vma: Vma, startVpn: number, endVpn: number): void {
  const p = k.phys;
  const nr = hpagePmdNr(mm);
  forEachHugePmd(mm, startVpn, endVpn, (t, _pmdT, _idx, baseVpn, whole) => {
    const head = exclusiveHugeFolio(k, t, nr);
    if (head < 0) return;
    if (!whole) {
      splitHugePmd(k, mm, t, baseVpn);
      splitFolio(k, mm, vma, t, head);
      return;
    }
    if (t.hugeFlags & (PTE_ACCESSED | PTE_DIRTY)) {
      t.hugeFlags &= ~(PTE_ACCESSED | PTE_DIRTY);
      mm.flushTlbPmd(baseVpn, nr);
    }
    if (p.flags[head]! & PG_unevictable) return;
    for (let pfn = head; pfn < head + nr; pfn++) p.flags[pfn] = p.flags[pfn]! & ~(PG_dirty | PG_swapbacked | PG_active | PG_referenced);
  });
}

/**
 * madvise_cold_or_pageout_pte_range()'s huge-PMD part: a folio another
 * process maps too, and the huge zero page, are left alone; one covered in
 * part is split, folio and all (splitFolio()), for the PTE walk. One covered
 * whole: COLD makes the PMD old and the folio inactive, still huge; PAGEOUT
 * hands it to reclaim, which without swap splits it (try_to_unmap() with
 * TTU_SPLIT_HUGE_PMD; shrink_folio_list() -> split_folio_to_list() when
 * add_to_swap() fails, mapping the zero page for all-zero subpages unless
 * the folio is lazily freeable) and lets the PTE walk drop what it can.
 */
export function madviseColdOrPageoutHugePmdRange(k: Kernel, mm: MmStruct, vma: Vma, startVpn: number, endVpn: number, pageout: boolean): void {
  const p = k.phys;
  const nr = hpagePmdNr(mm);
  forEachHugePmd(mm, startVpn, endVpn, (t, _pmdT, _idx, baseVpn, whole) => {
    const head = exclusiveHugeFolio(k, t, nr);
    if (head < 0) return;
    if (!whole || pageout) {
      const lazyfree = !(p.flags[head]! & PG_swapbacked);
      splitHugePmd(k, mm, t, baseVpn);
      if (!whole || !lazyfree) splitFolio(k, mm, vma, t, head);
      return;
    }
    if (t.hugeFlags & PTE_ACCESSED) {
      t.hugeFlags &= ~PTE_ACCESSED;
      mm.flushTlbPmd(baseVpn, nr);
    }
    for (let pfn = head; pfn < head + nr; pfn++) p.flags[pfn] = p.flags[pfn]! & ~(PG_active | PG_referenced);
  });
}

/** The huge PMD mapping vpn, or null (pmd_trans_huge() on the walk's PMD). */
export function hugePmdAt(mm: MmStruct, vpn: number): PageTable | null {
  if (mm.nrHugePmds === 0) return null;
  const pmdT = pmdLookup(mm.pgd, vpn, mm.divisors, mm.indexMask);
  if (pmdT === null) return null;
  const c = pmdT.children![pmdIndex(vpn, mm.divisors, mm.indexMask)];
  return c !== undefined && c.hugePfn >= 0 ? c : null;
}
