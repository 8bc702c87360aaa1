/**
 * Page tables: a real radix tree per address space, one table per frame,
 * walked level by level as the MMU walks it (include/linux/pgtable.h,
 * mm/memory.c:__pte_alloc(), free_pgtables()).
 *
 * Upper-level tables hold child tables; the leaf (PTE) level holds, per
 * entry, a frame number and the software PTE bits of arch/pte.ts.
 * A huge PMD (a transparent huge page, mm/huge_memory.c) is a leaf table
 * object whose entries are all empty and whose `hugePfn` is set: the object
 * stands for the page table Linux preallocates and deposits with every
 * anonymous huge PMD (pgtable_trans_huge_deposit()), which VmPTE and
 * PageTables count, and which __split_huge_pmd() fills with the 512 PTEs.
 * The tree has the profile's CONFIG_PGTABLE_LEVELS levels: p4d is folded as
 * on x86_64 with 4 levels and arm64 with 48-bit VAs, p4d and pud as on arm64
 * with 16 KiB pages and 47-bit VAs (asm-generic/pgtable-nopud.h).
 * Deviation: no huge PUD leaf entries.
 */
import type { Kernel } from '../kernel.js';
import { PTE_PRESENT, PTE_SPECIAL } from '../arch/pte.js';

export class PageTable {
  readonly level: number;
  readonly pfn: number;
  /** Upper levels: child tables by index. */
  readonly children: (PageTable | undefined)[] | null;
  /** Leaf level: frame per entry. */
  readonly pfns: Int32Array | null;
  /** Leaf level: software PTE bits per entry (0 = pte_none). */
  readonly flags: Uint8Array | null;
  /** Non-empty entries. */
  used = 0;
  /**
   * Leaf level: -1, or this table is a huge PMD leaf (pmd_trans_huge()) mapping
   * the folio whose first frame this is (ZERO_PFN with PTE_SPECIAL: the huge
   * zero page); its entries are then all empty.
   */
  hugePfn = -1;
  /** The huge PMD's software bits (arch/pte.ts), when hugePfn >= 0. */
  hugeFlags = 0;

  constructor(level: number, leaf: boolean, entries: number, pfn: number) {
    this.level = level;
    this.pfn = pfn;
    if (leaf) {
      this.children = null;
      this.pfns = new Int32Array(entries);
      this.flags = new Uint8Array(entries);
    } else {
      this.children = new Array<PageTable | undefined>(entries);
      this.pfns = null;
      this.flags = null;
    }
  }
}

/** Per-level divisors of the virtual page number, top level first. */
export function levelDivisors(levels: number, bitsPerLevel: number): number[] {
  const out: number[] = [];
  for (let l = 0; l < levels; l++) out.push(2 ** (bitsPerLevel * (levels - 1 - l)));
  return out;
}

/** The leaf table covering vpn, or null: a walk with no side effects. */
export function pteLookup(pgd: PageTable, vpn: number, divisors: readonly number[], mask: number): PageTable | null {
  let t: PageTable | undefined = pgd;
  const last = divisors.length - 1;
  for (let l = 0; l < last; l++) {
    t = t.children![Math.floor(vpn / divisors[l]!) & mask];
    if (t === undefined) return null;
  }
  return t;
}

/**
 * The entry the MMU sees for vpn: a PTE's bits, or the huge PMD's bits when a
 * huge PMD maps it; 0 when nothing does. No side effects.
 */
export function pteFlagsAt(root: WalkRoot, vpn: number): number {
  const t = pteLookup(root.pgd, vpn, root.divisors, root.indexMask);
  if (t === null) return 0;
  return t.hugePfn >= 0 ? t.hugeFlags : t.flags![vpn & root.indexMask]!;
}

/** The PMD-level table covering vpn, or null: a walk with no side effects (pmd_offset()). */
export function pmdLookup(pgd: PageTable, vpn: number, divisors: readonly number[], mask: number): PageTable | null {
  let t: PageTable | undefined = pgd;
  const last = divisors.length - 2;
  for (let l = 0; l < last; l++) {
    t = t.children![Math.floor(vpn / divisors[l]!) & mask];
    if (t === undefined) return null;
  }
  return t;
}

