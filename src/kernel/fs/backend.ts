/**
 * The file-system adapter: a source of files the model's disk file system
 * shows as if they had been on its device all along (the embedder's
 * folder, an archive, a fetch() cache...). The model asks it for a file's
 * size when a path is first looked up, and for one page at a time on a
 * page-cache miss; it never asks it to write unless the embedder calls
 * Machine.writeBack().
 *
 * Copy-on-write overlay: writes, truncations, hole punches and unlinks
 * change only the model's copy (the block device keeps the changed pages
 * over the backend's), never the backend.
 *
 * Errors: lookup() returns undefined for a missing path (the syscall sees
 * ENOENT); a backend refusing a path (one escaping its root) throws an
 * FsBackendError with code 'EESCAPE', which the syscall sees as EACCES; any
 * other error thrown by lookup() is EIO. An error thrown by readPage()
 * propagates to the embedder (the model has no I/O-error path).
 */

/** What FsBackend.lookup() finds at a path. */
export interface FsBackendEntry {
  /** A regular file or a directory (anything else is reported as missing). */
  kind: 'file' | 'dir';
  /** Size in bytes (files). */
  size: number;
  /** Permission bits (st_mode & 0o7777); 0o644 when absent. */
  mode?: number;
  /** Informational: the backend's inode number (the model numbers its inodes itself). */
  ino?: number;
  /** Informational: the backend's device (the model's files are on its own disk). */
  dev?: {
    /** The device's major number. */
    major: number;
    /** The device's minor number. */
    minor: number;
  };
}

/**
 * The file-system adapter: where the model's files come from when
 * MachineOptions.fs is set (see the module comment above for the contract).
 * lookup() and readPage() are required; writePage() and commit() only for
 * Machine.writeBack().
 */
export interface FsBackend {
  /** What is at `path` (absolute, normalised, relative to the backend's root), or undefined. */
  lookup(path: string): FsBackendEntry | undefined;
  /**
   * Read page `index` (bytes [index * dst.length, (index + 1) * dst.length)) of
   * the file into dst; returns the bytes read. The model zero-fills dst first.
   */
  readPage(path: string, index: number, dst: Uint8Array): number;
  /** Write-back only: store `src` (the valid bytes of page `index`, pageSize bytes per index) into the file, creating it if needed. */
  writePage?(path: string, index: number, src: Uint8Array, pageSize: number): void;
  /** Write-back only: the file's pages are written; set its size. */
  commit?(path: string, size: number): void;
}

/** What a backend has been asked to do, counted by the two backends mmsim ships (MemoryBackend and, in mmsim/host-fs, HostFolderBackend). */
export interface FsBackendStats {
  /** readPage() calls: pages read from the backend. */
  pageReads: number;
  /** Bytes those calls returned. */
  bytesRead: number;
  /** writePage() calls (write-back only). */
  pageWrites: number;
  /** commit() calls (write-back only). */
  commits: number;
}

/** Why a backend refused: EESCAPE a path leaving its root, EROFS a write to a read-only backend, ENOTSUP an operation it does not have. */
export type FsBackendErrorCode = 'EESCAPE' | 'EROFS' | 'ENOTSUP';

/** An error a backend throws for a path it refuses. */
export class FsBackendError extends Error {
  /** Why the backend refused. */
  readonly code: FsBackendErrorCode;
  /** The path it refused, as it was given. */
  readonly path: string;
  /** An error for `path`; the message defaults to "CODE: path". */
  constructor(code: FsBackendErrorCode, path: string, message?: string) {
    super(message ?? `${code}: ${path}`);
    this.name = 'FsBackendError';
    this.code = code;
    this.path = path;
  }
}

/** Where a backed inode's pages come from on the device. */
export interface Backing {
  backend: FsBackend;
  path: string;
  /** Pages [0, pages) not overlaid read from the backend; past it, zeros. */
  pages: number;
  /** Pages punched or zeroed in the model: they read as zeros, not from the backend. */
  holes: Set<number>;
  /** Overlay pages changed since the last write-back. */
  dirty: Set<number>;
}
