/**
 * Architecture profiles: page size, page-table shape, user address-space size
 * and the default layout constants the kernel derives from them
 * (arch/x86/include/asm/page_64_types.h, arch/x86/include/asm/elf.h,
 * arch/arm64/include/asm/{memory.h,processor.h,elf.h,pgtable-hwdef.h},
 * arch/arm64/Kconfig, mm/util.c:mmap_base()). Nothing else in the model
 * hard-codes a page size.
 *
 * Each profile is one kernel configuration (docs/model.md, "Architecture
 * profiles", lists the values and the source lines they come from):
 * - x86_64: 4 KiB pages, 4-level paging (no LA57), 47-bit user space.
 * - arm64-4k: CONFIG_ARM64_4K_PAGES, CONFIG_ARM64_VA_BITS_48 (Debian's arm64
 *   kernels up to 6.1; their later VA_BITS_52 builds give user space the same
 *   48 bits and four levels on CPUs without FEAT_LPA2).
 * - arm64-16k: the Raspberry Pi 5's default kernel (kernel_2712.img, built
 *   from arch/arm64/configs/bcm2712_defconfig of raspberrypi/linux rpi-6.6.y
 *   and rpi-6.12.y): CONFIG_ARM64_16K_PAGES, CONFIG_ARM64_VA_BITS_47, hence
 *   CONFIG_PGTABLE_LEVELS=3.
 */

/** The architecture profiles the model has. */
export type ArchName = 'x86_64' | 'arm64-4k' | 'arm64-16k';

/** What the model takes from the architecture: page size, page-table shape, user address-space size and the layout constants. */
export interface ArchProfile {
  /** The profile's name. */
  readonly name: ArchName;
  /** log2 of the base page size (PAGE_SHIFT). */
  readonly pageShift: number;
  /** PAGE_SIZE: the base page size in bytes (4096 or 16384). */
  readonly pageSize: number;
  /** Page-table levels, counting the leaf (PTE) level (CONFIG_PGTABLE_LEVELS). */
  readonly levels: number;
  /** Index bits per level: pageShift - 3 (eight-byte entries). */
  readonly bitsPerLevel: number;
  /** Entries per table: 1 << bitsPerLevel. */
  readonly ptrsPerTable: number;
  /** Bits of virtual address the page tables translate (VA_BITS; 48 on x86_64 with 4 levels). */
  readonly vaBits: number;
  /** TASK_SIZE: the first address above user space. */
  readonly taskSize: number;
  /** STACK_TOP without randomization: the end of the [stack] VMA. */
  readonly stackTop: number;
  /**
   * ELF_ET_DYN_BASE page-aligned (ELF_PAGESTART()): where a PIE with an
   * interpreter is loaded without randomization when its PT_LOADs ask for no
   * more than page alignment; load_elf_binary() rounds it down further to the
   * largest p_align (exec.ts).
   */
  readonly elfEtDynBase: number;
  /**
   * TASK_UNMAPPED_BASE: where a failed top-down search retries bottom-up
   * (x86: PAGE_ALIGN(TASK_SIZE / 3); arm64: PAGE_ALIGN(DEFAULT_MAP_WINDOW / 4)).
   */
  readonly taskUnmappedBase: number;
  /** Size mapped by one entry of the level above the PTE table (PMD_SIZE): the THP size. */
  readonly pmdSize: number;
  /**
   * log2 of the hugetlb page sizes the architecture registers (hstates, for
   * MAP_HUGE_*): x86_64 2 MiB and 1 GiB; arm64 the contiguous-PTE, PMD and
   * contiguous-PMD sizes, and the PUD size with 4 KiB pages only
   * (arch/arm64/mm/hugetlbpage.c:hugetlbpage_init(), pud_sect_supported()).
   */
  readonly hugetlbSizeLogs: readonly number[];
  /**
   * CONFIG_HUGETLBFS (with CONFIG_HUGETLB_PAGE) in the kernel the profile
   * stands for: without it every MAP_HUGETLB mmap is EINVAL (hstate_sizelog()
   * finds no size). Settings.hugetlbfs overrides it.
   */
  readonly hugetlbfs: boolean;
  /**
   * CONFIG_TRANSPARENT_HUGEPAGE in the kernel the profile stands for: without
   * it there are no huge PMDs, no THP alignment, MADV_HUGEPAGE is EINVAL, and
   * the page cache holds only single pages (mapping_max_folio_order() is 0).
   * Settings.transparentHugepage overrides it.
   */
  readonly transparentHugepage: boolean;
  /**
   * CONFIG_DEFAULT_MMAP_MIN_ADDR of the kernel the profile stands for: vm.mmap_min_addr
   * at boot (Settings.mmapMinAddr overrides it). Below it MAP_FIXED needs CAP_SYS_RAWIO.
   */
  readonly defaultMmapMinAddr: number;
  /**
   * CONFIG_LSM_MMAP_MIN_ADDR (0 without SELinux built in): the kernel's
   * mmap_min_addr is the larger of it and vm.mmap_min_addr, and no search or
   * address hint goes below that (security/min_addr.c: update_mmap_min_addr()).
   */
  readonly lsmMmapMinAddr: number;
  /** Which hardware PTE bit layout to display. */
  readonly pteFormat: 'x86' | 'arm64';
  /** Whether the architecture has the legacy [vsyscall] page. */
  readonly hasVsyscall: boolean;
  /** Names of the page-table levels from the top, for display (folded levels left out). */
  readonly levelNames: readonly string[];
}

