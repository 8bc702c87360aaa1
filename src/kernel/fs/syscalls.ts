/**
 * The file syscalls that shape memory mappings (fs/open.c, fs/read_write.c,
 * fs/namei.c, fs/stat.c, fs/sync.c, mm/fadvise.c, mm/memfd.c): descriptors,
 * buffered I/O through the page cache, sizes and truncation.
 * Each returns a value or an errno name; none throws on any argument.
 */
import type { Kernel } from '../kernel.js';
import type { Task } from '../sched.js';
import {
  AT_FDCWD, MFD_ALLOW_SEALING, MFD_CLOEXEC, MFD_EXEC, MFD_HUGETLB, MFD_NOEXEC_SEAL, O_ACCMODE, O_APPEND, O_CLOEXEC,
  O_CREAT, O_DIRECTORY, O_EXCL, O_PATH, O_RDONLY, O_TRUNC, O_WRONLY, POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE,
  POSIX_FADV_NORMAL, POSIX_FADV_RANDOM, POSIX_FADV_SEQUENTIAL, POSIX_FADV_WILLNEED, S_IFDIR, S_IFMT, S_IFREG,
  SEEK_CUR, SEEK_DATA, SEEK_END, SEEK_HOLE, SEEK_SET, type ErrnoName,
} from '../uapi.js';
import { type KRet, u64 } from '../mm/mmap.js';
import {
  ext4BlockTruncatePage, filemapRead, filemapReadTo, filemapWriteAndWait, invalidateMappingPages, pagesOf, readPagesIntoCache, truncateInodePagesFinal,
  truncateSetsize,
} from '../mm/filemap.js';
import { PG_dirty, PG_uptodate } from '../mm/page-alloc.js';
import { genericPerformWrite, kernelWriteSource, type WriteSource } from '../mm/perform-write.js';
import { filePut } from '../mm/vma-ops.js';
import { File, FMODE_READ, FMODE_WRITE } from './file.js';
import { FS_BLOCK_SIZE } from './blockdev.js';
import { Inode } from './inode.js';
import { dirname, normalizePath } from './vfs.js';
import { utf8Length } from '../utf8.js';

/** MAX_RW_COUNT: one read or write moves at most INT_MAX rounded down to a page. */
const MAX_RW_COUNT = 0x7ffff000;
/** MAX_LFS_FILESIZE */
const MAX_FILE_SIZE = 2 ** 63 - 1;
const PATH_MAX = 4096;
const NAME_MAX = 255;

/** The readahead window a newly opened file starts with (bdi->ra_pages, from read_ahead_kb). */
export function raPagesOf(k: Kernel): number {
  return Math.floor((k.settings.readAheadKb * 1024) / k.arch.pageSize);
}

/** A directory stands behind a descriptor as an inode of type S_IFDIR with no pages. */
const dirInodes = new WeakMap<Kernel, Map<string, Inode>>();
function dirInode(k: Kernel, path: string): Inode {
  let m = dirInodes.get(k);
  if (m === undefined) {
    m = new Map();
    dirInodes.set(k, m);
  }
  let inode = m.get(path);
  if (inode === undefined) {
    inode = new Inode(2 + m.size, 'disk', k.disk.major, k.disk.minor, S_IFDIR | 0o755, null);
    inode.size = 4096;
    inode.mapping = undefined as never;
    m.set(path, inode);
  }
  return inode;
}

function installFd(task: Task, file: File, cloexec: boolean): KRet {
  const files = task.process.files;
  const fd = files.lowestFree();
  if (fd < 0) return 'EMFILE';
  files.fds[fd] = { file, cloexec };
  file.refs++;
  file.inode.refs++;
  return fd;
}

