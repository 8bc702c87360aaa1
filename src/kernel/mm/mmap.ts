/**
 * mmap(2), munmap(2) and brk(2) (mm/mmap.c, mm/vma.c, arch/x86/kernel/sys_x86_64.c):
 * argument checks in the kernel's order, address selection
 * (get_unmapped_area() top-down from mmap_base, hints, MAP_FIXED,
 * MAP_FIXED_NOREPLACE, THP alignment), and mmap_region()'s
 * unmap/account/merge/insert/populate sequence.
 *
 * Arguments arrive as 64-bit register values (bigint, or number for the int
 * arguments) so that every out-of-range value takes the same error path as
 * in the kernel. They are read as numbers without bigint arithmetic
 * (regValue()): values of 2^53 or more can only be above TASK_SIZE and read
 * as Infinity, so the rest works on numbers.
 */
import { thpConfigured } from './thp-config.js';
import type { Kernel } from '../kernel.js';
import type { File } from '../fs/file.js';
import { FMODE_READ, FMODE_WRITE } from '../fs/file.js';
import type { Task } from '../sched.js';
import {
  LEGACY_MAP_MASK, MAP_32BIT, MAP_ANONYMOUS, MAP_DROPPABLE, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_GROWSDOWN,
  MAP_HUGETLB, MAP_HUGE_SHIFT, MAP_LOCKED, MAP_NONBLOCK, MAP_NORESERVE, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED,
  MAP_SHARED_VALIDATE, MAP_STACK, MAP_SYNC, MAP_TYPE, PROT_EXEC, PROT_WRITE, type ErrnoName, errnoByNumber,
} from '../uapi.js';
import { doUserAddrFault } from '../arch/mmu.js';
import { mmPopulate } from './mlock.js';
import { PTE_PRESENT, PTE_WRITE } from '../arch/pte.js';
import type { MmStruct } from './mm-struct.js';
import { pteFlagsAt } from './pgtable.js';
import { stackGuardGap } from './stack.js';
import { Vma, vmStartGap } from './vma.js';
import { doVmiAlignMunmap, fileGet, vmaLink, vmaMergeNewRange } from './vma-ops.js';
import { defaultHstateLog, hugetlbFileSetup, isFileHugepages } from './hugetlb.js';
import {
  VM_ACCESS_FLAGS, VM_ACCOUNT, VM_DATA_DEFAULT_FLAGS, VM_DONTDUMP, VM_DONTEXPAND, VM_EXEC, VM_GROWSDOWN, VM_HUGETLB,
  VM_LOCKED, VM_LOCKED_MASK, VM_LOCKONFAULT,
  VM_MAYEXEC, VM_MAYREAD, VM_MAYSHARE, VM_MAYWRITE, VM_NOHUGEPAGE, VM_NORESERVE, VM_PKEY_BIT0, VM_SHARED, VM_STACK,
  VM_SYNC, VM_WIPEONFORK, VM_WRITE, calcVmProtBits,
} from './vm-flags.js';

export type KRet = number | ErrnoName;

/** DEFAULT_MAP_WINDOW on x86_64 (47-bit): hints above it need 5-level paging. */
const DEFAULT_MAP_WINDOW_X86 = 2 ** 47 - 4096;

export function isErr(r: KRet): r is ErrnoName {
  return typeof r === 'string';
}

/** vm.mmap_min_addr (dac_mmap_min_addr): the setting, else the profile's CONFIG_DEFAULT_MMAP_MIN_ADDR. */
export function dacMmapMinAddr(k: Kernel): number {
  return k.settings.mmapMinAddr ?? k.arch.defaultMmapMinAddr;
}

/** The kernel's mmap_min_addr: the larger of vm.mmap_min_addr and CONFIG_LSM_MMAP_MIN_ADDR (update_mmap_min_addr()). */
export function mmapMinAddr(k: Kernel): number {
  return Math.max(dacMmapMinAddr(k), k.arch.lsmMmapMinAddr);
}

/**
 * Mask to an unsigned 64-bit value, as a syscall register holds it. Any
 * bigint or finite number is a register value; anything else (a JavaScript
 * caller's string, NaN, undefined) is a programming error, not guest input,
 * and throws a TypeError that says what it got.
 */
export function u64(v: bigint | number): bigint {
  if (typeof v === 'bigint') return BigInt.asUintN(64, v);
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`a syscall argument must be a bigint or a finite number, not ${typeof v === 'number' ? String(v) : typeof v}`);
  return BigInt.asUintN(64, BigInt(Math.trunc(v)));
}

/**
 * x86 with protection keys: arch_override_mprotect_pkey() / do_mmap() give a
 * mapping of exactly PROT_EXEC the mm's execute-only key, which the PKRU
 * denies data access (arch/x86/mm/pkeys.c: __execute_only_pkey()).
 * Deviation: Linux sets that PKRU bit in the calling thread only (threads
 * created later inherit it); here every thread of the mm is denied.
 */
