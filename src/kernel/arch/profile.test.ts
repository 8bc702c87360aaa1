/**
 * The architecture profiles against the kernel sources they model
 * (docs/model.md, "Architecture profiles"): the constants, the page-table
 * shape seen by an actual walk, the layout of a fresh process, where a PIE
 * is loaded, the hardware PTE bits, and what a 16 KiB page size refuses.
 */
import { describe, expect, it } from 'vitest';
import { ANON, RW, errno, ok, setup } from '../../../test/model-helpers.js';
import { type ElfImage, PF_R, PF_W, PF_X, PT_LOAD } from '../exec.js';
import { Machine } from '../machine.js';
import { walkAddress } from '../snapshot.js';
import { MAP_FIXED, MAP_HUGETLB, MAP_HUGE_SHIFT, MAP_SHARED, PROT_EXEC, PROT_NONE, PROT_READ } from '../uapi.js';
import { ARCH_PROFILES, type ArchName, type ArchProfile, arm64PgtableLevels } from './profile.js';
import { PTE_ACCESSED, PTE_DIRTY, PTE_NX, PTE_PRESENT, PTE_PROTNONE, PTE_SPECIAL, PTE_USER, PTE_WRITE, encodePte } from './pte.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const ARCHES: ArchName[] = ['x86_64', 'arm64-4k', 'arm64-16k'];

/**
 * What each profile must be, with the line that says so:
 * - x86_64: page_64_types.h TASK_SIZE_MAX = (1 << 47) - PAGE_SIZE, 4-level paging;
 *   elf.h ELF_ET_DYN_BASE = DEFAULT_MAP_WINDOW / 3 * 2 (0x555555554aaa);
 *   processor.h TASK_UNMAPPED_BASE = PAGE_ALIGN(TASK_SIZE / 3); hugetlb 2 MiB and 1 GiB.
 * - arm64: processor.h TASK_SIZE_64 = DEFAULT_MAP_WINDOW_64 = STACK_TOP = 1 << VA_BITS (VA_BITS <= 48);
 *   elf.h ELF_ET_DYN_BASE = 2 * DEFAULT_MAP_WINDOW_64 / 3; TASK_UNMAPPED_BASE = PAGE_ALIGN(DEFAULT_MAP_WINDOW / 4);
 *   Kconfig PGTABLE_LEVELS: 4 for 4K + VA_BITS_48, 3 for 16K + VA_BITS_47 (bcm2712_defconfig);
 *   hugetlbpage_init(): CONT_PTE (64 KiB | 2 MiB), PMD (2 MiB | 32 MiB), CONT_PMD (32 MiB | 1 GiB),
 *   PUD (1 GiB) only with 4 KiB pages.
 */
const EXPECTED: Record<ArchName, Omit<ArchProfile, 'name' | 'defaultMmapMinAddr' | 'lsmMmapMinAddr' | 'pteFormat' | 'hasVsyscall'>> = {
  x86_64: {
    pageShift: 12, pageSize: 4096, levels: 4, bitsPerLevel: 9, ptrsPerTable: 512, vaBits: 48,
    taskSize: 0x7ffffffff000, stackTop: 0x7ffffffff000, elfEtDynBase: 0x555555554000, taskUnmappedBase: 0x2aaaaaaab000,
    pmdSize: 2 * MiB, hugetlbSizeLogs: [21, 30], hugetlbfs: true, transparentHugepage: true, levelNames: ['pgd', 'pud', 'pmd', 'pte'],
  },
  'arm64-4k': {
    pageShift: 12, pageSize: 4096, levels: 4, bitsPerLevel: 9, ptrsPerTable: 512, vaBits: 48,
    taskSize: 0x1000000000000, stackTop: 0x1000000000000, elfEtDynBase: 0xaaaaaaaaa000, taskUnmappedBase: 0x400000000000,
    pmdSize: 2 * MiB, hugetlbSizeLogs: [16, 21, 25, 30], hugetlbfs: true, transparentHugepage: true, levelNames: ['pgd', 'pud', 'pmd', 'pte'],
  },
  'arm64-16k': {
    pageShift: 14, pageSize: 16384, levels: 3, bitsPerLevel: 11, ptrsPerTable: 2048, vaBits: 47,
    taskSize: 0x800000000000, stackTop: 0x800000000000, elfEtDynBase: 0x555555554000, taskUnmappedBase: 0x200000000000,
    pmdSize: 32 * MiB, hugetlbSizeLogs: [21, 25, 30], hugetlbfs: false, transparentHugepage: false, levelNames: ['pgd', 'pmd', 'pte'],
  },
};

