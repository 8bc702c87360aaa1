/**
 * A subset of /proc/meminfo (fs/proc/meminfo.c) and /proc/vmstat
 * (mm/vmstat.c), computed from the model's state.
 */
import { thpConfigured } from '../mm/thp-config.js';
import type { Kernel } from '../kernel.js';
import type { MemoryCounters } from '../snapshot.js';
import type { AddressSpace } from '../mm/filemap.js';
import { PG_anon, PG_dirty, PG_swapbacked, PG_table, PG_writeback } from '../mm/page-alloc.js';

function line(label: string, kb: number): string {
  return `${(label + ':').padEnd(16, ' ')}${String(kb).padStart(8, ' ')} kB\n`;
}

/** The page counts /proc/meminfo shows (meminfo_proc_show()), in pages of the profile's size. */
/** The page counts /proc/meminfo shows (meminfo_proc_show()): MemoryCounters without `used` and `pageSize`. */
export type MeminfoCounts = Omit<MemoryCounters, 'used' | 'pageSize'>;

/** Count what /proc/meminfo shows from the frames' flags (no side effect). */
export function meminfoCounts(k: Kernel): MeminfoCounts {
  const p = k.phys;
  let cached = 0;
  let shmem = 0;
  let dirty = 0;
  let writeback = 0;
  let anon = 0;
  for (let pfn = 1; pfn < p.maxPfn; pfn++) {
    if (p.isFree(pfn)) continue;
    const f = p.flags[pfn]!;
    if (f & PG_table) continue;
    if (f & PG_anon) {
      anon++;
      continue;
    }
    const owner = k.owners[p.mapping[pfn]!] as AddressSpace | undefined;
    if (owner === undefined || !('pages' in owner)) continue;
    cached++;
    if (f & PG_swapbacked) shmem++;
    else if (f & PG_dirty) dirty++;
    if (f & PG_writeback) writeback++;
  }
  const total = p.totalPages;
  return {
    total,
    free: p.nrFree,
    cached,
    dirty,
    writeback,
    anon,
    shmem,
    pageTables: p.nrPageTables,
    commitLimit: Math.floor((total * k.settings.overcommitRatio) / 100),
    committed: k.committedPages,
    anonHugePmds: p.pmdMapped.size,
  };
}

export function renderMeminfo(k: Kernel): string {
  const c = meminfoCounts(k);
  const kbPer = k.arch.pageSize / 1024;
  return (
    line('MemTotal', c.total * kbPer) +
    line('MemFree', c.free * kbPer) +
    line('Cached', c.cached * kbPer) +
    line('Dirty', c.dirty * kbPer) +
    line('Writeback', c.writeback * kbPer) +
    line('AnonPages', c.anon * kbPer) +
    line('Shmem', c.shmem * kbPer) +
    line('PageTables', c.pageTables * kbPer) +
    line('CommitLimit', c.commitLimit * kbPer) +
    line('Committed_AS', c.committed * kbPer) +
    // #ifdef CONFIG_TRANSPARENT_HUGEPAGE in meminfo_proc_show().
    (thpConfigured(k) ? line('AnonHugePages', c.anonHugePmds * (k.arch.pmdSize / 1024)) : '')
  );
}

export function renderVmstat(k: Kernel): string {
  const v = k.vmstat;
  const rows: [string, number][] = [
    ['pgpgin', v.pgpgin],
    ['pgpgout', v.pgpgout],
    ['pgalloc_normal', v.pgalloc],
    ['pgfree', v.pgfree],
    ['pgactivate', v.pgactivate],
    ['pgfault', v.pgfault],
    ['pgmajfault', v.pgmajfault],
    ['pgreuse', v.pgreuse],
    // The thp_* events exist only with CONFIG_TRANSPARENT_HUGEPAGE (vmstat_text[]).
    ...(thpConfigured(k) ? ([['thp_fault_alloc', v.thpFaultAlloc], ['thp_fault_fallback', v.thpFaultFallback], ['thp_split_pmd', v.thpSplitPmd]] as [string, number][]) : []),
    ['nr_tlb_local_flush_all', v.nrTlbLocalFlushAll],
    ['nr_tlb_local_flush_one', v.nrTlbLocalFlushOne],
  ];
  return rows.map(([n, x]) => `${n} ${x}\n`).join('');
}
