/**
 * /proc/PID/maps and smaps (fs/proc/task_mmu.c): the exact line format and
 * the accounting fields. Expected text was taken from Linux 6.18 (x86_64,
 * a CPU with protection keys, hence the ProtectionKey line) running C
 * programs that made the same mappings; only device and inode numbers and
 * paths differ, and those come from the model's fstat().
 */
import { describe, expect, it } from 'vitest';
import type { Machine } from '../machine.js';
import { ANON, RW, bytes, makeFile, ok, setup } from '../../../test/model-helpers.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MAP_SHARED, PROT_READ } from '../uapi.js';
import { mapsLine } from './task-mmu.js';

const W = 0x10000000n;
const FIXED_ANON = ANON | MAP_FIXED;

function h8(x: bigint | number): string {
  return x.toString(16).padStart(8, '0');
}

/** The maps line Linux prints for a file mapping, from the model's stat of fd. */
function fileLine(m: Machine, pid: number, fd: number, start: bigint, end: bigint, perms: string, off: number, name: string): string {
  const st = m.fstat(pid, fd).stat!;
  const dev = `${(st.st_dev >> 8).toString(16).padStart(2, '0')}:${(st.st_dev & 0xff).toString(16).padStart(2, '0')}`;
  const prefix = `${h8(start)}-${h8(end)} ${perms} ${h8(off)} ${dev} ${st.st_ino} `;
  return prefix.padEnd(72, ' ') + ' ' + name;
}

function mapsLines(m: Machine, pid: number, from: bigint, to: bigint): string[] {
  return (m.maps(pid) ?? '').split('\n').filter((l) => {
    const mm = /^([0-9a-f]+)-/.exec(l);
    if (mm === null) return false;
    const s = BigInt('0x' + mm[1]);
    return s >= from && s < to;
  });
}

/** The smaps block of the VMA starting at addr. */
function smapsBlock(m: Machine, pid: number, addr: bigint): string {
  const blocks = (m.smaps(pid) ?? '').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
  const b = blocks.find((x) => x.startsWith(h8(addr) + '-'));
  if (b === undefined) throw new Error(`no smaps block at ${addr.toString(16)}`);
  return b.endsWith('\n') ? b : b + '\n';
}

function smapsFields(header: string, kb: Record<string, number>, vmflags: string): string {
  const order = [
    'Size', 'KernelPageSize', 'MMUPageSize', 'Rss', 'Pss', 'Pss_Dirty', 'Shared_Clean', 'Shared_Dirty', 'Private_Clean',
    'Private_Dirty', 'Referenced', 'Anonymous', 'KSM', 'LazyFree', 'AnonHugePages', 'ShmemPmdMapped', 'FilePmdMapped',
    'Shared_Hugetlb', 'Private_Hugetlb', 'Swap', 'SwapPss', 'Locked',
  ];
  let out = header + '\n';
  for (const f of order) out += `${(f + ':').padEnd(16)}${String(kb[f] ?? 0).padStart(8)} kB\n`;
  out += `${'THPeligible:'.padEnd(16)}${'0'.padStart(8)}\n`;
  out += `${'ProtectionKey:'.padEnd(16)}${'0'.padStart(8)}\n`;
  return out + `VmFlags: ${vmflags} \n`;
}

