import { describe, expect, it } from 'vitest';
import { ANON, RW, bytes, errno, makeFile, mapShared, mapsOf, ok, setup, text } from '../../../test/model-helpers.js';
import { PTE_DIRTY, PTE_PRESENT, PTE_WRITE } from '../arch/pte.js';
import { pteLookup } from './pgtable.js';
import { AT_FDCWD, O_RDONLY, MADV_DONTNEED, MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, POSIX_FADV_DONTNEED, PROT_NONE, PROT_READ, SEGV_ACCERR, SEGV_MAPERR, BUS_ADRERR } from '../uapi.js';

describe('anonymous memory', () => {
  it('reads the zero page, then a write allocates a private zeroed frame', () => {
    const { m, pid } = setup();
    const p = ok(m.mmap(pid, 0n, 8192n, RW, ANON, -1, 0n));
    const used0 = m.k.phys.nrUsed;
    expect(m.load(pid, p, 8)).toEqual({ ok: true, value: 0n });
    expect(m.k.phys.nrUsed).toBe(used0 + 3); // PUD, PMD and PTE tables, no data frame
    expect(m.rusage(pid)).toEqual({ minFlt: 1, majFlt: 0 });
    ok(m.store(pid, p, 8, 42n) as never);
    expect(m.k.phys.nrUsed).toBe(used0 + 4);
    expect(m.rusage(pid)).toEqual({ minFlt: 2, majFlt: 0 });
    expect(m.load(pid, p, 8)).toEqual({ ok: true, value: 42n });
    expect(m.smaps(pid)).toContain('Anonymous:             4 kB');
  });

  it('a first write fault maps a dirty writable page in one fault', () => {
    const { m, pid } = setup();
    const p = ok(m.mmap(pid, 0n, 4n * 4096n, RW, ANON, -1, 0n));
    for (let i = 0n; i < 4n; i++) m.store(pid, p + i * 4096n, 1, 7n);
    expect(m.rusage(pid)).toEqual({ minFlt: 4, majFlt: 0 });
  });

  it('merges adjacent anonymous mappings with the same flags into one VMA', () => {
    const { m, pid } = setup();
    const a = ok(m.mmap(pid, 0n, 4096n, RW, ANON, -1, 0n));
    const b = ok(m.mmap(pid, 0n, 4096n, RW, ANON, -1, 0n));
    expect(b).toBe(a - 4096n);
    expect(mapsOf(m, pid)).toEqual([`${b.toString(16)}-${(a + 4096n).toString(16)} rw-p 00000000 00:00 0 `]);
  });

  it('SIGSEGV with SEGV_MAPERR outside any VMA and SEGV_ACCERR on PROT_NONE', () => {
    const { m, pid } = setup();
    const p = ok(m.mmap(pid, 0n, 4096n, PROT_NONE, ANON, -1, 0n));
    expect(m.load(pid, p, 1)).toEqual({ ok: false, fault: { signal: 'SIGSEGV', code: SEGV_ACCERR, addr: p } });
    expect(m.load(pid, 0x1000n, 1)).toEqual({ ok: false, fault: { signal: 'SIGSEGV', code: SEGV_MAPERR, addr: 0x1000n } });
    // Past TASK_SIZE, si_addr keeps all 64 bits (a failed mmap's -1 used as a pointer).
    expect(m.load(pid, 0xffffffffffffffffn, 8)).toEqual({ ok: false, fault: { signal: 'SIGSEGV', code: SEGV_MAPERR, addr: 0xffffffffffffffffn } });
    expect(m.storeBytes(pid, 0xfffffffffffffffen, new Uint8Array(4))).toEqual({ ok: false, fault: { signal: 'SIGSEGV', code: SEGV_MAPERR, addr: 0xfffffffffffffffen } });
    const r = ok(m.mmap(pid, 0n, 4096n, PROT_READ, ANON, -1, 0n));
    expect(m.store(pid, r, 1, 1n)).toEqual({ ok: false, fault: { signal: 'SIGSEGV', code: SEGV_ACCERR, addr: r } });
    expect(m.rusage(pid)).toEqual({ minFlt: 0, majFlt: 0 });
  });

  it('munmap of the middle page splits the VMA in two', () => {
    const { m, pid } = setup();
    const p = ok(m.mmap(pid, 0n, 3n * 4096n, RW, ANON, -1, 0n));
    ok(m.munmap(pid, p + 4096n, 4096n));
    const h = (x: bigint): string => x.toString(16);
    expect(mapsOf(m, pid)).toEqual([
      `${h(p)}-${h(p + 4096n)} rw-p 00000000 00:00 0 `,
      `${h(p + 8192n)}-${h(p + 12288n)} rw-p 00000000 00:00 0 `,
    ]);
    expect(m.load(pid, p + 4096n, 1).ok).toBe(false);
  });

  it('shared anonymous memory is a deleted /dev/zero shmem file', () => {
    const { m, pid } = setup();
    const p = ok(m.mmap(pid, 0n, 4096n, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0n));
    expect(mapsOf(m, pid)[0]).toMatch(/ rw-s 00000000 00:01 \d+ +\/dev\/zero \(deleted\)$/);
    expect(m.load(pid, p, 1)).toEqual({ ok: true, value: 0n });
    expect(m.smaps(pid)).toContain('VmFlags: rd wr sh mr mw me ms ');
  });
});

