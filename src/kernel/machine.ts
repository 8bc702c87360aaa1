/**
 * The machine: processes, threads and the syscall table, over the kernel
 * model. Every syscall method takes the calling thread's id and 64-bit
 * arguments (bigint where a register holds an address, length or offset),
 * and returns a value or Linux's errno; none throws on any argument.
 */
import { type ArchName, type ArchProfile, ARCH_PROFILES } from './arch/profile.js';
import { Mmu } from './arch/mmu.js';
import { type MachineEventListener, toMachineEvent } from './events.js';
import { type ExecBases, type ElfImage, type ExecResult, loadElfBinary } from './exec.js';
import type { FsBackend } from './fs/backend.js';
import { FdTable, File, FMODE_READ, FMODE_WRITE } from './fs/file.js';
import { normalizePath } from './fs/vfs.js';
import { filemapWriteAndWait } from './mm/filemap.js';
import * as fsc from './fs/syscalls.js';
import { Kernel } from './kernel.js';
import { dupMmap, exitMmap } from './mm/fork.js';
import { sysMincore } from './mm/mincore.js';
import { type KRet, isErr, sysBrk, sysMmap, sysMunmap, u64 } from './mm/mmap.js';
import { bprmPrepare } from './bprm.js';
import { argStringsBytes, argvTooBig, createElfTables } from './elf-tables.js';
import { MmStruct, mmAlloc } from './mm/mm-struct.js';
import { sysMprotect } from './mm/mprotect.js';
import { sysMsync } from './mm/msync.js';
import { sysMadvise } from './mm/madvise.js';
import { sysMlock, sysMlock2, sysMlockall, sysMunlock, sysMunlockall } from './mm/mlock.js';
import { sysMremap } from './mm/mremap.js';
import { Vma } from './mm/vma.js';
import { vmaLink, vmaRelease } from './mm/vma-ops.js';
import {
  VM_ACCOUNT, VM_DONTDUMP, VM_DONTEXPAND, VM_EXEC, VM_GROWSDOWN, VM_IO, VM_MAYEXEC, VM_MAYREAD, VM_MAYWRITE, VM_PFNMAP,
  VM_READ, VM_STACK_DEFAULT_FLAGS,
} from './mm/vm-flags.js';
import { renderDiskstats } from './proc/diskstats.js';
import { renderMeminfo, renderVmstat } from './proc/meminfo.js';
import { renderMaps, renderSmaps, renderSmapsRollup, renderStatm, renderStatusMem } from './proc/task-mmu.js';
import { Process, Task } from './sched.js';
import { DEFAULT_SETTINGS, type Settings } from './settings.js';
import { type ErrnoName, SEGV_MAPERR, errnoNumber } from './uapi.js';
import { validateKernel } from './validate.js';
import {
  type Counters, type FrameSnapshot, type PageCacheSnapshot, type PageMapping, type PageWalk, type TlbSnapshot, type VmaSnapshot,
  snapshotCounters, snapshotFrame, snapshotFrames, snapshotPageCache, snapshotPagemap, snapshotTlb, snapshotVmas, walkAddress,
} from './snapshot.js';

/**
 * A syscall's outcome as a value: the return register as a 64-bit bigint,
 * or the errno Linux would return, by name ('ENOMEM', 'EINVAL'...; its
 * number is `uapi.ERRNO[name][0]`). No syscall method throws for any
 * argument.
 */
export type SysResult =
  | {
      /** The call succeeded. */
      ok: true;
      /** The return value (an address, a count, a descriptor, 0). */
      value: bigint;
    }
  | {
      /** The call failed. */
      ok: false;
      /** The errno's name. */
      errno: ErrnoName;
    };

/** What `new Machine()` builds. */
export interface MachineOptions {
  /** The architecture profile, by name ('x86_64', 'arm64-4k', 'arm64-16k') or as a profile object; default x86_64. */
  arch?: ArchName | ArchProfile;
  /** Tunables and limits (RAM size, readahead, overcommit, THP, rlimits...), each defaulting to DEFAULT_SETTINGS. */
  settings?: Partial<Settings>;
  /** Re-validate every invariant after each syscall and access (slow; for tests). */
  paranoid?: boolean;
  /**
   * A file-system backend whose files appear under `fsMount` (default "/"),
   * read lazily page by page through the simulated disk, with a
   * copy-on-write overlay: the model never writes to it except through
   * Machine.writeBack(). Files the model creates or seeds shadow it.
   */
  fs?: FsBackend;
  /** Where the backend's root appears in the model's namespace (an absolute directory path). */
  fsMount?: string;
}

/**
 * The signal a failed load or store raises, as the kernel's page-fault
 * handler would deliver it (force_sig_fault()), with si_addr as a 64-bit
 * bigint, so an access at 0xffffffffffffffff keeps every bit.
 */
export interface AccessFault {
  /** SIGSEGV (no mapping, or one that forbids the access), SIGBUS (a file page past the end of the file) or SIGKILL (out of memory: the OOM kill). */
  readonly signal: 'SIGSEGV' | 'SIGBUS' | 'SIGKILL';
  /** si_code: SEGV_MAPERR, SEGV_ACCERR, BUS_ADRERR... (0 for SIGKILL). */
  readonly code: number;
  /** si_addr */
  readonly addr: bigint;
}

/**
 * A load's or store's outcome as a value: what was read, the fault, or (for
 * an access the embedder asked for wrongly, so no CPU could have made it)
 * an errno with `fault: null`.
 */
export type AccessResult<T> =
  | {
      /** The access completed (after any page faults the kernel resolved). */
      ok: true;
      /** The value loaded (undefined for a store). */
      value: T;
    }
  | {
      /** The access raised a signal; nothing was stored past the faulting byte's page. */
      ok: false;
      /** The signal, its si_code and si_addr. */
      fault: AccessFault;
    }
  | {
      /** The access was not made: nothing was read or written and no fault was taken. */
      ok: false;
      /** No fault: see errno. */
      fault: null;
      /**
       * ESRCH: `tid` is not a live thread. EINVAL: a size other than 1, 2,
       * 4 or 8, or a byte count that is not an integer from 0 to
       * MAX_ACCESS_BYTES.
       */
      errno: 'ESRCH' | 'EINVAL';
    };

/** An access the CPU made: its value or its fault. */
export type MadeAccess<T> = Exclude<AccessResult<T>, { fault: null }>;

/**
 * The outcome of an access the caller knows it asked for rightly (a live
 * thread, a valid size), for the layers inside mmsim: an errno there is a
 * bug in the caller.
 */
export function madeAccess<T>(r: AccessResult<T>): MadeAccess<T> {
  if (!r.ok && r.fault === null) throw new Error(`bug: an access by a thread that cannot make it (${r.errno})`);
  return r as MadeAccess<T>;
}

/**
 * The longest loadBytes()/storeBytes() range, 1 GiB: the bytes are copied
 * through one JavaScript buffer. Deviation: no single CPU access is this
 * long; a longer range is EINVAL rather than a run of accesses.
 */
export const MAX_ACCESS_BYTES = 1 << 30;

/**
 * The choices address-space layout randomization makes at execve(); any
 * left out take the values Linux uses without it (`setarch -R`). Each is a
 * page-aligned address below TASK_SIZE (a size for stackSize).
 */
