/**
 * The memory-management unit and the architecture's page-fault handler
 * (arch/x86/mm/fault.c:do_user_addr_fault(), arch/arm64/mm/fault.c:do_page_fault()).
 *
 * A load or store first probes the TLB; on a miss it walks the page tables,
 * setting the accessed bit (and the dirty bit for a store) as the hardware
 * does (a huge PMD leaf maps the whole PMD span, its bits set on the PMD),
 * and fills the TLB with the base page; when the entry does not allow the access it raises
 * a page fault, which finds the VMA, checks the access, calls
 * handleMmFault() and either retries the access or delivers SIGSEGV/SIGBUS.
 * Faults are values: after a failed access `mmu.fault` says what happened.
 */
import type { Kernel } from '../kernel.js';
import type { Task } from '../sched.js';
import { PTE_ACCESSED, PTE_DIRTY, PTE_PRESENT, PTE_PROTNONE, PTE_SPECIAL, PTE_USER, PTE_WRITE } from './pte.js';
import { TLB_ENTRIES, TLB_READ, TLB_WRITE } from './tlb.js';
import { VM_FAULT_ERROR, VM_FAULT_MAJOR, VM_FAULT_OOM, VM_FAULT_RETRY, VM_FAULT_SIGBUS, VM_FAULT_SIGSEGV, handleMmFault } from '../mm/memory.js';
import { VM_EXEC, VM_GROWSDOWN, VM_PKEY_BIT0, VM_READ, VM_WRITE } from '../mm/vm-flags.js';
import { BUS_ADRERR, SEGV_ACCERR, SEGV_MAPERR, SEGV_PKUERR } from '../uapi.js';
import { expandStack } from '../mm/stack.js';

export interface Fault {
  signal: 'SIGSEGV' | 'SIGBUS' | 'SIGKILL';
  /** si_code: SEGV_MAPERR, SEGV_ACCERR, BUS_ADRERR... (0 for SIGKILL). */
  code: number;
  /** si_addr */
  addr: number;
}

const TLB_MASK = TLB_ENTRIES - 1;
const CHUNK_SHIFT = 8;
const CHUNK_MASK = (1 << CHUNK_SHIFT) - 1;
/** Entries of the largest PTE table of any profile (2048 with 16 KiB pages). */
const TABLE_MAX = 2048;

/**
 * do_user_addr_fault(): resolve a fault at addr for a task, or return the
 * signal it gets. Counts the fault as mm_account_fault() does.
 */
export function doUserAddrFault(k: Kernel, task: Task, addr: number, write: boolean, user = true): Fault | null {
  const mm = task.mm;
  if (k.tracing) k.emit({ type: 'fault', pid: task.tid, addr, write, vmaStart: mm.vmas.find(addr)?.start ?? null });
  let vma = addr >= 0 && addr < mm.taskSize ? mm.vmas.find(addr) : null;
  if (vma !== null && vma.start > addr) {
    vma = (vma.flags & VM_GROWSDOWN) !== 0 && expandStack(k, mm, vma, addr) ? vma : null;
  }
  if (vma === null) return signal(k, task, 'SIGSEGV', SEGV_MAPERR, addr);
  // access_error(): arch_vma_access_permitted() first: the execute-only key denies
  // reads and writes alike (bad_area_access_error() -> SEGV_PKUERR).
  if (vma.flags & VM_PKEY_BIT0) return signal(k, task, 'SIGSEGV', SEGV_PKUERR, addr);
  // A read needs any of VM_READ|VM_WRITE|VM_EXEC: x86's vma_is_accessible(), and arm64's
  // do_page_fault() on CPUs without FEAT_EPAN ("exec implies read"), as both arm64
  // profiles assume (the Raspberry Pi 5's Cortex-A76 is ARMv8.2; EPAN is ARMv8.7).
  const denied = write ? (vma.flags & VM_WRITE) === 0 : (vma.flags & (VM_READ | VM_WRITE | VM_EXEC)) === 0;
  if (denied) return signal(k, task, 'SIGSEGV', SEGV_ACCERR, addr);
  const ret = handleMmFault(k, mm, vma, addr, write);
  // mm_account_fault(): pgfault counts every fault that reached the handler,
  // the task's counters only those that succeeded.
  k.vmstat.pgfault++;
  if (!(ret & VM_FAULT_ERROR)) {
    // A fault taken in the kernel (no FAULT_FLAG_USER) skips the per-VMA lock:
    // a first attempt that drops mmap_lock retries with FAULT_FLAG_TRIED, counted major.
    if (ret & VM_FAULT_MAJOR || (!user && ret & VM_FAULT_RETRY)) task.majFlt++;
    else task.minFlt++;
  }
  if (k.tracing) k.emit({ type: 'fault_done', addr, major: (ret & VM_FAULT_MAJOR) !== 0, result: ret & VM_FAULT_ERROR ? 'error' : 'ok' });
  if (ret & VM_FAULT_OOM) return signal(k, task, 'SIGKILL', 0, addr);
  if (ret & VM_FAULT_SIGBUS) return signal(k, task, 'SIGBUS', BUS_ADRERR, addr);
  if (ret & VM_FAULT_SIGSEGV) return signal(k, task, 'SIGSEGV', SEGV_MAPERR, addr);
  return null;
}

