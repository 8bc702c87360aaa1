/**
 * The new program's initial stack (fs/exec.c: copy_string_kernel(),
 * copy_strings(); fs/binfmt_elf.c: create_elf_tables()): the executable's
 * path, the environment and argument strings at the top of the stack, then
 * the platform string, the AT_RANDOM bytes, and below them argc, the argv
 * and envp pointer arrays and the auxiliary vector, with the stack pointer
 * left on argc. Written through the MMU, so the stack's pages fault in as
 * they do under copy_to_user().
 *
 * Deviation: no randomness (arch_align_stack() subtracts nothing, as with
 * ASLR off, and the 16 AT_RANDOM bytes are zeros); no credentials (AT_UID,
 * AT_EUID, AT_GID, AT_EGID are 0, AT_SECURE 0); no CPU features (AT_HWCAP
 * and AT_HWCAP2 are 0); AT_MINSIGSTKSZ is a constant per architecture.
 */
import type { Kernel } from './kernel.js';
import type { Mmu } from './arch/mmu.js';
import { type ElfImage, PT_LOAD } from './exec.js';
import { utf8Encode } from './utf8.js';

/** Auxiliary vector entry types (include/uapi/linux/auxvec.h). */
export const AT_NULL = 0;
export const AT_PHDR = 3;
export const AT_PHENT = 4;
export const AT_PHNUM = 5;
export const AT_PAGESZ = 6;
export const AT_BASE = 7;
export const AT_FLAGS = 8;
export const AT_ENTRY = 9;
export const AT_UID = 11;
export const AT_EUID = 12;
export const AT_GID = 13;
export const AT_EGID = 14;
export const AT_PLATFORM = 15;
export const AT_HWCAP = 16;
export const AT_CLKTCK = 17;
export const AT_SECURE = 23;
export const AT_RANDOM = 25;
export const AT_HWCAP2 = 26;
export const AT_RSEQ_FEATURE_SIZE = 27;
export const AT_RSEQ_ALIGN = 28;
export const AT_EXECFN = 31;
export const AT_SYSINFO_EHDR = 33;
export const AT_MINSIGSTKSZ = 51;

/** MAX_ARG_STRLEN: the longest argument or environment string (32 pages of 4 KiB). */
export const MAX_ARG_STRLEN = 32 * 4096;
/** ARG_MAX: the strings may always have 32 pages of 4 KiB, however small the stack rlimit. */
const ARG_MAX = 131072;
/** _STK_LIM: the stack rlimit's default, which bounds the strings to 3/4 of it. */
const STK_LIM = 8 * 1024 * 1024;
/** CLOCKS_PER_SEC (USER_HZ). */
const CLOCKS_PER_SEC = 100;
/** sizeof(struct elf64_phdr). */
const PHENT = 56;
/** offsetof(struct rseq, end) and __alignof__(struct rseq) (6.3+). */
const RSEQ_FEATURE_SIZE = 28;
const RSEQ_ALIGN = 32;

/** What the tables point at: the loaded images and where they went. */
export interface ElfTablesInput {
  exe: ElfImage;
  loadBias: number;
  interpBase: number | null;
  /** The [vdso] VMA's start, or 0. */
  vdso: number;
  /** The top of the [stack] VMA. */
  stackTop: number;
  execfn: string;
  argv: readonly string[];
  envp: readonly string[];
}

/** Where create_elf_tables() left things. */
export interface ElfTables {
  /** The initial stack pointer: the address of argc. */
  sp: number;
  /** The auxiliary vector as written, AT_NULL last. */
  auxv: [number, number][];
  /** mm->arg_start/arg_end and env_start/env_end: the strings' ranges. */
  argStart: number;
  argEnd: number;
  envStart: number;
  envEnd: number;
}

