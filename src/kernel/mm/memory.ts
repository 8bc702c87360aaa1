/**
 * The page-fault path of mm/memory.c, read as the kernel's story:
 * handleMmFault -> handlePteFault, which branches to doAnonymousPage,
 * doFault (doReadFault with doFaultAround, doCowFault, doSharedFault) for an
 * empty entry, and to doWpPage (wpPageReuse / wpPageCopy / wpPageShared) for
 * a write to a write-protected one. Before the PTE level, the PMD level:
 * an empty PMD of an eligible anonymous VMA gets a huge page
 * (createHugePmd -> doHugePmdAnonymousPage), a write to a write-protected
 * huge PMD goes to doHugePmdWpPage (mm/huge_memory.c, huge-memory.ts).
 */
import type { Kernel } from '../kernel.js';
import { PTE_ACCESSED, PTE_DIRTY, PTE_NX, PTE_PRESENT, PTE_PROTNONE, PTE_SPECIAL, PTE_USER, PTE_WRITE, pteFlagNames } from '../arch/pte.js';
import { filemapFault, folioOf, pagesOf } from './filemap.js';
import type { MmStruct } from './mm-struct.js';
import { PG_anon, PG_locked, PG_readahead, PG_uptodate, ZERO_PFN } from './page-alloc.js';
import { childAlloc, pmdAlloc, pmdIndex, pteAlloc, pudAlloc, type PageTable } from './pgtable.js';
import { VM_FAULT_FALLBACK, doHugePmdAnonymousPage, doHugePmdWpPage, hugePmdSetAccessed, thpVmaAllowed, thpVmaSuitable } from './huge-memory.js';
import { folioMarkDirty, setPte } from './pte-ops.js';
import { type AnonVma, folioAddNewAnonRmap, folioAddRmap, folioRemoveRmap, mmCounterOf } from './rmap.js';
import type { Vma } from './vma.js';
import { VM_ACCESS_FLAGS, VM_EXEC, VM_HUGETLB, VM_LOCKED, VM_PKEY_BIT0, VM_SHARED, VM_SOFTDIRTY, VM_WRITE } from './vm-flags.js';
import { mlockFaultedPages } from './mlock.js';

/** vm_fault_t bits (include/linux/mm_types.h). */
export const VM_FAULT_OOM = 0x1;
export const VM_FAULT_SIGBUS = 0x2;
export const VM_FAULT_MAJOR = 0x4;
export const VM_FAULT_SIGSEGV = 0x40;
export const VM_FAULT_NOPAGE = 0x100;
/**
 * The first attempt of this fault would have returned VM_FAULT_RETRY (its
 * lock dropped for I/O or readahead); the model completes it in one call.
 * mm_account_fault() counts such a fault major when its retry carries
 * FAULT_FLAG_TRIED: a fault taken in the kernel (copy_to_user()), which
 * takes mmap_lock directly, and GUP with retries. A user fault first tries
 * under the per-VMA lock and falls back without FAULT_FLAG_TRIED.
 */
export const VM_FAULT_RETRY = 0x400;
export const VM_FAULT_ERROR = VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV;

/** struct vm_fault: what a handler needs to know about the fault. */
interface Vmf {
  k: Kernel;
  mm: MmStruct;
  vma: Vma;
  addr: number;
  vpn: number;
  /** File page (or anonymous linear page) index of the fault. */
  pgoff: number;
  write: boolean;
  table: PageTable;
  index: number;
  /** Virtual page numbers [mappedFrom, mappedTo) this fault mapped beyond the faulting page (fault-around, a whole folio). */
  mappedFrom: number;
  mappedTo: number;
}

/**
 * vma_wants_writenotify(): a shared writable mapping of a file whose pages
 * are written back keeps its PTEs read-only so the first store to a clean
 * page faults and dirties it (page_mkwrite). shmem needs no such tracking.
 */
export function vmaWantsWritenotify(vma: Vma): boolean {
  if ((vma.flags & (VM_WRITE | VM_SHARED)) !== (VM_WRITE | VM_SHARED)) return false;
  return vma.file !== null && vma.file.inode.kind === 'disk';
}

/**
 * vm_get_page_prot() after vma_set_page_prot(): the PTE bits a fresh mapping
 * of this VMA gets. The protections carry the accessed bit (x86's PAGE_*
 * include _PAGE_ACCESSED, arm64's _PROT_DEFAULT has PTE_AF), so mk_pte()
 * makes young entries: smaps counts a page populated or faulted around as
 * Referenced (checked on Linux 6.18).
 */