function signal(k: Kernel, task: Task, sig: Fault['signal'], code: number, addr: number): Fault {
  if (k.tracing) {
    const names: Record<string, string> = { SIGSEGV1: 'SEGV_MAPERR', SIGSEGV2: 'SEGV_ACCERR', SIGSEGV4: 'SEGV_PKUERR', SIGBUS2: 'BUS_ADRERR', SIGKILL0: 'OOM' };
    k.emit({ type: 'signal', pid: task.tid, signal: sig, code: names[sig + code] ?? String(code), addr });
  }
  return { signal: sig, code, addr };
}

/** One task's view of memory through the TLB and page tables. */
export class Mmu {
  readonly k: Kernel;
  readonly task: Task;
  /** What the last failed access raised; null after a successful one. */
  fault: Fault | null = null;
  /** A copy_to_user()/copy_from_user() is running: its faults are the kernel's (no FAULT_FLAG_USER). */
  private inKernel = false;
  private readonly ps: number;
  private readonly invPs: number;
  /** PhysMem's chunk arrays (grown in place, never replaced): one load less per access. */
  private readonly chunks: (Uint8Array | undefined)[];
  private readonly views: (DataView | undefined)[];

  constructor(k: Kernel, task: Task) {
    this.k = k;
    this.task = task;
    this.ps = k.arch.pageSize;
    this.invPs = 1 / k.arch.pageSize;
    this.chunks = k.phys.chunks;
    this.views = k.phys.views;
  }

  /**
   * Translate a user address for an access, faulting as needed: the frame,
   * or -1 with `fault` set. Sets accessed/dirty bits and fills the TLB.
   */
  translate(addr: number, write: boolean): number {
    for (let attempt = 0; attempt < 3; attempt++) {
      const pfn = this.walk(addr, write);
      if (pfn >= 0) return pfn;
      const f = doUserAddrFault(this.k, this.task, addr, write, !this.inKernel);
      if (f !== null) {
        this.fault = f;
        return -1;
      }
    }
    throw new Error(`BUG: fault at ${addr.toString(16)} resolved but the access still fails`);
  }

