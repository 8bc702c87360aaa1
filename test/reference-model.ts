/**
 * A flat, per-page reference model of a process's address space and a few
 * files, for property tests against the Machine. It knows nothing of VMAs,
 * page tables, the page cache or the TLB: only what a program can observe.
 *
 *   pages:  page number -> { prot, kind, object (file or shmem), index in it,
 *           private copy or none, may-write }
 *   objects: files and shared-anonymous (shmem) objects as byte arrays with a size
 *
 * The page size and TASK_SIZE are the profile's (RefArch): the property test
 * runs on x86_64 and arm64-16k.
 *
 * Semantics (without protection keys, as the property test's settings are):
 * - a load needs any of PROT_READ|WRITE|EXEC (x86 cannot express write-only or
 *   exec-only pages: access_error() only asks vma_is_accessible() for reads;
 *   arm64's do_page_fault() without FEAT_EPAN lets exec imply read),
 *   a store needs PROT_WRITE; otherwise SIGSEGV/SEGV_ACCERR; no page: SEGV_MAPERR;
 * - shared file pages read and write the file's bytes; private file pages read
 *   the file until their first store, then their own copy; anonymous private
 *   pages start zero; shared anonymous pages share one shmem object;
 * - a file page (without a private copy) wholly past end of file gives SIGBUS;
 * - truncation zeroes the tail of the new last page and unmaps every page past
 *   it, private copies included (truncate_pagecache(): unmap_mapping_range(..,
 *   even_cows = 1)), so those give SIGBUS too while past the end;
 * - bytes stored through a shared mapping past end of file (in the last page)
 *   are not part of the file; whether a later extension shows them is up to
 *   the file system, so the reference marks them unknown and accepts any value.
 *
 * The reference also judges the errno of mmap, munmap, mprotect, msync and
 * mincore for the arguments the property test generates, following the order
 * of the kernel's checks (mm/mmap.c:do_mmap(), mm/vma.c:do_vmi_munmap(),
 * mm/mprotect.c:do_mprotect_pkey(), mm/msync.c, mm/mincore.c).
 */
import type { ErrnoName } from '../src/kernel/uapi.js';
import {
  LEGACY_MAP_MASK, MAP_ANONYMOUS, MAP_DROPPABLE, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_NONBLOCK, MAP_POPULATE, MAP_PRIVATE,
  MAP_SHARED, MAP_SHARED_VALIDATE, MAP_TYPE, MS_ASYNC, MS_INVALIDATE, MS_SYNC, PROT_EXEC, PROT_READ, PROT_SEM,
  PROT_WRITE, SEGV_ACCERR, SEGV_MAPERR,
} from '../src/kernel/uapi.js';

const U64_MAX = (1n << 64n) - 1n;

/** What the reference needs of an architecture profile. */
export interface RefArch {
  /** PAGE_SHIFT */
  pageShift: number;
  /** TASK_SIZE */
  taskSize: bigint;
}

export function refArch(profile: { pageShift: number; taskSize: number }): RefArch {
  return { pageShift: profile.pageShift, taskSize: BigInt(profile.taskSize) };
}
/** MAX_LFS_FILESIZE */
const MAX_LFS_FILESIZE = (1n << 63n) - 1n;

export type PageKind = 'anon-private' | 'anon-shared' | 'file-private' | 'file-shared';

export interface RefPage {
  prot: number;
  kind: PageKind;
  /** The file or shmem object behind the page (anon-private: none). */
  object: number | null;
  /** Page index in the object. */
  index: number;
  /** A private copy (anon-private pages after their first store, file-private after theirs). */
  copy: Uint8Array | null;
  /** Bytes of the copy whose value the reference does not know. */
  copyUnknown: Uint8Array | null;
  /**
   * VM_MAYREAD|VM_MAYWRITE|VM_MAYEXEC as PROT_* bits: what mprotect may ask for (no
   * PROT_WRITE for shared mappings of read-only descriptors; [vvar] has only PROT_READ).
   */
  mayProt: number;
  /** VM_WIPEONFORK (MAP_DROPPABLE): a forked child sees the page as new, zero. */
  wipeOnFork: boolean;
}

export interface RefObject {
  /** Bytes of the file or shmem object; past `size` only the last page's tail matters. */
  data: Uint8Array;
  /** 1 where a byte's value is unknown (stored through a mapping past end of file). */
  unknown: Uint8Array;
  size: number;
  isFile: boolean;
}