/** arm64 ARM64_HW_PGTABLE_LEVELS(va_bits) (pgtable-hwdef.h), which arch/arm64/Kconfig's PGTABLE_LEVELS defaults follow. */
export function arm64PgtableLevels(vaBits: number, pageShift: number): number {
  return Math.floor((vaBits - 4) / (pageShift - 3));
}

/**
 * The hugetlb sizes arm64's hugetlbpage_init() registers: PUD_SHIFT if
 * pud_sect_supported() (4 KiB pages) and a PUD level exists, CONT_PMD_SHIFT,
 * PMD_SHIFT, CONT_PTE_SHIFT. CONFIG_ARM64_CONT_PTE_SHIFT is 4 with 4 KiB and
 * 7 with 16 KiB pages, CONFIG_ARM64_CONT_PMD_SHIFT 4 and 5 (arch/arm64/Kconfig).
 */
function arm64HugetlbSizeLogs(pageShift: number, levels: number): number[] {
  const bits = pageShift - 3;
  const pmdShift = pageShift + bits;
  const contPte = (pageShift === 12 ? 4 : 7) + pageShift;
  const contPmd = (pageShift === 12 ? 4 : 5) + pmdShift;
  const out = [contPte, pmdShift, contPmd];
  if (pageShift === 12 && levels > 3) out.push(pmdShift + bits);
  return out.sort((a, b) => a - b);
}

interface ProfileSpec {
  name: ArchName;
  pageShift: number;
  vaBits: number;
  levels: number;
  taskSize: number;
  stackTop: number;
  elfEtDynBase: number;
  taskUnmappedBase: number;
  hugetlbSizeLogs: readonly number[];
  hugetlbfs: boolean;
  transparentHugepage: boolean;
  pteFormat: 'x86' | 'arm64';
  defaultMmapMinAddr: number;
  lsmMmapMinAddr: number;
}

function makeProfile(s: ProfileSpec): ArchProfile {
  const bitsPerLevel = s.pageShift - 3;
  // The folded levels: p4d with four levels (x86_64 without LA57, arm64 48-bit),
  // p4d and pud with three (arm64 CONFIG_PGTABLE_LEVELS=3: asm-generic/pgtable-nopud.h).
  const levelNames = s.levels === 4 ? ['pgd', 'pud', 'pmd', 'pte'] : s.levels === 3 ? ['pgd', 'pmd', 'pte'] : ['pgd', 'p4d', 'pud', 'pmd', 'pte'].slice(5 - s.levels);
  return {
    name: s.name,
    pageShift: s.pageShift,
    pageSize: 2 ** s.pageShift,
    levels: s.levels,
    bitsPerLevel,
    ptrsPerTable: 2 ** bitsPerLevel,
    vaBits: s.vaBits,
    taskSize: s.taskSize,
    stackTop: s.stackTop,
    elfEtDynBase: s.elfEtDynBase,
    taskUnmappedBase: s.taskUnmappedBase,
    pmdSize: 2 ** (s.pageShift + bitsPerLevel),
    hugetlbSizeLogs: s.hugetlbSizeLogs,
    hugetlbfs: s.hugetlbfs,
    transparentHugepage: s.transparentHugepage,
    defaultMmapMinAddr: s.defaultMmapMinAddr,
    lsmMmapMinAddr: s.lsmMmapMinAddr,
    pteFormat: s.pteFormat,
    hasVsyscall: s.pteFormat === 'x86',
    levelNames,
  };
}

const pageDown = (x: bigint, shift: number): number => Number(x & ~((1n << BigInt(shift)) - 1n));
const pageUp = (x: bigint, shift: number): number => pageDown(x + (1n << BigInt(shift)) - 1n, shift);

/**
 * x86_64 with 4-level paging: TASK_SIZE_MAX = DEFAULT_MAP_WINDOW = 2^47 - PAGE_SIZE
 * (page_64_types.h), ELF_ET_DYN_BASE = DEFAULT_MAP_WINDOW / 3 * 2 (elf.h) = 0x555555554aaa,
 * loaded at 0x555555554000; TASK_UNMAPPED_BASE = PAGE_ALIGN(TASK_SIZE / 3) (processor.h).
 */
