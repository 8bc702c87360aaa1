/**
 * Physical memory: page frames with the kernel's per-page state
 * (include/linux/mm_types.h struct page / struct folio, include/linux/page-flags.h),
 * allocated and freed as mm/page_alloc.c does.
 *
 * A frame is a small integer, its page frame number (pfn). Per-frame state
 * lives in typed arrays indexed by pfn rather than one object per frame, and
 * frame contents live in large chunks, so a gigabyte of simulated memory costs
 * little more than a gigabyte. Frame 0 is the shared zero page.
 *
 * Deviation: folios are single base pages except the PMD-sized anonymous
 * folios of transparent huge pages (allocHugeFolio()); there is no NUMA,
 * zones, buddy orders or per-cpu lists; frames come from a LIFO free list,
 * which keeps the model deterministic.
 */

/** Page flags (one bit each, in `flags[pfn]`). */
export const PG_locked = 1 << 0;
export const PG_referenced = 1 << 1;
export const PG_uptodate = 1 << 2;
export const PG_dirty = 1 << 3;
export const PG_lru = 1 << 4;
export const PG_active = 1 << 5;
/** PageAnon(): folio->mapping points at an anon_vma. */
export const PG_anon = 1 << 6;
export const PG_swapbacked = 1 << 7;
export const PG_reserved = 1 << 8;
/** PageTable(): the frame holds a page table. */
export const PG_table = 1 << 9;
export const PG_readahead = 1 << 10;
export const PG_mlocked = 1 << 11;
export const PG_unevictable = 1 << 12;
export const PG_writeback = 1 << 13;
/** PageAnonExclusive(): the anon page is known to be mapped by one process only. */
export const PG_anon_exclusive = 1 << 14;
/** Deviation-free marker for the shared zero page (is_zero_pfn()). */
export const PG_zero = 1 << 15;
/** PageHead(): the first frame of a large (PMD-sized) folio. */
export const PG_head = 1 << 16;
/** PageTail(): a later frame of a large folio (its head is the huge PMD's frame). */
export const PG_tail = 1 << 17;

export const PAGE_FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [PG_locked, 'locked'], [PG_referenced, 'referenced'], [PG_uptodate, 'uptodate'], [PG_dirty, 'dirty'],
  [PG_lru, 'lru'], [PG_active, 'active'], [PG_anon, 'anon'], [PG_swapbacked, 'swapbacked'],
  [PG_reserved, 'reserved'], [PG_table, 'table'], [PG_readahead, 'readahead'], [PG_mlocked, 'mlocked'],
  [PG_unevictable, 'unevictable'], [PG_writeback, 'writeback'], [PG_anon_exclusive, 'anon_exclusive'],
  [PG_zero, 'zero'], [PG_head, 'head'], [PG_tail, 'tail'],
];

export const ZERO_PFN = 0;

/** Frames per data chunk. */
const CHUNK_SHIFT = 8;
const CHUNK_FRAMES = 1 << CHUNK_SHIFT;

export class PhysMem {
  readonly pageSize: number;
  /** Total frames of RAM (MemTotal). */
  readonly totalPages: number;
  /** Frames handed out so far (the high-water mark of pfns). */
  private top = 1;
  private capacity = 0;
  refcount = new Int32Array(0);
  mapcount = new Int32Array(0);
  flags = new Uint32Array(0);
  /** Owner: an AddressSpace id for file and shmem pages, an AnonVma id for anonymous ones, 0 for none. */
  mapping = new Int32Array(0);
  /** File page index, or the anonymous page's linear index (vma pgoff space). */
  index = new Float64Array(0);
  private freeList = new Int32Array(0);
  private freeCount = 0;
  /** Frame contents: chunk k holds frames [k << CHUNK_SHIFT, (k + 1) << CHUNK_SHIFT). */
  readonly chunks: (Uint8Array | undefined)[] = [];
  readonly views: (DataView | undefined)[] = [];
  /** Frames in use, by kind, for meminfo. */
  nrUsed = 0;
  nrPageTables = 0;
  /** Entire (PMD) map count of each PMD-mapped anonymous folio, by head frame (NR_ANON_THPS counts them). */
  readonly pmdMapped = new Map<number, number>();
  /** Told of each frame freed while someone traces (the Kernel sets it: a page_free event, trace_mm_page_free()). */
  onFree: ((pfn: number) => void) | null = null;

  /** One page of zeroes, the source of clear_page(). */
  private readonly zeroes: Uint8Array;

