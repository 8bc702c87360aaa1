/**
 * msync(2) (mm/msync.c): MS_SYNC writes back the dirty pages of every shared
 * file mapping in the range (vfs_fsync_range()); MS_ASYNC does nothing
 * since dirty pages are already tracked; MS_INVALIDATE fails with EBUSY on
 * locked mappings. An unmapped hole gives ENOMEM after the rest is done
 * (MS_ASYNC alone stops at the hole: there is nothing to do past it).
 */
import type { Kernel } from '../kernel.js';
import type { Task } from '../sched.js';
import { MS_ASYNC, MS_INVALIDATE, MS_SYNC } from '../uapi.js';
import { filemapWriteAndWait } from './filemap.js';
import { type KRet, u64 } from './mmap.js';
import { VM_LOCKED, VM_SHARED } from './vm-flags.js';

export function sysMsync(k: Kernel, task: Task, startArg: bigint, lenArg: bigint, flagsArg: bigint): KRet {
  const mm = task.mm;
  const ps = BigInt(mm.pageSize);
  const start = u64(startArg);
  // SYSCALL_DEFINE3(msync, ..., int, flags): bits 32-63 of the register never arrive.
  const flags = Number(u64(flagsArg) & 0xffffffffn);
  if ((flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) !== 0) return 'EINVAL';
  if (start & (ps - 1n)) return 'EINVAL';
  if (flags & MS_ASYNC && flags & MS_SYNC) return 'EINVAL';
  const len = (u64(lenArg) + ps - 1n) & ~(ps - 1n) & ((1n << 64n) - 1n);
  const end64 = start + len;
  if (end64 > (1n << 64n) - 1n) return 'ENOMEM';
  if (end64 === start) return 0;
  const taskSize = BigInt(mm.taskSize);
  let s = start >= taskSize ? mm.taskSize : Number(start);
  const end = end64 >= taskSize ? mm.taskSize : Number(end64);
  let unmapped = false;
  let vma = mm.vmas.find(s);
  for (;;) {
    if (vma === null || s >= end) return end64 > taskSize || unmapped || vma === null ? 'ENOMEM' : 0;
    if (s < vma.start) {
      // A hole: MS_ASYNC alone has nothing more to do and stops; MS_SYNC goes on
      // syncing the VMAs past it and fails at the end (mm/msync.c, Linux 6.18:
      // `if (flags == MS_ASYNC) goto out_unlock`).
      if (flags === MS_ASYNC) return 'ENOMEM';
      s = vma.start;
      if (s >= end) return 'ENOMEM';
      unmapped = true;
    }
    if (flags & MS_INVALIDATE && vma.flags & VM_LOCKED) return 'EBUSY';
    const fstart = (s - vma.start) / mm.pageSize + vma.pgoff;
    const stop = Math.min(end, vma.end);
    if (flags & MS_SYNC && vma.file !== null && vma.flags & VM_SHARED) {
      filemapWriteAndWait(k, vma.file.inode.mapping, fstart, fstart + (stop - s) / mm.pageSize - 1);
    }
    s = stop;
    if (s >= end) return unmapped || end64 > taskSize ? 'ENOMEM' : 0;
    vma = vma.next;
  }
}
