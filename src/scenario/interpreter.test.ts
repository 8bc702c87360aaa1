import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Machine } from '../kernel/machine.js';
import { constantValue } from './flags.js';
import { type InterpretOptions, type StepRecord, interpret, runScenario } from './interpreter.js';
import { joinSplitCalls, parseScenario } from './parser.js';

/** Runs statements straight through interpret(), as a caller skipping runScenario()'s check pass would. */
function interpretUnchecked(lines: string[]) {
  const parsed = parseScenario(lines.join('\n') + '\n', 't.strace');
  return interpret(joinSplitCalls(parsed.statements, { file: 't.strace' }).statements, { file: 't.strace', paranoid: true });
}

function run(lines: string[], options: InterpretOptions = {}) {
  return runScenario(lines.join('\n') + '\n', { file: 't.strace', paranoid: true, ...options });
}

/** The problems of a run as `line:column: message`. */
function problems(records: StepRecord[]): string[] {
  return records.flatMap((r) => r.problems.map((p) => `${p.line}:${p.column}: ${p.message}`));
}

const ANON = 'PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0';

describe('flags', () => {
  it('resolves the constants strace prints', () => {
    expect(constantValue('PROT_READ')).toBe(1n);
    expect(constantValue('MAP_FIXED_NOREPLACE')).toBe(0x100000n);
    expect(constantValue('O_CLOEXEC')).toBe(0o2000000n);
    expect(constantValue('AT_FDCWD')).toBe(-100n);
    expect(constantValue('SEEK_END')).toBe(2n);
    expect(constantValue('POSIX_FADV_DONTNEED')).toBe(4n);
    expect(constantValue('MFD_CLOEXEC')).toBe(1n);
    expect(constantValue('MADV_DONTNEED')).toBe(4n);
    expect(constantValue('MAP_HUGE_SHIFT')).toBe(26n);
    expect(constantValue('CLONE_THREAD')).toBe(0x10000n);
    expect(constantValue('SIGCHLD')).toBe(17n);
    expect(constantValue('RUSAGE_SELF')).toBe(0n);
    expect(constantValue('p')).toBeUndefined();
  });
});

