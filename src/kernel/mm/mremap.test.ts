import { describe, expect, it } from 'vitest';
import { ANON, errno, makeFile, mapsOf, ok, RW, setup } from '../../../test/model-helpers.js';
import { MAP_FIXED, MAP_LOCKED, MAP_SHARED, MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE, PROT_NONE, PROT_READ } from '../uapi.js';

const P = 4096n;

/** A paranoid machine with a PROT_NONE reservation to place mappings at known offsets. */
function reserved(): { m: ReturnType<typeof setup>['m']; pid: number; base: bigint; at: (pages: number) => bigint } {
  const { m, pid } = setup({ settings: { privileged: true } });
  const base = ok(m.mmap(pid, 0n, 1024n * P, PROT_NONE, ANON, -1, 0n));
  return { m, pid, base, at: (pages: number) => base + BigInt(pages) * P };
}

function fixed(m: ReturnType<typeof setup>['m'], pid: number, addr: bigint, pages: number, prot = RW, flags = ANON, fd = -1): bigint {
  return ok(m.mmap(pid, addr, BigInt(pages) * P, prot, flags | MAP_FIXED, fd, 0n));
}

describe('mremap argument checks (check_mremap_params, check_prep_vma)', () => {
  it('gives Linux errno in Linux order and never throws', () => {
    const { m, pid, at } = reserved();
    fixed(m, pid, at(0), 4);
    expect(errno(m.mremap(pid, at(0), P, P, 8))).toBe('EINVAL');
    expect(errno(m.mremap(pid, at(0), P, P, 1n << 40n))).toBe('EINVAL');
    expect(errno(m.mremap(pid, at(0) + 1n, P, P, 0))).toBe('EINVAL');
    expect(errno(m.mremap(pid, at(0), P, 0n, 0))).toBe('EINVAL');
    expect(errno(m.mremap(pid, at(0), P, 1n << 47n, 0))).toBe('EINVAL');
    expect(errno(m.mremap(pid, at(0), P, P, MREMAP_FIXED, at(64)))).toBe('EINVAL');
    expect(errno(m.mremap(pid, at(0), P, P, MREMAP_FIXED | MREMAP_MAYMOVE, at(64) + 1n))).toBe('EINVAL');
    expect(errno(m.mremap(pid, at(0), 2n * P, 2n * P, MREMAP_FIXED | MREMAP_MAYMOVE, at(1)))).toBe('EINVAL');
    expect(errno(m.mremap(pid, at(0), P, 2n * P, MREMAP_DONTUNMAP | MREMAP_MAYMOVE, at(64)))).toBe('EINVAL');
    expect(errno(m.mremap(pid, at(0), P, P, MREMAP_DONTUNMAP, at(64)))).toBe('EINVAL');
    // Past the VMA's end: EFAULT; growing without room or MAYMOVE: ENOMEM.
    expect(errno(m.mremap(pid, at(0), 6n * P, 8n * P, MREMAP_MAYMOVE))).toBe('EFAULT');
    fixed(m, pid, at(4), 1, PROT_READ);
    expect(errno(m.mremap(pid, at(0), 4n * P, 8n * P, 0))).toBe('ENOMEM');
    // Duplicating a private mapping (old_len 0) is refused.
    expect(errno(m.mremap(pid, at(0), 0n, P, MREMAP_MAYMOVE))).toBe('EINVAL');
    // Nothing mapped at the address.
    ok(m.munmap(pid, at(100), P));
    expect(errno(m.mremap(pid, at(100), P, P, 0))).toBe('EFAULT');
    expect(errno(m.mremap(pid, 1n << 50n, P, P, 0))).toBe('EFAULT');
    // A shrink may run past the VMA; one running past user space cannot be unmapped.
    expect(errno(m.mremap(pid, at(0), 0xfffffffffffff000n, P, 0))).toBe('EINVAL');
    for (const v of [0n, 1n, -1n, 1n << 63n, 0xfffffffffffff000n]) {
      expect(() => m.mremap(pid, v, v, v, v, v)).not.toThrow();
    }
  });
});