/** do_sys_openat2() for regular files and directories of the model's file system. */
export function sysOpenat(k: Kernel, task: Task, dirfd: number, pathBytes: string, flags: number, mode: number): KRet {
  const looked = pathLookupAt(k, task, dirfd, pathBytes);
  if (typeof looked === 'string') return looked;
  const path = looked.path;
  const vfs = k.vfs;
  const acc = flags & O_ACCMODE;
  if (acc === 3 && !(flags & O_PATH)) return 'EINVAL';
  if (vfs.dirs.has(path)) {
    if (flags & O_CREAT && flags & O_EXCL) return 'EEXIST';
    if (acc !== O_RDONLY || flags & O_CREAT) return 'EISDIR';
    return installFd(task, new File(dirInode(k, path), FMODE_READ, flags, path, 0), (flags & O_CLOEXEC) !== 0);
  }
  let inode = vfs.files.get(path);
  if (inode === undefined) {
    if (!(flags & O_CREAT)) return vfs.dirs.has(dirname(path)) ? 'ENOENT' : vfs.files.has(dirname(path)) ? 'ENOTDIR' : 'ENOENT';
    if (!vfs.dirs.has(dirname(path))) return vfs.files.has(dirname(path)) ? 'ENOTDIR' : 'ENOENT';
    if (pathBytes.endsWith('/')) return 'EISDIR';
    inode = vfs.createFile(path, mode & ~0o022);
  } else {
    if (flags & O_CREAT && flags & O_EXCL) return 'EEXIST';
    if (flags & O_DIRECTORY) return 'ENOTDIR';
    if (pathBytes.endsWith('/')) return 'ENOTDIR';
  }
  const fMode = flags & O_PATH ? 0 : acc === O_RDONLY ? FMODE_READ : acc === O_WRONLY ? FMODE_WRITE : FMODE_READ | FMODE_WRITE;
  if (flags & O_TRUNC && fMode & FMODE_WRITE && inode.size !== 0) truncateSetsize(k, inode, 0);
  const file = new File(inode, fMode, flags, path, raPagesOf(k));
  return installFd(task, file, (flags & O_CLOEXEC) !== 0);
}

/**
 * path_lookupat() as far as the model needs it: the absolute, normalized
 * path of `pathBytes` from `dirfd` (or the cwd), with the backend's files
 * along it looked up; ENOENT for an empty path, ENAMETOOLONG, EBADF or
 * ENOTDIR for a bad dirfd, or the backend's EACCES/EIO.
 */
export function pathLookupAt(k: Kernel, task: Task, dirfd: number, pathBytes: string): { path: string } | ErrnoName {
  if (pathBytes.length === 0) return 'ENOENT';
  if (pathBytes.length >= PATH_MAX) return 'ENAMETOOLONG';
  if (pathBytes.split('/').some((c) => c.length > NAME_MAX)) return 'ENAMETOOLONG';
  let base: string;
  if (pathBytes.startsWith('/')) base = '/';
  else if (dirfd === AT_FDCWD) base = task.process.cwd;
  else {
    const f = task.process.files.get(dirfd);
    if (f === undefined) return 'EBADF';
    if ((f.inode.mode & S_IFMT) !== S_IFDIR) return 'ENOTDIR';
    base = f.path;
  }
  const path = normalizePath(base + '/' + pathBytes);
  const found = k.vfs.materializeAll(path);
  return found === 0 ? { path } : found;
}

/** close_fd() */
export function sysClose(k: Kernel, task: Task, fd: number): KRet {
  const files = task.process.files;
  const e = Number.isInteger(fd) && fd >= 0 ? files.fds[fd] : undefined;
  if (e === undefined) return 'EBADF';
  files.fds[fd] = undefined;
  filePut(k, e.file);
  return 0;
}

/** dup(2) */
export function sysDup(task: Task, fd: number): KRet {
  const f = task.process.files.get(fd);
  if (f === undefined) return 'EBADF';
  return installFd(task, f, false);
}

