/**
 * The VMA tree against a sorted array: random inserts, removals and range
 * changes, with validate() (heights, gap aggregates, parent and list links)
 * after each step and every query compared with a linear scan, so the lookup
 * cache and the early-stopping rebalance are checked too.
 */
import { describe, expect, it } from 'vitest';
import { Vma, VmaTree } from './vma.js';

const PG = 4096;

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function sorted(t: VmaTree): Vma[] {
  return [...t];
}

function refFind(vs: Vma[], addr: number): Vma | null {
  return vs.find((v) => v.end > addr) ?? null;
}

function refPrev(vs: Vma[], addr: number): Vma | null {
  let best: Vma | null = null;
  for (const v of vs) if (v.start < addr) best = v;
  return best;
}

function refHighestGap(vs: Vma[], low: number, high: number, length: number): number {
  let best = -1;
  let prevEnd = 0;
  const gaps: [number, number][] = vs.map((v) => {
    const g: [number, number] = [prevEnd, v.start];
    prevEnd = v.end;
    return g;
  });
  gaps.push([prevEnd, Infinity]);
  for (const [lo0, hi0] of gaps) {
    const lo = Math.max(lo0, low);
    const hi = Math.min(hi0, high);
    if (hi - lo >= length && hi > best) best = hi;
  }
  return best;
}

describe('VmaTree', () => {
  for (const seed of [1, 2, 3]) {
    it(`agrees with a sorted array over 2,000 random operations (seed ${seed})`, () => {
      const r = rng(seed);
      const t = new VmaTree();
      const slots = 400;
      const pageAt = (): number => Math.floor(r() * slots) * PG;
      for (let step = 0; step < 2000; step++) {
        const vs = sorted(t);
        const op = r();
        if (op < 0.45 || vs.length === 0) {
          const start = pageAt();
          const end = start + (1 + Math.floor(r() * 4)) * PG;
          if (refFind(vs, start) === null || refFind(vs, start)!.start >= end) t.insert(new Vma(start, end, 0, start / PG, null, null));
        } else if (op < 0.75) {
          t.remove(vs[Math.floor(r() * vs.length)]!);
        } else {
          // Grow or shrink one VMA at either end, within its neighbours.
          const i = Math.floor(r() * vs.length);
          const v = vs[i]!;
          const lo = i === 0 ? 0 : vs[i - 1]!.end;
          const hi = i === vs.length - 1 ? slots * PG + 8 * PG : vs[i + 1]!.start;
          const start = r() < 0.5 ? lo + Math.floor(r() * ((v.start - lo) / PG + 1)) * PG : v.start;
          const end = Math.max(start + PG, v.end - Math.floor(r() * 2) * PG + Math.floor(r() * ((hi - v.end) / PG + 1)) * PG);
          if (end <= hi) t.adjust(v, start, end);
        }
        t.validate();
        const now = sorted(t);
        for (let q = 0; q < 8; q++) {
          const a = Math.floor(r() * (slots + 8)) * PG + (r() < 0.5 ? 0 : PG - 1);
          expect(t.find(a)).toBe(refFind(now, a));
          expect(t.findPrev(a)).toBe(refPrev(now, a));
          expect(t.lookup(a)).toBe(now.find((v) => v.start <= a && a < v.end) ?? null);
          const low = Math.floor(r() * slots) * PG;
          const high = low + Math.floor(r() * slots) * PG;
          const len = (1 + Math.floor(r() * 6)) * PG;
          expect(t.highestGap(low, high, len)).toBe(refHighestGap(now, low, high, len));
        }
        expect(t.count).toBe(now.length);
      }
    });
  }

  it('refuses an overlapping insert and a VMA it does not hold', () => {
    const t = new VmaTree();
    const a = new Vma(PG, 3 * PG, 0, 1, null, null);
    t.insert(a);
    expect(() => t.insert(new Vma(2 * PG, 4 * PG, 0, 2, null, null))).toThrow(/overlapping/);
    expect(() => t.remove(new Vma(8 * PG, 9 * PG, 0, 8, null, null))).toThrow(/not in the tree/);
    t.remove(a);
    expect(t.find(0)).toBe(null);
    t.validate();
  });
});
