import { describe, expect, it } from 'vitest';
import type { Machine } from '../machine.js';
import { ANON, errno, makeFile, mapsOf, ok, RW, setup } from '../../../test/model-helpers.js';
import {
  MAP_FIXED, MAP_LOCKED, MAP_SHARED, MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT, MLOCK_ONFAULT, MREMAP_MAYMOVE, MS_INVALIDATE,
  PROT_NONE, PROT_READ,
} from '../uapi.js';
import { PG_mlocked } from './page-alloc.js';
import { pteLookup } from './pgtable.js';

const P = 4096n;

function reserved(settings: Record<string, unknown> = { privileged: true }): { m: Machine; pid: number; at: (pages: number) => bigint } {
  const { m, pid } = setup({ settings });
  const base = ok(m.mmap(pid, 0n, 256n * P, PROT_NONE, ANON, -1, 0n));
  return { m, pid, at: (pages: number) => base + BigInt(pages) * P };
}

function fixed(m: Machine, pid: number, addr: bigint, pages: number, prot = RW, flags = ANON, fd = -1): bigint {
  return ok(m.mmap(pid, addr, BigInt(pages) * P, prot, flags | MAP_FIXED, fd, 0n));
}

function smapsOf(m: Machine, pid: number, addr: bigint): string {
  const s = m.smaps(pid)!;
  const at = s.indexOf(addr.toString(16) + '-');
  return s.slice(at, s.indexOf('VmFlags', at) + 80);
}

function lockedKb(m: Machine, pid: number, addr: bigint): number {
  return Number(/\nLocked:\s+(\d+)/.exec(smapsOf(m, pid, addr))![1]);
}

function vmLck(m: Machine, pid: number): number {
  return Number(/VmLck:\s+(\d+)/.exec(m.status(pid)!)![1]);
}

function mlocked(m: Machine, pid: number, addr: bigint): boolean {
  const mm = m.process(pid)!.mm;
  const vpn = Number(addr / P);
  const t = pteLookup(mm.pgd, vpn, mm.divisors, mm.indexMask);
  if (t === null || t.flags![vpn & mm.indexMask] === 0) return false;
  return (m.k.phys.flags[t.pfns![vpn & mm.indexMask]!]! & PG_mlocked) !== 0;
}

describe('mlock and munlock', () => {
  it('locks and populates the range, splitting the VMA; munlock merges it back', () => {
    const { m, pid, at } = reserved();
    ok(m.munmap(pid, at(0), 16n * P));
    const p = fixed(m, pid, at(0), 8);
    ok(m.mlock(pid, p + 2n * P + 5n, 2n * P));
    expect(m.rusage(pid)!.minFlt).toBe(3);
    expect(lockedKb(m, pid, p + 2n * P)).toBe(12);
    expect(smapsOf(m, pid, p + 2n * P)).toMatch(/VmFlags: .*\blo\b/);
    expect(vmLck(m, pid)).toBe(12);
    expect(mlocked(m, pid, p + 2n * P)).toBe(true);
    const mine = (): string[] => mapsOf(m, pid).filter((l) => { const s = BigInt('0x' + l.split('-')[0]); return s >= at(0) && s < at(8); });
    expect(mine()).toHaveLength(3);
    ok(m.munlock(pid, p, 8n * P));
    expect(mine()).toHaveLength(1);
    expect(vmLck(m, pid)).toBe(0);
    expect(mlocked(m, pid, p + 2n * P)).toBe(false);
  });

  it('ENOMEM for a hole (the part before it stays locked) and for PROT_NONE (locked, not populated)', () => {
    const { m, pid, at } = reserved();
    fixed(m, pid, at(0), 2);
    ok(m.munmap(pid, at(2), P));
    expect(errno(m.mlock(pid, at(0), 3n * P))).toBe('ENOMEM');
    expect(lockedKb(m, pid, at(0))).toBe(0);
    expect(smapsOf(m, pid, at(0))).toMatch(/\blo\b/);
    expect(m.rusage(pid)!.minFlt).toBe(0);
    expect(errno(m.mlock(pid, at(2), P))).toBe('ENOMEM');
    const n = fixed(m, pid, at(8), 2, PROT_NONE);
    expect(errno(m.mlock(pid, n, 2n * P))).toBe('ENOMEM');
    expect(smapsOf(m, pid, n)).toMatch(/\blo\b/);
    expect(errno(m.munlock(pid, at(2), P))).toBe('ENOMEM');
    expect(errno(m.mlock(pid, 1n << 50n, P))).toBe('ENOMEM');
    expect(errno(m.mlock(pid, at(0), 0n))).toBe('ok 0');
  });

  it('RLIMIT_MEMLOCK: EPERM when zero, ENOMEM past it, already locked pages not counted twice; CAP_IPC_LOCK bypasses', () => {
    const zero = reserved({ privileged: false, memlockRlimit: 0 });
    fixed(zero.m, zero.pid, zero.at(0), 1);
    expect(errno(zero.m.mlock(zero.pid, zero.at(0), P))).toBe('EPERM');
    expect(errno(zero.m.mlockall(zero.pid, MCL_CURRENT))).toBe('EPERM');
    const { m, pid, at } = reserved({ privileged: false, memlockRlimit: 4 * 4096 });
    fixed(m, pid, at(0), 8);
    ok(m.mlock(pid, at(0), 3n * P));
    expect(errno(m.mlock(pid, at(2), 3n * P))).toBe('ENOMEM');
    ok(m.mlock(pid, at(1), 3n * P));
    expect(vmLck(m, pid)).toBe(16);
    expect(errno(m.mlockall(pid, MCL_CURRENT))).toBe('ENOMEM');
    // mlock_future_ok(): a locked mapping may not grow past the limit either.
    expect(errno(m.mremap(pid, at(0), 4n * P, 6n * P, MREMAP_MAYMOVE))).toBe('EAGAIN');
    expect(errno(m.mmap(pid, 0n, P, RW, ANON | MAP_LOCKED, -1, 0n))).toBe('EAGAIN');
    const priv = reserved({ privileged: true, memlockRlimit: 4096 });
    fixed(priv.m, priv.pid, priv.at(0), 8);
    ok(priv.m.mlock(priv.pid, priv.at(0), 8n * P));
  });

  it('mlock2(MLOCK_ONFAULT) populates nothing and locks pages as they fault', () => {
    const { m, pid, at } = reserved();
    const p = fixed(m, pid, at(0), 4);
    expect(errno(m.mlock2(pid, p, P, 2))).toBe('EINVAL');
    ok(m.mlock2(pid, p, 4n * P, MLOCK_ONFAULT));
    expect(m.rusage(pid)!.minFlt).toBe(0);
    expect(smapsOf(m, pid, p)).toMatch(/\blo\b.*\blf\b/);
    ok(m.store(pid, p + P, 1, 1n) as never);
    expect(mlocked(m, pid, p + P)).toBe(true);
    expect(lockedKb(m, pid, p)).toBe(4);
    // mlock over it drops VM_LOCKONFAULT and populates the rest.
    ok(m.mlock(pid, p, 4n * P));
    expect(smapsOf(m, pid, p)).not.toMatch(/\blf\b/);
    expect(lockedKb(m, pid, p)).toBe(16);
  });

  it('a locked shared file mapping: pages locked, msync(MS_INVALIDATE) EBUSY, DONTNEED refused', () => {
    const { m, pid, at } = reserved();
    const fd = makeFile(m, pid, '/tmp/l.bin', new Uint8Array(3 * 4096).fill(1));
    const f = fixed(m, pid, at(0), 3, PROT_READ, MAP_SHARED, fd);
    ok(m.mlock(pid, f, 3n * P));
    expect(mlocked(m, pid, f + 2n * P)).toBe(true);
    expect(errno(m.msync(pid, f, P, MS_INVALIDATE))).toBe('EBUSY');
    expect(errno(m.madvise(pid, f, P, 4))).toBe('EINVAL');
  });

  it('MAP_LOCKED mappings are populated and locked; fork does not inherit the lock', () => {
    const { m, pid } = reserved();
    const p = ok(m.mmap(pid, 0n, 3n * P, RW, ANON | MAP_LOCKED, -1, 0n));
    expect(m.rusage(pid)!.minFlt).toBe(3);
    expect(lockedKb(m, pid, p)).toBe(12);
    expect(mlocked(m, pid, p)).toBe(true);
    const child = Number(ok(m.fork(pid)));
    expect(vmLck(m, child)).toBe(0);
    expect(vmLck(m, pid)).toBe(12);
  });
});

