/**
 * The typed stream of the kernel's internal steps. Emitting costs one branch
 * when nobody listens: callers test `k.tracing` before building an event.
 */
export type KernelEvent =
  | { type: 'syscall_return'; pid: number; name: string; result: string }
  | { type: 'fault'; pid: number; addr: number; write: boolean; vmaStart: number | null }
  | { type: 'fault_handler'; handler: string; addr: number; detail?: string }
  | { type: 'fault_done'; addr: number; major: boolean; result: string }
  | { type: 'page_alloc'; pfn: number; purpose: 'anon' | 'pagecache' | 'cow' | 'pagetable' | 'shmem' | 'thp' }
  | { type: 'page_free'; pfn: number }
  | { type: 'pte_install'; addr: number; pfn: number; flags: string[]; level: number }
  | { type: 'pte_update'; addr: number; pfn: number; flags: string[] }
  | { type: 'pte_clear'; addr: number; pfn: number }
  | { type: 'pgtable_alloc'; level: string; pfn: number; addr: number }
  | { type: 'pgtable_free'; level: string; pfn: number }
  | { type: 'cow_copy'; addr: number; from: number; to: number; zero: boolean }
  | { type: 'page_reuse'; addr: number; pfn: number }
  | { type: 'pagecache_hit'; ino: number; index: number; pfn: number }
  | { type: 'pagecache_miss'; ino: number; index: number }
  | { type: 'readahead'; ino: number; start: number; count: number; async: boolean; mark: number }
  | { type: 'fault_around'; start: number; end: number; mapped: number }
  | { type: 'io_read'; ino: number; index: number; pages: number }
  | { type: 'io_write'; ino: number; index: number; pages: number }
  | { type: 'writeback'; ino: number; index: number; pfn: number }
  | { type: 'page_mkclean'; ino: number; index: number; ptes: number }
  | { type: 'pagecache_remove'; ino: number; index: number; pfn: number }
  | { type: 'tlb_flush'; scope: 'page' | 'range' | 'all'; start: number; end: number }
  | { type: 'tlb_fill'; addr: number; pfn: number; write: boolean }
  | { type: 'vma_new'; start: number; end: number; flags: number }
  | { type: 'vma_merge'; start: number; end: number }
  | { type: 'vma_split'; at: number; start: number; end: number }
  | { type: 'vma_remove'; start: number; end: number }
  | { type: 'vma_change'; start: number; end: number; flags: number }
  | { type: 'unmapped_area'; len: number; result: number; topdown: boolean }
  | { type: 'signal'; pid: number; signal: string; code: string; addr: number }
  | { type: 'huge_pmd'; op: 'map' | 'zero' | 'split' | 'zap' | 'copy' | 'move' | 'reuse' | 'protect'; addr: number; pfn: number }
  | { type: 'truncate'; ino: number; from: number; to: number }
  | { type: 'guard'; op: 'install' | 'remove'; start: number; end: number };

export type KernelEventListener = (event: KernelEvent) => void;

/**
 * The kernel's event stream as Machine.subscribe() delivers it: one event
 * per internal step, discriminated by `type`, with virtual addresses and
 * address-range lengths as 64-bit bigints (the model's hot path keeps them
 * as numbers; the Machine converts each event on the way out). Frame
 * numbers, inode numbers, file page indexes and file sizes are numbers.
 * Events arrive synchronously, during the call that causes them, in the
 * order the kernel functions named here run.
 */
