/**
 * Read-only views of the model's state for display (the CLI, the web
 * explorer, embedders). Taking a snapshot changes nothing: no accessed or
 * dirty bit, no TLB fill, no counter, no allocation inside the model.
 * Addresses are bigint at this boundary.
 */
import type { Kernel } from './kernel.js';
import { encodePte, pteFlagNames, PTE_PRESENT, PTE_SPECIAL, PTE_WRITE } from './arch/pte.js';
import type { AddressSpace } from './mm/filemap.js';
import { type MmStruct, MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES } from './mm/mm-struct.js';
import { pageFlagNames, PG_anon, PG_dirty, PG_table, PG_uptodate, PG_writeback, ZERO_PFN } from './mm/page-alloc.js';
import { forEachPresentPte, type PageTable } from './mm/pgtable.js';
import { forEachHugePmd } from './mm/huge-memory.js';
import { vmFlagsMnemonics } from './mm/vm-flags.js';
import { meminfoCounts } from './proc/meminfo.js';
import { vmaName, vmSizes } from './proc/task-mmu.js';
import type { Process } from './sched.js';
import type { VmStat } from './vmstat.js';

/** One VMA as /proc/PID/maps and smaps describe it (show_map_vma(), show_smap_vma_flags()). */
export interface VmaSnapshot {
  /** vm_start: the first address, page aligned. */
  start: bigint;
  /** vm_end: the address after the last byte. */
  end: bigint;
  /** vm_flags: the VM_* bits (include/linux/mm.h), e.g. VM_READ = 0x1, VM_SHARED = 0x8. */
  flags: number;
  /** smaps VmFlags mnemonics, e.g. "rd wr mr mw me ac". */
  flagNames: string;
  /** The maps permission column: r, w, x and s (shared) or p (private). */
  perms: string;
  /** vm_pgoff: the file offset of `start`, in pages (for anonymous VMAs, start / page size as Linux sets it). */
  pgoff: number;
  /** The /proc/PID/maps label ('' for none). */
  name: string;
  /** What backs the VMA: anonymous memory, a file (private or shared), shmem, the heap, the stack or a special mapping ([vdso], [vvar]). */
  kind: 'anon' | 'file-private' | 'file-shared' | 'shmem' | 'hugetlb' | 'heap' | 'stack' | 'special';
  /** The mapped file's inode number, or null for anonymous memory. */
  ino: number | null;
  /** Base pages of the VMA mapped by present page-table entries (huge PMDs count as their base pages; the zero page counts). */
  resident: number;
}

/** One level of a page-table walk. */
export interface WalkLevel {
  /** The level's name in the profile: pgd, pud, pmd, pte (x86_64 and arm64 with 4 KiB pages). */
  level: string;
  /** The address's index into this level's table. */
  index: number;
  /** The frame holding this level's table, or null when the walk stopped above it. */
  tableFrame: number | null;
  /** Whether the entry at `index` points to a table or maps a page. */
  present: boolean;
}

/** The page-table walk for one address (the MMU's walk, without setting accessed or dirty bits or filling the TLB). */
export interface PageWalk {
  /** The address walked. */
  addr: bigint;
  /** Every level from the top, including those below a missing entry (with tableFrame null). */
  levels: WalkLevel[];
  /** The leaf entry, when the walk reached a present one, else null. */
  pte: {
    /** The frame it maps. */
    pfn: number;
    /** Its flags by name (present, write, user, accessed, dirty, nx...). */
    flags: string[];
    /** The entry's 64 bits in the profile's hardware format (x86 or arm64). */
    raw: bigint;
  } | null;
  /** The TLB slot caching the address's page, or -1. */
  tlbSlot: number;
}

/** One physical frame (struct page). */
export interface FrameSnapshot {
  /** The page frame number (0 is the shared zero page). */
  pfn: number;
  /** page_ref_count(). */
  refcount: number;
  /** page_mapcount(): page-table entries mapping it. */
  mapcount: number;
  /** The PG_* flags set, by name: locked, uptodate, dirty, lru, anon, writeback, head, tail... */
  flags: string[];
  /** What the frame holds. */
  kind: 'zero' | 'anon' | 'file' | 'shmem' | 'pagetable' | 'free';
  /** Inode number for file and shmem pages, else null. */
  ino: number | null;
  /** page->index: the page's offset in its file (file and shmem pages), in pages. */
  index: number;
}

