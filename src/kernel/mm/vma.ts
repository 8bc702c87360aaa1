/**
 * struct vm_area_struct and the per-mm ordered set of VMAs.
 *
 * Linux keeps VMAs in a maple tree that also tracks the largest free gap
 * below each node so get_unmapped_area() can find room in O(log n)
 * (mm/mmap.c:unmapped_area_topdown(), lib/maple_tree.c:mas_empty_area_rev()).
 * The model uses an AVL tree keyed by vm_start, augmented the same way with
 * the largest gap in each subtree, plus prev/next links for O(1) neighbours
 * (the kernel's vma_prev()/vma_next()).
 */
import type { AnonVma } from './rmap.js';
import type { File } from '../fs/file.js';
import type { MmStruct } from './mm-struct.js';
import { VM_GROWSDOWN } from './vm-flags.js';

export class Vma {
  start: number;
  end: number;
  flags: number;
  /** vm_pgoff: offset in the file (or the anonymous linear index) of `start`, in pages. */
  pgoff: number;
  file: File | null;
  anonVma: AnonVma | null;
  /** prctl(PR_SET_VMA_ANON_NAME) name, shown as [anon:NAME]. */
  anonName: string | null = null;
  /**
   * vm_file of an anonymous VMA: a MAP_PRIVATE mapping of /dev/zero, which
   * mmap_zero() makes anonymous (vma_set_anonymous()) while /proc still
   * shows the file. Nothing but /proc reads it.
   */
  anonFile: File | null = null;
  /** Set on the special mappings the kernel installs itself ([vdso], [vvar]...): their maps label. */
  specialName: string | null = null;
  /** vm_mm: the address space the VMA belongs to. */
  mm: MmStruct | null = null;

  // --- tree and list links (owned by VmaTree) ---
  prev: Vma | null = null;
  next: Vma | null = null;
  left: Vma | null = null;
  right: Vma | null = null;
  height = 1;
  /** Free space between the previous VMA's end (or 0) and this VMA's start. */
  gap = 0;
  /** Largest `gap` in this subtree. */
  maxGap = 0;

  constructor(start: number, end: number, flags: number, pgoff: number, file: File | null, anonVma: AnonVma | null) {
    this.start = start;
    this.end = end;
    this.flags = flags;
    this.pgoff = pgoff;
    this.file = file;
    this.anonVma = anonVma;
  }

  /** vma_pages() times the page size. */
  get size(): number {
    return this.end - this.start;
  }

  /** vma_is_anonymous(): no vm_ops (private or MAP_SHARED|MAP_ANONYMOUS goes through shmem). */
  get isAnonymous(): boolean {
    return this.file === null;
  }
}

/** vm_start_gap(): a grows-down VMA claims a guard gap below it. */
export function vmStartGap(vma: Vma, stackGuardGap: number): number {
  if ((vma.flags & VM_GROWSDOWN) !== 0) {
    const s = vma.start - stackGuardGap;
    return s > vma.start ? 0 : Math.max(0, s);
  }
  return vma.start;
}

function h(n: Vma | null): number {
  return n === null ? 0 : n.height;
}

function update(n: Vma): void {
  const l = n.left;
  const r = n.right;
  n.height = 1 + Math.max(h(l), h(r));
  let m = n.gap;
  if (l !== null && l.maxGap > m) m = l.maxGap;
  if (r !== null && r.maxGap > m) m = r.maxGap;
  n.maxGap = m;
}

function rotateRight(n: Vma): Vma {
  const l = n.left!;
  n.left = l.right;
  l.right = n;
  update(n);
  update(l);
  return l;
}

function rotateLeft(n: Vma): Vma {
  const r = n.right!;
  n.right = r.left;
  r.left = n;
  update(n);
  update(r);
  return r;
}

function balance(n: Vma): Vma {
  update(n);
  const bf = h(n.left) - h(n.right);
  if (bf > 1) {
    if (h(n.left!.left) < h(n.left!.right)) n.left = rotateLeft(n.left!);
    return rotateRight(n);
  }
  if (bf < -1) {
    if (h(n.right!.right) < h(n.right!.left)) n.right = rotateRight(n.right!);
    return rotateLeft(n);
  }
  return n;
}

export class VmaTree {
  root: Vma | null = null;
  first: Vma | null = null;
  last: Vma | null = null;
  count = 0;
  /** Bytes covered by all VMAs (total_vm in bytes), kept as VMAs come, go and change size. */
  totalSize = 0;
  /** Called with a VMA's new bounds before adjust() moves them (vma_adjust_trans_huge()). */
  onAdjust: ((start: number, end: number) => void) | null = null;

