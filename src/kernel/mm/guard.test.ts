import { describe, expect, it } from 'vitest';
import { ANON, RW, errno, ok, setup } from '../../../test/model-helpers.js';
import { MADV_DONTNEED, MADV_GUARD_INSTALL, MADV_GUARD_REMOVE, MADV_POPULATE_WRITE, SEGV_MAPERR } from '../uapi.js';

const SEGV = (addr: bigint) => ({ ok: false, fault: { signal: 'SIGSEGV', code: SEGV_MAPERR, addr } });

describe('guard regions (MADV_GUARD_INSTALL / MADV_GUARD_REMOVE)', () => {
  it('zap the range, fault SIGSEGV without counting a fault, and come off as fresh zero pages', () => {
    const { m, pid } = setup();
    const p = ok(m.mmap(pid, 0n, 2n * 4096n, RW, ANON, -1, 0n));
    ok(m.store(pid, p, 1, 7n) as never);
    const used = m.k.phys.nrUsed;
    ok(m.madvise(pid, p, 4096n, MADV_GUARD_INSTALL));
    expect(m.k.phys.nrUsed).toBe(used - 1); // the page is gone, its table stays
    const before = m.rusage(pid)!;
    expect(m.load(pid, p, 1)).toEqual(SEGV(p));
    expect(m.storeBytes(pid, p + 100n, new Uint8Array(2))).toEqual(SEGV(p + 100n));
    expect(m.rusage(pid)).toEqual(before);
    expect(m.load(pid, p + 4096n, 1)).toEqual({ ok: true, value: 0n }); // the page beside it is not guarded
    ok(m.madvise(pid, p, 4096n, MADV_DONTNEED));
    expect(m.load(pid, p, 1).ok).toBe(false); // MADV_DONTNEED keeps the marker
    expect(errno(m.madvise(pid, p, 4096n, MADV_POPULATE_WRITE))).toBe('EFAULT');
    ok(m.madvise(pid, p, 4096n, MADV_GUARD_REMOVE));
    expect(m.load(pid, p, 1)).toEqual({ ok: true, value: 0n });
    expect(m.k.phys.nrUsed).toBe(used - 1); // the zero page
  });

  it('allocate the page tables of the range, which a zap does not reclaim while they hold guards', () => {
    const { m, pid } = setup();
    const p = ok(m.mmap(pid, 0n, 4096n, RW, ANON, -1, 0n));
    const vmPte = () => /VmPTE:\s+(\d+) kB/.exec(m.status(pid)!)![1];
    const empty = vmPte();
    ok(m.madvise(pid, p, 4096n, MADV_GUARD_INSTALL));
    expect(Number(vmPte())).toBeGreaterThan(Number(empty));
    const withGuard = vmPte();
    ok(m.madvise(pid, p, 4096n, MADV_DONTNEED));
    expect(vmPte()).toBe(withGuard);
    ok(m.munmap(pid, p, 4096n));
    expect(m.process(pid)!.mm.guards).toBeNull();
  });

  it('are copied by fork and moved by mremap; munmap drops them', () => {
    const { m, pid } = setup();
    const p = ok(m.mmap(pid, 0n, 3n * 4096n, RW, ANON, -1, 0n));
    ok(m.madvise(pid, p + 4096n, 4096n, MADV_GUARD_INSTALL));
    const child = Number(ok(m.fork(pid)));
    expect(m.load(child, p + 4096n, 1)).toEqual(SEGV(p + 4096n));
    const q = ok(m.mremap(pid, p, 3n * 4096n, 3n * 4096n, 3, p - 16n * 4096n)); // MREMAP_MAYMOVE|MREMAP_FIXED
    expect(m.load(pid, q + 4096n, 1)).toEqual(SEGV(q + 4096n));
    expect([...m.process(pid)!.mm.guards!]).toEqual([Number(q) / 4096 + 1]);
    expect(m.load(child, p + 4096n, 1).ok).toBe(false); // the child's own copy stays
    ok(m.munmap(pid, q, 3n * 4096n));
    expect(m.process(pid)!.mm.guards).toBeNull();
  });

  it('refuse mlocked VMAs (EINVAL) and make mlock fail (ENOMEM) where they stand', () => {
    const { m, pid } = setup();
    const p = ok(m.mmap(pid, 0n, 2n * 4096n, RW, ANON, -1, 0n));
    ok(m.madvise(pid, p, 4096n, MADV_GUARD_INSTALL));
    expect(errno(m.mlock(pid, p, 2n * 4096n))).toBe('ENOMEM');
    expect(errno(m.madvise(pid, p + 4096n, 4096n, MADV_GUARD_INSTALL))).toBe('EINVAL');
    ok(m.munlock(pid, p, 2n * 4096n));
    ok(m.madvise(pid, p + 4096n, 4096n, MADV_GUARD_INSTALL));
  });
});
