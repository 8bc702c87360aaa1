/**
 * mprotect(2) (mm/mprotect.c:do_mprotect_pkey(), mprotect_fixup(),
 * change_protection()): new vm_flags for a range, VMAs split and merged to
 * fit, PTEs rewritten to the new protection and the TLB flushed.
 */
import type { Kernel } from '../kernel.js';
import { PTE_ACCESSED, PTE_DIRTY, PTE_NX, PTE_PRESENT, PTE_PROTNONE, PTE_SPECIAL, PTE_USER, PTE_WRITE } from '../arch/pte.js';
import type { Task } from '../sched.js';
import { PROT_EXEC, PROT_GROWSDOWN, PROT_GROWSUP, PROT_READ, PROT_SEM, PROT_WRITE } from '../uapi.js';
import { vmaPageProt, vmaWantsWritenotify } from './memory.js';
import { populateVmaPageRange } from './mlock.js';
import type { MmStruct } from './mm-struct.js';
import { execOnlyPkeys, isErr, type KRet, mayExpandVm, u64, vmEnoughMemory } from './mmap.js';
import { PG_anon, PG_anon_exclusive } from './page-alloc.js';
import { forEachPresentPte } from './pgtable.js';
import { changeHugePmdRange } from './huge-memory.js';
import type { Vma } from './vma.js';
import { vmaModify } from './vma-ops.js';
import {
  VM_ACCESS_FLAGS, VM_ACCOUNT, VM_GROWSDOWN, VM_HUGETLB, VM_NORESERVE, VM_PKEY_BIT0, VM_LOCKED, VM_SHARED, VM_WRITE, calcVmProtBits,
} from './vm-flags.js';

/**
 * change_protection() over [start, end) of a VMA that already carries its
 * new flags: rewrite present PTEs' permission bits, keeping dirty and
 * accessed, and make known-exclusive anonymous pages (or dirty shared
 * pages) writable at once where a write fault would do so anyway.
 */
export function changeProtection(k: Kernel, mm: MmStruct, vma: Vma, start: number, end: number): void {
  const ps = mm.pageSize;
  const prot = vmaPageProt(vma);
  const tryWritable = (vma.flags & VM_SHARED) === 0 ? (vma.flags & VM_WRITE) !== 0 : vmaWantsWritenotify(vma);
  const keep = PTE_DIRTY | PTE_ACCESSED | PTE_SPECIAL;
  // change_pmd_range(): huge PMDs first (change_huge_pmd(), or a split).
  let changed = mm.nrHugePmds > 0 && changeHugePmdRange(k, mm, vma, start / ps, end / ps);
  forEachPresentPte(mm, start / ps, end / ps, true, (t, i) => {
    const old = t.flags![i]!;
    let fl = (old & keep) | (prot & (PTE_PRESENT | PTE_USER | PTE_NX | PTE_PROTNONE | PTE_WRITE));
    if (old & PTE_SPECIAL) fl &= ~PTE_WRITE;
    if (tryWritable && !(fl & PTE_WRITE) && !(fl & PTE_PROTNONE) && !(old & PTE_SPECIAL)) {
      const pfn = t.pfns![i]!;
      if ((vma.flags & VM_SHARED) === 0) {
        const pf = k.phys.flags[pfn]!;
        if (pf & PG_anon && pf & PG_anon_exclusive) fl |= PTE_WRITE;
      } else if (old & PTE_DIRTY) {
        fl |= PTE_WRITE;
      }
    }
    if (fl !== old) {
      t.flags![i] = fl;
      changed = true;
    }
  });
  if (changed) mm.flushTlbRange(start / ps, end / ps);
}

