/**
 * The user-visible constants of the memory-mapping syscalls, with Linux's
 * values (include/uapi/asm-generic/mman-common.h, mman.h, errno-base.h,
 * errno.h, fcntl.h, siginfo.h). The same numbers on x86_64 and arm64.
 */

export const PROT_NONE = 0x0;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const PROT_EXEC = 0x4;
export const PROT_SEM = 0x8;
export const PROT_GROWSDOWN = 0x01000000;
export const PROT_GROWSUP = 0x02000000;

export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_SHARED_VALIDATE = 0x03;
export const MAP_DROPPABLE = 0x08;
export const MAP_TYPE = 0x0f;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_32BIT = 0x40;
export const MAP_GROWSDOWN = 0x0100;
export const MAP_DENYWRITE = 0x0800;
export const MAP_EXECUTABLE = 0x1000;
export const MAP_LOCKED = 0x2000;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;
export const MAP_NONBLOCK = 0x10000;
export const MAP_STACK = 0x20000;
export const MAP_HUGETLB = 0x40000;
export const MAP_SYNC = 0x80000;
export const MAP_FIXED_NOREPLACE = 0x100000;
export const MAP_UNINITIALIZED = 0x4000000;
export const MAP_HUGE_SHIFT = 26;
/** include/uapi/linux/mman.h: HUGETLB_FLAG_ENCODE_2MB / _1GB. */
export const MAP_HUGE_2MB = 21 << MAP_HUGE_SHIFT;
export const MAP_HUGE_1GB = 30 << MAP_HUGE_SHIFT;

/**
 * include/linux/mman.h: LEGACY_MAP_MASK, the flags MAP_SHARED silently accepts
 * and MAP_SHARED_VALIDATE lets through. It includes MAP_32BIT (0 on arches
 * other than x86: mmap.ts removes it there) and the MAP_HUGE_2MB/_1GB
 * encodings, whose bits cover 0x7c000000 (checked on Linux 6.18:
 * MAP_SHARED_VALIDATE|0x40000000 on an ext4 file succeeds).
 */
export const LEGACY_MAP_MASK =
  MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_DENYWRITE | MAP_EXECUTABLE |
  MAP_UNINITIALIZED | MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE |
  MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB | MAP_32BIT | MAP_HUGE_2MB | MAP_HUGE_1GB;

export const MS_ASYNC = 1;
export const MS_INVALIDATE = 2;
export const MS_SYNC = 4;

export const MREMAP_MAYMOVE = 1;
export const MREMAP_FIXED = 2;
export const MREMAP_DONTUNMAP = 4;

export const MADV_NORMAL = 0;
export const MADV_RANDOM = 1;
export const MADV_SEQUENTIAL = 2;
export const MADV_WILLNEED = 3;
export const MADV_DONTNEED = 4;
export const MADV_FREE = 8;
export const MADV_REMOVE = 9;
export const MADV_DONTFORK = 10;
export const MADV_DOFORK = 11;
export const MADV_MERGEABLE = 12;
export const MADV_UNMERGEABLE = 13;
export const MADV_HUGEPAGE = 14;
export const MADV_NOHUGEPAGE = 15;
export const MADV_DONTDUMP = 16;
export const MADV_DODUMP = 17;
export const MADV_WIPEONFORK = 18;
export const MADV_KEEPONFORK = 19;
export const MADV_COLD = 20;
export const MADV_PAGEOUT = 21;
export const MADV_POPULATE_READ = 22;
export const MADV_POPULATE_WRITE = 23;
export const MADV_GUARD_INSTALL = 102;
export const MADV_GUARD_REMOVE = 103;

export const MLOCK_ONFAULT = 1;
export const MCL_CURRENT = 1;
export const MCL_FUTURE = 2;
export const MCL_ONFAULT = 4;

export const O_ACCMODE = 0o3;
export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_DSYNC = 0o10000;
export const O_DIRECT = 0o40000;
export const O_LARGEFILE = 0o100000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_NOATIME = 0o1000000;
export const O_CLOEXEC = 0o2000000;
export const O_SYNC = 0o4010000;
export const O_PATH = 0o10000000;
export const O_TMPFILE = 0o20200000;
export const AT_FDCWD = -100;
export const AT_EMPTY_PATH = 0x1000;
export const AT_REMOVEDIR = 0x200;

