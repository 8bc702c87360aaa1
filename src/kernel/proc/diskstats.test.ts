/**
 * The simulated disk's accounting: pgpgin counts only blocks read from the
 * device (holes read as zeros without I/O, as ext4 maps them), and
 * /proc/diskstats shows requests, sectors and the latency model's
 * milliseconds in Linux's field order.
 */
import { describe, expect, it } from 'vitest';
import { makeFile, mapShared, ok, setup } from '../../../test/model-helpers.js';
import { DEFAULT_LATENCY } from '../fs/blockdev.js';
import { MS_SYNC, POSIX_FADV_DONTNEED } from '../uapi.js';

function vmstatField(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  if (m === null) throw new Error(`no ${name} in vmstat`);
  return Number(m[1]);
}

describe('disk accounting', () => {
  it('a fault on a hole reads nothing from the device; pgpgin counts the kilobytes that were read', () => {
    const { m, pid } = setup();
    const fd = makeFile(m, pid, '/sparse', 'data');
    // 128 pages, of which only page 0 has a block; write it back and drop the cache.
    ok(m.ftruncate(pid, fd, 128n * 4096n));
    ok(m.fsync(pid, fd));
    ok(m.fadvise(pid, fd, 0n, 0n, POSIX_FADV_DONTNEED));
    const before = vmstatField(m.vmstat(), 'pgpgin');
    const sectors = m.k.disk.stats.readSectors;
    const map = mapShared(m, pid, fd, 128 * 4096);
    // Page 100 is a hole, and so is every page of the read-around window around it.
    expect(m.load(pid, map + 100n * 4096n, 1)).toEqual({ ok: true, value: 0n });
    expect(m.k.disk.stats.readSectors).toBe(sectors);
    expect(vmstatField(m.vmstat(), 'pgpgin')).toBe(before);
    // Page 0 holds the data: its read-around window reads one 4 KiB block, 8 sectors, 4 kB.
    expect(m.load(pid, map, 1)).toEqual({ ok: true, value: BigInt('d'.charCodeAt(0)) });
    expect(m.k.disk.stats.readSectors - sectors).toBe(8);
    expect(vmstatField(m.vmstat(), 'pgpgin') - before).toBe(4);
  });

  it('/proc/diskstats: requests, sectors and milliseconds charged by the latency model', () => {
    const { m, pid } = setup();
    const fd = makeFile(m, pid, '/f', '');
    ok(m.ftruncate(pid, fd, 40n * 4096n));
    const map = mapShared(m, pid, fd, 40 * 4096);
    // 40 separate write requests: a store to one page, then msync of that page.
    for (let i = 0n; i < 40n; i++) {
      expect(m.store(pid, map + i * 4096n, 1, 7n).ok).toBe(true);
      ok(m.msync(pid, map + i * 4096n, 4096n, MS_SYNC));
    }
    const perRequest = DEFAULT_LATENCY.perRequestNs + 4096 * DEFAULT_LATENCY.perByteNs;
    const writeMs = Math.floor((40 * perRequest) / 1e6);
    expect(writeMs).toBeGreaterThan(0);
    const fields = m.diskstats().trim().split(/\s+/);
    expect(fields.slice(0, 3)).toEqual(['254', '0', 'vda']);
    // reads, merges, sectors, ms; writes, merges, sectors, ms; in flight, io_ticks, time in queue.
    expect(fields.slice(3, 14).map(Number)).toEqual([0, 0, 0, 0, 40, 0, 320, writeMs, 0, writeMs, writeMs]);
    expect(fields).toHaveLength(20);
  });
});
