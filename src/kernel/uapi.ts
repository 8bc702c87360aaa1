/**
 * The user-visible constants of the memory-mapping syscalls, with Linux's
 * values (include/uapi/asm-generic/mman-common.h, mman.h, errno-base.h,
 * errno.h, fcntl.h, siginfo.h). The same numbers on x86_64 and arm64.
 */

/** mmap()/mprotect() prot: no access at all (a guard or a reservation). */
export const PROT_NONE = 0x0;
/** mmap()/mprotect() prot: the pages may be read. */
export const PROT_READ = 0x1;
/** mmap()/mprotect() prot: the pages may be written. */
export const PROT_WRITE = 0x2;
/** mmap()/mprotect() prot: the pages may be executed. */
export const PROT_EXEC = 0x4;
/** mmap()/mprotect() prot: usable for atomic operations (accepted and ignored, as on x86 and arm64). */
export const PROT_SEM = 0x8;
/** mprotect() only: extend the change down to the start of a grows-down (stack) VMA. */
export const PROT_GROWSDOWN = 0x01000000;
/** mprotect() only: extend the change up to the end of a grows-up VMA (x86_64 and arm64 have none). */
export const PROT_GROWSUP = 0x02000000;

/** mmap() flags: stores are visible to every mapping of the file and reach the file through writeback. */
export const MAP_SHARED = 0x01;
/** mmap() flags: a private copy-on-write mapping; stores never reach the file. */
export const MAP_PRIVATE = 0x02;
/** mmap() flags: MAP_SHARED, but unknown flags are EOPNOTSUPP instead of ignored. */
export const MAP_SHARED_VALIDATE = 0x03;
/** mmap() flags: anonymous memory the kernel may drop under memory pressure (Linux 6.11; the model has no pressure and never drops it). */
export const MAP_DROPPABLE = 0x08;
/** The mask of the mapping-type bits of mmap() flags (SHARED, PRIVATE, SHARED_VALIDATE, DROPPABLE). */
export const MAP_TYPE = 0x0f;
/** mmap() flags: map exactly at addr, replacing whatever is mapped there. */
export const MAP_FIXED = 0x10;
/** mmap() flags: not backed by a file: zero-filled memory (fd is ignored; pass -1). */
export const MAP_ANONYMOUS = 0x20;
/** mmap() flags (x86_64 only): place the mapping in the first 2 GiB. */
export const MAP_32BIT = 0x40;
/** mmap() flags: a stack-like VMA that grows down when a fault hits just below it. */
export const MAP_GROWSDOWN = 0x0100;
/** mmap() flags: ignored (historical). */
export const MAP_DENYWRITE = 0x0800;
/** mmap() flags: ignored (historical). */
export const MAP_EXECUTABLE = 0x1000;
/** mmap() flags: lock the pages (as mlock()), faulting them in. */
export const MAP_LOCKED = 0x2000;
/** mmap() flags: do not charge the mapping against the commit limit (unless overcommit_memory is 2). */
export const MAP_NORESERVE = 0x4000;
/** mmap() flags: fault every page in now (read-ahead for files). */
export const MAP_POPULATE = 0x8000;
/** mmap() flags: with MAP_POPULATE, do not block on I/O (ignored since Linux 2.6.23). */
export const MAP_NONBLOCK = 0x10000;
/** mmap() flags: a thread stack: the mapping is not THP eligible (VM_NOHUGEPAGE). */
export const MAP_STACK = 0x20000;
/** mmap() flags: back the mapping with hugetlbfs pages (the model's pool is empty: ENOMEM, as with none reserved, unless MAP_NORESERVE; then every access is SIGBUS). */
export const MAP_HUGETLB = 0x40000;
/** mmap() flags: synchronous page faults for DAX files; the model's disk is not DAX, so mapping one of its files with MAP_SYNC is EOPNOTSUPP, as ext4_file_mmap() does. */
export const MAP_SYNC = 0x80000;
/** mmap() flags: map exactly at addr, or fail with EEXIST if anything is mapped there. */
export const MAP_FIXED_NOREPLACE = 0x100000;
/** mmap() flags: skip zeroing anonymous pages (honoured only without an MMU; ignored here). */
export const MAP_UNINITIALIZED = 0x4000000;
/** The bit position of the log2 huge-page size encoded in mmap() flags with MAP_HUGETLB. */
export const MAP_HUGE_SHIFT = 26;
/** mmap() flags: with MAP_HUGETLB, 2 MiB pages (include/uapi/linux/mman.h: HUGETLB_FLAG_ENCODE_2MB). */
export const MAP_HUGE_2MB = 21 << MAP_HUGE_SHIFT;
/** mmap() flags: with MAP_HUGETLB, 1 GiB pages (HUGETLB_FLAG_ENCODE_1GB). */
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

