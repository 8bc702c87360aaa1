/**
 * struct mm_struct: one address space, shared by the threads of a process
 * (include/linux/mm_types.h).
 */
import type { Kernel } from '../kernel.js';
import { Tlb } from '../arch/tlb.js';
import { PageTable, levelDivisors, pteLookup } from './pgtable.js';
import { VmaTree } from './vma.js';
import { splitHugePmdIfNeeded } from './huge-memory.js';

/** RSS counter indexes (MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES). */
export const MM_FILEPAGES = 0;
export const MM_ANONPAGES = 1;
export const MM_SWAPENTS = 2;
export const MM_SHMEMPAGES = 3;

let nextMmId = 1;

export class MmStruct {
  readonly id = nextMmId++;
  readonly k: Kernel;
  readonly vmas = new VmaTree();
  readonly pgd: PageTable;
  readonly tlb = new Tlb();
  /** Per-level vpn divisors and the index mask, cached for the walk. */
  readonly divisors: readonly number[];
  readonly indexMask: number;
  readonly pageSize: number;
  readonly pageShift: number;
  /** Where top-down allocation starts (mm->mmap_base). */
  mmapBase: number;
  readonly taskSize: number;
  startCode = 0;
  endCode = 0;
  startData = 0;
  endData = 0;
  startBrk = 0;
  brk = 0;
  startStack = 0;
  /**
   * Pages carrying a guard marker (MADV_GUARD_INSTALL), null while none do:
   * see guard.ts for why a set beside the page table.
   */
  guards: Set<number> | null = null;
  /** RSS by counter (MM_FILEPAGES...). */
  readonly rss = [0, 0, 0, 0];
  hiwaterRss = 0;
  hiwaterVm = 0;
  totalVm = 0;
  lockedVm = 0;
  pinnedVm = 0;
  dataVm = 0;
  execVm = 0;
  stackVm = 0;
  /** mm_pgtables_bytes(): page tables below the PGD. */
  pgtablesBytes = 0;
  /** mm_inc_nr_ptes()/mm_dec_nr_ptes() as callbacks for pteAlloc()/freePgtables(), made once per mm. */
  readonly chargePgtables = (bytes: number): void => {
    this.pgtablesBytes += bytes;
  };
  readonly unchargePgtables = (bytes: number): void => {
    this.pgtablesBytes -= bytes;
  };
  /** mm->def_flags: VM_LOCKED and friends from mlockall(MCL_FUTURE). */
  defFlags = 0;
  /** Tasks using this mm (mm_users). */
  users = 0;
  /** Huge PMDs mapped (anonymous THPs and huge zero pages): range walks skip the huge-PMD pass at 0. */
  nrHugePmds = 0;

  /** An address space whose top-level table is the frame pgdPfn (use mmAlloc()). */
  constructor(k: Kernel, mmapBase: number, pgdPfn: number) {
    this.k = k;
    const arch = k.arch;
    this.pageSize = arch.pageSize;
    this.pageShift = arch.pageShift;
    this.taskSize = arch.taskSize;
    this.mmapBase = mmapBase;
    this.divisors = levelDivisors(arch.levels, arch.bitsPerLevel);
    this.indexMask = arch.ptrsPerTable - 1;
    this.pgd = new PageTable(0, arch.levels === 1, arch.ptrsPerTable, pgdPfn);
    // vma_adjust_trans_huge(): a VMA boundary moving inside a huge PMD splits it.
    this.vmas.onAdjust = (start, end) => {
      if (this.nrHugePmds === 0) return;
      splitHugePmdIfNeeded(k, this, start);
      splitHugePmdIfNeeded(k, this, end);
    };
  }

  get mapCount(): number {
    return this.vmas.count;
  }

  get rssPages(): number {
    return this.rss[MM_FILEPAGES]! + this.rss[MM_ANONPAGES]! + this.rss[MM_SHMEMPAGES]!;
  }

  updateHiwaterRss(): void {
    const r = this.rssPages;
    if (r > this.hiwaterRss) this.hiwaterRss = r;
  }

  /**
   * The leaf table covering vpn as the MMU's walk finds it, through the
   * paging-structure cache (Tlb.walkLeaf), or null. No side effects on the
   * page tables.
   */
  leafTable(vpn: number): PageTable | null {
    const tlb = this.tlb;
    const d = vpn - tlb.walkBase;
    if (d >= 0 && d <= this.indexMask && tlb.walkLeaf !== null) return tlb.walkLeaf;
    const t = pteLookup(this.pgd, vpn, this.divisors, this.indexMask);
    if (t !== null) {
      tlb.walkLeaf = t;
      tlb.walkBase = vpn - (vpn & this.indexMask);
    }
    return t;
  }

  /** A page table was freed or moved: the walk cache may point at it (tlb_remove_table() forces a flush). */
  pgtablesChanged(): void {
    this.tlb.dropWalkCache();
  }

  flushTlbPage(vpn: number): void {
    this.tlb.flushPage(vpn);
    this.k.vmstat.nrTlbLocalFlushOne++;
    if (this.k.tracing) this.k.emit({ type: 'tlb_flush', scope: 'page', start: vpn * this.pageSize, end: (vpn + 1) * this.pageSize });
  }

  flushTlbRange(startVpn: number, endVpn: number): void {
    if (endVpn <= startVpn) return;
    const scope = this.tlb.flushRange(startVpn, endVpn);
    if (scope === 'all') this.k.vmstat.nrTlbLocalFlushAll++;
    else this.k.vmstat.nrTlbLocalFlushOne += endVpn - startVpn;
    if (this.k.tracing) this.k.emit({ type: 'tlb_flush', scope, start: startVpn * this.pageSize, end: endVpn * this.pageSize });
  }

  /**
   * flush_pmd_tlb_range(): drop the translations of one huge PMD. x86 flushes
   * with a PMD stride, one invalidation; the software TLB holds base pages.
   */
  flushTlbPmd(baseVpn: number, nr: number): void {
    const tlb = this.tlb;
    for (let v = baseVpn; v < baseVpn + nr; v++) if (tlb.probe(v) >= 0) tlb.flushPage(v);
    this.k.vmstat.nrTlbLocalFlushOne++;
    if (this.k.tracing) this.k.emit({ type: 'tlb_flush', scope: 'range', start: baseVpn * this.pageSize, end: (baseVpn + nr) * this.pageSize });
  }

  flushTlbAll(): void {
    this.tlb.flushAll();
    this.k.vmstat.nrTlbLocalFlushAll++;
    if (this.k.tracing) this.k.emit({ type: 'tlb_flush', scope: 'all', start: 0, end: this.taskSize });
  }
}

/** mm_alloc() with pgd_alloc(): a new, empty address space, or null when no frame is left for its top-level table. */
export function mmAlloc(k: Kernel, mmapBase: number): MmStruct | null {
  const pfn = k.phys.allocPageTable();
  return pfn < 0 ? null : new MmStruct(k, mmapBase, pfn);
}