  constructor(pageSize: number, totalPages: number) {
    this.pageSize = pageSize;
    this.zeroes = new Uint8Array(pageSize);
    this.totalPages = totalPages;
    this.grow(1024);
    // The shared zero page: reserved, never freed, never written.
    this.flags[ZERO_PFN] = PG_reserved | PG_uptodate | PG_zero;
    this.refcount[ZERO_PFN] = 1;
  }

  private grow(min: number): void {
    let cap = Math.max(this.capacity * 2, 1024);
    while (cap < min) cap *= 2;
    cap = Math.min(cap, this.totalPages);
    const copy = <T extends Int32Array | Uint32Array | Float64Array>(old: T, make: (n: number) => T): T => {
      const a = make(cap);
      a.set(old);
      return a;
    };
    this.refcount = copy(this.refcount, (n) => new Int32Array(n));
    this.mapcount = copy(this.mapcount, (n) => new Int32Array(n));
    this.flags = copy(this.flags, (n) => new Uint32Array(n));
    this.mapping = copy(this.mapping, (n) => new Int32Array(n));
    this.index = copy(this.index, (n) => new Float64Array(n));
    this.freeList = copy(this.freeList, (n) => new Int32Array(n));
    this.capacity = cap;
  }

  /** Frames not in use (MemFree). */
  get nrFree(): number {
    return this.totalPages - this.nrUsed - 1;
  }

  /** Highest pfn ever handed out plus one: every valid pfn is below it. */
  get maxPfn(): number {
    return this.top;
  }

  /**
   * alloc_pages(): one frame with refcount 1 and no flags, or -1 when memory is exhausted.
   * With `zero`, its contents are cleared (__GFP_ZERO).
   */
  allocPage(zero: boolean): number {
    let pfn: number;
    if (this.freeCount > 0) {
      pfn = this.freeList[--this.freeCount]!;
    } else {
      if (this.top >= this.totalPages) return -1;
      if (this.top >= this.capacity) this.grow(this.top + 1);
      pfn = this.top++;
      zero = false; // never-used frames are zero already (chunks start zeroed)
    }
    this.refcount[pfn] = 1;
    this.mapcount[pfn] = 0;
    this.flags[pfn] = 0;
    this.mapping[pfn] = 0;
    this.index[pfn] = 0;
    this.nrUsed++;
    if (zero) {
      const chunk = this.chunks[pfn >> CHUNK_SHIFT];
      // A copy from a zero page: V8's fill() of a range is slower than its memcpy (measured 1.6x).
      if (chunk !== undefined) chunk.set(this.zeroes, (pfn & (CHUNK_FRAMES - 1)) * this.pageSize);
    }
    return pfn;
  }

  /**
   * folio_alloc(GFP_TRANSHUGE, HPAGE_PMD_ORDER) with __GFP_ZERO: nr contiguous
   * frames aligned to nr, each with refcount 1, the first PG_head and the
   * others PG_tail; the first frame, or -1 when there is no such run.
   * Deviation: without a buddy allocator, the run is the lowest aligned block
   * of free frames below the high-water mark (taken out of the free list), else
   * frames never used yet (frames skipped to align it go to the free list);
   * when neither exists the allocation fails and the fault falls back to base
   * pages, as Linux's does when compaction finds nothing (no compaction here).
   */
  allocHugeFolio(nr: number): number {
    let first = this.freeBlock(nr);
    if (first >= 0) {
      const end = first + nr;
      let n = 0;
      for (let i = 0; i < this.freeCount; i++) {
        const pfn = this.freeList[i]!;
        if (pfn < first || pfn >= end) this.freeList[n++] = pfn;
      }
      this.freeCount = n;
      for (let pfn = first; pfn < end; pfn++) {
        const chunk = this.chunks[pfn >> CHUNK_SHIFT];
        if (chunk !== undefined) chunk.set(this.zeroes, (pfn & (CHUNK_FRAMES - 1)) * this.pageSize);
      }
    } else {
      first = Math.ceil(this.top / nr) * nr;
      if (first + nr > this.totalPages) return -1;
      if (first + nr > this.capacity) this.grow(first + nr);
      for (let pfn = this.top; pfn < first; pfn++) {
        this.refcount[pfn] = 0;
        this.flags[pfn] = 0;
        this.freeList[this.freeCount++] = pfn;
      }
      this.top = first + nr;
    }
    for (let pfn = first; pfn < first + nr; pfn++) {
      this.refcount[pfn] = 1;
      this.mapcount[pfn] = 0;
      this.flags[pfn] = pfn === first ? PG_head : PG_tail;
      this.mapping[pfn] = 0;
      this.index[pfn] = 0;
    }
    this.nrUsed += nr;
    return first;
  }