  /** find_vma(): the first VMA whose end is above addr. */
  find(addr: number): Vma | null {
    let n = this.root;
    let best: Vma | null = null;
    while (n !== null) {
      if (n.end > addr) {
        best = n;
        if (n.start <= addr) return n;
        n = n.left;
      } else {
        n = n.right;
      }
    }
    return best;
  }

  /** vma_lookup(): the VMA containing addr, or null. */
  lookup(addr: number): Vma | null {
    let n = this.root;
    while (n !== null) {
      if (addr < n.start) n = n.left;
      else if (addr >= n.end) n = n.right;
      else return n;
    }
    return null;
  }

  /** find_vma_intersection(): the first VMA overlapping [start, end). */
  findIntersection(start: number, end: number): Vma | null {
    const v = this.find(start);
    return v !== null && v.start < end ? v : null;
  }

  /** The last VMA that starts below addr (find_vma_prev()'s prev when addr is unmapped). */
  findPrev(addr: number): Vma | null {
    let n = this.root;
    let best: Vma | null = null;
    while (n !== null) {
      if (n.start < addr) {
        best = n;
        n = n.right;
      } else {
        n = n.left;
      }
    }
    return best;
  }

  /** Insert a VMA that overlaps none present. */
  insert(vma: Vma): void {
    const prev = this.findPrev(vma.start);
    const next = prev === null ? this.first : prev.next;
    if ((prev !== null && prev.end > vma.start) || (next !== null && next.start < vma.end)) {
      throw new Error(`BUG: inserting overlapping VMA ${vma.start.toString(16)}-${vma.end.toString(16)}`);
    }
    vma.prev = prev;
    vma.next = next;
    if (prev !== null) prev.next = vma;
    else this.first = vma;
    if (next !== null) next.prev = vma;
    else this.last = vma;
    vma.left = vma.right = null;
    vma.gap = vma.start - (prev === null ? 0 : prev.end);
    vma.height = 1;
    vma.maxGap = vma.gap;
    this.root = this.insertAt(this.root, vma);
    this.count++;
    this.totalSize += vma.end - vma.start;
    if (next !== null) this.setGap(next, next.start - vma.end);
  }

  private insertAt(n: Vma | null, vma: Vma): Vma {
    if (n === null) return vma;
    if (vma.start < n.start) n.left = this.insertAt(n.left, vma);
    else n.right = this.insertAt(n.right, vma);
    return balance(n);
  }

  /** Remove a VMA from the tree and list. */
  remove(vma: Vma): void {
    this.root = this.removeAt(this.root, vma.start, vma);
    const prev = vma.prev;
    const next = vma.next;
    if (prev !== null) prev.next = next;
    else this.first = next;
    if (next !== null) next.prev = prev;
    else this.last = prev;
    vma.prev = vma.next = vma.left = vma.right = null;
    this.count--;
    this.totalSize -= vma.end - vma.start;
    if (next !== null) this.setGap(next, next.start - (prev === null ? 0 : prev.end));
  }

  private removeAt(n: Vma | null, key: number, vma: Vma): Vma | null {
    if (n === null) throw new Error(`BUG: removing a VMA not in the tree at ${key.toString(16)}`);
    if (key < n.start) n.left = this.removeAt(n.left, key, vma);
    else if (key > n.start) n.right = this.removeAt(n.right, key, vma);
    else {
      if (n !== vma) throw new Error('BUG: VMA tree holds another VMA at that start');
      if (n.left === null) return n.right;
      if (n.right === null) return n.left;
      // Replace with the in-order successor.
      let s = n.right;
      while (s.left !== null) s = s.left;
      s.right = this.removeMin(n.right);
      s.left = n.left;
      return balance(s);
    }
    return balance(n);
  }

  private removeMin(n: Vma): Vma | null {
    if (n.left === null) return n.right;
    n.left = this.removeMin(n.left);
    return balance(n);
  }

  /**
   * Change a VMA's bounds in place (vma_set_range() under the maple tree write).
   * The caller guarantees the new range still lies between its neighbours.
   */
  adjust(vma: Vma, start: number, end: number): void {
    if (this.onAdjust !== null) this.onAdjust(start, end);
    if (start !== vma.start) {
      // The key changes: re-insert to keep the tree ordered.
      this.remove(vma);
      vma.start = start;
      vma.end = end;
      this.insert(vma);
      return;
    }
    this.totalSize += end - vma.end;
    vma.end = end;
    if (vma.next !== null) this.setGap(vma.next, vma.next.start - end);
  }