export interface ExecveOptions {
  /** Where an ET_DYN executable's first PT_LOAD page goes (default ELF_ET_DYN_BASE, aligned to the largest p_align). */
  loadBias?: bigint;
  /** Where the interpreter's first PT_LOAD page goes (default: top-down from mmap_base). */
  interpBase?: bigint;
  /** mm->mmap_base, where top-down mmap() placement starts (default: below the stack gap). */
  mmapBase?: bigint;
  /** The end of the [stack] VMA (default STACK_TOP). */
  stackTop?: bigint;
  /** The [stack] VMA's size (default 128 KiB plus one page of arguments). */
  stackSize?: bigint;
  /** Where the [vvar]/[vdso] special mappings start (default: top-down, below the interpreter). */
  specialsBase?: bigint;
  /** mm->start_brk and mm->brk (default: the page after the end of the executable's bss). */
  brk?: bigint;
  /** The argument strings (default: [path]). */
  argv?: readonly string[];
  /** The environment strings, `NAME=value` (default: none). */
  envp?: readonly string[];
}

/** execve()'s outcome as a value. */
export type ExecveResult =
  | {
      /** The new program is loaded. */
      ok: true;
      /** execve() returns 0 (to the new program, which never sees it). */
      value: 0n;
      /** Where the CPU starts: the interpreter's entry point when there is one, else the executable's. */
      entry: bigint;
      /** The executable's load bias (0 for ET_EXEC). */
      loadBias: bigint;
      /** Where the interpreter's first page went, or null for none (a static executable). */
      interpBase: bigint | null;
      /** The initial stack pointer: the address of argc, above it argv[], envp[] and the auxiliary vector (create_elf_tables()). */
      stackPointer: bigint;
      /** The auxiliary vector on the stack, in order, AT_NULL last. */
      auxv: {
        /** The entry's AT_* number (AT_PHDR 3, AT_ENTRY 9, AT_RANDOM 25...). */
        type: number;
        /** Its value: an address, a size or a flag word. */
        value: bigint;
      }[];
    }
  | {
      /** execve() failed. */
      ok: false;
      /** Linux's errno for it. */
      errno: ErrnoName;
      /** Why, naming the file. */
      reason: string;
      /** True when it failed past the point of no return: the process has been killed with SIGSEGV. */
      killed: boolean;
    };

/** ExecveOptions as the loader's numbers, or null for a value that is not page-aligned below TASK_SIZE. */
function execBases(o: ExecveOptions, arch: ArchProfile): ExecBases | null {
  const out: ExecBases = {};
  const strings = (v: unknown): boolean => v === undefined || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
  if (!strings(o.argv) || !strings(o.envp)) return null;
  for (const key of ['loadBias', 'interpBase', 'mmapBase', 'stackTop', 'stackSize', 'specialsBase', 'brk'] as const) {
    const v = o[key];
    if (v === undefined) continue;
    if (typeof v !== 'bigint' || v < 0n || v > BigInt(arch.taskSize) || v % BigInt(arch.pageSize) !== 0n) return null;
    out[key] = Number(v);
  }
  if (out.stackSize !== undefined && (out.stackSize === 0 || out.stackSize > (out.stackTop ?? arch.stackTop))) return null;
  return out;
}

/** What fstat(2) fills in (struct stat), for the fields the model keeps. */
export interface FileStat {
  /** st_dev: the device, major * 256 + minor. */
  st_dev: number;
  /** st_ino: the inode number. */
  st_ino: number;
  /** st_mode: file type (S_IFREG, S_IFDIR, S_IFCHR) and permission bits. */
  st_mode: number;
  /** st_nlink: names linking to the inode (0 once unlinked). */
  st_nlink: number;
  /** st_size: the size in bytes. */
  st_size: number;
  /** st_blksize: the preferred I/O size in bytes. */
  st_blksize: number;
  /** st_blocks: 512-byte blocks allocated. */
  st_blocks: number;
}

/** getrusage(RUSAGE_SELF)'s fault counts. */
export interface Rusage {
  /** ru_minflt: faults served without I/O. */
  minFlt: number;
  /** ru_majflt: faults that read from the disk. */
  majFlt: number;
}

function esrch(): SysResult {
  return { ok: false, errno: 'ESRCH' };
}

function wrap(r: KRet): SysResult {
  return isErr(r) ? { ok: false, errno: r } : { ok: true, value: BigInt(r) };
}

/** A load or store width the CPU has: 1, 2, 4 or 8 bytes. */
function validSize(size: number): boolean {
  return size === 1 || size === 2 || size === 4 || size === 8;
}

/**
 * access_ok(): [buf, buf + count) ends at or below TASK_SIZE_MAX, without
 * wrapping (x86's __access_ok() against USER_PTR_MAX, asm-generic's on arm64
 * without tagged addresses). read() and write() check it before anything
 * else happens, so a bad buffer is EFAULT even at end of file.
 */
function accessOk(mm: MmStruct, buf: bigint, count: bigint): boolean {
  return u64(buf) + u64(count) <= BigInt(mm.taskSize);
}

/** Sizes of the special mappings the kernel installs at exec (arch_setup_additional_pages()). */
function vdsoLayout(arch: ArchProfile): { name: string; pages: number; flags: number }[] {
  const vvarFlags = VM_READ | VM_MAYREAD | VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP;
  const vdsoFlags = VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_DONTEXPAND;
  if (arch.pteFormat === 'x86') {
    return [
      { name: '[vvar]', pages: 4, flags: vvarFlags },
      { name: '[vvar_vclock]', pages: 2, flags: vvarFlags },
      { name: '[vdso]', pages: 2, flags: vdsoFlags },
    ];
  }
  return [
    { name: '[vvar]', pages: Math.max(1, (4 * 4096) / arch.pageSize), flags: vvarFlags },
    { name: '[vdso]', pages: Math.max(1, (2 * 4096) / arch.pageSize), flags: vdsoFlags },
  ];
}

/**
 * A simulated Linux machine: RAM, a disk, the page cache and the processes
 * whose address spaces the kernel model manages. Create processes with
 * spawn() and fork(), call syscalls by thread id, load and store through
 * the MMU, read /proc and the snapshot views, and subscribe() to the
 * kernel's events. Everything is deterministic: the same calls give the
 * same results and events on every run.
 */
export class Machine {
  /**
   * The kernel model itself, for the layers inside mmsim (the scenario
   * interpreter, replay, the oracle, the benchmarks).
   * @internal
   */
  readonly k: Kernel;
  private readonly processes = new Map<number, Process>();
  private readonly tasks = new Map<number, Task>();
  private readonly mmus = new Map<number, Mmu>();
  private nextPid = 1000;
  /** Re-validate every invariant after each syscall and access (slow; for tests). May be changed at any time. */
  paranoid: boolean;

  /** A machine with no processes yet (see spawn()). */
  constructor(options: MachineOptions = {}) {
    const arch = typeof options.arch === 'string' ? ARCH_PROFILES[options.arch] : (options.arch ?? ARCH_PROFILES.x86_64);
    this.k = new Kernel(arch, { ...DEFAULT_SETTINGS, ...options.settings });
    this.paranoid = options.paranoid ?? false;
    if (options.fs !== undefined) {
      this.k.vfs.backend = options.fs;
      this.k.vfs.mount = normalizePath(options.fsMount ?? '/');
      this.k.vfs.ensureDir(this.k.vfs.mount);
    }
  }

  /** The architecture profile: page size, page-table levels, address-space size. */
  get arch(): ArchProfile {
    return this.k.arch;
  }

  /** The settings in force (defaults merged with MachineOptions.settings). */
  get settings(): Settings {
    return this.k.settings;
  }

  /**
   * Call `listener` with every kernel event from now on (see MachineEvent),
   * synchronously, during the call that causes it. Returns the function
   * that unsubscribes. With no subscriber, the model builds no events.
   */
  subscribe(listener: MachineEventListener): () => void {
    return this.k.subscribe((e) => listener(toMachineEvent(e)));
  }