function x86_64(): ArchProfile {
  const window = (1n << 47n) - 4096n;
  return makeProfile({
    name: 'x86_64',
    pageShift: 12,
    vaBits: 48,
    levels: 4,
    taskSize: Number(window),
    stackTop: Number(window),
    elfEtDynBase: pageDown((window / 3n) * 2n, 12),
    taskUnmappedBase: pageUp(window / 3n, 12),
    hugetlbSizeLogs: [21, 30],
    hugetlbfs: true,
    transparentHugepage: true,
    pteFormat: 'x86',
    // Debian's kernel: vm.mmap_min_addr 4096 (the Kconfig default), SELinux built in with
    // CONFIG_LSM_MMAP_MIN_ADDR=65536, so hints and searches stay at or above 0x10000 while
    // MAP_FIXED may go down to 0x1000 (both measured on this project's host).
    defaultMmapMinAddr: 4096,
    lsmMmapMinAddr: 65536,
  });
}

/**
 * arm64 with VA_BITS <= 48 (so VA_BITS_MIN = vabits_actual = VA_BITS, memory.h):
 * TASK_SIZE_64 = DEFAULT_MAP_WINDOW_64 = STACK_TOP = 2^VA_BITS (processor.h),
 * ELF_ET_DYN_BASE = 2 * DEFAULT_MAP_WINDOW_64 / 3 (elf.h),
 * TASK_UNMAPPED_BASE = PAGE_ALIGN(DEFAULT_MAP_WINDOW / 4) (processor.h).
 */
function arm64(name: ArchName, pageShift: number, vaBits: number, lsmMmapMinAddr: number, hugetlbfs: boolean, transparentHugepage: boolean): ArchProfile {
  const window = 1n << BigInt(vaBits);
  const levels = arm64PgtableLevels(vaBits, pageShift);
  return makeProfile({
    name,
    pageShift,
    vaBits,
    levels,
    taskSize: Number(window),
    stackTop: Number(window),
    elfEtDynBase: pageDown((2n * window) / 3n, pageShift),
    taskUnmappedBase: pageUp(window / 4n, pageShift),
    hugetlbSizeLogs: arm64HugetlbSizeLogs(pageShift, levels),
    hugetlbfs,
    transparentHugepage,
    pteFormat: 'arm64',
    defaultMmapMinAddr: 4096,
    lsmMmapMinAddr,
  });
}

/** x86_64, 4 KiB pages, four levels, 47-bit user space (TASK_SIZE_MAX = 2^47 - PAGE_SIZE). */
export const X86_64: ArchProfile = x86_64();

/**
 * arm64 with 4 KiB pages and 48-bit virtual addresses (Debian's arm64 kernels:
 * CONFIG_ARM64_VA_BITS_48): four levels, user space 2^48, PIE base 0xaaaaaaaaa000.
 * SELinux is built in with CONFIG_COMPAT, so CONFIG_LSM_MMAP_MIN_ADDR is 32768.
 */
export const ARM64_4K: ArchProfile = arm64('arm64-4k', 12, 48, 32768, true, true);

/**
 * arm64 with 16 KiB pages as in the Raspberry Pi 5's default kernel (kernel_2712.img,
 * bcm2712_defconfig: CONFIG_ARM64_16K_PAGES, CONFIG_ARM64_VA_BITS_47): three levels
 * (pgd, pmd, pte; 11 + 11 + 11 index bits), user space 2^47, PIE base 0x555555554000.
 * bcm2712_defconfig does not set CONFIG_DEFAULT_MMAP_MIN_ADDR and builds AppArmor, not
 * SELinux (no CONFIG_LSM_MMAP_MIN_ADDR), so mmap_min_addr is the Kconfig default, 4096:
 * the second 16 KiB page, at 0x4000, is the lowest that can be mapped.
 * bcm2712_defconfig enables neither CONFIG_HUGETLBFS (MAP_HUGETLB is EINVAL) nor
 * CONFIG_TRANSPARENT_HUGEPAGE (no huge PMDs, MADV_HUGEPAGE EINVAL, single-page folios
 * in the page cache); Settings.hugetlbfs and Settings.transparentHugepage turn the
 * architecture's sizes (32 MiB PMD) back on.
 */
export const ARM64_16K: ArchProfile = arm64('arm64-16k', 14, 47, 0, false, false);

/** Every profile, by name. */
export const ARCH_PROFILES: Readonly<Record<ArchName, ArchProfile>> = {
  x86_64: X86_64,
  'arm64-4k': ARM64_4K,
  'arm64-16k': ARM64_16K,
};

/** The profile called `name`, or undefined for a name the model does not have. */
export function archProfile(name: string): ArchProfile | undefined {
  return Object.prototype.hasOwnProperty.call(ARCH_PROFILES, name) ? ARCH_PROFILES[name as ArchName] : undefined;
}