  /** Update one node's gap and the aggregates on its path from the root. */
  private setGap(vma: Vma, gap: number): void {
    if (vma.gap === gap) return;
    vma.gap = gap;
    this.refreshPath(this.root, vma.start);
  }

  private refreshPath(n: Vma | null, key: number): void {
    if (n === null) return;
    if (key < n.start) this.refreshPath(n.left, key);
    else if (key > n.start) this.refreshPath(n.right, key);
    update(n);
  }

  /**
   * The highest free range [lo, hi) with lo >= low, hi <= high and hi - lo >= length,
   * returned as its clipped end (vma_iter_area_highest()), or -1.
   */
  highestGap(low: number, high: number, length: number): number {
    if (high - low < length) return -1;
    // The space above the last VMA.
    const lastEnd = this.last === null ? 0 : this.last.end;
    if (lastEnd < high) {
      const lo = Math.max(lastEnd, low);
      if (high - lo >= length) return high;
    }
    return this.searchDown(this.root, low, high, length);
  }

  private searchDown(n: Vma | null, low: number, high: number, length: number): number {
    if (n === null || n.maxGap < length) return -1;
    const gapStart = n.start - n.gap;
    if (gapStart >= high) return this.searchDown(n.left, low, high, length);
    const r = this.searchDown(n.right, low, high, length);
    if (r >= 0) return r;
    if (n.start <= low) return -1; // this gap and everything left of it lies below `low`
    const hi = Math.min(n.start, high);
    const lo = Math.max(gapStart, low);
    if (hi - lo >= length) return hi;
    return this.searchDown(n.left, low, high, length);
  }

  /** The lowest free range start >= low with room for length below high (bottom-up search), or -1. */
  lowestGap(low: number, high: number, length: number): number {
    let v = this.find(low);
    let lo = low;
    if (v !== null && v.start <= low) {
      lo = v.end;
      v = v.next;
    }
    while (lo + length <= high) {
      const hi = v === null ? high : Math.min(v.start, high);
      if (hi - lo >= length) return lo;
      if (v === null) return -1;
      lo = v.end;
      v = v.next;
    }
    return -1;
  }

  *[Symbol.iterator](): IterableIterator<Vma> {
    for (let v = this.first; v !== null; v = v.next) yield v;
  }

  /** validate_mm(): recompute the tree's invariants from scratch; throws on a broken one. */
  validate(): void {
    let n = 0;
    let prevEnd = 0;
    let prev: Vma | null = null;
    for (let v = this.first; v !== null; v = v.next) {
      if (v.start >= v.end) throw new Error(`BUG: empty VMA at ${v.start.toString(16)}`);
      if (v.start < prevEnd) throw new Error(`BUG: overlapping VMAs at ${v.start.toString(16)}`);
      if (v.prev !== prev) throw new Error('BUG: VMA prev link broken');
      if (v.gap !== v.start - prevEnd) throw new Error(`BUG: stale gap at ${v.start.toString(16)}`);
      prevEnd = v.end;
      prev = v;
      n++;
    }
    if (this.last !== prev) throw new Error('BUG: VMA last link broken');
    let size = 0;
    for (let v = this.first; v !== null; v = v.next) size += v.end - v.start;
    if (size !== this.totalSize) throw new Error(`BUG: total_vm ${this.totalSize} but VMAs cover ${size}`);
    if (n !== this.count) throw new Error(`BUG: map count ${this.count} but ${n} VMAs`);
    const check = (t: Vma | null, lo: number, hi: number): number => {
      if (t === null) return 0;
      if (t.start < lo || t.start > hi) throw new Error('BUG: VMA tree out of order');
      const hl = check(t.left, lo, t.start);
      const hr = check(t.right, t.start, hi);
      if (Math.abs(hl - hr) > 1 || t.height !== 1 + Math.max(hl, hr)) throw new Error('BUG: VMA tree unbalanced');
      const m = Math.max(t.gap, t.left?.maxGap ?? 0, t.right?.maxGap ?? 0);
      if (t.maxGap !== m) throw new Error('BUG: VMA tree gap aggregate stale');
      return t.height;
    };
    check(this.root, -Infinity, Infinity);
    let inTree = 0;
    const countTree = (t: Vma | null): void => {
      if (t === null) return;
      inTree++;
      countTree(t.left);
      countTree(t.right);
    };
    countTree(this.root);
    if (inTree !== n) throw new Error('BUG: VMA tree and list disagree');
  }
}