export function vmaPageProt(vma: Vma): number {
  const f = vma.flags;
  if ((f & VM_ACCESS_FLAGS) === 0) return PTE_PRESENT | PTE_PROTNONE | PTE_ACCESSED;
  // An execute-only key: the PTE's pkey makes every data access fault. The model has no
  // pkey bits in PTEs, so it blocks them as for PROT_NONE (instruction fetch is not modelled).
  if (f & VM_PKEY_BIT0) return PTE_PRESENT | PTE_PROTNONE | PTE_ACCESSED;
  let bits = PTE_PRESENT | PTE_USER | PTE_ACCESSED;
  if ((f & VM_EXEC) === 0) bits |= PTE_NX;
  if ((f & (VM_WRITE | VM_SHARED)) === (VM_WRITE | VM_SHARED) && !vmaWantsWritenotify(vma)) bits |= PTE_WRITE;
  return bits;
}

/** linear_page_index(): the page index of addr in the VMA's file (or anon) space. */
export function linearPageIndex(vma: Vma, addr: number, pageSize: number): number {
  return vma.pgoff + Math.floor((addr - vma.start) / pageSize);
}

/**
 * anon_vma_compatible() + find_mergeable_anon_vma(): a neighbour that could
 * merge with this VMA but for its protections lends its anon_vma, so a later
 * mprotect() can merge them again.
 */
function findMergeableAnonVma(vma: Vma, pageSize: number): AnonVma | null {
  const compatible = (a: Vma, b: Vma): boolean =>
    a.end === b.start &&
    a.file === b.file &&
    ((a.flags ^ b.flags) & ~(VM_ACCESS_FLAGS | VM_SOFTDIRTY)) === 0 &&
    b.pgoff === a.pgoff + (a.end - a.start) / pageSize;
  const next = vma.next;
  if (next !== null && next.anonVma !== null && compatible(vma, next)) return next.anonVma;
  const prev = vma.prev;
  if (prev !== null && prev.anonVma !== null && compatible(prev, vma)) return prev.anonVma;
  return null;
}

/** anon_vma_prepare(): make sure the VMA has an anon_vma before its first anonymous page. */
export function anonVmaPrepare(k: Kernel, vma: Vma): AnonVma {
  if (vma.anonVma !== null) return vma.anonVma;
  const av = findMergeableAnonVma(vma, k.arch.pageSize) ?? k.newAnonVma();
  av.refs++;
  vma.anonVma = av;
  return av;
}

function trace(vmf: Vmf, handler: string, detail?: string): void {
  if (vmf.k.tracing) vmf.k.emit(detail === undefined ? { type: 'fault_handler', handler, addr: vmf.addr } : { type: 'fault_handler', handler, addr: vmf.addr, detail });
}

/**
 * do_anonymous_page(): first touch of private anonymous memory. It takes
 * its arguments rather than a Vmf: the commonest fault of all allocates
 * no fault record.
 */
function doAnonymousPage(k: Kernel, mm: MmStruct, vma: Vma, table: PageTable, vpn: number, addr: number, write: boolean): number {
  const prot = vmaPageProt(vma);
  if (!write) {
    // Reads map the shared zero page, read-only; a later write copies it.
    if (k.tracing) k.emit({ type: 'fault_handler', handler: 'do_anonymous_page', addr, detail: 'zero page' });
    setPte(k, mm, table, vpn, ZERO_PFN, (prot & ~PTE_WRITE) | PTE_SPECIAL);
    return 0;
  }
  if (k.tracing) k.emit({ type: 'fault_handler', handler: 'do_anonymous_page', addr, detail: 'new zeroed page' });
  const av = anonVmaPrepare(k, vma);
  const pfn = k.phys.allocPage(true);
  if (pfn < 0) return VM_FAULT_OOM;
  k.vmstat.pgalloc++;
  if (k.tracing) k.emit({ type: 'page_alloc', pfn, purpose: 'anon' });
  folioAddNewAnonRmap(k, mm, pfn, av, linearPageIndex(vma, addr, mm.pageSize));
  let flags = prot | PTE_DIRTY;
  if (vma.flags & VM_WRITE) flags |= PTE_WRITE;
  setPte(k, mm, table, vpn, pfn, flags);
  return 0;
}

