/**
 * mmsim replay against real captures: test/fixtures/replay/mapper.log was
 * traced on Linux 6.18 together with the program's own /proc/self/maps at
 * exit (mapper.maps). The host files the replay reads are stood in by what
 * the capture recorded (mapper.files: path, real path, st_dev, st_ino,
 * st_size; mapper.readelf and mapper.interp.readelf: ELF and program
 * headers), so the test runs the same on any machine.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type HostFs, type HostStat, decodeDev, emptyHost, nodeHost } from '../src/replay/host.js';
import { evalFd, replayLog } from '../src/replay/replay.js';
import { runReplay } from '../src/cli/replay.js';

const dir = path.join(__dirname, 'fixtures', 'replay');
const read = (f: string): string => fs.readFileSync(path.join(dir, f), 'utf8');

/** ELF64 header, program headers and PT_INTERP's string, rebuilt from `readelf -hlW` text. */
function elfFromReadelf(text: string): Uint8Array {
  const type = /Type:\s+(EXEC|DYN)/.exec(text)![1] === 'EXEC' ? 2 : 3;
  const entry = BigInt(/Entry point address:\s+(0x[0-9a-f]+)/.exec(text)![1]!);
  const phdrs: { type: number; flags: number; offset: bigint; vaddr: bigint; filesz: bigint; memsz: bigint; align: bigint }[] = [];
  const types: Record<string, number> = { LOAD: 1, DYNAMIC: 2, INTERP: 3, NOTE: 4, PHDR: 6, GNU_EH_FRAME: 0x6474e550, GNU_STACK: 0x6474e551, GNU_RELRO: 0x6474e552, GNU_PROPERTY: 0x6474e553 };
  const re = /^\s+([A-Z_]+)\s+(0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) ([RWE ]{3}) (0x[0-9a-f]+)$/gm;
  for (const m of text.matchAll(re)) {
    const f = m[7]!;
    phdrs.push({
      type: types[m[1]!] ?? 0, flags: (f.includes('R') ? 4 : 0) | (f.includes('W') ? 2 : 0) | (f.includes('E') ? 1 : 0),
      offset: BigInt(m[2]!), vaddr: BigInt(m[3]!), filesz: BigInt(m[5]!), memsz: BigInt(m[6]!), align: BigInt(m[8]!),
    });
  }
  const interp = /Requesting program interpreter: (.*)\]/.exec(text)?.[1];
  const bytes = new Uint8Array(4096);
  const dv = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  dv.setUint16(16, type, true);
  dv.setUint16(18, 62, true);
  dv.setBigUint64(24, entry, true);
  dv.setBigUint64(32, 64n, true);
  dv.setUint16(54, 56, true);
  dv.setUint16(56, phdrs.length, true);
  phdrs.forEach((p, i) => {
    const o = 64 + i * 56;
    dv.setUint32(o, p.type, true);
    dv.setUint32(o + 4, p.flags, true);
    dv.setBigUint64(o + 8, p.offset, true);
    dv.setBigUint64(o + 16, p.vaddr, true);
    dv.setBigUint64(o + 32, p.filesz, true);
    dv.setBigUint64(o + 40, p.memsz, true);
    dv.setBigUint64(o + 48, p.align, true);
    if (p.type === 3 && interp !== undefined) bytes.set(new TextEncoder().encode(interp + '\0'), Number(p.offset));
  });
  return bytes;
}