describe('/proc/PID/maps line format', () => {
  it('an anonymous mapping: no name, the line ends with the space after the inode', () => {
    const { m, pid } = setup();
    ok(m.mmap(pid, W, 8192n, RW, FIXED_ANON, -1, 0n));
    expect(mapsLines(m, pid, W, W + 1n)).toEqual(['10000000-10002000 rw-p 00000000 00:00 0 ']);
  });

  it('a file mapping: the name starts at column 73, padded with spaces (seq_pad to 72, then one space)', () => {
    const { m, pid } = setup();
    const fd = makeFile(m, pid, '/tmp/sf', new Uint8Array(3 * 4096).fill(120));
    ok(m.mmap(pid, W + 0x100000n, 8192n, RW, MAP_SHARED | MAP_FIXED, fd, 4096n));
    const [line] = mapsLines(m, pid, W, W + 0x200000n);
    expect(line).toBe(fileLine(m, pid, fd, W + 0x100000n, W + 0x102000n, 'rw-s', 4096, '/tmp/sf'));
    expect(line!.indexOf('/tmp/sf')).toBe(73);
    // Linux 6.18: "10100000-10102000 rw-s 00000000 fe:00 2146621" + 28 spaces + "/tmp/probe/sf"
  });

  it('a file unlinked while mapped is shown with " (deleted)"', () => {
    const { m, pid } = setup();
    const fd = makeFile(m, pid, '/tmp/gone', 'data');
    ok(m.mmap(pid, W, 4096n, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0n));
    const before = fileLine(m, pid, fd, W, W + 4096n, 'r--p', 0, '/tmp/gone (deleted)');
    ok(m.unlink(pid, '/tmp/gone'));
    ok(m.close(pid, fd));
    expect(mapsLines(m, pid, W, W + 1n)).toEqual([before]);
    expect(before.indexOf('/tmp/gone (deleted)')).toBe(73);
  });

  it('shared anonymous memory is "/dev/zero (deleted)" at offset 0', () => {
    const { m, pid } = setup();
    ok(m.mmap(pid, W, 4096n, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0n));
    const [line] = mapsLines(m, pid, W, W + 1n);
    expect(line).toMatch(/^10000000-10001000 rw-s 00000000 00:01 \d+ +\/dev\/zero \(deleted\)$/);
    expect(line!.indexOf('/dev/zero')).toBe(73);
  });

  it('mapsLine(): a prefix of 72 characters or more is not padded, just followed by one more space', () => {
    // show_map_vma(): seq_setwidth(m, 25 + sizeof(void *) * 6 - 1) then seq_pad(m, ' '):
    // pad up to column 72 if short of it, then put one space; the prefix already ends with one.
    const cases: [number, number, number][] = [[0x10, 0xff, 1], [0x10000000000000, 0xff, 12345678901], [0x10000000000000, 0xfffff, 9007199254740991]];
    const lengths: number[] = [];
    for (const [off, minor, ino] of cases) {
      const prefix = `7fffffffe000-7ffffffff000 rw-p ${h8(off)} fff:${minor.toString(16)} ${ino} `;
      lengths.push(prefix.length);
      const line = mapsLine(0x7ffffffff000 - 4096, 0x7ffffffff000, 0x1 | 0x2, off, 0xfff, minor, ino, 'N');
      expect(line).toBe((prefix.length >= 72 ? prefix : prefix.padEnd(72)) + ' N\n');
    }
    expect(lengths).toEqual([49, 65, 73]);
  });

  it('the spawn layout: [stack] and [vdso] names padded to column 73, and the [vsyscall] line', () => {
    const { m, pid } = setup();
    const lines = (m.maps(pid) ?? '').split('\n').filter((l) => l !== '');
    for (const l of lines) {
      const name = /\[[a-z_]+\]$/.exec(l);
      expect(name, l).not.toBeNull();
      expect(l.indexOf(name![0]), l).toBe(73);
    }
    expect(lines.at(-1)).toBe('ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]');
  });
});

describe('[heap] naming (vma_is_initial_heap())', () => {
  it('the brk area is [heap], padded to column 73', () => {
    const { m, pid } = setup();
    const b0 = ok(m.brk(pid, 0n));
    ok(m.brk(pid, b0 + 10000n));
    const [line] = mapsLines(m, pid, b0, b0 + 1n);
    expect(line).toBe(`${h8(b0)}-${h8(b0 + 0x3000n)} rw-p 00000000 00:00 0 `.padEnd(72) + ' [heap]');
  });

  // Since "mm: fix VMA heap bounds checking" (Linux 6.7), vma_is_initial_heap() is
  // vm_start < brk && vm_end > start_brk: a mapping at the break when there is no heap
  // (brk == start_brk) is not the heap. Checked on Linux 6.18: mmap(brk(0), 4096, RW,
  // MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE) shows with no name, and so does the model.
  it('a mapping placed at the break while brk == start_brk is not [heap]', () => {
    const { m, pid } = setup();
    const b0 = ok(m.brk(pid, 0n));
    ok(m.mmap(pid, b0, 4096n, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0n));
    expect(mapsLines(m, pid, b0, b0 + 1n)).toEqual([`${h8(b0)}-${h8(b0 + 4096n)} rw-p 00000000 00:00 0 `]);
  });

  // Linux 6.18, after brk(b0 + 4096): mmap(b0 - 4096, 4096, PROT_READ, ...FIXED_NOREPLACE)
  // shows "r--p 00000000 00:00 0 " with no name, the heap above it "[heap]".
  it('a mapping that ends at start_brk is not [heap] (the same bounds bug, fixed)', () => {
    const { m, pid } = setup();
    const b0 = ok(m.brk(pid, 0n));
    ok(m.brk(pid, b0 + 4096n));
    ok(m.mmap(pid, b0 - 8192n, 4096n, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0n));
    ok(m.mmap(pid, b0 - 4096n, 4096n, PROT_READ, ANON | MAP_FIXED_NOREPLACE, -1, 0n));
    expect(mapsLines(m, pid, b0 - 4096n, b0 - 4095n)).toEqual([`${h8(b0 - 4096n)}-${h8(b0)} r--p 00000000 00:00 0 `]);
  });
});

