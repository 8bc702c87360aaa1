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

export interface BlockDevStats {
  readRequests: number;
  readSectors: number;
  writeRequests: number;
  writeSectors: number;
  /** Simulated time the device spent on requests, in nanoseconds. */
  busyNs: number;
}

export interface LatencyModel {
  /** Fixed cost per request (seek, command overhead), ns. */
  perRequestNs: number;
  /** Transfer cost per byte, ns. */
  perByteNs: number;
}

export const DEFAULT_LATENCY: LatencyModel = { perRequestNs: 100_000, perByteNs: 2 };

export class BlockDevice {
  readonly major: number;
  readonly minor: number;
  readonly pageSize: number;
  readonly latency: LatencyModel;
  readonly stats: BlockDevStats = { readRequests: 0, readSectors: 0, writeRequests: 0, writeSectors: 0, busyNs: 0 };
  /** Stored contents: inode number -> page index -> bytes (absent pages read as zeros). */
  private readonly blocks = new Map<number, Map<number, Uint8Array>>();

  constructor(major: number, minor: number, pageSize: number, latency: LatencyModel = DEFAULT_LATENCY) {
    this.major = major;
    this.minor = minor;
    this.pageSize = pageSize;
    this.latency = latency;
  }

  /** Account one request of `pages` pages (submit_bio()). */
  private account(write: boolean, pages: number): void {
    const bytes = pages * this.pageSize;
    if (write) {
      this.stats.writeRequests++;
      this.stats.writeSectors += bytes / 512;
    } else {
      this.stats.readRequests++;
      this.stats.readSectors += bytes / 512;
    }
    this.stats.busyNs += this.latency.perRequestNs + bytes * this.latency.perByteNs;
  }

  /** Read a contiguous run of pages of one inode into the given destinations. */
  readPages(ino: number, firstIndex: number, dsts: Uint8Array[]): void {
    const file = this.blocks.get(ino);
    let stored = 0;
    for (let i = 0; i < dsts.length; i++) {
      const src = file?.get(firstIndex + i);
      const dst = dsts[i]!;
      if (src !== undefined) {
        dst.set(src);
        stored++;
      } else {
        dst.fill(0);
      }
    }
    // A hole (never-written blocks) reads as zeros without touching the device, as ext4 maps it.
    if (stored > 0) this.account(false, stored);
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
  }

  /** Drop blocks at and past `fromIndex`, zeroing the tail of the block holding `size` (truncate). */
  truncate(ino: number, size: number): void {
    const file = this.blocks.get(ino);
    if (file === undefined) return;
    const keep = Math.ceil(size / this.pageSize);
    for (const idx of [...file.keys()]) if (idx >= keep) file.delete(idx);
    const tail = size % this.pageSize;
    if (tail !== 0) file.get(keep - 1)?.fill(0, tail);
  }

  /** Free the blocks of pages [first, last] of an inode (fallocate(FALLOC_FL_PUNCH_HOLE)): they read as zeros. */
  punchHole(ino: number, first: number, last: number): void {
    const file = this.blocks.get(ino);
    if (file === undefined) return;
    for (const idx of [...file.keys()]) if (idx >= first && idx <= last) file.delete(idx);
  }

  /** Free all of an inode's blocks (the last reference to an unlinked inode went away). */
  release(ino: number): void {
    this.blocks.delete(ino);
  }

  /** Read stored bytes without accounting (for display and tests). */
  peek(ino: number, index: number): Uint8Array | undefined {
    return this.blocks.get(ino)?.get(index);
  }
}
