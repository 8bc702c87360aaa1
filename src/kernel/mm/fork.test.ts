import { describe, expect, it } from 'vitest';
import { ANON, RW, errno, ok, setup } from '../../../test/model-helpers.js';

describe('dup_mmap', () => {
  // Found by mmsim fuzz --model-only (seed 7, arm64-16k): with every frame in use, the child's
  // top-level table could not be allocated and the model threw instead of failing the fork.
  it('fork() with no frame left for the child page tables is ENOMEM and leaves the parent whole', () => {
    const { m, pid } = setup({ settings: { memTotal: 256 * 4096, overcommitMemory: 1 } });
    const len = 512n * 4096n;
    const p = ok(m.mmap(pid, 0n, len, RW, ANON, -1, 0n));
    // Touch pages until the model runs out of frames (the store is killed).
    let touched = 0n;
    while (touched < len && m.store(pid, p + touched, 1, 1n).ok) touched += 4096n;
    expect(touched).toBeLessThan(len);
    expect(m.k.phys.nrFree).toBe(0);
    const maps = m.maps(pid);
    expect(errno(m.fork(pid))).toBe('ENOMEM');
    expect(m.maps(pid)).toBe(maps);
    expect(m.load(pid, p, 1)).toEqual({ ok: true, value: 1n });
    m.validate();
  });
});
