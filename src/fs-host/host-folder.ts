/**
 * An FsBackend over a folder of real host files (node:fs): the model's
 * paths are relative to the folder, files are read lazily one page at a
 * time (fs.readSync at the page's offset), and nothing is written unless
 * the embedder asks for a write-back (Machine.writeBack()), and not even
 * then when the folder was opened { readOnly: true }.
 *
 * Paths cannot escape the folder: a path with a `..` component, or one
 * whose symlinks resolve outside the folder, throws an FsBackendError with
 * code 'EESCAPE' and the path (the model's openat()/unlink() see EACCES).
 * The model normalises its own paths, so `..` from a syscall never reaches
 * here: /../x in the model is /x in the folder, as under chroot.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { type FsBackend, type FsBackendEntry, FsBackendError, type FsBackendStats } from '../kernel/fs/backend.js';

export interface HostFolderOptions {
  /** Refuse write-back (writePage()/commit() throw an FsBackendError 'EROFS'). */
  readOnly?: boolean;
}

/** The host-folder backend's counters (each readPage() is one fs.readSync() loop). */
export type HostFolderStats = FsBackendStats;

export class HostFolderBackend implements FsBackend {
  /** The folder, symlinks resolved. */
  readonly root: string;
  /** Whether write-back is refused. */
  readonly readOnly: boolean;
  /** What the model has asked of the folder so far. */
  readonly stats: HostFolderStats = { pageReads: 0, bytesRead: 0, pageWrites: 0, commits: 0 };

  constructor(folder: string, options: HostFolderOptions = {}) {
    this.root = fs.realpathSync(folder);
    if (!fs.statSync(this.root).isDirectory()) throw new Error(`not a directory: ${folder}`);
    this.readOnly = options.readOnly ?? false;
  }

  private inside(real: string): boolean {
    return real === this.root || real.startsWith(this.root + nodePath.sep);
  }

  /**
   * The host path for a backend path, checked to stay in the folder; for a
   * path that does not exist, its nearest existing ancestor is checked.
   */
  resolve(path: string): string {
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) throw new FsBackendError('EESCAPE', path, `EESCAPE: path escapes the folder ${this.root}: ${path}`);
    const host = nodePath.join(this.root, ...parts);
    let probe = host;
    for (;;) {
      try {
        const real = fs.realpathSync(probe);
        if (!this.inside(real)) throw new FsBackendError('EESCAPE', path, `EESCAPE: path resolves outside the folder ${this.root}: ${path}`);
        return probe === host ? real : host;
      } catch (e) {
        if (e instanceof FsBackendError) throw e;
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
        // A dangling symlink may point outside: refuse it as well.
        try {
          const link = fs.readlinkSync(probe);
          const target = nodePath.resolve(nodePath.dirname(probe), link);
          if (!this.inside(target)) throw new FsBackendError('EESCAPE', path, `EESCAPE: symlink points outside the folder ${this.root}: ${path}`);
        } catch (e2) {
          if (e2 instanceof FsBackendError) throw e2;
        }
        if (probe === this.root) return host;
        probe = nodePath.dirname(probe);
      }
    }
  }

  lookup(path: string): FsBackendEntry | undefined {
    const host = this.resolve(path);
    let st: fs.Stats;
    try {
      st = fs.statSync(host);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw e;
    }
    if (st.isDirectory()) return { kind: 'dir', size: 4096, mode: st.mode & 0o7777, ino: st.ino };
    if (!st.isFile()) return undefined;
    return { kind: 'file', size: st.size, mode: st.mode & 0o7777, ino: st.ino };
  }

  readPage(path: string, index: number, dst: Uint8Array): number {
    const host = this.resolve(path);
    const fd = fs.openSync(host, 'r');
    try {
      let done = 0;
      const at = index * dst.length;
      while (done < dst.length) {
        const n = fs.readSync(fd, dst, done, dst.length - done, at + done);
        if (n === 0) break;
        done += n;
      }
      this.stats.pageReads++;
      this.stats.bytesRead += done;
      return done;
    } finally {
      fs.closeSync(fd);
    }
  }

  writePage(path: string, index: number, src: Uint8Array, pageSize: number): void {
    if (this.readOnly) throw new FsBackendError('EROFS', path, `EROFS: the folder ${this.root} was opened read-only: ${path}`);
    const host = this.resolve(path);
    fs.mkdirSync(nodePath.dirname(host), { recursive: true });
    const fd = fs.openSync(host, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o644);
    try {
      let done = 0;
      while (done < src.length) done += fs.writeSync(fd, src, done, src.length - done, index * pageSize + done);
      this.stats.pageWrites++;
    } finally {
      fs.closeSync(fd);
    }
  }

  commit(path: string, size: number): void {
    if (this.readOnly) throw new FsBackendError('EROFS', path, `EROFS: the folder ${this.root} was opened read-only: ${path}`);
    const host = this.resolve(path);
    const fd = fs.openSync(host, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o644);
    try {
      fs.ftruncateSync(fd, size);
      this.stats.commits++;
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** An FsBackend over the host folder `folder`. */
export function hostFolder(folder: string, options: HostFolderOptions = {}): HostFolderBackend {
  return new HostFolderBackend(folder, options);
}
