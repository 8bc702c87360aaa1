import { describe, expect, it } from 'vitest';
import { ANON, RW, errno, ok, setup } from '../../../test/model-helpers.js';
import { AT_FDCWD, MAP_PRIVATE, MAP_SHARED, O_RDWR, PROT_READ } from '../uapi.js';
import { ZERO_READ_MAX } from './syscalls.js';

describe('/dev/zero and /dev/null (drivers/char/mem.c)', () => {
  it('MAP_PRIVATE of /dev/zero is anonymous memory that /proc still names /dev/zero', () => {
    const { m, pid } = setup();
    const z = Number(ok(m.openat(pid, AT_FDCWD, '/dev/zero', O_RDWR, 0)));
    const p = ok(m.mmap(pid, 0n, 4096n, RW, MAP_PRIVATE, z, 8192n));
    const vma = m.process(pid)!.mm.vmas.lookup(Number(p))!;
    expect(vma.isAnonymous).toBe(true);
    expect(m.maps(pid)).toMatch(/rw-p 00002000 00:06 4 +\/dev\/zero\n/);
    ok(m.store(pid, p, 1, 5n) as never);
    expect(m.smaps(pid)).toContain('Anonymous:             4 kB');
    // The file reference the VMA holds goes with it.
    const inode = vma.anonFile!.inode;
    const refs = inode.refs;
    ok(m.munmap(pid, p, 4096n));
    expect(inode.refs).toBe(refs - 1);
  });

  it('MAP_SHARED of /dev/zero is a fresh shmem object per mapping', () => {
    const { m, pid } = setup();
    const z = Number(ok(m.openat(pid, AT_FDCWD, '/dev/zero', O_RDWR, 0)));
    const a = ok(m.mmap(pid, 0n, 4096n, RW, MAP_SHARED, z, 0n));
    const b = ok(m.mmap(pid, 0n, 4096n, RW, MAP_SHARED, z, 0n));
    ok(m.store(pid, a, 1, 7n) as never);
    expect(m.load(pid, b, 1)).toEqual({ ok: true, value: 0n });
    expect(m.maps(pid)).toContain('rw-s 00000000 00:01');
    expect(m.maps(pid)).toContain('/dev/zero (deleted)');
  });

  it('reads zeros until the buffer ends, takes writes without reading them, and does not map /dev/null', () => {
    const { m, pid } = setup();
    const z = Number(ok(m.openat(pid, AT_FDCWD, '/dev/zero', O_RDWR, 0)));
    const n = Number(ok(m.openat(pid, AT_FDCWD, '/dev/null', O_RDWR, 0)));
    const p = ok(m.mmap(pid, 0n, 2n * 4096n, RW, ANON, -1, 0n));
    ok(m.store(pid, p + 4000n, 1, 0xffn) as never);
    // A count past the end of the mapping stops at the fault: a short read.
    expect(ok(m.readInto(pid, z, p + 4000n, 1n << 20n))).toBe(2n * 4096n - 4000n);
    // One that reaches past TASK_SIZE_MAX fails vfs_read()'s access_ok() first.
    // (This test expected a short read before; access_ok() is checked on the whole count.)
    expect(errno(m.readInto(pid, z, p + 4000n, 1n << 40n))).toBe('EFAULT');
    expect(m.load(pid, p + 4000n, 1)).toEqual({ ok: true, value: 0n });
    expect(errno(m.readInto(pid, z, 0x1000n, 16n))).toBe('EFAULT');
    expect(ok(m.writeFrom(pid, z, 0x1000n, 16n))).toBe(16n);
    expect(m.read(pid, z, 1n << 40n).data.length).toBe(ZERO_READ_MAX);
    expect(ok(m.readInto(pid, n, p, 16n))).toBe(0n);
    expect(errno(m.mmap(pid, 0n, 4096n, PROT_READ, MAP_PRIVATE, n, 0n))).toBe('ENODEV');
    expect(ok(m.lseek(pid, z, 100n, 0))).toBe(0n);
  });
});
