/**
 * `mmsim tour` (what `npm start` runs) and `mmsim --help`, as users run them:
 * the built CLI spawned with node. The tour's three parts are checked by what
 * they show the kernel doing (frames, PTE flags, handlers, writeback), tying
 * the frame numbers of one step to those of the next. Needs the build (npm
 * test builds first).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const main = join(root, 'dist', 'cli', 'main.js');
const mmsim = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 60_000 });

/** The tour's output as its `== title` sections, each a title and its lines. */
function sections(stdout: string): { title: string; lines: string[] }[] {
  return stdout.split('\n== ').slice(1).map((s) => {
    const [title, ...lines] = s.split('\n');
    return { title: title!, lines: lines.map((l) => l.trim()).filter((l) => l !== '') };
  });
}

/** The one line of a section matching re, and its captures. */
function only(lines: string[], re: RegExp): RegExpMatchArray {
  const hits = lines.map((l) => l.match(re)).filter((m) => m !== null);
  expect(hits, `exactly one line matches ${re} in\n${lines.join('\n')}`).toHaveLength(1);
  return hits[0]!;
}

describe('mmsim tour', () => {
  const r = mmsim('tour');
  const parts = sections(r.stdout);
  const part = (start: string) => {
    const s = parts.find((p) => p.title.startsWith(start));
    expect(s, `a section titled "${start}..."`).toBeDefined();
    return s!.lines;
  };

  it('is what npm start runs, and exits 0 with nothing on stderr', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['start']).toMatch(/node dist\/cli\/main\.js tour$/);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')[0]).toMatch(/^mmsim tour: .*three kinds of mapping \(x86_64, 4 KiB pages\)/);
  });

  it('shared file mapping: write() caches the page, a read fault maps that frame read-only, a store dirties it in place, msync writes it back', () => {
    const cached = Number(only(part('Create a file'), /^alloc frame (\d+) for pagecache$/)[1]);
    expect(only(part('Create a file'), /write\(3, \.\.\.\) = (\d+)$/)[1]).toBe(String('hello, page cache'.length));

    const mapped = part('mmap(MAP_SHARED)');
    const at = only(mapped, /^mmap\(NULL, 4096, PROT_READ\|PROT_WRITE, MAP_SHARED, 3, 0\) = (0x[0-9a-f]+)$/)[1]!;
    expect(mapped).toContain(`new VMA ${at}-0x${(BigInt(at) + 4096n).toString(16)}`);
    expect(mapped.some((l) => l.startsWith('PTE') || l.startsWith('page fault'))).toBe(false);

    const load = part('Load through the shared mapping');
    expect(load[0]).toBe(`load8(${at}) = 0x${'h'.charCodeAt(0).toString(16)}`);
    expect(load).toContain(`page fault at ${at} (read)`);
    const pte = only(load, /^PTE (0x[0-9a-f]+) -> frame (\d+) \[(.*)\]$/);
    expect([pte[1], Number(pte[2])]).toEqual([at, cached]);
    expect(pte[3]!.split(' ')).not.toContain('write');
    expect(load).toContain('do_read_fault: mapped by fault-around');
    expect(load.at(-1)).toBe('fault ok (minor)');

    const store = part('Store through it');
    expect(store).toContain(`page fault at ${at} (write)`);
    expect(only(store, /^do_wp_page: (.*)$/)[1]).toContain('page_mkwrite');
    expect(store).toContain(`reuse frame ${cached} in place`);
    expect(only(store, new RegExp(`^PTE ${at} now \\[(.*)\\]$`))[1]!.split(' ')).toEqual(expect.arrayContaining(['write', 'dirty']));

    const sync = part('msync(MS_SYNC)');
    expect(sync[0]).toBe(`msync(${at}, 4096, MS_SYNC) = 0`);
    const ino = only(sync, /^page_mkclean inode (\d+) page 0: 1 PTEs write-protected$/)[1];
    const order = [`page_mkclean inode ${ino} page 0: 1 PTEs write-protected`, `writeback inode ${ino} page 0`, `disk write: inode ${ino} pages 0..0`];
    const at3 = order.map((l) => sync.indexOf(l));
    expect(at3[0], sync.join('\n')).toBeGreaterThan(0);
    expect(at3[1]).toBeGreaterThan(at3[0]!);
    expect(at3[2]).toBeGreaterThan(at3[1]!);
  });

  it('private file mapping: a store copies the page-cache page into a new frame (do_cow_fault) and read() still sees the file', () => {
    const cached = Number(only(part('Create a file'), /^alloc frame (\d+) for pagecache$/)[1]);
    const at = only(part('mmap(MAP_PRIVATE)'), /^mmap\(NULL, 4096, PROT_READ\|PROT_WRITE, MAP_PRIVATE, 3, 0\) = (0x[0-9a-f]+)$/)[1]!;
    const cow = part('Store through the private mapping');
    // The shared mapping stored 'H' over 'h'; the private store of 'J' stays private.
    expect(cow[0]).toBe(`store8(${at}, 0x4a); read() still sees "H"`);
    expect(cow).toContain(`page fault at ${at} (write)`);
    expect(cow).toContain(`do_cow_fault: copy of the page-cache page`);
    const copy = Number(only(cow, /^alloc frame (\d+) for cow$/)[1]);
    expect(copy).not.toBe(cached);
    expect(cow).toContain(`copy-on-write: frame ${cached} -> frame ${copy}`);
    const pte = only(cow, /^PTE (0x[0-9a-f]+) -> frame (\d+) \[(.*)\]$/);
    expect([pte[1], Number(pte[2])]).toEqual([at, copy]);
    expect(pte[3]!.split(' ')).toEqual(expect.arrayContaining(['write', 'dirty']));
  });

  it('anonymous mapping: a read maps the zero page read-only, the first write a fresh zero-filled frame', () => {
    const zero = part('Anonymous memory');
    const at = only(zero, /^mmap\(NULL, 8192, PROT_READ\|PROT_WRITE, MAP_PRIVATE\|MAP_ANONYMOUS, -1, 0\) = (0x[0-9a-f]+); load64 = 0$/)[1]!;
    expect(zero).toContain('do_anonymous_page: zero page');
    expect(zero.some((l) => l.startsWith('alloc frame'))).toBe(false);
    const zpte = only(zero, /^PTE (0x[0-9a-f]+) -> frame (\d+) \[(.*)\]$/);
    expect([zpte[1], zpte[2]]).toEqual([at, '0']);
    expect(zpte[3]!.split(' ')).toContain('special');
    expect(zpte[3]!.split(' ')).not.toContain('write');

    const earlier = parts.flatMap((p) => p.lines).map((l) => l.match(/^(?:alloc frame|new \w+ table in frame) (\d+)/)?.[1]).filter((x) => x !== undefined);
    const write = part('...and the first write');
    const fresh = only(write, /^alloc frame (\d+) for cow$/)[1]!;
    expect(earlier.filter((f) => f === fresh), 'the frame is allocated once in the whole tour').toHaveLength(1);
    expect(write).toContain(`copy-on-write: frame 0 -> frame ${fresh} (zero page: zero-fill)`);
    const pte = only(write, /^PTE (0x[0-9a-f]+) -> frame (\d+) \[(.*)\]$/);
    expect([pte[1], pte[2]]).toEqual([at, fresh]);
    expect(pte[3]!.split(' ')).toEqual(expect.arrayContaining(['write', 'dirty']));
    expect(pte[3]!.split(' ')).not.toContain('special');
    // The old zero-page translation is flushed before the new PTE is used.
    expect(write.findIndex((l) => l.startsWith('TLB flush page'))).toBeLessThan(write.findIndex((l) => l.startsWith('PTE ')));

    const gone = part('Unmap the anonymous memory');
    // zap_pte_range() and the mmu_gather: PTE cleared, TLB flushed, and only then the frame freed.
    const cleared = gone.indexOf(`PTE ${at} cleared (frame ${fresh})`);
    expect(cleared).toBeGreaterThan(0);
    expect(gone[cleared + 1]).toMatch(/^TLB flush range /);
    expect(gone[cleared + 2]).toBe(`free frame ${fresh}`);
    expect(gone).toContain(`signal SIGSEGV (SEGV_MAPERR) at ${at}`);
  });

  it("ends with maps that hold the two file mappings and not the unmapped anonymous one, and the fault counts the steps show", () => {
    const maps = r.stdout.split(/\n== \/proc\/\d+\/maps now\n/)[1]!.split('\n\n')[0]!.split('\n');
    expect(maps.filter((l) => l.endsWith(' /tmp/data.bin')).map((l) => l.split(' ')[1])).toEqual(['rw-p', 'rw-s']);
    const anon = only(part('Anonymous memory'), /= (0x[0-9a-f]+); load64/)[1]!.slice(2);
    expect(maps.some((l) => l.startsWith(anon))).toBe(false);
    const minor = parts.flatMap((p) => p.lines).filter((l) => l === 'fault ok (minor)').length;
    const major = parts.flatMap((p) => p.lines).filter((l) => l === 'fault ok (major)').length;
    expect(minor).toBe(5);
    expect(r.stdout).toContain(`\nFaults: ${minor} minor, ${major} major.`);
  });
});

