/**
 * read() and write() through user memory check their arguments in Linux's
 * order: ksys_pread64()'s negative position, the descriptor, then
 * access_ok() on the whole buffer, before any page is read or written
 * (test/conformance/mmsim-rw-access-ok.strace compares the host-visible
 * cases with Linux).
 */
import { describe, expect, it } from 'vitest';
import { ANON, RW, makeFile, mapShared, ok, setup } from '../../../test/model-helpers.js';
import { MAP_FIXED, PROT_NONE } from '../uapi.js';

describe('read()/write() through user memory', () => {
  it('a count that makes the buffer wrap past 2^64 is EFAULT, not EINVAL, and reads nothing', () => {
    const { m, pid } = setup();
    const fd = makeFile(m, pid, '/f', 'hello');
    const p = ok(m.mmap(pid, 0n, 4096n, RW, ANON, -1, 0n));
    expect(m.lseek(pid, fd, 0n, 0)).toEqual({ ok: true, value: 0n });
    expect(m.readInto(pid, fd, p, 0xffffffffffffffffn)).toEqual({ ok: false, errno: 'EFAULT' });
    expect(m.writeFrom(pid, fd, p, 0xffffffffffffffffn)).toEqual({ ok: false, errno: 'EFAULT' });
    // Nothing moved the file position.
    expect(m.lseek(pid, fd, 0n, 1)).toEqual({ ok: true, value: 0n });
  });

  it('a buffer ending exactly at TASK_SIZE_MAX passes access_ok(); one byte more does not', () => {
    const { m, pid } = setup();
    const fd = makeFile(m, pid, '/f', 'x');
    const top = BigInt(m.k.arch.taskSize);
    // At end of file: one byte up to the top passes access_ok() and reads nothing;
    // two bytes cross TASK_SIZE_MAX: EFAULT before the read.
    expect(m.readInto(pid, fd, top - 1n, 1n)).toEqual({ ok: true, value: 0n });
    expect(m.readInto(pid, fd, top - 1n, 2n)).toEqual({ ok: false, errno: 'EFAULT' });
    // With data to copy, the same byte passes access_ok() and lands at the top of the stack.
    m.lseek(pid, fd, 0n, 0);
    expect(m.readInto(pid, fd, top - 1n, 1n)).toEqual({ ok: true, value: 1n });
    expect(m.load(pid, top - 1n, 1)).toEqual({ ok: true, value: BigInt('x'.charCodeAt(0)) });
  });

  it('pread64/pwrite64 with a negative position are EINVAL before the descriptor is looked up', () => {
    const { m, pid } = setup();
    expect(m.readInto(pid, 99, 0x10000n, 1n, -1n)).toEqual({ ok: false, errno: 'EINVAL' });
    expect(m.writeFrom(pid, 99, 0x10000n, 1n, -1n)).toEqual({ ok: false, errno: 'EINVAL' });
    expect(m.readInto(pid, 99, -1n, 1n)).toEqual({ ok: false, errno: 'EBADF' });
  });

  it('a write whose source ends mid-write keeps what was copied and leaves the whole folio write_begin took', () => {
    const { m, pid } = setup();
    const fd = makeFile(m, pid, '/f', '');
    // A readable page of "A"s followed by an inaccessible one.
    const src = ok(m.mmap(pid, 0n, 8192n, RW, ANON, -1, 0n));
    expect(m.storeBytes(pid, src, new Uint8Array(4096).fill(0x41)).ok).toBe(true);
    ok(m.mmap(pid, src + 4096n, 4096n, PROT_NONE, ANON | MAP_FIXED, -1, 0n));
    // 8199 bytes from src + 100: an order-1 folio for the file's pages 0-1; the copy gets 3996.
    expect(m.writeFrom(pid, fd, src + 100n, 8199n)).toEqual({ ok: true, value: 3996n });
    expect(m.fstat(pid, fd).stat!.st_size).toBe(3996);
    // Page 1 lies past end of file but is cached and uptodate (zeroed when write_end refused the short copy).
    const map = mapShared(m, pid, fd, 8192);
    expect([...m.mincore(pid, map, 8192n).vec]).toEqual([1, 1]);
    // Growing the file to 4096 cuts the cache at the new end: the folio is split and page 1 dropped.
    ok(m.ftruncate(pid, fd, 4096n));
    expect([...m.mincore(pid, map, 8192n).vec]).toEqual([1, 0]);
    expect(m.load(pid, map + 3995n, 1)).toEqual({ ok: true, value: 0x41n });
    expect(m.load(pid, map + 3996n, 1)).toEqual({ ok: true, value: 0n });
  });
});
