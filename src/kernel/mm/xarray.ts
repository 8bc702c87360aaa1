/**
 * The page cache's index (lib/xarray.c, the i_pages of an address_space):
 * page index -> frame, held in nodes of 512 slots as the xarray holds its
 * entries in nodes of 64, so neighbouring pages share a node and a run of
 * lookups (fault-around, readahead, writeback) stays in one small array
 * instead of probing a hash table per page. Iteration is in index order, as
 * xa_for_each() visits entries.
 *
 * Deviation: one level of nodes under a hash of node numbers, not a radix
 * tree of 64-slot nodes; no marks (the page flags carry dirty and writeback).
 */
const NODE = 512;
const EMPTY = -1;

export class XArray {
  /** Node number (index / 512) -> 512 slots (EMPTY or a frame), plus a count of used slots in slot 512. */
  private readonly nodes = new Map<number, Int32Array>();
  private count = 0;
  /** The node the last lookup found: runs of neighbouring indexes skip the hash. */
  private lastKey = -1;
  private lastNode: Int32Array | undefined = undefined;

  /** Entries present (xa's nrpages). */
  get size(): number {
    return this.count;
  }

  private node(key: number): Int32Array | undefined {
    if (key === this.lastKey) return this.lastNode;
    const n = this.nodes.get(key);
    if (n !== undefined) {
      this.lastKey = key;
      this.lastNode = n;
    }
    return n;
  }

  /** xa_load() */
  get(index: number): number | undefined {
    const key = Math.floor(index / NODE);
    const n = this.node(key);
    if (n === undefined) return undefined;
    const v = n[index - key * NODE]!;
    return v === EMPTY ? undefined : v;
  }

  has(index: number): boolean {
    return this.get(index) !== undefined;
  }

  /** xa_store() of a frame number (>= 0). */
  set(index: number, pfn: number): this {
    if (!(pfn >= 0)) throw new Error(`BUG: xarray stores frames, not ${pfn}`);
    const key = Math.floor(index / NODE);
    let n = this.node(key);
    if (n === undefined) {
      n = new Int32Array(NODE + 1).fill(EMPTY);
      n[NODE] = 0;
      this.nodes.set(key, n);
      this.lastKey = key;
      this.lastNode = n;
    }
    const slot = index - key * NODE;
    if (n[slot] === EMPTY) {
      n[NODE]!++;
      this.count++;
    }
    n[slot] = pfn;
    return this;
  }

  /** xa_erase(): true when there was an entry. */
  delete(index: number): boolean {
    const key = Math.floor(index / NODE);
    const n = this.node(key);
    if (n === undefined) return false;
    const slot = index - key * NODE;
    if (n[slot] === EMPTY) return false;
    n[slot] = EMPTY;
    this.count--;
    if (--n[NODE]! === 0) {
      this.nodes.delete(key);
      if (this.lastKey === key) {
        this.lastKey = -1;
        this.lastNode = undefined;
      }
    }
    return true;
  }

  /** xa_for_each(): [index, frame] pairs in index order. */
  *[Symbol.iterator](): IterableIterator<[number, number]> {
    const keys = [...this.nodes.keys()].sort((a, b) => a - b);
    for (const key of keys) {
      const n = this.nodes.get(key);
      if (n === undefined) continue;
      for (let i = 0; i < NODE; i++) {
        const v = n[i]!;
        if (v !== EMPTY) yield [key * NODE + i, v];
      }
    }
  }

  keys(): IterableIterator<number> {
    const it = this[Symbol.iterator]();
    return (function* () {
      for (const [index] of it) yield index;
    })();
  }
}