describe('mmsim --help', () => {
  // Every command main.ts dispatches (its `case '...':` labels, help aliases aside).
  const source = readFileSync(join(root, 'src', 'cli', 'main.ts'), 'utf8');
  const commands = [...source.matchAll(/case '([a-z-]+)':/g)].map((m) => m[1]!).filter((c) => !c.startsWith('-'));

  it('lists every command the CLI dispatches, each on its own line of the Commands section', () => {
    expect(commands).toEqual(expect.arrayContaining(['tour', 'run', 'diff', 'replay', 'explore', 'fuzz', 'bench', 'help']));
    const r = mmsim('--help');
    expect(r.status).toBe(0);
    const listed = r.stdout.split('\nCommands:\n')[1]!.split('\n\n')[0]!.split('\n')
      .map((l) => l.match(/^ {2}([a-z-]+)\b/)?.[1]).filter((c) => c !== undefined);
    expect([...listed].sort()).toEqual([...commands].sort());
  });

  it('is also what -h, help and no command print; an unknown command prints it on stderr with status 2', () => {
    const help = mmsim('--help').stdout;
    expect(help).toMatch(/^mmsim: /);
    for (const args of [['-h'], ['help'], []]) {
      const r = mmsim(...args);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(help);
    }
    const bad = mmsim('tuor');
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toBe(`mmsim: unknown command 'tuor'\n\n${help}`);
  });
});

describe('mmsim tour | head', () => {
  it('ends quietly when the reader goes away after the first line: exit 0, no EPIPE stack trace', () => {
    // The tour writes all its lines in one tick, far more than head reads, so the later writes meet a closed pipe.
    const dir = mkdtempSync(join(tmpdir(), 'mmsim-tour-'));
    const err = join(dir, 'err');
    const st = join(dir, 'status');
    const r = spawnSync('sh', ['-c', `("${process.execPath}" "${main}" tour 2>"${err}"; echo $? >"${st}") | head -1`], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l !== '')).toEqual([expect.stringMatching(/^mmsim tour: /)]);
    expect(readFileSync(err, 'utf8')).toBe('');
    expect(readFileSync(st, 'utf8').trim()).toBe('0');
    rmSync(dir, { recursive: true });
  });
});