  /**
   * mmap_base() without randomization (mm/util.c; arch/x86/mm/mmap.c's takes task_size,
   * which is STACK_TOP there): below the stack, leaving room for RLIMIT_STACK and the
   * guard gap, at least MIN_GAP (128 MiB), at most MAX_GAP (STACK_TOP / 6 * 5).
   */
  private mmapBase(): number {
    const arch = this.k.arch;
    const s = this.k.settings;
    let gap = s.stackRlimit + s.stackGuardGapPages * arch.pageSize;
    gap = Math.min(Math.max(gap, 128 * 1024 * 1024), Math.floor(arch.stackTop / 6) * 5);
    return Math.ceil((arch.stackTop - gap) / arch.pageSize) * arch.pageSize;
  }

  /**
   * A new process as exec leaves it without ASLR: a [stack] at the top of user
   * space, [vvar]/[vdso] at mmap_base, the break where a small PIE's data
   * would end, and descriptors 0-2 open on a terminal. Returns its pid, which
   * is also the id of its only thread. Deviation: no executable or
   * interpreter image is mapped. Throws only when no frame is left for the
   * new page tables.
   */
  spawn(): number {
    const k = this.k;
    const arch = k.arch;
    const mm = mmAlloc(k, this.mmapBase());
    if (mm === null) throw new Error('spawn(): no free frame left for a new address space');
    const pid = this.nextPid++;
    const proc = new Process(pid, mm, new FdTable());
    const task = new Task(pid, proc);
    proc.threads.push(task);
    mm.users = 1;
    this.processes.set(pid, proc);
    this.tasks.set(pid, task);
    const ps = arch.pageSize;
    // setup_arg_pages(): 128 KiB of stack plus the argument page.
    const stackSize = 128 * 1024 + ps;
    const stack = new Vma(arch.stackTop - stackSize, arch.stackTop, VM_STACK_DEFAULT_FLAGS | VM_GROWSDOWN | VM_ACCOUNT, (arch.stackTop - stackSize) / ps, null, null);
    vmaLink(mm, stack);
    k.committedPages += stackSize / ps;
    mm.startStack = arch.stackTop - ps;
    let top = mm.mmapBase;
    const specials = vdsoLayout(arch);
    const total = specials.reduce((n, s) => n + s.pages, 0) * ps;
    let at = top - total;
    for (const s of specials) {
      const v = new Vma(at, at + s.pages * ps, s.flags, 0, null, null);
      v.specialName = s.name;
      vmaLink(mm, v);
      at += s.pages * ps;
    }
    top -= total;
    mm.startCode = arch.elfEtDynBase;
    mm.endCode = arch.elfEtDynBase;
    mm.startData = mm.endData = arch.elfEtDynBase + 4 * ps;
    mm.startBrk = mm.brk = arch.elfEtDynBase + 5 * ps;
    mm.hiwaterVm = stackSize / ps + total / ps;
    // Descriptors 0, 1 and 2 are open on a character device, as a shell leaves them.
    const tty = k.vfs.charDevice('/dev/pts/0');
    for (let fd = 0; fd < 3; fd++) {
      const file = new File(tty, FMODE_READ | FMODE_WRITE, 2, '/dev/pts/0', 0);
      file.refs = 1;
      tty.refs++;
      proc.files.fds[fd] = { file, cloexec: false };
    }
    this.check();
    return pid;
  }

  /**
   * execve(2) of the ELF executable at `path` in the model's file system
   * (relative paths from the cwd). Up to the point of no return
   * (do_open_execat(), load_elf_binary()'s header and PT_INTERP reads,
   * through the page cache) a failure leaves the process as it was: ENOENT,
   * ENOTDIR, EACCES (a directory, a device, no execute bit), ENOEXEC (not a
   * 64-bit ELF executable for this architecture; '#!' scripts included),
   * ELIBBAD (the interpreter is not an ELF file for it), EIO, ESRCH. Past
   * it (begin_new_exec()) the old address space is gone and close-on-exec
   * descriptors are closed; the executable's PT_LOAD segments, its
   * interpreter, the stack and the special mappings are built, and the
   * result gives where the CPU starts. A failure there (a segment that
   * cannot be mapped, as a binary linked for 4 KiB pages on a 16 KiB-page
   * kernel) kills the process with SIGSEGV, as Linux does, and returns its
   * errno with `killed: true`. The process's other threads end
   * (de_thread()). Deviation: when a thread other than the leader calls
   * execve(), it keeps its thread id instead of taking over the pid.
   */
  execve(tid: number, path: string, options: ExecveOptions = {}): ExecveResult {
    const task = this.enter(tid);
    if (task === undefined) return { ok: false, errno: 'ESRCH', reason: `no thread ${tid}`, killed: false };
    const k = this.k;
    // JavaScript callers are not held to the declared types.
    const bases = typeof options === 'object' && options !== null ? execBases(options, k.arch) : null;
    if (bases === null) return { ok: false, errno: 'EINVAL', reason: 'an option is not a page-aligned address below TASK_SIZE, or argv/envp is not an array of strings', killed: false };
    const execfn = typeof path === 'string' ? path : '';
    const argv = options!.argv ?? [execfn];
    const envp = options!.envp ?? [];
    // bprm_stack_limits(), copy_strings(): after the open, before the headers are read.
    const images = bprmPrepare(k, task, execfn, () =>
      argvTooBig(argv, envp, execfn, k.settings.stackRlimit) === null ? null : { errno: 'E2BIG', reason: 'the argument and environment strings exceed MAX_ARG_STRLEN or a quarter of RLIMIT_STACK' },
    );
    if ('errno' in images) return { ok: false, errno: images.errno, reason: images.reason, killed: false };
    // setup_arg_pages(): the stack VMA holds the strings' pages and 128 KiB more.
    const ps = k.arch.pageSize;
    bases.stackSize ??= 128 * 1024 + Math.ceil(argStringsBytes(argv, envp, execfn) / ps) * ps;
    // de_thread(): the other threads of the process are killed.
    for (const other of task.process.threads.filter((t) => t !== task)) this.exitThread(other.tid);
    const r = this.execImages(tid, images.exe, images.interp, bases);
    const l = r.ok ? r.layout : null;
    const mm = task.process.mm;
    const stackTop = bases.stackTop ?? k.arch.stackTop;
    const vdso = [...mm.vmas].find((v) => v.specialName === '[vdso]')?.start ?? 0;
    const tables = l === null ? null : createElfTables(k, this.mmu(tid)!, { exe: images.exe, loadBias: l.loadBias, interpBase: l.interpBase, vdso, stackTop, execfn, argv, envp });
    if (!r.ok || l === null || tables === null) {
      // bprm_execve(): past the point of no return, force_fatal_sig(SIGSEGV).
      this.exitGroup(tid, 128 + 11);
      return { ok: false, errno: r.ok ? 'EFAULT' : r.errno, reason: r.ok ? 'the initial stack could not be written' : r.reason, killed: true };
    }
    mm.startStack = tables.sp;
    this.check();
    return {
      ok: true, value: 0n, entry: BigInt(l.entry), loadBias: BigInt(l.loadBias), interpBase: l.interpBase === null ? null : BigInt(l.interpBase),
      stackPointer: BigInt(tables.sp), auxv: tables.auxv.map(([type, value]) => ({ type, value: BigInt(value) })),
    };
  }

