/**
 * The typed stream of the kernel's internal steps. Emitting costs one branch
 * when nobody listens: callers test `k.tracing` before building an event.
 */
export type KernelEvent =
  | { type: 'syscall_return'; pid: number; name: string; result: string }
  | { type: 'fault'; pid: number; addr: number; write: boolean; vmaStart: number | null }
  | { type: 'fault_handler'; handler: string; addr: number; detail?: string }
  | { type: 'fault_done'; addr: number; major: boolean; result: string }
  | { type: 'page_alloc'; pfn: number; purpose: 'anon' | 'pagecache' | 'cow' | 'pagetable' | 'shmem' }
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