  /** The first frame of the lowest nr-aligned block of free frames below the high-water mark, or -1. */
  private freeBlock(nr: number): number {
    if (this.freeCount < nr) return -1;
    // Block 0 holds the zero page.
    for (let first = nr; first + nr <= this.top; first += nr) {
      let i = 0;
      while (i < nr && this.refcount[first + i] === 0) i++;
      if (i === nr) return first;
    }
    return -1;
  }

  /** pagetable_alloc(): a frame for a page table; its entries live in the PageTable object. */
  allocPageTable(): number {
    const pfn = this.allocPage(false);
    if (pfn >= 0) {
      this.flags[pfn] = PG_table;
      this.nrPageTables++;
    }
    return pfn;
  }

  /** Return a frame to the free list (free_unref_page()). */
  freePage(pfn: number): void {
    if (pfn === ZERO_PFN) throw new Error('BUG: freeing the zero page');
    if (this.refcount[pfn] !== 0 || this.mapcount[pfn] !== 0) {
      throw new Error(`BUG: freeing pfn ${pfn} with refcount ${this.refcount[pfn]} mapcount ${this.mapcount[pfn]}`);
    }
    if (this.flags[pfn]! & PG_table) this.nrPageTables--;
    this.flags[pfn] = 0;
    this.mapping[pfn] = 0;
    this.freeList[this.freeCount++] = pfn;
    this.nrUsed--;
    if (this.onFree !== null) this.onFree(pfn);
    // Contents are left as they were: a later allocPage(zero=true) clears them,
    // and page-cache reads overwrite the whole frame.
  }

  /** folio_get() */
  get(pfn: number): void {
    if (pfn !== ZERO_PFN) this.refcount[pfn]!++;
  }

  /** folio_put(): drop a reference, freeing the frame at zero. */
  put(pfn: number): void {
    if (pfn === ZERO_PFN) return;
    const r = --this.refcount[pfn]!;
    if (r < 0) throw new Error(`BUG: refcount underflow on pfn ${pfn}`);
    if (r === 0) this.freePage(pfn);
  }

  isFree(pfn: number): boolean {
    return pfn !== ZERO_PFN && this.refcount[pfn] === 0;
  }

  /** The chunk holding a frame's bytes, allocated on first use. */
  chunkOf(pfn: number): Uint8Array {
    const k = pfn >> CHUNK_SHIFT;
    let chunk = this.chunks[k];
    if (chunk === undefined) {
      chunk = new Uint8Array(CHUNK_FRAMES * this.pageSize);
      this.chunks[k] = chunk;
      this.views[k] = new DataView(chunk.buffer);
    }
    return chunk;
  }

  viewOf(pfn: number): DataView {
    this.chunkOf(pfn);
    return this.views[pfn >> CHUNK_SHIFT]!;
  }

  /** Byte offset of a frame inside its chunk. */
  offsetOf(pfn: number): number {
    return (pfn & (CHUNK_FRAMES - 1)) * this.pageSize;
  }

  /** A frame's bytes as a view (shares memory with the frame). */
  frameBytes(pfn: number): Uint8Array {
    const chunk = this.chunkOf(pfn);
    const off = this.offsetOf(pfn);
    return chunk.subarray(off, off + this.pageSize);
  }

  /** Read-only look at a frame's bytes that allocates nothing (for display and comparisons). */
  peekBytes(pfn: number): Uint8Array | undefined {
    const chunk = this.chunks[pfn >> CHUNK_SHIFT];
    if (chunk === undefined) return undefined;
    const off = this.offsetOf(pfn);
    return chunk.subarray(off, off + this.pageSize);
  }

  copyFrame(dst: number, src: number): void {
    if (src === ZERO_PFN) {
      this.chunkOf(dst).set(this.zeroes, this.offsetOf(dst));
      return;
    }
    this.frameBytes(dst).set(this.frameBytes(src));
  }
}

export function pageFlagNames(flags: number): string[] {
  const out: string[] = [];
  for (const [bit, name] of PAGE_FLAG_NAMES) if (flags & bit) out.push(name);
  return out;
}