  /**
   * execve() of an ELF executable (fs/exec.c:begin_new_exec() + load_elf_binary()):
   * the process's old address space is dropped, close-on-exec descriptors are
   * closed, and a new one is built from the program headers given (the caller
   * reads the files; they must exist in the model's file system). On failure
   * the process keeps running in an empty address space, as after the point
   * of no return. withoutExecutable: build all but the executable's own
   * mappings (its file is not available). Used by replay and by execve();
   * its ELF types take number addresses.
   * @internal
   */
  execImages(tid: number, exe: ElfImage, interp: ElfImage | null, bases: ExecBases = {}, withoutExecutable = false): ExecResult {
    const task = this.tasks.get(tid);
    if (task === undefined || task.exited) return { ok: false, errno: 'ESRCH', reason: `no thread ${tid}` };
    const proc = task.process;
    const k = this.k;
    const old = proc.mm;
    const mm = mmAlloc(k, this.mmapBase());
    if (mm === null) return { ok: false, errno: 'ENOMEM', reason: 'no free frame for the new address space' };
    // exec_mmap(): every thread of the process switches to the new mm, so nothing uses the
    // old one any more (the model has no CLONE_VM without CLONE_THREAD to share it).
    mm.users = proc.threads.length;
    proc.mm = mm;
    exitMmap(k, old, (v) => vmaRelease(k, v));
    k.phys.refcount[old.pgd.pfn] = 0;
    k.phys.freePage(old.pgd.pfn);
    for (const t of proc.threads) this.mmus.delete(t.tid);
    proc.files.fds.forEach((e, fd) => {
      if (e !== undefined && e.cloexec) fsc.sysClose(k, task, fd);
    });
    const r = loadElfBinary(k, task, { exe, interp, bases, specials: vdsoLayout(k.arch), defaultMmapBase: this.mmapBase(), withoutExecutable });
    this.check();
    return r;
  }

  /**
   * clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD): a new
   * thread of process `pid`, sharing its address space and descriptors, with
   * its own fault counters. Returns the new thread id, or undefined when
   * `pid` is not a live process.
   */
  createThread(pid: number): number | undefined {
    const proc = this.processes.get(pid);
    if (proc === undefined || proc.exited) return undefined;
    const tid = this.nextPid++;
    const task = new Task(tid, proc);
    proc.threads.push(task);
    proc.mm.users++;
    this.tasks.set(tid, task);
    return tid;
  }

  /**
   * fork(2) by thread `tid` (kernel/fork.c:dup_mmap()): a child process with
   * a copy-on-write copy of the caller's address space (private pages
   * write-protected in both, shared mappings shared, MADV_DONTFORK ranges
   * left out, MADV_WIPEONFORK ones empty) and of its descriptor table.
   * The value is the child's pid. Errors: ESRCH (no such thread), ENOMEM
   * (no frame for the child's page tables).
   */
  fork(tid: number): SysResult {
    const task = this.tasks.get(tid);
    if (task === undefined || task.exited) return { ok: false, errno: 'ESRCH' };
    const parent = task.process;
    const mm = dupMmap(this.k, parent.mm);
    if (mm === null) return { ok: false, errno: 'ENOMEM' };
    mm.users = 1;
    const files = new FdTable();
    parent.files.fds.forEach((e, fd) => {
      if (e === undefined) return;
      files.fds[fd] = { file: e.file, cloexec: e.cloexec };
      e.file.refs++;
      e.file.inode.refs++;
    });
    const pid = this.nextPid++;
    const child = new Process(pid, mm, files);
    child.parent = parent;
    child.cwd = parent.cwd;
    const ct = new Task(pid, child);
    child.threads.push(ct);
    this.processes.set(pid, child);
    this.tasks.set(pid, ct);
    this.check();
    return { ok: true, value: BigInt(pid) };
  }

  /**
   * exit(2) of thread `tid` with exit status `code`: its fault counts go to
   * the process; the last thread's exit tears the process down (exit_mm()
   * unmaps everything, exit_files() closes every descriptor). Does nothing
   * for a thread that is not live.
   */
  exitThread(tid: number, code = 0): void {
    const task = this.tasks.get(tid);
    if (task === undefined || task.exited) return;
    task.exited = true;
    const proc = task.process;
    proc.deadMinFlt += task.minFlt;
    proc.deadMajFlt += task.majFlt;
    proc.threads.splice(proc.threads.indexOf(task), 1);
    proc.mm.users--;
    this.tasks.delete(tid);
    this.mmus.delete(tid);
    if (proc.threads.length === 0) this.teardown(proc, code);
    this.check();
  }

  /** exit_group(2) by thread `tid`: every thread of its process exits, and the process is torn down. */
  exitGroup(tid: number, code = 0): void {
    const task = this.tasks.get(tid);
    if (task === undefined) return;
    for (const t of [...task.process.threads]) this.exitThread(t.tid, code);
  }

  private teardown(proc: Process, code: number): void {
    const k = this.k;
    exitMmap(k, proc.mm, (v) => vmaRelease(k, v));
    k.phys.refcount[proc.mm.pgd.pfn] = 0;
    k.phys.freePage(proc.mm.pgd.pfn);
    proc.files.fds.forEach((e, fd) => {
      if (e !== undefined) fsc.sysClose(k, proc.threads[0] ?? new Task(proc.tgid, proc), fd);
    });
    proc.exited = true;
    proc.exitCode = code;
  }

  /**
   * The model's task for a thread id, for the layers inside mmsim.
   * @internal
   */
  task(tid: number): Task | undefined {
    return this.tasks.get(tid);
  }

  /**
   * The model's process for a pid (exited ones stay until the Machine goes), for the layers inside mmsim.
   * @internal
   */
  process(pid: number): Process | undefined {
    return this.processes.get(pid);
  }

  /**
   * The MMU as one thread sees memory: the fast path for loads and stores
   * (number addresses, the fault left in `mmu.fault`), for the layers inside
   * mmsim; embedders use load()/store().
   * @internal
   */
  mmu(tid: number): Mmu | undefined {
    let m = this.mmus.get(tid);
    if (m === undefined) {
      const t = this.tasks.get(tid);
      if (t === undefined) return undefined;
      m = new Mmu(this.k, t);
      this.mmus.set(tid, m);
    }
    return m;
  }

  /**
   * Re-validate the whole model, as the kernel's validate_mm() and
   * CONFIG_DEBUG_VM checks do: every VMA tree, page table, reference and
   * map count, RSS counter and page-cache entry recomputed from scratch.
   * Throws an Error describing the first broken invariant (a bug in the model).
   */
  validate(): void {
    const mms = new Set<MmStruct>();
    for (const p of this.processes.values()) if (!p.exited) mms.add(p.mm);
    validateKernel(this.k, mms);
  }

  private check(): void {
    if (this.paranoid) this.validate();
  }

  /** The calling thread, or undefined for ESRCH: the first half of a syscall. */
  private enter(tid: number): Task | undefined {
    const task = this.tasks.get(tid);
    return task === undefined || task.exited ? undefined : task;
  }

  /** The second half: the result as a value, traced and (paranoid) validated. */
  private leave(tid: number, name: string, ret: KRet): SysResult {
    const r = wrap(ret);
    if (this.k.tracing) this.k.emit({ type: 'syscall_return', pid: tid, name, result: r.ok ? '0x' + r.value.toString(16) : `-${errnoNumber(r.errno)} ${r.errno}` });
    this.check();
    return r;
  }

  private call(tid: number, name: string, fn: (task: Task) => KRet): SysResult {
    const task = this.enter(tid);
    return task === undefined ? esrch() : this.leave(tid, name, fn(task));
  }

  // --- memory syscalls (enter/leave, no closure per call) ---

