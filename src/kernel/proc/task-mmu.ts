/**
 * /proc/PID/maps, smaps, smaps_rollup, status and statm (fs/proc/task_mmu.c:
 * show_map_vma(), show_smap(), smaps_account(), show_smaps_rollup(),
 * task_mem()), in the kernel's exact format. Rendering only reads: it sets
 * no accessed bit, fills no TLB and moves no counter.
 */
import type { Kernel } from '../kernel.js';
import { PTE_DIRTY, PTE_ACCESSED, PTE_SPECIAL } from '../arch/pte.js';
import { forEachHugePmd, thpVmaAllowed, thpVmaSuitable } from '../mm/huge-memory.js';
import type { MmStruct } from '../mm/mm-struct.js';
import { MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES } from '../mm/mm-struct.js';
import { PG_anon, PG_dirty, PG_referenced, PG_swapbacked } from '../mm/page-alloc.js';
import { forEachPresentPte } from '../mm/pgtable.js';
import type { Vma } from '../mm/vma.js';
import {
  VM_EXEC, VM_LOCKED, VM_MAYSHARE, VM_PKEY_BIT0, VM_READ, VM_STACK, VM_WRITE,
  vmFlagsMnemonics,
} from '../mm/vm-flags.js';
import { dataVmPages, totalVmPages } from '../mm/mmap.js';
import { vmaKernelPagesize } from '../mm/hugetlb.js';
import { lockedVmStalePages } from '../mm/mlock.js';

const PSS_SHIFT = 12;

function hex8(n: number): string {
  const s = n.toString(16);
  return s.length >= 8 ? s : '0'.repeat(8 - s.length) + s;
}

function hex2(n: number): string {
  const s = n.toString(16);
  return s.length >= 2 ? s : '0' + s;
}

/** The name /proc shows for a VMA, or '' (show_map_vma()'s name selection). */
export function vmaName(mm: MmStruct, vma: Vma): string {
  const file = vma.file ?? vma.anonFile;
  if (file !== null) {
    const inode = file.inode;
    return inode.nlink === 0 ? `${file.path} (deleted)` : file.path;
  }
  if (vma.specialName !== null) return vma.specialName;
  // vma_is_initial_heap(): strict bounds since "mm: fix VMA heap bounds checking".
  if (vma.start < mm.brk && vma.end > mm.startBrk) return '[heap]';
  if (vma.start <= mm.startStack && vma.end >= mm.startStack) return '[stack]';
  if (vma.anonName !== null) return `[anon:${vma.anonName}]`;
  return '';
}

/** show_vma_header_prefix() plus seq_pad(): one maps line with its newline. */
export function mapsLine(start: number, end: number, flags: number, offset: number, major: number, minor: number, ino: number, name: string): string {
  const perms =
    ((flags & VM_READ) !== 0 ? 'r' : '-') +
    ((flags & VM_WRITE) !== 0 ? 'w' : '-') +
    ((flags & VM_EXEC) !== 0 ? 'x' : '-') +
    ((flags & VM_MAYSHARE) !== 0 ? 's' : 'p');
  let line = `${hex8(start)}-${hex8(end)} ${perms} ${hex8(offset)} ${hex2(major)}:${hex2(minor)} ${ino} `;
  if (name !== '') {
    if (line.length < 72) line += ' '.repeat(72 - line.length);
    line += ' ' + name;
  }
  return line + '\n';
}

function vmaMapsLine(mm: MmStruct, vma: Vma): string {
  const f = vma.file ?? vma.anonFile;
  const offset = f !== null ? vma.pgoff * mm.pageSize : 0;
  return mapsLine(vma.start, vma.end, vma.flags, offset, f?.inode.devMajor ?? 0, f?.inode.devMinor ?? 0, f?.inode.ino ?? 0, vmaName(mm, vma));
}

const VSYSCALL_LINE = 'ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n';

/** /proc/PID/maps */
export function renderMaps(k: Kernel, mm: MmStruct): string {
  let out = '';
  for (const vma of mm.vmas) out += vmaMapsLine(mm, vma);
  if (k.arch.hasVsyscall) out += VSYSCALL_LINE;
  return out;
}

/** struct mem_size_stats, in bytes (pss fields shifted by PSS_SHIFT). */
export interface MemSizeStats {
  resident: number;
  shared_clean: number;
  shared_dirty: number;
  private_clean: number;
  private_dirty: number;
  referenced: number;
  anonymous: number;
  lazyfree: number;
  anonymous_thp: number;
  swap: number;
  pss: number;
  pss_dirty: number;
  pss_anon: number;
  pss_file: number;
  pss_shmem: number;
  pss_locked: number;
}

export function emptyStats(): MemSizeStats {
  return {
    resident: 0, shared_clean: 0, shared_dirty: 0, private_clean: 0, private_dirty: 0, referenced: 0, anonymous: 0,
    lazyfree: 0, anonymous_thp: 0, swap: 0, pss: 0, pss_dirty: 0, pss_anon: 0, pss_file: 0, pss_shmem: 0, pss_locked: 0,
  };
}

