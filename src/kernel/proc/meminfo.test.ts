import { describe, expect, it } from 'vitest';
import type { Machine } from '../machine.js';
import { ANON, RW, makeFile, ok, setup } from '../../../test/model-helpers.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, MS_SYNC, POSIX_FADV_DONTNEED } from '../uapi.js';

/**
 * /proc/meminfo after concrete steps: each expected change is worked out
 * from what the step must do (the frames a fault takes, the pages a read
 * brings in), not read back from the counters meminfo is computed from.
 */
type Meminfo = Record<string, number>;

function meminfo(m: Machine): Meminfo {
  const out: Meminfo = {};
  for (const l of m.meminfo().split('\n')) {
    const hit = /^(\w+): +(\d+) kB$/.exec(l);
    if (hit) out[hit[1]!] = Number(hit[2]);
  }
  return out;
}

/** after - before, field by field, only the fields that moved. */
function delta(before: Meminfo, after: Meminfo): Meminfo {
  const d: Meminfo = {};
  for (const k of Object.keys(after)) if (after[k] !== before[k]) d[k] = after[k]! - before[k]!;
  return d;
}

const KB = 4; // x86_64: 4 KiB pages

describe('/proc/meminfo', () => {
  it('an anonymous write fault: AnonPages one page more, MemFree less that page and the tables the walk built', () => {
    const { m, pid } = setup();
    const p = ok(m.mmap(pid, 0n, 4n * 4096n, RW, ANON, -1, 0n));
    const m0 = meminfo(m);
    expect(m0['MemTotal']! - m0['MemFree']!).toBeGreaterThan(0);
    // A fresh process has only its PGD: the first fault builds PUD, PMD and PTE tables (4 levels).
    ok(m.store(pid, p, 8, 1n) as never);
    const m1 = meminfo(m);
    expect(delta(m0, m1)).toEqual({ AnonPages: KB, PageTables: 3 * KB, MemFree: -4 * KB });
    // The next page sits in the same PTE table: one frame.
    ok(m.store(pid, p + 4096n, 8, 1n) as never);
    const m2 = meminfo(m);
    expect(delta(m1, m2)).toEqual({ AnonPages: KB, MemFree: -KB });
    // A read maps the shared zero page: nothing taken.
    expect(m.load(pid, p + 2n * 4096n, 8)).toEqual({ ok: true, value: 0n });
    expect(delta(m2, meminfo(m))).toEqual({});
    // munmap gives back both frames, and whatever tables free_pgtables() could drop.
    ok(m.munmap(pid, p, 4n * 4096n));
    const d = delta(m2, meminfo(m));
    expect(d['AnonPages']).toBe(-2 * KB);
    expect(d['MemFree']).toBe(2 * KB - (d['PageTables'] ?? 0));
    expect(d['Committed_AS']).toBe(-4 * KB);
  });

  it('write() fills the page cache dirty, fsync cleans it, FADV_DONTNEED drops it, read() brings it back into Cached', () => {
    const { m, pid } = setup();
    const m0 = meminfo(m);
    const fd = makeFile(m, pid, '/tmp/c.bin', new Uint8Array(4 * 4096).fill(7));
    const m1 = meminfo(m);
    expect(delta(m0, m1)).toEqual({ Cached: 4 * KB, Dirty: 4 * KB, MemFree: -4 * KB });
    ok(m.fsync(pid, fd));
    const m2 = meminfo(m);
    expect(delta(m1, m2)).toEqual({ Dirty: -4 * KB });
    ok(m.fadvise(pid, fd, 0n, 0n, POSIX_FADV_DONTNEED));
    const m3 = meminfo(m);
    expect(delta(m2, m3)).toEqual({ Cached: -4 * KB, MemFree: 4 * KB });
    // Readahead stops at the end of the file: its four pages, clean.
    expect(m.read(pid, fd, 4n * 4096n, 0n).data.every((b) => b === 7)).toBe(true);
    expect(delta(m3, meminfo(m))).toEqual({ Cached: 4 * KB, MemFree: -4 * KB });
  });

  it('a store to a private file mapping not yet cached: the page comes into Cached and its copy into AnonPages', () => {
    const { m, pid } = setup();
    const fd = makeFile(m, pid, '/tmp/p.bin', new Uint8Array(4096).fill(1));
    ok(m.fsync(pid, fd));
    ok(m.fadvise(pid, fd, 0n, 0n, POSIX_FADV_DONTNEED));
    const p = ok(m.mmap(pid, 0n, 4096n, RW, MAP_PRIVATE, fd, 0n));
    const m0 = meminfo(m);
    ok(m.store(pid, p, 1, 2n) as never);
    // do_cow_fault(): the file page read in, a copy mapped, PUD+PMD+PTE tables built.
    expect(delta(m0, meminfo(m))).toEqual({ Cached: KB, AnonPages: KB, PageTables: 3 * KB, MemFree: -5 * KB });
  });

  it('shared anonymous memory counts in Shmem and Cached, not AnonPages or Dirty, once for all the processes mapping it', () => {
    const { m, pid } = setup();
    const p = ok(m.mmap(pid, 0n, 3n * 4096n, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0n));
    ok(m.store(pid, p, 1, 1n) as never);
    const m0 = meminfo(m);
    ok(m.store(pid, p + 4096n, 1, 1n) as never);
    const m1 = meminfo(m);
    expect(delta(m0, m1)).toEqual({ Shmem: KB, Cached: KB, MemFree: -KB });
    const child = Number(ok(m.fork(pid)));
    const m2 = meminfo(m);
    ok(m.store(child, p + 4096n, 1, 2n) as never); // the page both already share
    const m3 = meminfo(m);
    expect([m3['Shmem'], m3['Cached'], m3['AnonPages']]).toEqual([m2['Shmem'], m2['Cached'], m2['AnonPages']]);
    ok(m.store(child, p + 2n * 4096n, 1, 2n) as never); // a new page of the same object
    expect(delta(m3, meminfo(m))).toMatchObject({ Shmem: KB, Cached: KB });
    expect(meminfo(m)['AnonPages']).toBe(m0['AnonPages']);
    expect(m.load(pid, p + 2n * 4096n, 1)).toEqual({ ok: true, value: 2n });
  });

  it('Writeback counts the pages under I/O while the disk write is in flight, and none once it completes', () => {
    const { m, pid } = setup();
    const fd = makeFile(m, pid, '/tmp/w.bin', new Uint8Array(3 * 4096));
    ok(m.fsync(pid, fd));
    const p = ok(m.mmap(pid, 0n, 3n * 4096n, RW, MAP_SHARED, fd, 0n));
    for (let i = 0n; i < 3n; i++) ok(m.store(pid, p + i * 4096n, 1, 9n) as never);
    const before = meminfo(m);
    expect([before['Dirty'], before['Writeback']]).toEqual([3 * KB, 0]);
    const seen: Meminfo[] = [];
    const off = m.subscribe((e) => {
      if (e.type === 'io_write') seen.push(meminfo(m));
    });
    ok(m.msync(pid, p, 3n * 4096n, MS_SYNC));
    off();
    // One request for the three contiguous pages: all three under writeback, none dirty.
    expect(seen.map((s) => [s['Writeback'], s['Dirty']])).toEqual([[3 * KB, 0]]);
    const after = meminfo(m);
    expect([after['Dirty'], after['Writeback'], after['Cached']]).toEqual([0, 0, before['Cached']]);
  });

  it('on arm64 with 16 KiB pages, an anonymous fault counts 16 kB of AnonPages', () => {
    const { m, pid } = setup({ arch: 'arm64-16k' });
    const p = ok(m.mmap(pid, 0n, 16384n, RW, ANON, -1, 0n));
    expect(m.load(pid, p, 1).ok).toBe(true); // tables built, zero page mapped
    const m0 = meminfo(m);
    ok(m.store(pid, p, 1, 1n) as never);
    expect(delta(m0, meminfo(m))).toEqual({ AnonPages: 16, MemFree: -16 });
  });
});