/** msync() flags: schedule writeback and return (a no-op since Linux 2.6.19: dirty pages are tracked anyway). */
export const MS_ASYNC = 1;
/** msync() flags: invalidate other mappings of the file (a no-op in Linux beyond EBUSY for locked pages). */
export const MS_INVALIDATE = 2;
/** msync() flags: write the dirty pages of the range back and wait for the I/O. */
export const MS_SYNC = 4;

/** mremap() flags: the mapping may move if it cannot grow in place. */
export const MREMAP_MAYMOVE = 1;
/** mremap() flags: move the mapping to new_address (requires MREMAP_MAYMOVE). */
export const MREMAP_FIXED = 2;
/** mremap() flags: move the pages but leave the old range mapped (empty) behind. */
export const MREMAP_DONTUNMAP = 4;

/** madvise() advice: default readahead. */
export const MADV_NORMAL = 0;
/** madvise() advice: random access: no readahead and no fault-around. */
export const MADV_RANDOM = 1;
/** madvise() advice: sequential access: aggressive readahead. */
export const MADV_SEQUENTIAL = 2;
/** madvise() advice: start reading the range into the page cache now. */
export const MADV_WILLNEED = 3;
/** madvise() advice: drop the pages now: anonymous memory reads back as zeros, file mappings re-read the file. */
export const MADV_DONTNEED = 4;
/** madvise() advice: anonymous pages may be freed lazily; until then they keep their contents (clean pages only). */
export const MADV_FREE = 8;
/** madvise() advice: punch a hole in the shared file or shmem behind the range. */
export const MADV_REMOVE = 9;
/** madvise() advice: the child of fork() does not get the range. */
export const MADV_DONTFORK = 10;
/** madvise() advice: undo MADV_DONTFORK. */
export const MADV_DOFORK = 11;
/** madvise() advice: offer the range to KSM (flags only: the model has no KSM daemon). */
export const MADV_MERGEABLE = 12;
/** madvise() advice: undo MADV_MERGEABLE. */
export const MADV_UNMERGEABLE = 13;
/** madvise() advice: use transparent huge pages for the range (VM_HUGEPAGE). */
export const MADV_HUGEPAGE = 14;
/** madvise() advice: never use transparent huge pages for the range (VM_NOHUGEPAGE). */
export const MADV_NOHUGEPAGE = 15;
/** madvise() advice: leave the range out of core dumps (VM_DONTDUMP). */
export const MADV_DONTDUMP = 16;
/** madvise() advice: undo MADV_DONTDUMP. */
export const MADV_DODUMP = 17;
/** madvise() advice: the child of fork() gets the range empty (zero-filled) instead of a copy. */
export const MADV_WIPEONFORK = 18;
/** madvise() advice: undo MADV_WIPEONFORK. */
export const MADV_KEEPONFORK = 19;
/** madvise() advice: deactivate the pages (move them to the inactive list). */
export const MADV_COLD = 20;
/** madvise() advice: reclaim the pages now. */
export const MADV_PAGEOUT = 21;
/** madvise() advice: fault every page in for reading (EFAULT when a fault fails). */
export const MADV_POPULATE_READ = 22;
/** madvise() advice: fault every page in for writing, breaking copy-on-write. */
export const MADV_POPULATE_WRITE = 23;
/** madvise() advice: install guard markers: any access to the range is SIGSEGV (Linux 6.13). */
export const MADV_GUARD_INSTALL = 102;
/** madvise() advice: remove guard markers. */
export const MADV_GUARD_REMOVE = 103;

