/**
 * An FsBackend over files held in memory: the embedder's bytes appear in
 * the model as if they had been on its disk all along, with the same
 * semantics as the host-folder backend (mmsim/host-fs) but no node:fs, so
 * it works in a browser. The model reads them lazily, one page per
 * readPage() on a page-cache miss; its writes, truncations and unlinks stay
 * in its own copy-on-write overlay until the embedder calls
 * Machine.writeBack(path), which hands the changed pages to writePage() and
 * the size to commit(); get(path) then returns the new contents.
 *
 * Paths are relative to the backend's root, like a folder's: a path with a
 * `..` component is refused with an FsBackendError 'EESCAPE' (the model
 * resolves its own `..` before asking, so a syscall never sends one).
 * Directories are the folders above the files (and the root).
 */
import { type FsBackend, type FsBackendEntry, FsBackendError, type FsBackendStats } from '../kernel/fs/backend.js';

/** Options of memoryBackend(). */
export interface MemoryBackendOptions {
  /** Refuse write-back: writePage() and commit() throw an FsBackendError 'EROFS'. */
  readOnly?: boolean;
}

/** The backend's files: path to contents (a string is stored as its UTF-8 bytes). */
export type MemoryBackendFiles = Readonly<Record<string, Uint8Array | string>> | Iterable<readonly [string, Uint8Array | string]>;

/** An FsBackend over files held in memory (see memoryBackend()). */
export class MemoryBackend implements FsBackend {
  /** Whether write-back is refused. */
  readonly readOnly: boolean;
  /** What the model has asked of the backend so far. */
  readonly stats: FsBackendStats = { pageReads: 0, bytesRead: 0, pageWrites: 0, commits: 0 };
  private readonly files = new Map<string, Uint8Array>();
  private readonly dirs = new Set<string>(['/']);

  /** A backend holding copies of `files` (keys are paths from its root; a leading / is optional). */
  constructor(files: MemoryBackendFiles = {}, options: MemoryBackendOptions = {}) {
    this.readOnly = options.readOnly ?? false;
    const entries = Symbol.iterator in files ? files : Object.entries(files);
    const enc = new TextEncoder();
    for (const [path, data] of entries as Iterable<readonly [string, Uint8Array | string]>) {
      this.store(this.resolve(path), typeof data === 'string' ? enc.encode(data) : data.slice());
    }
  }

  /** The backend's path for `path`: absolute, normalised, refused when it has a `..` component. */
  private resolve(path: string): string {
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) throw new FsBackendError('EESCAPE', path, `EESCAPE: path escapes the backend's root: ${path}`);
    return '/' + parts.join('/');
  }

  private store(path: string, data: Uint8Array): void {
    if (path === '/' || this.dirs.has(path)) throw new Error(`not a file path: ${path}`);
    this.files.set(path, data);
    for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) this.dirs.add(path.slice(0, i));
  }

  /** What is at `path`: a file with its size, a directory, or undefined. */
  lookup(path: string): FsBackendEntry | undefined {
    const p = this.resolve(path);
    const f = this.files.get(p);
    if (f !== undefined) return { kind: 'file', size: f.length, mode: 0o644 };
    return this.dirs.has(p) ? { kind: 'dir', size: 4096, mode: 0o755 } : undefined;
  }

  /** Copy page `index` of the file (dst.length bytes per page) into dst; the bytes copied (fewer at the end of the file). */
  readPage(path: string, index: number, dst: Uint8Array): number {
    const p = this.resolve(path);
    const f = this.files.get(p);
    if (f === undefined) throw new Error(`no such file in the memory backend: ${path}`);
    const at = index * dst.length;
    const part = f.subarray(Math.min(at, f.length), Math.min(at + dst.length, f.length));
    dst.set(part);
    this.stats.pageReads++;
    this.stats.bytesRead += part.length;
    return part.length;
  }

  /** Write-back: store `src` at byte index * pageSize of the file, creating it (and growing it) as needed. */
  writePage(path: string, index: number, src: Uint8Array, pageSize: number): void {
    if (this.readOnly) throw new FsBackendError('EROFS', path, `EROFS: the memory backend is read-only: ${path}`);
    const p = this.resolve(path);
    let f = this.files.get(p) ?? new Uint8Array(0);
    const end = index * pageSize + src.length;
    if (f.length < end) {
      const grown = new Uint8Array(end);
      grown.set(f);
      f = grown;
    }
    f.set(src, index * pageSize);
    this.store(p, f);
    this.stats.pageWrites++;
  }

  /** Write-back: the file's pages are written; cut or zero-extend it to `size` bytes. */
  commit(path: string, size: number): void {
    if (this.readOnly) throw new FsBackendError('EROFS', path, `EROFS: the memory backend is read-only: ${path}`);
    const p = this.resolve(path);
    const f = this.files.get(p) ?? new Uint8Array(0);
    const out = new Uint8Array(size);
    out.set(f.subarray(0, Math.min(size, f.length)));
    this.store(p, out);
    this.stats.commits++;
  }

  /** A copy of the file's bytes as the backend holds them (changed only by write-back), or undefined. */
  get(path: string): Uint8Array | undefined {
    return this.files.get(this.resolve(path))?.slice();
  }

  /** The paths of the backend's files, sorted. */
  paths(): string[] {
    return [...this.files.keys()].sort();
  }
}

/** An FsBackend over in-memory files (see MemoryBackend). */
export function memoryBackend(files: MemoryBackendFiles = {}, options: MemoryBackendOptions = {}): MemoryBackend {
  return new MemoryBackend(files, options);
}