export function execOnlyPkeys(k: Kernel): boolean {
  return k.settings.protectionKeys && k.arch.pteFormat === 'x86';
}

/** The number of pages in a VMA range. */
export function vmaPagesOf(start: number, end: number, ps: number): number {
  return (end - start) / ps;
}

/** Total mapped pages (total_vm). */
export function totalVmPages(mm: MmStruct): number {
  return mm.vmas.totalSize / mm.pageSize;
}

/** is_data_mapping() */
export function isDataMapping(flags: number): boolean {
  return (flags & (VM_WRITE | VM_SHARED | VM_STACK)) === VM_WRITE;
}

/** data_vm recomputed from the VMAs. */
export function dataVmPages(mm: MmStruct): number {
  let n = 0;
  for (const v of mm.vmas) if (isDataMapping(v.flags)) n += (v.end - v.start) / mm.pageSize;
  return n;
}

/** may_expand_vm(): RLIMIT_AS and RLIMIT_DATA. */
export function mayExpandVm(k: Kernel, mm: MmStruct, flags: number, npages: number): boolean {
  const ps = mm.pageSize;
  if (totalVmPages(mm) + npages > Math.floor(k.settings.asRlimit / ps)) return false;
  // data_vm is recomputed only when RLIMIT_DATA is finite (it costs a walk of the VMAs).
  if (k.settings.dataRlimit !== Infinity && isDataMapping(flags) && dataVmPages(mm) + npages > Math.floor(k.settings.dataRlimit / ps)) return false;
  return true;
}

/** __vm_enough_memory(): the overcommit policy's verdict on charging `pages`. */
export function vmEnoughMemory(k: Kernel, mm: MmStruct | null, pages: number): boolean {
  const mode = k.settings.overcommitMemory;
  if (mode === 1) return true;
  const totalram = k.phys.totalPages;
  if (mode === 0) return pages <= totalram;
  // OVERCOMMIT_NEVER: vm_commit_limit() minus the reserves.
  let allowed = Math.floor((totalram * k.settings.overcommitRatio) / 100);
  if (!k.settings.privileged) allowed -= Math.floor((8 * 1024) / (k.arch.pageSize / 1024));
  if (mm !== null) allowed -= Math.min(Math.floor(totalVmPages(mm) / 32), Math.floor((128 * 1024) / (k.arch.pageSize / 1024)));
  return k.committedPages + pages < allowed;
}

/** accountable_mapping(): private writable memory is charged against the commit limit (hugetlbfs never: its own pool). */
function accountableMapping(flags: number): boolean {
  return (flags & (VM_NORESERVE | VM_SHARED | VM_WRITE | VM_HUGETLB)) === VM_WRITE;
}

/**
 * vm_unmapped_area() top-down (unmapped_area_topdown()): the highest address
 * in [low, high) with room for len, keeping clear of a grows-down VMA's guard
 * gap. -1 when nothing fits.
 */
function unmappedAreaTopdown(k: Kernel, mm: MmStruct, len: number, low: number, high: number, alignMask: number, alignOffset: number): number {
  const length = len + alignMask;
  low = Math.max(low, mmapMinAddr(k));
  const gapGuard = stackGuardGap(k);
  for (let tries = 0; tries < 1000; tries++) {
    const gapEnd = mm.vmas.highestGap(low, high, length);
    if (gapEnd < 0) return -1;
    let gap = gapEnd - len;
    gap -= (((gap - alignOffset) % (alignMask + 1)) + (alignMask + 1)) % (alignMask + 1);
    const next = mm.vmas.find(gapEnd);
    const nextIsAbove = next !== null && next.start >= gapEnd;
    if (nextIsAbove && (next.flags & VM_GROWSDOWN) !== 0 && vmStartGap(next, gapGuard) < gapEnd) {
      high = vmStartGap(next, gapGuard);
      continue;
    }
    return gap;
  }
  return -1;
}

/** vm_unmapped_area() bottom-up (unmapped_area()). */
function unmappedAreaBottomup(k: Kernel, mm: MmStruct, len: number, low: number, high: number, alignMask = 0): number {
  if (alignMask === 0) return mm.vmas.lowestGap(Math.max(low, mmapMinAddr(k)), high, len);
  // unmapped_area(): ask for len + align_mask, then round the gap's start up.
  const gap = mm.vmas.lowestGap(Math.max(low, mmapMinAddr(k)), high, len + alignMask);
  return gap < 0 ? gap : Math.ceil(gap / (alignMask + 1)) * (alignMask + 1);
}

