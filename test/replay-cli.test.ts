/**
 * `mmsim replay` as a user runs it: node dist/cli/main.js replay ..., with its
 * exit status, its stdout and stderr. Logs are the committed captures in
 * test/fixtures/replay (static-*.log: a static binary, captured on Linux
 * 6.18.44 with strace 6.1) or small hand-made logs written to a scratch dir.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.join(__dirname, '..');
const main = path.join(root, 'dist', 'cli', 'main.js');
const fixtures = path.join(__dirname, 'fixtures', 'replay');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mmsim-replay-cli-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

function replay(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, 'replay', ...args], { encoding: 'utf8', cwd: scratch });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function write(name: string, lines: string[]): string {
  const p = path.join(scratch, name);
  fs.writeFileSync(p, lines.join('\n') + '\n');
  return p;
}

/** Every call agrees: anonymous memory only, nothing from the host. */
const agreeing = [
  '500 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000',
  '500 mprotect(0x7f0000000000, 4096, PROT_READ) = 0',
  '500 getpid() = 500',
  '500 getpid() = 500',
  '500 gettid() = 500',
  '500 munmap(0x7f0000001000, 4096) = 0',
];

describe('mmsim replay exit status: 0 all agree, 1 some disagree, 2 unreadable or not a log', () => {
  it('0 when every modelled call agrees; the summary counts the other calls by name', () => {
    const r = replay(write('agree.log', agreeing));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/agree\.log: 6 calls; modelled 3: 3 agree, 0 disagree; 0 not compared; 3 other calls not modelled$/);
    expect(lines[1]).toBe('  other calls: getpid 2, gettid 1');
  });

  it('1 when a call disagrees, and the disagreement is listed with file:line:column', () => {
    const r = replay(write('disagree.log', [...agreeing, '500 munmap(0x7f0000000000, 4096) = -1 EINVAL (Invalid argument)']));
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/disagree\.log:7:5: munmap\(0x7f0000000000, 4096\): logged -1 EINVAL, model 0/);
  });

  it('2 with a one-line reason naming the file for a directory, a missing file, an empty file, a binary file', () => {
    const dir = replay(os.tmpdir());
    expect(dir.status).toBe(2);
    expect(dir.stderr).toBe(`mmsim replay: ${os.tmpdir()}: is a directory\n`);
    expect(dir.stdout).toBe('');
    const missing = replay(path.join(scratch, 'nope.log'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe(`mmsim replay: ${path.join(scratch, 'nope.log')}: no such file or directory\n`);
    const empty = replay(write('empty.log', []));
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/empty\.log: nothing in it parses as a system call: is it a log written by strace/);
    fs.writeFileSync(path.join(scratch, 'bin.log'), new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0, 0, 1, 2]));
    const bin = replay(path.join(scratch, 'bin.log'));
    expect(bin.status).toBe(2);
    expect(bin.stderr).toMatch(/bin\.log: a binary file, not an strace log/);
    const mapsDir = replay(write('agree2.log', agreeing), '--maps-file', os.tmpdir());
    expect(mapsDir.status).toBe(2);
    expect(mapsDir.stderr).toBe(`mmsim replay: --maps-file ${os.tmpdir()}: is a directory\n`);
    for (const r of [dir, missing, empty, bin, mapsDir]) expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});

describe('mmsim replay | head', () => {
  it('ends quietly when the reader goes away: no EPIPE stack trace, the exit status still says what was found', () => {
    // Thousands of disagreements: far more output than a pipe holds, so the writes go on after head has exited.
    const lines = ['500 mmap(NULL, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000'];
    for (let i = 0; i < 4000; i++) lines.push('500 mprotect(0x10000, 4096, PROT_READ) = 0');
    const log = write('many.log', lines);
    const err = path.join(scratch, 'many.err');
    const st = path.join(scratch, 'many.status');
    const r = spawnSync('sh', ['-c', `("${process.execPath}" "${main}" replay "${log}" 2>"${err}"; echo $? >"${st}") | head -1`], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l !== '')).toHaveLength(1);
    expect(r.stdout).toMatch(/many\.log: 4001 calls/);
    expect(fs.readFileSync(err, 'utf8')).toBe('');
    expect(fs.readFileSync(st, 'utf8').trim()).toBe('1');
  });
});

describe('mmsim replay --help', () => {
  it('documents the options, the exit status and gives examples', () => {
    const r = replay('--help');
    expect(r.status).toBe(0);
    for (const opt of ['--pid N', '--maps ', '--maps-file F', '--cwd DIR', '--arch PROFILE', '--json', '--paranoid']) expect(r.stdout).toContain(opt);
    expect(r.stdout).toMatch(/Exit status: 0 .*1 .*\n.*2 the log cannot be read/);
    expect(r.stdout).toMatch(/Examples:\n {2}strace -f -o trace\.log \.\/prog && mmsim replay trace\.log\n/);
  });
});

