/**
 * Large folios in ext4's page cache and what the fault path does with them,
 * with the fault counts measured on Linux 6.18 (x86_64, /tmp on ext4).
 */
import { describe, expect, it } from 'vitest';
import { ok, setup } from '../../../test/model-helpers.js';
import { AT_FDCWD, MAP_SHARED, O_CREAT, O_RDWR, O_TRUNC, POSIX_FADV_DONTNEED, PROT_EXEC, PROT_READ, PROT_WRITE } from '../uapi.js';
import { Machine } from '../machine.js';
import { folioOf } from './filemap.js';

const PS = 4096;

function openFile(m: Machine, pid: number, path: string): number {
  return Number(ok(m.openat(pid, AT_FDCWD, path, O_RDWR | O_CREAT | O_TRUNC, 0o644)));
}

/** A cached file of `pages` pages written with write() in `chunkPages` chunks and fsynced (bench_fault_file). */
function writtenFile(m: Machine, pid: number, pages: number, chunkPages: number): number {
  const fd = openFile(m, pid, '/tmp/folio.bin');
  const chunk = new Uint8Array(chunkPages * PS).fill(0x5a);
  for (let i = 0; i < pages; i += chunkPages) ok(m.write(pid, fd, chunk));
  ok(m.fsync(pid, fd));
  return fd;
}

function mappingOf(m: Machine, fd: number, pid: number) {
  return m.task(pid)!.process.files.fds[fd]!.file.inode.mapping;
}

describe('large folios (ext4)', () => {
  it('write() builds folios of the order fgf_set_order() asks for; a plain file system keeps order 0', () => {
    const { m, pid } = setup();
    const fd = writtenFile(m, pid, 512, 256);
    const as = mappingOf(m, fd, pid);
    expect(folioOf(as, 0)).toEqual({ head: 0, nr: 256 });
    expect(folioOf(as, 300)).toEqual({ head: 256, nr: 256 });
    const s = setup({ settings: { diskFs: 'simple' } });
    const fd2 = writtenFile(s.m, s.pid, 64, 16);
    expect(mappingOf(s.m, fd2, s.pid).folios.size).toBe(0);
  });

  it('fault-around maps a whole folio inside the VMA and page table, but not one ending at end of file', () => {
    // Not paranoid: validated once at the end (a full check after each of 1,024 loads is slow).
    const m = new Machine();
    const pid = m.spawn();
    const fd = writtenFile(m, pid, 1024, 256);
    // 4 MiB: thp_get_unmapped_area() aligns the mapping to 2 MiB, so no folio crosses a page table.
    const p = ok(m.mmap(pid, 0n, BigInt(1024 * PS), PROT_READ, MAP_SHARED, fd, 0n));
    expect(p % (2n << 20n)).toBe(0n);
    for (let i = 0; i < 1024; i++) m.load(pid, p + BigInt(i * PS), 1);
    // 3 whole folios in one fault each; the last, ending at EOF, one 16-page window at a time.
    expect(m.rusage(pid)).toEqual({ minFlt: 3 + 16, majFlt: 0 });
    m.validate();
  });

  it('readahead ramps up to order-2 folios, and a shared write fault maps a whole folio', () => {
    const m = new Machine({ settings: { readAheadKb: 8192 } });
    const pid = m.spawn();
    const fd = openFile(m, pid, '/tmp/sparse.bin');
    ok(m.ftruncate(pid, fd, BigInt(4096 * PS)));
    const p = ok(m.mmap(pid, 0n, BigInt(4096 * PS), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0n));
    for (let i = 0; i < 4096; i++) m.store(pid, p + BigInt(i * PS), 1, 1n);
    // Measured on Linux 6.18: 1 major fault, a minor one per page for the 2048 pages read
    // around it, then one per order-2 folio readahead built for the rest.
    expect(m.rusage(pid)).toEqual({ minFlt: 2559, majFlt: 1 });
    expect(folioOf(mappingOf(m, fd, pid), 3001)).toEqual({ head: 3000, nr: 4 });
    m.validate();
  });

  it('POSIX_FADV_DONTNEED drops a large folio only when the range covers all of it', () => {
    const { m, pid } = setup();
    const fd = writtenFile(m, pid, 16, 16);
    const p = ok(m.mmap(pid, 0n, BigInt(16 * PS), PROT_READ, MAP_SHARED, fd, 0n));
    ok(m.fadvise(pid, fd, 0n, BigInt(8 * PS), POSIX_FADV_DONTNEED));
    expect([...m.mincore(pid, p, BigInt(16 * PS)).vec]).toEqual(new Array(16).fill(1));
    ok(m.fadvise(pid, fd, 0n, BigInt(16 * PS), POSIX_FADV_DONTNEED));
    expect([...m.mincore(pid, p, BigInt(16 * PS)).vec]).toEqual(new Array(16).fill(0));
  });

  it('truncation splits a folio it cuts', () => {
    const { m, pid } = setup();
    const fd = writtenFile(m, pid, 16, 16);
    const as = mappingOf(m, fd, pid);
    expect(folioOf(as, 5).nr).toBe(16);
    ok(m.ftruncate(pid, fd, BigInt(5 * PS + 100)));
    expect(folioOf(as, 5).nr).toBe(1);
    expect(as.pages.size).toBe(6);
  });
});

