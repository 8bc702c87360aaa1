import { describe, expect, it } from 'vitest';
import { ANON, bytes, errno, makeFile, mapsOf, ok, RW, setup, text } from '../../../test/model-helpers.js';
import {
  MADV_COLD, MADV_DODUMP, MADV_DOFORK, MADV_DONTDUMP, MADV_DONTFORK, MADV_DONTNEED, MADV_FREE, MADV_HUGEPAGE,
  MADV_KEEPONFORK, MADV_MERGEABLE, MADV_NOHUGEPAGE, MADV_NORMAL, MADV_PAGEOUT, MADV_POPULATE_READ, MADV_POPULATE_WRITE,
  MADV_RANDOM, MADV_REMOVE, MADV_SEQUENTIAL, MADV_UNMERGEABLE, MADV_WILLNEED, MADV_WIPEONFORK, MAP_ANONYMOUS,
  MAP_FIXED, MAP_LOCKED, MAP_PRIVATE, MAP_SHARED, PROT_NONE, PROT_READ,
} from '../uapi.js';
import { MADV_DONTNEED_LOCKED } from './madvise.js';

const P = 4096n;

function reserved(): { m: ReturnType<typeof setup>['m']; pid: number; at: (pages: number) => bigint } {
  const { m, pid } = setup({ settings: { privileged: true } });
  const base = ok(m.mmap(pid, 0n, 256n * P, PROT_NONE, ANON, -1, 0n));
  return { m, pid, at: (pages: number) => base + BigInt(pages) * P };
}

function fixed(m: ReturnType<typeof setup>['m'], pid: number, addr: bigint, pages: number, prot = RW, flags = ANON, fd = -1): bigint {
  return ok(m.mmap(pid, addr, BigInt(pages) * P, prot, flags | MAP_FIXED, fd, 0n));
}

/** The smaps field of the VMA starting at addr, in kB. */
function smapsField(m: ReturnType<typeof setup>['m'], pid: number, addr: bigint, name: string): number | string {
  const s = m.smaps(pid)!;
  const at = s.indexOf(addr.toString(16) + '-');
  const block = s.slice(at, s.indexOf('VmFlags', at) + 80);
  if (name === 'VmFlags') return /VmFlags: (.*)/.exec(block)![1]!;
  return Number(new RegExp(`\\n${name}:\\s+(\\d+)`).exec(block)![1]);
}