/**
 * do_fault_around() + filemap_map_pages(): map the cached, uptodate pages
 * around a read fault, within the VMA and the PTE table, up to
 * fault_around_bytes, without faulting on each. set_pte_range() maps the
 * pages other than the faulting one "old" only where
 * arch_wants_old_prefaulted_pte(): arm64 with hardware access flags; on
 * x86 they are young like any new entry.
 */
function doFaultAround(vmf: Vmf, retry = false): boolean {
  const { k, mm, vma } = vmf;
  const ps = mm.pageSize;
  const nrPages = Math.floor(k.settings.faultAroundBytes / ps);
  const ptrs = mm.indexMask + 1;
  const pteOff = vmf.index;
  const vmaOff = vmf.pgoff - vma.pgoff;
  const vmaPages = (vma.end - vma.start) / ps;
  const fromPte = Math.max(pteOff - (pteOff % nrPages), pteOff - Math.min(pteOff, vmaOff));
  const toPte = Math.min(fromPte + nrPages, ptrs, pteOff + vmaPages - vmaOff) - 1;
  const file = vma.file!;
  const as = file.inode.mapping;
  const maxIdx = pagesOf(file.inode.size, ps);
  const baseVpn = vmf.vpn - pteOff;
  const prot = vmaPageProt(vma) & ~PTE_WRITE;
  const shmemWritable = vmaPageProt(vma) & PTE_WRITE;
  const old = k.arch.pteFormat === 'arm64' ? PTE_ACCESSED : 0;
  let mapped = 0;
  let hit = false;
  const pteFlags = prot | shmemWritable;
  // filemap_map_folio_range() -> set_pte_range(): pages [first, last] of the table
  // from consecutive cache indexes, skipping entries that are not pte_none
  // (a guard marker is not none either); one reference, map count and RSS page each.
  const mapRange = (first: number, last: number, firstIndex: number): void => {
    const t = vmf.table;
    const fls = t.flags!;
    const pfns = t.pfns!;
    const p = k.phys;
    const guards = mm.guards;
    let n = 0;
    let lo = -1;
    let hi = -1;
    for (let pte = first; pte <= last; pte++) {
      if (fls[pte] !== 0 || (guards !== null && guards.has(baseVpn + pte))) continue;
      const pfn = as.pages.get(firstIndex + (pte - first))!;
      p.refcount[pfn]!++;
      p.mapcount[pfn]!++;
      mm.rss[mmCounterOf(k, pfn)]!++;
      pfns[pte] = pfn;
      fls[pte] = pte === pteOff ? pteFlags : pteFlags & ~old;
      // The faulting page was found in the page cache (filemap_map_pages()'s
      // lookup); on a retry it is the page this fault just read, reported then.
      if (k.tracing && pte === pteOff && !retry) k.emit({ type: 'pagecache_hit', ino: as.host.ino, index: firstIndex + (pte - first), pfn });
      if (k.tracing) k.emit({ type: 'pte_install', addr: (baseVpn + pte) * ps, pfn, flags: pteFlagNames(fls[pte]!), level: k.arch.levels - 1 });
      if (pte === pteOff) hit = true;
      if (lo < 0) lo = pte;
      hi = pte;
      n++;
    }
    if (n === 0) return;
    t.used += n;
    mapped += n;
    vmf.mappedFrom = Math.min(vmf.mappedFrom, baseVpn + lo);
    vmf.mappedTo = Math.max(vmf.mappedTo, baseVpn + hi + 1);
  };
  for (let pte = fromPte; pte <= toPte; pte++) {
    const index = vmf.pgoff + (pte - pteOff);
    if (index >= maxIdx) break;
    const pfn = as.pages.get(index);
    if (pfn === undefined) continue;
    const { head, nr } = folioOf(as, index);
    const f = k.phys.flags[pfn]!;
    // next_uptodate_folio(): a folio not uptodate, carrying the readahead mark, or locked
    // is left whole for a real fault (which starts the async readahead the mark asks for).
    if (!(f & PG_uptodate) || f & (PG_readahead | PG_locked)) {
      pte += head + nr - 1 - index;
      continue;
    }
    if (nr > 1) {
      // filemap_map_folio_range() (Linux 6.18): a large folio that lies wholly inside
      // the VMA and the page table is mapped whole, past the fault-around window,
      // when it ends before the last page of the file (can_map_large: file_end >=
      // folio_next_index(); measured: a folio ending at end of file is mapped one
      // window at a time); otherwise only its pages inside the window.
      // Deviation: an order-9 folio at a PMD-aligned address is mapped with 512 PTEs,
      // not one PMD (filemap_map_pmd() / do_set_pmd()): same fault count, but a PTE
      // table is allocated and smaps FilePmdMapped stays 0.
      const headPte = pteOff + (head - vmf.pgoff);
      if (headPte >= 0 && headPte + nr <= ptrs && head >= vma.pgoff && head + nr <= vma.pgoff + vmaPages && head + nr < maxIdx) {
        mapRange(headPte, headPte + nr - 1, head);
      } else {
        const last = Math.min(head + nr - 1 - index + pte, toPte, maxIdx - 1 - vmf.pgoff + pteOff);
        mapRange(pte, last, index);
      }
      pte += head + nr - 1 - index;
      continue;
    }
    mapRange(pte, pte, index);
  }
  if (mapped > 0) {
    file.ra.mmapMiss = Math.max(0, file.ra.mmapMiss - mapped);
    k.vmstat.faultAroundPages += hit ? mapped - 1 : mapped;
  }
  if (k.tracing) k.emit({ type: 'fault_around', start: (baseVpn + fromPte) * ps, end: (baseVpn + toPte + 1) * ps, mapped });
  return hit;
}