/** mlock2() flags: lock pages as they are faulted in rather than faulting them in now. */
export const MLOCK_ONFAULT = 1;
/** mlockall() flags: lock every page mapped now. */
export const MCL_CURRENT = 1;
/** mlockall() flags: lock every future mapping. */
export const MCL_FUTURE = 2;
/** mlockall() flags: with MCL_CURRENT or MCL_FUTURE, lock on fault (as MLOCK_ONFAULT). */
export const MCL_ONFAULT = 4;

/** The mask of the access-mode bits of open() flags. */
export const O_ACCMODE = 0o3;
/** open() flags: open for reading only. */
export const O_RDONLY = 0o0;
/** open() flags: open for writing only. */
export const O_WRONLY = 0o1;
/** open() flags: open for reading and writing. */
export const O_RDWR = 0o2;
/** open() flags: create the file if it does not exist (with the mode argument). */
export const O_CREAT = 0o100;
/** open() flags: with O_CREAT, fail with EEXIST if the file exists. */
export const O_EXCL = 0o200;
/** open() flags: do not make a terminal the controlling terminal. */
export const O_NOCTTY = 0o400;
/** open() flags: truncate a regular file opened for writing to length 0. */
export const O_TRUNC = 0o1000;
/** open() flags: every write() goes to the end of the file. */
export const O_APPEND = 0o2000;
/** open() flags: non-blocking I/O (no effect on regular files). */
export const O_NONBLOCK = 0o4000;
/** open() flags: every write() waits for its data to reach the disk. */
export const O_DSYNC = 0o10000;
/** open() flags: bypass the page cache (accepted; the model goes through the page cache). */
export const O_DIRECT = 0o40000;
/** open() flags: allow files over 2 GiB (always set on 64-bit). */
export const O_LARGEFILE = 0o100000;
/** open() flags: fail with ENOTDIR unless the path is a directory. */
export const O_DIRECTORY = 0o200000;
/** open() flags: do not follow a symbolic link in the last component. */
export const O_NOFOLLOW = 0o400000;
/** open() flags: do not update the access time. */
export const O_NOATIME = 0o1000000;
/** open() flags: close the descriptor on execve(). */
export const O_CLOEXEC = 0o2000000;
/** open() flags: every write() waits for data and metadata to reach the disk. */
export const O_SYNC = 0o4010000;
/** open() flags: a descriptor for the path only, not for I/O. */
export const O_PATH = 0o10000000;
/** open() flags: an unnamed temporary file in the given directory. */
export const O_TMPFILE = 0o20200000;
/** openat()/unlinkat() dirfd: relative to the working directory. */
export const AT_FDCWD = -100;
/** *at() flags: operate on dirfd itself when the path is empty. */
export const AT_EMPTY_PATH = 0x1000;
/** unlinkat() flags: remove a directory. */
export const AT_REMOVEDIR = 0x200;

/** lseek() whence: from the start of the file. */
export const SEEK_SET = 0;
/** lseek() whence: from the current offset. */
export const SEEK_CUR = 1;
/** lseek() whence: from the end of the file. */
export const SEEK_END = 2;
/** lseek() whence: the next offset at or after the given one that holds data. */
export const SEEK_DATA = 3;
/** lseek() whence: the next hole at or after the given offset (the end of the file counts as one). */
export const SEEK_HOLE = 4;