describe('madvise argument checks (madvise_should_skip, madvise_walk_vmas)', () => {
  it('rejects unknown advice, unaligned starts and wrapped lengths with EINVAL; a zero length succeeds', () => {
    const { m, pid, at } = reserved();
    fixed(m, pid, at(0), 4);
    for (const bad of [5, 6, 7, 26, 99, -1]) expect(errno(m.madvise(pid, at(0), P, bad))).toBe('EINVAL');
    expect(errno(m.madvise(pid, at(0) + 1n, P, MADV_NORMAL))).toBe('EINVAL');
    expect(errno(m.madvise(pid, at(0), -1n, MADV_NORMAL))).toBe('EINVAL');
    expect(errno(m.madvise(pid, 0xfffffffffffff000n, 0x2000n, MADV_NORMAL))).toBe('EINVAL');
    expect(errno(m.madvise(pid, at(0), 0n, MADV_NORMAL))).toBe('ok 0');
    expect(errno(m.madvise(pid, at(0) + 1n, 0n, 99))).toBe('EINVAL');
    // The advice is an int: the upper half of the register is ignored.
    expect(errno(m.madvise(pid, at(0), P, (1n << 32n) | BigInt(MADV_DONTNEED)))).toBe('ok 0');
  });

  it('applies the advice to the mapped parts, then reports the hole with ENOMEM', () => {
    const { m, pid, at } = reserved();
    fixed(m, pid, at(0), 2);
    ok(m.munmap(pid, at(2), 2n * P));
    fixed(m, pid, at(4), 2);
    expect(errno(m.madvise(pid, at(0), 6n * P, MADV_DONTFORK))).toBe('ENOMEM');
    expect(smapsField(m, pid, at(0), 'VmFlags')).toContain('dc');
    expect(smapsField(m, pid, at(4), 'VmFlags')).toContain('dc');
    expect(errno(m.madvise(pid, at(2), 2n * P, MADV_DONTFORK))).toBe('ENOMEM');
    expect(errno(m.madvise(pid, 1n << 50n, P, MADV_NORMAL))).toBe('ENOMEM');
  });

  it('refuses advice that does not fit the mapping', () => {
    const { m, pid, at } = reserved();
    const fd = makeFile(m, pid, '/tmp/a.bin', new Uint8Array(8192));
    fixed(m, pid, at(0), 2);
    fixed(m, pid, at(4), 2, RW, MAP_SHARED | MAP_ANONYMOUS);
    fixed(m, pid, at(8), 2, RW, MAP_PRIVATE, fd);
    fixed(m, pid, at(12), 2, RW, ANON | MAP_LOCKED);
    expect(errno(m.madvise(pid, at(4), P, MADV_WIPEONFORK))).toBe('EINVAL');
    expect(errno(m.madvise(pid, at(8), P, MADV_WIPEONFORK))).toBe('EINVAL');
    expect(errno(m.madvise(pid, at(4), P, MADV_FREE))).toBe('EINVAL');
    expect(errno(m.madvise(pid, at(8), P, MADV_FREE))).toBe('EINVAL');
    expect(errno(m.madvise(pid, at(0), P, MADV_REMOVE))).toBe('EINVAL');
    expect(errno(m.madvise(pid, at(8), P, MADV_REMOVE))).toBe('EACCES');
    expect(errno(m.madvise(pid, at(12), P, MADV_DONTNEED))).toBe('EINVAL');
    expect(errno(m.madvise(pid, at(12), P, MADV_FREE))).toBe('EINVAL');
    expect(errno(m.madvise(pid, at(12), P, MADV_COLD))).toBe('EINVAL');
    expect(errno(m.madvise(pid, at(12), P, MADV_PAGEOUT))).toBe('EINVAL');
    expect(errno(m.madvise(pid, at(12), P, MADV_REMOVE))).toBe('EINVAL');
    expect(errno(m.madvise(pid, at(12), P, MADV_DONTNEED_LOCKED))).toBe('ok 0');
    // [vvar] is VM_PFNMAP|VM_IO and [vdso] VM_DONTEXPAND.
    const vvar = mapsOf(m, pid).length === 0 ? null : (m.maps(pid) ?? '').split('\n').find((l) => l.endsWith('[vvar]'))!;
    const vvarAt = BigInt('0x' + vvar!.split('-')[0]);
    expect(errno(m.madvise(pid, vvarAt, P, MADV_DONTNEED))).toBe('EINVAL');
    expect(errno(m.madvise(pid, vvarAt, P, MADV_DOFORK))).toBe('EINVAL');
    expect(errno(m.madvise(pid, vvarAt, P, MADV_DODUMP))).toBe('EINVAL');
  });

  it('never throws, whatever the arguments', () => {
    const { m, pid, at } = reserved();
    fixed(m, pid, at(0), 4);
    const vals = [0n, 1n, P, -1n, 1n << 63n, 0xfffffffffffff000n, at(0), at(3)];
    for (const a of vals) for (const l of vals) for (let adv = -1; adv < 30; adv++) expect(() => m.madvise(pid, a, l, adv)).not.toThrow();
  });
});

describe('madvise flag advice', () => {
  it('splits the VMA around the range and merges it back when the flags agree again', () => {
    const { m, pid, at } = reserved();
    ok(m.munmap(pid, at(0), 16n * P));
    fixed(m, pid, at(0), 8);
    const mine = (): string[] => mapsOf(m, pid).filter((l) => { const s = BigInt('0x' + l.split('-')[0]); return s >= at(0) && s < at(8); });
    ok(m.madvise(pid, at(2), 2n * P, MADV_SEQUENTIAL));
    expect(mine()).toHaveLength(3);
    expect(smapsField(m, pid, at(2), 'VmFlags')).toContain('sr');
    ok(m.madvise(pid, at(2), 2n * P, MADV_RANDOM));
    expect(smapsField(m, pid, at(2), 'VmFlags')).toMatch(/rr/);
    expect(smapsField(m, pid, at(2), 'VmFlags')).not.toMatch(/sr/);
    ok(m.madvise(pid, at(2), 2n * P, MADV_NORMAL));
    expect(mine()).toHaveLength(1);
  });

  it('sets and clears DONTFORK, WIPEONFORK, DONTDUMP, HUGEPAGE, MERGEABLE', () => {
    const { m, pid, at } = reserved();
    const p = fixed(m, pid, at(0), 1);
    const cases: [number, number, string][] = [
      [MADV_DONTFORK, MADV_DOFORK, 'dc'], [MADV_WIPEONFORK, MADV_KEEPONFORK, 'wf'], [MADV_DONTDUMP, MADV_DODUMP, 'dd'],
      [MADV_HUGEPAGE, MADV_NOHUGEPAGE, 'hg'], [MADV_MERGEABLE, MADV_UNMERGEABLE, 'mg'],
    ];
    for (const [set, clear, mn] of cases) {
      ok(m.madvise(pid, p, P, set));
      expect(smapsField(m, pid, p, 'VmFlags')).toContain(mn);
      ok(m.madvise(pid, p, P, clear));
      expect(smapsField(m, pid, p, 'VmFlags')).not.toContain(mn);
    }
    expect(smapsField(m, pid, p, 'VmFlags')).toContain('nh');
    // KSM leaves shared memory alone, without an error.
    const s = fixed(m, pid, at(4), 1, RW, MAP_SHARED | MAP_ANONYMOUS);
    ok(m.madvise(pid, s, P, MADV_MERGEABLE));
    expect(smapsField(m, pid, s, 'VmFlags')).not.toContain('mg');
  });

  it('DONTFORK leaves the range out of the child; WIPEONFORK gives it zeros', () => {
    const { m, pid, at } = reserved();
    const a = fixed(m, pid, at(0), 1);
    const w = fixed(m, pid, at(2), 1);
    ok(m.store(pid, a, 1, 1n) as never);
    ok(m.store(pid, w, 1, 2n) as never);
    ok(m.madvise(pid, a, P, MADV_DONTFORK));
    ok(m.madvise(pid, w, P, MADV_WIPEONFORK));
    const child = Number(ok(m.fork(pid)));
    expect(m.load(child, a, 1)).toMatchObject({ ok: false, fault: { signal: 'SIGSEGV', code: 1 } });
    expect(m.load(child, w, 1)).toEqual({ ok: true, value: 0n });
    expect(m.load(pid, w, 1)).toEqual({ ok: true, value: 2n });
  });
});