describe('profile constants', () => {
  for (const name of ARCHES) {
    it(`${name} has the kernel's values`, () => {
      const a = ARCH_PROFILES[name];
      expect(a).toMatchObject(EXPECTED[name]);
      expect(a.hasVsyscall).toBe(name === 'x86_64');
      // The levels translate exactly the VA bits above the page offset.
      expect(a.pageShift + a.levels * a.bitsPerLevel).toBe(a.vaBits);
    });
  }

  it('arm64 levels follow ARM64_HW_PGTABLE_LEVELS(), as the Kconfig PGTABLE_LEVELS defaults do', () => {
    expect(arm64PgtableLevels(48, 12)).toBe(4); // default 4 if ARM64_VA_BITS_48
    expect(arm64PgtableLevels(39, 12)).toBe(3); // default 3 if ARM64_4K_PAGES && ARM64_VA_BITS_39
    expect(arm64PgtableLevels(47, 14)).toBe(3); // default 3 if ARM64_16K_PAGES && ARM64_VA_BITS_47
    expect(arm64PgtableLevels(48, 14)).toBe(4); // default 4 if ARM64_16K_PAGES && ARM64_VA_BITS_48
    expect(arm64PgtableLevels(36, 14)).toBe(2); // default 2 if ARM64_16K_PAGES && ARM64_VA_BITS_36
  });
});

/** An address whose index at each level (top first) is the given one. */
function addrOf(a: ArchProfile, indices: number[]): bigint {
  let v = 0n;
  for (const i of indices) v = (v << BigInt(a.bitsPerLevel)) | BigInt(i);
  return v << BigInt(a.pageShift);
}

describe('the page-table walk', () => {
  const cases: Record<ArchName, number[]> = {
    // x86_64: a 47-bit user space uses the lower half of the PGD (indices 0..255).
    x86_64: [0x55, 0x1a3, 0x0f0, 0x1ff],
    'arm64-4k': [0x1aa, 0x1a3, 0x0f0, 0x1ff],
    // arm64-16k: PGDIR_SHIFT 36, PTRS_PER_PGD = 1 << (47 - 36) = 2048 entries, all user.
    'arm64-16k': [0x5a5, 0x3c3, 0x7ff],
  };
  for (const name of ARCHES) {
    it(`${name}: a store is translated through ${EXPECTED[name].levels} levels of ${EXPECTED[name].bitsPerLevel} index bits`, () => {
      const { m, pid } = setup({ arch: name });
      const a = m.arch;
      const addr = addrOf(a, cases[name]);
      expect(addr % BigInt(a.pageSize)).toBe(0n);
      const before = Number(/VmPTE:\s+(\d+) kB/.exec(m.status(pid)!)![1]);
      expect(ok(m.mmap(pid, addr, BigInt(a.pageSize), RW, ANON | MAP_FIXED, -1, 0n))).toBe(addr);
      expect(m.store(pid, addr + 8n, 8, 0x1122334455667788n).ok).toBe(true);
      const walk = walkAddress(m.k, m.process(pid)!.mm, addr + 8n);
      expect(walk.levels.map((l) => l.level)).toEqual(EXPECTED[name].levelNames);
      expect(walk.levels.map((l) => l.index)).toEqual(cases[name]);
      expect(walk.levels.every((l) => l.present && l.tableFrame !== null)).toBe(true);
      // One table per level, each a page: the PGD, then a fresh table at every level below it.
      expect(new Set(walk.levels.map((l) => l.tableFrame)).size).toBe(a.levels);
      const after = Number(/VmPTE:\s+(\d+) kB/.exec(m.status(pid)!)![1]);
      expect(after - before).toBe(((a.levels - 1) * a.pageSize) / KiB);
      // The leaf holds the frame the store went to.
      expect(walk.pte!.raw >> BigInt(a.pageShift) & ((1n << 36n) - 1n)).toBe(BigInt(walk.pte!.pfn));
      expect(m.load(pid, addr + 8n, 8)).toEqual({ ok: true, value: 0x1122334455667788n });
    });
  }

  it('the highest user page: the last entry of every table on arm64; x86_64 stops a page short of the lower half of the PGD', () => {
    const last: Record<ArchName, number[]> = { x86_64: [255, 511, 511, 510], 'arm64-4k': [511, 511, 511, 511], 'arm64-16k': [2047, 2047, 2047] };
    for (const name of ARCHES) {
      const { m, pid } = setup({ arch: name });
      const a = m.arch;
      // The [stack] ends at the top of user space: touch its last page.
      const page = BigInt(a.stackTop - a.pageSize);
      expect(m.store(pid, page, 8, 1n).ok).toBe(true);
      const walk = walkAddress(m.k, m.process(pid)!.mm, page);
      expect(walk.levels.map((l) => l.index), name).toEqual(last[name]);
      // One byte higher is TASK_SIZE: not user space, whatever the tables say.
      expect(m.load(pid, BigInt(a.taskSize), 1)).toMatchObject({ ok: false, fault: { signal: 'SIGSEGV' } });
    }
  });
});