  /**
   * mmap(2) (mm/mmap.c:do_mmap()): map `len` bytes at `addr` (a hint, or
   * exact with MAP_FIXED / MAP_FIXED_NOREPLACE) with protection `prot`
   * (uapi.PROT_*) and `flags` (uapi.MAP_*), backed by descriptor `fd` at
   * byte offset `off`, or anonymous (MAP_ANONYMOUS, fd -1). Nothing is
   * mapped into the page tables until a fault (or MAP_POPULATE). The value
   * is the mapping's address. Errors as Linux: EINVAL (bad length, offset
   * or flags), EBADF, EACCES (the descriptor's mode forbids the protection),
   * ENODEV, ENOMEM (no room, map count or commit limit), EEXIST
   * (MAP_FIXED_NOREPLACE over a mapping), EPERM, EOVERFLOW, EAGAIN
   * (MAP_LOCKED over RLIMIT_MEMLOCK), EOPNOTSUPP (MAP_SHARED_VALIDATE with
   * an unknown flag).
   */
  mmap(tid: number, addr: bigint, len: bigint, prot: bigint | number, flags: bigint | number, fd: bigint | number, off: bigint): SysResult {
    const t = this.enter(tid);
    return t === undefined ? esrch() : this.leave(tid, 'mmap', sysMmap(this.k, t, addr, len, prot, flags, fd, off));
  }

  /**
   * munmap(2) (do_vmi_munmap()): unmap [addr, addr + len) rounded out to
   * pages, splitting VMAs at the ends, freeing the pages and page tables no
   * longer used and flushing the TLB. Unmapping a hole is not an error.
   * Errors: EINVAL (addr not page aligned, len 0, range past user space),
   * ENOMEM (a split would exceed the map-count limit).
   */
  munmap(tid: number, addr: bigint, len: bigint): SysResult {
    const t = this.enter(tid);
    return t === undefined ? esrch() : this.leave(tid, 'munmap', sysMunmap(this.k, t, addr, len));
  }

  /**
   * mprotect(2) (mm/mprotect.c): change the protection of every page in
   * [addr, addr + len), splitting and merging VMAs and changing present
   * page-table entries in place. Errors: EINVAL (unaligned addr, bad prot),
   * ENOMEM (part of the range unmapped, or too many VMAs), EACCES (write to
   * a shared mapping of a file opened read-only, or exec where not allowed).
   */
  mprotect(tid: number, addr: bigint, len: bigint, prot: bigint | number): SysResult {
    const t = this.enter(tid);
    return t === undefined ? esrch() : this.leave(tid, 'mprotect', sysMprotect(this.k, t, addr, len, u64(prot)));
  }

  /**
   * msync(2) (mm/msync.c): with MS_SYNC, write the dirty page-cache pages of
   * the shared file mappings in the range to the disk and wait (vfs_fsync_range());
   * MS_ASYNC does nothing since Linux 2.6.19, as in the model. Errors:
   * EINVAL (unaligned addr, bad flags, MS_SYNC with MS_ASYNC), ENOMEM (part
   * of the range unmapped), EBUSY (MS_INVALIDATE over locked pages).
   */
  msync(tid: number, addr: bigint, len: bigint, flags: bigint | number): SysResult {
    const t = this.enter(tid);
    return t === undefined ? esrch() : this.leave(tid, 'msync', sysMsync(this.k, t, addr, len, u64(flags)));
  }

  /**
   * mremap(2) (mm/mremap.c): shrink, grow in place, or move (MREMAP_MAYMOVE,
   * MREMAP_FIXED to `newAddr`, MREMAP_DONTUNMAP) the mapping at `oldAddr`,
   * moving its page-table entries rather than copying pages. The value is
   * the mapping's (new) address. Errors: EINVAL, EFAULT (the old range is
   * not one mapping), ENOMEM (cannot grow in place without MREMAP_MAYMOVE,
   * no room), EAGAIN (locked memory over RLIMIT_MEMLOCK).
   */
  mremap(tid: number, oldAddr: bigint, oldLen: bigint, newLen: bigint, flags: bigint | number, newAddr: bigint = 0n): SysResult {
    const t = this.enter(tid);
    return t === undefined ? esrch() : this.leave(tid, 'mremap', sysMremap(this.k, t, oldAddr, oldLen, newLen, u64(flags), newAddr));
  }

  /**
   * madvise(2) (mm/madvise.c) with `advice` uapi.MADV_*: readahead hints
   * (NORMAL, RANDOM, SEQUENTIAL, WILLNEED), dropping pages (DONTNEED, FREE,
   * REMOVE, COLD, PAGEOUT), fork behaviour (DONTFORK, WIPEONFORK...), THP
   * hints, POPULATE_READ/WRITE and guard regions (GUARD_INSTALL/REMOVE).
   * Errors: EINVAL (unaligned addr, unknown advice, advice not allowed on
   * the VMA), ENOMEM (part of the range unmapped), EFAULT (a populate hit
   * a fault it could not resolve), EBADF, EACCES, EAGAIN.
   */
  madvise(tid: number, addr: bigint, len: bigint, advice: bigint | number): SysResult {
    const t = this.enter(tid);
    return t === undefined ? esrch() : this.leave(tid, 'madvise', sysMadvise(this.k, t, addr, len, u64(advice)));
  }

  /**
   * mlock(2) (mm/mlock.c): lock the pages of the range in memory, faulting
   * them all in. Errors: ENOMEM (part of the range unmapped, or over
   * RLIMIT_MEMLOCK), EAGAIN, EINVAL, EPERM.
   */
  mlock(tid: number, addr: bigint, len: bigint): SysResult {
    const t = this.enter(tid);
    return t === undefined ? esrch() : this.leave(tid, 'mlock', sysMlock(this.k, t, addr, len));
  }

  /** mlock2(2): mlock() with `flags`; MLOCK_ONFAULT locks pages as they fault instead of faulting them in now. Errors as mlock(), EINVAL for unknown flags. */
  mlock2(tid: number, addr: bigint, len: bigint, flags: bigint | number): SysResult {
    const t = this.enter(tid);
    return t === undefined ? esrch() : this.leave(tid, 'mlock2', sysMlock2(this.k, t, addr, len, u64(flags)));
  }

  /** munlock(2): unlock the pages of the range. Errors: ENOMEM (part of the range unmapped), EINVAL. */
  munlock(tid: number, addr: bigint, len: bigint): SysResult {
    const t = this.enter(tid);
    return t === undefined ? esrch() : this.leave(tid, 'munlock', sysMunlock(this.k, t, addr, len));
  }

  /**
   * mlockall(2): lock every current (MCL_CURRENT) and/or future (MCL_FUTURE)
   * mapping, with MCL_ONFAULT as mlock2()'s MLOCK_ONFAULT. Errors: EINVAL
   * (no or unknown flags), ENOMEM (over RLIMIT_MEMLOCK), EPERM.
   */
  mlockall(tid: number, flags: bigint | number): SysResult {
    const t = this.enter(tid);
    return t === undefined ? esrch() : this.leave(tid, 'mlockall', sysMlockall(this.k, t, u64(flags)));
  }

  /** munlockall(2): unlock everything and clear mlockall()'s MCL_FUTURE. Never fails for a live thread. */
  munlockall(tid: number): SysResult {
    const t = this.enter(tid);
    return t === undefined ? esrch() : this.leave(tid, 'munlockall', sysMunlockall(this.k, t));
  }

  /**
   * brk(2) (mm/mmap.c): move the program break to `addr`, growing or
   * shrinking the [heap] VMA. As the raw syscall, it never fails: the value
   * is the new break, or the old one when the request is refused (below
   * the start of the heap, over RLIMIT_DATA, or colliding with a mapping);
   * brk(0) reads the break.
   */
  brk(tid: number, addr: bigint): SysResult {
    const t = this.enter(tid);
    return t === undefined ? esrch() : this.leave(tid, 'brk', sysBrk(this.k, t, addr));
  }

  /**
   * mincore(2) (mm/mincore.c): which pages of [addr, addr + len) are in
   * memory: `vec` has one byte per page, bit 0 set for a resident page (a
   * file page in the page cache counts even when this process has not
   * faulted it in). The vector is
   * returned rather than written to user memory. Errors: EINVAL (unaligned
   * addr), ENOMEM (part of the range unmapped, or past user space).
   */
  mincore(tid: number, addr: bigint, len: bigint): SysResult & {
    /** One byte per page of the range; empty on error. */
    vec: Uint8Array;
  } {
    let vec: Uint8Array = new Uint8Array(0);
    const r = this.call(tid, 'mincore', (t) => {
      const m = sysMincore(this.k, t, addr, len);
      vec = m.vec;
      return m.ret;
    });
    return { ...r, vec };
  }