/** The capture machine's files as mapper.files recorded them; ELF heads from the readelf texts. */
function recordedHost(name = 'mapper'): HostFs {
  const files = new Map<string, HostStat>();
  const heads = new Map<string, Uint8Array>();
  for (const line of read(`${name}.files`).trim().split('\n')) {
    const [p, real, dev, ino, size] = line.split(' ');
    const { major, minor } = decodeDev(Number(dev));
    files.set(p!, { realPath: real!, major, minor, ino: Number(ino), size: Number(size), mode: 0o100755, isFile: true, isDir: false });
  }
  const exe = [...files.values()][0]!;
  heads.set(exe.realPath, elfFromReadelf(read(`${name}.readelf`)));
  heads.set([...files.values()][1]!.realPath, elfFromReadelf(read(`${name}.interp.readelf`)));
  const cwd = path.dirname(exe.realPath);
  return {
    stat(p: string): HostStat | null {
      const hit = files.get(p) ?? [...files.values()].find((f) => f.realPath === p);
      if (hit !== undefined) return hit;
      if (p === cwd || p === '/tmp') return { realPath: p, major: 0xfe, minor: 0, ino: 2, size: 4096, mode: 0o40755, isFile: false, isDir: true };
      if (p.startsWith('/proc/')) return { realPath: p, major: 0, minor: 22, ino: 4026532000, size: 0, mode: 0o100444, isFile: true, isDir: false };
      return null;
    },
    readHead(p: string): Uint8Array | null {
      return heads.get(p) ?? null;
    },
  };
}

const log = read('mapper.log');
const realMaps = read('mapper.maps');
const cwd = /captured with .* in (\S+): /.exec(log)![1]!;

describe('mmsim replay of mapper.log (Linux 6.18, strace 6.1)', () => {
  it('agrees with every modelled result and counts the rest', () => {
    const r = replayLog(log, { file: 'mapper.log', cwd, host: recordedHost(), mapsFile: realMaps, paranoid: true });
    expect(r.diagnostics).toEqual([]);
    expect(r.disagreements).toEqual([]);
    expect(r.disagree).toBe(0);
    expect(r.modelled).toBeGreaterThanOrEqual(55);
    expect(r.agree).toBe(r.modelled);
    // reads of /proc/self/maps are not compared
    expect(r.skipped.filter((s) => !/has no \w+ yet/.test(s.why)).map((s) => s.call)).toEqual(['read', 'read']);
    // The model's own choice of address agrees with the kernel's for every mmap(NULL, ...).
    expect(r.placements).toEqual([]);
    expect(r.exec[0]!.notes.join('\n')).toContain('executable at 0x55fa67e39000 from its RELRO mprotect(0x55fa67e3c000)');
    expect(r.exec[0]!.notes.join('\n')).toContain('interpreter at 0x7f3396788000 from its RELRO mprotect(0x7f33967b9000)');
  });

  it('reconstructs /proc/PID/maps byte for byte, exec-time lines included', () => {
    const r = replayLog(log, { cwd, host: recordedHost(), mapsFile: realMaps });
    expect(r.mapsPid).toBe(19749);
    expect(r.maps).toBe(realMaps);
  });

  it('without the maps file, only the [stack] line (placed by ASLR, invisible in the log) differs', () => {
    const r = replayLog(log, { cwd, host: recordedHost() });
    const got = r.maps!.split('\n');
    const want = realMaps.split('\n');
    expect(got.length).toBe(want.length);
    const differ = got.filter((l, i) => l !== want[i]);
    expect(differ).toHaveLength(1);
    expect(differ[0]).toMatch(/ \[stack\]$/);
    expect(r.disagree).toBe(0);
  });

  it('without the host files, the regions the log created still match and exec-time calls are reported', () => {
    const r = replayLog(log, { cwd, host: { stat: () => null, readHead: () => null } });
    expect(r.exec[0]!.error).toMatch(/not on this machine/);
    const anon = (m: string): string[] => m.split('\n').filter((l) => / 00:00 0 +$/.test(l) && l.startsWith('7f'));
    expect(anon(r.maps!)).toEqual(anon(realMaps));
    // libc cannot be opened: its openat and the mmaps of it disagree, with line numbers.
    const lines = r.disagreements.map((d) => d.line);
    expect(lines).toContain(9);
    expect(r.disagreements.find((d) => d.line === 9)!.model).toBe('-1 ENOENT');
  });

  it('--arch arm64-16k lists the calls a 16 KiB-page kernel refuses, with reasons', () => {
    const r = replayLog(log, { cwd, host: recordedHost(), arch: 'arm64-16k' });
    // The MAP_FIXED one 4 KiB page into a fresh mapping (line 29) gets EINVAL.
    const fixed = r.disagreements.find((d) => d.line === 29)!;
    expect(fixed).toBeDefined();
    expect(fixed.model).toBe('-1 EINVAL');
    expect(fixed.why).toMatch(/4 KiB- but not 16 KiB-aligned/);
    // So does execve: the binaries are linked for 4 KiB pages.
    expect(r.exec[0]!.error).toMatch(/not congruent modulo the 16 KiB page size/);
    // The program's own 4 KiB assumptions: munmap of two 4 KiB pages inside a mapping, MAP_FIXED, a file offset of 4 KiB.
    const own = r.disagreements.filter((d) => !/ld\.so/.test(d.why)).map((d) => d.line);
    expect(own).toEqual(expect.arrayContaining([27, 29, 35]));
    expect(r.disagreements.find((d) => d.line === 35)!.why).toBe('file offset 0x1000 is not a multiple of 16 KiB');
    // What ld.so does to the x86_64 libc, the executable and itself is marked as the loader's.
    for (const line of [15, 17, 18, 21, 22, 23]) expect(r.disagreements.find((d) => d.line === line)!.why).toMatch(/^ld\.so loading or relocating an image linked for 4 KiB pages/);
    expect(r.diagnostics).toEqual([]);
  });

  it('mmsim replay --json ends with one JSON object holding the counts and the disagreements with line numbers', () => {
    const out: string[] = [];
    const logPath = path.join(dir, 'mapper.log');
    const code = runReplay([logPath, '--json', '--arch', 'arm64-16k', '--cwd', cwd], (s) => out.push(s), () => {});
    // Calls that would fail on arm64-16k are disagreements: exit status 1.
    expect(code).toBe(1);
    const j = JSON.parse(out[out.length - 1]!) as { modelled: number; agree: number; disagree: number; disagreements: { line: number }[] };
    expect(j.modelled).toBe(j.agree + j.disagree);
    expect(j.disagree).toBeGreaterThan(0);
    expect(j.disagreements.every((d) => Number.isInteger(d.line) && d.line > 0)).toBe(true);
  });
});

