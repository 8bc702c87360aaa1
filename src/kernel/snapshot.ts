/**
 * Read-only views of the model's state for display (the CLI, the web
 * explorer, embedders). Taking a snapshot changes nothing: no accessed or
 * dirty bit, no TLB fill, no counter, no allocation inside the model.
 * Addresses are bigint at this boundary.
 */
import type { Kernel } from './kernel.js';
import { encodePte, pteFlagNames, PTE_PRESENT } from './arch/pte.js';
import type { AddressSpace } from './mm/filemap.js';
import type { MmStruct } from './mm/mm-struct.js';
import { pageFlagNames, PG_anon, PG_table, ZERO_PFN } from './mm/page-alloc.js';
import { forEachPresentPte, type PageTable } from './mm/pgtable.js';
import { forEachHugePmd } from './mm/huge-memory.js';
import { vmFlagsMnemonics } from './mm/vm-flags.js';
import { vmaName } from './proc/task-mmu.js';

export interface VmaSnapshot {
  start: bigint;
  end: bigint;
  flags: number;
  /** smaps VmFlags mnemonics, e.g. "rd wr mr mw me ac". */
  flagNames: string;
  perms: string;
  pgoff: number;
  /** The /proc/PID/maps label ('' for none). */
  name: string;
  kind: 'anon' | 'file-private' | 'file-shared' | 'shmem' | 'heap' | 'stack' | 'special';
  ino: number | null;
  resident: number;
}

export interface WalkLevel {
  level: string;
  index: number;
  /** The frame holding this level's table, or null when the walk stopped above it. */
  tableFrame: number | null;
  present: boolean;
}

export interface PageWalk {
  addr: bigint;
  levels: WalkLevel[];
  /** The leaf entry, when the walk reached one. */
  pte: { pfn: number; flags: string[]; raw: bigint } | null;
  tlbSlot: number;
}

export interface FrameSnapshot {
  pfn: number;
  refcount: number;
  mapcount: number;
  flags: string[];
  kind: 'zero' | 'anon' | 'file' | 'shmem' | 'pagetable' | 'free';
  /** Inode number for file/shmem pages. */
  ino: number | null;
  index: number;
}

export interface PageCacheSnapshot {
  ino: number;
  path: string | null;
  size: number;
  pages: { index: number; pfn: number; flags: string[] }[];
}

export interface TlbSnapshot {
  slot: number;
  addr: bigint;
  pfn: number;
  writable: boolean;
}

function vmaKind(mm: MmStruct, v: import('./mm/vma.js').Vma, name: string): VmaSnapshot['kind'] {
  if (v.specialName !== null) return 'special';
  if (name === '[heap]') return 'heap';
  if (name === '[stack]') return 'stack';
  if (v.file === null) return 'anon';
  if (v.file.inode.kind === 'shmem') return 'shmem';
  void mm;
  return (v.flags & 0x80) !== 0 ? 'file-shared' : 'file-private';
}

export function snapshotVmas(mm: MmStruct): VmaSnapshot[] {
  const out: VmaSnapshot[] = [];
  const ps = mm.pageSize;
  for (const v of mm.vmas) {
    const name = vmaName(mm, v);
    let resident = 0;
    forEachPresentPte(mm, v.start / ps, v.end / ps, true, () => resident++);
    forEachHugePmd(mm, v.start / ps, v.end / ps, () => (resident += mm.indexMask + 1));
    out.push({
      start: BigInt(v.start),
      end: BigInt(v.end),
      flags: v.flags,
      flagNames: vmFlagsMnemonics(v.flags).trim(),
      perms: (v.flags & 1 ? 'r' : '-') + (v.flags & 2 ? 'w' : '-') + (v.flags & 4 ? 'x' : '-') + (v.flags & 0x80 ? 's' : 'p'),
      pgoff: v.pgoff,
      name,
      kind: vmaKind(mm, v, name),
      ino: v.file?.inode.ino ?? null,
      resident,
    });
  }
  return out;
}