describe('file mappings and the page cache', () => {
  it('a store through MAP_SHARED is seen by read() at once, and a write() through the mapping', () => {
    const { m, pid } = setup();
    const fd = makeFile(m, pid, '/tmp/data.bin', 'hello world');
    const p = mapShared(m, pid, fd, 4096);
    ok(m.storeBytes(pid, p, bytes('HELLO')) as never);
    expect(text(m.read(pid, fd, 11n, 0n).data)).toBe('HELLO world');
    ok(m.write(pid, fd, bytes('J'), 0n));
    expect(m.load(pid, p, 1)).toEqual({ ok: true, value: BigInt('J'.charCodeAt(0)) });
  });

  it('MAP_PRIVATE copies on write: read() does not see the store, and a later write() is seen only until the copy', () => {
    const { m, pid } = setup();
    const fd = makeFile(m, pid, '/tmp/p.bin', 'abcdef');
    const p = ok(m.mmap(pid, 0n, 8192n, RW, MAP_PRIVATE, fd, 0n));
    expect(m.load(pid, p, 1)).toEqual({ ok: true, value: 97n });
    ok(m.write(pid, fd, bytes('X'), 1n));
    expect(m.load(pid, p + 1n, 1)).toEqual({ ok: true, value: 88n });
    ok(m.store(pid, p, 1, 122n) as never);
    expect(text(m.read(pid, fd, 6n, 0n).data)).toBe('aXcdef');
    ok(m.write(pid, fd, bytes('Y'), 2n));
    expect(m.load(pid, p + 2n, 1)).toEqual({ ok: true, value: 99n });
    expect(m.smaps(pid)).toMatch(/Private_Dirty:\s+4 kB\nReferenced:\s+4 kB\nAnonymous:\s+4 kB/);
  });

  it('SIGBUS for a page wholly past end of file; the tail of the last page reads as zeros', () => {
    const { m, pid } = setup();
    const fd = makeFile(m, pid, '/tmp/short.bin', 'xyz');
    const p = mapShared(m, pid, fd, 8192);
    expect(m.load(pid, p + 100n, 1)).toEqual({ ok: true, value: 0n });
    expect(m.load(pid, p + 4096n, 1)).toEqual({ ok: false, fault: { signal: 'SIGBUS', code: BUS_ADRERR, addr: p + 4096n } });
  });

  it('truncate removes pages past the new end: a later access raises SIGBUS, even on a private copy', () => {
    const { m, pid } = setup();
    const fd = makeFile(m, pid, '/tmp/t.bin', new Uint8Array(8192).fill(1));
    const s = mapShared(m, pid, fd, 8192);
    const q = ok(m.mmap(pid, 0n, 8192n, RW, MAP_PRIVATE, fd, 0n));
    ok(m.store(pid, q + 4096n, 1, 9n) as never);
    expect(m.load(pid, s + 4096n, 1)).toEqual({ ok: true, value: 1n });
    ok(m.ftruncate(pid, fd, 4096n));
    expect(m.load(pid, s + 4096n, 1).ok).toBe(false);
    expect(m.load(pid, q + 4096n, 1)).toMatchObject({ ok: false, fault: { signal: 'SIGBUS' } });
    expect(m.load(pid, s, 1)).toEqual({ ok: true, value: 1n });
  });

  it('a miss is a major fault that reads from the device; fault-around maps the neighbours', () => {
    const { m, pid } = setup();
    m.seedFile('/data/big.bin', new Uint8Array(64 * 4096).fill(5));
    const fd = Number(ok(m.openat(pid, -100, '/data/big.bin', 0)));
    const p = ok(m.mmap(pid, 0n, 64n * 4096n, PROT_READ, MAP_PRIVATE, fd, 0n));
    const reads0 = m.k.disk.stats.readRequests;
    expect(m.load(pid, p, 1)).toEqual({ ok: true, value: 5n });
    expect(m.rusage(pid)).toEqual({ minFlt: 0, majFlt: 1 });
    expect(m.k.disk.stats.readRequests).toBe(reads0 + 1);
    // Read-around brought 32 pages (128 KiB); the retried fault's fault-around
    // mapped pages 0..15 (Linux 6.18: no fault on the next page), 16.. need one more.
    for (let i = 1n; i < 16n; i++) expect(m.load(pid, p + i * 4096n, 1).ok).toBe(true);
    expect(m.rusage(pid)).toEqual({ minFlt: 0, majFlt: 1 });
    expect(m.load(pid, p + 16n * 4096n, 1).ok).toBe(true);
    expect(m.rusage(pid)).toEqual({ minFlt: 1, majFlt: 1 });
    expect(m.mincore(pid, p, 64n * 4096n).vec.reduce((a, b) => a + b, 0)).toBe(32);
  });

  it('msync(MS_SYNC) writes dirty pages to the device and write-protects them again', () => {
    const { m, pid } = setup();
    const fd = makeFile(m, pid, '/tmp/s.bin', new Uint8Array(4096));
    ok(m.fsync(pid, fd));
    const p = mapShared(m, pid, fd, 4096);
    const w0 = m.k.disk.stats.writeRequests;
    ok(m.store(pid, p, 1, 0x41n) as never);
    ok(m.msync(pid, p, 4096n, 4));
    expect(m.k.disk.stats.writeRequests).toBe(w0 + 1);
    const ino = m.process(pid)!.files.get(fd)!.inode.ino;
    expect(m.k.disk.peek(ino, 0)![0]).toBe(0x41);
    const f0 = m.rusage(pid)!.minFlt;
    ok(m.store(pid, p, 1, 0x42n) as never);
    expect(m.rusage(pid)!.minFlt).toBe(f0 + 1);
  });

  it('fdatasync writes the dirty pages of a shared mapping to the device and write-protects them, so the next store faults again', () => {
    const { m, pid } = setup();
    // Two page-sized writes: two single-page folios (one 8 KiB write would make an order-1 folio, dirtied whole).
    const fd = makeFile(m, pid, '/tmp/d.bin', new Uint8Array(4096));
    ok(m.write(pid, fd, new Uint8Array(4096)));
    ok(m.fsync(pid, fd));
    const p = mapShared(m, pid, fd, 2 * 4096);
    const mm = m.process(pid)!.mm;
    const pte = (addr: bigint): number => {
      const vpn = Number(addr / 4096n);
      return pteLookup(mm.pgd, vpn, mm.divisors, mm.indexMask)!.flags![vpn & mm.indexMask]!;
    };
    expect(m.load(pid, p + 4096n, 1)).toEqual({ ok: true, value: 0n }); // page 1 mapped, clean
    ok(m.store(pid, p, 1, 0x41n) as never); // page 0 dirty, through the mapping
    expect(pte(p) & (PTE_WRITE | PTE_DIRTY)).toBe(PTE_WRITE | PTE_DIRTY);
    expect(m.meminfo()).toMatch(/\nDirty:\s+4 kB/);
    const w0 = { ...m.k.disk.stats };
    const out0 = m.k.vmstat.pgpgout;
    ok(m.fdatasync(pid, fd));
    // One 4 KiB request: the dirty page only, not the clean one beside it.
    expect(m.k.disk.stats.writeRequests).toBe(w0.writeRequests + 1);
    expect(m.k.disk.stats.writeSectors).toBe(w0.writeSectors + 8);
    expect(m.k.vmstat.pgpgout).toBe(out0 + 4);
    const ino = m.process(pid)!.files.get(fd)!.inode.ino;
    expect(m.k.disk.peek(ino, 0)![0]).toBe(0x41);
    expect(m.meminfo()).toMatch(/\nDirty:\s+0 kB/);
    // folio_mkclean(): still mapped, read-only and clean.
    expect(pte(p) & (PTE_PRESENT | PTE_WRITE | PTE_DIRTY)).toBe(PTE_PRESENT);
    const f0 = m.rusage(pid)!.minFlt;
    ok(m.store(pid, p, 1, 0x42n) as never);
    expect(m.rusage(pid)!.minFlt).toBe(f0 + 1);
    expect(pte(p) & (PTE_WRITE | PTE_DIRTY)).toBe(PTE_WRITE | PTE_DIRTY);
    // Nothing dirty left after a second fdatasync: no request.
    ok(m.fdatasync(pid, fd));
    const w1 = m.k.disk.stats.writeRequests;
    ok(m.fdatasync(pid, fd));
    expect(m.k.disk.stats.writeRequests).toBe(w1);
    expect(m.k.disk.peek(ino, 0)![0]).toBe(0x42);
  });

  it('fsync and fdatasync of a directory succeed; of /dev/zero, /dev/null or the tty they are EINVAL (checked on Linux 6.18)', () => {
    const { m, pid } = setup();
    const dir = ok(m.openat(pid, AT_FDCWD, '/tmp', O_RDONLY));
    const zero = ok(m.openat(pid, AT_FDCWD, '/dev/zero', O_RDONLY));
    const nul = ok(m.openat(pid, AT_FDCWD, '/dev/null', O_RDONLY));
    for (const call of [m.fsync.bind(m), m.fdatasync.bind(m)]) {
      expect(call(pid, Number(dir))).toEqual({ ok: true, value: 0n });
      for (const fd of [Number(zero), Number(nul), 0]) expect(call(pid, fd)).toMatchObject({ ok: false, errno: 'EINVAL' });
      expect(call(pid, 99)).toMatchObject({ ok: false, errno: 'EBADF' });
    }
  });

  it('munmap does not write back; the data stays dirty in the page cache', () => {
    const { m, pid } = setup();
    const fd = makeFile(m, pid, '/tmp/u.bin', new Uint8Array(4096));
    ok(m.fsync(pid, fd));
    const p = mapShared(m, pid, fd, 4096);
    ok(m.store(pid, p, 1, 1n) as never);
    const w0 = m.k.disk.stats.writeRequests;
    ok(m.munmap(pid, p, 4096n));
    expect(m.k.disk.stats.writeRequests).toBe(w0);
    expect(m.meminfo()).toMatch(/Dirty:\s+4 kB/);
  });

  it('a mapping outlives unlink and close and shows (deleted)', () => {
    const { m, pid } = setup();
    const fd = makeFile(m, pid, '/tmp/gone.bin', 'data');
    const p = mapShared(m, pid, fd, 4096);
    ok(m.close(pid, fd));
    ok(m.unlink(pid, '/tmp/gone.bin'));
    expect(mapsOf(m, pid)[0]).toMatch(/\/tmp\/gone\.bin \(deleted\)$/);
    expect(text(m.loadBytes(pid, p, 4).ok ? (m.loadBytes(pid, p, 4) as { value: Uint8Array }).value : new Uint8Array())).toBe('data');
  });

  it('POSIX_FADV_DONTNEED drops clean unmapped pages, so the next fault is major', () => {
    const { m, pid } = setup();
    const fd = makeFile(m, pid, '/tmp/f.bin', new Uint8Array(4096).fill(3));
    ok(m.fsync(pid, fd));
    ok(m.fadvise(pid, fd, 0n, 0n, POSIX_FADV_DONTNEED));
    const p = ok(m.mmap(pid, 0n, 4096n, PROT_READ, MAP_PRIVATE, fd, 0n));
    expect(m.load(pid, p, 1)).toEqual({ ok: true, value: 3n });
    expect(m.rusage(pid)!.majFlt).toBe(1);
  });
});

