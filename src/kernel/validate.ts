/**
 * validate_mm() and friends: recompute every cached count from scratch and
 * compare (RSS, map counts, reference counts, dirty pages, page tables,
 * huge PMDs and their folios' entire map counts, committed memory). A mismatch is a bug in the model: it throws.
 */
import type { Kernel } from './kernel.js';
import { PTE_PRESENT, PTE_SPECIAL, PTE_WRITE } from './arch/pte.js';
import { type AddressSpace, mappingLargeFolioSupport, maxPagecacheOrder } from './mm/filemap.js';
import type { Inode } from './fs/inode.js';
import type { MmStruct } from './mm/mm-struct.js';
import { PG_anon, PG_dirty, PG_head, PG_readahead, PG_swapbacked, PG_table, PG_tail, PG_uptodate, ZERO_PFN } from './mm/page-alloc.js';
import { type PageTable, forEachLeaf, forEachPresentPte, pteLookup } from './mm/pgtable.js';
import { MM_ANONPAGES } from './mm/mm-struct.js';
import { mmCounterOf } from './mm/rmap.js';
import { VM_ACCOUNT, VM_DONTEXPAND, VM_HUGETLB } from './mm/vm-flags.js';
import type { Vma } from './mm/vma.js';

/**
 * A hugetlb VMA (the pool is empty): a hugetlbfs file's, VM_DONTEXPAND, bounds
 * and offset in whole huge pages, never charged, and no page mapped.
 */
function checkHugetlbVma(mm: MmStruct, v: Vma): void {
  const at = v.start.toString(16);
  if (v.file === null || v.file.inode.kind !== 'hugetlbfs') throw new Error(`BUG: hugetlb VMA at ${at} without a hugetlbfs file`);
  const hs = v.file.inode.hpageSize;
  if (v.start % hs !== 0 || v.end % hs !== 0 || (v.pgoff * mm.pageSize) % hs !== 0) throw new Error(`BUG: hugetlb VMA at ${at} not in whole huge pages`);
  if ((v.flags & VM_DONTEXPAND) === 0 || v.flags & VM_ACCOUNT) throw new Error(`BUG: hugetlb VMA at ${at} with flags ${v.flags.toString(16)}`);
  forEachPresentPte(mm, v.start / mm.pageSize, v.end / mm.pageSize, true, () => {
    throw new Error(`BUG: hugetlb VMA at ${at} maps a page with the pool empty`);
  });
}