/** One file's page cache (its address_space). */
export interface PageCacheSnapshot {
  /** The inode number. */
  ino: number;
  /** The file's path in the model, or null (shared anonymous memory, an unlinked file). */
  path: string | null;
  /** i_size in bytes. */
  size: number;
  /** Pages in the cache in file order. */
  pages: {
    /** The page's index in the file (its offset in pages). */
    index: number;
    /** The frame holding it. */
    pfn: number;
    /** Its PG_* flags by name. */
    flags: string[];
  }[];
  /** How many of `pages` are uptodate (PG_uptodate: their contents are valid). */
  uptodate: number;
  /** How many of `pages` are dirty (PG_dirty: newer than the disk, waiting for writeback). */
  dirty: number;
  /** How many of `pages` are under writeback (PG_writeback). */
  writeback: number;
}

/** One TLB entry (the model has one direct-mapped TLB per address space). */
export interface TlbSnapshot {
  /** The slot in the TLB. */
  slot: number;
  /** The virtual address of the cached page. */
  addr: bigint;
  /** The frame it translates to. */
  pfn: number;
  /** Whether the entry allows stores (a store through a read-only entry walks the page table again). */
  writable: boolean;
}

/** One present leaf mapping of an address space, as /proc/PID/pagemap reports it (pagemap_pmd_range()). */
export interface PageMapping {
  /** The virtual address of the page. */
  addr: bigint;
  /** The frame mapped there. */
  pfn: number;
  /** Whether the entry allows writes (a copy-on-write or clean shared page does not). */
  writable: boolean;
  /** Whether the page is mapped by a huge PMD (a transparent huge page). */
  huge: boolean;
}

/** The global event counters of /proc/vmstat (mm/vmstat.c), counted since the machine started. */
export interface VmstatCounters {
  /** Page faults that reached the fault handler (major ones included). */
  pgfault: number;
  /** Major faults: the page had to be read from the disk. */
  pgmajfault: number;
  /** Kilobytes read from the disk (only blocks actually read: a hole reads as zeros without I/O). */
  pgpgin: number;
  /** Kilobytes written to the disk. */
  pgpgout: number;
  /** Pages allocated (pgalloc_normal). */
  pgalloc: number;
  /** Pages freed. */
  pgfree: number;
  /** Pages moved to the active LRU list. */
  pgactivate: number;
  /** Write faults that reused the page in place instead of copying it (wp_page_reuse()). */
  pgreuse: number;
  /** Copy-on-write copies (wp_page_copy()); not a /proc/vmstat line. */
  cowFaults: number;
  /** Huge pages allocated at fault time (thp_fault_alloc). */
  thpFaultAlloc: number;
  /** Huge-page faults that fell back to base pages (thp_fault_fallback). */
  thpFaultFallback: number;
  /** Huge PMDs split into page tables (thp_split_pmd). */
  thpSplitPmd: number;
  /** Whole-TLB flushes (nr_tlb_local_flush_all). */
  nrTlbLocalFlushAll: number;
  /** Single-page TLB flushes (nr_tlb_local_flush_one). */
  nrTlbLocalFlushOne: number;
  /** Pages read by readahead beyond the one a fault or read needed; not a /proc/vmstat line. */
  readaheadPages: number;
  /** Pages mapped by fault-around without a fault of their own; not a /proc/vmstat line. */
  faultAroundPages: number;
}