/**
 * arch_get_unmapped_area_topdown() / generic_get_unmapped_area_topdown():
 * MAP_FIXED returns addr as is; a usable hint is honoured; otherwise the
 * highest free range below mmap_base, falling back to bottom-up. `alignMask`:
 * the search's info.align_mask (a hugetlbfs file's, get_align_mask()).
 */
function archGetUnmappedAreaTopdown(k: Kernel, mm: MmStruct, addr: number, len: number, flags: number, alignMask = 0): KRet {
  const taskSize = mm.taskSize;
  if (len > taskSize - mmapMinAddr(k) && k.arch.pteFormat !== 'x86') return 'ENOMEM';
  if (len > taskSize) return 'ENOMEM';
  if (flags & MAP_FIXED) return addr;
  const ps = mm.pageSize;
  const guard = stackGuardGap(k);
  if (k.arch.pteFormat === 'x86' && flags & MAP_32BIT) {
    // The legacy 32-bit window: bottom-up between 1 GiB and 2 GiB.
    const begin = 0x40000000;
    const end = 0x80000000;
    const found = unmappedAreaBottomup(k, mm, len, Math.max(begin, addr), end, alignMask);
    return found < 0 ? 'ENOMEM' : found;
  }
  if (addr !== 0) {
    if (k.arch.pteFormat === 'x86') {
      addr = Math.floor(addr / ps) * ps;
      // mmap_address_hint_valid()
      const valid = taskSize - len >= addr && addr > DEFAULT_MAP_WINDOW_X86 === addr + len > DEFAULT_MAP_WINDOW_X86;
      if (valid) {
        const vma = mm.vmas.find(addr);
        if (vma === null || addr + len <= vmStartGap(vma, guard)) return addr;
      }
    } else {
      addr = Math.ceil(addr / ps) * ps;
      const vma = mm.vmas.find(addr);
      const prev = mm.vmas.findPrev(addr);
      if (taskSize - len >= addr && addr >= mmapMinAddr(k) && (vma === null || addr + len <= vmStartGap(vma, guard)) && (prev === null || addr >= prev.end)) {
        return addr;
      }
    }
  }
  let found = unmappedAreaTopdown(k, mm, len, ps, mm.mmapBase, alignMask, 0);
  if (found < 0) {
    // A failed top-down search retries bottom-up from TASK_UNMAPPED_BASE (x86: mm->mmap_legacy_base
    // in find_start_end(); generic_get_unmapped_area_topdown() on arm64).
    found = unmappedAreaBottomup(k, mm, len, k.arch.taskUnmappedBase, taskSize, alignMask);
    if (found < 0) return 'ENOMEM';
  }
  return found;
}

/**
 * __thp_get_unmapped_area(): ask for a PMD more than needed and place the
 * mapping so file offset and address are congruent modulo the PMD size.
 * The range checks follow C's integer rules on loff_t and unsigned long
 * (wrapping signed arithmetic, unsigned comparisons where an unsigned long
 * takes part): for an offset whose round-up to the PMD size overflows loff_t
 * (0x7fffffffffffe000), Linux does not take the early return and aligns even
 * a one-page mapping, and so does the model.
 */
function thpGetUnmappedArea(k: Kernel, mm: MmStruct, addr: number, len: number, off: bigint, flags: number): KRet {
  const size = k.arch.pmdSize;
  const sizeB = BigInt(size);
  const lenB = BigInt(len);
  const s64 = (x: bigint): bigint => BigInt.asIntN(64, x);
  const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);
  const offEnd = s64(off + lenB);
  const offAlign = s64(((off - 1n) | (sizeB - 1n)) + 1n);
  if (offEnd <= offAlign || u64(offEnd - offAlign) < sizeB) return archGetUnmappedAreaTopdown(k, mm, addr, len, flags);
  const lenPad = len + size;
  if (u64(off + BigInt(lenPad)) < u64(off)) return archGetUnmappedAreaTopdown(k, mm, addr, len, flags);
  const ret = archGetUnmappedAreaTopdown(k, mm, addr, lenPad, flags);
  if (isErr(ret)) return archGetUnmappedAreaTopdown(k, mm, addr, len, flags);
  if (ret === addr) return addr;
  const offSub = Number(u64(off - BigInt(ret)) & (sizeB - 1n));
  // MMF_TOPDOWN and already aligned: use the top of the padded area.
  if (offSub === 0) return ret + size;
  return ret + offSub;
}

/**
 * hugetlb_get_unmapped_area(): a length of whole huge pages, MAP_FIXED only at
 * a huge page boundary, a hint rounded up to one, and a search aligned to the
 * huge page size.
 */
function hugetlbGetUnmappedArea(k: Kernel, mm: MmStruct, file: File, addr: number, len: number, flags: number): KRet {
  const hs = file.inode.hpageSize;
  if (len % hs !== 0) return 'EINVAL';
  if (flags & MAP_FIXED && addr % hs !== 0) return 'EINVAL';
  const addr0 = addr === 0 ? 0 : Math.ceil(addr / hs) * hs;
  return archGetUnmappedAreaTopdown(k, mm, addr0, len, flags, hs - 1);
}