/** A string's UTF-8 bytes and its NUL, as the C string execve() copies. */
function utf8(str: string): Uint8Array {
  const b = utf8Encode(str);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** Round down to 16 bytes (the ABI's stack alignment) without 32-bit bitwise operators. */
const align16 = (x: number): number => Math.floor(x / 16) * 16;

/**
 * bprm_stack_limits() and copy_strings()' checks: E2BIG for a string longer
 * than MAX_ARG_STRLEN, or strings beyond the limit left after the pointers:
 * a quarter of RLIMIT_STACK, at most 3/4 of _STK_LIM, at least ARG_MAX
 * (32 pages). Null when they fit.
 */
export function argvTooBig(argv: readonly string[], envp: readonly string[], execfn: string, stackRlimit: number): 'E2BIG' | null {
  const strings = [execfn, ...envp, ...argv].map(utf8);
  if (strings.some((s) => s.length > MAX_ARG_STRLEN)) return 'E2BIG';
  const limit = Math.max(Math.min((STK_LIM / 4) * 3, stackRlimit / 4), ARG_MAX);
  const pointers = (Math.max(argv.length, 1) + envp.length) * 8;
  if (limit <= pointers) return 'E2BIG';
  return strings.reduce((n, s) => n + s.length, 0) > limit - pointers ? 'E2BIG' : null;
}

/** The bytes the strings take at the top of the stack, with the pointer's room above them (setup_arg_pages() keeps their pages). */
export function argStringsBytes(argv: readonly string[], envp: readonly string[], execfn: string): number {
  return 8 + [execfn, ...envp, ...argv].reduce((n, s) => n + utf8(s).length, 0);
}

/**
 * The program header table's address in memory (load_elf_binary(): the
 * PT_LOAD whose file range holds e_phoff), or 0 when none does.
 */
function phdrAddr(exe: ElfImage, loadBias: number): number {
  const phoff = exe.phoff ?? 64;
  for (const p of exe.phdrs) {
    if (p.type === PT_LOAD && p.offset <= phoff && phoff < p.offset + p.filesz) return phoff - p.offset + p.vaddr + loadBias;
  }
  return 0;
}

/**
 * copy_string_kernel(), copy_strings() and create_elf_tables(), written at
 * the top of the stack through `mmu`; null when a store faults.
 */
export function createElfTables(k: Kernel, mmu: Mmu, t: ElfTablesInput): ElfTables | null {
  const x86 = k.arch.pteFormat === 'x86';
  const write = (addr: number, bytes: Uint8Array): boolean => mmu.storeBytes(addr, bytes);
  const u64 = (v: number): Uint8Array => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    return b;
  };
  // __bprm_mm_init(): one pointer's room at the very top; then the strings, last first.
  let p = t.stackTop - 8;
  const push = (s: string): number => {
    const b = utf8(s);
    p -= b.length;
    return write(p, b) ? p : -1;
  };
  const execfn = push(t.execfn);
  for (let i = t.envp.length - 1; i >= 0; i--) if (push(t.envp[i]!) < 0) return null;
  for (let i = t.argv.length - 1; i >= 0; i--) if (push(t.argv[i]!) < 0) return null;
  if (execfn < 0) return null;
  const argStart = p;
  // create_elf_tables(): arch_align_stack() (without its random offset), the platform
  // string (ELF_PLATFORM), the random bytes.
  p = align16(p);
  const platform = x86 ? 'x86_64' : 'aarch64';
  const uPlatform = push(platform);
  if (uPlatform < 0) return null;
  p -= 16;
  const uRandom = p;
  if (!write(uRandom, new Uint8Array(16))) return null;
  const auxv: [number, number][] = [
    // ARCH_DLINFO: the vDSO and the signal frame's minimum size.
    [AT_SYSINFO_EHDR, t.vdso],
    // CPU-dependent (the signal frame holds the FPU state): this host's x86_64 value, and arm64 without SVE or SME.
    [AT_MINSIGSTKSZ, x86 ? 3632 : 4720],
    [AT_HWCAP, 0],
    [AT_PAGESZ, k.arch.pageSize],
    [AT_CLKTCK, CLOCKS_PER_SEC],
    [AT_PHDR, phdrAddr(t.exe, t.loadBias)],
    [AT_PHENT, PHENT],
    [AT_PHNUM, t.exe.phdrs.length],
    [AT_BASE, t.interpBase ?? 0],
    [AT_FLAGS, 0],
    [AT_ENTRY, t.exe.entry + t.loadBias],
    [AT_UID, 0],
    [AT_EUID, 0],
    [AT_GID, 0],
    [AT_EGID, 0],
    [AT_SECURE, 0],
    [AT_RANDOM, uRandom],
    [AT_HWCAP2, 0],
    [AT_EXECFN, execfn],
    [AT_PLATFORM, uPlatform],
    [AT_RSEQ_FEATURE_SIZE, RSEQ_FEATURE_SIZE],
    [AT_RSEQ_ALIGN, RSEQ_ALIGN],
    [AT_NULL, 0],
  ];
  // STACK_ADD() the auxv, then STACK_ROUND() for argc, argv[], NULL, envp[], NULL.
  const items = t.argv.length + 1 + (t.envp.length + 1) + 1;
  const sp = align16(p - auxv.length * 16 - items * 8);
  const words: number[] = [t.argv.length];
  let s = argStart;
  const lengths = (list: readonly string[]): void => {
    for (const a of list) {
      words.push(s);
      s += utf8(a).length;
    }
    words.push(0);
  };
  lengths(t.argv);
  const argEnd = s;
  lengths(t.envp);
  for (const [type, value] of auxv) words.push(type, value);
  const table = new Uint8Array(words.length * 8);
  words.forEach((w, i) => table.set(u64(w), i * 8));
  if (!write(sp, table)) return null;
  return { sp, auxv, argStart, argEnd, envStart: argEnd, envEnd: s };
}
