import { describe, expect, it } from 'vitest';
import { ANON, RW, makeFile, ok, setup } from '../../test/model-helpers.js';
import { MAP_SHARED } from './uapi.js';
import { snapshotFrames, snapshotPageCache, snapshotTlb, snapshotVmas, walkAddress } from './snapshot.js';

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
    const mm = m.process(pid)!.mm;
    const vmas = snapshotVmas(mm);
    const walkA = walkAddress(m.k, mm, a);
    const walkHole = walkAddress(m.k, mm, a + 4096n);
    const frames = snapshotFrames(m.k);
    const cache = snapshotPageCache(m.k);
    const tlb = snapshotTlb(mm);
    expect(stateOf(m, pid)).toBe(before);

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
  });
});
