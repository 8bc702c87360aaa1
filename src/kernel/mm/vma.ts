/**
 * struct vm_area_struct and the per-mm ordered set of VMAs.
 *
 * Linux keeps VMAs in a maple tree that also tracks the largest free gap
 * below each node so get_unmapped_area() can find room in O(log n)
 * (mm/mmap.c:unmapped_area_topdown(), lib/maple_tree.c:mas_empty_area_rev()).
 * The model uses an AVL tree keyed by vm_start, augmented the same way with
 * the largest gap in each subtree, parent links so that a change is rebalanced
 * upwards from where it happened, plus prev/next links for O(1) neighbours
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
   * shows the file. Only /proc and mremap()'s vma_multi_allowed() read it.
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
  parent: Vma | null = null;
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

/** Recompute a node's height and largest gap from its children. */
function update(n: Vma): void {
  const l = n.left;
  const r = n.right;
  const hl = l === null ? 0 : l.height;
  const hr = r === null ? 0 : r.height;
  n.height = 1 + (hl > hr ? hl : hr);
  let m = n.gap;
  if (l !== null && l.maxGap > m) m = l.maxGap;
  if (r !== null && r.maxGap > m) m = r.maxGap;
  n.maxGap = m;
}

function rotateRight(n: Vma): Vma {
  const l = n.left!;
  n.left = l.right;
  if (l.right !== null) l.right.parent = n;
  l.right = n;
  l.parent = n.parent;
  n.parent = l;
  update(n);
  update(l);
  return l;
}

function rotateLeft(n: Vma): Vma {
  const r = n.right!;
  n.right = r.left;
  if (r.left !== null) r.left.parent = n;
  r.left = n;
  r.parent = n.parent;
  n.parent = r;
  update(n);
  update(r);
  return r;
}

