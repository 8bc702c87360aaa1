import { describe, expect, it } from 'vitest';
import { ANON, RW, makeFile, ok, setup } from '../../test/model-helpers.js';
import { MAP_SHARED } from './uapi.js';

function stateOf(m: ReturnType<typeof setup>['m'], pid: number): string {
  const mm = m.process(pid)!.mm;
  const t = mm.tlb;
  return JSON.stringify({
    maps: m.maps(pid), smaps: m.smaps(pid), vmstat: m.vmstat(), meminfo: m.meminfo(), rusage: m.rusage(pid),
    tlb: [Array.from(t.vpn), Array.from(t.perm), t.fills], used: m.k.phys.nrUsed, disk: m.k.disk.stats,
  });
}

describe('snapshots', () => {
  it('describe VMAs, the page walk, frames and the page cache without changing anything', () => {
    const { m, pid } = setup();
    const a = ok(m.mmap(pid, 0n, 8192n, RW, ANON, -1, 0n));
    m.store(pid, a, 8, 1n);
    const fd = makeFile(m, pid, '/tmp/snap.bin', 'abc');
    const f = ok(m.mmap(pid, 0n, 4096n, RW, MAP_SHARED, fd, 0n));
    m.load(pid, f, 1);
    const before = stateOf(m, pid);
    const vmas = m.vmas(pid)!;
    const walkA = m.walk(pid, a)!;
    const walkHole = m.walk(pid, a + 4096n)!;
    const frames = m.frames();
    const frame0 = m.frame(0);
    const cache = m.pageCache();
    const tlb = m.tlb(pid)!;
    const pagemap = m.pagemap(pid)!;
    const counters = m.counters(pid);
    const global = m.counters();
    expect(stateOf(m, pid)).toBe(before);
    expect(JSON.stringify(m.counters(pid))).toBe(JSON.stringify(counters));

    expect(vmas.find((v) => v.start === a)).toMatchObject({ perms: 'rw-p', kind: 'anon', resident: 1, flagNames: 'rd wr mr mw me ac' });
    expect(vmas.find((v) => v.start === f)).toMatchObject({ perms: 'rw-s', kind: 'file-shared', name: '/tmp/snap.bin', resident: 1 });
    expect(walkA.levels.map((l) => l.level)).toEqual(['pgd', 'pud', 'pmd', 'pte']);
    expect(walkA.levels.every((l) => l.present)).toBe(true);
    expect(walkA.pte!.flags).toEqual(['present', 'write', 'user', 'accessed', 'dirty', 'nx']);
    // x86: present, RW, user, accessed, dirty and NX (bit 63) around the frame number.
    expect(walkA.pte!.raw).toBe((BigInt(walkA.pte!.pfn) << 12n) | 0x67n | (1n << 63n));
    expect(walkHole.pte).toBeNull();
    expect(walkHole.levels[3]!.present).toBe(false);
    const anonFrame = frames.find((fr) => fr.pfn === walkA.pte!.pfn)!;
    expect(anonFrame).toMatchObject({ kind: 'anon', refcount: 1, mapcount: 1 });
    expect(cache.find((c) => c.path === '/tmp/snap.bin')!.pages).toHaveLength(1);
    expect(tlb.some((e) => e.addr === a && e.writable)).toBe(true);
    expect(frame0.kind).toBe('zero');
    expect(pagemap.find((e) => e.addr === a)).toEqual({ addr: a, pfn: walkA.pte!.pfn, writable: true, huge: false });
    expect(pagemap.find((e) => e.addr === f)).toMatchObject({ writable: false, huge: false });

    // write(2) put the file's one page in the cache, dirty until something syncs it.
    const snap = cache.find((c) => c.path === '/tmp/snap.bin')!;
    expect(snap).toMatchObject({ size: 3, uptodate: 1, dirty: 1, writeback: 0 });
    expect(counters.memory.dirty).toBe(1);

    // Two faults (the anonymous store, the file load) and what they left.
    expect(counters.vmstat.pgfault).toBe(2);
    expect(counters.process).toMatchObject({ pid, threads: 1, minFlt: 2, majFlt: 0, rssAnon: 1, rssFile: 1, rssShmem: 0 });
    expect(counters.process!.minFlt).toBe(m.rusage(pid)!.minFlt);
    expect(counters.memory.used).toBe(frames.length - 1);
    expect(counters.memory.anon).toBe(frames.filter((fr) => fr.kind === 'anon').length);
    expect(counters.memory.pageTables).toBe(frames.filter((fr) => fr.kind === 'pagetable').length);
    expect(counters.memory.total - counters.memory.free - 1).toBe(counters.memory.used);
    expect(counters.disk).toEqual(m.k.disk.stats);
    expect(global.process).toBeNull();
    expect({ ...global, process: counters.process }).toEqual(counters);

    // A pid that is not a live process.
    expect(m.vmas(99999)).toBeUndefined();
    expect(m.walk(99999, a)).toBeUndefined();
    expect(m.counters(99999).process).toBeNull();

    // fsync() writes it back: clean, and counted as written.
    ok(m.fsync(pid, fd));
    expect(m.pageCache().find((c) => c.path === '/tmp/snap.bin')).toMatchObject({ uptodate: 1, dirty: 0 });
    expect(m.counters().vmstat.pgpgout).toBe(counters.vmstat.pgpgout + 4);
    expect(m.counters().disk.writeRequests).toBe(counters.disk.writeRequests + 1);
  });
});
