/**
 * Machine.execve (src/kernel/exec.ts): the address space load_elf_binary()
 * builds, drawn as /proc/PID/maps.
 */
import { describe, expect, it } from 'vitest';
import { type ElfImage, PF_R, PF_W, PF_X, PT_GNU_RELRO, PT_LOAD } from '../kernel/exec.js';
import { Machine } from '../kernel/machine.js';

const load = (flags: number, offset: number, vaddr: number, filesz: number, memsz: number) => ({ type: PT_LOAD, flags, offset, vaddr, filesz, memsz, align: 0x1000 });

/** A PIE whose data segment has three pages of bss past its file part. */
const exe: ElfImage = {
  path: '/bin/prog', type: 'dyn', entry: 0x1150, interp: '/lib/ld.so',
  phdrs: [
    load(PF_R, 0, 0, 0x9a8, 0x9a8),
    load(PF_R | PF_X, 0x1000, 0x1000, 0x565, 0x565),
    load(PF_R | PF_W, 0x1dd0, 0x2dd0, 0x2c8, 0x32d0),
    { type: PT_GNU_RELRO, flags: PF_R, offset: 0x1dd0, vaddr: 0x2dd0, filesz: 0x230, memsz: 0x230, align: 1 },
  ],
};
const ld: ElfImage = {
  path: '/lib/ld.so', type: 'dyn', entry: 0x1ab70, interp: null,
  phdrs: [load(PF_R, 0, 0, 0xd58, 0xd58), load(PF_R | PF_X, 0x1000, 0x1000, 0x25111, 0x25111), load(PF_R, 0x27000, 0x27000, 0x9c7c, 0x9c7c), load(PF_R | PF_W, 0x31900, 0x31900, 0x2810, 0x29d8)],
};

function machine(arch: 'x86_64' | 'arm64-16k' = 'x86_64'): { m: Machine; pid: number } {
  const m = new Machine({ arch, paranoid: true });
  m.seedFile('/bin/prog', new Uint8Array(0x3000));
  m.seedFile('/lib/ld.so', new Uint8Array(0x34110));
  return { m, pid: m.spawn() };
}

describe('Machine.execve', () => {
  it('maps the executable, its bss, the interpreter, the vDSO and the stack as load_elf_binary does', () => {
    const { m, pid } = machine();
    const r = m.execImages(pid, exe, ld, { loadBias: 0x555555554000, interpBase: 0x7ffff7fc3000, mmapBase: 0x7ffff7ff8000, brk: 0x55555555d000 });
    expect(r).toEqual({ ok: true, layout: { loadBias: 0x555555554000, interpBase: 0x7ffff7fc3000, entry: 0x7ffff7fc3000 + 0x1ab70 } });
    const ino = (p: string): number => m.k.vfs.files.get(p)!.ino;
    const pad = (s: string): string => s.padEnd(73) + '';
    expect(m.maps(pid)).toBe([
      pad(`555555554000-555555555000 r--p 00000000 fe:00 ${ino('/bin/prog')}`) + '/bin/prog',
      pad(`555555555000-555555556000 r-xp 00001000 fe:00 ${ino('/bin/prog')}`) + '/bin/prog',
      // The data segment: its file part (from the page holding vaddr 0x2dd0), then anonymous bss pages.
      pad(`555555556000-555555558000 rw-p 00001000 fe:00 ${ino('/bin/prog')}`) + '/bin/prog',
      '555555558000-55555555b000 rw-p 00000000 00:00 0 ',
      pad(`7ffff7fbb000-7ffff7fbf000 r--p 00000000 00:00 0`) + '[vvar]',
      pad(`7ffff7fbf000-7ffff7fc1000 r--p 00000000 00:00 0`) + '[vvar_vclock]',
      pad(`7ffff7fc1000-7ffff7fc3000 r-xp 00000000 00:00 0`) + '[vdso]',
      pad(`7ffff7fc3000-7ffff7fc4000 r--p 00000000 fe:00 ${ino('/lib/ld.so')}`) + '/lib/ld.so',
      pad(`7ffff7fc4000-7ffff7fea000 r-xp 00001000 fe:00 ${ino('/lib/ld.so')}`) + '/lib/ld.so',
      pad(`7ffff7fea000-7ffff7ff4000 r--p 00027000 fe:00 ${ino('/lib/ld.so')}`) + '/lib/ld.so',
      pad(`7ffff7ff4000-7ffff7ff8000 rw-p 00031000 fe:00 ${ino('/lib/ld.so')}`) + '/lib/ld.so',
      pad('7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0') + '[stack]',
      'ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]',
      '',
    ].join('\n'));
    // The [vvar]... mappings went top-down, right below the interpreter.
    const mm = m.process(pid)!.mm;
    expect([mm.startCode, mm.endCode, mm.startData, mm.endData]).toEqual([0x555555555000, 0x555555555565, 0x555555556dd0, 0x555555557098]);
    expect(mm.startBrk).toBe(0x55555555d000);
    // The tail of the last file page of .data was zeroed by a write (padzero): one anonymous COW page.
    expect(m.smaps(pid)).toMatch(/555555556000-555555558000[^\n]*\n(?:.*\n)*?Anonymous: +4 kB/);
    // ld.so's RELRO mprotect then splits its data mapping as in a real process.
    expect(m.mprotect(pid, 0x7ffff7ff4000n, 0x2000n, 1)).toEqual({ ok: true, value: 0n });
  });

  it('without bases, lays out as without ASLR: ELF_ET_DYN_BASE, interpreter top-down from mmap_base', () => {
    const { m, pid } = machine();
    const r = m.execImages(pid, exe, ld);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.layout.loadBias).toBe(0x555555554000);
    const top = m.process(pid)!.mm.mmapBase;
    expect(r.layout.interpBase).toBe(top - 0x35000);
    // The break is the page after the bss (whether the bss then shows as [heap] is task-mmu.ts's vma_is_initial_heap()).
    expect(m.brk(pid, 0n)).toEqual({ ok: true, value: 0x55555555b000n });
    expect(m.maps(pid)).toContain('555555558000-55555555b000 rw-p 00000000 00:00 0 ');
  });

  it('fails with EINVAL on a 16 KiB-page kernel when offsets and addresses are only 4 KiB-congruent', () => {
    const { m, pid } = machine('arm64-16k');
    const r = m.execImages(pid, exe, ld);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errno).toBe('EINVAL');
    expect(r.reason).toMatch(/vaddr 0x2dd0 has file offset 0x1dd0, not congruent modulo the 16 KiB page size/);
  });

  it('names the missing file', () => {
    const m = new Machine();
    const pid = m.spawn();
    expect(m.execImages(pid, exe, ld)).toMatchObject({ ok: false, errno: 'ENOENT' });
    expect(m.maps(pid)).toBeDefined();
  });
});
