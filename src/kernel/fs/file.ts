/**
 * struct file: one open of an inode, with its access mode, position and
 * readahead state (include/linux/fs.h), and the per-process descriptor
 * table (fs/file.c).
 */
import type { Inode } from './inode.js';

export const FMODE_READ = 0x1;
export const FMODE_WRITE = 0x2;

/** struct file_ra_state (include/linux/fs.h). */
export interface FileRaState {
  start: number;
  size: number;
  asyncSize: number;
  raPages: number;
  mmapMiss: number;
  /** Byte position just past the last read, for sequential detection. */
  prevPos: number;
  /**
   * The folio order readahead last asked for (ra->order). The model's page
   * cache is order 0, but the order still trims each async window's end to
   * its alignment, which decides how many pages are read.
   */
  order: number;
}

export class File {
  readonly inode: Inode;
  readonly fMode: number;
  flags: number;
  pos = 0;
  /** The path shown by /proc/PID/maps (d_path of the dentry opened). */
  readonly path: string;
  readonly ra: FileRaState;
  /** f_count: descriptors and mappings referring to this file. */
  refs = 0;

  constructor(inode: Inode, fMode: number, flags: number, path: string, raPages: number) {
    this.inode = inode;
    this.fMode = fMode;
    this.flags = flags;
    this.path = path;
    this.ra = { start: 0, size: 0, asyncSize: 0, raPages, mmapMiss: 0, prevPos: -1, order: 0 };
  }
}

export interface FdEntry {
  file: File;
  cloexec: boolean;
}

/** struct files_struct: shared by threads, copied by fork. */
export class FdTable {
  readonly fds: (FdEntry | undefined)[] = [];
  /** RLIMIT_NOFILE */
  readonly limit = 1024;

  get(fd: number): File | undefined {
    if (!Number.isInteger(fd) || fd < 0) return undefined;
    return this.fds[fd]?.file;
  }

  /** get_unused_fd_flags(): the lowest free descriptor, or -1 past the limit. */
  lowestFree(): number {
    for (let i = 0; i < this.limit; i++) if (this.fds[i] === undefined) return i;
    return -1;
  }
}
