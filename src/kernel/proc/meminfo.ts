/**
 * A subset of /proc/meminfo (fs/proc/meminfo.c) and /proc/vmstat
 * (mm/vmstat.c), computed from the model's state.
 */
import type { Kernel } from '../kernel.js';
import type { AddressSpace } from '../mm/filemap.js';
import { PG_anon, PG_dirty, PG_swapbacked, PG_table, PG_writeback } from '../mm/page-alloc.js';

function line(label: string, kb: number): string {
  return `${(label + ':').padEnd(16, ' ')}${String(kb).padStart(8, ' ')} kB\n`;
}

export function renderMeminfo(k: Kernel): string {
  const p = k.phys;
  const kbPer = k.arch.pageSize / 1024;
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
  const limit = Math.floor((total * k.settings.overcommitRatio) / 100);
  return (
    line('MemTotal', total * kbPer) +
    line('MemFree', p.nrFree * kbPer) +
    line('Cached', cached * kbPer) +
    line('Dirty', dirty * kbPer) +
    line('Writeback', writeback * kbPer) +
    line('AnonPages', anon * kbPer) +
    line('Shmem', shmem * kbPer) +
    line('PageTables', p.nrPageTables * kbPer) +
    line('CommitLimit', limit * kbPer) +
    line('Committed_AS', k.committedPages * kbPer) +
    line('AnonHugePages', p.pmdMapped.size * (k.arch.pmdSize / 1024))
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
    ['thp_fault_alloc', v.thpFaultAlloc],
    ['thp_fault_fallback', v.thpFaultFallback],
    ['thp_split_pmd', v.thpSplitPmd],
    ['nr_tlb_local_flush_all', v.nrTlbLocalFlushAll],
    ['nr_tlb_local_flush_one', v.nrTlbLocalFlushOne],
  ];
  return rows.map(([n, x]) => `${n} ${x}\n`).join('');
}