/**
 * smaps_pte_range() + smaps_account() over one VMA, adding into mss. A huge
 * PMD (smaps_pmd_entry()) counts its folio's pages with the PMD's dirty and
 * young bits, and HPAGE_PMD_SIZE of AnonHugePages; the huge zero page, like
 * the zero page, counts nothing (vm_normal_page_pmd() is NULL for it).
 */
export function smapsAccountVma(k: Kernel, mm: MmStruct, vma: Vma, mss: MemSizeStats): void {
  const ps = mm.pageSize;
  const p = k.phys;
  const locked = (vma.flags & VM_LOCKED) !== 0;
  forEachHugePmd(mm, vma.start / ps, vma.end / ps, (t) => {
    if (t.hugeFlags & PTE_SPECIAL) return;
    mss.anonymous_thp += k.arch.pmdSize;
    const nr = mm.indexMask + 1;
    for (let i = 0; i < nr; i++) account(t.hugeFlags, t.hugePfn + i);
  });
  forEachPresentPte(mm, vma.start / ps, vma.end / ps, false, (t, i) => account(t.flags![i]!, t.pfns![i]!));
  function account(fl: number, pfn: number): void {
    const pf = p.flags[pfn]!;
    const dirty = (fl & PTE_DIRTY) !== 0;
    const young = (fl & PTE_ACCESSED) !== 0;
    if (pf & PG_anon) {
      mss.anonymous += ps;
      if (!(pf & PG_swapbacked) && !dirty && !(pf & PG_dirty)) mss.lazyfree += ps;
    }
    mss.resident += ps;
    if (young || pf & PG_referenced) mss.referenced += ps;
    const mapcount = p.mapcount[pfn]!;
    let pss = ps * 2 ** PSS_SHIFT;
    let priv = true;
    if (p.refcount[pfn] !== 1) {
      if (mapcount >= 2) pss = Math.floor(pss / mapcount);
      priv = mapcount < 2;
    }
    mss.pss += pss;
    if (pf & PG_anon) mss.pss_anon += pss;
    else if (pf & PG_swapbacked) mss.pss_shmem += pss;
    else mss.pss_file += pss;
    if (locked) mss.pss_locked += pss;
    if (dirty || pf & PG_dirty) {
      mss.pss_dirty += pss;
      if (priv) mss.private_dirty += ps;
      else mss.shared_dirty += ps;
    } else if (priv) {
      mss.private_clean += ps;
    } else {
      mss.shared_clean += ps;
    }
  }
}

function field(label: string, kb: number, unit = ' kB'): string {
  const v = String(kb);
  return label.padEnd(16, ' ') + (v.length >= 8 ? v : ' '.repeat(8 - v.length) + v) + unit + '\n';
}

/** __show_smap(): the accounting lines shared by smaps and smaps_rollup. */
function showSmapFields(mss: MemSizeStats, rollup: boolean): string {
  const kb = (b: number): number => Math.floor(b / 1024);
  const pkb = (b: number): number => Math.floor(Math.floor(b / 2 ** PSS_SHIFT) / 1024);
  let out = field('Rss:', kb(mss.resident)) + field('Pss:', pkb(mss.pss)) + field('Pss_Dirty:', pkb(mss.pss_dirty));
  if (rollup) out += field('Pss_Anon:', pkb(mss.pss_anon)) + field('Pss_File:', pkb(mss.pss_file)) + field('Pss_Shmem:', pkb(mss.pss_shmem));
  out +=
    field('Shared_Clean:', kb(mss.shared_clean)) +
    field('Shared_Dirty:', kb(mss.shared_dirty)) +
    field('Private_Clean:', kb(mss.private_clean)) +
    field('Private_Dirty:', kb(mss.private_dirty)) +
    field('Referenced:', kb(mss.referenced)) +
    field('Anonymous:', kb(mss.anonymous)) +
    field('KSM:', 0) +
    field('LazyFree:', kb(mss.lazyfree)) +
    field('AnonHugePages:', kb(mss.anonymous_thp)) +
    field('ShmemPmdMapped:', 0) +
    field('FilePmdMapped:', 0) +
    field('Shared_Hugetlb:', 0) +
    field('Private_Hugetlb:', 0) +
    field('Swap:', kb(mss.swap)) +
    field('SwapPss:', 0) +
    field('Locked:', pkb(mss.pss_locked));
  return out;
}

/** thp_vma_allowable_order(..., TVA_SMAPS, PMD_ORDER) for the THPeligible line. */
export function thpEligible(k: Kernel, vma: Vma): boolean {
  return thpVmaAllowed(k, vma) && thpVmaSuitable(k, vma, vma.end - k.arch.pmdSize);
}