/** Restore the AVL balance at n (its children balanced, heights within 2); the subtree's new root. */
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
  /**
   * The VMA the last lookup found (the kernel's former per-thread vmacache,
   * mm/vmacache.c): tried in O(1) before walking the tree. Only remove()
   * takes a VMA out, and it forgets it.
   */
  private cache: Vma | null = null;

  /** find_vma(): the first VMA whose end is above addr. */
  find(addr: number): Vma | null {
    const c = this.cache;
    if (c !== null && addr < c.end && (c.prev === null || c.prev.end <= addr)) return c;
    let n = this.root;
    let best: Vma | null = null;
    while (n !== null) {
      if (n.end > addr) {
        best = n;
        if (n.start <= addr) break;
        n = n.left;
      } else {
        n = n.right;
      }
    }
    if (best !== null) this.cache = best;
    return best;
  }

  /** vma_lookup(): the VMA containing addr, or null. */
  lookup(addr: number): Vma | null {
    const c = this.cache;
    if (c !== null && c.start <= addr && addr < c.end) return c;
    let n = this.root;
    while (n !== null) {
      if (addr < n.start) n = n.left;
      else if (addr >= n.end) n = n.right;
      else {
        this.cache = n;
        return n;
      }
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
    const c = this.cache;
    if (c !== null) {
      if (c.start >= addr && (c.prev === null || c.prev.start < addr)) return c.prev;
      if (c.start < addr && (c.next === null || c.next.start >= addr)) return c;
    }
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
    // In-order neighbours: either prev has no right child, or next (the leftmost
    // node of prev's right subtree, or the first VMA) has no left child. The new
    // leaf goes there, below both, so the walk back up passes next and refreshes
    // its new gap too.
    let parent: Vma | null;
    if (prev !== null && prev.right === null) {
      parent = prev;
      prev.right = vma;
    } else if (next !== null) {
      parent = next;
      next.left = vma;
    } else {
      parent = null;
      this.root = vma;
    }
    vma.parent = parent;
    if (next !== null) next.gap = next.start - vma.end;
    this.retrace(parent, next);
    this.count++;
    this.totalSize += vma.end - vma.start;
    this.cache = vma;
  }

  /** Remove a VMA from the tree and list. */
  remove(vma: Vma): void {
    if (!this.holds(vma)) throw new Error(`BUG: removing a VMA not in the tree at ${vma.start.toString(16)}`);
    const prev = vma.prev;
    const next = vma.next;
    if (prev !== null) prev.next = next;
    else this.first = next;
    if (next !== null) {
      next.prev = prev;
      next.gap = next.start - (prev === null ? 0 : prev.end);
    } else {
      this.last = prev;
    }
    const parent = vma.parent;
    const l = vma.left;
    const r = vma.right;
    // The walk back up starts where the tree changed and must pass next, whose
    // gap grew. A node moved into vma's place takes vma's height and largest
    // gap: the values its new parent last saw, for the walk to compare with.
    let from: Vma | null;
    if (l === null || r === null) {
      const c = l === null ? r : l;
      this.replaceChild(parent, vma, c);
      from = parent;
      if (c !== null) {
        c.parent = parent;
        if (c === next) {
          // A lone right child is a leaf, and next itself; otherwise next is above vma.
          c.height = vma.height;
          c.maxGap = vma.maxGap;
          from = c;
        }
      }
    } else {
      // Replace with the in-order successor, which is next.
      let s = r;
      while (s.left !== null) s = s.left;
      from = s;
      if (s !== r) {
        from = s.parent!;
        from.left = s.right;
        if (s.right !== null) s.right.parent = from;
        s.right = r;
        r.parent = s;
      }
      s.left = l;
      l.parent = s;
      this.replaceChild(parent, vma, s);
      s.parent = parent;
      s.height = vma.height;
      s.maxGap = vma.maxGap;
    }
    this.retrace(from, next);
    if (this.cache === vma) this.cache = null;
    vma.prev = vma.next = vma.left = vma.right = vma.parent = null;
    this.count--;
    this.totalSize -= vma.end - vma.start;
  }

  /** Is vma this tree's node (its parent links lead to the root)? */
  private holds(vma: Vma): boolean {
    let n = vma;
    while (n.parent !== null) n = n.parent;
    return n === this.root;
  }

  private replaceChild(parent: Vma | null, old: Vma, child: Vma | null): void {
    if (parent === null) this.root = child;
    else if (parent.left === old) parent.left = child;
    else parent.right = child;
  }

  /**
   * Rebalance and refresh heights and gap aggregates from n up to the root,
   * stopping at the first subtree whose height and largest gap come out as
   * before (its ancestors computed theirs from those values), but not before
   * passing `mustPass`, a node on the way whose own values are stale.
   */
  private retrace(n: Vma | null, mustPass: Vma | null): void {
    while (n !== null) {
      const height = n.height;
      const maxGap = n.maxGap;
      const parent = n.parent;
      const top = balance(n);
      if (top !== n) this.replaceChild(parent, n, top);
      if (n === mustPass) mustPass = null;
      if (mustPass === null && top.height === height && top.maxGap === maxGap) return;
      n = parent;
    }
  }

  /**
   * Change a VMA's bounds in place (vma_set_range() under the maple tree write).
   * The caller guarantees the new range still lies between its neighbours.
   */
  adjust(vma: Vma, start: number, end: number): void {
    if (this.onAdjust !== null) this.onAdjust(start, end);
    const prev = vma.prev;
    const next = vma.next;
    if (start !== vma.start) {
      if (start >= end || (prev !== null && prev.end > start) || (next !== null && next.start < end)) {
        // Out of its place: re-insert (which reports an overlap).
        this.remove(vma);
        vma.start = start;
        vma.end = end;
        this.insert(vma);
        return;
      }
      // Still between its neighbours, so still in key order: only the gaps change.
      this.totalSize += vma.start - start;
      vma.start = start;
      this.setGap(vma, start - (prev === null ? 0 : prev.end));
    }
    this.totalSize += end - vma.end;
    vma.end = end;
    if (next !== null) this.setGap(next, next.start - end);
  }

  /** Update one node's gap and the aggregates on its path from the root. */
  private setGap(vma: Vma, gap: number): void {
    if (vma.gap === gap) return;
    vma.gap = gap;
    this.retrace(vma, vma);
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
    if (hi - lo >= length) {
      // n is find_vma(hi), which the caller looks up next.
      this.cache = n;
      return hi;
    }
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
    if (this.root !== null && this.root.parent !== null) throw new Error('BUG: VMA tree root has a parent');
    const check = (t: Vma | null, lo: number, hi: number): number => {
      if (t === null) return 0;
      if (t.start < lo || t.start > hi) throw new Error('BUG: VMA tree out of order');
      if ((t.left !== null && t.left.parent !== t) || (t.right !== null && t.right.parent !== t)) throw new Error('BUG: VMA tree parent link broken');
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
