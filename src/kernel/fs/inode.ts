/**
 * struct inode for the model's file systems: an ext4-like disk file
 * system on the simulated block device, shmem (tmpfs) for memfd_create()
 * and MAP_SHARED|MAP_ANONYMOUS memory (mm/shmem.c), and hugetlbfs for
 * anonymous MAP_HUGETLB memory (fs/hugetlbfs/inode.c).
 */
import type { AddressSpace } from '../mm/filemap.js';
import type { BlockDevice } from './blockdev.js';

export type InodeKind = 'disk' | 'shmem' | 'hugetlbfs';

export class Inode {
  readonly ino: number;
  readonly kind: InodeKind;
  readonly devMajor: number;
  readonly devMinor: number;
  mode: number;
  /** i_size in bytes. */
  size = 0;
  nlink = 1;
  /** i_count: open files plus mappings holding it. */
  refs = 0;
  /**
   * The character device this inode is (S_IFCHR): /dev/zero and /dev/null as
   * drivers/char/mem.c has them, or a terminal; null for a regular file.
   */
  chr: 'zero' | 'null' | 'tty' | null = null;
  /** Pages shmem_acct_size() charged to the commit limit for this shmem inode, released when it is freed. */
  acctPages = 0;
  /** hstate_inode() -> huge_page_size(): the huge page size of a hugetlbfs inode, else 0. */
  hpageSize = 0;
  /** Seals for memfd (F_SEAL_*), unused by the model beyond storage. */
  seals = 0;
  readonly blockdev: BlockDevice | null;
  /** Set by the page-cache layer right after construction. */
  mapping!: AddressSpace;

  constructor(ino: number, kind: InodeKind, devMajor: number, devMinor: number, mode: number, blockdev: BlockDevice | null) {
    this.ino = ino;
    this.kind = kind;
    this.devMajor = devMajor;
    this.devMinor = devMinor;
    this.mode = mode;
    this.blockdev = blockdev;
  }
}