/** __get_unmapped_area() */
export function getUnmappedArea(k: Kernel, mm: MmStruct, file: File | null, addr: number, len: number, pgoff: number, flags: number): KRet {
  if (len > mm.taskSize) return 'ENOMEM';
  const ps = mm.pageSize;
  let r: KRet;
  if (file !== null && isFileHugepages(file)) {
    r = hugetlbGetUnmappedArea(k, mm, file, addr, len, flags);
  } else if (file !== null && file.inode.chr === 'zero' && (flags & MAP_SHARED) !== 0) {
    // get_unmapped_area_zero(): shmem's, which with shmem huge pages off
    // does not align.
    r = archGetUnmappedAreaTopdown(k, mm, addr, len, flags);
  } else if (file !== null && file.inode.kind === 'disk' && thpConfigured(k)) {
    // ext4's f_op->get_unmapped_area is thp_get_unmapped_area() (NULL without THP), and so
    // is get_unmapped_area_zero()'s for a private /dev/zero mapping.
    r = thpGetUnmappedArea(k, mm, addr, len, BigInt.asIntN(64, BigInt(pgoff) * BigInt(ps)), flags);
  } else if (file === null && (flags & MAP_SHARED) === 0 && addr === 0 && len % k.arch.pmdSize === 0 && thpConfigured(k)) {
    // Larger anonymous mappings are THP aligned: IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE)
    // is a build-time test, so this holds even with THP "never" at run time
    // (__get_unmapped_area(), __thp_get_unmapped_area() read no sysfs mode).
    r = thpGetUnmappedArea(k, mm, addr, len, 0n, flags);
  } else {
    r = archGetUnmappedAreaTopdown(k, mm, addr, len, flags);
  }
  if (isErr(r)) return r;
  if (r > mm.taskSize - len) return 'ENOMEM';
  if (r % ps !== 0) return 'EINVAL';
  // security_mmap_addr() -> cap_mmap_addr(): below vm.mmap_min_addr only with CAP_SYS_RAWIO
  // (only MAP_FIXED gets there: the searches and round_hint_to_min() stay above it).
  // Deviation: SELinux's own check below CONFIG_LSM_MMAP_MIN_ADDR (selinux_mmap_addr(),
  // mmap_zero permission) is not modelled: it applies only where SELinux is enabled.
  if (r < dacMmapMinAddr(k) && !k.settings.privileged) return 'EPERM';
  if (k.tracing) k.emit({ type: 'unmapped_area', len, result: r, topdown: true });
  return r;
}

/**
 * populate_vma_page_range() via GUP: fault in every page of [start, end)
 * that is not yet usable, writing for private writable mappings.
 */
export function populateRange(k: Kernel, task: Task, start: number, end: number): void {
  const mm = task.mm;
  const ps = mm.pageSize;
  for (let addr = start; addr < end; addr += ps) {
    const vma = mm.vmas.lookup(addr);
    if (vma === null) continue;
    if ((vma.flags & VM_LOCKONFAULT) !== 0) continue;
    if ((vma.flags & VM_ACCESS_FLAGS) === 0) continue;
    const write = (vma.flags & (VM_WRITE | VM_SHARED)) === VM_WRITE;
    const fl = pteFlagsAt(mm, addr / ps);
    if (fl & PTE_PRESENT && (!write || fl & PTE_WRITE)) continue;
    const f = doUserAddrFault(k, task, addr, write);
    if (f !== null) break;
  }
}

/**
 * shmem_zero_setup(): MAP_SHARED|MAP_ANONYMOUS memory is a shmem file named
 * "/dev/zero", unlinked, of the mapping's length.
 */
function shmemZeroSetup(k: Kernel, len: number, vmFlags: number): File {
  const file = k.vfs.shmemFileSetup('/dev/zero', len, true);
  // shmem_acct_size(): the whole size is committed unless VM_NORESERVE.
  if ((vmFlags & VM_NORESERVE) === 0) {
    file.inode.acctPages = Math.ceil(len / k.arch.pageSize);
    k.committedPages += file.inode.acctPages;
  }
  return file;
}

/**
 * mmap_region(): unmap what MAP_FIXED covers, charge the commit limit, merge
 * with a neighbour or insert a new VMA. Returns the address or an errno.
 */