describe('madvise on pages', () => {
  it('DONTNEED: anonymous memory reads zeros, a private file mapping the file again, shared memory its data', () => {
    const { m, pid, at } = reserved();
    const fd = makeFile(m, pid, '/tmp/d.bin', 'file');
    const a = fixed(m, pid, at(0), 2);
    const f = fixed(m, pid, at(4), 1, RW, MAP_PRIVATE, fd);
    const s = fixed(m, pid, at(8), 1, RW, MAP_SHARED, fd);
    ok(m.storeBytes(pid, a, bytes('anon')) as never);
    ok(m.store(pid, f, 1, 0x58n) as never);
    ok(m.store(pid, s + 1n, 1, 0x59n) as never);
    ok(m.madvise(pid, at(0), 12n * P, MADV_DONTNEED));
    expect(m.load(pid, a, 1)).toEqual({ ok: true, value: 0n });
    expect(m.load(pid, f, 1)).toEqual({ ok: true, value: 0x66n });
    expect(m.load(pid, f + 1n, 1)).toEqual({ ok: true, value: 0x59n });
    expect(text(m.read(pid, fd, 4n, 0n).data)).toBe('fYle');
  });

  it('DONTNEED over a whole page table frees the table (CONFIG_PT_RECLAIM)', () => {
    const { m, pid } = setup();
    const len = 4n * 1024n * 1024n;
    const p = ok(m.mmap(pid, 0n, len + 2n * 1024n * 1024n, RW, ANON, -1, 0n));
    const aligned = (p + 0x1fffffn) & ~0x1fffffn;
    ok(m.madvise(pid, aligned, len, MADV_POPULATE_WRITE));
    const before = m.process(pid)!.mm.pgtablesBytes;
    ok(m.madvise(pid, aligned, len, MADV_DONTNEED));
    expect(m.process(pid)!.mm.pgtablesBytes).toBe(before - 2 * 4096);
    expect(m.load(pid, aligned, 1)).toEqual({ ok: true, value: 0n });
  });

  it('FREE keeps the data until reclaim; LazyFree counts clean pages; PAGEOUT drops the clean ones', () => {
    const { m, pid, at } = reserved();
    const p = fixed(m, pid, at(0), 4);
    ok(m.storeBytes(pid, p, new Uint8Array(4 * 4096).fill(0x41)) as never);
    ok(m.madvise(pid, p, 4n * P, MADV_FREE));
    expect(smapsField(m, pid, p, 'LazyFree')).toBe(16);
    expect(m.load(pid, p, 1)).toEqual({ ok: true, value: 0x41n });
    ok(m.store(pid, p + P, 1, 0x42n) as never);
    expect(smapsField(m, pid, p, 'LazyFree')).toBe(12);
    const faults = m.rusage(pid)!.minFlt;
    ok(m.madvise(pid, p, 4n * P, MADV_PAGEOUT));
    expect(smapsField(m, pid, p, 'Rss')).toBe(4);
    expect(m.load(pid, p + P, 1)).toEqual({ ok: true, value: 0x42n });
    expect(m.load(pid, p, 1)).toEqual({ ok: true, value: 0n });
    expect(m.rusage(pid)!.minFlt).toBe(faults + 1);
  });

  it('PAGEOUT of anonymous memory without swap keeps it; of a clean file page mapped once drops it', () => {
    const { m, pid, at } = reserved();
    const a = fixed(m, pid, at(0), 1);
    ok(m.store(pid, a, 1, 5n) as never);
    ok(m.madvise(pid, a, P, MADV_PAGEOUT));
    ok(m.madvise(pid, a, P, MADV_COLD));
    expect(smapsField(m, pid, a, 'Rss')).toBe(4);
    const fd = makeFile(m, pid, '/tmp/p.bin', 'page');
    ok(m.fsync(pid, fd));
    const f = fixed(m, pid, at(4), 1, PROT_READ, MAP_PRIVATE, fd);
    expect(m.load(pid, f, 1)).toEqual({ ok: true, value: 0x70n });
    ok(m.madvise(pid, f, P, MADV_PAGEOUT));
    expect(m.mincore(pid, f, P).vec[0]).toBe(0);
    expect(m.load(pid, f + 1n, 1)).toEqual({ ok: true, value: 0x61n });
    expect(m.rusage(pid)!.majFlt).toBe(1);
  });

  it('REMOVE punches a hole: shmem and shared file pages read as zeros afterwards', () => {
    const { m, pid, at } = reserved();
    const s = fixed(m, pid, at(0), 2, RW, MAP_SHARED | MAP_ANONYMOUS);
    ok(m.storeBytes(pid, s, new Uint8Array(8192).fill(0x61)) as never);
    ok(m.madvise(pid, s + P, P, MADV_REMOVE));
    expect(m.load(pid, s, 1)).toEqual({ ok: true, value: 0x61n });
    expect(m.load(pid, s + P, 1)).toEqual({ ok: true, value: 0n });
    const fd = makeFile(m, pid, '/tmp/r.bin', new Uint8Array(3 * 4096).fill(0x62));
    ok(m.fsync(pid, fd));
    const f = fixed(m, pid, at(4), 3, RW, MAP_SHARED, fd);
    const priv = fixed(m, pid, at(8), 3, RW, MAP_PRIVATE, fd);
    ok(m.store(pid, priv + P, 1, 0x63n) as never);
    ok(m.madvise(pid, f + P, P, MADV_REMOVE));
    expect(m.load(pid, f + P, 1)).toEqual({ ok: true, value: 0n });
    expect(Array.from(m.read(pid, fd, 2n, 4095n).data)).toEqual([0x62, 0]);
    // The private COW copy stays.
    expect(m.load(pid, priv + P, 1)).toEqual({ ok: true, value: 0x63n });
    expect(m.fstat(pid, fd).stat!.st_size).toBe(3 * 4096);
  });

  it('WILLNEED reads the file ahead: the faults that follow are minor', () => {
    const { m, pid, at } = reserved();
    m.seedFile('/data/w.bin', new Uint8Array(8 * 4096).fill(7));
    const fd = Number(ok(m.openat(pid, -100, '/data/w.bin', 0)));
    const f = fixed(m, pid, at(0), 8, PROT_READ, MAP_PRIVATE, fd);
    ok(m.madvise(pid, f, 8n * P, MADV_WILLNEED));
    expect(m.mincore(pid, f, 8n * P).vec.reduce((x, y) => x + y, 0)).toBe(8);
    expect(m.load(pid, f + 5n * P, 1)).toEqual({ ok: true, value: 7n });
    expect(m.rusage(pid)).toEqual({ minFlt: 1, majFlt: 0 });
  });

  it('POPULATE_READ maps the zero page, POPULATE_WRITE private copies; errors as Linux', () => {
    const { m, pid, at } = reserved();
    const p = fixed(m, pid, at(0), 4);
    ok(m.madvise(pid, p, 4n * P, MADV_POPULATE_READ));
    expect(m.rusage(pid)!.minFlt).toBe(4);
    expect(smapsField(m, pid, p, 'Rss')).toBe(0);
    ok(m.madvise(pid, p, 4n * P, MADV_POPULATE_WRITE));
    expect(m.rusage(pid)!.minFlt).toBe(8);
    expect(smapsField(m, pid, p, 'Rss')).toBe(16);
    ok(m.madvise(pid, p, 4n * P, MADV_POPULATE_WRITE));
    expect(m.rusage(pid)!.minFlt).toBe(8);
    const ro = fixed(m, pid, at(8), 1, PROT_READ);
    expect(errno(m.madvise(pid, ro, P, MADV_POPULATE_WRITE))).toBe('EINVAL');
    expect(errno(m.madvise(pid, at(16), P, MADV_POPULATE_READ))).toBe('EINVAL');
    ok(m.munmap(pid, at(20), P));
    expect(errno(m.madvise(pid, at(20), P, MADV_POPULATE_READ))).toBe('ENOMEM');
    const fd = makeFile(m, pid, '/tmp/short.bin', 'x');
    const f = fixed(m, pid, at(24), 2, PROT_READ, MAP_PRIVATE, fd);
    expect(errno(m.madvise(pid, f, 2n * P, MADV_POPULATE_READ))).toBe('EFAULT');
    expect(m.mincore(pid, f, P).vec[0]).toBe(1);
  });
});