export type RefOutcome =
  | { ok: true; value: bigint; unknownMask: bigint }
  | { ok: false; signal: 'SIGSEGV'; code: number }
  | { ok: false; signal: 'SIGBUS' };

export type RefResult = { ok: true; value: bigint } | { ok: false; errno: ErrnoName };

export interface RefFd {
  object: number;
  read: boolean;
  write: boolean;
}

const OK0: RefResult = { ok: true, value: 0n };
const err = (errno: ErrnoName): RefResult => ({ ok: false, errno });


export class RefModel {
  readonly pages = new Map<number, RefPage>();
  /** Files and shmem objects, shared by a process and its forked children. */
  readonly objects: Map<number, RefObject>;
  /** The descriptor table (fork copies it; the tests never change it after a fork). */
  readonly fds: Map<number, RefFd>;
  /** Every process sharing these objects: truncation reaches all their mappings. */
  private readonly family: RefModel[];
  private readonly ids: { next: number };
  readonly arch: RefArch;
  /** PAGE_SIZE, as a number and as a bigint. */
  readonly ps: number;
  readonly psN: bigint;
  readonly taskSize: bigint;

  constructor(arch: RefArch, parent?: RefModel) {
    this.arch = arch;
    this.ps = 2 ** arch.pageShift;
    this.psN = BigInt(this.ps);
    this.taskSize = arch.taskSize;
    this.objects = parent?.objects ?? new Map();
    this.fds = parent === undefined ? new Map() : new Map(parent.fds);
    this.family = parent?.family ?? [];
    this.ids = parent?.ids ?? { next: 1000 };
    this.family.push(this);
  }

  /**
   * fork(): the child gets the same pages; private pages keep their contents but from now
   * on each process's stores are its own (copy-on-write), shared pages stay shared, and
   * MAP_DROPPABLE pages (VM_WIPEONFORK) start over as zero in the child.
   */
  fork(): RefModel {
    const child = new RefModel(this.arch, this);
    for (const [vpn, p] of this.pages) {
      const q: RefPage = { ...p, copy: p.copy?.slice() ?? null, copyUnknown: p.copyUnknown?.slice() ?? null };
      if (p.wipeOnFork) {
        q.copy = null;
        q.copyUnknown = null;
      }
      child.pages.set(vpn, q);
    }
    return child;
  }

  /** exit(): the process's mappings go away; the objects stay with the others. */
  exit(): void {
    this.pages.clear();
    this.family.splice(this.family.indexOf(this), 1);
  }

  private pageAlign(len: bigint): bigint {
    return (len + this.psN - 1n) & ~(this.psN - 1n) & U64_MAX;
  }

  // --- files ---

  /** A file object (empty) reachable through the given descriptors. */
  addFile(id: number): void {
    this.objects.set(id, { data: new Uint8Array(0), unknown: new Uint8Array(0), size: 0, isFile: true });
  }

  addFd(fd: number, object: number, read: boolean, write: boolean): void {
    this.fds.set(fd, { object, read, write });
  }

  private ensure(o: RefObject, len: number): void {
    if (o.data.length >= len) return;
    const n = Math.max(len, o.data.length * 2);
    const d = new Uint8Array(n);
    d.set(o.data);
    const u = new Uint8Array(n);
    u.set(o.unknown);
    o.data = d;
    o.unknown = u;
  }

  /** pwrite(2) of data at pos to the file behind fd (the caller checked the fd is writable). */
  pwrite(fd: number, pos: number, data: Uint8Array): RefResult {
    const f = this.fds.get(fd);
    if (f === undefined) return err('EBADF');
    if (!f.write) return err('EBADF');
    const o = this.objects.get(f.object)!;
    this.ensure(o, pos + data.length);
    o.data.set(data, pos);
    o.unknown.fill(0, pos, pos + data.length);
    if (pos + data.length > o.size) o.size = pos + data.length;
    return { ok: true, value: BigInt(data.length) };
  }

  /** The bytes read(2) returns, with an unknown mask. */
  pread(fd: number, pos: number, count: number): { ok: true; data: Uint8Array; unknown: Uint8Array } | { ok: false; errno: ErrnoName } {
    const f = this.fds.get(fd);
    if (f === undefined || !f.read) return { ok: false, errno: 'EBADF' };
    const o = this.objects.get(f.object)!;
    const end = Math.min(o.size, pos + count);
    if (end <= pos) return { ok: true, data: new Uint8Array(0), unknown: new Uint8Array(0) };
    this.ensure(o, end);
    return { ok: true, data: o.data.slice(pos, end), unknown: o.unknown.slice(pos, end) };
  }

