/**
 * VMA split and merge (mm/vma.c: __split_vma(), vma_merge_new_range(),
 * vma_merge_existing_range() behind vma_modify()), drawn as text the way the
 * kernel's tools/testing/vma tests draw them: one column per page of a
 * 12-page window at 0x10000000, one letter per VMA, a space for a hole; then
 * each VMA's permissions, then the call's errno if it failed.
 *
 * Every expected layout was produced on Linux 6.18 (x86_64) by a C program
 * doing the same calls and drawing /proc/self/maps the same way.
 */
import { describe, expect, it } from 'vitest';
import type { Machine } from '../machine.js';
import { type SysResult } from '../machine.js';
import { ANON, RW, makeFile, ok, setup } from '../../../test/model-helpers.js';
import { AT_FDCWD, MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, O_RDONLY, PROT_EXEC, PROT_READ } from '../uapi.js';

const W = 0x10000000n;
const PG = 4096n;
const NP = 12;
const R = PROT_READ;

class Window {
  readonly m: Machine;
  readonly pid: number;
  readonly fd: number;
  constructor() {
    const s = setup();
    this.m = s.m;
    this.pid = s.pid;
    this.fd = makeFile(this.m, this.pid, '/tmp/vf', new Uint8Array(16 * 4096));
  }
  p(page: number): bigint {
    return W + BigInt(page) * PG;
  }
  map(a: number, b: number, prot: number, flags: number, fd = -1, offPages = 0): void {
    ok(this.m.mmap(this.pid, this.p(a), BigInt(b - a) * PG, prot, flags | MAP_FIXED, fd, BigInt(offPages) * PG));
  }
  anon(a: number, b: number, prot: number): void {
    this.map(a, b, prot, ANON);
  }
  mprotect(a: number, b: number, prot: number): SysResult {
    return this.m.mprotect(this.pid, this.p(a), BigInt(b - a) * PG, prot);
  }
  munmap(a: number, b: number): void {
    ok(this.m.munmap(this.pid, this.p(a), BigInt(b - a) * PG));
  }
  touch(page: number): void {
    expect(this.m.store(this.pid, this.p(page), 1, 1n).ok).toBe(true);
  }
  /** The window as `AA B  CC|A rw-p B r--p C rw-p[|ERRNO]`. */
  draw(res?: SysResult): string {
    const lay = new Array<string>(NP).fill(' ');
    const perms: string[] = [];
    for (const line of this.m.maps(this.pid)!.split('\n')) {
      const mm = /^([0-9a-f]+)-([0-9a-f]+) (....) /.exec(line);
      if (mm === null) continue;
      const s = BigInt('0x' + mm[1]);
      const e = BigInt('0x' + mm[2]);
      let used = false;
      for (let i = 0; i < NP; i++) {
        const a = this.p(i);
        if (a >= s && a < e) {
          lay[i] = String.fromCharCode(65 + perms.length);
          used = true;
        }
      }
      if (used) perms.push(`${String.fromCharCode(65 + perms.length)} ${mm[3]}`);
    }
    let out = lay.join('').trimEnd() + '|' + perms.join(' ');
    if (res !== undefined && !res.ok) out += '|' + res.errno;
    return out;
  }
}

type Scenario = [name: string, expected: string, run: (w: Window) => SysResult | undefined];

