/**
 * Tunables whose value changes what the kernel does, with Linux's defaults.
 * The oracle replaces them with the host's values for a comparison.
 */
/** Tunables, limits and machine properties that change what the kernel does (see DEFAULT_SETTINGS). */
export interface Settings {
  /** /sys/kernel/mm/transparent_hugepage/enabled */
  thpEnabled: 'always' | 'madvise' | 'never';
  /** /sys/kernel/mm/transparent_hugepage/use_zero_page: a read fault maps the huge zero page. */
  thpUseZeroPage: boolean;
  /**
   * /sys/kernel/mm/transparent_hugepage/defrag. Deviation: it changes nothing in
   * the model, which has no compaction or reclaim for a THP allocation to wait for.
   */
  thpDefrag: 'always' | 'defer' | 'defer+madvise' | 'madvise' | 'never';
  /** vm.overcommit_memory: 0 heuristic, 1 always, 2 never. */
  overcommitMemory: 0 | 1 | 2;
  /** vm.overcommit_ratio (percent), for mode 2. */
  overcommitRatio: number;
  /** vm.max_map_count */
  maxMapCount: number;
  /** RLIMIT_STACK soft limit, bytes. */
  stackRlimit: number;
  /** RLIMIT_MEMLOCK soft limit, bytes. */
  memlockRlimit: number;
  /** RLIMIT_AS soft limit, bytes (Infinity for unlimited). */
  asRlimit: number;
  /** RLIMIT_DATA soft limit, bytes (Infinity for unlimited): bounds brk() and private writable mappings. */
  dataRlimit: number;
  /** stack_guard_gap kernel parameter, in pages (default 256). */
  stackGuardGapPages: number;
  /** /sys/kernel/debug/fault_around_bytes (default 65536). */
  faultAroundBytes: number;
  /** The block device's read_ahead_kb (default 128). */
  readAheadKb: number;
  /**
   * What the disk file system does beyond the generic page cache. 'ext4'
   * (the default, as the oracle's /tmp): large folios in the page cache
   * (mapping_set_large_folios()), and truncation or an extending write zeroes
   * the block holding end of file through the page cache
   * (ext4_block_truncate_page()). 'simple': single-page folios and no zeroing.
   */
  diskFs: 'ext4' | 'simple';
  /** MemTotal of the simulated machine, bytes. */
  memTotal: number;
  /** The process has CAP_IPC_LOCK, CAP_SYS_ADMIN and CAP_SYS_RAWIO (runs as root): mlock limits do not apply, MAP_FIXED may go below mmap_min_addr. */
  privileged: boolean;
  /**
   * The CPU has protection keys (x86 with PKU): smaps shows a ProtectionKey
   * line, and a mapping of exactly PROT_EXEC gets the execute-only key, so
   * loads and stores to it fault with SEGV_PKUERR.
   */
  protectionKeys: boolean;
  /** kernel.randomize_va_space: the model never randomizes; kept to report the host's value. */
  randomizeVaSpace: number;
  /**
   * vm.mmap_min_addr: MAP_FIXED below it is EPERM without CAP_SYS_RAWIO, and
   * no search or hint goes below it (nor below the profile's
   * CONFIG_LSM_MMAP_MIN_ADDR). null (the default): the profile's
   * CONFIG_DEFAULT_MMAP_MIN_ADDR.
   */
  mmapMinAddr: number | null;
  /**
   * The kernel has hugetlbfs (CONFIG_HUGETLBFS): anonymous MAP_HUGETLB maps
   * from an empty pool. null (the default): the profile's (ArchProfile.hugetlbfs;
   * the Raspberry Pi 5's kernel has none).
   */
  hugetlbfs: boolean | null;
  /**
   * The kernel has transparent huge pages (CONFIG_TRANSPARENT_HUGEPAGE):
   * huge PMDs, THP-aligned placement, MADV_HUGEPAGE, and large folios in the
   * page cache. null (the default): the profile's (ArchProfile.transparentHugepage;
   * the Raspberry Pi 5's kernel has none). thpEnabled is the run-time mode on top.
   */
  transparentHugepage: boolean | null;
}

/** Linux's defaults on a 4 GiB machine with an ext4 disk, unprivileged: what `new Machine()` uses for anything MachineOptions.settings leaves out. */
export const DEFAULT_SETTINGS: Readonly<Settings> = {
  thpEnabled: 'madvise',
  thpDefrag: 'madvise',
  thpUseZeroPage: true,
  overcommitMemory: 0,
  overcommitRatio: 50,
  maxMapCount: 65530,
  stackRlimit: 8 * 1024 * 1024,
  memlockRlimit: 8 * 1024 * 1024,
  asRlimit: Infinity,
  dataRlimit: Infinity,
  stackGuardGapPages: 256,
  faultAroundBytes: 65536,
  readAheadKb: 128,
  diskFs: 'ext4',
  memTotal: 4 * 1024 * 1024 * 1024,
  randomizeVaSpace: 0,
  privileged: false,
  protectionKeys: false,
  mmapMinAddr: null,
  hugetlbfs: null,
  transparentHugepage: null,
};