/** The vm_fault_t bits of a fault that got its page from filemap_fault(). */
function faultPageRet(page: { major: boolean; dropped: boolean }): number {
  return (page.major ? VM_FAULT_MAJOR : 0) | (page.dropped ? VM_FAULT_RETRY : 0);
}

/** do_read_fault(): a read of a not-present file page. */
function doReadFault(vmf: Vmf): number {
  const { k, mm, vma } = vmf;
  if (k.settings.faultAroundBytes / mm.pageSize > 1) {
    if (doFaultAround(vmf)) {
      trace(vmf, 'do_read_fault', 'mapped by fault-around');
      return VM_FAULT_NOPAGE;
    }
  }
  const page = filemapFault(k, vma, vmf.pgoff);
  if (page === 'SIGBUS') return VM_FAULT_SIGBUS;
  if (page === 'OOM') return VM_FAULT_OOM;
  if (page.retry && k.settings.faultAroundBytes / mm.pageSize > 1) {
    // VM_FAULT_RETRY: the fault runs again, and do_fault_around() now finds the
    // pages just read (uptodate at once here; on Linux, those whose I/O has
    // completed). mm_account_fault() still counts one major fault (checked on
    // Linux 6.18: no fault on the next page after a major one).
    if (doFaultAround(vmf, true)) {
      k.phys.put(page.pfn);
      trace(vmf, 'do_read_fault', page.major ? 'major: read from disk; mapped by fault-around on retry' : 'read a page not uptodate; mapped by fault-around on retry');
      return (page.major ? VM_FAULT_MAJOR : 0) | VM_FAULT_NOPAGE | VM_FAULT_RETRY;
    }
  }
  trace(vmf, 'do_read_fault', page.major ? 'major: read from disk' : 'page cache hit');
  finishFault(vmf, page.pfn, vmaPageProt(vma));
  return faultPageRet(page);
}

/**
 * finish_fault() -> set_pte_range(): map the page-cache page the fault
 * found (holding the caller's reference), or, when it belongs to a large
 * folio lying wholly inside the VMA and the page table whose entries are all
 * empty, the whole folio (Linux 6.18: a shared write fault on an order-2
 * folio maps 4 pages). Returns the number of pages mapped.
 */
