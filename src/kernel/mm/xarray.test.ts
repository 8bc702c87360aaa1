/**
 * The page cache's XArray against a Map and a sorted key list: random
 * stores, erases and loads (runs of neighbours and far indexes, so the
 * last-node cache and the freeing of empty nodes are exercised), then the
 * iteration order, which must be index order as xa_for_each() gives.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { XArray } from './xarray.js';

describe('XArray', () => {
  it('loads what was stored, forgets what was erased, and counts entries', () => {
    const xa = new XArray();
    expect(xa.get(0)).toBeUndefined();
    xa.set(0, 7).set(511, 8).set(512, 9).set(2 ** 40, 10);
    expect([xa.get(0), xa.get(511), xa.get(512), xa.get(2 ** 40), xa.get(1)]).toEqual([7, 8, 9, 10, undefined]);
    expect(xa.size).toBe(4);
    xa.set(0, 0);
    expect(xa.get(0)).toBe(0);
    expect(xa.size).toBe(4);
    expect(xa.delete(511)).toBe(true);
    expect(xa.delete(511)).toBe(false);
    expect(xa.has(511)).toBe(false);
    expect([...xa]).toEqual([[0, 0], [512, 9], [2 ** 40, 10]]);
    expect([...xa.keys()]).toEqual([0, 512, 2 ** 40]);
  });

  it('refuses to store something that is not a frame number', () => {
    expect(() => new XArray().set(1, -1)).toThrow(/BUG/);
  });

  it('agrees with a Map over random operations, and iterates in index order', () => {
    const index = fc.oneof(fc.integer({ min: 0, max: 2047 }), fc.integer({ min: 0, max: 2 ** 42 }));
    const op = fc.oneof(
      fc.tuple(fc.constant('set' as const), index, fc.integer({ min: 0, max: 2 ** 31 - 1 })),
      fc.tuple(fc.constant('delete' as const), index, fc.constant(0)),
      fc.tuple(fc.constant('get' as const), index, fc.constant(0)),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const xa = new XArray();
        const ref = new Map<number, number>();
        for (const [kind, i, v] of ops) {
          if (kind === 'set') {
            xa.set(i, v);
            ref.set(i, v);
          } else if (kind === 'delete') {
            expect(xa.delete(i)).toBe(ref.delete(i));
          } else {
            expect(xa.get(i)).toBe(ref.get(i));
          }
          expect(xa.size).toBe(ref.size);
        }
        expect([...xa]).toEqual([...ref].sort((a, b) => a[0] - b[0]));
      }),
      { seed: 6, numRuns: 300 },
    );
  });
});