describe('mremap resizing', () => {
  it('shrinks in place, unmapping the tail; grows in place over free space', () => {
    const { m, pid, at } = reserved();
    ok(m.munmap(pid, at(0), 16n * P));
    const p = fixed(m, pid, at(0), 4);
    ok(m.storeBytes(pid, p, new Uint8Array(4 * 4096).fill(0x41)) as never);
    const committed = m.k.committedPages;
    expect(ok(m.mremap(pid, p, 4n * P, 2n * P, 0))).toBe(p);
    expect(m.k.committedPages).toBe(committed - 2);
    expect(m.load(pid, p + 3n * P, 1)).toMatchObject({ ok: false, fault: { signal: 'SIGSEGV', code: 1 } });
    expect(ok(m.mremap(pid, p, 2n * P, 6n * P, 0))).toBe(p);
    expect(m.k.committedPages).toBe(committed + 2);
    expect(m.load(pid, p + P, 1)).toEqual({ ok: true, value: 0x41n });
    expect(m.load(pid, p + 3n * P, 1)).toEqual({ ok: true, value: 0n });
    expect(mapsOf(m, pid).filter((l) => l.startsWith(p.toString(16)))).toHaveLength(1);
  });

  it('moves with MREMAP_MAYMOVE when it cannot grow in place: the PTEs move, nothing is copied', () => {
    const { m, pid, at } = reserved();
    const p = fixed(m, pid, at(0), 2);
    ok(m.store(pid, p, 8, 0x1122334455667788n) as never);
    ok(m.store(pid, p + P, 1, 7n) as never);
    const pfn = pfnAt(m, pid, p);
    const faults = m.rusage(pid)!.minFlt;
    const q = ok(m.mremap(pid, p, 2n * P, 4n * P, MREMAP_MAYMOVE));
    expect(q).not.toBe(p);
    expect(pfnAt(m, pid, q)).toBe(pfn);
    expect(m.load(pid, q, 8)).toEqual({ ok: true, value: 0x1122334455667788n });
    expect(m.load(pid, q + P, 1)).toEqual({ ok: true, value: 7n });
    expect(m.rusage(pid)!.minFlt).toBe(faults);
    // The old range is PROT_NONE reservation again? No: it is unmapped.
    expect(m.load(pid, p, 1)).toMatchObject({ ok: false, fault: { signal: 'SIGSEGV', code: 1 } });
  });

  it('a locked mapping grown in place is populated', () => {
    const { m, pid, at } = reserved();
    ok(m.munmap(pid, at(0), 16n * P));
    const p = fixed(m, pid, at(0), 2, RW, ANON | MAP_LOCKED);
    expect(m.rusage(pid)!.minFlt).toBe(2);
    ok(m.mremap(pid, p, 2n * P, 5n * P, 0));
    expect(m.rusage(pid)!.minFlt).toBe(5);
    expect(m.smaps(pid)).toMatch(/Locked:\s+20 kB/);
  });
});