describe('mmsim replay of remap.log (every call traced; realloc by mremap, madvise, mlock)', () => {
  const text = read('remap.log');
  const maps = read('remap.maps');
  const where = /captured with .* in (\S+): /.exec(text)![1]!;
  it('agrees on every modelled call, counts the others, and the model would have moved each mremap where the kernel did', () => {
    const r = replayLog(text, { cwd: where, host: recordedHost('remap'), mapsFile: maps, paranoid: true });
    expect(r.disagreements).toEqual([]);
    expect(r.modelled).toBe(40);
    expect(r.agree).toBe(40);
    expect(r.other).toEqual({ access: 1, arch_prctl: 1, set_tid_address: 1, set_robust_list: 1, rseq: 1, prlimit64: 1, getrandom: 1 });
    expect(r.placements).toEqual([]);
    expect(r.maps).toBe(maps);
  });
});

describe('mmsim replay of files created after the log was taken', () => {
  // The host has /w/out now (a compiler wrote it after the capture); the log saw
  // it missing, then created it. The replay takes the log's word, not the host's.
  const host: HostFs = {
    stat: (p) => (p === '/w/out' ? { realPath: p, major: 0xfe, minor: 1, ino: 77, size: 12345, mode: 0o100755, isFile: true, isDir: false }
      : p === '/w' ? { realPath: p, major: 0xfe, minor: 1, ino: 2, size: 4096, mode: 0o40755, isFile: false, isDir: true } : null),
    readHead: () => null,
  };
  const text = [
    '10 newfstatat(AT_FDCWD, "/w/out", 0x7ffe34be9a30, 0) = -1 ENOENT (No such file or directory)',
    '10 openat(AT_FDCWD, "out", O_RDONLY) = -1 ENOENT (No such file or directory)',
    '10 openat(AT_FDCWD, "/w/out", O_RDWR|O_CREAT|O_TRUNC, 0755) = 3',
    '10 write(3, "abc", 3) = 3',
    '10 fstat(3, {st_mode=S_IFREG|0755, st_size=3, ...}) = 0',
    '10 close(3) = 0',
    '10 newfstatat(AT_FDCWD, "/w/out", {st_mode=S_IFREG|0755, st_size=3, ...}, 0) = 0',
  ].join('\n');
  it('answers ENOENT where the log did, then sees the file the log created', () => {
    const r = replayLog(text, { cwd: '/w', host, paranoid: true });
    expect(r.disagreements).toEqual([]);
    expect(r.agree).toBe(r.modelled);
    expect(r.modelled).toBe(7);
  });
});