  /** ftruncate(2) (do_truncate() -> truncate_setsize() -> truncate_pagecache()). */
  ftruncate(fd: number, length: bigint): RefResult {
    const f = this.fds.get(fd);
    if (f === undefined) return err('EBADF');
    const len = BigInt.asIntN(64, length);
    if (len < 0n) return err('EINVAL');
    if (!f.write) return err('EINVAL');
    if (len > MAX_LFS_FILESIZE) return err('EFBIG');
    const o = this.objects.get(f.object)!;
    const n = Number(len);
    const old = o.size;
    if (n < old) {
      // truncate_inode_pages_range(): the partial page's tail is zeroed, whole pages dropped.
      const tailEnd = Math.min(o.data.length, Math.ceil(n / this.ps) * this.ps);
      if (tailEnd > n) {
        o.data.fill(0, n, tailEnd);
        o.unknown.fill(0, n, tailEnd);
      }
      if (o.data.length > tailEnd) {
        o.data.fill(0, tailEnd);
        o.unknown.fill(0, tailEnd);
      }
    }
    o.size = n;
    // unmap_mapping_range(mapping, round_up(newsize), 0, even_cows=1): COW copies go too.
    const hole = Math.ceil(n / this.ps);
    for (const p of this.family.flatMap((r) => [...r.pages.values()])) {
      if (p.kind === 'file-private' && p.object === f.object && p.index >= hole) {
        p.copy = null;
        p.copyUnknown = null;
      }
    }
    return OK0;
  }

  // --- address space ---

  isFree(start: number, npages: number): boolean {
    for (let i = 0; i < npages; i++) if (this.pages.has(start / this.ps + i)) return false;
    return true;
  }

