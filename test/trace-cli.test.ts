// `mmsim run --trace` through the built command line: what a file read fault
// shows. A minor fault served by fault-around names the page-cache page it
// maps (as examples/page-cache.strace promises), a major one the miss, the
// disk read and the readahead.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const main = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'mmsim-trace-'));

function traceRun(lines: string[]): { status: number | null; steps: Map<string, string[]>; stdout: string } {
  const f = join(dir, `s${Math.random().toString(36).slice(2)}.strace`);
  writeFileSync(f, lines.join('\n') + '\n');
  const r = spawnSync(process.execPath, [main, 'run', '--trace', f], { encoding: 'utf8', timeout: 60_000 });
  // Each step line, with the trace lines ("     | ...") under it.
  const steps = new Map<string, string[]>();
  let current: string[] = [];
  for (const l of r.stdout.split('\n')) {
    if (l.startsWith('     |')) current.push(l.slice(7));
    else if (!l.startsWith('   #') && l !== '') steps.set(l.split(' = ')[0]!.trim(), (current = []));
  }
  return { status: r.status, steps, stdout: r.stdout };
}

describe('mmsim run --trace: file read faults', () => {
  it('a minor fault mapped by fault-around names the page-cache page, its frame and the PTE', () => {
    const r = traceRun([
      'fd = openat(AT_FDCWD, "/tmp/warm.txt", O_RDWR|O_CREAT|O_TRUNC, 0644) = 3',
      'write(fd, "warm page", 9) = 9',
      'a = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) = 0x7ffff7ff6000',
      'load(a, 4) = "warm"',
    ]);
    expect(r.status, r.stdout).toBe(0);
    const trace = r.steps.get('load(a, 4)')!;
    const hit = trace.map((l) => /^page cache hit: inode (\d+) page 0 in frame (\d+)$/.exec(l)).find((m) => m !== null);
    expect(hit, trace.join('\n')).toBeDefined();
    const frame = hit![2];
    const pte = trace.find((l) => l.startsWith('PTE 0x7ffff7ff6000 -> '));
    expect(pte).toBe(`PTE 0x7ffff7ff6000 -> frame ${frame} [present user accessed nx]`);
    expect(trace.indexOf(pte!)).toBeGreaterThan(trace.findIndex((l) => l.startsWith('page cache hit')));
    expect(trace).toContain('do_read_fault: mapped by fault-around');
    expect(trace).toContain('fault ok (minor)');
    expect(trace.some((l) => l.startsWith('page cache miss') || l.startsWith('disk read'))).toBe(false);
  });

  it('a major fault shows the page-cache miss, the disk read and the readahead, and no hit', () => {
    const r = traceRun([
      'g = openat(AT_FDCWD, "/tmp/cold.bin", O_RDWR|O_CREAT|O_TRUNC, 0644) = 3',
      'pwrite64(g, "cold", 4, 0) = 4',
      'fsync(g) = 0',
      'fadvise64(g, 0, 0, POSIX_FADV_DONTNEED) = 0',
      'c = mmap(NULL, 4096, PROT_READ, MAP_SHARED, g, 0) = 0x7ffff7ff6000',
      'load(c, 4) = "cold"',
    ]);
    expect(r.status, r.stdout).toBe(0);
    const trace = r.steps.get('load(c, 4)')!;
    const miss = trace.findIndex((l) => /^page cache miss: inode \d+ page 0$/.test(l));
    const disk = trace.findIndex((l) => /^disk read: inode \d+ pages 0\.\.0$/.test(l));
    const ra = trace.findIndex((l) => /^readahead inode \d+ pages 0\.\.\d+$/.test(l));
    expect([miss, disk, ra].every((i) => i >= 0), trace.join('\n')).toBe(true);
    expect(miss).toBeLessThan(disk);
    const frame = /alloc frame (\d+) for pagecache/.exec(trace.join('\n'))?.[1];
    expect(trace).toContain(`PTE 0x7ffff7ff6000 -> frame ${frame} [present user accessed nx]`);
    expect(trace.some((l) => l.startsWith('page cache hit'))).toBe(false);
    expect(trace).toContain('fault ok (major)');
  });

  it('examples/page-cache.strace shows the page cache hit it promises', () => {
    const r = spawnSync(process.execPath, [main, 'run', '--trace', join(import.meta.dirname, '..', 'examples', 'page-cache.strace')], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\| page cache hit: inode \d+ page 0 in frame \d+\n/);
  });
});
