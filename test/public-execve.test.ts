/**
 * execve(2) through the public API, from ELF files in the model's file
 * system: the checks before the point of no return (the process is left as
 * it was), the new address space, and a failure past it (the process dies).
 */
import { describe, expect, it } from 'vitest';
import { Machine, uapi } from '../src/index.js';
import { EM_AARCH64, PF_R, PF_W, PF_X, PT_LOAD, buildElf } from '../src/fuzz/elf-builder.js';

/** A static ET_EXEC: text at 0x400000, data at 0x401000 with a page of bss after it. */
const STATIC = buildElf({
  type: 2, entry: 0x400100, size: 0x1100,
  segs: [
    { type: PT_LOAD, flags: PF_R | PF_X, offset: 0, vaddr: 0x400000, filesz: 0x1000, memsz: 0x1000 },
    { type: PT_LOAD, flags: PF_R | PF_W, offset: 0x1000, vaddr: 0x401000, filesz: 0x100, memsz: 0x2000 },
  ],
});
/** An ET_DYN interpreter, like ld.so: one text page and one data page. */
const LDSO = buildElf({
  type: 3, entry: 0x80, size: 0x2000,
  segs: [
    { type: PT_LOAD, flags: PF_R | PF_X, offset: 0, vaddr: 0, filesz: 0x1000, memsz: 0x1000 },
    { type: PT_LOAD, flags: PF_R | PF_W, offset: 0x1000, vaddr: 0x1000, filesz: 0x1000, memsz: 0x1000 },
  ],
});
/** A PIE asking for /lib/ld.so. */
const PIE = buildElf({
  type: 3, entry: 0x1040, size: 0x2000, interp: '/lib/ld.so',
  segs: [
    { type: PT_LOAD, flags: PF_R, offset: 0, vaddr: 0, filesz: 0x1000, memsz: 0x1000 },
    { type: PT_LOAD, flags: PF_R | PF_X, offset: 0x1000, vaddr: 0x1000, filesz: 0x1000, memsz: 0x1000 },
  ],
});

function machine(arch?: 'x86_64' | 'arm64-16k'): { m: Machine; pid: number } {
  const m = new Machine(arch === undefined ? {} : { arch });
  m.seedFile('/bin/static', STATIC, 0o755);
  m.seedFile('/lib/ld.so', LDSO, 0o755);
  m.seedFile('/bin/pie', PIE, 0o755);
  return { m, pid: m.spawn() };
}

/** The maps lines as [range, perms, offset, path]. */
function maps(m: Machine, pid: number): string[][] {
  return m.maps(pid)!.trimEnd().split('\n').map((l) => {
    const f = l.split(/\s+/);
    return [f[0]!, f[1]!, f[2]!, f[5] ?? ''];
  });
}

