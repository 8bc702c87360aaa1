/**
 * What load_elf_binary() reads of an ELF file before the point of no return
 * (fs/binfmt_elf.c): the ELF header's checks, load_elf_phdrs() and the
 * PT_INTERP string, each failure with the errno Linux gives. The bytes come
 * from a reader, so the kernel reads through the page cache (kernel_read())
 * and replay reads the first bytes of a host file with the same code.
 */
import { type ElfImage, type ElfPhdr, PT_INTERP } from './exec.js';
import type { ErrnoName } from './uapi.js';
import { utf8Decode } from './utf8.js';

/** e_machine values (include/uapi/linux/elf-em.h). */
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;
const ET_EXEC = 2;
const ET_DYN = 3;
/** sizeof(struct elf64_hdr) and sizeof(struct elf64_phdr). */
const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
/** load_elf_phdrs() refuses a program header table larger than this. */
const ELF_MIN_ALIGN_PHDRS_MAX = 65536;
/** PATH_MAX: the longest PT_INTERP string load_elf_binary() accepts. */
const PATH_MAX = 4096;

/** Reads up to `len` bytes at `pos` (fewer at the end of the file), or the errno of the read. */
export type ElfReader = (pos: number, len: number) => Uint8Array | ErrnoName;

export type ElfHeaders =
  | { ok: true; image: ElfImage; machine: number }
  | { ok: false; errno: ErrnoName; reason: string };

/**
 * The header checks of load_elf_binary() (or, with `interp`, of its
 * interpreter, which has no e_type check: load_elf_interp() maps anything
 * but ET_DYN at its link addresses), load_elf_phdrs(), and the PT_INTERP
 * string. ENOEXEC for a file that is not a 64-bit little-endian ELF
 * executable, EIO where a read comes up short. e_machine is returned for
 * the caller's elf_check_arch().
 */
export function elfReadHeaders(read: ElfReader, path: string, interp = false): ElfHeaders {
  const fail = (errno: ErrnoName, why: string): ElfHeaders => ({ ok: false, errno, reason: `${path}: ${why}` });
  // A short file leaves bprm->buf zero-filled, so the magic check fails.
  const eh = read(0, EHDR_SIZE);
  if (typeof eh === 'string') return fail(eh, 'the ELF header could not be read');
  if (eh.length < EHDR_SIZE) return fail('ENOEXEC', 'too short for an ELF header');
  if (eh[0] !== 0x7f || eh[1] !== 0x45 || eh[2] !== 0x4c || eh[3] !== 0x46) return fail('ENOEXEC', 'not an ELF file');
  // Deviation: a 32-bit ELF file is ENOEXEC here; an x86_64 kernel with IA32 emulation runs it through compat_binfmt_elf.
  if (eh[4] !== 2) return fail('ENOEXEC', `not ELF64 (EI_CLASS ${eh[4]})`);
  if (eh[5] !== 1) return fail('ENOEXEC', 'not little-endian');
  const dv = new DataView(eh.buffer, eh.byteOffset, eh.byteLength);
  const eType = dv.getUint16(16, true);
  const machine = dv.getUint16(18, true);
  if (!interp && eType !== ET_EXEC && eType !== ET_DYN) return fail('ENOEXEC', `e_type ${eType} is neither ET_EXEC nor ET_DYN`);
  const entry = Number(dv.getBigUint64(24, true));
  const phoff = Number(dv.getBigUint64(32, true));
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  if (phentsize !== PHDR_SIZE) return fail('ENOEXEC', `e_phentsize ${phentsize} is not ${PHDR_SIZE}`);
  const size = phnum * PHDR_SIZE;
  if (size === 0 || size > ELF_MIN_ALIGN_PHDRS_MAX) return fail('ENOEXEC', `${phnum} program headers`);
  const table = read(phoff, size);
  if (typeof table === 'string') return fail(table, 'the program headers could not be read');
  if (table.length < size) return fail('EIO', 'program headers past the end of the file');
  const pv = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const u64 = (o: number): number => Number(pv.getBigUint64(o, true));
  const phdrs: ElfPhdr[] = [];
  let interpPath: string | null = null;
  for (let i = 0; i < phnum; i++) {
    const o = i * PHDR_SIZE;
    const p: ElfPhdr = {
      type: pv.getUint32(o, true),
      flags: pv.getUint32(o + 4, true),
      offset: u64(o + 8),
      vaddr: u64(o + 16),
      filesz: u64(o + 32),
      memsz: u64(o + 40),
      align: u64(o + 48),
    };
    phdrs.push(p);
    // The first PT_INTERP is the one used (the loop breaks there); the interpreter's own is ignored.
    if (p.type !== PT_INTERP || interp || interpPath !== null) continue;
    if (p.filesz > PATH_MAX || p.filesz < 2) return fail('ENOEXEC', `PT_INTERP of ${p.filesz} bytes`);
    const s = read(p.offset, p.filesz);
    if (typeof s === 'string') return fail(s, 'PT_INTERP could not be read');
    if (s.length < p.filesz) return fail('EIO', 'PT_INTERP past the end of the file');
    if (s[s.length - 1] !== 0) return fail('ENOEXEC', 'PT_INTERP is not NUL-terminated');
    interpPath = utf8Decode(s.subarray(0, s.indexOf(0)));
  }
  return { ok: true, machine, image: { path, type: eType === ET_DYN ? 'dyn' : 'exec', entry, phdrs, interp: interpPath, phoff } };
}

/** A reader over bytes already in memory (the first bytes of a file). */
export function bytesReader(bytes: Uint8Array): ElfReader {
  return (pos, len) => bytes.subarray(Math.min(pos, bytes.length), Math.min(pos + len, bytes.length));
}