  /**
   * The hardware's part of an access: the TLB, else the page walk (setting
   * the accessed and dirty bits and filling the TLB). The frame, or -1 where
   * the access would fault (nothing is changed then).
   */
  private walk(addr: number, write: boolean): number {
    const k = this.k;
    const vpn = Math.floor(addr * this.invPs);
    const mm = this.task.mm;
    const tlb = mm.tlb;
    const slot = vpn & TLB_MASK;
    if (tlb.vpn[slot] === vpn && (tlb.perm[slot]! & (write ? TLB_WRITE : TLB_READ)) !== 0) {
      this.fault = null;
      return tlb.pfn[slot]!;
    }
    if (addr < 0 || addr >= mm.taskSize) return -1;
    const t = mm.leafTable(vpn);
    if (t === null) return -1;
    const i = vpn & mm.indexMask;
    // A huge PMD leaf maps the whole table's span: its bits are the PMD's.
    const huge = t.hugePfn >= 0;
    const fl = huge ? t.hugeFlags : t.flags![i]!;
    if ((fl & (PTE_PRESENT | PTE_USER | PTE_PROTNONE)) !== (PTE_PRESENT | PTE_USER) || (write && !(fl & PTE_WRITE))) return -1;
    const nfl = fl | PTE_ACCESSED | (write ? PTE_DIRTY : 0);
    let pfn: number;
    if (huge) {
      t.hugeFlags = nfl;
      pfn = nfl & PTE_SPECIAL ? t.hugePfn : t.hugePfn + i;
    } else {
      t.flags![i] = nfl;
      pfn = t.pfns![i]!;
    }
    const perm = TLB_READ | ((nfl & (PTE_WRITE | PTE_DIRTY)) === (PTE_WRITE | PTE_DIRTY) ? TLB_WRITE : 0);
    tlb.fill(vpn, pfn, perm);
    k.phys.chunkOf(pfn);
    if (k.tracing) k.emit({ type: 'tlb_fill', addr: vpn * this.ps, pfn, write });
    this.fault = null;
    return pfn;
  }

  /**
   * The short TLB miss: the walk cache holds vpn's PTE table and the entry
   * allows the access, so the walk ends there (setting the accessed and
   * dirty bits) and fills the TLB. -1 when the long way is needed (another
   * table, a huge PMD, an entry that faults). Small, so the JIT inlines it
   * into the access: a run of first touches of mapped pages stays cheap.
   */
  private refill(vpn: number, write: boolean): number {
    const tlb = this.task.mm.tlb;
    const t = tlb.walkLeaf;
    const i = vpn - tlb.walkBase;
    if (t === null || i < 0 || i >= TABLE_MAX || t.flags === null || t.hugePfn >= 0 || i >= t.flags.length) return -1;
    const fl = t.flags[i]!;
    const need = write ? PTE_PRESENT | PTE_USER | PTE_WRITE : PTE_PRESENT | PTE_USER;
    if ((fl & (need | PTE_PROTNONE)) !== need) return -1;
    const nfl = fl | PTE_ACCESSED | (write ? PTE_DIRTY : 0);
    t.flags[i] = nfl;
    const pfn = t.pfns![i]!;
    tlb.fill(vpn, pfn, write ? TLB_READ | TLB_WRITE : TLB_READ | ((nfl & (PTE_WRITE | PTE_DIRTY)) === (PTE_WRITE | PTE_DIRTY) ? TLB_WRITE : 0));
    const ph = this.k.phys;
    if (ph.chunks[pfn >> CHUNK_SHIFT] === undefined) ph.chunkOf(pfn);
    if (this.k.tracing) this.k.emit({ type: 'tlb_fill', addr: vpn * this.ps, pfn, write });
    this.fault = null;
    return pfn;
  }

  private slot(addr: number, write: boolean): number {
    const vpn = Math.floor(addr * this.invPs);
    const tlb = this.task.mm.tlb;
    const s = vpn & TLB_MASK;
    if (tlb.vpn[s] === vpn && (tlb.perm[s]! & (write ? TLB_WRITE : TLB_READ)) !== 0) {
      this.fault = null;
      return tlb.pfn[s]!;
    }
    return this.miss(addr, vpn, write);
  }

  /** A TLB miss: the short way when it serves, else the full walk and fault. */
  private miss(addr: number, vpn: number, write: boolean): number {
    const pfn = this.refill(vpn, write);
    return pfn >= 0 ? pfn : this.translate(addr, write);
  }

  load8(addr: number): number {
    const pfn = this.slot(addr, false);
    if (pfn < 0) return 0;
    return this.chunks[pfn >> CHUNK_SHIFT]![(pfn & CHUNK_MASK) * this.ps + (addr - Math.floor(addr * this.invPs) * this.ps)]!;
  }

