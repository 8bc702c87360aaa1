/**
 * A simulated block device under the in-memory file system: it holds file
 * contents page by page, counts requests and sectors as
 * /sys/block/DEV/stat does, and charges each request a deterministic
 * latency (a fixed per-request cost plus a per-byte transfer cost) into a
 * simulated busy time. There is no clock: the latency is bookkeeping.
 *
 * Deviation: one device block per page, no request merging beyond the
 * contiguous runs the page cache submits together, no queueing.
 */
import type { Backing, FsBackend } from './backend.js';
import type { DiskCounters } from '../snapshot.js';

/** The device's counters, as Machine.counters() shows them. */
export type BlockDevStats = DiskCounters;

export interface LatencyModel {
  /** Fixed cost per request (seek, command overhead), ns. */
  perRequestNs: number;
  /** Transfer cost per byte, ns. */
  perByteNs: number;
}

export const DEFAULT_LATENCY: LatencyModel = { perRequestNs: 100_000, perByteNs: 2 };

/**
 * The disk file system's block size: mkfs.ext4's default, 4096 bytes on every
 * page size (a 16 KiB-page kernel mounts the same 4 KiB-block ext4), so
 * st_blksize and the units st_blocks counts allocation in.
 */
export const FS_BLOCK_SIZE = 4096;

export class BlockDevice {
  readonly major: number;
  readonly minor: number;
  readonly pageSize: number;
  readonly latency: LatencyModel;
  readonly stats: BlockDevStats = { readRequests: 0, readSectors: 0, writeRequests: 0, writeSectors: 0, readNs: 0, writeNs: 0, busyNs: 0 };
  /** Stored contents: inode number -> page index -> bytes (absent pages read as zeros). */
  private readonly blocks = new Map<number, Map<number, Uint8Array>>();
  /** Inodes whose unwritten blocks come from an FsBackend (a copy-on-write overlay over it). */
  private readonly backings = new Map<number, Backing>();

  constructor(major: number, minor: number, pageSize: number, latency: LatencyModel = DEFAULT_LATENCY) {
    this.major = major;
    this.minor = minor;
    this.pageSize = pageSize;
    this.latency = latency;
  }

  /** Account one request of `pages` pages (submit_bio()). */
  private account(write: boolean, pages: number): void {
    const bytes = pages * this.pageSize;
    const ns = this.latency.perRequestNs + bytes * this.latency.perByteNs;
    if (write) {
      this.stats.writeRequests++;
      this.stats.writeSectors += bytes / 512;
      this.stats.writeNs += ns;
    } else {
      this.stats.readRequests++;
      this.stats.readSectors += bytes / 512;
      this.stats.readNs += ns;
    }
    this.stats.busyNs += ns;
  }

  /** Read a contiguous run of pages of one inode into the given destinations; how many came from the device (not holes). */
  readPages(ino: number, firstIndex: number, dsts: Uint8Array[]): number {
    const file = this.blocks.get(ino);
    let stored = 0;
    for (let i = 0; i < dsts.length; i++) {
      const src = file?.get(firstIndex + i);
      const dst = dsts[i]!;
      const b = src === undefined ? this.backedAt(ino, firstIndex + i) : undefined;
      if (src !== undefined) {
        dst.set(src);
        stored++;
      } else if (b !== undefined) {
        dst.fill(0);
        b.backend.readPage(b.path, firstIndex + i, dst);
        stored++;
      } else {
        dst.fill(0);
      }
    }
    // A hole (never-written blocks) reads as zeros without touching the device, as ext4 maps it.
    if (stored > 0) this.account(false, stored);
    return stored;
  }

  /** Write a contiguous run of pages; `validBytes[i]` bytes of each are kept, the rest stored as zeros. */
  writePages(ino: number, firstIndex: number, srcs: Uint8Array[], validBytes: number[]): void {
    let file = this.blocks.get(ino);
    if (file === undefined) {
      file = new Map();
      this.blocks.set(ino, file);
    }
    for (let i = 0; i < srcs.length; i++) {
      const block = new Uint8Array(this.pageSize);
      const n = validBytes[i]!;
      block.set(srcs[i]!.subarray(0, n));
      file.set(firstIndex + i, block);
      this.backings.get(ino)?.dirty.add(firstIndex + i);
    }
    this.account(true, srcs.length);
  }

  /** Store bytes without I/O accounting (populating a file system image at set-up). */
  seed(ino: number, index: number, bytes: Uint8Array): void {
    let file = this.blocks.get(ino);
    if (file === undefined) {
      file = new Map();
      this.blocks.set(ino, file);
    }
    const block = new Uint8Array(this.pageSize);
    block.set(bytes.subarray(0, this.pageSize));
    file.set(index, block);
    this.backings.get(ino)?.dirty.add(index);
  }

