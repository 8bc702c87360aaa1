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

describe('mmap_min_addr: vm.mmap_min_addr for MAP_FIXED, CONFIG_LSM_MMAP_MIN_ADDR for hints', () => {
  /** MAP_FIXED of one page at each address, then where a hint of 0x1000 lands. */
  function probe(arch: 'x86_64' | 'arm64-4k' | 'arm64-16k', settings: { privileged?: boolean; mmapMinAddr?: number } = {}): string[] {
    const { m, pid } = setup({ arch, settings });
    const ps = BigInt(m.arch.pageSize);
    const out: string[] = [];
    for (const a of [0n, 0x1000n, 0x4000n, 0x8000n, 0x10000n]) {
      const r = m.mmap(pid, a, ps, RW, ANON | 0x10 /* MAP_FIXED */, -1, 0n);
      out.push(`${a.toString(16)}:${r.ok ? 'ok' : r.errno}`);
      if (r.ok) ok(m.munmap(pid, a, ps));
    }
    const h = ok(m.mmap(pid, 0x1000n, ps, RW, ANON, -1, 0n));
    out.push(`hint:${h < 0x100000n ? h.toString(16) : 'top-down'}`);
    return out;
  }

  it('x86_64 as on Debian (measured on the host as nobody and as root): MAP_FIXED down to 0x1000, hints from 0x10000', () => {
    expect(probe('x86_64')).toEqual(['0:EPERM', '1000:ok', '4000:ok', '8000:ok', '10000:ok', 'hint:10000']);
    // CAP_SYS_RAWIO: even page 0.
    expect(probe('x86_64', { privileged: true })).toEqual(['0:ok', '1000:ok', '4000:ok', '8000:ok', '10000:ok', 'hint:10000']);
    // vm.mmap_min_addr = 65536, as Ubuntu's sysctl sets it.
    expect(probe('x86_64', { mmapMinAddr: 65536 })).toEqual(['0:EPERM', '1000:EPERM', '4000:EPERM', '8000:EPERM', '10000:ok', 'hint:10000']);
  });

  it('arm64-16k as on the Raspberry Pi 5 (no SELinux, 4096): the page at 0x4000 maps', () => {
    // 0x1000 is not 16 KiB-aligned: EINVAL before the capability check. round_hint_to_min()
    // masks the hint to the page first, so 0x1000 becomes NULL: no hint, a top-down search.
    expect(probe('arm64-16k')).toEqual(['0:EPERM', '1000:EINVAL', '4000:ok', '8000:ok', '10000:ok', 'hint:top-down']);
  });

  it('arm64-4k as Debian arm64 (SELinux with CONFIG_COMPAT: 32768): MAP_FIXED down to 0x1000, hints from 0x8000', () => {
    expect(probe('arm64-4k')).toEqual(['0:EPERM', '1000:ok', '4000:ok', '8000:ok', '10000:ok', 'hint:8000']);
  });
});
