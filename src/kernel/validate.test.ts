import { describe, expect, it } from 'vitest';
import { Machine } from './machine.js';
import { ANON, RW, makeFile, ok } from '../../test/model-helpers.js';
import { MAP_ANONYMOUS, MAP_SHARED } from './uapi.js';
import { MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES } from './mm/mm-struct.js';
import { PG_dirty, PG_table } from './mm/page-alloc.js';
import { pteLookup } from './mm/pgtable.js';

/**
 * validateKernel() (validate_mm() and friends) is the tests' safety net: each
 * count it recomputes must catch a cached count gone wrong. A machine with
 * anonymous, shared-file, shared-anonymous and forked memory validates; then
 * one cached value at a time is corrupted, validation must throw a BUG error
 * naming it, and once the value is put back the machine validates again.
 */
function world() {
  // Not paranoid: the corruption is found by the explicit validate() below, not by a syscall.
  const m = new Machine();
  const pid = m.spawn();
  const anon = ok(m.mmap(pid, 0n, 2n * 4096n, RW, ANON, -1, 0n));
  ok(m.store(pid, anon, 8, 1n) as never);
  const fd = makeFile(m, pid, '/tmp/v.bin', new Uint8Array(4096));
  ok(m.fsync(pid, fd));
  const file = ok(m.mmap(pid, 0n, 4096n, RW, MAP_SHARED, fd, 0n));
  ok(m.store(pid, file, 1, 2n) as never);
  const shm = ok(m.mmap(pid, 0n, 4096n, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0n));
  ok(m.store(pid, shm, 1, 3n) as never);
  const child = Number(ok(m.fork(pid)));
  const mm = m.process(pid)!.mm;
  const pfnAt = (addr: bigint): number => {
    const vpn = Number(addr / 4096n);
    return pteLookup(mm.pgd, vpn, mm.divisors, mm.indexMask)!.pfns![vpn & mm.indexMask]!;
  };
  const mapping = m.process(pid)!.files.get(fd)!.inode.mapping;
  return { m, pid, child, mm, anon, file, shm, pfnAt, mapping };
}

type World = ReturnType<typeof world>;

/** Corrupt one value, expect validation to name it, restore it, expect validation to pass. */
function caught(w: World, corrupt: () => () => void, message: RegExp): void {
  expect(() => w.m.validate()).not.toThrow();
  const restore = corrupt();
  expect(() => w.m.validate()).toThrow(message);
  restore();
  expect(() => w.m.validate()).not.toThrow();
}

type NumberKey<T> = { [K in keyof T]-?: T[K] extends number ? K : never }[keyof T];

/** Add delta to a number field or element and return the undo. */
function bump<T>(obj: T, key: NumberKey<T>, delta = 1): () => void {
  const o = obj as Record<PropertyKey, number>;
  o[key as PropertyKey]! += delta;
  return () => {
    o[key as PropertyKey]! -= delta;
  };
}