  /** Drop blocks at and past `fromIndex`, zeroing the tail of the block holding `size` (truncate). */
  truncate(ino: number, size: number): void {
    const keep = Math.ceil(size / this.pageSize);
    const tail = size % this.pageSize;
    const b = this.backings.get(ino);
    if (b !== undefined) {
      // The backend's page holding the new end is copied up so its tail can be zeroed in the overlay.
      if (tail !== 0 && this.blocks.get(ino)?.get(keep - 1) === undefined && this.backedAt(ino, keep - 1) !== undefined) {
        const block = new Uint8Array(this.pageSize);
        b.backend.readPage(b.path, keep - 1, block);
        this.seed(ino, keep - 1, block);
      }
      b.pages = Math.min(b.pages, keep);
      for (const idx of [...b.holes]) if (idx >= keep) b.holes.delete(idx);
    }
    const file = this.blocks.get(ino);
    if (file === undefined) return;
    for (const idx of [...file.keys()]) if (idx >= keep) file.delete(idx);
    if (tail !== 0 && file.get(keep - 1) !== undefined) {
      file.get(keep - 1)!.fill(0, tail);
      b?.dirty.add(keep - 1);
    }
  }

  /** Free the blocks of pages [first, last] of an inode (fallocate(FALLOC_FL_PUNCH_HOLE)): they read as zeros. */
  punchHole(ino: number, first: number, last: number): void {
    const b = this.backings.get(ino);
    if (b !== undefined) for (let idx = first; idx <= Math.min(last, b.pages - 1); idx++) b.holes.add(idx);
    const file = this.blocks.get(ino);
    if (file === undefined) return;
    for (const idx of [...file.keys()]) if (idx >= first && idx <= last) file.delete(idx);
  }

  /** Free all of an inode's blocks (the last reference to an unlinked inode went away). */
  release(ino: number): void {
    this.blocks.delete(ino);
    this.backings.delete(ino);
  }

  /** Back an inode's unwritten blocks with a backend file of `size` bytes (read lazily, page by page). */
  attachBacking(ino: number, backend: FsBackend, path: string, size: number): void {
    this.backings.set(ino, { backend, path, pages: Math.ceil(size / this.pageSize), holes: new Set(), dirty: new Set() });
  }

  backing(ino: number): Backing | undefined {
    return this.backings.get(ino);
  }

  /** The backing a page not in the overlay reads from, if any. */
  private backedAt(ino: number, index: number): Backing | undefined {
    const b = this.backings.get(ino);
    return b !== undefined && index < b.pages && !b.holes.has(index) ? b : undefined;
  }

  /**
   * Hand an inode's changed pages to its backend (Machine.writeBack()): every
   * overlay page (or only those changed since the last write-back, for a
   * backed inode) and every punched page as zeros, then commit(size).
   * Returns the pages written.
   */
  writeBackTo(ino: number, backend: FsBackend, path: string, size: number): number {
    if (backend.writePage === undefined) throw new Error(`the file-system backend cannot write (${path})`);
    const ps = this.pageSize;
    const end = Math.ceil(size / ps);
    let b = this.backings.get(ino);
    if (b !== undefined && (b.backend !== backend || b.path !== path)) b = undefined;
    const file = this.blocks.get(ino);
    const indices = new Set<number>();
    if (b !== undefined) {
      for (const i of b.dirty) indices.add(i);
      for (const i of b.holes) indices.add(i);
    } else if (file !== undefined) {
      for (const i of file.keys()) indices.add(i);
    }
    const zero = new Uint8Array(ps);
    let n = 0;
    for (const i of [...indices].sort((x, y) => x - y)) {
      if (i >= end) continue;
      const bytes = file?.get(i) ?? zero;
      backend.writePage(path, i, bytes.subarray(0, Math.min(ps, size - i * ps)), ps);
      n++;
    }
    backend.commit?.(path, size);
    if (b !== undefined) {
      b.dirty.clear();
      b.holes.clear();
      b.pages = end;
    } else {
      this.attachBacking(ino, backend, path, size);
    }
    return n;
  }

  /** Is page `index` of the inode a hole (no block written, none backed): ext4 maps it as new, reading nothing? */
  isHole(ino: number, index: number): boolean {
    return this.blocks.get(ino)?.get(index) === undefined && this.backedAt(ino, index) === undefined;
  }

  /** The pages of an inode below `endIndex` that have blocks on the device (written, or from its backend, not punched). */
  allocatedPages(ino: number, endIndex: number): Set<number> {
    const out = new Set<number>();
    for (const i of this.blocks.get(ino)?.keys() ?? []) if (i < endIndex) out.add(i);
    const b = this.backings.get(ino);
    if (b !== undefined) for (let i = 0; i < Math.min(b.pages, endIndex); i++) if (!b.holes.has(i)) out.add(i);
    return out;
  }

  /** Read stored bytes without accounting (for display and tests). */
  peek(ino: number, index: number): Uint8Array | undefined {
    return this.blocks.get(ino)?.get(index);
  }
}