/** One VMA of /proc/PID/smaps (show_smap()). */
export function renderSmapsVma(k: Kernel, mm: MmStruct, vma: Vma): string {
  const mss = emptyStats();
  smapsAccountVma(k, mm, vma, mss);
  // vma_kernel_pagesize() and vma_mmu_pagesize(): a hugetlb VMA's huge page size.
  const kps = vmaKernelPagesize(vma, mm.pageSize) / 1024;
  let out = vmaMapsLine(mm, vma);
  out += field('Size:', (vma.end - vma.start) / 1024) + field('KernelPageSize:', kps) + field('MMUPageSize:', kps);
  out += showSmapFields(mss, false);
  out += field('THPeligible:', thpEligible(k, vma) ? 1 : 0, '');
  if (k.settings.protectionKeys) out += field('ProtectionKey:', vma.flags & VM_PKEY_BIT0 ? 1 : 0, '');
  out += 'VmFlags: ' + vmFlagsMnemonics(vma.flags) + '\n';
  return out;
}

const VSYSCALL_SMAPS = (k: Kernel): string =>
  VSYSCALL_LINE +
  field('Size:', 4) + field('KernelPageSize:', 4) + field('MMUPageSize:', 4) +
  showSmapFields(emptyStats(), false) +
  field('THPeligible:', 0, '') +
  (k.settings.protectionKeys ? field('ProtectionKey:', 0, '') : '') +
  'VmFlags: ex \n';

/** /proc/PID/smaps */
export function renderSmaps(k: Kernel, mm: MmStruct): string {
  let out = '';
  for (const vma of mm.vmas) out += renderSmapsVma(k, mm, vma);
  if (k.arch.hasVsyscall) out += VSYSCALL_SMAPS(k);
  return out;
}

/** /proc/PID/smaps_rollup (show_smaps_rollup()). */
export function renderSmapsRollup(k: Kernel, mm: MmStruct): string {
  const mss = emptyStats();
  for (const vma of mm.vmas) smapsAccountVma(k, mm, vma, mss);
  const first = mm.vmas.first;
  const last = mm.vmas.last;
  const header = mapsLine(first?.start ?? 0, last?.end ?? 0, 0, 0, 0, 0, 0, '[rollup]');
  return header + showSmapFields(mss, true);
}

/** The derived VM sizes of task_mem(), in pages. */
export function vmSizes(k: Kernel, mm: MmStruct): Record<string, number> {
  let exec = 0;
  let stack = 0;
  let locked = 0;
  for (const v of mm.vmas) {
    const n = (v.end - v.start) / mm.pageSize;
    if ((v.flags & (VM_EXEC | VM_WRITE | VM_STACK)) === VM_EXEC) exec += n;
    else if ((v.flags & VM_STACK) === VM_STACK) stack += n;
    if (v.flags & VM_LOCKED) locked += n;
  }
  void k;
  return { total: totalVmPages(mm), data: dataVmPages(mm), exec, stack, locked: locked + lockedVmStalePages(mm) };
}

/** The Vm* and Rss* lines of /proc/PID/status (task_mem()). */
export function renderStatusMem(k: Kernel, mm: MmStruct): string {
  const ps = mm.pageSize / 1024;
  const s = vmSizes(k, mm);
  const anon = mm.rss[MM_ANONPAGES]!;
  const file = mm.rss[MM_FILEPAGES]!;
  const shmem = mm.rss[MM_SHMEMPAGES]!;
  const rss = anon + file + shmem;
  const line = (label: string, kb: number): string => `${label}:\t${String(kb).padStart(8, ' ')} kB\n`;
  return (
    line('VmPeak', Math.max(mm.hiwaterVm, s.total!) * ps) +
    line('VmSize', s.total! * ps) +
    line('VmLck', s.locked! * ps) +
    line('VmPin', 0) +
    line('VmHWM', Math.max(mm.hiwaterRss, rss) * ps) +
    line('VmRSS', rss * ps) +
    line('RssAnon', anon * ps) +
    line('RssFile', file * ps) +
    line('RssShmem', shmem * ps) +
    line('VmData', s.data! * ps) +
    line('VmStk', s.stack! * ps) +
    line('VmExe', Math.floor((mm.endCode - (mm.startCode - (mm.startCode % mm.pageSize))) / 1024)) +
    line('VmLib', Math.max(0, s.exec! * ps - Math.floor((mm.endCode - mm.startCode) / 1024))) +
    line('VmPTE', mm.pgtablesBytes / 1024) +
    line('VmSwap', 0)
  );
}

/** /proc/PID/statm: size resident shared text lib data dt, in pages. */
export function renderStatm(k: Kernel, mm: MmStruct): string {
  const s = vmSizes(k, mm);
  const file = mm.rss[MM_FILEPAGES]!;
  const shmem = mm.rss[MM_SHMEMPAGES]!;
  const resident = file + shmem + mm.rss[MM_ANONPAGES]!;
  const text = Math.ceil((mm.endCode - Math.floor(mm.startCode / mm.pageSize) * mm.pageSize) / mm.pageSize);
  return `${s.total} ${resident} ${file + shmem} ${text} 0 ${s.data! + s.stack!} 0\n`;
}