/** Memory totals in the style of /proc/meminfo (meminfo_proc_show()), in pages of `pageSize` bytes. */
export interface MemoryCounters {
  /** The profile's base page size in bytes. */
  pageSize: number;
  /** MemTotal: frames of RAM. */
  total: number;
  /** MemFree: frames not allocated. */
  free: number;
  /** Frames allocated (total - free - the zero page): anonymous, page cache and page tables. */
  used: number;
  /** Cached: page-cache pages (shmem included, as in Linux). */
  cached: number;
  /** Dirty: page-cache pages waiting for writeback. */
  dirty: number;
  /** Writeback: pages being written to the disk. */
  writeback: number;
  /** AnonPages: anonymous pages. */
  anon: number;
  /** Shmem: tmpfs, memfd and shared anonymous pages. */
  shmem: number;
  /** PageTables: frames holding page tables. */
  pageTables: number;
  /** CommitLimit: overcommit_ratio percent of RAM (see Settings). */
  commitLimit: number;
  /** Committed_AS: pages of address space charged against the commit limit. */
  committed: number;
  /** AnonHugePages, as a count of PMD-sized huge pages mapped. */
  anonHugePmds: number;
}

/** The simulated disk's counters (the fields /proc/diskstats derives its line from). */
export interface DiskCounters {
  /** Read requests completed. */
  readRequests: number;
  /** 512-byte sectors read. */
  readSectors: number;
  /** Write requests completed. */
  writeRequests: number;
  /** 512-byte sectors written. */
  writeSectors: number;
  /** Simulated time spent reading, in nanoseconds (not wall-clock time). */
  readNs: number;
  /** Simulated time spent writing, in nanoseconds. */
  writeNs: number;
  /** Simulated time the device was busy, in nanoseconds. */
  busyNs: number;
}

/** One process's counters: getrusage(RUSAGE_SELF) and the sizes /proc/PID/status shows, in pages. */
export interface ProcessCounters {
  /** The process id (thread-group id). */
  pid: number;
  /** Live threads. */
  threads: number;
  /** ru_minflt: minor faults of every thread, exited ones included. */
  minFlt: number;
  /** ru_majflt: major faults. */
  majFlt: number;
  /** RssAnon: resident anonymous pages. */
  rssAnon: number;
  /** RssFile: resident file pages. */
  rssFile: number;
  /** RssShmem: resident shmem pages. */
  rssShmem: number;
  /** VmHWM: the peak of rssAnon + rssFile + rssShmem. */
  hiwaterRss: number;
  /** VmSize: pages of address space mapped. */
  vmSize: number;
  /** VmLck: pages mlock()ed. */
  locked: number;
  /** map_count: VMAs. */
  mapCount: number;
  /** VmPTE: bytes of page tables below the top level. */
  pageTableBytes: number;
}

/** A snapshot of every counter (see Machine.counters()). */
export interface Counters {
  /** /proc/vmstat. */
  vmstat: VmstatCounters;
  /** /proc/meminfo. */
  memory: MemoryCounters;
  /** The simulated disk. */
  disk: DiskCounters;
  /** The process asked for, or null when none was asked for or it is not alive. */
  process: ProcessCounters | null;
}

function vmaKind(mm: MmStruct, v: import('./mm/vma.js').Vma, name: string): VmaSnapshot['kind'] {
  if (v.specialName !== null) return 'special';
  if (name === '[heap]') return 'heap';
  if (name === '[stack]') return 'stack';
  if (v.file === null) return 'anon';
  if (v.file.inode.kind === 'shmem') return 'shmem';
  if (v.file.inode.kind === 'hugetlbfs') return 'hugetlb';
  void mm;
  return (v.flags & 0x80) !== 0 ? 'file-shared' : 'file-private';
}

/** Every VMA of an address space, in address order. */
export function snapshotVmas(mm: MmStruct): VmaSnapshot[] {
  const out: VmaSnapshot[] = [];
  const ps = mm.pageSize;
  for (const v of mm.vmas) {
    const name = vmaName(mm, v);
    let resident = 0;
    forEachPresentPte(mm, v.start / ps, v.end / ps, true, () => resident++);
    forEachHugePmd(mm, v.start / ps, v.end / ps, () => (resident += mm.indexMask + 1));
    out.push({
      start: BigInt(v.start),
      end: BigInt(v.end),
      flags: v.flags,
      flagNames: vmFlagsMnemonics(v.flags).trim(),
      perms: (v.flags & 1 ? 'r' : '-') + (v.flags & 2 ? 'w' : '-') + (v.flags & 4 ? 'x' : '-') + (v.flags & 0x80 ? 's' : 'p'),
      pgoff: v.pgoff,
      name,
      kind: vmaKind(mm, v, name),
      ino: v.file?.inode.ino ?? null,
      resident,
    });
  }
  return out;
}

