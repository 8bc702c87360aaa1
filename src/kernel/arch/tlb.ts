/**
 * A software TLB per address space: a direct-mapped cache of translations
 * filled on a successful page walk and flushed where Linux flushes
 * (flush_tlb_range() on munmap and mprotect, flush_tlb_page() on a COW break
 * or writeback's page_mkclean(), flush_tlb_mm() on teardown).
 *
 * An entry grants reads, and writes only once the PTE is writable and dirty,
 * so the first store to a clean page still reaches the page walk and sets
 * the dirty bit, as the hardware does. Above 33 pages a range flush becomes
 * a full flush (tlb_single_page_flush_ceiling on x86).
 *
 * Beside the translations it caches the last leaf page table a walk reached
 * (the paging-structure cache, x86's PDE cache): a miss on a neighbouring
 * page reads that table's entry without walking from the top. The entry
 * itself is read afresh each time, so only freeing or moving a table must
 * drop the cache (dropWalkCache(), as Linux flushes after free_pgtables()).
 * Deviation: one TLB per address space, not per CPU; no ASIDs or PCID.
 */
import type { PageTable } from '../mm/pgtable.js';

export const TLB_ENTRIES = 512;
const MASK = TLB_ENTRIES - 1;
export const TLB_READ = 1;
export const TLB_WRITE = 2;
export const TLB_FLUSH_CEILING = 33;

export class Tlb {
  /** Virtual page number per slot, -1 when empty. */
  readonly vpn = new Float64Array(TLB_ENTRIES).fill(-1);
  readonly pfn = new Int32Array(TLB_ENTRIES);
  readonly perm = new Uint8Array(TLB_ENTRIES);
  /** The paging-structure cache: the leaf table of the last walk, and its first vpn (-1: none). */
  walkLeaf: PageTable | null = null;
  walkBase = -1;
  fills = 0;
  flushesOne = 0;
  flushesAll = 0;

  fill(vpn: number, pfn: number, perm: number): void {
    const i = vpn & MASK;
    this.vpn[i] = vpn;
    this.pfn[i] = pfn;
    this.perm[i] = perm;
    this.fills++;
  }

  /** flush_tlb_page() */
  flushPage(vpn: number): void {
    const i = vpn & MASK;
    if (this.vpn[i] === vpn) this.vpn[i] = -1;
    this.flushesOne++;
  }

  /** flush_tlb_range(): per page up to the ceiling, else everything. */
  flushRange(startVpn: number, endVpn: number): 'range' | 'all' {
    if (endVpn - startVpn > TLB_FLUSH_CEILING) {
      this.flushAll();
      return 'all';
    }
    for (let v = startVpn; v < endVpn; v++) {
      const i = v & MASK;
      if (this.vpn[i] === v) this.vpn[i] = -1;
    }
    this.flushesOne += endVpn - startVpn;
    return 'range';
  }

  /** flush_tlb_mm() */
  flushAll(): void {
    this.vpn.fill(-1);
    this.dropWalkCache();
    this.flushesAll++;
  }

  /** Forget the cached leaf table: a table was freed or moved. */
  dropWalkCache(): void {
    this.walkLeaf = null;
    this.walkBase = -1;
  }

  /** The slot caching vpn, or -1 (for display; changes nothing). */
  probe(vpn: number): number {
    const i = vpn & MASK;
    return this.vpn[i] === vpn ? i : -1;
  }
}