/** The index in its PMD-level table of the entry covering vpn. */
export function pmdIndex(vpn: number, divisors: readonly number[], mask: number): number {
  return Math.floor(vpn / divisors[divisors.length - 2]!) & mask;
}

/** __pmd_alloc() and friends: the PMD-level table for vpn, allocating missing upper levels; null when out of memory. */
export function pmdAlloc(k: Kernel, pgd: PageTable, vpn: number, divisors: readonly number[], mask: number, onAlloc: (bytes: number) => void): PageTable | null {
  return allocLevels(k, pgd, vpn, divisors, mask, onAlloc, divisors.length - 2);
}

/** pud_alloc() and the levels above: the PUD-level table for vpn (the pgd where the PUD level is folded); null when out of memory. */
export function pudAlloc(k: Kernel, pgd: PageTable, vpn: number, divisors: readonly number[], mask: number, onAlloc: (bytes: number) => void): PageTable | null {
  return allocLevels(k, pgd, vpn, divisors, mask, onAlloc, Math.max(0, divisors.length - 3));
}

/** __pte_alloc() and friends: the leaf table for vpn, allocating missing levels; null when out of memory. */
export function pteAlloc(k: Kernel, pgd: PageTable, vpn: number, divisors: readonly number[], mask: number, onAlloc: (bytes: number) => void): PageTable | null {
  return allocLevels(k, pgd, vpn, divisors, mask, onAlloc, divisors.length - 1);
}

/** Walk from the top down to table level `depth` for vpn, allocating the tables that are missing. */
function allocLevels(k: Kernel, pgd: PageTable, vpn: number, divisors: readonly number[], mask: number, onAlloc: (bytes: number) => void, depth: number): PageTable | null {
  let t: PageTable | null = pgd;
  for (let l = 0; l < depth && t !== null; l++) t = childAlloc(k, t, Math.floor(vpn / divisors[l]!) & mask, vpn, divisors.length - 1, mask, onAlloc);
  return t;
}

/**
 * The table in slot idx of t, allocated when missing (a leaf when its level
 * is `leafLevel`); null when out of memory. With a PMD-level table as t, this
 * is __pte_alloc() for a fault that has already walked to the PMD.
 */
export function childAlloc(k: Kernel, t: PageTable, idx: number, vpn: number, leafLevel: number, mask: number, onAlloc: (bytes: number) => void): PageTable | null {
  let c = t.children![idx];
  if (c === undefined) {
    const pfn = k.phys.allocPageTable();
    if (pfn < 0) return null;
    c = new PageTable(t.level + 1, t.level + 1 === leafLevel, mask + 1, pfn);
    t.children![idx] = c;
    t.used++;
    onAlloc(k.arch.pageSize);
    if (k.tracing) k.emit({ type: 'pgtable_alloc', level: k.arch.levelNames[t.level + 1]!, pfn, addr: vpn * k.arch.pageSize });
  }
  return c;
}

/**
 * Visit every leaf table (PTE table, or huge PMD) intersecting [startVpn,
 * endVpn): fn gets it, its PMD-level parent, its slot there and its first
 * vpn. fn may take it out of the parent (the walk reads each slot afresh).
 */
export function forEachLeafTableIn(
  pgd: PageTable,
  divisors: readonly number[],
  mask: number,
  startVpn: number,
  endVpn: number,
  fn: (leaf: PageTable, parent: PageTable, idx: number, baseVpn: number) => void,
): void {
  if (endVpn <= startVpn || pgd.children === null) return;
  const walk = (t: PageTable, base: number): void =>
    forEachChildIn(t, base, startVpn, endVpn, divisors, mask, (c, i, cBase) => {
      if (c.children !== null) walk(c, cBase);
      else fn(c, t, i, cBase);
    });
  walk(pgd, 0);
}

/**
 * Visit the present children of upper-level table t (whose first vpn is
 * base) that intersect [startVpn, endVpn): fn gets each, its slot and its
 * first vpn, and may empty the slot (each is read afresh).
 */
