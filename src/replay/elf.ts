/**
 * The ELF headers of a host file's first bytes, for replay: the kernel's own
 * reader (src/kernel/binfmt-elf.ts) over bytes in memory, its refusal as a
 * message. Works on bytes (no I/O).
 */
import { bytesReader, elfReadHeaders } from '../kernel/binfmt-elf.js';
import type { ElfImage } from '../kernel/exec.js';

export type ElfReadResult = { ok: true; image: ElfImage; machine: number } | { ok: false; error: string };

/** Parses the ELF header and program headers of `bytes`; `path` becomes the image's path. */
export function readElf(bytes: Uint8Array, path: string): ElfReadResult {
  const r = elfReadHeaders(bytesReader(bytes), path);
  return r.ok ? r : { ok: false, error: r.reason };
}