/** posix_fadvise() advice: default readahead. */
export const POSIX_FADV_NORMAL = 0;
/** posix_fadvise() advice: random access: no readahead. */
export const POSIX_FADV_RANDOM = 1;
/** posix_fadvise() advice: sequential access: double the readahead window. */
export const POSIX_FADV_SEQUENTIAL = 2;
/** posix_fadvise() advice: read the range into the page cache now. */
export const POSIX_FADV_WILLNEED = 3;
/** posix_fadvise() advice: drop the clean, unmapped page-cache pages of the range. */
export const POSIX_FADV_DONTNEED = 4;
/** posix_fadvise() advice: the data will be accessed once (a hint Linux mostly ignores). */
export const POSIX_FADV_NOREUSE = 5;

/** memfd_create() flags: close the descriptor on execve(). */
export const MFD_CLOEXEC = 0x1;
/** memfd_create() flags: allow fcntl() seals on the file. */
export const MFD_ALLOW_SEALING = 0x2;
/** memfd_create() flags: back the file with hugetlbfs (not modelled: EINVAL). */
export const MFD_HUGETLB = 0x4;
/** memfd_create() flags: a non-executable file, sealed so it stays so. */
export const MFD_NOEXEC_SEAL = 0x8;
/** memfd_create() flags: an executable file (incompatible with MFD_NOEXEC_SEAL). */
export const MFD_EXEC = 0x10;

/** st_mode: the mask of the file-type bits. */
export const S_IFMT = 0o170000;
/** st_mode file type: a regular file. */
export const S_IFREG = 0o100000;
/** st_mode file type: a directory. */
export const S_IFDIR = 0o040000;
/** st_mode file type: a character device (/dev/zero, /dev/null, a terminal). */
export const S_IFCHR = 0o020000;

// Signals the memory subsystem raises, and their si_code values (siginfo.h).
/** Signal number of SIGBUS: an access to a file page past the end of the file. */
export const SIGBUS = 7;
/** Signal number of SIGSEGV: an access with no mapping or one its protection forbids. */
export const SIGSEGV = 11;
/** SIGSEGV si_code: no mapping at the address. */
export const SEGV_MAPERR = 1;
/** SIGSEGV si_code: the mapping's protection forbids the access. */
export const SEGV_ACCERR = 2;
/** SIGSEGV si_code: a protection key forbids the access. */
export const SEGV_PKUERR = 4;
/** SIGBUS si_code: a misaligned address. */
export const BUS_ADRALN = 1;
/** SIGBUS si_code: no such physical address: a file page past the end of the file. */
export const BUS_ADRERR = 2;
/** SIGBUS si_code: an object-specific hardware error. */
export const BUS_OBJERR = 3;

/** Signal names by number, for the signals above. */
export const SIGNAL_NAMES: Readonly<Record<number, string>> = { [SIGBUS]: 'SIGBUS', [SIGSEGV]: 'SIGSEGV' };
/** si_code names by signal name and code. */
export const SI_CODE_NAMES: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  SIGSEGV: { [SEGV_MAPERR]: 'SEGV_MAPERR', [SEGV_ACCERR]: 'SEGV_ACCERR', [SEGV_PKUERR]: 'SEGV_PKUERR' },
  SIGBUS: { [BUS_ADRALN]: 'BUS_ADRALN', [BUS_ADRERR]: 'BUS_ADRERR', [BUS_OBJERR]: 'BUS_OBJERR' },
};