function mmapRegion(k: Kernel, mm: MmStruct, file: File | null, addr: number, len: number, flags: number, pgoff: number): KRet {
  const ps = mm.pageSize;
  const end = addr + len;
  const npages = len / ps;
  let overlap = 0;
  for (let v = mm.vmas.find(addr); v !== null && v.start < end; v = v.next) {
    overlap += (Math.min(end, v.end) - Math.max(addr, v.start)) / ps;
  }
  if (!mayExpandVm(k, mm, flags, npages - overlap)) return 'ENOMEM';
  if (isFileHugepages(file)) {
    // hugetlbfs_file_mmap(): VM_HUGETLB | VM_DONTEXPAND; the offset whole huge pages (EINVAL);
    // hugetlb_reserve_pages() fails with the pool empty unless VM_NORESERVE (ENOMEM).
    // Deviation: checked before MAP_FIXED's unmap, so a failure splits no VMA it overlaps
    // (Linux keeps the splits vms_gather_munmap_vmas() made).
    if (pgoff % (file!.inode.hpageSize / ps) !== 0) return 'EINVAL';
    if ((flags & VM_NORESERVE) === 0) return 'ENOMEM';
    flags |= VM_HUGETLB | VM_DONTEXPAND;
  }
  // shmem_zero_setup() -> __shmem_file_setup() -> shmem_acct_size(): shared anonymous
  // memory is charged for its whole size unless VM_NORESERVE (Linux 6.18: a 64 GiB
  // MAP_SHARED|MAP_ANONYMOUS mapping on a 24 GiB machine is ENOMEM in mode 0).
  // The charge stays with the shmem inode (Inode.acctPages) until it is freed
  // (shmem_evict_inode() -> shmem_unacct_size()). Deviation: with VM_NORESERVE,
  // Linux charges each page as shmem allocates it; the model charges nothing.
  const devZero = file !== null && file.inode.chr === 'zero';
  if ((file === null || devZero) && (flags & VM_SHARED) !== 0 && (flags & VM_NORESERVE) === 0 && !vmEnoughMemory(k, mm, npages)) return 'ENOMEM';
  if (overlap > 0) {
    const r = doVmiAlignMunmap(k, mm, addr, end);
    if (r !== 0) return r;
  }
  if (accountableMapping(flags)) {
    if (!vmEnoughMemory(k, mm, npages)) return 'ENOMEM';
    k.committedPages += npages;
    flags |= VM_ACCOUNT;
  }
  let mapFile = file;
  let anonFile: File | null = null;
  if (file === null && (flags & VM_SHARED) !== 0) {
    mapFile = shmemZeroSetup(k, len, flags);
    pgoff = 0;
  } else if (devZero && (flags & VM_SHARED) !== 0) {
    // mmap_zero() -> shmem_zero_setup(): a fresh shmem object per mapping;
    // the VMA keeps the offset it was asked for.
    mapFile = shmemZeroSetup(k, len, flags);
  } else if (devZero) {
    // mmap_zero_private_success(): vma_set_anonymous(), vm_file kept for /proc.
    mapFile = null;
    anonFile = file;
  }
  const attrs = { flags, file: mapFile, anonName: null, anonFile };
  let vma = ((flags & VM_SHARED) === 0 || file !== null) && !devZero ? vmaMergeNewRange(mm, addr, end, pgoff, attrs) : null;
  if (vma === null) {
    vma = new Vma(addr, end, flags, pgoff, mapFile, null);
    if (mapFile !== null) fileGet(mapFile);
    if (anonFile !== null) {
      vma.anonFile = anonFile;
      fileGet(anonFile);
    }
    vmaLink(mm, vma);
  }
  const total = totalVmPages(mm);
  if (total > mm.hiwaterVm) mm.hiwaterVm = total;
  return addr;
}

/** The parts of mmap's flags that become vm_flags (calc_vm_flag_bits()). */
function calcVmFlagBits(flags: number): number {
  let vm = 0;
  if (flags & MAP_GROWSDOWN) vm |= VM_GROWSDOWN;
  if (flags & MAP_LOCKED) vm |= VM_LOCKED;
  if (flags & MAP_SYNC) vm |= VM_SYNC;
  if (flags & MAP_STACK) vm |= VM_NOHUGEPAGE;
  return vm;
}

/** mlock_future_ok(): may the locked total grow by len bytes? */
export function mlockFutureOk(k: Kernel, mm: MmStruct, flags: number, len: number): boolean {
  if ((flags & VM_LOCKED) === 0 || k.settings.privileged) return true;
  let locked = 0;
  for (const v of mm.vmas) if (v.flags & VM_LOCKED) locked += v.end - v.start;
  return locked + len <= k.settings.memlockRlimit;
}

/**
 * A scratch 64-bit register read back as two 32-bit halves: storing a bigint
 * into a BigUint64Array reduces it modulo 2^64 (u64()), and the halves give
 * its value as numbers without bigint arithmetic or Number(bigint), both slow.
 */