function finishFault(vmf: Vmf, pfn: number, prot: number): number {
  const { k, mm, vma } = vmf;
  const as = vma.file!.inode.mapping;
  const { head, nr } = folioOf(as, vmf.pgoff);
  const t = vmf.table;
  if (nr > 1) {
    const headPte = vmf.index - (vmf.pgoff - head);
    const ps = mm.pageSize;
    const vmaPages = (vma.end - vma.start) / ps;
    const fits = headPte >= 0 && headPte + nr <= mm.indexMask + 1 && head >= vma.pgoff && head + nr <= vma.pgoff + vmaPages;
    const baseVpn = vmf.vpn - (vmf.pgoff - head);
    // pte_range_none(): a guard marker is not none either.
    let none = fits;
    for (let i = 0; none && i < nr; i++) if (t.flags![headPte + i] !== 0 || (mm.guards !== null && mm.guards.has(baseVpn + i))) none = false;
    if (none) {
      for (let i = 0; i < nr; i++) {
        const q = as.pages.get(head + i)!;
        if (q !== pfn) k.phys.get(q);
        folioAddRmap(k, mm, q);
        setPte(k, mm, t, baseVpn + i, q, prot);
      }
      vmf.mappedFrom = Math.min(vmf.mappedFrom, baseVpn);
      vmf.mappedTo = Math.max(vmf.mappedTo, baseVpn + nr);
      return nr;
    }
  }
  folioAddRmap(k, mm, pfn);
  setPte(k, mm, t, vmf.vpn, pfn, prot);
  return 1;
}

/** do_cow_fault(): a write to a not-present page of a private file mapping copies it. */
function doCowFault(vmf: Vmf): number {
  const { k, mm, vma } = vmf;
  const av = anonVmaPrepare(k, vma);
  const page = filemapFault(k, vma, vmf.pgoff);
  if (page === 'SIGBUS') return VM_FAULT_SIGBUS;
  if (page === 'OOM') return VM_FAULT_OOM;
  const pfn = k.phys.allocPage(false);
  if (pfn < 0) {
    k.phys.put(page.pfn);
    return VM_FAULT_OOM;
  }
  k.vmstat.pgalloc++;
  k.vmstat.cowFaults++;
  trace(vmf, 'do_cow_fault', page.major ? 'major: read from disk, then copy' : 'copy of the page-cache page');
  if (k.tracing) k.emit({ type: 'page_alloc', pfn, purpose: 'cow' });
  k.phys.copyFrame(pfn, page.pfn);
  if (k.tracing) k.emit({ type: 'cow_copy', addr: vmf.addr, from: page.pfn, to: pfn, zero: false });
  k.phys.put(page.pfn);
  folioAddNewAnonRmap(k, mm, pfn, av, vmf.pgoff);
  setPte(k, mm, vmf.table, vmf.vpn, pfn, vmaPageProt(vma) | PTE_WRITE | PTE_DIRTY);
  return faultPageRet(page);
}

/** do_shared_fault(): a write to a not-present page of a shared file mapping dirties the cache page. */
function doSharedFault(vmf: Vmf): number {
  const { k, vma } = vmf;
  const page = filemapFault(k, vma, vmf.pgoff);
  if (page === 'SIGBUS') return VM_FAULT_SIGBUS;
  if (page === 'OOM') return VM_FAULT_OOM;
  trace(vmf, 'do_shared_fault', page.major ? 'major: read from disk, page_mkwrite' : 'page_mkwrite on the page-cache page');
  finishFault(vmf, page.pfn, vmaPageProt(vma) | PTE_WRITE | PTE_DIRTY);
  folioMarkDirty(k, page.pfn);
  return faultPageRet(page);
}

/** do_fault(): an empty PTE in a file-backed (or shmem) VMA. */
function doFault(vmf: Vmf): number {
  if (!vmf.write) return doReadFault(vmf);
  if ((vmf.vma.flags & VM_SHARED) === 0) return doCowFault(vmf);
  return doSharedFault(vmf);
}

/** wp_page_reuse(): the faulting task may write the page in place. */
function wpPageReuse(vmf: Vmf, pfn: number): number {
  const t = vmf.table;
  const i = vmf.index;
  const fl = t.flags![i]! | PTE_WRITE | PTE_DIRTY | PTE_ACCESSED;
  t.flags![i] = fl;
  vmf.k.vmstat.pgreuse++;
  if (vmf.k.tracing) {
    vmf.k.emit({ type: 'page_reuse', addr: vmf.addr, pfn });
    vmf.k.emit({ type: 'pte_update', addr: vmf.addr, pfn, flags: pteFlagNames(fl) });
  }
  return 0;
}