describe('mlockall and munlockall', () => {
  it('rejects bad flags with EINVAL', () => {
    const { m, pid } = reserved();
    for (const f of [0, MCL_ONFAULT, 8, -1]) expect(errno(m.mlockall(pid, f))).toBe('EINVAL');
    expect(errno(m.mlockall(pid, (1n << 32n) | BigInt(MCL_FUTURE)))).toBe('ok 0');
  });

  it('MCL_CURRENT locks every VMA but the special ones and populates them', () => {
    const { m, pid, at } = reserved();
    const p = fixed(m, pid, at(0), 2);
    ok(m.mlockall(pid, MCL_CURRENT));
    expect(lockedKb(m, pid, p)).toBe(8);
    const lines = (m.smaps(pid) ?? '').split(/\n(?=[0-9a-f]+-)/);
    for (const block of lines) {
      const locked = /VmFlags: .*\blo\b/.test(block);
      expect(locked).toBe(!/\[(vvar|vvar_vclock|vdso|vsyscall)\]/.test(block));
    }
    ok(m.munlockall(pid));
    expect(vmLck(m, pid)).toBe(0);
  });

  it('MCL_FUTURE locks later mappings (populated unless MCL_ONFAULT); munlockall stops that', () => {
    const { m, pid, at } = reserved();
    ok(m.mlockall(pid, MCL_FUTURE));
    const p = fixed(m, pid, at(0), 2);
    expect(m.rusage(pid)!.minFlt).toBe(2);
    expect(lockedKb(m, pid, p)).toBe(8);
    ok(m.mlockall(pid, MCL_FUTURE | MCL_ONFAULT));
    const q = fixed(m, pid, at(4), 2);
    expect(m.rusage(pid)!.minFlt).toBe(2);
    expect(smapsOf(m, pid, q)).toMatch(/\blo\b.*\blf\b/);
    ok(m.munlockall(pid));
    const r = fixed(m, pid, at(8), 2);
    expect(smapsOf(m, pid, r)).not.toMatch(/\blo\b/);
    expect(vmLck(m, pid)).toBe(0);
  });

  it('never throws, whatever the arguments', () => {
    const { m, pid, at } = reserved();
    fixed(m, pid, at(0), 4);
    const vals = [0n, 1n, P, -1n, 1n << 63n, 0xfffffffffffff000n, at(0), at(3) + 7n];
    for (const a of vals) {
      for (const l of vals) {
        expect(() => m.mlock(pid, a, l)).not.toThrow();
        expect(() => m.mlock2(pid, a, l, l)).not.toThrow();
        expect(() => m.munlock(pid, a, l)).not.toThrow();
      }
      expect(() => m.mlockall(pid, a)).not.toThrow();
    }
    expect(() => m.munlockall(pid)).not.toThrow();
  });
});