const reg64 = new BigUint64Array(1);
const reg32 = new Uint32Array(reg64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = 1 - LO;

/** u64(v) into the scratch register (a non-integer number throws, as u64() does). */
function loadReg(v: bigint | number): void {
  reg64[0] = typeof v === 'bigint' ? v : u64(v);
}

/**
 * A register's unsigned 64-bit value (u64()) as an exact number, or
 * Infinity when it is 2^53 or more: no address or length that large is
 * valid, and every check treats it as above TASK_SIZE.
 */
function regValue(v: bigint | number): number {
  if (typeof v === 'number' && v >= 0 && Number.isSafeInteger(v)) return v + 0;
  loadReg(v);
  const hi = reg32[HI]!;
  return hi < 2 ** 21 ? hi * 2 ** 32 + reg32[LO]! : Infinity;
}

/** The low 32 bits of a register, unsigned: what an `int` or flags argument keeps. */
function low32(v: bigint | number): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v >>> 0;
  loadReg(v);
  return reg32[LO]!;
}

/** IS_ERR_VALUE() of a register: the errno (1 to 4095) when it holds -errno, else 0. */
function regErrValue(v: bigint | number): number {
  if (typeof v === 'number' && v >= 0 && Number.isSafeInteger(v)) return 0;
  loadReg(v);
  return reg32[HI] === 0xffffffff && reg32[LO]! > 0xfffff000 ? 2 ** 32 - reg32[LO]! : 0;
}

/** Whether bits 32-63 of a register are set. */
function high32(v: bigint | number): boolean {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v < 0 || v >= 2 ** 32;
  loadReg(v);
  return reg32[HI] !== 0;
}

/** The page index of an offset register (exact: below 2^52), or -1 when the offset is not page aligned. */
function regPageIndex(v: bigint | number, ps: number): number {
  if (typeof v === 'number' && v >= 0 && Number.isSafeInteger(v)) return v % ps === 0 ? v / ps : -1;
  loadReg(v);
  const lo = reg32[LO]!;
  return lo % ps === 0 ? reg32[HI]! * (2 ** 32 / ps) + lo / ps : -1;
}

/**
 * sys_mmap() -> ksys_mmap_pgoff() -> vm_mmap_pgoff() -> do_mmap().
 * Returns the mapped address or an errno; MAP_POPULATE faults pages in after.
 */
