import { describe, expect, it } from 'vitest';
import type { Machine } from '../machine.js';
import { makeFile, ok, setup } from '../../../test/model-helpers.js';
import { AT_FDCWD, MAP_SHARED, MS_SYNC, O_RDONLY, PROT_READ, PROT_WRITE } from '../uapi.js';

/**
 * fstat(2)'s st_blksize and st_blocks. On Linux, ext4 reports its block size
 * (4096, on every page size) and counts 512-byte sectors of allocated blocks:
 * blocks written or reserved by delayed allocation, not holes (ext4_getattr());
 * tmpfs and devtmpfs report PAGE_SIZE and count whole pages.
 */
function st(m: Machine, pid: number, fd: number): [size: number, blocks: number, blksize: number] {
  const s = m.fstat(pid, fd).stat!;
  return [s.st_size, s.st_blocks, s.st_blksize];
}

describe('fstat st_blocks and st_blksize', () => {
  it('x86_64: the counts this Linux 6.18 host printed for the same steps on ext4', () => {
    const { m, pid } = setup();
    const fd = makeFile(m, pid, '/tmp/s1', new Uint8Array(0));
    const seen: [number, number, number][] = [st(m, pid, fd)];
    ok(m.write(pid, fd, new Uint8Array([0x78]), 0n));
    seen.push(st(m, pid, fd)); // delalloc: reserved, not yet written
    ok(m.fsync(pid, fd));
    seen.push(st(m, pid, fd));
    ok(m.ftruncate(pid, fd, 3n * 4096n));
    seen.push(st(m, pid, fd)); // the new pages are holes
    const p = ok(m.mmap(pid, 0n, 3n * 4096n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0n));
    ok(m.store(pid, p + 4096n + 5n, 1, 1n) as never);
    seen.push(st(m, pid, fd)); // page_mkwrite reserves the hole's block
    m.load(pid, p + 2n * 4096n, 1);
    seen.push(st(m, pid, fd)); // reading a hole allocates nothing
    ok(m.msync(pid, p, 3n * 4096n, MS_SYNC));
    seen.push(st(m, pid, fd));
    ok(m.write(pid, fd, new Uint8Array([0x79]), 10n * 4096n + 7n));
    seen.push(st(m, pid, fd));
    ok(m.ftruncate(pid, fd, 4096n));
    seen.push(st(m, pid, fd));
    expect(seen).toEqual([
      [0, 0, 4096], [1, 8, 4096], [1, 8, 4096], [12288, 8, 4096], [12288, 16, 4096], [12288, 16, 4096], [12288, 16, 4096],
      [40968, 24, 4096], [4096, 8, 4096],
    ]);
    const g = makeFile(m, pid, '/tmp/s2', new Uint8Array(10000).fill(1));
    expect(st(m, pid, g)).toEqual([10000, 24, 4096]);
    const mfd = Number(ok(m.memfdCreate(pid, 'm', 0)));
    ok(m.ftruncate(pid, mfd, 3n * 4096n));
    expect(st(m, pid, mfd)).toEqual([12288, 0, 4096]);
    ok(m.write(pid, mfd, new Uint8Array([0x61]), 4096n));
    expect(st(m, pid, mfd)).toEqual([12288, 8, 4096]);
    const z = Number(ok(m.openat(pid, AT_FDCWD, '/dev/zero', O_RDONLY)));
    expect(st(m, pid, z)).toEqual([0, 0, 4096]);
  });

  it('arm64 with 16 KiB pages: ext4 keeps 4 KiB blocks; tmpfs and /dev/zero report the page size', () => {
    const { m, pid } = setup({ arch: 'arm64-16k' });
    const P = 16384;
    // One byte: one 4 KiB block of the 16 KiB page.
    const a = makeFile(m, pid, '/tmp/a', new Uint8Array(1));
    expect(st(m, pid, a)).toEqual([1, 8, 4096]);
    // 40000 bytes: pages of 16384, 16384 and 7232 bytes: 4 + 4 + 2 blocks.
    const b = makeFile(m, pid, '/tmp/b', new Uint8Array(40000).fill(2));
    expect(st(m, pid, b)).toEqual([40000, 80, 4096]);
    ok(m.fsync(pid, b));
    expect(st(m, pid, b)).toEqual([40000, 80, 4096]);
    // A byte far into an empty file: one block, the rest holes.
    const c = makeFile(m, pid, '/tmp/c', new Uint8Array(0));
    ok(m.write(pid, c, new Uint8Array([1]), 5n * BigInt(P)));
    expect(st(m, pid, c)).toEqual([5 * P + 1, 8, 4096]);
    // Shrinking frees the blocks past the end.
    ok(m.ftruncate(pid, b, 100n));
    expect(st(m, pid, b)).toEqual([100, 8, 4096]);
    const mfd = Number(ok(m.memfdCreate(pid, 'm', 0)));
    ok(m.write(pid, mfd, new Uint8Array([1]), BigInt(P)));
    expect(st(m, pid, mfd)).toEqual([P + 1, P / 512, P]);
    const z = Number(ok(m.openat(pid, AT_FDCWD, '/dev/zero', O_RDONLY)));
    expect(st(m, pid, z)).toEqual([0, 0, P]);
  });
});