function readableFile(task: Task, fd: number): File | 'EBADF' | 'EISDIR' | 'EINVAL' {
  const f = task.process.files.get(fd);
  if (f === undefined || !(f.fMode & FMODE_READ)) return 'EBADF';
  if ((f.inode.mode & S_IFMT) === S_IFDIR) return 'EISDIR';
  return f;
}

function writableFile(task: Task, fd: number): File | 'EBADF' | 'EINVAL' {
  const f = task.process.files.get(fd);
  if (f === undefined || !(f.fMode & FMODE_WRITE)) return 'EBADF';
  return f;
}

/** The most fileRead() returns from /dev/zero at once. */
export const ZERO_READ_MAX = 16 * 1024 * 1024;

export interface ReadResult {
  ret: KRet;
  data: Uint8Array;
}

/** The checks of vfs_read() at pos: the file, the byte count (MAX_RW_COUNT at most) and where to read from; or the errno. */
function readArgs(task: Task, fd: number, count: bigint, pos: bigint | null): { f: File; n: number; at: number } | KRet {
  const f = readableFile(task, fd);
  if (typeof f === 'string') return f;
  if (pos !== null) pos = BigInt.asIntN(64, pos);
  if (pos !== null && pos < 0n) return 'EINVAL';
  const c64 = u64(count);
  if (BigInt.asIntN(64, c64) < 0n) return 'EINVAL';
  const n = Number(c64 > BigInt(MAX_RW_COUNT) ? BigInt(MAX_RW_COUNT) : c64);
  const at = pos === null ? f.pos : Number(pos > BigInt(MAX_FILE_SIZE) ? BigInt(MAX_FILE_SIZE) : pos);
  return { f, n, at };
}

/** vfs_read() at pos (read/pread64): the bytes, without touching user memory. */
export function fileRead(k: Kernel, task: Task, fd: number, count: bigint, pos: bigint | null): ReadResult {
  const empty = new Uint8Array(0);
  const a = readArgs(task, fd, count, pos);
  if (typeof a !== 'object') return { ret: a, data: empty };
  const { f, n, at } = a;
  // read_iter_zero() / read_null(): zeros without end, or nothing.
  // Deviation: the bytes are returned to the caller here, so a read of more
  // than 16 MiB is short (Machine.readInto copies any length to user memory).
  if (f.inode.chr === 'zero') {
    const m = Math.min(n, ZERO_READ_MAX);
    return { ret: m, data: new Uint8Array(m) };
  }
  if (f.inode.chr === 'null') return { ret: 0, data: empty };
  const data = filemapRead(k, f, at, n);
  if (data === 'OOM') return { ret: 'ENOMEM', data: empty };
  if (pos === null) f.pos += data.length;
  return { ret: data.length, data };
}

/**
 * vfs_read() of a file (not /dev/zero) handing its bytes to `copy` page by
 * page (copy_to_user() into the caller's buffer): the read ends where a copy
 * comes up short, and the file position moves by what was copied. Returns
 * the bytes copied, EFAULT when a copy failed before any byte, or an errno.
 */
export function fileReadTo(k: Kernel, task: Task, fd: number, count: bigint, pos: bigint | null, copy: (bytes: Uint8Array, at: number) => number): KRet {
  const a = readArgs(task, fd, count, pos);
  if (typeof a !== 'object') return a;
  const { f, n, at } = a;
  if (f.inode.chr === 'null') return 0;
  let short = false;
  const r = filemapReadTo(k, f, at, n, (bytes, off) => {
    const got = copy(bytes, off);
    if (got < bytes.length) short = true;
    return got;
  });
  if (r === 'OOM') return 'ENOMEM';
  if (pos === null) f.pos += r;
  return r === 0 && short ? 'EFAULT' : r;
}

