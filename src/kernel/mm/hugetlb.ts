/**
 * hugetlbfs VMAs with an empty huge page pool (mm/hugetlb.c,
 * fs/hugetlbfs/inode.c): anonymous MAP_HUGETLB memory is a file on the
 * internal hugetlbfs mount of its huge page size (hstate). The model has no
 * huge pages (vm.nr_hugepages = 0, no surplus): a mapping needs MAP_NORESERVE
 * (hugetlb_reserve_pages() fails otherwise) and every fault on it is SIGBUS
 * (handleMmFault() -> hugetlbFault()).
 */
import type { Kernel } from '../kernel.js';
import type { File } from '../fs/file.js';
import type { Vma } from './vma.js';
import { VM_HUGETLB } from './vm-flags.js';

/** HUGETLB_ANON_FILE: the name /proc shows for anonymous hugetlb memory. */
export const HUGETLB_ANON_FILE = '/anon_hugepage';

/**
 * The device minor of the internal hugetlbfs mount of a huge page size
 * (init_hugetlbfs_fs(): the default hstate's mount first, then the others).
 * Deviation: the numbers are those this host's boot gave them (00:11 for the
 * default 2 MiB size, 00:12 for 1 GiB); anonymous device numbers depend on
 * what else mounted first, so another kernel may show others.
 */
export function hugetlbfsDevMinor(k: Kernel, sizeLog: number): number {
  const def = defaultHstateLog(k);
  if (sizeLog === def) return 0x11;
  const others = k.arch.hugetlbSizeLogs.filter((s) => s !== def);
  return 0x12 + others.indexOf(sizeLog);
}

/** default_hstate: HPAGE_SIZE, the PMD size on x86_64 and arm64. */
export function defaultHstateLog(k: Kernel): number {
  return Math.log2(k.arch.pmdSize);
}

/** hugetlb_file_setup(HUGETLB_ANON_FILE, size, VM_NORESERVE, HUGETLB_ANONHUGE_INODE, sizeLog). */
export function hugetlbFileSetup(k: Kernel, size: number, sizeLog: number): File {
  return k.vfs.hugetlbFileSetup(HUGETLB_ANON_FILE, size, 2 ** sizeLog, hugetlbfsDevMinor(k, sizeLog));
}

/** is_file_hugepages() */
export function isFileHugepages(file: File | null): boolean {
  return file !== null && file.inode.kind === 'hugetlbfs';
}

/** is_vm_hugetlb_page() */
export function isVmHugetlbPage(vma: Vma): boolean {
  return (vma.flags & VM_HUGETLB) !== 0;
}

/** hstate_vma() -> huge_page_size(): the VMA's huge page size (the page size for any other VMA). */
export function vmaKernelPagesize(vma: Vma, pageSize: number): number {
  return isVmHugetlbPage(vma) && vma.file !== null ? vma.file.inode.hpageSize : pageSize;
}

/**
 * hugetlb_vm_op_split(), the hugetlb VMA's vm_ops->may_split that
 * __split_vma() calls: a split only at a huge page boundary, else EINVAL.
 */
export function hugetlbVmOpSplit(vma: Vma, addr: number): 0 | 'EINVAL' {
  if (isVmHugetlbPage(vma) && addr % vmaKernelPagesize(vma, 1) !== 0) return 'EINVAL';
  return 0;
}
