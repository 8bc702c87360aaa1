/**
 * execve()'s new address space (fs/binfmt_elf.c:load_elf_binary(),
 * elf_load(), elf_map(), load_elf_interp(), total_mapping_size(), and
 * fs/exec.c:setup_arg_pages()), built with the model's own mmap, munmap and
 * brk-style anonymous mappings.
 *
 * The ELF file is not read here: the caller parses the program headers (the
 * model uses no Node APIs) and names the binary and interpreter by their
 * paths in the model's file system, where they must exist. The bases that
 * ASLR would randomise (load bias, interpreter base, stack top, brk) are
 * arguments; absent ones take the non-randomised values (`setarch -R`).
 */
import type { Kernel } from './kernel.js';
import { doUserAddrFault } from './arch/mmu.js';
import { File, FMODE_READ } from './fs/file.js';
import { normalizePath } from './fs/vfs.js';
import { type KRet, isErr, mmapMinAddr, sysMmap, sysMunmap } from './mm/mmap.js';
import { MmStruct } from './mm/mm-struct.js';
import { Vma } from './mm/vma.js';
import { vmaLink } from './mm/vma-ops.js';
import { VM_ACCOUNT, VM_GROWSDOWN, VM_STACK_DEFAULT_FLAGS } from './mm/vm-flags.js';
import type { Task } from './sched.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE, type ErrnoName } from './uapi.js';

/** p_type values (include/uapi/linux/elf.h). */
export const PT_LOAD = 1;
export const PT_INTERP = 3;
export const PT_GNU_STACK = 0x6474e551;
export const PT_GNU_RELRO = 0x6474e552;
/** p_flags bits. */
export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

/** One program header (struct elf64_phdr), numbers rather than bigints: user addresses fit in 2^53. */
export interface ElfPhdr {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

/** What load_elf_binary() needs from an ELF file. */
export interface ElfImage {
  /** The path in the model's file system (the name /proc/PID/maps shows). */
  path: string;
  /** e_type: ET_EXEC (2) is loaded at its link addresses, ET_DYN (3) at a bias. */
  type: 'exec' | 'dyn';
  entry: number;
  phdrs: ElfPhdr[];
  /** PT_INTERP's path, if any. */
  interp: string | null;
  /** e_phoff, where the program headers are in the file (for AT_PHDR), when known. */
  phoff?: number;
}

/** A special mapping installed by arch_setup_additional_pages() ([vvar], [vdso]...). */
export interface SpecialMapping {
  name: string;
  pages: number;
  flags: number;
}

/** The randomised bases; any left out take the value the kernel uses without ASLR. */
export interface ExecBases {
  /** Where an ET_DYN executable's first PT_LOAD page goes, load_bias plus that page's vaddr (default ELF_ET_DYN_BASE). */
  loadBias?: number;
  /** Where the interpreter's first PT_LOAD page goes (default: top-down from mmap_base). */
  interpBase?: number;
  /** mm->mmap_base (default: the caller's non-randomised value). */
  mmapBase?: number;
  /** The [stack] VMA's end (default STACK_TOP). */
  stackTop?: number;
  /** The [stack] VMA's size in bytes (default 128 KiB plus one page of arguments). */
  stackSize?: number;
  /** Where the [vvar]... special mappings start (default: top-down, below the interpreter). */
  specialsBase?: number;
  /** mm->start_brk and mm->brk (default: the page after the end of the executable's bss). */
  brk?: number;
}

export interface ExecRequest {
  exe: ElfImage;
  interp: ElfImage | null;
  bases: ExecBases;
  specials: SpecialMapping[];
  /** mmap_base when bases.mmapBase is absent. */
  defaultMmapBase: number;
  /**
   * Build everything but the executable's own mappings (its file is not
   * available, as when a log is replayed on another machine); exe.phdrs is
   * then ignored. Not something Linux does.
   */
  withoutExecutable?: boolean;
}

export interface ExecLayout {
  loadBias: number;
  interpBase: number | null;
  entry: number;
}

export type ExecResult =
  | { ok: true; layout: ExecLayout }
  | { ok: false; errno: ErrnoName; reason: string };

/** The protection a segment asks for (make_prot()). */
function makeProt(pFlags: number): number {
  let prot = 0;
  if (pFlags & PF_R) prot |= PROT_READ;
  if (pFlags & PF_W) prot |= PROT_WRITE;
  if (pFlags & PF_X) prot |= PROT_EXEC;
  return prot;
}

/** total_mapping_size(): from the first PT_LOAD's page to the end of the last one's memory. */
export function totalMappingSize(phdrs: readonly ElfPhdr[], ps: number): number {
  const loads = phdrs.filter((p) => p.type === PT_LOAD);
  if (loads.length === 0) return 0;
  const first = loads[0]!;
  const last = loads[loads.length - 1]!;
  return last.vaddr + last.memsz - Math.floor(first.vaddr / ps) * ps;
}

/**
 * maximum_alignment(): the largest p_align of the PT_LOADs that is a power of two,
 * rounded up to a page (ELF_PAGEALIGN()); 0 when none is.
 */
export function maximumAlignment(phdrs: readonly ElfPhdr[], ps: number): number {
  let alignment = 0;
  for (const p of phdrs) {
    if (p.type !== PT_LOAD || !(p.align > 0) || !Number.isInteger(Math.log2(p.align))) continue;
    alignment = Math.max(alignment, p.align);
  }
  return Math.ceil(alignment / ps) * ps;
}

/** The first PT_LOAD's page-aligned vaddr: what a load bias is added to. */
export function firstLoadPage(phdrs: readonly ElfPhdr[], ps: number): number {
  const first = phdrs.find((p) => p.type === PT_LOAD);
  return first === undefined ? 0 : Math.floor(first.vaddr / ps) * ps;
}

class Loader {
  private readonly ps: number;
  constructor(
    private readonly k: Kernel,
    private readonly task: Task,
  ) {
    this.ps = k.arch.pageSize;
  }