/** vfs_write() at pos (write/pwrite64). */
export function fileWrite(k: Kernel, task: Task, fd: number, data: Uint8Array, pos: bigint | null): KRet {
  const f = writableFile(task, fd);
  if (typeof f === 'string') return f;
  // A terminal or /dev/null takes everything and keeps nothing.
  if ((f.inode.mode & S_IFMT) === 0o020000) return Math.min(data.length, MAX_RW_COUNT);
  if ((f.inode.mode & S_IFMT) !== S_IFREG) return 'EINVAL';
  if (pos !== null) pos = BigInt.asIntN(64, pos);
  if (pos !== null && pos < 0n) return 'EINVAL';
  const bytes = data.length > MAX_RW_COUNT ? data.subarray(0, MAX_RW_COUNT) : data;
  let at = pos === null ? f.pos : Number(pos);
  if (pos === null && f.flags & O_APPEND) at = f.inode.size;
  if (at + bytes.length > MAX_FILE_SIZE) return 'EFBIG';
  const r = genericPerformWrite(k, f, at, bytes.length, kernelWriteSource(bytes));
  if (typeof r === 'string') return r === 'OOM' ? 'ENOMEM' : r;
  if (pos === null) f.pos = at + r;
  return r;
}

/**
 * vfs_write() of n bytes from user memory into a regular file: the same
 * generic_perform_write() loop, copying with faults disabled and faulting
 * the source in (as the kernel, not as the task) when a copy gets nothing.
 * Other files: null.
 */
export function fileWriteFrom(k: Kernel, task: Task, fd: number, n: number, pos: bigint | null, src: WriteSource): KRet | null {
  const f = writableFile(task, fd);
  if (typeof f === 'string') return f;
  if ((f.inode.mode & S_IFMT) !== S_IFREG) return null;
  let at = pos === null ? f.pos : Number(pos);
  if (pos === null && f.flags & O_APPEND) at = f.inode.size;
  if (at + n > MAX_FILE_SIZE) return 'EFBIG';
  const r = genericPerformWrite(k, f, at, n, src);
  if (typeof r === 'string') return r === 'OOM' ? 'ENOMEM' : r;
  if (pos === null) f.pos = at + r;
  return r;
}

/** vfs_llseek() for regular files (generic_file_llseek_size()). */
export function sysLseek(task: Task, fd: number, offset: bigint, whence: number): KRet {
  const f = task.process.files.get(fd);
  if (f === undefined) return 'EBADF';
  // null_lseek() (/dev/zero's too): the position stays 0 whatever is asked.
  if (f.inode.chr === 'zero' || f.inode.chr === 'null') {
    f.pos = 0;
    return 0;
  }
  const off = BigInt.asIntN(64, u64(offset));
  const size = BigInt(f.inode.size);
  let pos: bigint;
  switch (whence) {
    case SEEK_SET: pos = off; break;
    case SEEK_CUR: pos = BigInt(f.pos) + off; break;
    case SEEK_END: pos = size + off; break;
    case SEEK_DATA:
      if (off < 0n || off >= size) return 'ENXIO';
      pos = off;
      break;
    case SEEK_HOLE:
      if (off < 0n || off >= size) return 'ENXIO';
      pos = size;
      break;
    default: return 'EINVAL';
  }
  if (pos < 0n || pos > BigInt(MAX_FILE_SIZE)) return 'EINVAL';
  f.pos = Number(pos);
  return f.pos;
}

/** do_ftruncate() */
export function sysFtruncate(k: Kernel, task: Task, fd: number, length: bigint): KRet {
  const f = task.process.files.get(fd);
  if (f === undefined) return 'EBADF';
  const len = BigInt.asIntN(64, u64(length));
  if (len < 0n) return 'EINVAL';
  if ((f.inode.mode & S_IFMT) !== S_IFREG || !(f.fMode & FMODE_WRITE)) return 'EINVAL';
  if (len > BigInt(MAX_FILE_SIZE)) return 'EFBIG';
  truncateSetsize(k, f.inode, Number(len));
  return 0;
}