/** The page-table walk for one address, level by level, without side effects. */
export function walkAddress(k: Kernel, mm: MmStruct, addr: bigint): PageWalk {
  const levels: WalkLevel[] = [];
  const ps = mm.pageSize;
  const a = Number(addr);
  const vpn = Math.floor(a / ps);
  let t: PageTable | undefined = mm.pgd;
  let pte: PageWalk['pte'] = null;
  for (let l = 0; l < mm.divisors.length; l++) {
    const index = Math.floor(vpn / mm.divisors[l]!) & mm.indexMask;
    if (t === undefined || a >= mm.taskSize || a < 0) {
      levels.push({ level: k.arch.levelNames[l]!, index, tableFrame: null, present: false });
      continue;
    }
    if (t.children !== null) {
      const c: PageTable | undefined = t.children[index];
      levels.push({ level: k.arch.levelNames[l]!, index, tableFrame: t.pfn, present: c !== undefined });
      t = c;
    } else {
      const fl = t.flags![index]!;
      levels.push({ level: k.arch.levelNames[l]!, index, tableFrame: t.pfn, present: (fl & PTE_PRESENT) !== 0 });
      if (fl & PTE_PRESENT) {
        const pfn = t.pfns![index]!;
        pte = { pfn, flags: pteFlagNames(fl), raw: encodePte(k.arch, pfn, fl) };
      }
    }
  }
  return { addr, levels, pte, tlbSlot: mm.tlb.probe(vpn) };
}

/** One frame, free or not. */
export function snapshotFrame(k: Kernel, pfn: number): FrameSnapshot {
  const p = k.phys;
  if (pfn === ZERO_PFN) return { pfn, refcount: p.refcount[0]!, mapcount: 0, flags: pageFlagNames(p.flags[0]!), kind: 'zero', ino: null, index: 0 };
  if (pfn <= 0 || pfn >= p.maxPfn || p.isFree(pfn)) return { pfn, refcount: 0, mapcount: 0, flags: [], kind: 'free', ino: null, index: 0 };
  const f = p.flags[pfn]!;
  const owner = k.owners[p.mapping[pfn]!];
  const as = owner !== undefined && 'pages' in owner ? (owner as AddressSpace) : null;
  const kind: FrameSnapshot['kind'] = f & PG_table ? 'pagetable' : f & PG_anon ? 'anon' : as?.isShmem ? 'shmem' : 'file';
  return { pfn, refcount: p.refcount[pfn]!, mapcount: p.mapcount[pfn]!, flags: pageFlagNames(f), kind, ino: as?.host.ino ?? null, index: p.index[pfn]! };
}

/** Every frame in use (and the zero page). */
export function snapshotFrames(k: Kernel): FrameSnapshot[] {
  const out: FrameSnapshot[] = [snapshotFrame(k, ZERO_PFN)];
  for (let pfn = 1; pfn < k.phys.maxPfn; pfn++) if (!k.phys.isFree(pfn)) out.push(snapshotFrame(k, pfn));
  return out;
}

/** The page cache of every inode that has pages or mappings. */
export function snapshotPageCache(k: Kernel): PageCacheSnapshot[] {
  const paths = new Map<number, string>();
  for (const [path, inode] of k.vfs.files) paths.set(inode.ino, path);
  const out: PageCacheSnapshot[] = [];
  for (const owner of k.owners) {
    if (owner === undefined || !('pages' in owner)) continue;
    const as = owner as AddressSpace;
    if (as.pages.size === 0 && as.iMmap.size === 0) continue;
    let uptodate = 0;
    let dirty = 0;
    let writeback = 0;
    const pages = [...as.pages].sort((a, b) => a[0] - b[0]).map(([index, pfn]) => {
      const f = k.phys.flags[pfn]!;
      if (f & PG_uptodate) uptodate++;
      if (f & PG_dirty) dirty++;
      if (f & PG_writeback) writeback++;
      return { index, pfn, flags: pageFlagNames(f) };
    });
    out.push({ ino: as.host.ino, path: paths.get(as.host.ino) ?? null, size: as.host.size, pages, uptodate, dirty, writeback });
  }
  return out;
}