  private pageStart(x: number): number {
    return Math.floor(x / this.ps) * this.ps;
  }

  private pageAlign(x: number): number {
    return Math.ceil(x / this.ps) * this.ps;
  }

  /** vm_mmap() of the file with a descriptor held only for the call, as exec holds bprm->file. */
  private mmapFile(file: File, addr: number, len: number, prot: number, flags: number, off: number): KRet {
    const files = this.task.process.files;
    const fd = files.lowestFree();
    if (fd < 0) return 'EMFILE';
    files.fds[fd] = { file, cloexec: true };
    file.refs++;
    file.inode.refs++;
    try {
      return sysMmap(this.k, this.task, BigInt(addr), BigInt(len), BigInt(prot), BigInt(flags), BigInt(fd), BigInt(off));
    } finally {
      files.fds[fd] = undefined;
      file.refs--;
      file.inode.refs--;
    }
  }

  /** elf_map(): map one segment's file part; with totalSize, reserve the whole image first and trim it. */
  elfMap(file: File, addr: number, p: ElfPhdr, prot: number, flags: number, totalSize: number): KRet {
    const pageOff = p.vaddr % this.ps;
    let size = p.filesz + pageOff;
    const off = p.offset - pageOff;
    addr = this.pageStart(addr);
    size = this.pageAlign(size);
    if (size === 0) return addr;
    if (off < 0) return 'EINVAL';
    if (totalSize !== 0) {
      const total = this.pageAlign(totalSize);
      const at = this.mmapFile(file, addr, total, prot, flags, off);
      if (!isErr(at) && total > size) sysMunmap(this.k, this.task, BigInt(at + size), BigInt(total - size));
      return at;
    }
    return this.mmapFile(file, addr, size, prot, flags, off);
  }