interface MapsLine {
  start: number;
  end: number;
  perms: string;
  name: string;
}

function mapsLines(m: Machine, pid: number): MapsLine[] {
  return m.maps(pid)!.trim().split('\n').map((l) => {
    const f = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(l)!;
    return { start: parseInt(f[1]!, 16), end: parseInt(f[2]!, 16), perms: f[3]!, name: f[4]! };
  });
}

describe('the layout of a fresh process (setarch -R)', () => {
  // mm/util.c:mmap_base(): STACK_TOP - max(RLIMIT_STACK 8 MiB + stack_guard_gap 256 pages, MIN_GAP 128 MiB).
  const mmapBase: Record<ArchName, number> = { x86_64: 0x7ffff7fff000, 'arm64-4k': 0xfffff8000000, 'arm64-16k': 0x7ffff8000000 };
  for (const name of ARCHES) {
    it(`${name}: [stack] below TASK_SIZE, [vvar]/[vdso] below mmap_base, the first mmap below them`, () => {
      const { m, pid } = setup({ arch: name });
      const a = m.arch;
      expect(m.process(pid)!.mm.mmapBase).toBe(mmapBase[name]);
      const lines = mapsLines(m, pid);
      const stack = lines.find((l) => l.name === '[stack]')!;
      // setup_arg_pages(): the argument page plus 128 KiB, ending at STACK_TOP.
      expect(stack).toMatchObject({ end: a.stackTop, perms: 'rw-p' });
      expect(stack.end - stack.start).toBe(128 * KiB + a.pageSize);
      const user = lines.filter((l) => l.name !== '[vsyscall]');
      expect(user.every((l) => l.end <= a.taskSize && l.start % a.pageSize === 0 && l.end % a.pageSize === 0)).toBe(true);
      expect(lines.some((l) => l.name === '[vsyscall]' && l.start === 0xffffffffff600000)).toBe(a.hasVsyscall);
      // arch_setup_additional_pages() maps top-down from mmap_base: the specials end there.
      const specials = lines.filter((l) => /^\[(vvar|vvar_vclock|vdso)\]$/.test(l.name));
      expect(specials.map((l) => l.name).at(-1)).toBe('[vdso]');
      expect(specials.at(-1)!.end).toBe(mmapBase[name]);
      // The first mmap(NULL, one page) goes top-down right below them.
      const p = Number(ok(m.mmap(pid, 0n, BigInt(a.pageSize), RW, ANON, -1, 0n)));
      expect(p).toBe(specials[0]!.start - a.pageSize);
      // A length that is not a page multiple is rounded to the profile's page (read-only: no merge with p).
      const q = Number(ok(m.mmap(pid, 0n, 4096n, PROT_READ, ANON, -1, 0n)));
      const line = mapsLines(m, pid).find((l) => l.start === q)!;
      expect(line.end - line.start).toBe(a.pageSize);
    });
  }
});