describe('mmsim replay never throws', () => {
  it('counts unknown calls and reports malformed lines with file:line:column', () => {
    const text = [
      '100 execve("/nonexistent", ["x"], 0x7ffc /* 1 var */) = 0',
      '100 frobnicate(1, 2) = 0',
      '100 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000',
      '100 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1 0) = 0x7f0000001000',
      '100 munmap(0x7f0000000000, 4096) = 0',
      '100 mprotect("oops", {x}, [1]) = 0',
      '100 +++ exited with 0 +++',
    ].join('\n');
    const r = replayLog(text, { file: 'bad.log' });
    expect(r.other).toEqual({ frobnicate: 1 });
    expect(r.diagnostics.some((d) => d.file === 'bad.log' && d.line === 4 && d.column > 1)).toBe(true);
    expect(r.agree).toBeGreaterThanOrEqual(2);
  });

  it('follows dup2/fcntl(F_DUPFD) to the model and skips refused opens of devices', () => {
    const text = [
      '1 openat(AT_FDCWD, "/tmp/f", O_RDWR|O_CREAT, 0644) = 3',
      '1 dup2(3, 10) = 10',
      '1 fcntl(10, F_DUPFD_CLOEXEC, 20) = 20',
      '1 close(3) = 0',
      '1 ftruncate(10, 8192) = 0',
      '1 mmap(NULL, 8192, PROT_READ, MAP_SHARED, 20, 0) = 0x7f0000000000',
      '1 close(10) = 0',
      '1 close(20) = 0',
      '1 openat(AT_FDCWD, "/dev/tty", O_RDWR) = -1 ENXIO (No such device or address)',
    ].join('\n');
    const r = replayLog(text, { host: emptyHost });
    expect(r.disagreements).toEqual([]);
    expect(r.agree).toBe(6);
    expect(r.other).toEqual({ dup2: 1, fcntl: 1 });
    expect(r.maps).toContain('7f0000000000-7f0000002000 r--s 00000000 fe:00');
  });

  it('threads-stderr.log: unprefixed lines belong to the first [pid N] that no clone created', () => {
    const r = replayLog(fs.readFileSync(path.join(__dirname, 'fixtures', 'strace', 'threads-stderr.log'), 'latin1'), { host: emptyHost });
    expect(r.skipped.filter((s) => /not known/.test(s.why))).toEqual([]);
    expect(r.mapsPid).toBe(3416);
    expect(r.modelled).toBeGreaterThan(100);
  });

  it('signals.log: pipe2 descriptors get stand-ins, so later descriptors stay in step and pipe I/O is not compared', () => {
    const text = fs.readFileSync(path.join(__dirname, 'fixtures', 'strace', 'signals.log'), 'latin1');
    const pipeLine = text.split('\n').findIndex((l) => l.includes('pipe2(')) + 1;
    const r = replayLog(text, { host: emptyHost });
    expect(r.other['pipe2']).toBeGreaterThan(0);
    expect(r.disagreements.filter((d) => d.line > pipeLine && (d.call === 'read' || d.call === 'write'))).toEqual([]);
    expect(r.skipped.filter((s) => s.call === 'read' || s.call === 'write').length).toBeGreaterThan(0);
  });

  it('cat-t-v-xx.log (traced without execve): the break is still inferred from the first brk()', () => {
    const r = replayLog(fs.readFileSync(path.join(__dirname, 'fixtures', 'strace', 'cat-t-v-xx.log'), 'latin1'), { host: emptyHost });
    expect(r.exec[0]!.path).toBe('(no execve in the log)');
    expect(r.disagreements.filter((d) => d.call === 'brk')).toEqual([]);
  });

  for (const f of fs.readdirSync(path.join(__dirname, 'fixtures', 'strace')).filter((x) => x.endsWith('.log'))) {
    it(`replays test/fixtures/strace/${f} without throwing`, () => {
      const text = fs.readFileSync(path.join(__dirname, 'fixtures', 'strace', f), 'latin1');
      const r = replayLog(text, { file: f, host: nodeHost, paranoid: true });
      expect(r.diagnostics.filter((d) => d.code === 'E_INTERNAL')).toEqual([]);
      expect(r.modelled).toBe(r.agree + r.disagree);
    });
  }
});