  /** elf_load(): the file part, zeroing the tail of its last page, then anonymous pages for the rest of p_memsz. */
  elfLoad(file: File, addr: number, p: ElfPhdr, prot: number, flags: number, totalSize: number): KRet {
    const pageOff = p.vaddr % this.ps;
    let mapAddr: KRet;
    let zeroStart: number;
    let zeroEnd: number;
    if (p.filesz > 0) {
      mapAddr = this.elfMap(file, addr, p, prot, flags, totalSize);
      if (isErr(mapAddr)) return mapAddr;
      zeroStart = mapAddr + pageOff + p.filesz;
      zeroEnd = mapAddr + pageOff + p.memsz;
      // padzero(): clear_user() of the rest of the page faults it in for writing.
      if (p.memsz > p.filesz && zeroStart % this.ps !== 0 && prot & PROT_WRITE) {
        if (doUserAddrFault(this.k, this.task, zeroStart, true, false) !== null) return 'EFAULT';
      }
    } else {
      mapAddr = zeroStart = this.pageStart(addr);
      zeroEnd = zeroStart + pageOff + p.memsz;
    }
    if (p.memsz > p.filesz) {
      // vm_brk_flags(): anonymous read-write memory (executable if the segment is).
      zeroStart = this.pageAlign(zeroStart);
      zeroEnd = this.pageAlign(zeroEnd);
      if (zeroEnd > zeroStart) {
        const anonProt = PROT_READ | PROT_WRITE | (prot & PROT_EXEC);
        const r = sysMmap(this.k, this.task, BigInt(zeroStart), BigInt(zeroEnd - zeroStart), BigInt(anonProt), BigInt(MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS), -1n, 0n);
        if (isErr(r)) return r;
      }
    }
    return mapAddr;
  }
}

function openImage(k: Kernel, img: ElfImage): File | null {
  const path = normalizePath(img.path);
  const inode = k.vfs.files.get(path);
  if (inode === undefined) return null;
  return new File(inode, FMODE_READ, 0, path, 0);
}

/**
 * Builds a fresh address space for `task`'s process from the executable and
 * its interpreter: the caller has already replaced the process's mm with an
 * empty one (exec_mmap()). Returns the bases used, or the errno execve would
 * fail with and why (a segment whose offset and address disagree modulo the
 * page size gets EINVAL from elf_map(), as on a 16 KiB-page kernel running
 * a binary linked for 4 KiB pages).
 */
export function loadElfBinary(k: Kernel, task: Task, req: ExecRequest): ExecResult {
  const mm: MmStruct = task.mm;
  const ps = k.arch.pageSize;
  const ld = new Loader(k, task);
  const exe = req.exe;
  const partial = req.withoutExecutable === true;
  const exeFile = partial ? null : openImage(k, exe);
  if (exeFile === null && !partial) return { ok: false, errno: 'ENOENT', reason: `${exe.path} is not in the model's file system` };
  mm.mmapBase = req.bases.mmapBase ?? req.defaultMmapBase;

  // setup_arg_pages(): the stack VMA, 128 KiB beyond the arguments.
  const stackTop = req.bases.stackTop ?? k.arch.stackTop;
  const stackSize = req.bases.stackSize ?? 128 * 1024 + ps;
  const stack = new Vma(stackTop - stackSize, stackTop, VM_STACK_DEFAULT_FLAGS | VM_GROWSDOWN | VM_ACCOUNT, (stackTop - stackSize) / ps, null, null);
  vmaLink(mm, stack);
  k.committedPages += stackSize / ps;
  mm.startStack = stackTop - ps;

  // The executable's PT_LOAD segments.
  const loads = partial ? [] : exe.phdrs.filter((p) => p.type === PT_LOAD);
  if (loads.length === 0 && !partial) return { ok: false, errno: 'ENOEXEC', reason: `${exe.path} has no PT_LOAD segment` };
  let loadBias = 0;
  let totalSize = 0;
  let flagsFirst = MAP_PRIVATE | MAP_FIXED;
  if (exe.type === 'dyn') {
    // load_elf_binary(): ELF_ET_DYN_BASE, rounded down to maximum_alignment() of the PT_LOADs
    // (0xaaaaaaaa0000 on arm64-4k for a binary linked with 64 KiB p_align).
    const alignment = maximumAlignment(exe.phdrs, ps);
    const base = req.bases.loadBias ?? (alignment > 0 ? Math.floor(k.arch.elfEtDynBase / alignment) * alignment : k.arch.elfEtDynBase);
    loadBias = base - firstLoadPage(exe.phdrs, ps);
    totalSize = totalMappingSize(exe.phdrs, ps);
    flagsFirst = MAP_PRIVATE | MAP_FIXED_NOREPLACE;
  } else {
    flagsFirst = MAP_PRIVATE | MAP_FIXED_NOREPLACE;
  }
  let startCode = Infinity;
  let endCode = 0;
  let startData = 0;
  let endData = 0;
  let elfBrk = 0;
  let first = true;
  for (const p of loads) {
    const prot = makeProt(p.flags);
    if ((p.offset - p.vaddr) % ps !== 0) {
      return { ok: false, errno: 'EINVAL', reason: `${exe.path}: PT_LOAD at vaddr 0x${p.vaddr.toString(16)} has file offset 0x${p.offset.toString(16)}, not congruent modulo the ${ps / 1024} KiB page size (p_align 0x${p.align.toString(16)}); elf_map() fails` };
    }
    const r = ld.elfLoad(exeFile!, loadBias + p.vaddr, p, prot, first ? flagsFirst : MAP_PRIVATE | MAP_FIXED, first ? totalSize : 0);
    if (isErr(r)) return { ok: false, errno: r, reason: `${exe.path}: mapping PT_LOAD at vaddr 0x${p.vaddr.toString(16)} failed with ${r}` };
    first = false;
    if (p.flags & PF_X && p.vaddr < startCode) startCode = p.vaddr;
    if (p.vaddr > startData) startData = p.vaddr;
    const fileEnd = p.vaddr + p.filesz;
    if (p.flags & PF_X && fileEnd > endCode) endCode = fileEnd;
    if (fileEnd > endData) endData = fileEnd;
    if (p.vaddr + p.memsz > elfBrk) elfBrk = p.vaddr + p.memsz;
  }
  if (startCode === Infinity) startCode = 0;
  mm.startCode = startCode + loadBias;
  mm.endCode = endCode + loadBias;
  mm.startData = startData + loadBias;
  mm.endData = endData + loadBias;

  // load_elf_interp(): the interpreter, top-down from mmap_base unless its base is known.
  let interpBase: number | null = null;
  let entry = exe.entry + loadBias;
  const interp = req.interp;
  if (interp !== null) {
    const interpFile = openImage(k, interp);
    if (interpFile === null) return { ok: false, errno: 'ENOENT', reason: `interpreter ${interp.path} is not in the model's file system` };
    const iloads = interp.phdrs.filter((p) => p.type === PT_LOAD);
    if (iloads.length === 0) return { ok: false, errno: 'ENOEXEC', reason: `${interp.path} has no PT_LOAD segment` };
    const total = totalMappingSize(interp.phdrs, ps);
    const firstPage = firstLoadPage(interp.phdrs, ps);
    let bias = interp.type === 'dyn' && req.bases.interpBase !== undefined ? req.bases.interpBase - firstPage : 0;
    let fixed = interp.type === 'exec' || req.bases.interpBase !== undefined;
    let ifirst = true;
    for (const p of iloads) {
      if ((p.offset - p.vaddr) % ps !== 0) {
        return { ok: false, errno: 'EINVAL', reason: `${interp.path}: PT_LOAD at vaddr 0x${p.vaddr.toString(16)} has file offset 0x${p.offset.toString(16)}, not congruent modulo the ${ps / 1024} KiB page size; elf_map() fails` };
      }
      const flags = MAP_PRIVATE | (fixed ? MAP_FIXED : 0);
      const r = ld.elfLoad(interpFile, bias + p.vaddr, p, makeProt(p.flags), flags, ifirst ? total : 0);
      if (isErr(r)) return { ok: false, errno: r, reason: `${interp.path}: mapping PT_LOAD at vaddr 0x${p.vaddr.toString(16)} failed with ${r}` };
      if (ifirst && !fixed) {
        // The kernel chose the address: every later segment goes at the same bias.
        bias = r - firstPage;
        fixed = true;
      }
      ifirst = false;
    }
    interpBase = bias + firstPage;
    entry = interp.entry + bias;
  }

  // arch_setup_additional_pages(): [vvar], [vvar_vclock], [vdso], top-down below what is mapped.
  const specialsLen = req.specials.reduce((n, s) => n + s.pages, 0) * ps;
  if (specialsLen > 0) {
    let at = req.bases.specialsBase ?? -1;
    if (at < 0) {
      const gapEnd = mm.vmas.highestGap(mmapMinAddr(k), mm.mmapBase, specialsLen);
      at = gapEnd < 0 ? -1 : gapEnd - specialsLen;
    }
    if (at < 0) return { ok: false, errno: 'ENOMEM', reason: 'no room for the vDSO' };
    for (const s of req.specials) {
      const v = new Vma(at, at + s.pages * ps, s.flags, 0, null, null);
      v.specialName = s.name;
      vmaLink(mm, v);
      at += s.pages * ps;
    }
  }

  // The break: after the executable's bss, or where ASLR put it.
  mm.startBrk = mm.brk = req.bases.brk ?? Math.ceil((elfBrk + loadBias) / ps) * ps;
  const totalVm = mm.vmas.totalSize / ps;
  if (totalVm > mm.hiwaterVm) mm.hiwaterVm = totalVm;
  return { ok: true, layout: { loadBias, interpBase, entry } };
}