/** wp_page_copy(): break copy-on-write: a new private anonymous copy replaces the shared page. */
function wpPageCopy(vmf: Vmf, oldPfn: number): number {
  const { k, mm, vma } = vmf;
  const av = anonVmaPrepare(k, vma);
  const zero = oldPfn === ZERO_PFN;
  const pfn = k.phys.allocPage(zero);
  if (pfn < 0) return VM_FAULT_OOM;
  k.vmstat.pgalloc++;
  if (k.tracing) k.emit({ type: 'page_alloc', pfn, purpose: 'cow' });
  if (!zero) k.phys.copyFrame(pfn, oldPfn);
  if (k.tracing) k.emit({ type: 'cow_copy', addr: vmf.addr, from: oldPfn, to: pfn, zero });
  folioAddNewAnonRmap(k, mm, pfn, av, vmf.pgoff);
  // ptep_clear_flush() then set_pte_at(): the old translation must leave the TLB.
  const t = vmf.table;
  const i = vmf.index;
  t.flags![i] = 0;
  t.used--;
  mm.flushTlbPage(vmf.vpn);
  if (!zero) {
    folioRemoveRmap(k, mm, oldPfn);
    k.phys.put(oldPfn);
  }
  setPte(k, mm, t, vmf.vpn, pfn, (vmaPageProt(vma) & ~PTE_SPECIAL) | PTE_WRITE | PTE_DIRTY | PTE_ACCESSED);
  return 0;
}

/** do_wp_page(): a write hit a present, write-protected PTE. */
function doWpPage(vmf: Vmf): number {
  const { k, vma } = vmf;
  const t = vmf.table;
  const fl = t.flags![vmf.index]!;
  const pfn = t.pfns![vmf.index]!;
  if ((vma.flags & (VM_WRITE | VM_SHARED)) === (VM_WRITE | VM_SHARED)) {
    // wp_page_shared(): page_mkwrite, then write in place and dirty the page.
    trace(vmf, 'do_wp_page', 'wp_page_shared: page_mkwrite, reuse');
    folioMarkDirty(k, pfn);
    return wpPageReuse(vmf, pfn);
  }
  if (!(fl & PTE_SPECIAL) && k.phys.flags[pfn]! & PG_anon) {
    // wp_can_reuse_anon_folio(): exclusively ours, write in place.
    if (k.phys.mapcount[pfn] === 1 && k.phys.refcount[pfn] === 1) {
      trace(vmf, 'do_wp_page', 'wp_page_reuse: exclusive anonymous page');
      return wpPageReuse(vmf, pfn);
    }
  }
  trace(vmf, 'do_wp_page', fl & PTE_SPECIAL ? 'wp_page_copy: copy of the zero page' : 'wp_page_copy: copy-on-write');
  return wpPageCopy(vmf, pfn);
}

/**
 * handle_mm_fault() -> __handle_mm_fault() -> handle_pte_fault().
 * The VMA has already been found and checked for access by the caller.
 */
export function handleMmFault(k: Kernel, mm: MmStruct, vma: Vma, addr: number, write: boolean): number {
  if (vma.flags & VM_HUGETLB) return hugetlbFault(k, mm, vma, addr);
  const ps = mm.pageSize;
  const vpn = Math.floor(addr / ps);
  // A PTE table already there (the walk cache usually has it): straight to the PTE level,
  // as __handle_mm_fault() does past a present, not-huge PMD.
  const cached = mm.leafTable(vpn);
  if (cached !== null && cached.hugePfn < 0) return handlePteFault(k, mm, vma, addr, vpn, write, cached);
  // __handle_mm_fault(): the PMD level first.
  const pmdT = pmdAlloc(k, mm.pgd, vpn, mm.divisors, mm.indexMask, mm.chargePgtables);
  if (pmdT === null) return VM_FAULT_OOM;
  const pmdIdx = pmdIndex(vpn, mm.divisors, mm.indexMask);
  const pmd = pmdT.children![pmdIdx];
  if (pmd === undefined) {
    // create_huge_pmd(), when thp_vma_allowable_order(..., TVA_PAGEFAULT, PMD_ORDER).
    if (thpVmaAllowed(k, vma) && thpVmaSuitable(k, vma, addr)) {
      const ret = doHugePmdAnonymousPage(k, mm, vma, addr, write, pmdT, pmdIdx);
      if (!(ret & VM_FAULT_FALLBACK)) return faultDone(k, mm, vma, vpn, ret);
    }
  } else if (pmd.hugePfn >= 0) {
    const baseVpn = vpn - (vpn & mm.indexMask);
    if (write && !(pmd.hugeFlags & PTE_WRITE)) {
      // wp_huge_pmd()
      trace({ k, mm, vma, addr, vpn, pgoff: 0, write, table: pmd, index: 0, mappedFrom: vpn, mappedTo: vpn + 1 }, 'do_huge_pmd_wp_page');
      const ret = doHugePmdWpPage(k, mm, vma, pmd, baseVpn);
      if (!(ret & VM_FAULT_FALLBACK)) return faultDone(k, mm, vma, vpn, ret);
    } else {
      hugePmdSetAccessed(pmd, write);
      return faultDone(k, mm, vma, vpn, 0);
    }
  }
  // __pte_alloc() below the PMD already walked to (a huge PMD that fell back is split by now).
  const table = childAlloc(k, pmdT, pmdIdx, vpn, mm.divisors.length - 1, mm.indexMask, mm.chargePgtables);
  if (table === null) return VM_FAULT_OOM;
  return handlePteFault(k, mm, vma, addr, vpn, write, table);
}