describe('smaps accounting (values from Linux 6.18)', () => {
  it('private dirty anonymous memory', () => {
    const { m, pid } = setup({ settings: { protectionKeys: true } });
    ok(m.mmap(pid, W, 8192n, RW, FIXED_ANON, -1, 0n));
    ok(m.store(pid, W, 1, 1n) as never);
    ok(m.store(pid, W + 4096n, 1, 2n) as never);
    expect(smapsBlock(m, pid, W)).toBe(smapsFields('10000000-10002000 rw-p 00000000 00:00 0 ', {
      Size: 8, KernelPageSize: 4, MMUPageSize: 4, Rss: 8, Pss: 8, Pss_Dirty: 8, Private_Dirty: 8, Referenced: 8, Anonymous: 8,
    }, 'rd wr mr mw me ac'));
  });

  it('a clean shared file page mapped in two processes after fork: Pss is half of Rss', () => {
    const { m, pid } = setup({ settings: { protectionKeys: true } });
    const fd = makeFile(m, pid, '/tmp/sf', new Uint8Array(8192).fill(120));
    ok(m.fsync(pid, fd));
    const at = W + 0x100000n;
    ok(m.mmap(pid, at, 8192n, RW, MAP_SHARED | MAP_FIXED, fd, 0n));
    expect(m.load(pid, at, 1).ok).toBe(true);
    expect(m.load(pid, at + 4096n, 1).ok).toBe(true);
    const child = Number(ok(m.fork(pid)));
    // fork() copies no PTEs of a shared file mapping: the child faults them in.
    expect(m.load(child, at, 1).ok).toBe(true);
    expect(m.load(child, at + 4096n, 1).ok).toBe(true);
    const header = fileLine(m, pid, fd, at, at + 8192n, 'rw-s', 0, '/tmp/sf');
    const expected = smapsFields(header, {
      Size: 8, KernelPageSize: 4, MMUPageSize: 4, Rss: 8, Pss: 4, Shared_Clean: 8, Referenced: 8,
    }, 'rd wr sh mr mw me ms');
    expect(smapsBlock(m, pid, at)).toBe(expected);
    expect(smapsBlock(m, child, at)).toBe(expected);
  });

  it('an anonymous page shared after fork, then its copy-on-write copy', () => {
    const { m, pid } = setup({ settings: { protectionKeys: true } });
    const at = W + 0x200000n;
    ok(m.mmap(pid, at, 4096n, RW, FIXED_ANON, -1, 0n));
    ok(m.store(pid, at, 1, 5n) as never);
    const child = Number(ok(m.fork(pid)));
    const header = '10200000-10201000 rw-p 00000000 00:00 0 ';
    const base = { Size: 4, KernelPageSize: 4, MMUPageSize: 4, Rss: 4, Referenced: 4, Anonymous: 4 };
    expect(smapsBlock(m, pid, at)).toBe(smapsFields(header, { ...base, Pss: 2, Pss_Dirty: 2, Shared_Dirty: 4 }, 'rd wr mr mw me ac'));
    ok(m.store(pid, at, 1, 6n) as never);
    const copied = smapsFields(header, { ...base, Pss: 4, Pss_Dirty: 4, Private_Dirty: 4 }, 'rd wr mr mw me ac');
    expect(smapsBlock(m, pid, at)).toBe(copied);
    // The child's page is now mapped once: private to it, still dirty, but its PTE was made
    // old at fork (__copy_present_ptes(): pte_mkold()), so not Referenced until it is read.
    // Linux 6.18 prints the same for the child: Private_Dirty 4 kB, Referenced 0 kB, then 4 kB.
    expect(smapsBlock(m, child, at)).toBe(smapsFields(header, { ...base, Referenced: 0, Pss: 4, Pss_Dirty: 4, Private_Dirty: 4 }, 'rd wr mr mw me ac'));
    expect(m.load(child, at, 1)).toEqual({ ok: true, value: 5n });
    expect(smapsBlock(m, child, at)).toBe(copied);
    m.exitGroup(child);
    expect(smapsBlock(m, pid, at)).toBe(copied);
  });

  it('smaps_rollup sums the VMAs and splits Pss by kind', () => {
    const { m, pid } = setup();
    ok(m.mmap(pid, W, 8192n, RW, FIXED_ANON, -1, 0n));
    ok(m.store(pid, W, 1, 1n) as never);
    const fd = makeFile(m, pid, '/tmp/r', bytes('x'.repeat(4096)));
    ok(m.fsync(pid, fd));
    ok(m.mmap(pid, W + 0x10000n, 4096n, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0n));
    expect(m.load(pid, W + 0x10000n, 1).ok).toBe(true);
    const r = m.smapsRollup(pid)!;
    expect(r).toMatch(/^[0-9a-f]+-[0-9a-f]+ ---p 00000000 00:00 0 +\[rollup\]\n/);
    expect(r).toContain('Rss:                   8 kB\n');
    expect(r).toContain('Pss_Anon:              4 kB\nPss_File:              4 kB\nPss_Shmem:             0 kB\n');
  });
});