  store8(addr: number, value: number): boolean {
    const pfn = this.slot(addr, true);
    if (pfn < 0) return false;
    this.chunks[pfn >> CHUNK_SHIFT]![(pfn & CHUNK_MASK) * this.ps + (addr - Math.floor(addr * this.invPs) * this.ps)] = value;
    return true;
  }

  /** An aligned-or-not load of n bytes (2, 4); splits at a page boundary. */
  private loadN(addr: number, n: 2 | 4): number {
    const off = addr - Math.floor(addr * this.invPs) * this.ps;
    if (off + n <= this.ps) {
      const pfn = this.slot(addr, false);
      if (pfn < 0) return 0;
      const v = this.views[pfn >> CHUNK_SHIFT]!;
      const o = (pfn & CHUNK_MASK) * this.ps + off;
      return n === 2 ? v.getUint16(o, true) : v.getUint32(o, true);
    }
    let r = 0;
    for (let i = 0; i < n; i++) {
      const b = this.load8(addr + i);
      if (this.fault !== null) return 0;
      r += b * 2 ** (8 * i);
    }
    return r;
  }

  load16(addr: number): number {
    return this.loadN(addr, 2);
  }

  load32(addr: number): number {
    return this.loadN(addr, 4);
  }

  load64(addr: number): bigint {
    const ps = this.ps;
    const vpn = Math.floor(addr * this.invPs);
    const off = addr - vpn * ps;
    if (off <= ps - 8) {
      const tlb = this.task.mm.tlb;
      const s = vpn & TLB_MASK;
      let pfn: number;
      if (tlb.vpn[s] === vpn) {
        pfn = tlb.pfn[s]!;
        this.fault = null;
      } else {
        pfn = this.miss(addr, vpn, false);
        if (pfn < 0) return 0n;
      }
      return this.views[pfn >> CHUNK_SHIFT]!.getBigUint64((pfn & CHUNK_MASK) * ps + off, true);
    }
    const bytes = this.loadBytes(addr, 8);
    if (bytes === null) return 0n;
    return new DataView(bytes.buffer).getBigUint64(0, true);
  }

  private storeN(addr: number, n: 2 | 4, value: number): boolean {
    const off = addr - Math.floor(addr * this.invPs) * this.ps;
    if (off + n <= this.ps) {
      const pfn = this.slot(addr, true);
      if (pfn < 0) return false;
      const v = this.views[pfn >> CHUNK_SHIFT]!;
      const o = (pfn & CHUNK_MASK) * this.ps + off;
      if (n === 2) v.setUint16(o, value, true);
      else v.setUint32(o, value >>> 0, true);
      return true;
    }
    const bytes = new Uint8Array(n);
    const dv = new DataView(bytes.buffer);
    if (n === 2) dv.setUint16(0, value, true);
    else dv.setUint32(0, value >>> 0, true);
    return this.storeBytes(addr, bytes);
  }

  store16(addr: number, value: number): boolean {
    return this.storeN(addr, 2, value);
  }

  store32(addr: number, value: number): boolean {
    return this.storeN(addr, 4, value);
  }