describe('mmsim replay --maps, --pid, --maps-file', () => {
  const vfork = path.join(fixtures, 'static-vfork-stderr.log');
  const text = fs.readFileSync(vfork, 'latin1');
  const [, parent, child] = /\[pid (\d+)\] <\.\.\. vfork resumed>\)\s+= (\d+)/.exec(text)!;

  it('--maps prints the first process\'s maps in /proc/PID/maps format (a log written to stderr, a vfork child printing first)', () => {
    const r = replay(vfork, '--maps');
    expect(r.stdout).toContain(`/proc/${parent}/maps at the end of the log:\n`);
    const maps = r.stdout.slice(r.stdout.indexOf('maps at the end of the log:\n') + 28).trimEnd().split('\n');
    for (const l of maps) expect(l).toMatch(/^[0-9a-f]+-[0-9a-f]+ [-r][-w][-x][ps] [0-9a-f]{8} [0-9a-f]{2}:[0-9a-f]{2} \d+ *( +\S.*)?$/);
    // The parent's mmap(NULL, 16384) (split: its result on an unprefixed `<... mmap resumed>` line), then munmap of its third page.
    const m = /<\.\.\. mmap resumed>\)\s+= 0x([0-9a-f]+)/.exec(text)!;
    const at = parseInt(m[1]!, 16);
    const hx = (n: number): string => n.toString(16);
    const joined = maps.join('\n');
    expect(joined).toContain(`${hx(at)}-${hx(at + 4096)} r--p 00000000 00:00 0 `);
    expect(joined).toContain(`${hx(at + 4096)}-${hx(at + 8192)} rw-p 00000000 00:00 0 `);
    expect(joined).toContain(`${hx(at + 12288)}-${hx(at + 16384)} rw-p 00000000 00:00 0 `);
    expect(joined).not.toContain(`${hx(at + 8192)}-`);
  });

  it('--pid N prints that process\'s maps (the vfork child\'s, as it exited); an unknown pid says so', () => {
    const r = replay(vfork, '--maps', '--pid', child!);
    expect(r.stdout).toContain(`/proc/${child}/maps at the end of the log:\n`);
    expect(r.stdout).toMatch(/\[heap\]/);
    const none = replay(vfork, '--maps', '--pid', '999999');
    expect(none.stdout.trimEnd().split('\n').at(-1)).toBe('no process 999999 in the log');
    const bad = replay(vfork, '--pid', 'x');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('mmsim replay: --pid needs a number\n');
  });

  it('--maps-file: the stack and the vDSO come from the captured maps', () => {
    const real = fs.readFileSync(path.join(fixtures, 'static.maps'), 'utf8').split('\n');
    const r = replay(path.join(fixtures, 'static-maps.log'), '--maps', '--maps-file', path.join(fixtures, 'static.maps'));
    const stackLine = real.find((l) => l.endsWith('[stack]'))!;
    const vdsoLine = real.find((l) => l.endsWith('[vdso]'))!;
    expect(r.stdout).toContain(`  [stack] ${stackLine.split(' ')[0]} from the maps file`);
    const printed = r.stdout.split('\n');
    expect(printed).toContain(stackLine);
    expect(printed).toContain(vdsoLine);
    // The anonymous mappings the program made match the real ones.
    const anon = (ls: string[]): string[] => ls.filter((l) => /^7f[0-9a-f]+-[0-9a-f]+ rw-p 00000000 00:00 0 *$/.test(l));
    expect(anon(printed)).toEqual(anon(real));
    expect(anon(real).length).toBeGreaterThan(1);
  });
});

describe('explore --help and diff --help', () => {
  it('end with examples', () => {
    for (const cmd of ['explore', 'diff']) {
      const r = spawnSync(process.execPath, [main, cmd, '--help'], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`\nExamples:\n( {2}mmsim ${cmd}\\b.*\n)+\n*$`));
    }
  });
});

describe('mmsim replay of a log with many unparsable lines', () => {
  it('prints the first 100 diagnostics and a count of the rest, then replays the calls it could read', () => {
    const lines = ['500 mmap(NULL, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000'];
    for (let i = 0; i < 150; i++) lines.push(`500 mmap(NULL, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0 = 0x7f00000${i}`);
    const r = replay(write('garbled.log', lines));
    const diags = r.stderr.split('\n').filter((l) => /garbled\.log:\d+:\d+:/.test(l));
    expect(diags).toHaveLength(100);
    expect(r.stderr).toMatch(/\.\.\. and 50 more diagnostics \(\d+ errors?\) not shown/);
    expect(r.stdout).toMatch(/garbled\.log: 1 call/);
  });
});