describe('where a PIE with an interpreter is loaded without ASLR', () => {
  const load = (flags: number, off: number, filesz: number, align: number) => ({ type: PT_LOAD, flags, offset: off, vaddr: off, filesz, memsz: filesz, align });
  /** A PIE whose PT_LOADs are 64 KiB apart (congruent modulo any page size) with the given p_align. */
  const pie = (align: number): ElfImage => ({
    path: '/bin/pie', type: 'dyn', entry: 0x10000, interp: '/lib/ld.so',
    phdrs: [load(PF_R, 0, 0x800, align), load(PF_R | PF_X, 0x10000, 0x800, align), load(PF_R | PF_W, 0x20000, 0x800, align)],
  });
  const ld: ElfImage = {
    path: '/lib/ld.so', type: 'dyn', entry: 0x10000, interp: null,
    phdrs: [load(PF_R | PF_X, 0, 0x800, 0x10000), load(PF_R | PF_W, 0x10000, 0x800, 0x10000)],
  };
  const base = (name: ArchName, align: number): number => {
    const m = new Machine({ arch: name, paranoid: true });
    m.seedFile('/bin/pie', new Uint8Array(0x20800));
    m.seedFile('/lib/ld.so', new Uint8Array(0x10800));
    const r = m.execImages(m.spawn(), pie(align), ld);
    if (!r.ok) throw new Error(r.reason);
    return r.layout.loadBias;
  };

  it('at ELF_ET_DYN_BASE, rounded down to the largest p_align (load_elf_binary(), maximum_alignment())', () => {
    expect(base('x86_64', 0x1000)).toBe(0x555555554000);
    expect(base('arm64-4k', 0x1000)).toBe(0xaaaaaaaaa000);
    // Debian's arm64 binaries are linked with 64 KiB p_align: gdb's familiar 0xaaaaaaaa0000.
    expect(base('arm64-4k', 0x10000)).toBe(0xaaaaaaaa0000);
    expect(base('arm64-16k', 0x4000)).toBe(0x555555554000);
    expect(base('arm64-16k', 0x10000)).toBe(0x555555550000);
    // A p_align below the page size counts as a page (ELF_PAGEALIGN()).
    expect(base('arm64-16k', 0x1000)).toBe(0x555555554000);
  });
});