describe('execve() of ELF files in the model', () => {
  it('loads a static executable at its link addresses, with bss, stack and vDSO, and starts at e_entry', () => {
    const { m, pid } = machine();
    const r = m.execve(pid, '/bin/static');
    expect(r).toMatchObject({ ok: true, value: 0n, entry: 0x400100n, loadBias: 0n, interpBase: null });
    const lines = maps(m, pid);
    expect(lines.slice(0, 3)).toEqual([
      ['00400000-00401000', 'r-xp', '00000000', '/bin/static'],
      ['00401000-00402000', 'rw-p', '00001000', '/bin/static'],
      ['00402000-00403000', 'rw-p', '00000000', ''],
    ]);
    expect(lines.map((l) => l[3])).toEqual(expect.arrayContaining(['[stack]', '[vdso]', '[vvar]']));
    // The text is the file's bytes: the ELF magic at the first address.
    expect(m.load(pid, 0x400000n, 4)).toEqual({ ok: true, value: 0x464c457fn });
    // The data past p_filesz in the last file page and the bss read as zeros.
    expect(m.load(pid, 0x401100n, 8)).toEqual({ ok: true, value: 0n });
    expect(m.store(pid, 0x402ff8n, 8, 1n).ok).toBe(true);
    // The header was read through the page cache, as kernel_read() does.
    expect(m.pageCache().find((c) => c.path === '/bin/static')?.pages.length).toBeGreaterThan(0);
  });

  it('loads a PIE at ELF_ET_DYN_BASE and its interpreter below mmap_base, and starts in the interpreter', () => {
    const { m, pid } = machine();
    const r = m.execve(pid, '/bin/pie');
    if (!r.ok) throw new Error(r.reason);
    expect(r.loadBias).toBe(BigInt(m.arch.elfEtDynBase));
    expect(r.interpBase).not.toBeNull();
    expect(r.entry).toBe(r.interpBase! + 0x80n);
    const lines = maps(m, pid);
    expect(lines.filter((l) => l[3] === '/bin/pie').map((l) => l.slice(1, 3))).toEqual([['r--p', '00000000'], ['r-xp', '00001000']]);
    const ld = lines.filter((l) => l[3] === '/lib/ld.so');
    expect(ld.map((l) => l.slice(1, 3))).toEqual([['r-xp', '00000000'], ['rw-p', '00001000']]);
    expect(BigInt('0x' + ld[0]![0]!.split('-')[0])).toBe(r.interpBase);
    // A later mmap goes top-down below the interpreter.
    const a = m.mmap(pid, 0n, 4096n, uapi.PROT_READ, uapi.MAP_PRIVATE | uapi.MAP_ANONYMOUS, -1, 0n);
    expect(a.ok && a.value < r.interpBase!).toBe(true);
  });

  it('takes ASLR\'s choices as options, and refuses ones that are not page-aligned below TASK_SIZE', () => {
    const { m, pid } = machine();
    const before = m.maps(pid);
    expect(m.execve(pid, '/bin/pie', { loadBias: 0x1234n })).toMatchObject({ ok: false, errno: 'EINVAL', killed: false });
    expect(m.execve(pid, '/bin/pie', { stackTop: 1n << 60n })).toMatchObject({ ok: false, errno: 'EINVAL', killed: false });
    // From JavaScript, anything at all.
    const loose = m as unknown as { execve(t: number, p: unknown, o: unknown): unknown };
    for (const [p, o] of [['/bin/pie', null], ['/bin/pie', 7], ['/bin/pie', { argv: 'x' }], ['/bin/pie', { envp: [1] }], ['/bin/pie', { loadBias: 4096 }]] as const) {
      expect(loose.execve(pid, p, o), JSON.stringify(o)).toMatchObject({ ok: false, errno: 'EINVAL', killed: false });
    }
    expect(loose.execve(pid, 42, {})).toMatchObject({ ok: false, errno: 'ENOENT', killed: false });
    expect(m.maps(pid)).toBe(before);
    const r = m.execve(pid, '/bin/pie', { loadBias: 0x5a0000000000n, interpBase: 0x7f1000000000n });
    expect(r).toMatchObject({ ok: true, loadBias: 0x5a0000000000n, interpBase: 0x7f1000000000n, entry: 0x7f1000000080n });
  });

  it('ends the process\'s other threads (de_thread()); a failed lookup ends none', () => {
    const { m, pid } = machine();
    const t1 = m.createThread(pid)!;
    const t2 = m.createThread(pid)!;
    expect(m.execve(t1, '/bin/missing')).toMatchObject({ ok: false, errno: 'ENOENT' });
    expect(m.threads(pid)).toEqual([pid, t1, t2]);
    expect(m.execve(t1, '/bin/static').ok).toBe(true);
    expect(m.threads(pid)).toEqual([t1]);
    expect(m.getpid(t1)).toBe(pid);
    expect(m.load(t2, 0x400000n, 1)).toEqual({ ok: false, fault: null, errno: 'ESRCH' });
    expect(m.load(t1, 0x400000n, 1)).toEqual({ ok: true, value: 0x7fn });
    m.validate();
  });

  it('closes close-on-exec descriptors and keeps the others', () => {
    const { m, pid } = machine();
    const keep = m.openat(pid, uapi.AT_FDCWD, '/bin/static', uapi.O_RDONLY);
    const drop = m.openat(pid, uapi.AT_FDCWD, '/bin/static', uapi.O_RDONLY | uapi.O_CLOEXEC);
    if (!keep.ok || !drop.ok) throw new Error('open');
    expect(m.execve(pid, '/bin/static').ok).toBe(true);
    expect(m.fstat(pid, Number(keep.value)).ok).toBe(true);
    expect(m.fstat(pid, Number(drop.value))).toMatchObject({ ok: false, errno: 'EBADF' });
  });

  it('fails before the point of no return with Linux\'s errno, leaving the process as it was', () => {
    const { m, pid } = machine();
    m.seedFile('/bin/noexec', STATIC, 0o644);
    m.seedFile('/bin/script', new TextEncoder().encode('#!/bin/sh\necho hi\n'), 0o755);
    m.seedFile('/bin/tiny', new Uint8Array([0x7f, 0x45, 0x4c, 0x46]), 0o755);
    m.seedFile('/bin/arm', buildElf({ type: 2, machine: EM_AARCH64, entry: 0x400000, size: 0x1000, segs: [{ type: PT_LOAD, flags: PF_R | PF_X, offset: 0, vaddr: 0x400000, filesz: 0x1000, memsz: 0x1000 }] }), 0o755);
    m.seedFile('/bin/core', buildElf({ type: 3, entry: 0, size: 0x1000, segs: [] }), 0o755);
    m.seedFile('/lib/text.so', new TextEncoder().encode('not a library, but a text file longer than an ELF header of 64 bytes'), 0o755);
    m.seedFile('/lib/short.so', new TextEncoder().encode('too short'), 0o755);
    const asking = (interp: string) => buildElf({ type: 3, entry: 0, size: 0x2000, interp, segs: [{ type: PT_LOAD, flags: PF_R, offset: 0, vaddr: 0, filesz: 0x1000, memsz: 0x1000 }] });
    m.seedFile('/bin/bad-interp', asking('/lib/text.so'), 0o755);
    m.seedFile('/bin/no-interp', asking('/lib/missing.so'), 0o755);
    m.seedFile('/bin/short-interp', asking('/lib/short.so'), 0o755);
    m.seedFile('/bin/arm-interp', asking('/bin/arm'), 0o755);
    const keep = m.mmap(pid, 0n, 8192n, uapi.PROT_READ | uapi.PROT_WRITE, uapi.MAP_PRIVATE | uapi.MAP_ANONYMOUS, -1, 0n);
    if (!keep.ok) throw new Error(keep.errno);
    expect(m.store(pid, keep.value, 8, 42n).ok).toBe(true);
    const before = m.maps(pid);
    const cases: [string, string][] = [
      ['/bin/missing', 'ENOENT'],
      ['', 'ENOENT'],
      ['/bin/static/x', 'ENOTDIR'],
      ['/bin', 'EACCES'],
      ['/dev/zero', 'EACCES'],
      ['/bin/noexec', 'EACCES'],
      ['/bin/script', 'ENOEXEC'],
      ['/bin/tiny', 'ENOEXEC'],
      ['/bin/arm', 'ENOEXEC'],
      ['/bin/core', 'ENOEXEC'],
      ['/bin/bad-interp', 'ELIBBAD'],
      ['/bin/arm-interp', 'ELIBBAD'],
      ['/bin/no-interp', 'ENOENT'],
      // elf_read() of the interpreter's header comes up short.
      ['/bin/short-interp', 'EIO'],
    ];
    for (const [path, errno] of cases) {
      const r = m.execve(pid, path);
      expect(r, path).toMatchObject({ ok: false, errno, killed: false });
      if (!r.ok) expect(r.reason.length, path).toBeGreaterThan(0);
    }
    expect(m.maps(pid)).toBe(before);
    expect(m.load(pid, keep.value, 8)).toEqual({ ok: true, value: 42n });
    expect(m.execve(99999, '/bin/static')).toMatchObject({ ok: false, errno: 'ESRCH', killed: false });
  });

  it('kills the process with SIGSEGV when a segment cannot be mapped past the point of no return (a 4 KiB-linked binary on a 16 KiB-page kernel)', () => {
    const { m, pid } = machine('arm64-16k');
    // vaddr - offset = 0x401000: a multiple of 4 KiB, not of 16 KiB, so elf_map() fails.
    m.seedFile('/bin/4k', buildElf({
      type: 2, machine: EM_AARCH64, entry: 0x400000, size: 0x2000,
      segs: [
        { type: PT_LOAD, flags: PF_R | PF_X, offset: 0, vaddr: 0x400000, filesz: 0x1000, memsz: 0x1000 },
        { type: PT_LOAD, flags: PF_R | PF_W, offset: 0x1000, vaddr: 0x402000, filesz: 0x100, memsz: 0x100 },
      ],
    }), 0o755);
    const r = m.execve(pid, '/bin/4k');
    expect(r).toMatchObject({ ok: false, errno: 'EINVAL', killed: true });
    expect(m.pids()).not.toContain(pid);
    expect(m.maps(pid)).toBeUndefined();
    m.validate();
  });
});