/** errno values with glibc's strerror text, as strace prints them: name -> [number, text]. */
export const ERRNO = {
  /** EPERM (1): Operation not permitted. */
  EPERM: [1, 'Operation not permitted'],
  /** ENOENT (2): No such file or directory. */
  ENOENT: [2, 'No such file or directory'],
  /** ESRCH (3): No such process. */
  ESRCH: [3, 'No such process'],
  /** EINTR (4): Interrupted system call. */
  EINTR: [4, 'Interrupted system call'],
  /** EIO (5): Input/output error. */
  EIO: [5, 'Input/output error'],
  /** ENXIO (6): No such device or address. */
  ENXIO: [6, 'No such device or address'],
  /** E2BIG (7): Argument list too long. */
  E2BIG: [7, 'Argument list too long'],
  /** ENOEXEC (8): Exec format error. */
  ENOEXEC: [8, 'Exec format error'],
  /** EBADF (9): Bad file descriptor. */
  EBADF: [9, 'Bad file descriptor'],
  /** ECHILD (10): No child processes. */
  ECHILD: [10, 'No child processes'],
  /** EAGAIN (11): Resource temporarily unavailable. */
  EAGAIN: [11, 'Resource temporarily unavailable'],
  /** ENOMEM (12): Cannot allocate memory. */
  ENOMEM: [12, 'Cannot allocate memory'],
  /** EACCES (13): Permission denied. */
  EACCES: [13, 'Permission denied'],
  /** EFAULT (14): Bad address. */
  EFAULT: [14, 'Bad address'],
  /** EBUSY (16): Device or resource busy. */
  EBUSY: [16, 'Device or resource busy'],
  /** EEXIST (17): File exists. */
  EEXIST: [17, 'File exists'],
  /** EXDEV (18): Invalid cross-device link. */
  EXDEV: [18, 'Invalid cross-device link'],
  /** ENODEV (19): No such device. */
  ENODEV: [19, 'No such device'],
  /** ENOTDIR (20): Not a directory. */
  ENOTDIR: [20, 'Not a directory'],
  /** EISDIR (21): Is a directory. */
  EISDIR: [21, 'Is a directory'],
  /** EINVAL (22): Invalid argument. */
  EINVAL: [22, 'Invalid argument'],
  /** ENFILE (23): Too many open files in system. */
  ENFILE: [23, 'Too many open files in system'],
  /** EMFILE (24): Too many open files. */
  EMFILE: [24, 'Too many open files'],
  /** ETXTBSY (26): Text file busy. */
  ETXTBSY: [26, 'Text file busy'],
  /** EFBIG (27): File too large. */
  EFBIG: [27, 'File too large'],
  /** ENOSPC (28): No space left on device. */
  ENOSPC: [28, 'No space left on device'],
  /** ESPIPE (29): Illegal seek. */
  ESPIPE: [29, 'Illegal seek'],
  /** EROFS (30): Read-only file system. */
  EROFS: [30, 'Read-only file system'],
  /** ERANGE (34): Numerical result out of range. */
  ERANGE: [34, 'Numerical result out of range'],
  /** ENAMETOOLONG (36): File name too long. */
  ENAMETOOLONG: [36, 'File name too long'],
  /** ENOSYS (38): Function not implemented. */
  ENOSYS: [38, 'Function not implemented'],
  /** ENOTEMPTY (39): Directory not empty. */
  ENOTEMPTY: [39, 'Directory not empty'],
  /** ELOOP (40): Too many levels of symbolic links. */
  ELOOP: [40, 'Too many levels of symbolic links'],
  /** EOVERFLOW (75): Value too large for defined data type. */
  EOVERFLOW: [75, 'Value too large for defined data type'],
  /** ELIBBAD (80): Accessing a corrupted shared library (execve(): the ELF interpreter is not one for this machine). */
  ELIBBAD: [80, 'Accessing a corrupted shared library'],
  /** EOPNOTSUPP (95): Operation not supported. */
  EOPNOTSUPP: [95, 'Operation not supported'],
} as const;

/** The name of an errno the model can return ('ENOMEM', 'EINVAL'...). */
export type ErrnoName = keyof typeof ERRNO;

/** The errno's number (ENOMEM is 12). */
export function errnoNumber(name: ErrnoName): number {
  return ERRNO[name][0];
}

/** The errno's strerror() text, as glibc and strace print it. */
export function errnoMessage(name: ErrnoName): string {
  return ERRNO[name][1];
}

/** The name of errno number n, or null when the model has no name for it. */
export function errnoByNumber(n: number): ErrnoName | null {
  for (const name of Object.keys(ERRNO) as ErrnoName[]) if (ERRNO[name][0] === n) return name;
  return null;
}

/** Whether `name` is an errno name the model knows. */
export function isErrnoName(name: string): name is ErrnoName {
  return Object.prototype.hasOwnProperty.call(ERRNO, name);
}