describe('mremap moves', () => {
  it('MREMAP_FIXED unmaps the target first and keeps the file offset', () => {
    const { m, pid, at } = reserved();
    const fd = makeFile(m, pid, '/tmp/r.bin', new Uint8Array(8 * 4096).map((_, i) => i >> 12));
    const p = fixed(m, pid, at(0), 4, RW, MAP_SHARED, fd);
    fixed(m, pid, at(32), 8, PROT_READ);
    const q = ok(m.mremap(pid, p + P, 2n * P, 2n * P, MREMAP_FIXED | MREMAP_MAYMOVE, at(34)));
    expect(q).toBe(at(34));
    expect(m.load(pid, q, 1)).toEqual({ ok: true, value: 1n });
    expect(m.load(pid, q + P, 1)).toEqual({ ok: true, value: 2n });
    const lines = mapsOf(m, pid).filter((l) => l.includes('/tmp/r.bin'));
    expect(lines.map((l) => l.split(/\s+/).slice(1, 3).join(' '))).toEqual(['rw-s 00000000', 'rw-s 00003000', 'rw-s 00001000']);
  });

  it('a fixed move that also shrinks unmaps the tail first; the commit charge follows the VMAs', () => {
    const { m, pid, at } = reserved();
    const p = fixed(m, pid, at(0), 4);
    ok(m.store(pid, p, 1, 1n) as never);
    ok(m.store(pid, p + 3n * P, 1, 4n) as never);
    const committed = m.k.committedPages;
    expect(ok(m.mremap(pid, p, 4n * P, 2n * P, MREMAP_FIXED | MREMAP_MAYMOVE, at(40)))).toBe(at(40));
    expect(m.k.committedPages).toBe(committed - 2);
    expect(m.load(pid, at(40), 1)).toEqual({ ok: true, value: 1n });
    expect(m.load(pid, p + 3n * P, 1)).toMatchObject({ ok: false });
  });

  it('MREMAP_DONTUNMAP leaves the old range mapped and empty, and it reads zeros', () => {
    const { m, pid, at } = reserved();
    const p = fixed(m, pid, at(0), 2);
    ok(m.store(pid, p, 1, 9n) as never);
    const committed = m.k.committedPages;
    const q = ok(m.mremap(pid, p, 2n * P, 2n * P, MREMAP_DONTUNMAP | MREMAP_MAYMOVE, at(64)));
    expect(m.k.committedPages).toBe(committed + 2);
    expect(m.load(pid, q, 1)).toEqual({ ok: true, value: 9n });
    expect(m.load(pid, p, 1)).toEqual({ ok: true, value: 0n });
    expect(m.process(pid)!.mm.vmas.lookup(Number(p))!.anonVma).toBeNull();
  });

  it('DONTUNMAP of a locked mapping: the old VMA is unlocked but stays in VmLck, as locked_vm on Linux', () => {
    const { m, pid, at } = reserved();
    const p = fixed(m, pid, at(0), 2, RW, ANON | MAP_LOCKED);
    const q = ok(m.mremap(pid, p, 2n * P, 2n * P, MREMAP_DONTUNMAP | MREMAP_MAYMOVE, at(64)));
    expect(m.process(pid)!.mm.vmas.lookup(Number(q))!.flags & 0x2000).toBe(0x2000);
    expect(m.process(pid)!.mm.vmas.lookup(Number(p))!.flags & 0x2000).toBe(0);
    expect(/VmLck:\s+(\d+)/.exec(m.status(pid)!)![1]).toBe('16');
    ok(m.munmap(pid, p, 2n * P));
    expect(/VmLck:\s+(\d+)/.exec(m.status(pid)!)![1]).toBe('16');
  });

  it('a fixed DONTUNMAP move of part of a larger VMA moves that part once', () => {
    const { m, pid, at } = reserved();
    const p = fixed(m, pid, at(0), 8);
    ok(m.store(pid, p + 2n * P, 1, 3n) as never);
    expect(ok(m.mremap(pid, p + 2n * P, P, P, MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP, at(40)))).toBe(at(40));
    expect(m.load(pid, at(40), 1)).toEqual({ ok: true, value: 3n });
    expect(m.load(pid, p + 2n * P, 1)).toEqual({ ok: true, value: 0n });
    expect(m.process(pid)!.mm.vmas.lookup(Number(at(41)))!.flags & 0x3).toBe(0);
  });

  it('pages shared copy-on-write with a child stay shared after the move', () => {
    const { m, pid, at } = reserved();
    const p = fixed(m, pid, at(0), 1);
    ok(m.store(pid, p, 1, 5n) as never);
    const child = Number(ok(m.fork(pid)));
    const q = ok(m.mremap(pid, p, P, P, MREMAP_FIXED | MREMAP_MAYMOVE, at(10)));
    expect(pfnAt(m, pid, q)).toBe(pfnAt(m, child, p));
    ok(m.store(pid, q, 1, 6n) as never);
    expect(m.load(pid, q, 1)).toEqual({ ok: true, value: 6n });
    expect(m.load(child, p, 1)).toEqual({ ok: true, value: 5n });
  });

  it('an unfaulted anonymous mapping takes its new address as pgoff and merges with a neighbour', () => {
    const { m, pid, at } = reserved();
    ok(m.munmap(pid, at(0), 64n * P));
    fixed(m, pid, at(0), 2);
    const p = fixed(m, pid, at(10), 2);
    ok(m.mremap(pid, p, 2n * P, 2n * P, MREMAP_FIXED | MREMAP_MAYMOVE, at(2)));
    const mine = mapsOf(m, pid).filter((l) => BigInt('0x' + l.split('-')[0]) >= at(0) && BigInt('0x' + l.split('-')[0]) < at(64));
    expect(mine).toHaveLength(1);
    expect(mine[0]!.startsWith(`${at(0).toString(16)}-${at(4).toString(16)} rw-p`)).toBe(true);
  });

  it('a fixed move of equal length spans VMAs and keeps the gaps between them', () => {
    const { m, pid, at } = reserved();
    ok(m.munmap(pid, at(0), 64n * P));
    fixed(m, pid, at(0), 2);
    fixed(m, pid, at(3), 1, PROT_READ);
    ok(m.store(pid, at(1), 1, 3n) as never);
    expect(errno(m.mremap(pid, at(0), 4n * P, 5n * P, MREMAP_MAYMOVE))).toBe('EFAULT');
    expect(ok(m.mremap(pid, at(0), 4n * P, 4n * P, MREMAP_FIXED | MREMAP_MAYMOVE, at(40)))).toBe(at(40));
    expect(m.load(pid, at(41), 1)).toEqual({ ok: true, value: 3n });
    expect(m.load(pid, at(42), 1)).toMatchObject({ ok: false });
    expect(m.load(pid, at(43), 1)).toEqual({ ok: true, value: 0n });
  });
});