export function validateKernel(k: Kernel, mms: Iterable<MmStruct>): void {
  const p = k.phys;
  const maxPfn = p.maxPfn;
  const mapcount = new Int32Array(maxPfn);
  let committed = 0;
  // Shared anonymous memory is charged once per shmem inode, not per VMA.
  const shmemAccounted = new Set<Inode>();
  // Every mm's tables, the pgd included: the frames PageTables (NR_PAGETABLE) counts.
  let tableFrames = 0;
  const tablePfns = new Uint8Array(maxPfn);
  const pmdMapped = new Map<number, number>();
  for (const mm of mms) {
    mm.vmas.validate();
    // Every table, the pgd included, in a page-table frame of its own.
    let held = 0;
    forEachTable(mm.pgd, (t) => {
      if (t.pfn <= 0 || t.pfn >= maxPfn || p.isFree(t.pfn) || !(p.flags[t.pfn]! & PG_table)) {
        throw new Error(`BUG: mm ${mm.id} page table at level ${t.level} in frame ${t.pfn}, not a page-table frame`);
      }
      if (tablePfns[t.pfn] !== 0) throw new Error(`BUG: frame ${t.pfn} holds two page tables`);
      tablePfns[t.pfn] = 1;
      held++;
    });
    tableFrames += held;
    const tables = held - 1;
    if (tables * mm.pageSize !== mm.pgtablesBytes) {
      throw new Error(`BUG: mm ${mm.id} VmPTE ${mm.pgtablesBytes} but ${tables} tables`);
    }
    const rss = [0, 0, 0, 0];
    for (const v of mm.vmas) {
      if (v.mm !== mm) throw new Error('BUG: VMA points at another mm');
      if (v.flags & VM_ACCOUNT) committed += (v.end - v.start) / mm.pageSize;
      if (v.file !== null && v.file.inode.acctPages > 0) shmemAccounted.add(v.file.inode);
      if (v.file !== null && !v.file.inode.mapping.iMmap.has(v)) throw new Error('BUG: file VMA missing from i_mmap');
      if (v.flags & VM_HUGETLB) checkHugetlbVma(mm, v);
    }
    if (mm.guards !== null) {
      if (mm.guards.size === 0) throw new Error('BUG: empty guard set not null');
      for (const vpn of mm.guards) {
        // A guard marker lives in a PTE slot of a VMA: its table exists and the entry is pte_none.
        const addr = vpn * mm.pageSize;
        if (mm.vmas.lookup(addr) === null) throw new Error(`BUG: guard marker at ${addr.toString(16)} outside any VMA`);
        const t = pteLookup(mm.pgd, vpn, mm.divisors, mm.indexMask);
        if (t === null) throw new Error(`BUG: guard marker at ${addr.toString(16)} without a page table`);
        if (t.hugePfn >= 0) throw new Error(`BUG: guard marker at ${addr.toString(16)} under a huge PMD`);
        if (t.flags![vpn & mm.indexMask] !== 0) throw new Error(`BUG: guard marker at ${addr.toString(16)} over a mapped PTE`);
      }
    }
    // The walk cache holds a table the page tables still hold, where they hold it.
    if (mm.tlb.walkLeaf !== null && pteLookup(mm.pgd, mm.tlb.walkBase, mm.divisors, mm.indexMask) !== mm.tlb.walkLeaf) {
      throw new Error(`BUG: mm ${mm.id} walk cache holds a table no longer at ${(mm.tlb.walkBase * mm.pageSize).toString(16)}`);
    }
    let hugePmds = 0;
    let last: Vma | null = null;
    forEachLeaf(mm.pgd, mm.divisors, (t, base) => {
      if (t.hugePfn >= 0) {
        hugePmds++;
        validateHugePmd(k, mm, t, base, mapcount, rss, pmdMapped);
        return;
      }
      let used = 0;
      for (let i = 0; i < t.flags!.length; i++) {
        const fl = t.flags![i]!;
        if (fl === 0) continue;
        used++;
        if (!(fl & PTE_PRESENT)) continue;
        const pfn = t.pfns![i]!;
        const addr = (base + i) * mm.pageSize;
        // The VMA of the previous entry usually holds this one too (a tree lookup per entry is slow).
        if (last === null || addr < last.start || addr >= last.end) last = mm.vmas.lookup(addr);
        const vma = last;
        if (vma === null) throw new Error(`BUG: PTE at ${addr.toString(16)} outside any VMA`);
        if (fl & PTE_SPECIAL) {
          if (pfn !== ZERO_PFN) throw new Error('BUG: special PTE not on the zero page');
          continue;
        }
        if (pfn >= maxPfn || p.isFree(pfn)) throw new Error(`BUG: PTE at ${addr.toString(16)} maps free frame ${pfn}`);
        if (p.flags[pfn]! & PG_table) throw new Error('BUG: PTE maps a page-table frame');
        if (!(p.flags[pfn]! & PG_anon)) {
          const as = k.owners[p.mapping[pfn]!] as AddressSpace | undefined;
          const index = vma.pgoff + (addr - vma.start) / mm.pageSize;
          if (as === undefined || vma.file === null || as !== vma.file.inode.mapping || p.index[pfn] !== index) {
            throw new Error(`BUG: file page at ${addr.toString(16)} is not the file's page ${index}`);
          }
        }
        mapcount[pfn]!++;
        rss[mmCounterOf(k, pfn)]!++;
      }
      if (used !== t.used) throw new Error(`BUG: leaf table used count ${t.used} but ${used} entries`);
    });
    if (hugePmds !== mm.nrHugePmds) throw new Error(`BUG: mm ${mm.id} counts ${mm.nrHugePmds} huge PMDs but maps ${hugePmds}`);
    for (let c = 0; c < 4; c++) {
      if (rss[c] !== mm.rss[c]) throw new Error(`BUG: mm ${mm.id} RSS counter ${c} is ${mm.rss[c]} but page tables map ${rss[c]}`);
    }
  }
  for (const inode of shmemAccounted) committed += inode.acctPages;
  if (pmdMapped.size !== p.pmdMapped.size) throw new Error(`BUG: ${p.pmdMapped.size} folios counted PMD-mapped but ${pmdMapped.size} are`);
  for (const [head, n] of pmdMapped) {
    if (p.pmdMapped.get(head) !== n) throw new Error(`BUG: folio ${head} entire mapcount ${p.pmdMapped.get(head)} but ${n} PMDs map it`);
  }
  if (committed !== k.committedPages) throw new Error(`BUG: committed ${k.committedPages} pages but VMAs account ${committed}`);
  const inCache = new Uint8Array(maxPfn);
  for (const owner of k.owners) {
    if (owner === undefined || !('pages' in owner)) continue;
    let dirty = 0;
    for (const [index, pfn] of owner.pages) {
      if (p.mapping[pfn] !== owner.id || p.index[pfn] !== index) throw new Error('BUG: page-cache page does not point back');
      inCache[pfn] = 1;
      if (p.flags[pfn]! & PG_dirty && !(p.flags[pfn]! & PG_swapbacked)) dirty++;
    }
    if (dirty !== owner.nrDirty) throw new Error(`BUG: inode ${owner.host.ino} nrDirty ${owner.nrDirty} but ${dirty} dirty pages`);
    validateFolios(k, owner);
  }
  let used = 0;
  let tableFlagged = 0;
  for (let pfn = 1; pfn < maxPfn; pfn++) {
    if (p.isFree(pfn)) {
      if (mapcount[pfn] !== 0) throw new Error(`BUG: free frame ${pfn} is mapped`);
      continue;
    }
    used++;
    if (p.flags[pfn]! & PG_table) {
      if (tablePfns[pfn] === 0) throw new Error(`BUG: page-table frame ${pfn} is in no mm's page tables`);
      tableFlagged++;
      continue;
    }
    if (p.mapcount[pfn] !== mapcount[pfn]) throw new Error(`BUG: pfn ${pfn} mapcount ${p.mapcount[pfn]} but ${mapcount[pfn]} PTEs map it`);
    const expectRef = mapcount[pfn]! + inCache[pfn]!;
    if (p.refcount[pfn] !== expectRef) throw new Error(`BUG: pfn ${pfn} refcount ${p.refcount[pfn]} expected ${expectRef}`);
  }
  if (used !== p.nrUsed) throw new Error(`BUG: ${p.nrUsed} frames counted in use but ${used} are`);
  // NR_PAGETABLE (meminfo PageTables) against the tables the mms hold and the frames flagged PG_table.
  if (tableFrames !== p.nrPageTables || tableFlagged !== p.nrPageTables) {
    throw new Error(`BUG: ${p.nrPageTables} page-table frames counted (PageTables) but the mms hold ${tableFrames} tables and ${tableFlagged} frames are page tables`);
  }
}

