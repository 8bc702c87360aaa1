/**
 * Small ELF64 files for the model's execve(): a header, program headers and
 * a PT_INTERP string, the rest zeros. The model fuzzer seeds them; the
 * execve tests build their cases with it.
 */
import { EM_X86_64 } from '../kernel/binfmt-elf.js';
import { type ElfPhdr, PF_R, PT_INTERP } from '../kernel/exec.js';

export { EM_AARCH64, EM_X86_64 } from '../kernel/binfmt-elf.js';
export { PF_R, PF_W, PF_X, PT_INTERP, PT_LOAD } from '../kernel/exec.js';

/** One program header (p_paddr is p_vaddr, p_align 4 KiB). */
export type ElfSegment = Omit<ElfPhdr, 'align'>;

export interface ElfSpec {
  /** e_type: 2 (ET_EXEC) or 3 (ET_DYN). */
  type: number;
  /** e_machine (default EM_X86_64). */
  machine?: number;
  entry: number;
  segs: ElfSegment[];
  /** PT_INTERP's path, stored at offset 0x200 (a PT_INTERP header goes first). */
  interp?: string;
  /** The file's length in bytes. */
  size: number;
}

/** The bytes of an ELF64 little-endian file as `spec` describes it. */
export function buildElf(spec: ElfSpec): Uint8Array {
  const b = new Uint8Array(spec.size);
  const dv = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  dv.setUint16(16, spec.type, true);
  dv.setUint16(18, spec.machine ?? EM_X86_64, true);
  dv.setBigUint64(24, BigInt(spec.entry), true);
  dv.setBigUint64(32, 64n, true);
  dv.setUint16(52, 64, true);
  dv.setUint16(54, 56, true);
  const interp = spec.interp === undefined ? null : new TextEncoder().encode(spec.interp + '\0');
  const segs = interp === null ? spec.segs : [{ type: PT_INTERP, flags: PF_R, offset: 0x200, vaddr: 0x200, filesz: interp.length, memsz: interp.length }, ...spec.segs];
  dv.setUint16(56, segs.length, true);
  segs.forEach((s, i) => {
    const at = 64 + i * 56;
    dv.setUint32(at, s.type, true);
    dv.setUint32(at + 4, s.flags, true);
    dv.setBigUint64(at + 8, BigInt(s.offset), true);
    dv.setBigUint64(at + 16, BigInt(s.vaddr), true);
    dv.setBigUint64(at + 24, BigInt(s.vaddr), true);
    dv.setBigUint64(at + 32, BigInt(s.filesz), true);
    dv.setBigUint64(at + 40, BigInt(s.memsz), true);
    dv.setBigUint64(at + 48, 0x1000n, true);
  });
  if (interp !== null) b.set(interp, 0x200);
  return b;
}