  // --- file syscalls ---

  /**
   * openat(2): open `path` (relative to the descriptor `dirfd`, or to the
   * working directory with uapi.AT_FDCWD) with `flags` (uapi.O_*) and, for
   * O_CREAT, permission bits `mode`. Files come from the model's in-memory
   * file system (seedFile(), files the process created, the FsBackend);
   * /dev/zero and /dev/null exist. The value is the new descriptor, the
   * lowest free. Errors: ENOENT, EEXIST (O_CREAT|O_EXCL), EISDIR, ENOTDIR,
   * EINVAL, ENAMETOOLONG, EBADF (dirfd), EMFILE, EACCES (a backend path
   * escaping its root), EIO (another backend error).
   */
  openat(tid: number, dirfd: number, path: string, flags: number, mode = 0o644): SysResult {
    return this.call(tid, 'openat', (t) => fsc.sysOpenat(this.k, t, dirfd, path, flags, mode));
  }

  /** close(2): release descriptor `fd`; mappings of the file stay. Errors: EBADF. */
  close(tid: number, fd: number): SysResult {
    return this.call(tid, 'close', (t) => fsc.sysClose(this.k, t, fd));
  }

  /** dup(2): a new descriptor (the lowest free) for the same open file, sharing its offset. Errors: EBADF, EMFILE. */
  dup(tid: number, fd: number): SysResult {
    return this.call(tid, 'dup', (t) => fsc.sysDup(t, fd));
  }

  /**
   * read(2) at the file offset, or pread64(2) at byte `pos`, of up to
   * `count` bytes through the page cache (with readahead), returning the
   * bytes rather than copying them to user memory (see readInto()). The
   * value is the number of bytes read (0 at end of file). Errors: EBADF (not
   * open for reading), EISDIR, EINVAL (negative count or pos), ENOMEM.
   */
  read(tid: number, fd: number, count: bigint, pos: bigint | null = null): SysResult & {
    /** The bytes read; empty on error. */
    data: Uint8Array;
  } {
    let data: Uint8Array = new Uint8Array(0);
    const r = this.call(tid, pos === null ? 'read' : 'pread64', (t) => {
      const x = fsc.fileRead(this.k, t, fd, count, pos);
      data = x.data;
      return x.ret;
    });
    return { ...r, data };
  }

  /**
   * read(2) (or pread64(2) at `pos`) into user memory at `buf`, copied page
   * by page through the MMU as copy_to_user() does: a fault in the buffer
   * stops the read there and the value is the bytes copied, EFAULT when none
   * were (or the buffer is not in user space). Other errors as read().
   */
  readInto(tid: number, fd: number, buf: bigint, count: bigint, pos: bigint | null = null): SysResult {
    return this.call(tid, 'read', (t) => {
      // ksys_pread64(): a negative position is EINVAL before the descriptor is looked up.
      if (pos !== null && BigInt.asIntN(64, u64(pos)) < 0n) return 'EINVAL';
      const file = t.process.files.get(fd);
      if (file === undefined || !(file.fMode & FMODE_READ)) return 'EBADF';
      // vfs_read(): access_ok() on the whole buffer before anything is read.
      if (!accessOk(t.mm, buf, count)) return 'EFAULT';
      if (file.inode.chr === 'zero') return this.readZeroInto(t, buf, count);
      // filemap_read(): page by page, each copied out before the next is read,
      // so a fault in the copy stops the read (and its readahead) there.
      const mmu = this.mmu(tid)!;
      const base = Number(u64(buf));
      return fsc.fileReadTo(this.k, t, fd, count, pos, (bytes, at) => mmu.copyToUser(base + at, bytes));
    });
  }

  /** read_iter_zero() into user memory: zeros until count or the first fault (EFAULT when none went). */
  private readZeroInto(t: Task, buf: bigint, count: bigint): number | ErrnoName {
    // The caller's access_ok() bounds buf + count by TASK_SIZE_MAX: no wrap, no negative count.
    const c = u64(count);
    const n = Number(c > 0x7ffff000n ? 0x7ffff000n : c);
    const a = u64(buf);
    if (n === 0) return 0;
    const mmu = this.mmu(t.tid)!;
    const chunk = new Uint8Array(Math.min(n, 1 << 16));
    let done = 0;
    while (done < n) {
      const part = chunk.subarray(0, Math.min(chunk.length, n - done));
      const got = mmu.copyToUser(Number(a) + done, part);
      done += got;
      if (got < part.length) break;
    }
    return done === 0 ? 'EFAULT' : done;
  }

  /**
   * write(2) at the file offset (O_APPEND: at the end), or pwrite64(2) at
   * byte `pos`, of `data` from outside the model (see writeFrom()), into the
   * page cache a folio at a time (generic_perform_write()); the pages are
   * dirty until writeback. The value is the bytes written. Errors: EBADF
   * (not open for writing), EINVAL, EFBIG (past the maximum file size),
   * ENOMEM.
   */
  write(tid: number, fd: number, data: Uint8Array, pos: bigint | null = null): SysResult {
    return this.call(tid, pos === null ? 'write' : 'pwrite64', (t) => fsc.fileWrite(this.k, t, fd, data, pos));
  }

  /**
   * write(2) (or pwrite64(2) at `pos`) of `count` bytes from user memory at
   * `buf`, read through the MMU with faults as the kernel takes them
   * (copy_from_user() with page faults disabled first, then faulting the
   * source in): a fault stops the write there, EFAULT when nothing was
   * written. Other errors as write().
   */
  writeFrom(tid: number, fd: number, buf: bigint, count: bigint, pos: bigint | null = null): SysResult {
    return this.call(tid, 'write', (t) => {
      // ksys_pwrite64(): a negative position is EINVAL before the descriptor is looked up.
      if (pos !== null && BigInt.asIntN(64, u64(pos)) < 0n) return 'EINVAL';
      const f = t.process.files.get(fd);
      if (f === undefined || !(f.fMode & FMODE_WRITE)) return 'EBADF';
      // vfs_write(): access_ok() on the whole buffer, even for /dev/null, which reads none of it.
      if (!accessOk(t.mm, buf, count)) return 'EFAULT';
      const n = Number(u64(count) > 0x7ffff000n ? 0x7ffff000n : u64(count));
      // write_null() (/dev/zero's too) takes the count without reading the buffer.
      if (f.inode.chr === 'zero' || f.inode.chr === 'null') return n;
      const a = Number(u64(buf));
      const mmu = this.mmu(tid)!;
      if (n > 0) {
        // A regular file: generic_perform_write(), copying with faults disabled first.
        const r = fsc.fileWriteFrom(this.k, t, fd, n, pos, {
          copyAtomic: (off, out) => mmu.copyFromUserAtomic(a + off, out),
          faultIn: (off, len) => mmu.faultInReadable(a + off, len),
        });
        if (r !== null) return r;
      }
      const bytes = new Uint8Array(n);
      const done = n === 0 ? 0 : mmu.copyFromUser(a, bytes);
      if (n > 0 && done === 0) return 'EFAULT';
      return fsc.fileWrite(this.k, t, fd, bytes.subarray(0, done), pos);
    });
  }