/** Every table of an address space, the top-level one first (the walk free_pgtables() makes). */
function forEachTable(t: PageTable, fn: (t: PageTable) => void): void {
  fn(t);
  if (t.children === null) return;
  for (const c of t.children) if (c !== undefined) forEachTable(c, fn);
}

/**
 * Large folios: aligned to their size, no bigger than MAX_PAGECACHE_ORDER,
 * only where the mapping supports them, every page cached, not overlapping,
 * and the folio-wide readahead mark the same on every page. PG_uptodate may
 * differ: a page's bit is its block's buffer_uptodate, and the folio is
 * uptodate when every page is (a short write from user memory can leave new
 * blocks zeroed and uptodate beside data blocks not yet read).
 */
function validateFolios(k: Kernel, as: AddressSpace): void {
  if (as.folios.size === 0) return;
  const p = k.phys;
  if (!mappingLargeFolioSupport(k, as)) throw new Error(`BUG: inode ${as.host.ino} has large folios but no large folio support`);
  const covered = new Set<number>();
  for (const [head, order] of as.folios) {
    const nr = 2 ** order;
    if (order < 1 || order > maxPagecacheOrder(k.arch.pageSize) || head % nr !== 0) throw new Error(`BUG: inode ${as.host.ino} folio at ${head} of order ${order}`);
    const pfn0 = as.pages.get(head);
    for (let i = head; i < head + nr; i++) {
      const pfn = as.pages.get(i);
      if (pfn === undefined || pfn0 === undefined) throw new Error(`BUG: inode ${as.host.ino} folio at ${head} misses page ${i}`);
      if (covered.has(i)) throw new Error(`BUG: inode ${as.host.ino} folios overlap at ${i}`);
      covered.add(i);
      if ((p.flags[pfn]! ^ p.flags[pfn0]!) & PG_readahead) throw new Error(`BUG: inode ${as.host.ino} folio at ${head}: page ${i} flags differ`);
    }
  }
}