/** vfs_fsync() / vfs_fdatasync(): write back every dirty page of the file. */
export function sysFsync(k: Kernel, task: Task, fd: number): KRet {
  const f = task.process.files.get(fd);
  if (f === undefined) return 'EBADF';
  // vfs_fsync_range(): EINVAL without f_op->fsync (devices, ttys); an ext4 directory has
  // one (ext4_sync_file()), and the model keeps no directory blocks to write.
  if ((f.inode.mode & S_IFMT) === S_IFDIR) return 0;
  if ((f.inode.mode & S_IFMT) !== S_IFREG) return 'EINVAL';
  filemapWriteAndWait(k, f.inode.mapping, 0, Number.MAX_SAFE_INTEGER);
  return 0;
}

/** do_unlinkat(): the name goes; the inode lives while files and mappings hold it. */
export function sysUnlinkat(k: Kernel, task: Task, dirfd: number, pathBytes: string): KRet {
  if (pathBytes.length === 0) return 'ENOENT';
  if (pathBytes.length >= PATH_MAX) return 'ENAMETOOLONG';
  let base = task.process.cwd;
  if (!pathBytes.startsWith('/') && dirfd !== AT_FDCWD) {
    const f = task.process.files.get(dirfd);
    if (f === undefined) return 'EBADF';
    if ((f.inode.mode & S_IFMT) !== S_IFDIR) return 'ENOTDIR';
    base = f.path;
  }
  const path = normalizePath(pathBytes.startsWith('/') ? pathBytes : base + '/' + pathBytes);
  const found = k.vfs.materializeAll(path);
  if (found !== 0) return found;
  if (k.vfs.dirs.has(path)) return 'EISDIR';
  const inode = k.vfs.files.get(path);
  if (inode === undefined) return 'ENOENT';
  k.vfs.files.delete(path);
  // The backend's file (if any) stays; the model's namespace no longer has it.
  k.vfs.forget(path);
  inode.nlink = 0;
  if (inode.refs === 0) {
    // No file or mapping holds it: evict() frees its pages and blocks now.
    truncateInodePagesFinal(k, inode.mapping);
    inode.blockdev?.release(inode.ino);
  }
  return 0;
}

export interface StatResult {
  ret: KRet;
  stat?: { st_dev: number; st_ino: number; st_mode: number; st_nlink: number; st_size: number; st_blksize: number; st_blocks: number };
}

/**
 * vfs_fstat() -> generic_fillattr(): st_blksize is the file system's block
 * size (i_blocksize(): 4096 for the ext4 disk on every page size, PAGE_SIZE
 * for tmpfs and devtmpfs); st_blocks counts 512-byte sectors of what is
 * allocated (i_blocks): a tmpfs file's pages; an ext4 file's blocks that
 * hold data, written or reserved by delayed allocation when dirtied
 * (ext4_getattr() adds i_reserved_data_blocks), holes not counted.
 * Deviation: the disk allocates per page (one device block per page), so on
 * a 16 KiB-page kernel a page counts the 4 KiB blocks of it below i_size, where
 * ext4 may have allocated only some of them (a file extended by ftruncate).
 */
export function sysFstat(k: Kernel, task: Task, fd: number): StatResult {
  const f = task.process.files.get(fd);
  if (f === undefined) return { ret: 'EBADF' };
  const inode = f.inode;
  const ps = k.arch.pageSize;
  let blocks = 0;
  let blksize = ps;
  if (inode.kind === 'shmem') blocks = inode.mapping.pages.size * (ps / 512);
  else if (inode.blockdev !== null) {
    blksize = FS_BLOCK_SIZE;
    const end = pagesOf(inode.size, ps);
    const allocated = inode.blockdev.allocatedPages(inode.ino, end);
    for (const [index, pfn] of inode.mapping.pages) if (index < end && k.phys.flags[pfn]! & PG_dirty) allocated.add(index);
    for (const index of allocated) blocks += Math.ceil(Math.min(ps, inode.size - index * ps) / FS_BLOCK_SIZE) * (FS_BLOCK_SIZE / 512);
  }
  return {
    ret: 0,
    stat: {
      st_dev: inode.devMajor * 256 + inode.devMinor,
      st_ino: inode.ino,
      st_mode: inode.mode,
      st_nlink: inode.nlink,
      st_size: inode.size,
      st_blksize: blksize,
      st_blocks: blocks,
    },
  };
}

