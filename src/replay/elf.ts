/**
 * An ELF64 little-endian reader for what exec needs: e_type, e_entry and the
 * program headers, with PT_INTERP's path. Works on bytes (no I/O); returns
 * an error string rather than throwing on a malformed or foreign file.
 */
import { type ElfImage, type ElfPhdr, PT_INTERP } from '../kernel/exec.js';

export type ElfReadResult = { ok: true; image: ElfImage; machine: number } | { ok: false; error: string };

const ET_EXEC = 2;
const ET_DYN = 3;
/** e_machine values seen here. */
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;

/** Parses the ELF header and program headers of `bytes`; `path` becomes the image's path. */
export function readElf(bytes: Uint8Array, path: string): ElfReadResult {
  if (bytes.length < 64) return { ok: false, error: `${path}: too short for an ELF header` };
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) return { ok: false, error: `${path}: not an ELF file` };
  if (bytes[4] !== 2) return { ok: false, error: `${path}: not ELF64 (EI_CLASS ${bytes[4]})` };
  if (bytes[5] !== 1) return { ok: false, error: `${path}: not little-endian` };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (o: number): number => dv.getUint16(o, true);
  const u32 = (o: number): number => dv.getUint32(o, true);
  const u64 = (o: number): number => Number(dv.getBigUint64(o, true));
  const eType = u16(16);
  const machine = u16(18);
  if (eType !== ET_EXEC && eType !== ET_DYN) return { ok: false, error: `${path}: e_type ${eType} is neither ET_EXEC nor ET_DYN` };
  const entry = u64(24);
  const phoff = u64(32);
  const phentsize = u16(54);
  const phnum = u16(56);
  if (phentsize < 56) return { ok: false, error: `${path}: e_phentsize ${phentsize} too small` };
  if (phoff + phnum * phentsize > bytes.length) return { ok: false, error: `${path}: program headers past the end of the file` };
  const phdrs: ElfPhdr[] = [];
  let interp: string | null = null;
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    const p: ElfPhdr = {
      type: u32(o),
      flags: u32(o + 4),
      offset: u64(o + 8),
      vaddr: u64(o + 16),
      filesz: u64(o + 32),
      memsz: u64(o + 40),
      align: u64(o + 48),
    };
    phdrs.push(p);
    if (p.type === PT_INTERP && p.offset + p.filesz <= bytes.length && p.filesz > 0) {
      let end = p.offset + p.filesz;
      while (end > p.offset && bytes[end - 1] === 0) end--;
      interp = new TextDecoder().decode(bytes.subarray(p.offset, end));
    }
  }
  return { ok: true, machine, image: { path, type: eType === ET_EXEC ? 'exec' : 'dyn', entry, phdrs, interp } };
}