export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;

export const POSIX_FADV_NORMAL = 0;
export const POSIX_FADV_RANDOM = 1;
export const POSIX_FADV_SEQUENTIAL = 2;
export const POSIX_FADV_WILLNEED = 3;
export const POSIX_FADV_DONTNEED = 4;
export const POSIX_FADV_NOREUSE = 5;

export const MFD_CLOEXEC = 0x1;
export const MFD_ALLOW_SEALING = 0x2;
export const MFD_HUGETLB = 0x4;
export const MFD_NOEXEC_SEAL = 0x8;
export const MFD_EXEC = 0x10;

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;

/** Signals the memory subsystem raises, and their si_code values (siginfo.h). */
export const SIGBUS = 7;
export const SIGSEGV = 11;
export const SEGV_MAPERR = 1;
export const SEGV_ACCERR = 2;
export const SEGV_PKUERR = 4;
export const BUS_ADRALN = 1;
export const BUS_ADRERR = 2;
export const BUS_OBJERR = 3;

export const SIGNAL_NAMES: Readonly<Record<number, string>> = { [SIGBUS]: 'SIGBUS', [SIGSEGV]: 'SIGSEGV' };
export const SI_CODE_NAMES: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  SIGSEGV: { [SEGV_MAPERR]: 'SEGV_MAPERR', [SEGV_ACCERR]: 'SEGV_ACCERR', [SEGV_PKUERR]: 'SEGV_PKUERR' },
  SIGBUS: { [BUS_ADRALN]: 'BUS_ADRALN', [BUS_ADRERR]: 'BUS_ADRERR', [BUS_OBJERR]: 'BUS_OBJERR' },
};

/** errno values with glibc's strerror text, as strace prints them. */
export const ERRNO = {
  EPERM: [1, 'Operation not permitted'],
  ENOENT: [2, 'No such file or directory'],
  ESRCH: [3, 'No such process'],
  EINTR: [4, 'Interrupted system call'],
  EIO: [5, 'Input/output error'],
  ENXIO: [6, 'No such device or address'],
  E2BIG: [7, 'Argument list too long'],
  ENOEXEC: [8, 'Exec format error'],
  EBADF: [9, 'Bad file descriptor'],
  ECHILD: [10, 'No child processes'],
  EAGAIN: [11, 'Resource temporarily unavailable'],
  ENOMEM: [12, 'Cannot allocate memory'],
  EACCES: [13, 'Permission denied'],
  EFAULT: [14, 'Bad address'],
  EBUSY: [16, 'Device or resource busy'],
  EEXIST: [17, 'File exists'],
  EXDEV: [18, 'Invalid cross-device link'],
  ENODEV: [19, 'No such device'],
  ENOTDIR: [20, 'Not a directory'],
  EISDIR: [21, 'Is a directory'],
  EINVAL: [22, 'Invalid argument'],
  ENFILE: [23, 'Too many open files in system'],
  EMFILE: [24, 'Too many open files'],
  ETXTBSY: [26, 'Text file busy'],
  EFBIG: [27, 'File too large'],
  ENOSPC: [28, 'No space left on device'],
  ESPIPE: [29, 'Illegal seek'],
  EROFS: [30, 'Read-only file system'],
  ERANGE: [34, 'Numerical result out of range'],
  ENAMETOOLONG: [36, 'File name too long'],
  ENOSYS: [38, 'Function not implemented'],
  ENOTEMPTY: [39, 'Directory not empty'],
  ELOOP: [40, 'Too many levels of symbolic links'],
  EOVERFLOW: [75, 'Value too large for defined data type'],
  EOPNOTSUPP: [95, 'Operation not supported'],
} as const;

export type ErrnoName = keyof typeof ERRNO;

export function errnoNumber(name: ErrnoName): number {
  return ERRNO[name][0];
}

export function errnoMessage(name: ErrnoName): string {
  return ERRNO[name][1];
}

/** The name of errno number n, or null when the model has no name for it. */
export function errnoByNumber(n: number): ErrnoName | null {
  for (const name of Object.keys(ERRNO) as ErrnoName[]) if (ERRNO[name][0] === n) return name;
  return null;
}

export function isErrnoName(name: string): name is ErrnoName {
  return Object.prototype.hasOwnProperty.call(ERRNO, name);
}