describe('ext4 end-of-file zeroing and executable read-around', () => {
  it('shrinking to the middle of a page caches that page, not uptodate: mincore 0, then a minor fault', () => {
    const { m, pid } = setup({ settings: { readAheadKb: 8192 } });
    const fd = openFile(m, pid, '/tmp/shrink.bin');
    ok(m.ftruncate(pid, fd, BigInt(2 * PS)));
    const p = ok(m.mmap(pid, 0n, BigInt(2 * PS), PROT_READ, MAP_SHARED, fd, 0n));
    ok(m.ftruncate(pid, fd, 100n));
    expect([...m.mincore(pid, p, BigInt(PS)).vec]).toEqual([0]);
    m.load(pid, p + 100n, 1);
    expect(m.rusage(pid)).toEqual({ minFlt: 1, majFlt: 0 });
    expect([...m.mincore(pid, p, BigInt(PS)).vec]).toEqual([1]);
  });

  it('an executable mapping reads around only inside the VMA', () => {
    const { m, pid } = setup({ settings: { readAheadKb: 8192 } });
    const fd = openFile(m, pid, '/tmp/exec.bin');
    ok(m.ftruncate(pid, fd, BigInt(5 * PS)));
    const p = ok(m.mmap(pid, 0n, BigInt(4 * PS), PROT_READ | PROT_EXEC, MAP_SHARED, fd, BigInt(PS)));
    m.load(pid, p + BigInt(3 * PS), 1);
    expect([...m.mincore(pid, p, BigInt(4 * PS)).vec]).toEqual([0, 0, 0, 1]);
    m.load(pid, p + BigInt(2 * PS), 1);
    expect(m.rusage(pid)).toEqual({ minFlt: 0, majFlt: 2 });
  });
});

describe('large folios under random operations', () => {
  it.each([
    [1, 0], [2, 0], [3, 0], [4, 0], [5, 0], [6, 0], [7, 0], [8, 0],
    // A small machine, where page-cache allocation runs out of memory.
    [9, 1], [10, 1], [11, 1],
  ])('keep every invariant (paranoid machine) through writes, truncation, faults and reclaim (seed %i, small %i)', (s0, small) => {
    let seed = s0;
    let most = 0;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return Math.floor(seed / 65536) % n;
    };
    const { m, pid } = setup({ settings: small ? { readAheadKb: 256, memTotal: 1 << 20 } : { readAheadKb: 256 } });
    const fd = openFile(m, pid, '/tmp/random.bin');
    const maps: bigint[] = [];
    const pages = 96;
    for (let step = 0; step < 400; step++) {
      const op = rnd(9);
      if (op === 0) {
        const len = (1 + rnd(64)) * PS - rnd(2) * rnd(PS);
        const w = m.write(pid, fd, new Uint8Array(len).fill(1 + rnd(200)), BigInt(rnd(pages) * PS + rnd(2) * rnd(PS)));
        if (!small) ok(w);
      } else if (op === 1) {
        m.ftruncate(pid, fd, BigInt(rnd(pages * PS)));
      } else if (op === 2 || maps.length === 0) {
        const prot = rnd(2) ? PROT_READ | PROT_WRITE : PROT_READ;
        const r = m.mmap(pid, 0n, BigInt(pages * PS), prot, rnd(2) ? MAP_SHARED : 0x02, fd, 0n);
        if (r.ok) maps.push(r.value);
      } else if (op === 3) {
        m.load(pid, maps[rnd(maps.length)]! + BigInt(rnd(pages) * PS), 1);
      } else if (op === 4) {
        m.store(pid, maps[rnd(maps.length)]! + BigInt(rnd(pages) * PS), 1, 7n);
      } else if (op === 5) {
        m.fadvise(pid, fd, BigInt(rnd(pages) * PS), BigInt(rnd(pages) * PS), POSIX_FADV_DONTNEED);
      } else if (op === 6) {
        m.madvise(pid, maps[rnd(maps.length)]! + BigInt(rnd(pages) * PS), BigInt((1 + rnd(16)) * PS), 21 /* MADV_PAGEOUT */);
      } else if (op === 7) {
        m.msync(pid, maps[rnd(maps.length)]!, BigInt(pages * PS), 4 /* MS_SYNC */);
      } else {
        const i = rnd(maps.length);
        m.munmap(pid, maps[i]!, BigInt(pages * PS));
        maps.splice(i, 1);
      }
      most = Math.max(most, mappingOf(m, fd, pid).folios.size);
    }
    expect(most).toBeGreaterThan(0);
  });
});
