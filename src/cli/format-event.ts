/** One line of text per kernel event, for traces on a terminal. */
import type { KernelEvent, MachineEvent } from '../kernel/events.js';

const hex = (n: number | bigint): string => '0x' + n.toString(16);

/** The kernel's own events (number addresses) or the Machine's (bigint addresses). */
export function formatEvent(e: KernelEvent | MachineEvent): string | null {
  switch (e.type) {
    case 'fault': return `page fault at ${hex(e.addr)} (${e.write ? 'write' : 'read'})`;
    case 'fault_handler': return `  ${e.handler}${e.detail ? `: ${e.detail}` : ''}`;
    case 'fault_done': return `  fault ${e.result}${e.major ? ' (major)' : ' (minor)'}`;
    case 'page_alloc': return `  alloc frame ${e.pfn} for ${e.purpose}`;
    case 'page_free': return `  free frame ${e.pfn}`;
    case 'pte_install': return `  PTE ${hex(e.addr)} -> frame ${e.pfn} [${e.flags.join(' ')}]`;
    case 'pte_update': return `  PTE ${hex(e.addr)} now [${e.flags.join(' ')}]`;
    case 'pte_clear': return `  PTE ${hex(e.addr)} cleared (frame ${e.pfn})`;
    case 'pgtable_alloc': return `  new ${e.level} table in frame ${e.pfn}`;
    case 'pgtable_free': return `  free ${e.level} table frame ${e.pfn}`;
    case 'cow_copy': return `  copy-on-write: frame ${e.from} -> frame ${e.to}${e.zero ? ' (zero page: zero-fill)' : ''}`;
    case 'page_reuse': return `  reuse frame ${e.pfn} in place`;
    case 'pagecache_hit': return `  page cache hit: inode ${e.ino} page ${e.index} in frame ${e.pfn}`;
    case 'pagecache_miss': return `  page cache miss: inode ${e.ino} page ${e.index}`;
    case 'readahead': return `  readahead inode ${e.ino} pages ${e.start}..${e.start + e.count - 1}${e.async ? ' (async)' : ''}`;
    case 'fault_around': return `  fault-around ${hex(e.start)}-${hex(e.end)}: ${e.mapped} pages mapped`;
    case 'io_read': return `  disk read: inode ${e.ino} pages ${e.index}..${e.index + e.pages - 1}`;
    case 'io_write': return `  disk write: inode ${e.ino} pages ${e.index}..${e.index + e.pages - 1}`;
    case 'writeback': return `  writeback inode ${e.ino} page ${e.index}`;
    case 'page_mkclean': return `  page_mkclean inode ${e.ino} page ${e.index}: ${e.ptes} PTEs write-protected`;
    case 'pagecache_remove': return `  page cache drop: inode ${e.ino} page ${e.index}`;
    case 'tlb_flush': return `  TLB flush ${e.scope} ${hex(e.start)}-${hex(e.end)}`;
    case 'tlb_fill': return null;
    case 'vma_new': return `  new VMA ${hex(e.start)}-${hex(e.end)}`;
    case 'vma_merge': return `  VMA merged: ${hex(e.start)}-${hex(e.end)}`;
    case 'vma_split': return `  VMA split at ${hex(e.at)}`;
    case 'vma_remove': return `  VMA removed ${hex(e.start)}-${hex(e.end)}`;
    case 'vma_change': return `  VMA ${hex(e.start)}-${hex(e.end)} flags changed`;
    case 'unmapped_area': return `  get_unmapped_area(${e.len}) = ${hex(e.result)}`;
    case 'signal': return `  signal ${e.signal} (${e.code}) at ${hex(e.addr)}`;
    case 'huge_pmd': return `  huge PMD ${hex(e.addr)} ${e.op}${e.op === 'zero' ? ' (huge zero page)' : ` (folio at frame ${e.pfn})`}`;
    case 'truncate': return `  truncate inode ${e.ino}: ${e.from} -> ${e.to} bytes`;
    case 'guard': return `  guard markers ${e.op === 'install' ? 'installed' : 'removed'} ${hex(e.start)}-${hex(e.end)}`;
    case 'syscall_return': return null;
  }
}
