/**
 * The file-system backends: files of a host folder (mmsim/host-fs) or held
 * in memory (memoryBackend() from the main entry) seen by the model, read
 * lazily page by page through the simulated disk, with a copy-on-write
 * overlay (the backend's file changes only on Machine.writeBack()), and
 * paths that cannot leave the backend's root. The behaviour tests run
 * against both backends; the symlink tests need a real folder.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Machine, memoryBackend, uapi, type FsBackend, type FsBackendStats } from '../src/index.js';
import { FsBackendError, hostFolder } from '../src/host-fs.js';

const PS = 4096;
let dir = '';
let outside = '';

/** Page i of the test file holds byte (i + 1) & 0xff, with its index in the first 4 bytes. */
function pattern(pages: number, extra = 0): Uint8Array {
  const b = new Uint8Array(pages * PS + extra);
  for (let i = 0; i * PS < b.length; i++) {
    b.fill((i + 1) & 0xff, i * PS, Math.min(b.length, (i + 1) * PS));
    if ((i + 1) * PS <= b.length) new DataView(b.buffer).setUint32(i * PS, i, true);
  }
  return b;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mmsim-hostfs-'));
  outside = mkdtempSync(join(tmpdir(), 'mmsim-outside-'));
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'big.bin'), pattern(256, 100));
  writeFileSync(join(outside, 'secret'), 'not for the model');
  symlinkSync(join(outside, 'secret'), join(dir, 'data', 'escape'));
  symlinkSync(outside, join(dir, 'outdir'));
  symlinkSync('big.bin', join(dir, 'data', 'inside-link'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

function open(m: Machine, pid: number, path: string, flags = uapi.O_RDWR): number {
  const r = m.openat(pid, uapi.AT_FDCWD, path, flags);
  if (!r.ok) throw new Error(`openat ${path}: ${r.errno}`);
  return Number(r.value);
}

/** A backend under test, holding /data/big.bin (pattern(256, 100)). */
interface Fixture {
  name: string;
  make(options?: { readOnly?: boolean }): FsBackend & { stats: FsBackendStats };
  /** The backend's own copy of a file (what write-back changes), or undefined when it has none. */
  read(path: string): Uint8Array | undefined;
}

let memory = memoryBackend();
const FIXTURES: Fixture[] = [
  {
    name: 'host folder backend',
    make: (options) => hostFolder(dir, options),
    read: (path) => {
      try {
        return new Uint8Array(readFileSync(join(dir, path)));
      } catch {
        return undefined;
      }
    },
  },
  {
    name: 'memory backend',
    make: (options) => (memory = memoryBackend({ '/data/big.bin': pattern(256, 100) }, options)),
    read: (path) => memory.get(path),
  },
];

/** lookup(p) throws an FsBackendError with code EESCAPE naming p. */
function expectEscape(fs: { lookup(p: string): unknown }, p: string): void {
  let err: unknown;
  try {
    fs.lookup(p);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(FsBackendError);
  expect((err as FsBackendError).code).toBe('EESCAPE');
  expect((err as FsBackendError).path).toBe(p);
}

describe('the in-memory default', () => {
  it('has no backend: paths not created in the model are ENOENT', () => {
    const m = new Machine();
    const pid = m.spawn();
    expect(m.openat(pid, uapi.AT_FDCWD, '/data/big.bin', uapi.O_RDONLY)).toEqual({ ok: false, errno: 'ENOENT' });
    m.seedFile('/data/x', new Uint8Array([1, 2, 3]));
    expect(m.openat(pid, uapi.AT_FDCWD, '/data/x', uapi.O_RDONLY).ok).toBe(true);
    expect(m.writeBack('/data/x')).toEqual({ ok: false, errno: 'EROFS' });
  });
});

describe.each(FIXTURES)('$name', (fx) => {
  it('mmap MAP_SHARED reads the real bytes lazily: only the touched pages are read', () => {
    const fs = fx.make();
    const m = new Machine({ fs, paranoid: true });
    const pid = m.spawn();
    const fd = open(m, pid, '/data/big.bin', uapi.O_RDONLY);
    expect(fs.stats.pageReads).toBe(0);
    expect(m.fstat(pid, fd).stat?.st_size).toBe(256 * PS + 100);
    const len = BigInt(257 * PS);
    const r = m.mmap(pid, 0n, len, uapi.PROT_READ, uapi.MAP_SHARED, fd, 0n);
    expect(r.ok).toBe(true);
    const base = (r as { value: bigint }).value;
    expect(m.madvise(pid, base, len, uapi.MADV_RANDOM).ok).toBe(true);
    expect(fs.stats.pageReads).toBe(0);
    const before = m.counters().disk.readRequests;
    for (const i of [3, 100, 200]) {
      expect(m.load(pid, base + BigInt(i * PS), 4)).toEqual({ ok: true, value: BigInt(i) });
      expect(m.load(pid, base + BigInt(i * PS + 8), 1)).toEqual({ ok: true, value: BigInt((i + 1) & 0xff) });
    }
    // The partial last page: 100 bytes of the file, zeros after.
    expect(m.load(pid, base + BigInt(256 * PS + 99), 1)).toEqual({ ok: true, value: 1n });
    expect(m.load(pid, base + BigInt(256 * PS + 100), 1)).toEqual({ ok: true, value: 0n });
    expect(fs.stats.pageReads).toBe(4);
    // Each read went through the simulated disk, so the I/O is counted there.
    expect(m.counters().disk.readRequests - before).toBe(4);
    // Touched again: served from the page cache.
    m.load(pid, base + BigInt(3 * PS), 4);
    expect(fs.stats.pageReads).toBe(4);
  });

  it('with default readahead a fault reads a window, far fewer pages than the file', () => {
    const fs = fx.make();
    const m = new Machine({ fs });
    const pid = m.spawn();
    const fd = open(m, pid, 'data/big.bin', uapi.O_RDONLY);
    const r = m.mmap(pid, 0n, BigInt(256 * PS), uapi.PROT_READ, uapi.MAP_SHARED, fd, 0n);
    const base = (r as { value: bigint }).value;
    expect(m.load(pid, base + BigInt(128 * PS), 4)).toEqual({ ok: true, value: 128n });
    expect(fs.stats.pageReads).toBeGreaterThan(0);
    expect(fs.stats.pageReads).toBeLessThan(64);
  });

  it('writes through a shared mapping, write(2), ftruncate and unlink change only the model; writeBack changes the backend file', () => {
    const fs = fx.make();
    const m = new Machine({ fs, paranoid: true });
    const pid = m.spawn();
    const file = '/data/big.bin';
    const original = fx.read(file)!;
    const fd = open(m, pid, '/data/big.bin');
    const r = m.mmap(pid, 0n, BigInt(4 * PS), uapi.PROT_READ | uapi.PROT_WRITE, uapi.MAP_SHARED, fd, 0n);
    const base = (r as { value: bigint }).value;
    expect(m.store(pid, base + BigInt(PS + 10), 1, 0xeen).ok).toBe(true);
    expect(m.write(pid, fd, new Uint8Array([9, 9, 9]), BigInt(5 * PS)).ok).toBe(true);
    expect(m.msync(pid, base, BigInt(4 * PS), uapi.MS_SYNC).ok).toBe(true);
    expect(m.fsync(pid, fd).ok).toBe(true);
    expect(fx.read(file)).toEqual(original);
    // The model sees its own copy.
    expect(m.read(pid, fd, 1n, BigInt(PS + 10)).data).toEqual(new Uint8Array([0xee]));

    const w = m.writeBack('/data/big.bin');
    expect(w).toEqual({ ok: true, value: 2n });
    const after = fx.read(file)!;
    expect(after.length).toBe(original.length);
    expect(after[PS + 10]).toBe(0xee);
    expect([...after.subarray(5 * PS, 5 * PS + 3)]).toEqual([9, 9, 9]);
    const expected = original.slice();
    expected[PS + 10] = 0xee;
    expected.set([9, 9, 9], 5 * PS);
    expect(after).toEqual(expected);
    // Nothing changed since: nothing to hand over.
    expect(m.writeBack('/data/big.bin')).toEqual({ ok: true, value: 0n });

    // Truncation stays in the model until written back.
    expect(m.ftruncate(pid, fd, BigInt(PS + 20)).ok).toBe(true);
    expect(fx.read(file)!.length).toBe(original.length);
    expect(m.writeBack('/data/big.bin').ok).toBe(true);
    expect(fx.read(file)!.length).toBe(PS + 20);
    expect(fx.read(file)![PS + 10]).toBe(0xee);

    // Unlink removes the name from the model only; the backend's file stays and the model does not find it again.
    expect(m.munmap(pid, base, BigInt(4 * PS)).ok).toBe(true);
    expect(m.close(pid, fd).ok).toBe(true);
    expect(m.unlink(pid, '/data/big.bin').ok).toBe(true);
    expect(fx.read(file)!.length).toBe(PS + 20);
    expect(m.openat(pid, uapi.AT_FDCWD, '/data/big.bin', uapi.O_RDONLY)).toEqual({ ok: false, errno: 'ENOENT' });
    expect(m.writeBack('/data/big.bin')).toEqual({ ok: false, errno: 'ENOENT' });
  });

  it('a truncation that cuts inside a page keeps the head of that page from the backend', () => {
    const fs = fx.make();
    const m = new Machine({ fs, paranoid: true });
    const pid = m.spawn();
    const fd = open(m, pid, '/data/big.bin');
    expect(m.ftruncate(pid, fd, BigInt(2 * PS + 8)).ok).toBe(true);
    expect(m.ftruncate(pid, fd, BigInt(3 * PS)).ok).toBe(true);
    const d = m.read(pid, fd, BigInt(3 * PS), 0n).data;
    expect(d.length).toBe(3 * PS);
    expect(new DataView(d.buffer, d.byteOffset).getUint32(2 * PS, true)).toBe(2);
    expect(d[2 * PS + 7]).toBe(3);
    expect(d[2 * PS + 8]).toBe(0);
    expect(d[3 * PS - 1]).toBe(0);
    expect(fx.read('/data/big.bin')!.length).toBe(256 * PS + 100);
  });

  it('a file created in the model is written to the backend only on writeBack', () => {
    const fs = fx.make();
    const m = new Machine({ fs });
    const pid = m.spawn();
    const fd = open(m, pid, '/data/new.txt', uapi.O_RDWR | uapi.O_CREAT);
    expect(m.write(pid, fd, new TextEncoder().encode('hello')).ok).toBe(true);
    expect(fx.read('/data/new.txt')).toBeUndefined();
    expect(m.writeBack('/data/new.txt')).toEqual({ ok: true, value: 1n });
    expect(new TextDecoder().decode(fx.read('/data/new.txt'))).toBe('hello');
  });

  it('a read-only backend refuses write-back', () => {
    const fs = fx.make({ readOnly: true });
    const m = new Machine({ fs });
    const pid = m.spawn();
    const fd = open(m, pid, '/data/big.bin');
    m.write(pid, fd, new Uint8Array([1]), 0n);
    expect(() => m.writeBack('/data/big.bin')).toThrow(/EROFS/);
  });

  it('a missing file is ENOENT; a directory of the backend is a directory', () => {
    const m = new Machine({ fs: fx.make() });
    const pid = m.spawn();
    expect(m.openat(pid, uapi.AT_FDCWD, '/data/missing', uapi.O_RDONLY)).toEqual({ ok: false, errno: 'ENOENT' });
    expect(m.openat(pid, uapi.AT_FDCWD, '/nodir/missing', uapi.O_RDONLY)).toEqual({ ok: false, errno: 'ENOENT' });
    expect(m.openat(pid, uapi.AT_FDCWD, '/data', uapi.O_RDWR)).toEqual({ ok: false, errno: 'EISDIR' });
    expect(m.openat(pid, uapi.AT_FDCWD, '/data', uapi.O_RDONLY).ok).toBe(true);
  });

  it('can be mounted below the root', () => {
    const fs = fx.make();
    const m = new Machine({ fs, fsMount: '/mnt/host' });
    const pid = m.spawn();
    expect(m.openat(pid, uapi.AT_FDCWD, '/data/big.bin', uapi.O_RDONLY)).toEqual({ ok: false, errno: 'ENOENT' });
    const fd = open(m, pid, '/mnt/host/data/big.bin', uapi.O_RDONLY);
    expect(m.read(pid, fd, 4n, BigInt(7 * PS)).data).toEqual(new Uint8Array([7, 0, 0, 0]));
  });

  it('refuses a path with a .. component (EESCAPE); the model resolves its own .. at its root', () => {
    const fs = fx.make();
    for (const p of ['/data/../../x', '..', '/../data/big.bin']) expectEscape(fs, p);
    expect(() => fs.readPage('/data/../data/big.bin', 0, new Uint8Array(PS))).toThrow(FsBackendError);
    const m = new Machine({ fs });
    const pid = m.spawn();
    expect(m.openat(pid, uapi.AT_FDCWD, '/../../data/big.bin', uapi.O_RDONLY).ok).toBe(true);
    expect(fs.stats.pageReads).toBe(0);
  });
});

describe('host folder backend', () => {
  it('refuses .. and symlinks resolving outside the folder', () => {
    const fs = hostFolder(dir);
    for (const p of ['/../' + outside.split('/').pop() + '/secret', '/data/../../x', '..']) expectEscape(fs, p);
    expect(() => fs.lookup('/data/escape')).toThrow(/EESCAPE.*\/data\/escape/);
    expect(() => fs.lookup('/outdir/secret')).toThrow(FsBackendError);
    expect(() => fs.readPage('/data/escape', 0, new Uint8Array(PS))).toThrow(FsBackendError);
    // A symlink inside the folder is followed.
    expect(fs.lookup('/data/inside-link')).toMatchObject({ kind: 'file', size: 256 * PS + 100 });

    // The model: a symlink escape is EACCES; '..' is resolved by the model at its root (as under chroot).
    const m = new Machine({ fs });
    const pid = m.spawn();
    expect(m.openat(pid, uapi.AT_FDCWD, '/data/escape', uapi.O_RDONLY)).toEqual({ ok: false, errno: 'EACCES' });
    expect(m.openat(pid, uapi.AT_FDCWD, '/outdir/secret', uapi.O_RDONLY)).toEqual({ ok: false, errno: 'EACCES' });
    expect(m.unlink(pid, '/data/escape')).toEqual({ ok: false, errno: 'EACCES' });
    expect(m.openat(pid, uapi.AT_FDCWD, '/../../data/big.bin', uapi.O_RDONLY).ok).toBe(true);
    expect(m.openat(pid, uapi.AT_FDCWD, '/../../etc/passwd', uapi.O_RDONLY)).toEqual({ ok: false, errno: 'ENOENT' });
    expect(fs.stats.pageReads).toBe(0);
  });

  it('any object with lookup and readPage is a backend', () => {
    const reads: number[] = [];
    const backend: FsBackend = {
      lookup: (p) => (p === '/f' ? { kind: 'file', size: 3 * PS } : undefined),
      readPage: (_p, index, dst) => {
        reads.push(index);
        dst.fill(0x40 + index);
        return dst.length;
      },
    };
    const m = new Machine({ fs: backend, settings: { readAheadKb: 0 } });
    const pid = m.spawn();
    const fd = open(m, pid, '/f', uapi.O_RDONLY);
    expect(m.read(pid, fd, 1n, BigInt(2 * PS)).data).toEqual(new Uint8Array([0x42]));
    expect(reads).toEqual([2]);
    expect(m.writeBack('/f')).toEqual({ ok: false, errno: 'EROFS' });
  });
});

describe('memory backend', () => {
  it('copies the files it is given, stores strings as UTF-8 and hands out copies', () => {
    const data = new Uint8Array([1, 2, 3]);
    const fs = memoryBackend({ 'a/b.bin': data, '/t.txt': 'é' });
    data[0] = 9;
    expect(fs.paths()).toEqual(['/a/b.bin', '/t.txt']);
    expect(fs.lookup('/a')).toMatchObject({ kind: 'dir' });
    expect(fs.lookup('/a/b.bin')).toMatchObject({ kind: 'file', size: 3 });
    expect(fs.lookup('/t.txt')).toMatchObject({ kind: 'file', size: 2 });
    expect(fs.lookup('/nope')).toBeUndefined();
    const got = fs.get('/a/b.bin')!;
    expect([...got]).toEqual([1, 2, 3]);
    got[1] = 9;
    expect([...fs.get('a/b.bin')!]).toEqual([1, 2, 3]);

    const m = new Machine({ fs: memoryBackend(new Map([['/t.txt', 'hello']])) });
    const pid = m.spawn();
    const fd = open(m, pid, '/t.txt', uapi.O_RDONLY);
    expect(new TextDecoder().decode(m.read(pid, fd, 100n).data)).toBe('hello');
  });
});
