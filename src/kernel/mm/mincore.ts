/**
 * mincore(2) (mm/mincore.c): one byte per page, 1 when the page is resident:
 * mapped by a present PTE, or for file mappings present in the page cache.
 */
import type { Kernel } from '../kernel.js';
import type { Task } from '../sched.js';
import { PTE_PRESENT } from '../arch/pte.js';
import { type KRet, u64 } from './mmap.js';
import { pteFlagsAt, pteLookup } from './pgtable.js';
import { folioUptodate } from './filemap.js';

export interface MincoreResult {
  ret: KRet;
  vec: Uint8Array;
}

export function sysMincore(k: Kernel, task: Task, startArg: bigint, lenArg: bigint): MincoreResult {
  const mm = task.mm;
  const ps = mm.pageSize;
  const start = u64(startArg);
  const len = u64(lenArg);
  const empty = new Uint8Array(0);
  if (start & BigInt(ps - 1)) return { ret: 'EINVAL', vec: empty };
  // access_ok(): the range must lie in user space.
  const limit = BigInt(mm.taskSize);
  if (start > limit || len > limit - start) return { ret: 'ENOMEM', vec: empty };
  const npages = Number((len + BigInt(ps) - 1n) / BigInt(ps));
  // do_mincore() stops at the first unmapped page with ENOMEM: find how far the VMAs reach first.
  let reach = Number(start);
  for (let v = mm.vmas.lookup(reach); v !== null && reach < Number(start) + npages * ps; v = v.next) {
    if (v.start > reach) break;
    reach = v.end;
  }
  const mapped = Math.min(npages, Math.max(0, (reach - Number(start)) / ps));
  // Deviation: the vector is returned rather than written to user memory, so it is capped at 2^28 entries.
  if (mapped > 2 ** 28) return { ret: 'ENOMEM', vec: empty };
  const vec = new Uint8Array(mapped);
  let addr = Number(start);
  for (let i = 0; i < npages; i++, addr += ps) {
    const vma = i < mapped ? mm.vmas.lookup(addr) : null;
    if (vma === null) return { ret: 'ENOMEM', vec: vec.subarray(0, i) };
    const vpn = addr / ps;
    // mincore_pte_range(): a huge PMD (the huge zero page too) is resident whole.
    const fl = pteFlagsAt(mm, vpn);
    if (fl & PTE_PRESENT) {
      vec[i] = 1;
    } else if (vma.file !== null) {
      const index = vma.pgoff + (addr - vma.start) / ps;
      // mincore_page(): a cached page counts only when its folio is uptodate.
      const as = vma.file.inode.mapping;
      vec[i] = as.pages.has(index) && folioUptodate(k, as, index) ? 1 : 0;
    }
  }
  return { ret: 0, vec };
}