export type MachineEvent =
  | {
      /** A syscall returned: its value in hex, or `-ERRNO NAME`. */
      type: 'syscall_return';
      /** The calling thread. */
      pid: number;
      /** The syscall's name. */
      name: string;
      /** `0x...` or e.g. `-12 ENOMEM`. */
      result: string;
    }
  | {
      /** do_user_addr_fault(): a load or store missed a usable page-table entry. */
      type: 'fault';
      /** The faulting thread. */
      pid: number;
      /** The faulting address. */
      addr: bigint;
      /** A store (else a load). */
      write: boolean;
      /** The start of the VMA at or above addr, or null for none. */
      vmaStart: bigint | null;
    }
  | {
      /** The handler __handle_mm_fault() chose (do_anonymous_page, do_read_fault, do_cow_fault, do_shared_fault, do_wp_page...). */
      type: 'fault_handler';
      /** The kernel function's name. */
      handler: string;
      /** The faulting address. */
      addr: bigint;
      /** What it did, when it says (e.g. "zero page"). */
      detail?: string;
    }
  | {
      /** The fault was handled. */
      type: 'fault_done';
      /** The faulting address. */
      addr: bigint;
      /** VM_FAULT_MAJOR: the page was read from the disk. */
      major: boolean;
      /** "ok" or "error" (a signal follows). */
      result: string;
    }
  | {
      /** A frame was allocated. */
      type: 'page_alloc';
      /** The frame. */
      pfn: number;
      /** What for. */
      purpose: 'anon' | 'pagecache' | 'cow' | 'pagetable' | 'shmem' | 'thp';
    }
  | {
      /** A frame was freed. */
      type: 'page_free';
      /** The frame. */
      pfn: number;
    }
  | {
      /** set_pte_at(): a page-table entry now maps a frame. */
      type: 'pte_install';
      /** The virtual address it maps. */
      addr: bigint;
      /** The frame. */
      pfn: number;
      /** The PTE flags set, by name. */
      flags: string[];
      /** The page-table level (0 is the top). */
      level: number;
    }
  | {
      /** A present entry's flags changed (write-protect, make writable, clear dirty...). */
      type: 'pte_update';
      /** The virtual address. */
      addr: bigint;
      /** The frame. */
      pfn: number;
      /** The PTE flags now set. */
      flags: string[];
    }
  | {
      /** A present entry was cleared (zap, unmap, migration of the mapping). */
      type: 'pte_clear';
      /** The virtual address. */
      addr: bigint;
      /** The frame it mapped. */
      pfn: number;
    }
  | {
      /** A page table was allocated. */
      type: 'pgtable_alloc';
      /** The level of the new table. */
      level: string;
      /** Its frame. */
      pfn: number;
      /** An address it covers. */
      addr: bigint;
    }
  | {
      /** free_pgtables(): a page table was freed. */
      type: 'pgtable_free';
      /** The level of the table. */
      level: string;
      /** Its frame. */
      pfn: number;
    }
  | {
      /** wp_page_copy(): copy-on-write. */
      type: 'cow_copy';
      /** The faulting address. */
      addr: bigint;
      /** The frame copied from. */
      from: number;
      /** The new frame. */
      to: number;
      /** The source was the zero page: the new frame is zero-filled, not copied. */
      zero: boolean;
    }
  | {
      /** wp_page_reuse(): a write fault made the page writable in place. */
      type: 'page_reuse';
      /** The faulting address. */
      addr: bigint;
      /** The frame. */
      pfn: number;
    }
  | {
      /** filemap_get_folio() found the page in the cache. */
      type: 'pagecache_hit';
      /** The file's inode number. */
      ino: number;
      /** The page's index in the file. */
      index: number;
      /** Its frame. */
      pfn: number;
    }
  | {
      /** The page was not in the cache. */
      type: 'pagecache_miss';
      /** The file's inode number. */
      ino: number;
      /** The page's index in the file. */
      index: number;
    }
  | {
      /** page_cache_ra_order()/ondemand_readahead(): a window of pages was read ahead. */
      type: 'readahead';
      /** The file's inode number. */
      ino: number;
      /** The first page index of the window. */
      start: number;
      /** Pages in the window. */
      count: number;
      /** Asynchronous readahead (a PG_readahead mark was hit). */
      async: boolean;
      /** Page index of the new PG_readahead mark. */
      mark: number;
    }
  | {
      /** do_fault_around(): pages around a read fault mapped from the page cache without faults of their own. */
      type: 'fault_around';
      /** The first address of the window. */
      start: bigint;
      /** The address after it. */
      end: bigint;
      /** Pages mapped. */
      mapped: number;
    }
  | {
      /** A read from the simulated disk. */
      type: 'io_read';
      /** The file's inode number. */
      ino: number;
      /** The first page index read. */
      index: number;
      /** Pages read. */
      pages: number;
    }
  | {
      /** A write to the simulated disk. */
      type: 'io_write';
      /** The file's inode number. */
      ino: number;
      /** The first page index written. */
      index: number;
      /** Pages written. */
      pages: number;
    }
  | {
      /** A dirty page-cache page went to writeback. */
      type: 'writeback';
      /** The file's inode number. */
      ino: number;
      /** The page index. */
      index: number;
      /** Its frame. */
      pfn: number;
    }
  | {
      /** folio_mkclean(): shared mappings of a page written back were write-protected, so the next store faults and dirties it again. */
      type: 'page_mkclean';
      /** The file's inode number. */
      ino: number;
      /** The page index. */
      index: number;
      /** Page-table entries write-protected. */
      ptes: number;
    }
  | {
      /** A page left the page cache (truncation, hole punch, invalidation). */
      type: 'pagecache_remove';
      /** The file's inode number. */
      ino: number;
      /** The page index. */
      index: number;
      /** Its frame. */
      pfn: number;
    }
  | {
      /** TLB entries of an address space were flushed. */
      type: 'tlb_flush';
      /** One page, a range or everything. */
      scope: 'page' | 'range' | 'all';
      /** The first address flushed. */
      start: bigint;
      /** The address after the last. */
      end: bigint;
    }
  | {
      /** A page walk filled a TLB entry. */
      type: 'tlb_fill';
      /** The page's virtual address. */
      addr: bigint;
      /** The frame. */
      pfn: number;
      /** The entry allows stores. */
      write: boolean;
    }
  | {
      /** A VMA was created. */
      type: 'vma_new';
      /** Its first address. */
      start: bigint;
      /** The address after it. */
      end: bigint;
      /** Its vm_flags. */
      flags: number;
    }
  | {
      /** vma_merge(): a VMA was merged with a neighbour (the range is the result). */
      type: 'vma_merge';
      /** The merged VMA's first address. */
      start: bigint;
      /** The address after it. */
      end: bigint;
    }
  | {
      /** __split_vma(): a VMA was split in two. */
      type: 'vma_split';
      /** Where it was split. */
      at: bigint;
      /** The first address of the two parts. */
      start: bigint;
      /** The address after the second. */
      end: bigint;
    }
  | {
      /** A VMA was removed. */
      type: 'vma_remove';
      /** Its first address. */
      start: bigint;
      /** The address after it. */
      end: bigint;
    }
  | {
      /** A VMA's flags changed (mprotect, mlock, madvise). */
      type: 'vma_change';
      /** Its first address. */
      start: bigint;
      /** The address after it. */
      end: bigint;
      /** Its new vm_flags. */
      flags: number;
    }
  | {
      /** get_unmapped_area() chose an address. */
      type: 'unmapped_area';
      /** The length asked for, in bytes. */
      len: bigint;
      /** The address chosen. */
      result: bigint;
      /** Searched top-down from mmap_base. */
      topdown: boolean;
    }
  | {
      /** A signal was delivered for a failed access. */
      type: 'signal';
      /** The thread. */
      pid: number;
      /** SIGSEGV, SIGBUS or SIGKILL (out of memory). */
      signal: string;
      /** The si_code's name (SEGV_MAPERR, SEGV_ACCERR, BUS_ADRERR, OOM...). */
      code: string;
      /** si_addr. */
      addr: bigint;
    }
  | {
      /** A huge PMD (transparent huge page) was mapped, split, zapped, copied, moved, reused or protected. */
      type: 'huge_pmd';
      /** What happened. */
      op: 'map' | 'zero' | 'split' | 'zap' | 'copy' | 'move' | 'reuse' | 'protect';
      /** The PMD-aligned address. */
      addr: bigint;
      /** The folio's first frame (the zero page for "zero"). */
      pfn: number;
    }
  | {
      /** A file's size changed (truncate_pagecache()). */
      type: 'truncate';
      /** The file's inode number. */
      ino: number;
      /** The old size in bytes. */
      from: number;
      /** The new size in bytes. */
      to: number;
    }
  | {
      /** MADV_GUARD_INSTALL / MADV_GUARD_REMOVE: guard markers set or cleared. */
      type: 'guard';
      /** Installed or removed. */
      op: 'install' | 'remove';
      /** The first address. */
      start: bigint;
      /** The address after the last. */
      end: bigint;
    };