describe('hardware PTE layout (encodePte)', () => {
  const pfn = 0x12345;
  const user = PTE_PRESENT | PTE_USER | PTE_ACCESSED;
  const b = (n: number): bigint => 1n << BigInt(n);

  it('x86_64: _PAGE_PRESENT, _PAGE_RW, _PAGE_USER, _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_NX (pgtable_types.h)', () => {
    const x86 = ARCH_PROFILES.x86_64;
    const frame = BigInt(pfn) << 12n;
    // _PAGE_BIT_PRESENT 0, _PAGE_BIT_RW 1, _PAGE_BIT_USER 2, _PAGE_BIT_ACCESSED 5, _PAGE_BIT_DIRTY 6, _PAGE_BIT_NX 63.
    expect(encodePte(x86, pfn, user | PTE_NX)).toBe(frame | b(0) | b(2) | b(5) | b(63));
    expect(encodePte(x86, pfn, user | PTE_WRITE | PTE_DIRTY | PTE_NX)).toBe(frame | b(0) | b(1) | b(2) | b(5) | b(6) | b(63));
    expect(encodePte(x86, pfn, user)).toBe(frame | b(0) | b(2) | b(5));
    // PAGE_NONE: _PAGE_PROTNONE (= _PAGE_GLOBAL, bit 8) | _PAGE_ACCESSED, not present to the MMU.
    expect(encodePte(x86, pfn, PTE_PRESENT | PTE_PROTNONE | PTE_ACCESSED)).toBe(frame | b(8) | b(5));
    // _PAGE_SPECIAL is _PAGE_SOFTW1, bit 9 (the zero page).
    expect(encodePte(x86, 0, user | PTE_SPECIAL | PTE_NX)).toBe(b(0) | b(2) | b(5) | b(9) | b(63));
    expect(encodePte(x86, pfn, 0)).toBe(0n);
  });

  for (const name of ['arm64-4k', 'arm64-16k'] as const) {
    it(`${name}: PTE_VALID, AP[1:2], AF, nG, DBM, PXN/UXN and the software dirty bit (pgtable-hwdef.h, pgtable-prot.h)`, () => {
      const a = ARCH_PROFILES[name];
      const frame = BigInt(pfn) << BigInt(a.pageShift);
      const VALID = b(0);
      const TYPE_PAGE = b(1) | b(0); // PTE_TYPE_PAGE (3 << 0)
      const USER = b(6); // AP[1]
      const RDONLY = b(7); // AP[2]
      const SHARED = 3n << 8n; // SH[1:0], inner shareable
      const AF = b(10);
      const NG = b(11);
      const DBM = b(51); // PTE_WRITE
      const PXN = b(53);
      const UXN = b(54);
      const SW_DIRTY = b(55);
      const SPECIAL = b(56);
      // PAGE_READONLY: _PAGE_DEFAULT | PTE_USER | PTE_RDONLY | PTE_NG | PTE_PXN | PTE_UXN.
      expect(encodePte(a, pfn, user | PTE_NX)).toBe(frame | TYPE_PAGE | SHARED | AF | USER | RDONLY | NG | PXN | UXN);
      // PAGE_READONLY_EXEC: no UXN.
      expect(encodePte(a, pfn, user)).toBe(frame | TYPE_PAGE | SHARED | AF | USER | RDONLY | NG | PXN);
      // A clean writable page (PAGE_SHARED: "clean by default, hence PTE_RDONLY|PTE_WRITE").
      expect(encodePte(a, pfn, user | PTE_WRITE | PTE_NX)).toBe(frame | TYPE_PAGE | SHARED | AF | USER | RDONLY | NG | DBM | PXN | UXN);
      // pte_mkdirty() of a writable entry: PTE_DIRTY set, PTE_RDONLY cleared.
      expect(encodePte(a, pfn, user | PTE_WRITE | PTE_DIRTY | PTE_NX)).toBe(frame | TYPE_PAGE | SHARED | AF | USER | NG | DBM | PXN | UXN | SW_DIRTY);
      // An old entry: PTE_AF clear.
      expect(encodePte(a, pfn, PTE_PRESENT | PTE_USER | PTE_NX) & AF).toBe(0n);
      // PAGE_NONE: the valid bit clear, PTE_PRESENT_INVALID (= PTE_NG), RDONLY, PXN and UXN.
      expect(encodePte(a, pfn, PTE_PRESENT | PTE_PROTNONE | PTE_ACCESSED)).toBe(frame | (TYPE_PAGE & ~VALID) | SHARED | AF | RDONLY | NG | PXN | UXN);
      expect(encodePte(a, 0, user | PTE_SPECIAL | PTE_NX)).toBe(TYPE_PAGE | SHARED | AF | USER | RDONLY | NG | PXN | UXN | SPECIAL);
    });
  }

  it('a walk shows what faults installed: the zero page read-only, then a dirty private copy', () => {
    const { m, pid } = setup({ arch: 'arm64-16k' });
    const p = ok(m.mmap(pid, 0n, 16384n, RW, ANON, -1, 0n));
    const mm = m.process(pid)!.mm;
    m.load(pid, p, 1);
    const zero = walkAddress(m.k, mm, p).pte!;
    // do_anonymous_page() read: the zero page, special, not writable (PTE_RDONLY, no DBM), never executable.
    expect(zero.raw & (b(0) | b(7) | b(51) | b(54) | b(56))).toBe(b(0) | b(7) | b(54) | b(56));
    m.store(pid, p, 1, 1n);
    const copy = walkAddress(m.k, mm, p).pte!;
    expect(copy.pfn).not.toBe(zero.pfn);
    // wp_page_copy(): pte_mkwrite(pte_mkdirty()): DBM and PTE_DIRTY, PTE_RDONLY clear.
    expect(copy.raw & (b(7) | b(51) | b(55) | b(56))).toBe(b(51) | b(55));
    expect(copy.raw >> 14n & ((1n << 34n) - 1n)).toBe(BigInt(copy.pfn));
  });
});