describe('mremap of the special mappings', () => {
  it('[vdso] moves whole, keeping its name, and cannot be split by a move', () => {
    const { m, pid, at } = reserved();
    const line = (m.maps(pid) ?? '').split('\n').find((l) => l.endsWith('[vdso]'))!;
    const [s, e] = line.split(' ')[0]!.split('-').map((x) => BigInt('0x' + x)) as [bigint, bigint];
    expect(errno(m.mremap(pid, s, P, P, MREMAP_FIXED | MREMAP_MAYMOVE, at(0)))).toBe('EINVAL');
    expect(errno(m.mremap(pid, s, e - s, e - s + P, MREMAP_MAYMOVE))).toBe('EFAULT');
    expect(ok(m.mremap(pid, s, e - s, e - s, MREMAP_FIXED | MREMAP_MAYMOVE, at(0)))).toBe(at(0));
    expect((m.maps(pid) ?? '').split('\n').find((l) => l.endsWith('[vdso]'))!.startsWith(at(0).toString(16))).toBe(true);
  });
});

function pfnAt(m: ReturnType<typeof setup>['m'], pid: number, addr: bigint): number {
  const mm = m.process(pid)!.mm;
  const vpn = Number(addr / P);
  let t = mm.pgd;
  for (let l = 0; l < mm.divisors.length - 1; l++) t = t.children![Math.floor(vpn / mm.divisors[l]!) & mm.indexMask]!;
  return t.pfns![vpn & mm.indexMask]!;
}

describe('mremap, madvise and mlock together', () => {
  it('random sequences on paranoid machines never throw and keep every invariant', () => {
    let seed = 4242;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const vals = [0n, 1n, P, 2n * P, 3n * P, 0x10000n, -1n, 1n << 63n, 0xfffffffffffff000n, 1n << 47n, (1n << 47n) - P];
    for (let round = 0; round < 80; round++) {
      const { m, pid } = setup({ settings: { privileged: round % 2 === 0, maxMapCount: 20 + (round % 5) } });
      const fd = Number(ok(m.openat(pid, -100, '/tmp/f', 0o102, 0o644)));
      ok(m.ftruncate(pid, fd, 6n * P));
      const addrs: bigint[] = [];
      const pick = (): bigint => {
        const r = rnd() % (vals.length + addrs.length * 3);
        if (r < vals.length) return vals[r]!;
        return addrs[Math.floor((r - vals.length) / 3)]! + BigInt((rnd() % 8) * 4096);
      };
      for (let i = 0; i < 50; i++) {
        const k = rnd() % 12;
        if (k === 0) {
          const fl = [0x22, 0x21, 0x2022, 0x1, 0x2, 0x2001, 0x8002][rnd() % 7]!;
          const r = m.mmap(pid, 0n, BigInt((1 + (rnd() % 8)) * 4096), rnd() % 8, fl, fl & 0x20 ? -1 : fd, BigInt((rnd() % 3) * 4096));
          if (r.ok) addrs.push(r.value);
        } else if (k === 1) {
          const l = BigInt((1 + (rnd() % 6)) * 4096);
          const r = rnd() % 2 ? m.mremap(pid, pick(), l, l, [3, 7, 5, 1][rnd() % 4]!, pick()) : m.mremap(pid, pick(), pick(), pick(), rnd() % 8, pick());
          if (r.ok) addrs.push(r.value);
        } else if (k === 2) m.madvise(pid, pick(), pick(), rnd() % 26);
        else if (k === 3) m.mlock(pid, pick(), pick());
        else if (k === 4) m.mlock2(pid, pick(), pick(), rnd() % 3);
        else if (k === 5) m.munlock(pid, pick(), pick());
        else if (k === 6) m.mlockall(pid, rnd() % 8);
        else if (k === 7) m.munlockall(pid);
        else if (k === 8) m.store(pid, pick(), 1, 1n);
        else if (k === 9) m.load(pid, pick(), 1);
        else if (k === 10) {
          const r = m.fork(pid);
          if (r.ok && rnd() % 2) m.exitGroup(Number(r.value));
        } else m.munmap(pid, pick(), pick());
      }
    }
  });
});