/** A listener for Machine.subscribe(). */
export type MachineEventListener = (event: MachineEvent) => void;

type EventType = KernelEvent['type'];
type Converted<T extends EventType> = Extract<MachineEvent, { type: T }>;
type BigintKeys<E> = { [K in keyof E]-?: bigint extends E[K] ? K : never }[keyof E];

/** The fields of each event type that hold an address or an address-range length. */
const ADDRESS_FIELDS = {
  syscall_return: [], fault: ['addr', 'vmaStart'], fault_handler: ['addr'], fault_done: ['addr'],
  page_alloc: [], page_free: [], pte_install: ['addr'], pte_update: ['addr'], pte_clear: ['addr'],
  pgtable_alloc: ['addr'], pgtable_free: [], cow_copy: ['addr'], page_reuse: ['addr'],
  pagecache_hit: [], pagecache_miss: [], readahead: [], fault_around: ['start', 'end'],
  io_read: [], io_write: [], writeback: [], page_mkclean: [], pagecache_remove: [],
  tlb_flush: ['start', 'end'], tlb_fill: ['addr'], vma_new: ['start', 'end'], vma_merge: ['start', 'end'],
  vma_split: ['at', 'start', 'end'], vma_remove: ['start', 'end'], vma_change: ['start', 'end'],
  unmapped_area: ['len', 'result'], signal: ['addr'], huge_pmd: ['addr'], truncate: [], guard: ['start', 'end'],
} as const satisfies { readonly [T in EventType]: readonly BigintKeys<Converted<T>>[] };

/** A KernelEvent as the Machine's subscribers see it: a copy with its address fields as bigints. */
export function toMachineEvent(e: KernelEvent): MachineEvent {
  const out: Record<string, unknown> = { ...e };
  for (const f of ADDRESS_FIELDS[e.type] as readonly string[]) {
    const v = out[f];
    if (typeof v === 'number') out[f] = BigInt(v);
  }
  return out as MachineEvent;
}

// Compile-time checks: MachineEvent is KernelEvent with bigints exactly where
// ADDRESS_FIELDS lists them, so the two lists and the table cannot drift apart.
type Numbers<E> = { [K in keyof E]: E[K] extends bigint ? number : E[K] extends bigint | null ? number | null : E[K] };
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type AllTrue<C> = false extends C[keyof C] ? never : true;
const eventTypesAgree: AllTrue<{ [T in EventType]: Same<Numbers<Converted<T>>, Extract<KernelEvent, { type: T }>> }> = true;
const addressFieldsComplete: AllTrue<{ [T in EventType]: Same<(typeof ADDRESS_FIELDS)[T][number], BigintKeys<Converted<T>>> }> = true;
void eventTypesAgree;
void addressFieldsComplete;
