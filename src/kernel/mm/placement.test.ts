import { describe, expect, it } from 'vitest';
import { ANON, RW, ok, setup } from '../../../test/model-helpers.js';

const PMD = 2n * 1024n * 1024n;

describe('THP alignment of anonymous mappings (__get_unmapped_area())', () => {
  for (const thpEnabled of ['always', 'madvise', 'never'] as const) {
    it(`a 2 MiB-multiple anonymous private mmap is PMD aligned with THP "${thpEnabled}" (a build-time test in Linux)`, () => {
      const { m, pid } = setup({ settings: { thpEnabled } });
      ok(m.mmap(pid, 0n, 4096n, RW, ANON, -1, 0n));
      expect(ok(m.mmap(pid, 0n, PMD, RW, ANON, -1, 0n)) % PMD).toBe(0n);
      expect(ok(m.mmap(pid, 0n, 2n * PMD, RW, ANON, -1, 0n)) % PMD).toBe(0n);
    });
  }

  it('not for a length that is not a multiple of 2 MiB: placed directly below', () => {
    const { m, pid } = setup();
    const a = ok(m.mmap(pid, 0n, 4096n, RW, ANON, -1, 0n));
    const b = ok(m.mmap(pid, 0n, PMD + 4096n, RW, ANON, -1, 0n));
    expect(b).toBe(a - PMD - 4096n);
  });
});