/** generic_fadvise() */
export function sysFadvise(k: Kernel, task: Task, fd: number, offset: bigint, len: bigint, advice: number): KRet {
  const f = task.process.files.get(fd);
  if (f === undefined) return 'EBADF';
  const l = BigInt.asIntN(64, u64(len));
  if (f.inode.chr !== null) {
    // generic_fadvise() on a device with the no-op backing device: valid advice is accepted and ignored.
    if (l < 0n) return 'EINVAL';
    return advice >= POSIX_FADV_NORMAL && advice <= 5 ? 0 : 'EINVAL';
  }
  if ((f.inode.mode & S_IFMT) !== S_IFREG) return 'ESPIPE';
  const off = BigInt.asIntN(64, u64(offset));
  if (l < 0n) return 'EINVAL';
  const ps = k.arch.pageSize;
  const as = f.inode.mapping;
  const endByte = l === 0n || off + l > BigInt(MAX_FILE_SIZE) ? MAX_FILE_SIZE : Number(off + l) - 1;
  const offN = off < 0n ? 0 : Number(off);
  switch (advice) {
    case POSIX_FADV_NORMAL:
      f.ra.raPages = raPagesOf(k);
      return 0;
    case POSIX_FADV_RANDOM:
      return 0;
    case POSIX_FADV_SEQUENTIAL:
      f.ra.raPages = raPagesOf(k) * 2;
      return 0;
    case POSIX_FADV_NOREUSE:
      return 0;
    case POSIX_FADV_WILLNEED: {
      if (as.isShmem) return 0;
      const first = Math.floor(offN / ps);
      const last = Math.min(Math.floor(endByte / ps), pagesOf(f.inode.size, ps) - 1);
      if (last >= first) readPagesIntoCache(k, as, first, last - first + 1, 0, false);
      return 0;
    }
    case POSIX_FADV_DONTNEED: {
      if (as.isShmem) return 0;
      // Start writeback of dirty pages; pages still under writeback are not dropped.
      const first = Math.floor(offN / ps);
      const lastIdx = Math.floor(endByte / ps);
      const wasDirty = new Set<number>();
      for (const [index, pfn] of as.pages) if (index >= first && index <= lastIdx && k.phys.flags[pfn]! & PG_dirty) wasDirty.add(index);
      filemapWriteAndWait(k, as, first, lastIdx);
      // Only whole pages inside the range are dropped.
      const startIdx = Math.ceil(offN / ps);
      const endIdx = endByte === MAX_FILE_SIZE ? Number.MAX_SAFE_INTEGER : Math.floor((endByte + 1) / ps) - 1;
      if (startIdx <= endIdx) invalidateMappingPages(k, as, startIdx, endIdx, wasDirty);
      return 0;
    }
    default:
      return 'EINVAL';
  }
}

/** memfd_create(2): a shmem file with no name in the file system. */
export function sysMemfdCreate(k: Kernel, task: Task, name: string, flags: number): KRet {
  if ((flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC)) !== 0) return 'EINVAL';
  if (flags & MFD_HUGETLB) return 'EINVAL';
  if ((flags & MFD_EXEC) && (flags & MFD_NOEXEC_SEAL)) return 'EINVAL';
  if (utf8Length(name) > 249) return 'EINVAL';
  const file = k.vfs.shmemFileSetup(`/memfd:${name}`, 0, true);
  return installFd(task, file, (flags & MFD_CLOEXEC) !== 0);
}