  store64(addr: number, value: bigint): boolean {
    const ps = this.ps;
    const vpn = Math.floor(addr * this.invPs);
    const off = addr - vpn * ps;
    if (off <= ps - 8) {
      const tlb = this.task.mm.tlb;
      const s = vpn & TLB_MASK;
      let pfn: number;
      if (tlb.vpn[s] === vpn && (tlb.perm[s]! & TLB_WRITE) !== 0) {
        pfn = tlb.pfn[s]!;
        this.fault = null;
      } else {
        pfn = this.miss(addr, vpn, true);
        if (pfn < 0) return false;
      }
      // setBigUint64() wraps the value modulo 2^64 itself (ToBigUint64).
      this.views[pfn >> CHUNK_SHIFT]!.setBigUint64((pfn & CHUNK_MASK) * ps + off, value, true);
      return true;
    }
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, value, true);
    return this.storeBytes(addr, bytes);
  }

  /**
   * Load len bytes, page by page. On a fault returns null with `fault` set
   * (bytes before the faulting page were read, as a CPU would have).
   */
  loadBytes(addr: number, len: number): Uint8Array | null {
    const out = new Uint8Array(len);
    return this.loadInto(addr, out) === len ? out : null;
  }

  /** Store bytes page by page; false with `fault` set when a page faults (earlier pages are written). */
  storeBytes(addr: number, data: Uint8Array): boolean {
    return this.storeFrom(addr, data) === data.length;
  }

  /** The task's own loads of out.length bytes (a memcpy in user mode): how many were read before a fault. */
  loadInto(addr: number, out: Uint8Array): number {
    return this.copyUser(addr, out.length, false, (chunk, at, done, n) => out.set(chunk.subarray(at, at + n), done));
  }

  /** The task's own stores of data (a memcpy in user mode): how many bytes were written before a fault. */
  storeFrom(addr: number, data: Uint8Array): number {
    return this.copyUser(addr, data.length, true, (chunk, at, done, n) => chunk.set(data.subarray(done, done + n), at));
  }

  /**
   * copy_from_user(): the kernel reading user memory for a syscall (write()
   * from a buffer): its faults are the kernel's, without FAULT_FLAG_USER.
   * How many bytes were copied before a fault.
   */
  copyFromUser(addr: number, out: Uint8Array): number {
    return this.inKernelMode(() => this.loadInto(addr, out));
  }

  /** copy_to_user(): the kernel writing user memory for a syscall (read() into a buffer); see copyFromUser(). */
  copyToUser(addr: number, data: Uint8Array): number {
    return this.inKernelMode(() => this.storeFrom(addr, data));
  }

  /**
   * copy_from_user() with page faults disabled (copy_folio_from_iter_atomic()):
   * copies while the pages are mapped readable and stops at the first that is
   * not, without faulting. How many bytes were copied.
   */
  copyFromUserAtomic(addr: number, out: Uint8Array): number {
    const ps = this.ps;
    let done = 0;
    while (done < out.length) {
      const a = addr + done;
      const pfn = this.walk(a, false);
      if (pfn < 0) break;
      const off = a - Math.floor(a * this.invPs) * ps;
      const n = Math.min(ps - off, out.length - done);
      const at = (pfn & CHUNK_MASK) * ps + off;
      out.set(this.k.phys.chunks[pfn >> CHUNK_SHIFT]!.subarray(at, at + n), done);
      done += n;
    }
    return done;
  }

  /**
   * fault_in_readable(): the kernel reads one byte of each page of
   * [addr, addr + len), faulting them in, and stops at the first that fails.
   * How many bytes could not be faulted in (len when the first page failed).
   */
  faultInReadable(addr: number, len: number): number {
    const ps = this.ps;
    const one = new Uint8Array(1);
    let cur = addr;
    while (cur < addr + len) {
      if (this.copyFromUser(cur, one) !== 1) break;
      cur = (Math.floor(cur * this.invPs) + 1) * ps;
    }
    return len - Math.min(len, cur - addr);
  }

  private inKernelMode(fn: () => number): number {
    this.inKernel = true;
    try {
      return fn();
    } finally {
      this.inKernel = false;
    }
  }

  /**
   * Walk [addr, addr + len) page by page, translating each page for a read or
   * a write and handing `fn` the frame's chunk, the byte offset in it, the
   * offset into the range and the length. Returns the bytes covered before a
   * fault (with `fault` set), or len.
   */
  private copyUser(addr: number, len: number, write: boolean, fn: (chunk: Uint8Array, at: number, done: number, n: number) => void): number {
    const ps = this.ps;
    let done = 0;
    while (done < len) {
      const a = addr + done;
      const pfn = this.translate(a, write);
      if (pfn < 0) return done;
      const off = a - Math.floor(a * this.invPs) * ps;
      const n = Math.min(ps - off, len - done);
      fn(this.k.phys.chunks[pfn >> CHUNK_SHIFT]!, (pfn & CHUNK_MASK) * ps + off, done, n);
      done += n;
    }
    this.fault = null;
    return done;
  }
}