  /**
   * lseek(2): set the file offset to `offset` from uapi.SEEK_SET, SEEK_CUR or
   * SEEK_END, or find data or a hole (SEEK_DATA, SEEK_HOLE). The value is the
   * new offset. Errors: EBADF, EINVAL (bad whence, negative result), ENXIO
   * (SEEK_DATA/SEEK_HOLE at or past the end), ESPIPE.
   */
  lseek(tid: number, fd: number, offset: bigint, whence: number): SysResult {
    return this.call(tid, 'lseek', (t) => fsc.sysLseek(t, fd, offset, whence));
  }

  /**
   * ftruncate(2): set the file's size to `length` bytes. Shrinking drops the
   * page-cache pages past the end and unmaps them from every mapping
   * (truncate_pagecache()), so a later access there is SIGBUS; the partial
   * last page is zeroed past the end. Errors: EBADF, EINVAL (negative length,
   * not a regular file open for writing), EFBIG.
   */
  ftruncate(tid: number, fd: number, length: bigint): SysResult {
    return this.call(tid, 'ftruncate', (t) => fsc.sysFtruncate(this.k, t, fd, length));
  }

  /** fsync(2): write every dirty page-cache page of the file to the disk and wait; shared mappings' PTEs are write-protected (page_mkclean()). Errors: EBADF, EINVAL (a device or tty: no f_op->fsync); a directory is 0. */
  fsync(tid: number, fd: number): SysResult {
    return this.call(tid, 'fsync', (t) => fsc.sysFsync(this.k, t, fd));
  }

  /** fdatasync(2): as fsync() in the model (it keeps no metadata that would differ). Errors: EBADF, EINVAL. */
  fdatasync(tid: number, fd: number): SysResult {
    return this.call(tid, 'fdatasync', (t) => fsc.sysFsync(this.k, t, fd));
  }

  /**
   * unlink(2): remove the name `path` (relative to the working directory);
   * the file lives on while descriptors or mappings hold it. A backend's
   * file is only hidden from the model, never deleted. Errors: ENOENT,
   * EISDIR, ENOTDIR, ENAMETOOLONG, EACCES (a backend path escaping its root).
   */
  unlink(tid: number, path: string): SysResult {
    return this.call(tid, 'unlink', (t) => fsc.sysUnlinkat(this.k, t, -100, path));
  }

  /** fstat(2): the open file's status; `stat` is present on success. Errors: EBADF. */
  fstat(tid: number, fd: number): SysResult & {
    /** The file's status (absent on error). */
    stat?: FileStat;
  } {
    let stat: fsc.StatResult['stat'];
    const r = this.call(tid, 'fstat', (t) => {
      const s = fsc.sysFstat(this.k, t, fd);
      stat = s.stat;
      return s.ret;
    });
    return stat === undefined ? r : { ...r, stat };
  }

  /**
   * posix_fadvise(2) (fadvise64) with uapi.POSIX_FADV_*: readahead hints for
   * the open file (SEQUENTIAL, RANDOM, NORMAL), WILLNEED reads the range
   * into the page cache, DONTNEED drops its clean unmapped pages. Errors:
   * EBADF, EINVAL (bad advice or negative length), ESPIPE (not a regular file).
   */
  fadvise(tid: number, fd: number, offset: bigint, len: bigint, advice: number): SysResult {
    return this.call(tid, 'fadvise64', (t) => fsc.sysFadvise(this.k, t, fd, offset, len, advice));
  }

  /**
   * memfd_create(2): an anonymous shmem file with no name in the file
   * system (/proc/PID/maps shows it as "/memfd:NAME"); the value is its
   * descriptor. Errors: EINVAL (unknown flags, MFD_HUGETLB, a name over 249
   * bytes), EMFILE.
   */
  memfdCreate(tid: number, name: string, flags: number): SysResult {
    return this.call(tid, 'memfd_create', (t) => fsc.sysMemfdCreate(this.k, t, name, flags));
  }

  // --- memory access ---

  private access<T>(tid: number, fn: (m: Mmu, addr: number) => T, addr: bigint): AccessResult<T> {
    const mmu = this.mmu(tid);
    if (mmu === undefined) return { ok: false, fault: null, errno: 'ESRCH' };
    const a = u64(addr);
    if (a >= BigInt(mmu.task.mm.taskSize)) {
      // Past TASK_SIZE: bad_area_nosemaphore() without a VMA lookup.
      return { ok: false, fault: { signal: 'SIGSEGV', code: SEGV_MAPERR, addr: a } };
    }
    const v = fn(mmu, Number(a));
    this.check();
    const f = mmu.fault;
    return f === null ? { ok: true, value: v } : { ok: false, fault: { signal: f.signal, code: f.code, addr: BigInt(f.addr) } };
  }

  /**
   * A load of `size` bytes (little-endian, zero-extended) at `addr` by
   * thread `tid`, as the CPU does it: TLB, page walk (setting the accessed
   * bit), and on a miss the page-fault handler (do_user_addr_fault() ->
   * handle_mm_fault()), which may read the page from the disk. A fault the
   * kernel cannot resolve is the value's `fault`. An access crossing a page
   * boundary touches both pages. ESRCH for a tid that is not a live thread,
   * EINVAL for another size.
   */
  load(tid: number, addr: bigint, size: 1 | 2 | 4 | 8): AccessResult<bigint> {
    if (!validSize(size)) return { ok: false, fault: null, errno: 'EINVAL' };
    return this.access(tid, (m, a) => {
      switch (size) {
        case 1: return BigInt(m.load8(a));
        case 2: return BigInt(m.load16(a));
        case 4: return BigInt(m.load32(a));
        default: return m.load64(a);
      }
    }, addr);
  }

  /**
   * A store of the low `size` bytes of `value` (little-endian) at `addr`, as
   * load() but for writing: it sets the dirty bit, and may take a
   * copy-on-write or write-protect fault. ESRCH for a tid that is not a
   * live thread, EINVAL for another size or a value that is not a bigint.
   */
  store(tid: number, addr: bigint, size: 1 | 2 | 4 | 8, value: bigint): AccessResult<void> {
    if (!validSize(size) || typeof value !== 'bigint') return { ok: false, fault: null, errno: 'EINVAL' };
    return this.access(tid, (m, a) => {
      const v = BigInt.asUintN(64, value);
      switch (size) {
        case 1: m.store8(a, Number(v & 0xffn)); break;
        case 2: m.store16(a, Number(v & 0xffffn)); break;
        case 4: m.store32(a, Number(v & 0xffffffffn)); break;
        default: m.store64(a, v);
      }
    }, addr);
  }

  /**
   * A load of `len` bytes at `addr`, page by page as load() does; on a fault
   * nothing is returned. ESRCH for a tid that is not a live thread, EINVAL
   * for a len that is not an integer from 0 to MAX_ACCESS_BYTES.
   */
  loadBytes(tid: number, addr: bigint, len: number): AccessResult<Uint8Array> {
    if (!Number.isInteger(len) || len < 0 || len > MAX_ACCESS_BYTES) return { ok: false, fault: null, errno: 'EINVAL' };
    return this.access(tid, (m, a) => m.loadBytes(a, len) ?? new Uint8Array(0), addr);
  }

  /**
   * A store of `data` at `addr`, page by page as store() does; on a fault
   * the pages before the faulting one are written. ESRCH for a tid that is
   * not a live thread, EINVAL for data that is not a Uint8Array of at most
   * MAX_ACCESS_BYTES.
   */
  storeBytes(tid: number, addr: bigint, data: Uint8Array): AccessResult<void> {
    if (!(data instanceof Uint8Array) || data.length > MAX_ACCESS_BYTES) return { ok: false, fault: null, errno: 'EINVAL' };
    return this.access(tid, (m, a) => {
      m.storeBytes(a, data);
    }, addr);
  }

  // --- /proc ---

