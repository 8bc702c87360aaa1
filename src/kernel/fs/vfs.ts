/**
 * The file-system namespace: an ext4-like disk file system rooted at "/"
 * on the simulated block device, plus anonymous shmem inodes
 * (shmem_file_setup() for memfd_create() and shared anonymous memory).
 *
 * Deviation: directories are a set of paths; no permissions, links,
 * renames or timestamps.
 */
import type { Kernel } from '../kernel.js';
import { AddressSpace } from '../mm/filemap.js';
import { S_IFCHR, S_IFREG } from '../uapi.js';
import { type FsBackend, FsBackendError } from './backend.js';
import { File, FMODE_READ, FMODE_WRITE } from './file.js';
import { Inode } from './inode.js';

/** Normalise an absolute path: collapse '//' and '.', resolve '..'. */
export function normalizePath(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}

export function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export class Vfs {
  private readonly k: Kernel;
  readonly files = new Map<string, Inode>();
  readonly dirs = new Set<string>(['/', '/tmp', '/dev']);
  private nextDiskIno = 12;
  private nextShmemIno = 1024;
  /** Files and directories below `mount` not yet looked up come from here (Machine's `fs` option). */
  backend: FsBackend | null = null;
  mount = '/';
  /** Paths whose backend entry the model removed (unlinked) or replaced: never looked up again. */
  private readonly settled = new Set<string>();

  constructor(k: Kernel) {
    this.k = k;
    // drivers/char/mem.c on devtmpfs (00:06 on the project's host; inode
    // numbers of their own, so disk inode numbers are not shifted).
    for (const [name, ino] of [['zero', 4], ['null', 5]] as const) {
      const inode = new Inode(ino, 'disk', 0, 6, S_IFCHR | 0o666, null);
      inode.mapping = new AddressSpace(k, inode);
      inode.chr = name;
      this.files.set(`/dev/${name}`, inode);
    }
  }

  /** The backend's path for a model path, or undefined when it lies outside the mount. */
  backendPath(path: string): string | undefined {
    if (this.backend === null) return undefined;
    if (this.mount === '/') return path;
    if (path === this.mount) return '/';
    return path.startsWith(this.mount + '/') ? path.slice(this.mount.length) : undefined;
  }

  /**
   * Bring a backend's file or directory at `path` (normalised) into the
   * namespace the first time it is looked up: a file becomes a disk inode
   * whose blocks read lazily from the backend. 0 when done (found or not),
   * or the errno the lookup fails with (EACCES for a path the backend
   * refuses as escaping its root, EIO for another backend error).
   */
  materialize(path: string): 0 | 'EACCES' | 'EIO' {
    if (this.backend === null || this.files.has(path) || this.dirs.has(path) || this.settled.has(path)) return 0;
    const bp = this.backendPath(path);
    if (bp === undefined) return 0;
    let entry;
    try {
      entry = this.backend.lookup(bp);
    } catch (e) {
      return e instanceof FsBackendError && e.code === 'EESCAPE' ? 'EACCES' : 'EIO';
    }
    this.settled.add(path);
    if (entry === undefined) return 0;
    if (entry.kind === 'dir') {
      this.ensureDir(path);
      return 0;
    }
    this.ensureDir(dirname(path));
    const inode = this.createFile(path, entry.mode ?? 0o644);
    inode.size = entry.size;
    this.k.disk.attachBacking(inode.ino, this.backend, bp, entry.size);
    return 0;
  }

  /** materialize() the path and each directory above it. */
  materializeAll(path: string): 0 | 'EACCES' | 'EIO' {
    if (this.backend === null) return 0;
    const parent = path === '/' ? undefined : dirname(path);
    if (parent !== undefined) {
      const r = this.materializeAll(parent);
      if (r !== 0) return r;
    }
    return this.materialize(path);
  }

  /** A name in the namespace went (unlink): a backend entry behind it must not come back. */
  forget(path: string): void {
    if (this.backend !== null) this.settled.add(path);
  }

  private newInode(kind: 'disk' | 'shmem', mode: number): Inode {
    const inode =
      kind === 'disk'
        ? new Inode(this.nextDiskIno++, 'disk', this.k.disk.major, this.k.disk.minor, mode, this.k.disk)
        : new Inode(this.nextShmemIno++, 'shmem', 0, 1, mode, null);
    inode.mapping = new AddressSpace(this.k, inode);
    return inode;
  }

  /** A character device node (a terminal, /dev/null): open-able, not mappable. */
  charDevice(path: string): Inode {
    let inode = this.files.get(path);
    if (inode === undefined) {
      inode = new Inode(this.nextDiskIno++, 'disk', 0, 5, 0o020620, null);
      inode.mapping = new AddressSpace(this.k, inode);
      inode.chr = 'tty';
      this.files.set(path, inode);
      let d = dirname(path);
      while (!this.dirs.has(d)) {
        this.dirs.add(d);
        d = dirname(d);
      }
    }
    return inode;
  }

  /** Create a regular file on the disk file system (the caller checked the directory). */
  createFile(path: string, mode: number): Inode {
    if (this.backend !== null) this.settled.add(path);
    const inode = this.newInode('disk', S_IFREG | (mode & 0o7777));
    this.files.set(path, inode);
    return inode;
  }

  /** Populate a file's contents directly on the device, as if written long ago (no I/O counted). */
  seedFile(path: string, data: Uint8Array, mode = 0o644): Inode {
    const p = normalizePath(path);
    let d = dirname(p);
    while (!this.dirs.has(d)) {
      this.dirs.add(d);
      d = dirname(d);
    }
    const inode = this.files.get(p) ?? this.createFile(p, mode);
    const ps = this.k.arch.pageSize;
    for (let off = 0; off < data.length; off += ps) inode.blockdev!.seed(inode.ino, off / ps, data.subarray(off, off + ps));
    inode.size = data.length;
    return inode;
  }

  /** Create the directories leading to and including `path` (a mkdir -p for the flat file system). */
  ensureDir(path: string): void {
    let d = normalizePath(path);
    while (!this.dirs.has(d)) {
      this.dirs.add(d);
      d = dirname(d);
    }
  }

  /**
   * A regular file standing for one on another machine (mmsim replay's host
   * files): its device and inode numbers and size are given, so /proc/PID/maps
   * shows them; its pages read as zeros unless seeded. Replaces nothing that
   * exists at `path`.
   */
  foreignFile(path: string, dev: { major: number; minor: number }, ino: number, size: number, mode = S_IFREG | 0o644): Inode {
    const p = normalizePath(path);
    const had = this.files.get(p);
    if (had !== undefined) return had;
    this.ensureDir(dirname(p));
    const inode = new Inode(ino, 'disk', dev.major, dev.minor, mode, this.k.disk);
    inode.mapping = new AddressSpace(this.k, inode);
    inode.size = size;
    this.files.set(p, inode);
    return inode;
  }

  /**
   * hugetlb_file_setup(HUGETLB_ANON_FILE, ...): an unlinked hugetlbfs inode of
   * `size` bytes on the internal mount of its hstate (device 00:devMinor), opened
   * read-write. Its inode number comes from the shmem counter (get_next_ino() in Linux).
   */
  hugetlbFileSetup(name: string, size: number, hpageSize: number, devMinor: number): File {
    const inode = new Inode(this.nextShmemIno++, 'hugetlbfs', 0, devMinor, S_IFREG | 0o777, null);
    inode.mapping = new AddressSpace(this.k, inode);
    inode.hpageSize = hpageSize;
    inode.size = size;
    inode.nlink = 0;
    return new File(inode, FMODE_READ | FMODE_WRITE, 0, name, 0);
  }

  /** shmem_file_setup(): an unlinked shmem inode of `size` bytes with a file on it. */
  shmemFileSetup(name: string, size: number, writable: boolean): File {
    const inode = this.newInode('shmem', S_IFREG | 0o777);
    inode.size = size;
    inode.nlink = 0;
    return new File(inode, FMODE_READ | (writable ? FMODE_WRITE : 0), 0, name, 0);
  }
}
