import { describe, expect, it } from 'vitest';
import { PT_GNU_RELRO, PT_INTERP, PT_LOAD } from '../kernel/exec.js';
import { readElf } from './elf.js';

/** A minimal ELF64 image: header, program headers and an interpreter string. */
function elf(type: number, phdrs: [number, number, number, number, number, number, number][], interp?: string): Uint8Array {
  const b = new Uint8Array(1024);
  const dv = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  dv.setUint16(16, type, true);
  dv.setUint16(18, 62, true);
  dv.setBigUint64(24, 0x1150n, true);
  dv.setBigUint64(32, 64n, true);
  dv.setUint16(54, 56, true);
  dv.setUint16(56, phdrs.length, true);
  phdrs.forEach(([t, f, off, va, fsz, msz, al], i) => {
    const o = 64 + i * 56;
    dv.setUint32(o, t, true);
    dv.setUint32(o + 4, f, true);
    dv.setBigUint64(o + 8, BigInt(off), true);
    dv.setBigUint64(o + 16, BigInt(va), true);
    dv.setBigUint64(o + 24, BigInt(va), true);
    dv.setBigUint64(o + 32, BigInt(fsz), true);
    dv.setBigUint64(o + 40, BigInt(msz), true);
    dv.setBigUint64(o + 48, BigInt(al), true);
    if (t === PT_INTERP && interp !== undefined) b.set(new TextEncoder().encode(interp + '\0'), off);
  });
  return b;
}

describe('readElf', () => {
  it('reads e_type, e_entry, the program headers and PT_INTERP', () => {
    const r = readElf(elf(3, [[PT_INTERP, 4, 0x318, 0x318, 0x1c, 0x1c, 1], [PT_LOAD, 4, 0, 0, 0x9a8, 0x9a8, 0x1000], [PT_LOAD, 6, 0x2dd0, 0x3dd0, 0x2c8, 0x2d0, 0x1000], [PT_GNU_RELRO, 4, 0x2dd0, 0x3dd0, 0x230, 0x230, 1]], '/lib64/ld-linux-x86-64.so.2'), '/bin/x');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.machine).toBe(62);
    expect(r.image.type).toBe('dyn');
    expect(r.image.entry).toBe(0x1150);
    expect(r.image.interp).toBe('/lib64/ld-linux-x86-64.so.2');
    expect(r.image.phdrs[2]).toEqual({ type: PT_LOAD, flags: 6, offset: 0x2dd0, vaddr: 0x3dd0, filesz: 0x2c8, memsz: 0x2d0, align: 0x1000 });
  });

  it('refuses what is not a 64-bit little-endian executable, with a reason', () => {
    expect(readElf(new Uint8Array(10), 'a')).toEqual({ ok: false, error: 'a: too short for an ELF header' });
    expect(readElf(new Uint8Array(64), 'a')).toEqual({ ok: false, error: 'a: not an ELF file' });
    const b = elf(1, []);
    expect(readElf(b, 'a')).toEqual({ ok: false, error: 'a: e_type 1 is neither ET_EXEC nor ET_DYN' });
    const c = elf(3, [[PT_LOAD, 4, 0, 0, 1, 1, 0x1000]]);
    new DataView(c.buffer).setUint16(56, 500, true);
    expect(readElf(c, 'a').ok).toBe(false);
  });
});