describe('page-size alignment on arm64-16k', () => {
  it('MAP_FIXED at a 4 KiB- but not 16 KiB-aligned address is EINVAL, and so are munmap and mprotect there', () => {
    const addr = 0x10000000n + 0x1000n;
    for (const name of ARCHES) {
      const { m, pid } = setup({ arch: name });
      const r = m.mmap(pid, addr, 0x1000n, RW, ANON | MAP_FIXED, -1, 0n);
      if (name === 'arm64-16k') {
        expect(errno(r)).toBe('EINVAL');
        ok(m.mmap(pid, 0x10000000n, 0x8000n, RW, ANON | MAP_FIXED, -1, 0n));
        expect(errno(m.munmap(pid, addr, 0x1000n))).toBe('EINVAL');
        expect(errno(m.mprotect(pid, addr, 0x1000n, PROT_READ))).toBe('EINVAL');
        // A 4 KiB file offset is not a page offset either.
        const fd = Number(ok(m.memfdCreate(pid, 'f', 0)));
        ok(m.ftruncate(pid, fd, 0x8000n));
        expect(errno(m.mmap(pid, 0n, 0x4000n, PROT_READ, MAP_SHARED, fd, 0x1000n))).toBe('EINVAL');
        expect(ok(m.mmap(pid, 0n, 0x4000n, PROT_READ, MAP_SHARED, fd, 0x4000n)) % 0x4000n).toBe(0n);
      } else {
        expect(ok(r)).toBe(addr);
      }
    }
  });
});

describe('hugetlb sizes (MAP_HUGETLB | MAP_HUGE_*)', () => {
  // A size the architecture registers gets as far as the (empty) pool: ENOMEM; any other is EINVAL.
  const sizes: Record<ArchName, Record<number, string>> = {
    x86_64: { 16: 'EINVAL', 21: 'ENOMEM', 25: 'EINVAL', 30: 'ENOMEM', 36: 'EINVAL' },
    'arm64-4k': { 16: 'ENOMEM', 21: 'ENOMEM', 25: 'ENOMEM', 30: 'ENOMEM', 36: 'EINVAL' },
    // No PUD size with 16 KiB pages (pud_sect_supported() is PAGE_SIZE == SZ_4K): no 64 GiB pages.
    'arm64-16k': { 16: 'EINVAL', 21: 'ENOMEM', 25: 'ENOMEM', 30: 'ENOMEM', 36: 'EINVAL' },
  };
  for (const name of ARCHES) {
    it(`${name}: ${Object.entries(sizes[name]).filter(([, e]) => e === 'ENOMEM').map(([s]) => `2^${s}`).join(', ')}`, () => {
      // arm64-16k's kernel (the Pi 5's) has no hugetlbfs: its sizes are the architecture's, for a kernel that has.
      const { m, pid } = setup({ arch: name, settings: { hugetlbfs: true } });
      for (const [log, want] of Object.entries(sizes[name])) {
        const flags = ANON | MAP_HUGETLB | (Number(log) << MAP_HUGE_SHIFT);
        expect(errno(m.mmap(pid, 0n, 1n << 30n, RW, flags, -1, 0n)), `2^${log}`).toBe(want);
      }
    });
  }
});

describe('hugetlbfs in the profile\'s kernel', () => {
  it('arm64-16k (bcm2712_defconfig, no CONFIG_HUGETLBFS): every MAP_HUGETLB size is EINVAL', () => {
    const { m, pid } = setup({ arch: 'arm64-16k' });
    for (const log of [0, 21, 25, 30]) expect(errno(m.mmap(pid, 0n, 1n << 30n, RW, ANON | MAP_HUGETLB | (log << MAP_HUGE_SHIFT), -1, 0n)), `2^${log}`).toBe('EINVAL');
  });
});

describe('access checks', () => {
  it('a PROT_EXEC-only page is readable on arm64 without FEAT_EPAN, as on x86_64; PROT_NONE is not', () => {
    for (const name of ARCHES) {
      const { m, pid } = setup({ arch: name, settings: { protectionKeys: false } });
      const ps = BigInt(m.arch.pageSize);
      const x = ok(m.mmap(pid, 0n, ps, PROT_EXEC, ANON, -1, 0n));
      expect(m.load(pid, x, 1), name).toEqual({ ok: true, value: 0n });
      expect(m.store(pid, x, 1, 1n), name).toMatchObject({ ok: false, fault: { signal: 'SIGSEGV', code: 2 } });
      const n = ok(m.mmap(pid, 0n, ps, PROT_NONE, ANON, -1, 0n));
      expect(m.load(pid, n, 1), name).toMatchObject({ ok: false, fault: { signal: 'SIGSEGV', code: 2 } });
    }
  });
});