describe('threads and MAP_FIXED', () => {
  it("one thread's MAP_FIXED silently replaces another thread's mapping", () => {
    const { m, pid } = setup();
    const t2 = m.createThread(pid)!;
    const a = ok(m.mmap(pid, 0n, 4096n, RW, ANON, -1, 0n));
    ok(m.store(pid, a, 8, 1234n) as never);
    const fd = makeFile(m, t2, '/tmp/clobber.bin', 'zzzzzzzz');
    expect(ok(m.mmap(t2, a, 4096n, RW, MAP_SHARED | 0x10, fd, 0n))).toBe(a);
    expect(m.load(pid, a, 1)).toEqual({ ok: true, value: 122n });
    expect(errno(m.mmap(pid, a, 4096n, RW, ANON | 0x100000, -1, 0n))).toBe('EEXIST');
  });
});

describe('the walk cache (paging-structure cache)', () => {
  it('forgets a PTE table freed by munmap: a new mapping at the same address faults and reads zeros', () => {
    const { m, pid } = setup();
    // One page alone in its 2 MiB: munmap flushes one TLB entry (not the whole TLB)
    // and free_pgtables() frees the PTE table the walk cache holds.
    const p = ok(m.mmap(pid, 0x40000000n, 4096n, RW, ANON | MAP_FIXED, -1, 0n));
    ok(m.store(pid, p, 8, 0x1234n) as never);
    const mm = m.task(pid)!.mm;
    expect(mm.tlb.walkLeaf).not.toBeNull();
    ok(m.munmap(pid, p, 4096n) as never);
    expect(mm.tlb.walkLeaf).toBeNull();
    m.validate();
    const q = ok(m.mmap(pid, p, 4096n, RW, ANON | MAP_FIXED, -1, 0n));
    expect(m.load(pid, q, 8)).toEqual({ ok: true, value: 0n });
    expect(m.rusage(pid)!.minFlt).toBe(2);
    m.validate();
  });

  it('after MADV_DONTNEED reclaims a whole PTE table, the next access faults and reads zeros', () => {
    const { m, pid } = setup();
    const len = 4n * 1024n * 1024n;
    const p = ok(m.mmap(pid, 0n, len, RW, ANON, -1, 0n));
    // A whole 2 MiB-aligned table's span: zap_pte_range() frees its table.
    const t = (p + 2n * 1024n * 1024n - 1n) & ~(2n * 1024n * 1024n - 1n);
    ok(m.store(pid, t, 8, 5n) as never);
    ok(m.madvise(pid, t, 2n * 1024n * 1024n, MADV_DONTNEED) as never);
    m.validate();
    expect(m.load(pid, t, 8)).toEqual({ ok: true, value: 0n });
    m.validate();
  });
});