describe('execve(): the initial stack (create_elf_tables())', () => {
  const AT_TYPES_X86 = [33, 51, 16, 6, 17, 3, 4, 5, 7, 8, 9, 11, 12, 13, 14, 23, 25, 26, 31, 15, 27, 28, 0];

  /** The C string at addr, read through the MMU. */
  function cString(m: Machine, pid: number, addr: bigint): string {
    const bytes: number[] = [];
    for (let a = addr; ; a++) {
      const r = m.load(pid, a, 1);
      if (!r.ok) throw new Error(`unreadable string at 0x${a.toString(16)}`);
      if (r.value === 0n) break;
      bytes.push(Number(r.value));
    }
    return new TextDecoder().decode(Uint8Array.from(bytes));
  }

  function word(m: Machine, pid: number, addr: bigint): bigint {
    const r = m.load(pid, addr, 8);
    if (!r.ok) throw new Error('unreadable word');
    return r.value;
  }

  // Offsets from the top of [stack], measured on Linux 6.18 (x86_64) with a static program
  // run as `setarch -R env -i ./probe a bb` and `setarch -R env -i X=1 LONGER=abcdef ./probe`,
  // which printed top - sp, top - argv[i], top - envp[i], the auxv types in order,
  // top - the AT_RANDOM, AT_EXECFN and AT_PLATFORM addresses, and top - the end of the auxv.
  for (const c of [
    { argv: ['./probe', 'a', 'bb'], envp: [], sp: 0x1e0, args: [0x1d, 0x15, 0x13], envs: [], random: 0x37, platform: 0x27, auxEnd: 0x40 },
    { argv: ['./probe'], envp: ['X=1', 'LONGER=abcdef'], sp: 0x1f0, args: [0x2a], envs: [0x22, 0x1e], random: 0x47, platform: 0x37, auxEnd: 0x50 },
  ]) {
    it(`lays out argv ${JSON.stringify(c.argv)} and envp ${JSON.stringify(c.envp)} as Linux does, byte for byte`, () => {
      const { m, pid } = machine();
      m.seedFile('/probe', STATIC, 0o755);
      const r = m.execve(pid, './probe', { argv: c.argv, envp: c.envp });
      if (!r.ok) throw new Error(r.reason);
      const top = BigInt(m.arch.stackTop);
      expect(top - r.stackPointer).toBe(BigInt(c.sp));
      const sp = r.stackPointer;
      expect(word(m, pid, sp)).toBe(BigInt(c.argv.length));
      const argvAt = (i: number): bigint => word(m, pid, sp + 8n + BigInt(i) * 8n);
      c.args.forEach((off, i) => {
        expect(top - argvAt(i)).toBe(BigInt(off));
        expect(cString(m, pid, argvAt(i))).toBe(c.argv[i]);
      });
      expect(argvAt(c.argv.length)).toBe(0n);
      const envBase = sp + 8n + BigInt(c.argv.length + 1) * 8n;
      c.envs.forEach((off, i) => {
        const a = word(m, pid, envBase + BigInt(i) * 8n);
        expect(top - a).toBe(BigInt(off));
        expect(cString(m, pid, a)).toBe(c.envp[i]);
      });
      expect(word(m, pid, envBase + BigInt(c.envp.length) * 8n)).toBe(0n);
      // The auxiliary vector follows, in Linux's order, as the result gives it.
      const auxBase = envBase + BigInt(c.envp.length + 1) * 8n;
      const onStack = r.auxv.map((_, i) => ({ type: Number(word(m, pid, auxBase + BigInt(i) * 16n)), value: word(m, pid, auxBase + BigInt(i) * 16n + 8n) }));
      expect(onStack).toEqual(r.auxv);
      expect(r.auxv.map((a) => a.type)).toEqual(AT_TYPES_X86);
      const at = (type: number): bigint => r.auxv.find((a) => a.type === type)!.value;
      expect(top - at(25)).toBe(BigInt(c.random));
      expect(top - at(31)).toBe(0x10n);
      expect(cString(m, pid, at(31))).toBe('./probe');
      expect(top - at(15)).toBe(BigInt(c.platform));
      expect(cString(m, pid, at(15))).toBe('x86_64');
      // The values that describe the program.
      expect(at(6)).toBe(4096n);
      expect(at(9)).toBe(0x400100n);
      expect(at(3)).toBe(0x400040n); // e_phoff 64 in the first PT_LOAD, mapped at 0x400000
      expect(at(5)).toBe(2n);
      expect(at(7)).toBe(0n);
      expect(at(33)).toBe(BigInt('0x' + m.maps(pid)!.split('\n').find((l) => l.endsWith('[vdso]'))!.split('-')[0]));
      expect(top - (auxBase + BigInt(r.auxv.length) * 16n)).toBe(BigInt(c.auxEnd));
    });
  }

  it('puts AT_BASE at the interpreter and AT_ENTRY at the executable\'s entry, and says "aarch64" on arm64', () => {
    const { m, pid } = machine();
    const r = m.execve(pid, '/bin/pie');
    if (!r.ok) throw new Error(r.reason);
    const at = (type: number): bigint => r.auxv.find((a) => a.type === type)!.value;
    expect(at(7)).toBe(r.interpBase);
    expect(at(9)).toBe(r.loadBias + 0x1040n);
    expect(at(3)).toBe(r.loadBias + 64n);
    const arm = new Machine({ arch: 'arm64-16k' });
    arm.seedFile('/bin/static', buildElf({ type: 2, machine: EM_AARCH64, entry: 0x400000, size: 0x1000, segs: [{ type: PT_LOAD, flags: PF_R | PF_X, offset: 0, vaddr: 0x400000, filesz: 0x1000, memsz: 0x1000 }] }), 0o755);
    const apid = arm.spawn();
    const a = arm.execve(apid, '/bin/static', { argv: ['static'] });
    if (!a.ok) throw new Error(a.reason);
    const platform = a.auxv.find((x) => x.type === 15)!.value;
    expect(cString(arm, apid, platform)).toBe('aarch64');
    expect(a.auxv.find((x) => x.type === 6)!.value).toBe(16384n);
    expect(a.stackPointer % 16n).toBe(0n);
  });

  it('refuses strings beyond the limits with E2BIG, after the lookup and before the headers, leaving the process as it was', () => {
    const { m, pid } = machine();
    const before = m.maps(pid);
    const long = 'x'.repeat(32 * 4096);
    expect(m.execve(pid, '/bin/static', { argv: ['a', long] })).toMatchObject({ ok: false, errno: 'E2BIG', killed: false });
    // A quarter of the 8 MiB stack rlimit: 2 MiB of strings in all.
    const many = Array.from({ length: 20 }, () => 'y'.repeat(120 * 1024));
    expect(m.execve(pid, '/bin/static', { envp: many })).toMatchObject({ ok: false, errno: 'E2BIG', killed: false });
    // The lookup's error comes first; the header check after.
    expect(m.execve(pid, '/bin/missing', { envp: many })).toMatchObject({ errno: 'ENOENT' });
    expect(m.maps(pid)).toBe(before);
    // Just under the limit: the [stack] VMA grows to hold the strings and 128 KiB more.
    const fits = Array.from({ length: 15 }, () => 'z'.repeat(120 * 1024));
    const r = m.execve(pid, '/bin/static', { envp: fits });
    if (!r.ok) throw new Error(r.reason);
    const stack = m.maps(pid)!.split('\n').find((l) => l.endsWith('[stack]'))!;
    const [lo, hi] = stack.split(' ')[0]!.split('-').map((x) => BigInt('0x' + x));
    expect(hi! - lo!).toBeGreaterThan(15n * 120n * 1024n + 128n * 1024n);
    expect(hi! - r.stackPointer).toBeLessThan(hi! - lo!);
    m.validate();
  });
});