export function sysMmap(
  k: Kernel,
  task: Task,
  addrArg: bigint | number,
  lenArg: bigint | number,
  protArg: bigint | number,
  flagsArg: bigint | number,
  fdArg: bigint | number,
  offArg: bigint | number,
): KRet {
  const mm = task.mm;
  const ps = mm.pageSize;
  const taskSize = mm.taskSize;
  // The int arguments first (a non-integer number throws here, as u64() does).
  const prot = low32(protArg);
  const lowFlags = low32(flagsArg);
  const fd = low32(fdArg) | 0;
  // sys_mmap(): the offset must be page aligned.
  let pgoff = regPageIndex(offArg, ps);
  if (pgoff < 0) return 'EINVAL';
  let file: File | null = null;
  let hugetlbLog = 0;
  if ((lowFlags & MAP_ANONYMOUS) === 0) {
    file = task.process.files.get(fd) ?? null;
    if (file === null) return 'EBADF';
    if (lowFlags & MAP_HUGETLB) return 'EINVAL';
  } else if (lowFlags & MAP_HUGETLB) {
    // ksys_mmap_pgoff(): an anonymous MAP_HUGETLB mapping is a hugetlbfs file of the
    // MAP_HUGE_* size; hstate_sizelog() knows only the architecture's huge page sizes,
    // and none in a kernel built without hugetlbfs.
    if (!(k.settings.hugetlbfs ?? k.arch.hugetlbfs)) return 'EINVAL';
    const sizeLog = (lowFlags >> MAP_HUGE_SHIFT) & 0x3f;
    if (sizeLog !== 0 && !k.arch.hugetlbSizeLogs.includes(sizeLog)) return 'EINVAL';
    hugetlbLog = sizeLog !== 0 ? sizeLog : defaultHstateLog(k);
  }
  let len = regValue(lenArg);
  if (hugetlbLog !== 0) {
    // len = ALIGN(len, huge_page_size(hs)), which wraps to 0 (EINVAL below) near 2^64;
    // then the file the mapping is of (hugetlb_file_setup()).
    const hmask = (1n << BigInt(hugetlbLog)) - 1n;
    len = regValue((u64(lenArg) + hmask) & ~hmask & 0xffffffffffffffffn);
    file = hugetlbFileSetup(k, len, hugetlbLog);
  }
  let addr = regValue(addrArg);
  let flags = lowFlags;
  // do_mmap()
  if (len === 0) return 'EINVAL';
  if (flags & MAP_FIXED_NOREPLACE) flags |= MAP_FIXED;
  if ((flags & MAP_FIXED) === 0) {
    // round_hint_to_min()
    addr = Math.floor(addr / ps) * ps;
    if (addr !== 0 && addr < mmapMinAddr(k)) addr = Math.ceil(mmapMinAddr(k) / ps) * ps;
  }
  // PAGE_ALIGN(): a length that wraps to 0 near 2^64 (ENOMEM in the kernel) is
  // Infinity here and fails the TASK_SIZE check below with the same errno.
  len = Math.ceil(len / ps) * ps;
  if (mm.mapCount > k.settings.maxMapCount) return 'ENOMEM';
  if (len > taskSize) return 'ENOMEM';
  if ((flags & MAP_FIXED) !== 0) {
    // __get_unmapped_area(): get_area hands a MAP_FIXED address back as is,
    // and IS_ERR_VALUE() then reads the top 4095 values as -errno, so
    // MAP_FIXED at (void *)-1 (a failed mmap's result) fails with EPERM.
    // Deviation: a value whose errno the model has no name for gets EINVAL.
    const err = regErrValue(addrArg);
    if (err !== 0) return errnoByNumber(err) ?? 'EINVAL';
    if (addr > taskSize || len > taskSize - addr) return 'ENOMEM';
  }
  const addrHint = addr > taskSize ? taskSize : addr;
  const pgoffForArea = file === null ? 0 : pgoff % 2 ** 52;
  const got = getUnmappedArea(k, mm, file, addrHint, len, pgoffForArea, flags);
  if (isErr(got)) return got;
  const at = got;
  if ((flags & MAP_FIXED_NOREPLACE) !== 0 && mm.vmas.findIntersection(at, at + len) !== null) return 'EEXIST';
  let vmFlags = calcVmProtBits(prot) | calcVmFlagBits(flags) | mm.defFlags | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  // do_mmap(): exactly PROT_EXEC takes the execute-only protection key (x86 PKU).
  if (prot === PROT_EXEC && execOnlyPkeys(k)) vmFlags |= VM_PKEY_BIT0;
  if (flags & MAP_LOCKED && !k.settings.privileged && k.settings.memlockRlimit === 0) return 'EPERM';
  if (!mlockFutureOk(k, mm, vmFlags, len)) return 'EAGAIN';
  if (file !== null) {
    const inode = file.inode;
    // file_mmap_ok(): offset + length within MAX_LFS_FILESIZE (2^63 - 1): pgoff at most
    // (2^63 - 1 - len) / PAGE_SIZE, which is 2^63 / PAGE_SIZE - len / PAGE_SIZE - 1 for a
    // page-aligned len (len is below TASK_SIZE here).
    if (pgoff > 2 ** 63 / ps - len / ps - 1) return 'EOVERFLOW';
    const type = flags & MAP_TYPE;
    if (type === MAP_SHARED || type === MAP_SHARED_VALIDATE) {
      // MAP_32BIT is 0, so not in the mask, on arches other than x86.
      const legacy = k.arch.pteFormat === 'x86' ? LEGACY_MAP_MASK : LEGACY_MAP_MASK & ~MAP_32BIT;
      if (type === MAP_SHARED) flags &= legacy;
      else if ((flags & ~legacy) !== 0 || high32(flagsArg)) return 'EOPNOTSUPP';
      if (prot & PROT_WRITE && (file.fMode & FMODE_WRITE) === 0) return 'EACCES';
      vmFlags |= VM_SHARED | VM_MAYSHARE;
      if ((file.fMode & FMODE_WRITE) === 0) vmFlags &= ~(VM_MAYWRITE | VM_SHARED);
    } else if (type !== MAP_PRIVATE) {
      return 'EINVAL';
    }
    if ((file.fMode & FMODE_READ) === 0) return 'EACCES';
    // No f_op->mmap: ENODEV (a directory, /dev/null, a terminal); /dev/zero has mmap_zero().
    if ((inode.mode & 0o170000) !== 0o100000 && inode.chr !== 'zero') return 'ENODEV';
    if (vmFlags & VM_GROWSDOWN) return 'EINVAL';
  } else {
    const type = flags & MAP_TYPE;
    if (type === MAP_SHARED) {
      if (vmFlags & VM_GROWSDOWN) return 'EINVAL';
      pgoff = 0;
      vmFlags |= VM_SHARED | VM_MAYSHARE;
    } else if (type === MAP_DROPPABLE) {
      if (flags & MAP_LOCKED) return 'EINVAL';
      if (vmFlags & VM_GROWSDOWN) return 'EINVAL';
      // Deviation: VM_DROPPABLE pages are not dropped under pressure (there is none).
      vmFlags |= VM_WIPEONFORK | VM_DONTDUMP;
      pgoff = at / ps;
    } else if (type === MAP_PRIVATE) {
      pgoff = at / ps;
    } else {
      return 'EINVAL';
    }
  }
  if (flags & MAP_NORESERVE && k.settings.overcommitMemory !== 2) vmFlags |= VM_NORESERVE;
  // hugetlb applies strict overcommit unless MAP_NORESERVE.
  if (flags & MAP_NORESERVE && hugetlbLog !== 0) vmFlags |= VM_NORESERVE;
  // ext4_file_mmap(): VM_SYNC (from MAP_SYNC, set before MAP_SHARED's masking) needs
  // a DAX device; the model's disk is not one, so MAP_SYNC on a disk file fails.
  if (file !== null && file.inode.kind === 'disk' && vmFlags & VM_SYNC) return 'EOPNOTSUPP';
  // __mmap_complete(): a hugetlb VMA is never VM_LOCKED (it is still populated below).
  const r = mmapRegion(k, mm, file, at, len, hugetlbLog !== 0 ? vmFlags & ~VM_LOCKED_MASK : vmFlags, pgoff);
  if (isErr(r)) return r;
  // vm_mmap_pgoff() -> mm_populate(): GUP faults, errors ignored.
  if ((vmFlags & VM_LOCKED) !== 0 || (flags & (MAP_POPULATE | MAP_NONBLOCK)) === MAP_POPULATE) mmPopulate(k, task, at, len, true);
  return r;
}