  /** /proc/PID/maps of a live process, byte for byte in Linux's format (show_map_vma()), or undefined. */
  maps(pid: number): string | undefined {
    const p = this.processes.get(pid);
    return p === undefined || p.exited ? undefined : renderMaps(this.k, p.mm);
  }

  /** /proc/PID/smaps: each VMA with its Rss, Pss, shared/private clean/dirty, Referenced, Anonymous, AnonHugePages, Locked and VmFlags (show_smap()), or undefined. */
  smaps(pid: number): string | undefined {
    const p = this.processes.get(pid);
    return p === undefined || p.exited ? undefined : renderSmaps(this.k, p.mm);
  }

  /** /proc/PID/smaps_rollup: smaps' counts summed over every VMA, or undefined. */
  smapsRollup(pid: number): string | undefined {
    const p = this.processes.get(pid);
    return p === undefined || p.exited ? undefined : renderSmapsRollup(this.k, p.mm);
  }

  /** The memory lines of /proc/PID/status (VmPeak ... VmSwap, task_mem()), or undefined. */
  status(pid: number): string | undefined {
    const p = this.processes.get(pid);
    return p === undefined || p.exited ? undefined : renderStatusMem(this.k, p.mm);
  }

  /** /proc/PID/statm: size, resident, shared, text, lib, data and dt in pages, or undefined. */
  statm(pid: number): string | undefined {
    const p = this.processes.get(pid);
    return p === undefined || p.exited ? undefined : renderStatm(this.k, p.mm);
  }

  /** /proc/meminfo: the lines the model keeps (MemTotal, MemFree, Cached, Dirty, Writeback, AnonPages, Shmem, PageTables, CommitLimit, Committed_AS, AnonHugePages), in kB. counters().memory has the same in pages. */
  meminfo(): string {
    return renderMeminfo(this.k);
  }

  /** /proc/vmstat: the lines the model counts (pgpgin, pgfault, pgmajfault, thp_*, nr_tlb_*...). counters().vmstat has them as numbers. */
  vmstat(): string {
    return renderVmstat(this.k);
  }

  /** /proc/diskstats: the simulated disk's requests, sectors and simulated milliseconds. */
  diskstats(): string {
    return renderDiskstats(this.k);
  }

  /** getrusage(RUSAGE_SELF) as thread `tid` would call it: the fault counts of its whole process, exited threads included; undefined for no such live thread. */
  rusage(tid: number): Rusage | undefined {
    return this.tasks.get(tid)?.process.rusage();
  }

  // --- read-only views (snapshots never change the model's state) ---

  /** The live process (thread-group) with this pid, or undefined. */
  private live(pid: number): Process | undefined {
    const p = this.processes.get(pid);
    return p === undefined || p.exited ? undefined : p;
  }

  /** The pids of the live processes, in the order they were created. */
  pids(): number[] {
    const out: number[] = [];
    for (const p of this.processes.values()) if (!p.exited) out.push(p.tgid);
    return out;
  }

  /** The thread ids of a live process (its first thread's id is the pid), or undefined for no such process. */
  threads(pid: number): number[] | undefined {
    return this.live(pid)?.threads.map((t) => t.tid);
  }

  /** getpid(2) as thread `tid` would see it: the id of its thread group (process), or undefined for no such live thread. */
  getpid(tid: number): number | undefined {
    return this.enter(tid)?.process.tgid;
  }

  /**
   * getppid(2) as thread `tid` would see it: the pid of the process that
   * fork()ed its process, or 0 for a process made by spawn() (its parent is
   * outside the model, as getppid() returns 0 for a parent in another pid
   * namespace); undefined for no such live thread. A child keeps the pid of
   * a parent that has exited (the model has no reparenting).
   */
  getppid(tid: number): number | undefined {
    const t = this.enter(tid);
    return t === undefined ? undefined : (t.process.parent?.tgid ?? 0);
  }

  /** The VMAs of a live process in address order (what /proc/PID/maps lists), or undefined. */
  vmas(pid: number): VmaSnapshot[] | undefined {
    const p = this.live(pid);
    return p === undefined ? undefined : snapshotVmas(p.mm);
  }

  /**
   * The page-table walk for `addr` in a live process, level by level, as
   * the MMU would walk it but without its side effects: no accessed or
   * dirty bit, no TLB fill, no fault. Undefined for no such process.
   */
  walk(pid: number, addr: bigint): PageWalk | undefined {
    const p = this.live(pid);
    return p === undefined ? undefined : walkAddress(this.k, p.mm, u64(addr));
  }

  /**
   * The present pages of a live process's page tables and the frames they
   * map, in address order (the present entries of /proc/PID/pagemap), or
   * undefined.
   */
  pagemap(pid: number): PageMapping[] | undefined {
    const p = this.live(pid);
    return p === undefined ? undefined : snapshotPagemap(p.mm);
  }

  /** The valid entries of a live process's TLB (shared by its threads), or undefined. */
  tlb(pid: number): TlbSnapshot[] | undefined {
    const p = this.live(pid);
    return p === undefined ? undefined : snapshotTlb(p.mm);
  }

  /** Every frame in use, and the zero page (frame 0), in frame order. */
  frames(): FrameSnapshot[] {
    return snapshotFrames(this.k);
  }

  /** One frame, free or in use; a pfn outside RAM reads as free. */
  frame(pfn: number): FrameSnapshot {
    return snapshotFrame(this.k, pfn);
  }

  /** The page cache of every file with cached pages or mappings, by inode: each page's frame and flags, and how many are uptodate and dirty. */
  pageCache(): PageCacheSnapshot[] {
    return snapshotPageCache(this.k);
  }

  /**
   * Every counter as a plain object: /proc/vmstat's events, /proc/meminfo's
   * totals (in pages), the simulated disk's statistics and, given the pid
   * of a live process, its getrusage() fault counts and memory sizes
   * (`process` is null otherwise).
   */
  counters(pid?: number): Counters {
    return snapshotCounters(this.k, pid === undefined ? null : (this.live(pid) ?? null));
  }

  /**
   * Put a file at `path` on the simulated disk as if it had been there all
   * along: not in the page cache, so the first access reads it from the
   * disk (a major fault). Directories above it are created. Meant for
   * setting up files before use: seeding a path that exists rewrites its
   * blocks and size but not pages already in the page cache.
   */
  seedFile(path: string, data: Uint8Array, mode = 0o644): void {
    this.k.vfs.seedFile(path, data, mode);
  }

  /**
   * Write a file's changes back to the file-system backend (the only way the
   * model writes to it): its dirty page-cache pages go to the simulated disk
   * first (as fsync() would), then every page changed since it was looked up
   * or last written back (punched pages as zeros) goes to the backend's
   * writePage(), then commit() sets the backend file's size. A file the model
   * created is written whole. The value is the number of pages handed over;
   * ENOENT for no such file in the model (an unlinked file is not deleted from
   * the backend), EACCES for a path outside the backend's mount, EROFS for a
   * backend without writePage(). Errors the backend throws propagate.
   */
  writeBack(path: string): SysResult {
    const vfs = this.k.vfs;
    const p = normalizePath(path);
    if (vfs.backend === null || vfs.backend.writePage === undefined) return { ok: false, errno: 'EROFS' };
    const bp = vfs.backendPath(p);
    if (bp === undefined) return { ok: false, errno: 'EACCES' };
    const found = vfs.materializeAll(p);
    if (found !== 0) return { ok: false, errno: found };
    const inode = vfs.files.get(p);
    if (inode === undefined || inode.blockdev === null) return { ok: false, errno: 'ENOENT' };
    filemapWriteAndWait(this.k, inode.mapping, 0, Number.MAX_SAFE_INTEGER);
    const n = inode.blockdev.writeBackTo(inode.ino, vfs.backend, bp, inode.size);
    this.check();
    return { ok: true, value: BigInt(n) };
  }
}