/**
 * A huge PMD: an empty deposited table, inside one eligible anonymous VMA,
 * mapping the huge zero page or a whole PMD-sized anonymous folio (each frame
 * counted as mapped once more, RSS as anonymous).
 */
function validateHugePmd(k: Kernel, mm: MmStruct, t: PageTable, base: number, mapcount: Int32Array, rss: number[], pmdMapped: Map<number, number>): void {
  const p = k.phys;
  const nr = mm.indexMask + 1;
  const addr = base * mm.pageSize;
  if (t.used !== 0 || t.flags!.some((f) => f !== 0)) throw new Error(`BUG: huge PMD at ${addr.toString(16)} has PTEs`);
  if (!(t.hugeFlags & PTE_PRESENT)) throw new Error(`BUG: huge PMD at ${addr.toString(16)} not present`);
  const vma = mm.vmas.lookup(addr);
  if (vma === null || !vma.isAnonymous || vma.start > addr || vma.end < addr + k.arch.pmdSize) {
    throw new Error(`BUG: huge PMD at ${addr.toString(16)} not inside one anonymous VMA`);
  }
  if (t.hugeFlags & PTE_SPECIAL) {
    if (t.hugePfn !== ZERO_PFN || t.hugeFlags & PTE_WRITE) throw new Error('BUG: special huge PMD not the read-only huge zero page');
    return;
  }
  const head = t.hugePfn;
  if (head % nr !== 0 || head + nr > p.maxPfn) throw new Error(`BUG: huge PMD at ${addr.toString(16)} maps unaligned folio ${head}`);
  for (let i = 0; i < nr; i++) {
    const pfn = head + i;
    const f = p.flags[pfn]!;
    if (p.isFree(pfn)) throw new Error(`BUG: huge PMD at ${addr.toString(16)} maps free frame ${pfn}`);
    if (!(f & PG_anon) || !(f & (i === 0 ? PG_head : PG_tail))) throw new Error(`BUG: huge PMD at ${addr.toString(16)}: frame ${pfn} is not part of an anonymous large folio`);
    mapcount[pfn]!++;
    rss[MM_ANONPAGES]!++;
  }
  pmdMapped.set(head, (pmdMapped.get(head) ?? 0) + 1);
}