describe('validateKernel catches each cached count gone wrong', () => {
  it('a frame reference count', () => {
    const w = world();
    // Mapped by the parent's and the child's PTE, in no page cache.
    const pfn = w.pfnAt(w.anon);
    caught(w, () => bump(w.m.k.phys.refcount, pfn), new RegExp(`^BUG: pfn ${pfn} refcount 3 expected 2$`));
  });

  it("a frame's map count", () => {
    const w = world();
    // fork() copied the anonymous PTE: the parent's and the child's map the page.
    const pfn = w.pfnAt(w.anon);
    caught(w, () => bump(w.m.k.phys.mapcount, pfn, -1), new RegExp(`^BUG: pfn ${pfn} mapcount 1 but 2 PTEs map it$`));
  });

  for (const [name, counter] of [['anonymous', MM_ANONPAGES], ['file', MM_FILEPAGES], ['shmem', MM_SHMEMPAGES]] as const) {
    it(`an mm's ${name} RSS counter`, () => {
      const w = world();
      const was = w.mm.rss[counter]!;
      expect(was).toBe(1);
      caught(w, () => bump(w.mm.rss, counter), new RegExp(`^BUG: mm ${w.mm.id} RSS counter ${counter} is 2 but page tables map 1$`));
    });
  }

  it("an inode's dirty page count (nrDirty)", () => {
    const w = world();
    expect(w.mapping.nrDirty).toBe(1);
    caught(w, () => bump(w.mapping, 'nrDirty', -1), /^BUG: inode \d+ nrDirty 0 but 1 dirty pages$/);
  });

  it("a page's dirty flag under an unchanged nrDirty", () => {
    const w = world();
    const pfn = w.pfnAt(w.file);
    const f = w.m.k.phys.flags;
    caught(w, () => {
      f[pfn]! &= ~PG_dirty;
      return () => {
        f[pfn]! |= PG_dirty;
      };
    }, /^BUG: inode \d+ nrDirty 1 but 0 dirty pages$/);
  });

  it("an mm's page-table bytes (VmPTE)", () => {
    const w = world();
    // The parent holds a PUD, a PMD and a PTE table below its PGD.
    expect(w.mm.pgtablesBytes).toBe(3 * 4096);
    caught(w, () => bump(w.mm, 'pgtablesBytes', 4096), new RegExp(`^BUG: mm ${w.mm.id} VmPTE 16384 but 3 tables$`));
  });

  it("a leaf table's count of used entries", () => {
    const w = world();
    const vpn = Number(w.anon / 4096n);
    const t = pteLookup(w.mm.pgd, vpn, w.mm.divisors, w.mm.indexMask)!;
    caught(w, () => bump(t, 'used'), new RegExp(`^BUG: leaf table used count ${t.used + 1} but ${t.used} entries$`));
  });

  it('the frames counted in use', () => {
    const w = world();
    caught(w, () => bump(w.m.k.phys, 'nrUsed'), /^BUG: \d+ frames counted in use but \d+ are$/);
  });

  it('the committed pages (Committed_AS)', () => {
    const w = world();
    caught(w, () => bump(w.m.k, 'committedPages'), /^BUG: committed \d+ pages but VMAs account \d+$/);
  });

  it('the global page-table frame count (meminfo PageTables)', () => {
    const w = world();
    const p = w.m.k.phys;
    // Each of the two mms: PGD, PUD, PMD and one PTE table (all its mappings share one PTE table).
    expect(p.nrPageTables).toBe(8);
    expect(w.m.meminfo()).toMatch(/\nPageTables: +32 kB\n/);
    caught(w, () => bump(p, 'nrPageTables'), /^BUG: 9 page-table frames counted \(PageTables\) but the mms hold 8 tables and 8 frames are page tables$/);
    caught(w, () => bump(p, 'nrPageTables', -1), /^BUG: 7 page-table frames counted \(PageTables\) but the mms hold 8 tables and 8 frames are page tables$/);
  });

  it('a page-table frame no mm holds (a leaked table)', () => {
    const w = world();
    const p = w.m.k.phys;
    const leaked = p.allocPageTable();
    expect(p.flags[leaked]! & PG_table).toBe(PG_table);
    expect(() => w.m.validate()).toThrow(new RegExp(`^BUG: page-table frame ${leaked} is in no mm's page tables$`));
    p.put(leaked);
    expect(() => w.m.validate()).not.toThrow();
  });

  it('a table whose frame is not flagged as a page table', () => {
    const w = world();
    const f = w.m.k.phys.flags;
    const pgd = w.mm.pgd.pfn;
    caught(w, () => {
      f[pgd]! &= ~PG_table;
      return () => {
        f[pgd]! |= PG_table;
      };
    }, new RegExp(`^BUG: mm ${w.mm.id} page table at level 0 in frame ${pgd}, not a page-table frame$`));
  });

  it('an exited process gives its tables back: the count still agrees', () => {
    const w = world();
    const p = w.m.k.phys;
    w.m.exitGroup(w.child, 0);
    expect(p.nrPageTables).toBe(4);
    expect(() => w.m.validate()).not.toThrow();
  });
});
