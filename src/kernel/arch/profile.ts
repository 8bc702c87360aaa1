/**
 * Architecture profiles: page size, page-table shape, user address-space size
 * and the default layout constants the kernel derives from them
 * (arch/x86/include/asm/page_64_types.h, arch/arm64/include/asm/memory.h,
 * mm/util.c:mmap_base()). Nothing else in the model hard-codes a page size.
 */

/** The architecture profiles the model has. */
export type ArchName = 'x86_64' | 'arm64-4k' | 'arm64-16k';

/** What the model takes from the architecture: page size, page-table shape, user address-space size and the layout constants. */
export interface ArchProfile {
  /** The profile's name. */
  readonly name: ArchName;
  /** log2 of the base page size. */
  readonly pageShift: number;
  /** PAGE_SIZE: the base page size in bytes (4096 or 16384). */
  readonly pageSize: number;
  /** Page-table levels, counting the leaf (PTE) level. */
  readonly levels: number;
  /** Index bits per level: pageShift - 3 (eight-byte entries). */
  readonly bitsPerLevel: number;
  /** Entries per table: 1 << bitsPerLevel. */
  readonly ptrsPerTable: number;
  /** Bits of user virtual address. */
  readonly vaBits: number;
  /** TASK_SIZE: the first address above user space. */
  readonly taskSize: number;
  /** STACK_TOP without randomization. */
  readonly stackTop: number;
  /** ELF_ET_DYN_BASE: where a PIE executable is loaded without randomization. */
  readonly elfEtDynBase: number;
  /** Size mapped by one entry of the level above the PTE table (PMD_SIZE): the THP size. */
  readonly pmdSize: number;
  /**
   * log2 of the hugetlb page sizes the architecture registers (hstates, for
   * MAP_HUGE_*): x86_64 2 MiB and 1 GiB; arm64 its PMD and PUD sizes and the
   * contiguous-bit ones.
   */
  readonly hugetlbSizeLogs: readonly number[];
  /** mmap_min_addr default (the lowest address mmap may hand out). */
  readonly mmapMinAddr: number;
  /** Which hardware PTE bit layout to display. */
  readonly pteFormat: 'x86' | 'arm64';
  /** Whether the architecture has the legacy [vsyscall] page. */
  readonly hasVsyscall: boolean;
  /** Names of the page-table levels from the top, for display. */
  readonly levelNames: readonly string[];
}

function makeProfile(
  name: ArchName,
  pageShift: number,
  vaBits: number,
  taskSize: number,
  pteFormat: 'x86' | 'arm64',
  elfEtDynBase: number,
  hugetlbSizeLogs: readonly number[],
): ArchProfile {
  const bitsPerLevel = pageShift - 3;
  // arch/arm64/include/asm/pgtable-hwdef.h: ARM64_HW_PGTABLE_LEVELS(va) = (va - 4) / (PAGE_SHIFT - 3)
  const levels = Math.floor((vaBits - 4) / bitsPerLevel);
  const pageSize = 2 ** pageShift;
  const allNames = ['pgd', 'p4d', 'pud', 'pmd', 'pte'];
  const levelNames = levels === 4 ? ['pgd', 'pud', 'pmd', 'pte'] : allNames.slice(allNames.length - levels);
  return {
    name,
    pageShift,
    pageSize,
    levels,
    bitsPerLevel,
    ptrsPerTable: 2 ** bitsPerLevel,
    vaBits,
    taskSize,
    stackTop: taskSize,
    elfEtDynBase,
    pmdSize: 2 ** (pageShift + bitsPerLevel),
    hugetlbSizeLogs,
    mmapMinAddr: 65536,
    pteFormat,
    hasVsyscall: pteFormat === 'x86',
    levelNames,
  };
}

/** x86_64, 4 KiB pages, four levels, 47-bit user space (TASK_SIZE_MAX = 2^47 - PAGE_SIZE). */
export const X86_64: ArchProfile = makeProfile('x86_64', 12, 48, 2 ** 47 - 4096, 'x86', 0x555555554000, [21, 30]);

/** arm64 with 4 KiB pages and 48-bit virtual addresses (Debian's arm64 kernels). */
export const ARM64_4K: ArchProfile = makeProfile('arm64-4k', 12, 48, 2 ** 48, 'arm64', 0xaaaaaaaaa000, [16, 21, 25, 30]);

/**
 * arm64 with 16 KiB pages as in the Raspberry Pi 5's default kernel (kernel_2712.img,
 * CONFIG_ARM64_16K_PAGES with 48-bit virtual addresses: four levels, the top one with two entries).
 */
export const ARM64_16K: ArchProfile = makeProfile('arm64-16k', 14, 48, 2 ** 48, 'arm64', 0xaaaaaaaa8000, [21, 25, 30, 36]);

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