/** munmap(2): __vm_munmap() -> do_vmi_munmap(). */
export function sysMunmap(k: Kernel, task: Task, addrArg: bigint | number, lenArg: bigint | number): KRet {
  const mm = task.mm;
  const ps = mm.pageSize;
  const taskSize = mm.taskSize;
  const start = regValue(addrArg);
  const len = regValue(lenArg);
  if (start > taskSize || start % ps !== 0 || len > taskSize - start) return 'EINVAL';
  const end = start + Math.ceil(len / ps) * ps;
  if (end === start) return 'EINVAL';
  const r = doVmiAlignMunmap(k, mm, start, end);
  return r === 0 ? 0 : r;
}

/** brk(2): grow or shrink the heap; returns the new (or unchanged) break. */
export function sysBrk(k: Kernel, task: Task, brkArg: bigint): number {
  const mm = task.mm;
  const ps = mm.pageSize;
  const origBrk = mm.brk;
  const want = u64(brkArg);
  if (want < BigInt(mm.startBrk) || want > BigInt(mm.taskSize)) return origBrk;
  const brk = Number(want);
  // check_data_rlimit()
  if (brk - mm.startBrk + (mm.endData - mm.startData) > k.settings.dataRlimit) return origBrk;
  const newBrk = Math.ceil(brk / ps) * ps;
  const oldBrk = Math.ceil(mm.brk / ps) * ps;
  if (oldBrk === newBrk) {
    mm.brk = brk;
    return brk;
  }
  if (brk <= mm.brk) {
    // Always allow shrinking, unless another mapping lies in the way.
    const brkVma = mm.vmas.find(newBrk);
    if (brkVma === null || brkVma.start >= oldBrk) return origBrk;
    mm.brk = brk;
    if (doVmiAlignMunmap(k, mm, newBrk, oldBrk) !== 0) {
      mm.brk = origBrk;
      return origBrk;
    }
    return brk;
  }
  // check_brk_limits(): the new range must be free, RLIMIT_AS and friends.
  const growLen = newBrk - oldBrk;
  if (mm.vmas.findIntersection(oldBrk, newBrk) !== null) return origBrk;
  const next = mm.vmas.find(oldBrk);
  if (next !== null && newBrk + ps > vmStartGap(next, stackGuardGap(k))) return origBrk;
  const flags = VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT | mm.defFlags;
  if (!mayExpandVm(k, mm, flags, growLen / ps)) return origBrk;
  if (mm.mapCount > k.settings.maxMapCount) return origBrk;
  if (!vmEnoughMemory(k, mm, growLen / ps)) return origBrk;
  k.committedPages += growLen / ps;
  // do_brk_flags(): expand the brk VMA when it ends at oldBrk and is compatible, else a new VMA.
  const prev = mm.vmas.findPrev(oldBrk);
  if (prev !== null && prev.end === oldBrk && prev.start >= mm.startBrk && prev.file === null && prev.flags === flags && prev.anonName === null) {
    mm.vmas.adjust(prev, prev.start, newBrk);
  } else {
    const merged = vmaMergeNewRange(mm, oldBrk, newBrk, oldBrk / ps, { flags, file: null, anonName: null });
    if (merged === null) vmaLink(mm, new Vma(oldBrk, newBrk, flags, oldBrk / ps, null, null));
  }
  mm.brk = brk;
  const total = totalVmPages(mm);
  if (total > mm.hiwaterVm) mm.hiwaterVm = total;
  if (mm.defFlags & VM_LOCKED) populateRange(k, task, oldBrk, newBrk);
  return brk;
}