/**
 * test/fixtures/replay/static-*.log: a static binary (src/static.c, captured
 * by src/capture-static.sh on Linux 6.18.44 with strace 6.1). The host is
 * stood in by static.files and static.readelf, as for mapper.log.
 */
function staticHost(): HostFs {
  const files = new Map<string, HostStat>();
  for (const line of read('static.files').trim().split('\n')) {
    const [p, real, dev, ino, size] = line.split(' ');
    const { major, minor } = decodeDev(Number(dev));
    files.set(p!, { realPath: real!, major, minor, ino: Number(ino), size: Number(size), mode: 0o100755, isFile: true, isDir: false });
  }
  const exe = [...files.values()][0]!;
  const head = elfFromReadelf(read('static.readelf'));
  const where = path.dirname(exe.realPath);
  return {
    stat(p: string): HostStat | null {
      const hit = files.get(p) ?? [...files.values()].find((f) => f.realPath === p);
      if (hit !== undefined) return hit;
      if (p === where || p === '/tmp') return { realPath: p, major: 0xfe, minor: 0, ino: 2, size: 4096, mode: 0o40755, isFile: false, isDir: true };
      if (p.startsWith('/proc/')) return { realPath: p, major: 0, minor: 22, ino: 4026532000, size: 0, mode: 0o100444, isFile: true, isDir: false };
      return null;
    },
    readHead: (p: string) => (p === exe.realPath ? head : null),
  };
}
const captureDir = (text: string): string => /captured with .* in (\S+): /.exec(text)![1]!;