/**
 * hugetlb_fault(): huge_pte_alloc() makes the page table that holds the huge
 * page's entry (the PUD-level table for a PUD-sized page, the PMD-level table
 * for a PMD-sized or arm64 contiguous-PMD one, the PTE table for arm64's
 * contiguous PTEs), then hugetlb_no_page() -> alloc_hugetlb_folio() finds the
 * pool empty (-ENOSPC, no surplus pages): VM_FAULT_SIGBUS, for reads and
 * writes alike.
 */
function hugetlbFault(k: Kernel, mm: MmStruct, vma: Vma, addr: number): number {
  const vpn = Math.floor(addr / mm.pageSize);
  const hs = vma.file?.inode.hpageSize ?? k.arch.pmdSize;
  const pudSize = k.arch.pmdSize * (mm.indexMask + 1);
  const alloc = hs >= pudSize ? pudAlloc : hs >= k.arch.pmdSize ? pmdAlloc : pteAlloc;
  if (alloc(k, mm.pgd, vpn, mm.divisors, mm.indexMask, mm.chargePgtables) === null) return VM_FAULT_OOM;
  if (k.tracing) k.emit({ type: 'fault_handler', handler: 'hugetlb_no_page', addr, detail: 'hugetlb pool empty: SIGBUS' });
  return VM_FAULT_SIGBUS;
}

/** handle_pte_fault(): the entry for vpn in its (allocated) PTE table. */
function handlePteFault(k: Kernel, mm: MmStruct, vma: Vma, addr: number, vpn: number, write: boolean, table: PageTable): number {
  const ps = mm.pageSize;
  const index = vpn & mm.indexMask;
  const fl = table.flags![index]!;
  const guarded = fl === 0 && mm.guards !== null && mm.guards.has(vpn);
  if (fl === 0 && !guarded && vma.isAnonymous) return faultDone(k, mm, vma, vpn, doAnonymousPage(k, mm, vma, table, vpn, addr, write));
  const vmf: Vmf = { k, mm, vma, addr, vpn, pgoff: linearPageIndex(vma, addr, ps), write, table, index, mappedFrom: vpn, mappedTo: vpn + 1 };
  let ret: number;
  if (guarded) {
    // handle_pte_marker(): a guard marker faults as SIGSEGV.
    trace(vmf, 'handle_pte_marker', 'guard marker: SIGSEGV');
    ret = VM_FAULT_SIGSEGV;
  } else if (fl === 0) {
    ret = doFault(vmf);
  } else if (write && !(fl & PTE_WRITE)) {
    ret = doWpPage(vmf);
  } else {
    // A fault on a usable entry (the TLB had a stale view): mark young, and dirty for a write.
    table.flags![index] = fl | PTE_ACCESSED | (write ? PTE_DIRTY : 0);
    trace(vmf, 'handle_pte_fault', 'spurious: entry already usable');
    ret = 0;
  }
  return faultDone(k, mm, vma, vpn, ret, vmf.mappedFrom, vmf.mappedTo);
}

/** The end of a fault: the RSS high-water mark, and mlock of what it mapped in a VM_LOCKED VMA. */
function faultDone(k: Kernel, mm: MmStruct, vma: Vma, vpn: number, ret: number, mappedFrom = vpn, mappedTo = vpn + 1): number {
  mm.updateHiwaterRss();
  if (vma.flags & VM_LOCKED && !(ret & VM_FAULT_ERROR)) mlockFaultedPages(k, mm, vma, vpn, mappedFrom, mappedTo);
  return ret;
}