  /**
   * Judge mmap's arguments as do_mmap() would, for a MAP_FIXED call or a
   * non-fixed call whose address the caller learns from the model. Returns
   * the errno, or null when the call should succeed.
   */
  judgeMmap(addr: bigint, len: bigint, prot: bigint, flags: bigint, fd: number, off: bigint): ErrnoName | null {
    void prot;
    const fl = Number(flags & 0xffffffffn);
    const high = flags >> 32n;
    if (off & (this.psN - 1n)) return 'EINVAL';
    let file: RefFd | null = null;
    if ((fl & MAP_ANONYMOUS) === 0) {
      file = this.fds.get(fd) ?? null;
      if (file === null) return 'EBADF';
    }
    if (len === 0n) return 'EINVAL';
    const fixed = (fl & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0;
    const alen = this.pageAlign(len);
    if (alen === 0n) return 'ENOMEM';
    if (alen > this.taskSize) return 'ENOMEM';
    // Non-fixed: the property test asks either for a few pages or for at least TASK_SIZE,
    // and no free range that large exists ([stack] sits at the top): ENOMEM.
    if (!fixed && alen > 1n << 46n) return 'ENOMEM';
    if (fixed) {
      if (addr > this.taskSize - alen) return 'ENOMEM';
      if (addr & (this.psN - 1n)) return 'EINVAL';
      if (fl & MAP_FIXED_NOREPLACE && !this.isFree(Number(addr), Number(alen / this.psN))) return 'EEXIST';
    }
    const type = fl & MAP_TYPE;
    if (file !== null) {
      // file_mmap_ok()
      if (alen > MAX_LFS_FILESIZE || off / this.psN > (MAX_LFS_FILESIZE - alen) >> BigInt(this.arch.pageShift)) return 'EOVERFLOW';
      if (type === MAP_SHARED || type === MAP_SHARED_VALIDATE) {
        const f = type === MAP_SHARED ? fl & LEGACY_MAP_MASK : fl;
        if (type === MAP_SHARED_VALIDATE && ((f & ~LEGACY_MAP_MASK) !== 0 || high !== 0n)) return 'EOPNOTSUPP';
        if (Number(prot & 0xffffffffn) & PROT_WRITE && !file.write) return 'EACCES';
      } else if (type !== MAP_PRIVATE) {
        return 'EINVAL';
      }
      if (!file.read) return 'EACCES';
    } else if (type !== MAP_SHARED && type !== MAP_PRIVATE && type !== MAP_DROPPABLE) {
      return 'EINVAL';
    }
    return null;
  }

  /** Apply a successful mmap at `at` (the address the model returned). */
  mmap(at: number, len: bigint, prot: bigint, flags: bigint, fd: number, off: bigint): void {
    const fl = Number(flags & 0xffffffffn);
    const npages = Number(this.pageAlign(len) / this.psN);
    const p = Number(prot & BigInt(PROT_READ | PROT_WRITE | PROT_EXEC));
    const anon = (fl & MAP_ANONYMOUS) !== 0;
    const shared = (fl & MAP_TYPE) === MAP_SHARED || (fl & MAP_TYPE) === MAP_SHARED_VALIDATE;
    let object: number | null = null;
    let index0 = 0;
    let mayProt = PROT_READ | PROT_WRITE | PROT_EXEC;
    const wipeOnFork = anon && (fl & MAP_TYPE) === MAP_DROPPABLE;
    let kind: PageKind;
    if (anon) {
      if (shared) {
        object = this.ids.next++;
        this.objects.set(object, { data: new Uint8Array(0), unknown: new Uint8Array(0), size: npages * this.ps, isFile: false });
        kind = 'anon-shared';
      } else {
        kind = 'anon-private';
      }
    } else {
      const f = this.fds.get(fd)!;
      object = f.object;
      index0 = Number(off / this.psN);
      kind = shared ? 'file-shared' : 'file-private';
      if (shared && !f.write) mayProt &= ~PROT_WRITE;
    }
    const base = at / this.ps;
    for (let i = 0; i < npages; i++) {
      this.pages.set(base + i, { prot: p, kind, object, index: index0 + i, copy: null, copyUnknown: null, mayProt, wipeOnFork });
    }
    // MAP_POPULATE faults every page in, writing for private writable mappings: file pages
    // within the file get their private copies now; the first failing fault stops it.
    if ((fl & (MAP_POPULATE | MAP_NONBLOCK)) === MAP_POPULATE && kind === 'file-private' && p & PROT_WRITE) {
      for (let i = 0; i < npages; i++) {
        const page = this.pages.get(base + i)!;
        if (this.pastEof(page)) break;
        this.makeCopy(page);
      }
    }
  }

  judgeMunmap(start: bigint, len: bigint): ErrnoName | null {
    if (start & (this.psN - 1n) || start > this.taskSize || len > this.taskSize - start) return 'EINVAL';
    if (this.pageAlign(len) === 0n) return 'EINVAL';
    return null;
  }

  munmap(start: bigint, len: bigint): RefResult {
    const e = this.judgeMunmap(start, len);
    if (e !== null) return err(e);
    const first = Number(start / this.psN);
    const n = Number(this.pageAlign(len) / this.psN);
    for (const vpn of [...this.pages.keys()]) if (vpn >= first && vpn < first + n) this.pages.delete(vpn);
    return OK0;
  }

  /** Pages [first, first+n) that are mapped, counted without walking huge ranges. */
  private mappedIn(first: number, n: number): number {
    let c = 0;
    for (const vpn of this.pages.keys()) if (vpn >= first && vpn < first + n) c++;
    return c;
  }

  mprotect(start: bigint, len: bigint, prot: bigint): RefResult {
    const pl = Number(prot & 0xffffffffn);
    if ((pl & 0x03000000) === 0x03000000) return err('EINVAL');
    if (start & (this.psN - 1n)) return err('EINVAL');
    if (len === 0n) return OK0;
    const alen = this.pageAlign(len);
    const end = start + alen;
    if (alen === 0n || end > U64_MAX) return err('ENOMEM');
    if ((prot & ~BigInt(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM | 0x03000000)) !== 0n) return err('EINVAL');
    if (pl & 0x03000000) throw new Error('reference: PROT_GROWSDOWN/PROT_GROWSUP not modelled');
    const want = pl & (PROT_READ | PROT_WRITE | PROT_EXEC);
    // Page by page: VM_MAY* are uniform within a VMA, so the first page of the VMA that
    // refuses is where the kernel stops too; pages before a hole or a refusal keep the change.
    let vpn = Number(start / this.psN);
    const endVpn = end > this.taskSize ? Number(this.taskSize / this.psN) + 1 : Number(end / this.psN);
    for (; vpn < endVpn; vpn++) {
      const p = this.pages.get(vpn);
      if (p === undefined) return err('ENOMEM');
      if (want & ~p.mayProt) return err('EACCES');
      p.prot = want;
    }
    return OK0;
  }

  msync(start: bigint, len: bigint, flags: bigint): RefResult {
    const f = Number(BigInt.asIntN(32, flags & 0xffffffffn));
    if (f & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) return err('EINVAL');
    if (start & (this.psN - 1n)) return err('EINVAL');
    if (f & MS_ASYNC && f & MS_SYNC) return err('EINVAL');
    const end = start + this.pageAlign(len);
    if (end > U64_MAX) return err('ENOMEM');
    if (end === start) return OK0;
    if (end > this.taskSize) return err('ENOMEM');
    const first = Number(start / this.psN);
    const n = Number((end - start) / this.psN);
    return this.mappedIn(first, n) === n ? OK0 : err('ENOMEM');
  }

  mincore(start: bigint, len: bigint): RefResult {
    if (start & (this.psN - 1n)) return err('EINVAL');
    if (start > this.taskSize || len > this.taskSize - start) return err('ENOMEM');
    const n = Number(this.pageAlign(len) / this.psN);
    if (n === 0) return OK0;
    return this.mappedIn(Number(start / this.psN), n) === n ? OK0 : err('ENOMEM');
  }

  // --- loads and stores ---

  private pastEof(p: RefPage): boolean {
    if (p.kind !== 'file-private' && p.kind !== 'file-shared') return false;
    if (p.kind === 'file-private' && p.copy !== null) return false;
    return p.index * this.ps >= this.objects.get(p.object!)!.size;
  }

  /** The page's current contents as the program sees them (a view for shared, a copy's array for private). */
  private contents(p: RefPage): { data: Uint8Array; unknown: Uint8Array } {
    if (p.copy !== null) return { data: p.copy, unknown: p.copyUnknown! };
    if (p.kind === 'anon-private') return { data: new Uint8Array(this.ps), unknown: new Uint8Array(this.ps) };
    const o = this.objects.get(p.object!)!;
    this.ensure(o, (p.index + 1) * this.ps);
    return { data: o.data.subarray(p.index * this.ps, (p.index + 1) * this.ps), unknown: o.unknown.subarray(p.index * this.ps, (p.index + 1) * this.ps) };
  }

  private makeCopy(p: RefPage): void {
    const c = this.contents(p);
    p.copy = c.data.slice();
    p.copyUnknown = c.unknown.slice();
  }

  private check(addr: bigint, write: boolean): RefOutcome | RefPage {
    const p = addr >= this.taskSize ? undefined : this.pages.get(Number(addr / this.psN));
    if (p === undefined) return { ok: false, signal: 'SIGSEGV', code: SEGV_MAPERR };
    if (write ? (p.prot & PROT_WRITE) === 0 : (p.prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) === 0) {
      return { ok: false, signal: 'SIGSEGV', code: SEGV_ACCERR };
    }
    if (this.pastEof(p)) return { ok: false, signal: 'SIGBUS' };
    return p;
  }

  /** A little-endian load of size bytes that stays within one page. */
  load(addr: bigint, size: number): RefOutcome {
    const p = this.check(addr, false);
    if (!('kind' in p)) return p;
    const { data, unknown } = this.contents(p);
    const off = Number(addr % this.psN);
    let v = 0n;
    let mask = 0n;
    for (let i = size - 1; i >= 0; i--) {
      v = (v << 8n) | BigInt(data[off + i]!);
      mask = (mask << 8n) | (unknown[off + i] ? 0xffn : 0n);
    }
    return { ok: true, value: v, unknownMask: mask };
  }

  store(addr: bigint, size: number, value: bigint): RefOutcome {
    const p = this.check(addr, true);
    if (!('kind' in p)) return p;
    if ((p.kind === 'anon-private' || p.kind === 'file-private') && p.copy === null) this.makeCopy(p);
    const { data, unknown } = this.contents(p);
    const off = Number(addr % this.psN);
    let v = BigInt.asUintN(64, value);
    // Shared file bytes at or past end of file are not part of the file.
    let unknownFrom = this.ps;
    if (p.kind === 'file-shared') {
      const size0 = this.objects.get(p.object!)!.size;
      unknownFrom = Math.max(0, size0 - p.index * this.ps);
    }
    for (let i = 0; i < size; i++) {
      data[off + i] = Number(v & 0xffn);
      unknown[off + i] = off + i >= unknownFrom ? 1 : 0;
      v >>= 8n;
    }
    return { ok: true, value: 0n, unknownMask: 0n };
  }
}