describe('mmsim replay of a static binary and of strace output forms other than -o', () => {
  it('static-vfork-stderr.log (strace -f prog 2>LOG): the vfork child printing first is a child, never the first process', () => {
    const text = read('static-vfork-stderr.log');
    // The child's [pid N] lines come before the parent's `<... vfork resumed>) = N`.
    const [, parent, child] = /\[pid (\d+)\] <\.\.\. vfork resumed>\)\s+= (\d+)/.exec(text)!;
    expect(text.indexOf(`[pid ${child}] write(`)).toBeLessThan(text.indexOf('vfork resumed'));
    const r = replayLog(text, { cwd: captureDir(text), host: staticHost(), paranoid: true });
    expect(r.skipped.filter((s) => /not known/.test(s.why))).toEqual([]);
    expect(r.disagreements).toEqual([]);
    expect(r.agree).toBe(r.modelled);
    expect(r.modelled).toBe(13);
    expect(r.mapsPid).toBe(Number(parent));
    expect(r.maps).toMatch(/\[heap\]/);
    expect(r.placements).toEqual([]);
    // --pid of the child: its maps when it exited (a copy of the parent's before the mmap).
    const c = replayLog(text, { cwd: captureDir(text), host: staticHost(), pid: Number(child) });
    expect(c.mapsPid).toBe(Number(child));
    expect(c.maps).not.toBeNull();
    expect(c.maps).not.toBe(r.maps);
  });

  it('a child seen while a vfork is unfinished is a child even without "Process N attached" or the vfork\'s result', () => {
    const text = [
      'mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000',
      'vfork( <unfinished ...>',
      '[pid   201] write(1, "x", 1) = 1',
      '[pid   201] exit_group(0) = ?',
      '[pid   201] +++ exited with 0 +++',
      '[pid   200] munmap(0x7f0000000000, 4096) = 0',
    ].join('\n');
    const r = replayLog(text, { host: emptyHost });
    expect(r.mapsPid).toBe(200);
    expect(r.agree).toBe(2);
    expect(r.skipped.filter((s) => /not known/.test(s.why)).map((s) => s.line)).toEqual([3, 4]);
  });

  it('static-files-yy.log (-X verbose -yy): `-100 /* AT_FDCWD */</dir>` is AT_FDCWD in that directory', () => {
    const text = read('static-files-yy.log');
    expect(text).toContain('openat(-100 /* AT_FDCWD */<');
    const r = replayLog(text, { cwd: captureDir(text), host: staticHost(), paranoid: true });
    expect(r.diagnostics).toEqual([]);
    expect(r.disagreements).toEqual([]);
    expect(r.agree).toBe(r.modelled);
    expect(r.modelled).toBe(18);
    // --cwd wrong on purpose: execve("./static") misses the binary (so ld.so's mprotect of it fails),
    // but the file calls resolve in the directory strace printed after AT_FDCWD.
    const firstOpen = text.split('\n').findIndex((l) => l.includes('openat(')) + 1;
    const w = replayLog(text, { cwd: '/', host: staticHost() });
    expect(w.disagreements.filter((d) => d.line >= firstOpen)).toEqual([]);
    expect(w.disagreements.filter((d) => d.model.includes('EBADF'))).toEqual([]);
  });

  it('evalFd reads the -X verbose forms of a descriptor', () => {
    const raw = (t: string) => ({ kind: 'raw' as const, text: t, loc: { line: 1, column: 1, endColumn: 1 } });
    expect(evalFd(raw('-100 /* AT_FDCWD */</tmp/x>'))).toBe(-100n);
    expect(evalFd(raw('-100 /* AT_FDCWD */'))).toBe(-100n);
    expect(evalFd(raw('3</a b>'))).toBe(3n);
    expect(evalFd(raw('frob(3)'))).toBeUndefined();
  });

  it('static-maps.log: mmap_base comes from [vdso] in --maps-file, or else from the first mmap; every placement agrees', () => {
    const text = read('static-maps.log');
    const real = read('static.maps');
    const r = replayLog(text, { cwd: captureDir(text), host: staticHost(), mapsFile: real, paranoid: true });
    expect(r.disagreements).toEqual([]);
    expect(r.placements).toEqual([]);
    expect(r.exec[0]!.notes.join('\n')).toMatch(/mmap_base 0x[0-9a-f]+ from the end of \[vdso\] in the maps file/);
    expect(r.maps).toBe(real);
    const without = replayLog(text, { cwd: captureDir(text), host: staticHost() });
    expect(without.placements).toEqual([]);
    expect(without.exec[0]!.notes.join('\n')).toMatch(/mmap_base 0x[0-9a-f]+ from the first mmap \(line 16\)/);
    const differ = without.maps!.split('\n').filter((l, i) => l !== real.split('\n')[i]);
    expect(differ).toHaveLength(1);
    expect(differ[0]).toMatch(/ \[stack\]$/);
  });

  it('reports a placement where the model would have chosen another address than the logged one', () => {
    const text = [
      '7 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000',
      // The model would put this just below the first: the kernel put it at 0x10000000 (a low hint-less address).
      '7 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x10000000',
      '7 munmap(0x10000000, 4096) = 0',
    ].join('\n');
    const r = replayLog(text, { file: 'p.log', host: emptyHost, paranoid: true });
    expect(r.disagreements).toEqual([]);
    expect(r.agree).toBe(3);
    const p = r.placements.find((x) => x.line === 2)!;
    expect(p).toMatchObject({ call: 'mmap', logged: '0x10000000' });
    expect(p.model).toMatch(/^0x7f/);
    expect(p.model).not.toBe('0x10000000');
    const out: string[] = [];
    fs.writeFileSync(path.join(os.tmpdir(), `mmsim-placement-${process.pid}.log`), text);
    try {
      expect(runReplay([path.join(os.tmpdir(), `mmsim-placement-${process.pid}.log`)], (x) => out.push(x), () => {})).toBe(0);
    } finally {
      fs.rmSync(path.join(os.tmpdir(), `mmsim-placement-${process.pid}.log`));
    }
    expect(out).toContain(`placement: ${r.placements.length} where the model's own choice differs from the kernel's`);
    expect(out.some((l) => /:2: mmap: kernel 0x10000000, model 0x7f[0-9a-f]+$/.test(l))).toBe(true);
  });

  it('--arch arm64-16k: MAP_FIXED inside a mapping the model placed elsewhere agrees when it succeeds there; failures name the logged address', () => {
    const text = [
      // 0x7f0000001000 is not 16 KiB-aligned: the model places this elsewhere and translates later addresses in it.
      '7 mmap(NULL, 65536, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000001000',
      // The start of that mapping: 16 KiB-aligned in the model, so it works there.
      '7 mmap(0x7f0000001000, 16384, PROT_READ, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = 0x7f0000001000',
      // 4 KiB further: not 16 KiB-aligned in the model's layout either.
      '7 mmap(0x7f0000002000, 4096, PROT_READ, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = 0x7f0000002000',
    ].join('\n');
    const r = replayLog(text, { arch: 'arm64-16k', host: emptyHost, paranoid: true });
    expect(r.disagreements.map((d) => d.line)).toEqual([3]);
    expect(r.agree).toBe(2);
    const d = r.disagreements[0]!;
    expect(d.model).toBe('-1 EINVAL');
    expect(d.why).toContain('address 0x7f0000002000 ');
    expect(d.why).not.toMatch(/0x7f(?!0000002000)[0-9a-f]{10}/); // no translated address
    expect(r.disagreements.every((x) => x.why !== '')).toBe(true);
  });

  it('an execve naming a FIFO: the host file is not opened or read, and the report says why', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mmsim-fifo-'));
    try {
      const fifo = path.join(work, 'prog');
      execFileSync('mkfifo', [fifo]);
      expect(nodeHost.readHead(fifo, 64)).toBeNull();
      const text = `1 execve("${fifo}", ["prog"], 0x7ffc /* 1 var */) = 0\n1 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n`;
      const r = replayLog(text, { host: nodeHost, cwd: work });
      expect(r.exec[0]!.error).toContain(`${fs.realpathSync(fifo)} is a FIFO, not a regular file: not read`);
      expect(r.disagreements).toEqual([]);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});

/** A fresh capture on this machine, when it has cc and strace: the replayed maps must equal the real ones. */
const haveTools = spawnSync('sh', ['-c', 'command -v cc && command -v strace'], { encoding: 'utf8' }).status === 0
  && spawnSync('strace', ['-f', '-o', '/dev/null', 'true']).status === 0;
describe.runIf(haveTools)('a live capture on this machine', () => {
  it('replays to the same /proc/PID/maps as the run produced, in full', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mmsim-replay-'));
    try {
      execFileSync('cc', ['-O1', '-pthread', '-o', 'mapper', path.join(dir, 'src', 'mapper.c')], { cwd: work });
      execFileSync('strace', ['-f', '-o', 'raw.log', '-e', 'trace=%memory,openat,close,read,pread64,write,ftruncate,newfstatat,fstat,clone,clone3,fork,vfork,execve,exit_group', './mapper', 'mapper.maps'], { cwd: work, stdio: 'ignore' });
      const text = fs.readFileSync(path.join(work, 'raw.log'), 'latin1');
      const maps = fs.readFileSync(path.join(work, 'mapper.maps'), 'utf8');
      const r = replayLog(text, { cwd: fs.realpathSync(work), host: nodeHost, mapsFile: maps });
      expect(r.disagreements).toEqual([]);
      expect(r.maps).toBe(maps);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