/** mprotect_fixup(): apply newFlags to [start, end) inside vma. */
function mprotectFixup(k: Kernel, task: Task, mm: MmStruct, vma: Vma, start: number, end: number, newFlags: number): KRet {
  const oldFlags = vma.flags;
  if (newFlags === oldFlags) return 0;
  const npages = (end - start) / mm.pageSize;
  let charged = 0;
  if (newFlags & VM_WRITE) {
    if (!mayExpandVm(k, mm, newFlags, npages) && mayExpandVm(k, mm, oldFlags, npages)) return 'ENOMEM';
    if ((oldFlags & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE)) === 0) {
      charged = npages;
      if (!vmEnoughMemory(k, mm, charged)) return 'ENOMEM';
      newFlags |= VM_ACCOUNT;
    }
  } else if ((oldFlags & VM_ACCOUNT) !== 0 && vma.isAnonymous && vma.anonVma === null) {
    // Made unwritable before any page was touched: the commit charge can be given back.
    newFlags &= ~VM_ACCOUNT;
  }
  const splits = (start > vma.start ? 1 : 0) + (end < vma.end ? 1 : 0);
  if (splits > 0 && mm.mapCount >= k.settings.maxMapCount) return 'ENOMEM';
  k.committedPages += charged;
  if ((oldFlags & VM_ACCOUNT) !== 0 && (newFlags & VM_ACCOUNT) === 0) k.committedPages -= npages;
  const target = vmaModify(mm, vma, start, end, { flags: newFlags, file: vma.file, anonName: vma.anonName, anonFile: vma.anonFile });
  if (target === 'EINVAL') return target;
  target.flags = newFlags;
  changeProtection(k, mm, target, start, end);
  // A private VM_LOCKED VMA becoming writable: break COW now rather than on
  // access (mprotect_fixup()'s populate_vma_page_range(); found by mmsim fuzz).
  if ((oldFlags & (VM_WRITE | VM_SHARED | VM_LOCKED)) === VM_LOCKED && (newFlags & VM_WRITE) !== 0) {
    populateVmaPageRange(k, task, target, start, end, false);
  }
  return 0;
}

/** do_mprotect_pkey() without protection keys. */
export function sysMprotect(k: Kernel, task: Task, startArg: bigint, lenArg: bigint, protArg: bigint): KRet {
  const mm = task.mm;
  const ps = BigInt(mm.pageSize);
  const start = u64(startArg);
  let len = u64(lenArg);
  let prot = Number(u64(protArg) & 0xffffffffn);
  const high = u64(protArg) >> 32n;
  const grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
  prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP);
  if (grows === (PROT_GROWSDOWN | PROT_GROWSUP)) return 'EINVAL';
  if (start & (ps - 1n)) return 'EINVAL';
  if (len === 0n) return 0;
  len = (len + ps - 1n) & ~(ps - 1n) & ((1n << 64n) - 1n);
  const end64 = start + len;
  if (len === 0n || end64 > (1n << 64n) - 1n || end64 <= start) return 'ENOMEM';
  // arch_validate_prot(): only READ, WRITE, EXEC and SEM.
  if ((prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) !== 0 || high !== 0n) return 'EINVAL';
  // Past user space no VMA can cover the range.
  // No TASK_SIZE check: the VMAs before the first hole change, then the hole gives ENOMEM.
  // Past user space `end` is only compared with VMA addresses, so a double's rounding is harmless.
  let nstart = Number(start);
  const end = Number(end64);
  let vma = mm.vmas.find(nstart);
  if (vma === null || vma.start >= end) return 'ENOMEM';
  if (grows & PROT_GROWSDOWN) {
    nstart = vma.start;
    if ((vma.flags & VM_GROWSDOWN) === 0) return 'EINVAL';
  } else {
    if (vma.start > nstart) return 'ENOMEM';
    // do_mprotect_pkey(): PROT_GROWSUP wants VM_GROWSUP, which is VM_NONE on
    // x86_64 and arm64, so it always fails (checked on Linux 6.18).
    if (grows & PROT_GROWSUP) return 'EINVAL';
  }
  let tmp = vma.start;
  let error: KRet = 0;
  while (vma !== null && vma.start < end) {
    // A hole between VMAs: the part before it has been changed already.
    if (vma.start > tmp) {
      error = 'ENOMEM';
      break;
    }
    // arch_override_mprotect_pkey(): PROT_EXEC alone takes the execute-only key; any
    // other protection of an execute-only VMA goes back to key 0.
    const pkey = prot === PROT_EXEC && execOnlyPkeys(k) ? VM_PKEY_BIT0 : 0;
    const newFlags = calcVmProtBits(prot) | pkey | (vma.flags & ~(VM_ACCESS_FLAGS | VM_PKEY_BIT0));
    // newflags >> 4 shifts VM_MAY* into place of VM_*: asking for more than allowed.
    if ((newFlags & ~(newFlags >> 4) & VM_ACCESS_FLAGS) !== 0) {
      error = 'EACCES';
      break;
    }
    const from = Math.max(nstart, vma.start);
    tmp = Math.min(vma.end, end);
    error = mprotectFixup(k, task, mm, vma, from, tmp, newFlags);
    if (isErr(error)) break;
    nstart = tmp;
    // for_each_vma_range(): each VMA once, stopping at the end of the range.
    if (nstart >= end) break;
    vma = mm.vmas.find(tmp);
  }
  if (!isErr(error) && tmp < end) error = 'ENOMEM';
  return error;
}