function forEachChildIn(
  t: PageTable,
  base: number,
  startVpn: number,
  endVpn: number,
  divisors: readonly number[],
  mask: number,
  fn: (child: PageTable, idx: number, childBase: number, span: number) => void,
): void {
  const span = divisors[t.level]!;
  const children = t.children!;
  const first = Math.max(0, Math.floor((startVpn - base) / span));
  const last = Math.min(mask, Math.floor((endVpn - 1 - base) / span));
  for (let i = first; i <= last; i++) {
    const c = children[i];
    if (c !== undefined) fn(c, i, base + i * span, span);
  }
}

/**
 * free_pgtables(): free every table whose whole span lies inside the hole
 * [floorVpn, ceilingVpn) left by an unmap of [startVpn, endVpn). The hole
 * holds no mapping, so those tables hold no present entry.
 */
export function freePgtables(
  k: Kernel,
  pgd: PageTable,
  startVpn: number,
  endVpn: number,
  floorVpn: number,
  ceilingVpn: number,
  divisors: readonly number[],
  mask: number,
  onFree: (bytes: number) => void,
): void {
  const walk = (t: PageTable, base: number): void =>
    forEachChildIn(t, base, startVpn, endVpn, divisors, mask, (c, i, cBase, span) => {
      if (cBase >= floorVpn && cBase + span <= ceilingVpn) {
        freeSubtree(k, c, onFree);
        t.children![i] = undefined;
        t.used--;
      } else if (c.children !== null) {
        walk(c, cBase);
      }
    });
  walk(pgd, 0);
}

function freeSubtree(k: Kernel, t: PageTable, onFree: (bytes: number) => void): void {
  if (t.children !== null) {
    for (const c of t.children) if (c !== undefined) freeSubtree(k, c, onFree);
  } else {
    if (t.hugePfn >= 0) throw new Error('BUG: freeing a huge PMD that still maps a folio');
    for (let i = 0; i < t.flags!.length; i++) {
      if (t.flags![i]! & PTE_PRESENT) throw new Error('BUG: freeing a page table that still maps a page');
    }
  }
  if (k.tracing) k.emit({ type: 'pgtable_free', level: k.arch.levelNames[t.level]!, pfn: t.pfn });
  k.phys.refcount[t.pfn] = 0;
  k.phys.freePage(t.pfn);
  onFree(k.arch.pageSize);
}

/** What a range walk needs of an address space. */
export interface WalkRoot {
  readonly pgd: PageTable;
  readonly divisors: readonly number[];
  readonly indexMask: number;
}

/**
 * walk_page_range() with a pte_entry callback: visit every present entry of
 * [startVpn, endVpn), skipping whole missing tables. Zero-page (special)
 * entries are visited only with `withSpecial`.
 */
export function forEachPresentPte(
  root: WalkRoot,
  startVpn: number,
  endVpn: number,
  withSpecial: boolean,
  fn: (t: PageTable, i: number, vpn: number) => void,
): void {
  const span = root.indexMask + 1;
  const skip = withSpecial ? 0 : PTE_SPECIAL;
  for (let vpn = startVpn; vpn < endVpn; vpn++) {
    const t = pteLookup(root.pgd, vpn, root.divisors, root.indexMask);
    if (t === null) {
      vpn = (Math.floor(vpn / span) + 1) * span - 1;
      continue;
    }
    const i = vpn & root.indexMask;
    const fl = t.flags![i]!;
    if (!(fl & PTE_PRESENT) || fl & skip) continue;
    fn(t, i, vpn);
  }
}

/** Visit every leaf table with its first vpn (for teardown and validation). */
export function forEachLeaf(pgd: PageTable, divisors: readonly number[], fn: (t: PageTable, baseVpn: number) => void): void {
  const walk = (t: PageTable, base: number): void => {
    if (t.children === null) {
      fn(t, base);
      return;
    }
    const span = divisors[t.level]!;
    t.children.forEach((c, i) => {
      if (c !== undefined) walk(c, base + i * span);
    });
  };
  walk(pgd, 0);
}