const SCENARIOS: Scenario[] = [
  ['fill-hole-same', 'AAAAA|A rw-p', (w) => { w.anon(0, 2, RW); w.anon(3, 5, RW); w.anon(2, 3, RW); return undefined; }],
  ['fill-hole-other', 'AABCC|A rw-p B r--p C rw-p', (w) => { w.anon(0, 2, RW); w.anon(3, 5, RW); w.anon(2, 3, R); return undefined; }],
  ['mprotect-middle', 'AABBCC|A rw-p B r--p C rw-p', (w) => { w.anon(0, 6, RW); return w.mprotect(2, 4, R); }],
  ['mprotect-middle-back', 'AAAAAA|A rw-p', (w) => { w.anon(0, 6, RW); w.mprotect(2, 4, R); return w.mprotect(2, 4, RW); }],
  ['mprotect-prev-expands', 'AAABB|A r--p B rw-p', (w) => { w.anon(0, 2, R); w.anon(2, 5, RW); return w.mprotect(2, 3, R); }],
  ['mprotect-next-expands', 'AABBB|A rw-p B r--p', (w) => { w.anon(0, 3, RW); w.anon(3, 5, R); return w.mprotect(2, 3, R); }],
  ['munmap-middle', 'AA  BB|A rw-p B rw-p', (w) => { w.anon(0, 6, RW); w.munmap(2, 4); return undefined; }],
  ['file-contiguous', 'AAAA|A rw-s', (w) => { w.map(0, 2, RW, MAP_SHARED, w.fd, 0); w.map(2, 4, RW, MAP_SHARED, w.fd, 2); return undefined; }],
  ['file-gap', 'AABB|A rw-s B rw-s', (w) => { w.map(0, 2, RW, MAP_SHARED, w.fd, 0); w.map(2, 4, RW, MAP_SHARED, w.fd, 5); return undefined; }],
  ['file-private-contiguous', 'AAAA|A rw-p', (w) => { w.map(0, 2, RW, MAP_PRIVATE, w.fd, 0); w.map(2, 4, RW, MAP_PRIVATE, w.fd, 2); return undefined; }],
  // prev and next have different anon_vmas: the new range merges with prev only.
  ['anon-vma-both-sides', 'AAABB|A rw-p B rw-p', (w) => { w.anon(0, 2, RW); w.touch(0); w.anon(3, 5, RW); w.touch(3); w.anon(2, 3, RW); return undefined; }],
  ['anon-vma-prev', 'AAAA|A rw-p', (w) => { w.anon(0, 2, RW); w.touch(0); w.anon(2, 4, RW); return undefined; }],
  ['anon-vma-next', 'AAAA|A rw-p', (w) => { w.anon(2, 4, RW); w.touch(2); w.anon(0, 2, RW); return undefined; }],
  ['mprotect-merge-both', 'AAAAAA|A rw-p', (w) => { w.anon(0, 2, RW); w.anon(2, 4, R); w.anon(4, 6, RW); return w.mprotect(2, 4, RW); }],
  ['fixed-over-middle-other', 'AABBCC|A rw-p B r--p C rw-p', (w) => { w.anon(0, 6, RW); w.anon(2, 4, R); return undefined; }],
  ['fixed-over-middle-same', 'AAAAAA|A rw-p', (w) => { w.anon(0, 6, RW); w.anon(2, 4, RW); return undefined; }],
  ['fixed-over-middle-same-touched', 'AAAAAA|A rw-p', (w) => { w.anon(0, 6, RW); w.touch(0); w.touch(5); w.anon(2, 4, RW); return undefined; }],
  ['shared-anon-never-merge', 'AABB|A rw-s B rw-s', (w) => { w.map(0, 2, RW, MAP_SHARED | MAP_ANONYMOUS); w.map(2, 4, RW, MAP_SHARED | MAP_ANONYMOUS); return undefined; }],
  ['munmap-across-two', 'AA  BB|A rw-p B r--p', (w) => { w.anon(0, 3, RW); w.anon(3, 6, R); w.munmap(2, 4); return undefined; }],
  ['mprotect-across-two', 'AABBCC|A rw-p B r-xp C r--p', (w) => { w.anon(0, 3, RW); w.anon(3, 6, R); return w.mprotect(2, 4, R | PROT_EXEC); }],
  // The part before the hole keeps its new protection.
  ['mprotect-over-hole', 'AA BB|A r--p B rw-p|ENOMEM', (w) => { w.anon(0, 2, RW); w.anon(3, 5, RW); return w.mprotect(0, 5, R); }],
  // A shared mapping of a read-only descriptor lacks VM_MAYWRITE: the walk stops there.
  ['mprotect-eacces-stops', 'AABBCC|A rw-p B r--s C rw-p|EACCES', (w) => {
    w.anon(0, 2, RW);
    const ro = Number(ok(w.m.openat(w.pid, AT_FDCWD, '/tmp/vf', O_RDONLY)));
    w.map(2, 4, R, MAP_SHARED, ro, 0);
    w.anon(4, 6, RW);
    return w.mprotect(0, 6, RW);
  }],
  ['split-touched-then-merge', 'AAAA|A rw-p', (w) => { w.anon(0, 4, RW); w.touch(0); w.mprotect(2, 4, R); return w.mprotect(2, 4, RW); }],
  ['two-anon-vmas', 'AAAA|A rw-p', (w) => { w.anon(0, 2, RW); w.touch(0); w.anon(2, 4, RW); w.touch(2); return undefined; }],
];

describe('VMA split and merge, drawn over a page ruler (layouts from Linux 6.18)', () => {
  for (const [name, expected, run] of SCENARIOS) {
    it(`${name}: ${expected}`, () => {
      const w = new Window();
      const res = run(w);
      expect(w.draw(res)).toBe(expected);
    });
  }

  it('a split shares the pages: data written before an mprotect split is still there after', () => {
    const w = new Window();
    w.anon(0, 4, RW);
    for (let i = 0; i < 4; i++) ok(w.m.store(w.pid, w.p(i), 8, BigInt(100 + i)) as never);
    ok(w.mprotect(1, 3, R));
    expect(w.draw()).toBe('ABBC|A rw-p B r--p C rw-p');
    for (let i = 0; i < 4; i++) expect(w.m.load(w.pid, w.p(i), 8)).toEqual({ ok: true, value: BigInt(100 + i) });
    ok(w.mprotect(1, 3, RW));
    expect(w.draw()).toBe('AAAA|A rw-p');
    for (let i = 0; i < 4; i++) expect(w.m.load(w.pid, w.p(i), 8)).toEqual({ ok: true, value: BigInt(100 + i) });
  });

  it('a file VMA split keeps each part\'s file offset (maps shows pgoff of the upper part)', () => {
    const w = new Window();
    w.map(0, 4, RW, MAP_SHARED, w.fd, 3);
    ok(w.mprotect(2, 3, R));
    const lines = w.m.maps(w.pid)!.split('\n').filter((l) => l.startsWith('1000'));
    expect(lines.map((l) => l.split(' ').slice(0, 3).join(' '))).toEqual([
      '10000000-10002000 rw-s 00003000',
      '10002000-10003000 r--s 00005000',
      '10003000-10004000 rw-s 00006000',
    ]);
  });
});
