/**
 * Stack growth (mm/mmap.c:expand_stack() -> expand_downwards(),
 * acct_stack_growth()): a fault just below a VM_GROWSDOWN VMA extends it,
 * unless that would pass RLIMIT_STACK or come within stack_guard_gap of the
 * mapping below.
 */
import type { Kernel } from '../kernel.js';
import type { MmStruct } from './mm-struct.js';
import type { Vma } from './vma.js';
import { mayExpandVm, mmapMinAddr, vmEnoughMemory } from './mmap.js';
import { VM_ACCESS_FLAGS, VM_ACCOUNT, VM_GROWSDOWN } from './vm-flags.js';

export function stackGuardGap(k: Kernel): number {
  return k.settings.stackGuardGapPages * k.arch.pageSize;
}

/** expand_downwards(): true when the VMA now covers addr. */
export function expandStack(k: Kernel, mm: MmStruct, vma: Vma, addr: number): boolean {
  const ps = mm.pageSize;
  const newStart = Math.floor(addr / ps) * ps;
  if (newStart < Math.max(mmapMinAddr(k), ps)) return false;
  const prev = vma.prev;
  if (prev !== null) {
    if ((prev.flags & VM_GROWSDOWN) === 0 && (prev.flags & VM_ACCESS_FLAGS) !== 0 && newStart - prev.end < stackGuardGap(k)) return false;
    if (prev.end > newStart) return false;
  }
  // acct_stack_growth(): the stack may not exceed RLIMIT_STACK.
  if (vma.end - newStart > k.settings.stackRlimit) return false;
  const grow = (vma.start - newStart) / ps;
  // acct_stack_growth(): RLIMIT_AS, then the commit charge for an accounted stack.
  if (!mayExpandVm(k, mm, vma.flags, grow)) return false;
  if ((vma.flags & VM_ACCOUNT) !== 0) {
    if (!vmEnoughMemory(k, mm, grow)) return false;
    k.committedPages += grow;
  }
  mm.vmas.adjust(vma, newStart, vma.end);
  vma.pgoff -= grow;
  return true;
}