/** The valid entries of an address space's TLB. */
export function snapshotTlb(mm: MmStruct): TlbSnapshot[] {
  const out: TlbSnapshot[] = [];
  const t = mm.tlb;
  for (let i = 0; i < t.vpn.length; i++) {
    const vpn = t.vpn[i]!;
    if (vpn < 0) continue;
    out.push({ slot: i, addr: BigInt(vpn * mm.pageSize), pfn: t.pfn[i]!, writable: (t.perm[i]! & 2) !== 0 });
  }
  return out;
}

/**
 * Every present leaf entry of an address space, in address order (the
 * present pages /proc/PID/pagemap reports): base-page PTEs, the zero page
 * included, and each base page of a huge PMD.
 */
export function snapshotPagemap(mm: MmStruct): PageMapping[] {
  const out: PageMapping[] = [];
  const ps = mm.pageSize;
  for (const v of mm.vmas) {
    const startVpn = v.start / ps;
    const endVpn = v.end / ps;
    forEachHugePmd(mm, startVpn, endVpn, (t, _pmdT, _idx, baseVpn) => {
      const writable = (t.hugeFlags & PTE_WRITE) !== 0;
      for (let i = 0; i <= mm.indexMask; i++) {
        const vpn = baseVpn + i;
        if (vpn < startVpn || vpn >= endVpn) continue;
        out.push({ addr: BigInt(vpn) * BigInt(ps), pfn: t.hugePfn + ((t.hugeFlags & PTE_SPECIAL) !== 0 ? 0 : i), writable, huge: true });
      }
    });
    forEachPresentPte(mm, startVpn, endVpn, true, (t, i, vpn) => {
      out.push({ addr: BigInt(vpn) * BigInt(ps), pfn: t.pfns![i]!, writable: (t.flags![i]! & PTE_WRITE) !== 0, huge: false });
    });
  }
  return out.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
}

/** Every counter, and one process's when given (a live one). */
export function snapshotCounters(k: Kernel, proc: Process | null): Counters {
  const v = k.vmstat;
  const mem = meminfoCounts(k);
  const d = k.disk.stats;
  let process: ProcessCounters | null = null;
  if (proc !== null && !proc.exited) {
    const mm = proc.mm;
    const ru = proc.rusage();
    const sizes = vmSizes(k, mm);
    const rss = mm.rss;
    process = {
      pid: proc.tgid,
      threads: proc.threads.length,
      minFlt: ru.minFlt,
      majFlt: ru.majFlt,
      rssAnon: rss[MM_ANONPAGES]!,
      rssFile: rss[MM_FILEPAGES]!,
      rssShmem: rss[MM_SHMEMPAGES]!,
      hiwaterRss: Math.max(mm.hiwaterRss, mm.rssPages),
      vmSize: sizes.total!,
      locked: sizes.locked!,
      mapCount: mm.mapCount,
      pageTableBytes: mm.pgtablesBytes,
    };
  }
  return {
    vmstat: {
      pgfault: v.pgfault,
      pgmajfault: v.pgmajfault,
      pgpgin: v.pgpgin,
      pgpgout: v.pgpgout,
      pgalloc: v.pgalloc,
      pgfree: v.pgfree,
      pgactivate: v.pgactivate,
      pgreuse: v.pgreuse,
      cowFaults: v.cowFaults,
      thpFaultAlloc: v.thpFaultAlloc,
      thpFaultFallback: v.thpFaultFallback,
      thpSplitPmd: v.thpSplitPmd,
      nrTlbLocalFlushAll: v.nrTlbLocalFlushAll,
      nrTlbLocalFlushOne: v.nrTlbLocalFlushOne,
      readaheadPages: v.readaheadPages,
      faultAroundPages: v.faultAroundPages,
    } satisfies Record<keyof VmStat, number>,
    memory: { pageSize: k.arch.pageSize, used: k.phys.nrUsed, ...mem },
    disk: { ...d },
    process,
  };
}