/** The page-table walk for one address, level by level, without side effects. */
export function walkAddress(k: Kernel, mm: MmStruct, addr: bigint): PageWalk {
  const levels: WalkLevel[] = [];
  const ps = mm.pageSize;
  const a = Number(addr);
  const vpn = Math.floor(a / ps);
  let t: PageTable | undefined = mm.pgd;
  let pte: PageWalk['pte'] = null;
  for (let l = 0; l < mm.divisors.length; l++) {
    const index = Math.floor(vpn / mm.divisors[l]!) & mm.indexMask;
    if (t === undefined || a >= mm.taskSize || a < 0) {
      levels.push({ level: k.arch.levelNames[l]!, index, tableFrame: null, present: false });
      continue;
    }
    if (t.children !== null) {
      const c: PageTable | undefined = t.children[index];
      levels.push({ level: k.arch.levelNames[l]!, index, tableFrame: t.pfn, present: c !== undefined });
      t = c;
    } else {
      const fl = t.flags![index]!;
      levels.push({ level: k.arch.levelNames[l]!, index, tableFrame: t.pfn, present: (fl & PTE_PRESENT) !== 0 });
      if (fl & PTE_PRESENT) {
        const pfn = t.pfns![index]!;
        pte = { pfn, flags: pteFlagNames(fl), raw: encodePte(k.arch, pfn, fl) };
      }
    }
  }
  return { addr, levels, pte, tlbSlot: mm.tlb.probe(vpn) };
}

export function snapshotFrame(k: Kernel, pfn: number): FrameSnapshot {
  const p = k.phys;
  if (pfn === ZERO_PFN) return { pfn, refcount: p.refcount[0]!, mapcount: 0, flags: pageFlagNames(p.flags[0]!), kind: 'zero', ino: null, index: 0 };
  if (pfn <= 0 || pfn >= p.maxPfn || p.isFree(pfn)) return { pfn, refcount: 0, mapcount: 0, flags: [], kind: 'free', ino: null, index: 0 };
  const f = p.flags[pfn]!;
  const owner = k.owners[p.mapping[pfn]!];
  const as = owner !== undefined && 'pages' in owner ? (owner as AddressSpace) : null;
  const kind: FrameSnapshot['kind'] = f & PG_table ? 'pagetable' : f & PG_anon ? 'anon' : as?.isShmem ? 'shmem' : 'file';
  return { pfn, refcount: p.refcount[pfn]!, mapcount: p.mapcount[pfn]!, flags: pageFlagNames(f), kind, ino: as?.host.ino ?? null, index: p.index[pfn]! };
}

/** Every frame in use (and the zero page). */
export function snapshotFrames(k: Kernel): FrameSnapshot[] {
  const out: FrameSnapshot[] = [snapshotFrame(k, ZERO_PFN)];
  for (let pfn = 1; pfn < k.phys.maxPfn; pfn++) if (!k.phys.isFree(pfn)) out.push(snapshotFrame(k, pfn));
  return out;
}

/** The page cache of every inode that has pages or mappings. */
export function snapshotPageCache(k: Kernel): PageCacheSnapshot[] {
  const paths = new Map<number, string>();
  for (const [path, inode] of k.vfs.files) paths.set(inode.ino, path);
  const out: PageCacheSnapshot[] = [];
  for (const owner of k.owners) {
    if (owner === undefined || !('pages' in owner)) continue;
    const as = owner as AddressSpace;
    if (as.pages.size === 0 && as.iMmap.size === 0) continue;
    const pages = [...as.pages].sort((a, b) => a[0] - b[0]).map(([index, pfn]) => ({ index, pfn, flags: pageFlagNames(k.phys.flags[pfn]!) }));
    out.push({ ino: as.host.ino, path: paths.get(as.host.ino) ?? null, size: as.host.size, pages });
  }
  return out;
}

export function snapshotTlb(mm: MmStruct): TlbSnapshot[] {
  const out: TlbSnapshot[] = [];
  const t = mm.tlb;
  for (let i = 0; i < t.vpn.length; i++) {
    const vpn = t.vpn[i]!;
    if (vpn < 0) continue;
    out.push({ slot: i, addr: BigInt(vpn * mm.pageSize), pfn: t.pfn[i]!, writable: (t.perm[i]! & 2) !== 0 });
  }
  return out;
}