describe('interpreter', () => {
  it('binds results and evaluates arithmetic, flags, shifts and NULL', () => {
    const r = run([
      `p = mmap(NULL, 2 * 4096, ${ANON})`,
      'store64(p + 4096, 0x1122334455667788)',
      'load64(p + 8192 / 2) = 0x1122334455667788',
      'load8(p + 4096) = 0x88',
      'munmap(p, 4096) = 0',
      'mprotect(p + 4096, 4096, 0x100 /* PROT_??? */) = -1 EINVAL (Invalid argument)',
      'x = load32(p + 4096)',
      'load32(p + 4096) = x',
      'munmap(p + (1<<12), 1<<12) = 0',
    ]);
    expect(r.malformed).toBe(false);
    expect(problems(r.records)).toEqual([]);
    expect(r.records[0]!.result).toBe('0x7ffff7ff5000');
    expect(r.records[5]!.result).toBe('-1 EINVAL (Invalid argument)');
    expect(r.summary).toMatchObject({ failed: 0, expectations: 6 });
  });

  it('reports a failed expectation at its line and column, with what the model returned', () => {
    const r = run([`p = mmap(NULL, 4096, ${ANON})`, 'munmap(p, 4096)   = 0', 'munmap(p + 1, 4096) = 0', 'load8(p) = 0']);
    expect(r.summary.failed).toBe(2);
    const bad = r.records[2]!;
    expect(bad).toMatchObject({ line: 3, ok: false, result: '-1 EINVAL (Invalid argument)', expected: '0' });
    expect(problems(r.records)[0]).toBe('3:23: expected 0, the model returned -1 EINVAL (Invalid argument)');
    expect(problems(r.records)[1]).toMatch(/^4:12: expected 0, the access faulted: SIGSEGV \{si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0x7ffff7ff6000\}/);
  });

  it('counts syscalls it does not model, never failing on them', () => {
    const r = run(['arch_prctl(ARCH_SET_FS, 0x7f0000000740) = 0', 'set_robust_list(0x7f0000000a20, 24) = 0', 'set_robust_list(0x7f0000000a20, 24)', 'futex(0x1, FUTEX_WAIT, 0, NULL) = -1 EAGAIN (Resource temporarily unavailable)']);
    expect(r.summary.failed).toBe(0);
    expect(r.summary.notModelled).toEqual({ arch_prctl: 1, futex: 1, set_robust_list: 2 });
    expect(r.records.map((x) => x.kind)).toEqual(['not-modelled', 'not-modelled', 'not-modelled', 'not-modelled']);
  });

  it('does not run malformed input: parser diagnostics come back with positions', () => {
    const r = run([`p = mmap(NULL, 4096, ${ANON})`, 'store(p, "abc', 'munmap(p, 4096) = 0', 'maps() = <<EOF', 'x']);
    expect(r.malformed).toBe(true);
    expect(r.records).toEqual([]);
    expect(r.diagnostics.map((d) => `${d.line}:${d.column} ${d.code}`)).toEqual(['2:10 E_UNTERMINATED_STRING', '4:10 E_UNTERMINATED_HEREDOC']);
  });

  it('interpret() (without the check pass) reports unknown names, missing arguments and strings where numbers belong, and goes on', () => {
    const r = interpretUnchecked([
      `p = mmap(NULL, 4096, ${ANON})`,
      'r = mmap(NULL, 4096, PROT_READ|PROT_BOGUS, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)',
      'munmap(q, 4096)',
      'munmap(p)',
      'munmap("p", 4096)',
      'load8(r)',
      'munmap(p, 4096) = 0',
      's = mmap(p, 4096, PROT_READ, MAP_SHARED|MAP_FIXED, 99, 0) = -1 EBADF (Bad file descriptor)',
      'load8(s)',
    ]);
    expect(problems(r.records)).toEqual([
      "2:32: unknown name 'PROT_BOGUS' (not a bound name nor a constant)",
      "3:8: unknown name 'q' (not a bound name nor a constant)",
      '4:1: munmap() needs a length as argument 2',
      '5:8: expected a number, found a string',
      "6:7: 'r' has no value: t.strace:2 could not run",
      "9:7: 's' has no value: mmap at t.strace:8 failed with EBADF",
    ]);
    expect(r.summary.failed).toBe(6);
  });

  it('runScenario() reports the same mistakes before running, as diagnostics, and runs nothing', () => {
    const r = run([
      `p = mmap(NULL, 4096, ${ANON})`,
      'r = mmap(NULL, 4096, PROT_READ|PROT_BOGUS, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)',
      'munmap(q, 4096)',
      'munmap(p)',
      'munmap("p", 4096)',
      'load8(r)',
    ]);
    expect(r.malformed).toBe(true);
    expect(r.records).toEqual([]);
    expect(r.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message} [${d.code}]`)).toEqual([
      "2:32: unknown name 'PROT_BOGUS': not a constant the model knows, and no line of this file binds it [E_UNKNOWN_NAME]",
      "3:8: unknown name 'q': not a constant the model knows, and no line of this file binds it [E_UNKNOWN_NAME]",
      '4:1: munmap() needs a length as argument 2 (2 arguments: address, length) [E_ARGUMENT_COUNT]',
      '5:8: the address is a number, not a string [E_BAD_ARGUMENT]',
    ]);
  });

  it('pairs a signal line with the access before it', () => {
    const r = run([
      `p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)`,
      'store8(p, 1)',
      '--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_ACCERR, si_addr=p} ---',
      'store8(p, 1)',
      '--- SIGBUS {si_signo=SIGBUS, si_code=BUS_ADRERR} ---',
      'load8(p) = SIGSEGV',
      'load8(0x1000) = SIGSEGV {si_code=SEGV_ACCERR, si_addr=0x1000}',
      'load8(0x1000) = SIGSEGV {si_code=1, si_addr=0x1000}',
      'memfd_create("m", 0) = 3',
      'z = mmap(NULL, 4096, PROT_READ, MAP_SHARED, 3, 0)',
      'load8(z) = SIGBUS {si_code=SEGV_ACCERR}',
    ]);
    expect(r.records.map((x) => x.line)).toEqual([1, 2, 4, 6, 7, 8, 9, 10, 11]);
    expect(r.records[8]!.problems.map((p) => p.message)).toEqual([
      'expected si_code=SEGV_ACCERR, the model raised SIGBUS {si_signo=SIGBUS, si_code=BUS_ADRERR, si_addr=0x7ffff7ff5000}',
    ]);
    expect(r.records[1]).toMatchObject({ ok: true, checks: 1, expected: '--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_ACCERR, si_addr=p} ---' });
    expect(problems(r.records)).toEqual([
      '5:1: expected SIGBUS {si_signo=SIGBUS, si_code=BUS_ADRERR}, the model raised SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_ACCERR, si_addr=0x7ffff7ff6000}',
      '6:12: expected SIGSEGV, the access did not fault',
      '7:26: expected si_code=SEGV_ACCERR, the model raised SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0x1000}',
      '11:20: expected si_code=SEGV_ACCERR, the model raised SIGBUS {si_signo=SIGBUS, si_code=BUS_ADRERR, si_addr=0x7ffff7ff5000}',
    ]);
  });

  it('kills a process whose access faults unexpectedly and skips its later lines', () => {
    const r = run(['100  p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)', '100  fork() = 200', '100  load8(p)', '100  munmap(p, 4096) = 0', '200  load8(p) = SIGSEGV', '100  +++ killed by SIGSEGV +++']);
    expect(r.records.map((x) => [x.pid, x.kind, x.ok])).toEqual([
      [100, 'call', true],
      [100, 'process', true],
      [100, 'access', false],
      [100, 'skipped', true],
      [200, 'access', true],
      [100, 'process', true],
    ]);
    expect(problems(r.records)).toEqual([expect.stringMatching(/^3:6: unexpected SIGSEGV .*: the process is killed/)]);
    expect(r.records[3]!.notes[0]).toBe('skipped: killed by SIGSEGV at t.strace:3');
    expect(r.summary).toMatchObject({ failed: 1, skipped: 1 });
  });

  it('accepts a fault when the next line of its pid says the process is killed by it', () => {
    const r = run(['load8(0)', '+++ killed by SIGSEGV (core dumped) +++']);
    expect(r.summary.failed).toBe(0);
  });

  it('maps scenario pids to processes: fork copies memory, the child gets the label', () => {
    const r = run([
      `100  p = mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)`,
      '100  store8(p, 7)',
      '100  clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f0000000a10) = 4242',
      '4242  store8(p, 9)',
      '100  load8(p) = 7',
      '4242  load8(p) = 9',
      '300  load8(p) = 0',
    ]);
    expect(r.records[2]).toMatchObject({ kind: 'process', result: '4242', tid: 1000 });
    expect(r.records[3]).toMatchObject({ pid: 4242, tid: 1001 });
    expect(problems(r.records)).toEqual(['7:1: pid 300 was not created by a fork() or clone() earlier in this file']);
  });

  it('lines without a prefix belong to the initial process even when only children have pids', () => {
    const r = run([`p = mmap(NULL, 4096, ${ANON})`, 'store8(p, 1)', 'fork() = 50', '50  store8(p, 2)', 'load8(p) = 1', '50  load8(p) = 2']);
    expect(problems(r.records)).toEqual([]);
    expect(r.records.map((x) => x.pid)).toEqual([undefined, undefined, undefined, 50, undefined, 50]);
  });

  it('clone3 with CLONE_THREAD makes a thread sharing the address space; vfork makes a child like fork', () => {
    const r = run([
      '10  clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, exit_signal=0, stack=0x7f0000000000, stack_size=0x7fff80} => {parent_tid=[11]}, 88) = 11',
      `11  p = mmap(NULL, 4096, ${ANON})`,
      '11  store8(p, 5)',
      '10  load8(p) = 5',
      '10  getrusage(RUSAGE_SELF, {ru_minflt=1, ru_majflt=0, ...}) = 0',
      '10  getrusage(RUSAGE_THREAD, {ru_minflt=0, ...}) = 0',
      '10  vfork() = 12',
      '12  load8(p) = 5',
    ]);
    expect(problems(r.records)).toEqual([]);
    expect(r.records[6]).toMatchObject({ kind: 'process', result: '12' });
    expect(r.records[7]).toMatchObject({ kind: 'access', pid: 12, result: '5', ok: true });
    expect(r.summary.notModelled).toEqual({});
  });

  it("vfork's child runs its lines on a copy of the parent's address space (as fork; the parent waits in reality)", () => {
    const r = run([
      `100  p = mmap(NULL, 8192, ${ANON})`,
      '100  store8(p, 7)',
      '100  vfork() = 101',
      '101  load8(p) = 7',
      '101  munmap(p, 4096) = 0',
      '101  load8(p) = SIGSEGV {si_code=SEGV_MAPERR}',
      '101  exit_group(0) = ?',
      '100  load8(p) = 7',
    ]);
    expect(problems(r.records)).toEqual([]);
    expect(r.records.map((x) => x.kind)).toEqual(['call', 'access', 'process', 'access', 'call', 'access', 'process', 'access']);
    expect(r.records[2]!.notes.join(' ')).toContain('vfork is modelled as fork');
    expect(r.summary.notModelled).toEqual({});
  });

  it('joins unfinished/resumed halves, creating a thread before its first line', () => {
    const r = run([
      '10  clone3({flags=CLONE_VM|CLONE_THREAD, exit_signal=0} <unfinished ...>',
      `11  p = mmap(NULL, 4096, ${ANON})`,
      '10  <... clone3 resumed> => {parent_tid=[11]}, 88) = 11',
      '11  store8(p, 5)',
      '10  load8(p) = 5',
    ]);
    expect(problems(r.records)).toEqual([]);
    expect(r.records.map((x) => x.name)).toEqual(['clone3', 'mmap', 'store8', 'load8']);
  });

  it('runs the file calls: read data as expectation, read into and write from memory, fstat, lseek', () => {
    const r = run([
      'fd = openat(AT_FDCWD, "/tmp/f", O_RDWR|O_CREAT|O_TRUNC, 0644) = 3',
      'write(fd, "hello world", 11) = 11',
      'lseek(fd, 0, SEEK_SET) = 0',
      'read(fd, "hello", 5) = 5',
      'read(fd, "xx", 2) = 2',
      `p = mmap(NULL, 4096, ${ANON})`,
      'pread64(fd, p, 5, 6) = 5',
      'load(p, 5) = "world"',
      'write(fd, p, 3) = 3',
      'pread64(fd, "hello wwor"..., 20, 0) = 11',
      'fstat(fd, {st_mode=S_IFREG|0644, st_size=15, ...}) = 0',
      'newfstatat(fd, "", {st_size=11, ...}, AT_EMPTY_PATH) = 0',
      'newfstatat(AT_FDCWD, "/tmp/f", {st_size=14, ...}, 0) = 0',
      'close(fd) = 0',
      'close(fd) = -1 EBADF (Bad file descriptor)',
      'unlink("/tmp/f") = 0',
      'open("/tmp/f", O_RDONLY) = -1 ENOENT (No such file or directory)',
    ]);
    expect(problems(r.records)).toEqual([
      '5:10: expected the data "xx", the model read " w"',
      '11:34: fstat: expected st_size=15, the model has st_size=11',
    ]);
    expect(r.records[3]!.actual).toBe('read(fd, "hello", 5)');
    expect(r.records[4]!.actual).toBe('read(fd, " w", 2)');
    expect(r.records[12]).toMatchObject({ kind: 'not-modelled' });
  });

  it('runs mremap, madvise and the mlock family', () => {
    const r = run([
      `p = mmap(NULL, 2 * 4096, ${ANON})`,
      'store8(p, 3)',
      'q = mremap(p, 2 * 4096, 4 * 4096, MREMAP_MAYMOVE)',
      'load8(q) = 3',
      'madvise(q, 4096, MADV_DONTNEED) = 0',
      'load8(q) = 0',
      'madvise(q + 1, 4096, MADV_DONTNEED) = -1 EINVAL (Invalid argument)',
      'mlock(q, 4096) = 0',
      'smaps(q, "Locked") = 4',
      'munlock(q, 4096) = 0',
      'mlockall(MCL_CURRENT) = 0',
      'munlockall() = 0',
    ]);
    expect(problems(r.records)).toEqual([]);
    expect(r.summary.notModelled).toEqual({});
  });

  it('compares the mincore vector and getrusage fields', () => {
    const r = run([
      `p = mmap(NULL, 3 * 4096, ${ANON})`,
      'store8(p + 4096, 1)',
      'mincore(p, 3 * 4096, [0, 1, 0]) = 0',
      'mincore(p, 3 * 4096, [0, 1, ...]) = 0',
      'mincore(p, 3 * 4096, [1, 1, 0]) = 0',
      'getrusage(RUSAGE_SELF, {ru_utime={tv_sec=0, tv_usec=0}, ru_minflt=1, ru_majflt=0, ...}) = 0',
      'getrusage(RUSAGE_SELF, {ru_minflt=2, ...}) = 0',
    ]);
    expect(problems(r.records)).toEqual([
      '5:22: expected the vector [1, 1, 0], the model returned [0, 1, 0]',
      '7:25: getrusage: expected ru_minflt=2, the model has ru_minflt=1',
    ]);
    expect(r.records[4]!.actual).toBe('mincore(p, 3*4096, [0, 1, 0])');
    expect(r.records[6]!.actual).toBe('getrusage(RUSAGE_SELF, {ru_minflt=1, ru_majflt=0, ...})');
  });

  it('checks heredoc checkpoints with ... wildcards, pointing at the differing body line', () => {
    const r = run([
      `p = mmap(NULL, 4096, ${ANON})`,
      'maps() = <<EOF',
      '7ffff7ff6000-7ffff7ff7000 rw-p 00000000 00:00 0',
      '...',
      'ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]',
      'EOF',
      'maps() = <<EOF',
      '...',
      '7ffff7ff6000-7ffff7ff7000 r--p 00000000 00:00 0 ',
      '...',
      'EOF',
      'maps() = <<END',
      '7ffff7ff6000-7ffff7ff7000 rw-p 00000000 00:00 0 ',
      '7ffff7ff7000-7ffff7ffb000 r--p 00000000 00:00 0                          [vvar]',
      'extra',
      'END',
      'smaps(p, "Rss") = 0',
      'store8(p, 1)',
      'smaps(p, "Rss") = 4',
      'smaps(p) = <<EOF',
      '7ffff7ff6000-7ffff7ff7000 rw-p 00000000 00:00 0 ',
      'Size:                  4 kB',
      '...',
      'VmFlags: rd wr mr mw me ac ',
      'EOF',
      'smaps_rollup() = <<EOF',
      '...',
      'Anonymous:             4 kB',
      '...',
      'EOF',
      'vmstat()',
      'status() = <<EOF',
      '...',
      'RssAnon:\t       4 kB',
      '...',
      'EOF',
      'statm()',
      'diskstats() = <<EOF',
      ' 254       0 vda 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0',
      'EOF',
      'meminfo()',
    ]);
    expect(problems(r.records)).toEqual([
      `9:1: maps() differs: no line of the model's text matches "7ffff7ff6000-7ffff7ff7000 r--p 00000000 00:00 0 "`,
      '15:1: maps() differs: expected "extra", the model has "7ffff7ffb000-7ffff7ffd000 r--p 00000000 00:00 0                          [vvar_vclock]"',
    ]);
    expect(r.records[1]!.result.startsWith('<<EOF\n7ffff7ff6000-7ffff7ff7000 rw-p 00000000 00:00 0 \n')).toBe(true);
    expect(r.records.at(-1)!.result).toMatch(/^<<EOF\nMemTotal:/);
  });

  it('exit_group ends the process; memfd_create, ftruncate and fadvise run', () => {
    const r = run([
      'memfd_create("x", MFD_CLOEXEC) = 3',
      'ftruncate(3, 8192) = 0',
      'q = mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_SHARED, 3, 0)',
      'store(q, "hi")',
      'pread64(3, "hi", 2, 0) = 2',
      'fadvise64(3, 0, 0, POSIX_FADV_WILLNEED) = 0',
      'fsync(3) = 0',
      'maps() = <<EOF',
      '7ffff7ff5000-7ffff7ff7000 rw-s 00000000 00:01 1024                       /memfd:x (deleted)',
      '...',
      'EOF',
      'exit_group(0) = ?',
      'load8(q)',
    ]);
    expect(problems(r.records)).toEqual([]);
    expect(r.records.at(-2)).toMatchObject({ kind: 'process', result: '?' });
    expect(r.records.at(-1)).toMatchObject({ kind: 'skipped', notes: ['skipped: exit_group at t.strace:12'] });
  });

  it('collects kernel events per step when tracing', () => {
    const r = run([`p = mmap(NULL, 4096, ${ANON})`, 'store8(p, 1)', 'munmap(p, 4096) = 0'], { trace: true });
    expect(r.records[0]!.events!.map((e) => e.type)).toContain('vma_new');
    expect(r.records[1]!.events!.map((e) => e.type)).toContain('fault');
    expect(r.records[2]!.events!.map((e) => e.type)).toContain('vma_remove');
    expect(run(['brk(NULL)']).records[0]!.events).toBeUndefined();
  });

  it('uses the arch profile: 16 KiB pages make a 4 KiB-aligned address invalid', () => {
    const lines = [`p = mmap(NULL, 4096, ${ANON})`, 'munmap(p + 4096, 4096) = 0'];
    expect(run(lines, { arch: 'x86_64' }).summary.failed).toBe(0);
    const r = run(lines, { arch: 'arm64-16k' });
    expect(problems(r.records)).toEqual([expect.stringMatching(/^2:26: expected 0, the model returned -1 EINVAL/)]);
  });

  it('streams records through onStep as they run', () => {
    const seen: number[] = [];
    run(['brk(NULL)', 'getpid() = 1'], { onStep: (rec) => seen.push(rec.line) });
    expect(seen).toEqual([1, 2]);
  });

  // Found writing examples/demand-paging.strace: filemap_map_pages() skips a
  // folio marked PG_readahead (mm/filemap.c, next_uptodate_folio():
  // `!folio_test_uptodate(folio) || folio_test_readahead(folio)`), so that
  // touching it later faults and starts async readahead. (With order-0
  // page-cache folios, as modelled; checked on the host by
  // test/host-conformance.test.ts.)
  it('fault-around leaves the page carrying the readahead mark to a real fault', () => {
    const r = run([
      'fd = openat(AT_FDCWD, "/tmp/ra.bin", O_RDWR|O_CREAT|O_TRUNC, 0644) = 3',
      'ftruncate(fd, 32 * 4096) = 0',
      'fadvise64(fd, 0, 0, POSIX_FADV_DONTNEED) = 0',
      'f = mmap(0x7f0000000000, 32 * 4096, PROT_READ, MAP_PRIVATE, fd, 0) = 0x7f0000000000',
      // A major fault: mmap read-around reads pages 0..31 and marks page 24 (start + size - async_size).
      'load8(f) = 0',
      // A minor fault: fault-around maps pages 16..31, except 24.
      'load8(f + 20 * 4096) = 0',
      'getrusage(RUSAGE_SELF, {ru_minflt=1, ru_majflt=1, ...}) = 0',
      // So touching page 24 faults.
      'load8(f + 24 * 4096) = 0',
      'getrusage(RUSAGE_SELF, {ru_minflt=2, ru_majflt=1, ...}) = 0',
    ]);
    expect(problems(r.records)).toEqual([]);
  });

  it('stops the run, reporting the step, when the model itself throws', () => {
    const spy = vi.spyOn(Machine.prototype, 'brk').mockImplementation(() => {
      throw new Error('invariant broken');
    });
    try {
      const r = run(['getpid() = 1', 'brk(NULL)', 'getpid() = 1']);
      expect(r.records).toHaveLength(2);
      expect(problems(r.records)).toEqual(['2:1: internal error in the model (a bug in mmsim, not in the scenario): invariant broken; the run stops here']);
      expect(r.summary.aborted).toBe('the model failed at t.strace:2: invariant broken');
    } finally {
      spy.mockRestore();
    }
  });

  it('runs every real strace capture without throwing', () => {
    const dir = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'strace');
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.log'))) {
      const r = runScenario(readFileSync(join(dir, f), 'utf8'), { file: f });
      expect(r.malformed, f).toBe(false);
      expect(r.records.length, f).toBeGreaterThan(10);
      expect(r.summary.notModelled['execve'] ?? r.summary.notModelled['brk'] ?? 1, f).toBeGreaterThan(0);
    }
  });
});
