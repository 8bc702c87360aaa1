/**
 * What the panels show, read from a Machine without changing it: the
 * snapshot views (src/kernel/snapshot.ts) plus, for each frame, which
 * processes map it at which addresses (found by reading the page tables,
 * as rmap would, but without side effects).
 */
import { PTE_PRESENT, PTE_WRITE } from '../kernel/arch/pte.js';
import type { Machine } from '../kernel/machine.js';
import type { MmStruct } from '../kernel/mm/mm-struct.js';
import {
  type FrameSnapshot, type PageCacheSnapshot, type TlbSnapshot, type VmaSnapshot,
  snapshotFrames, snapshotPageCache, snapshotTlb, snapshotVmas,
} from '../kernel/snapshot.js';

export interface Mapper {
  pid: number;
  addr: bigint;
  writable: boolean;
}

export interface FrameRow extends FrameSnapshot {
  mappers: Mapper[];
  /** The file's path for file and shmem pages. */
  path: string | null;
}

export interface ProcView {
  pid: number;
  vmas: VmaSnapshot[];
  maps: string;
  smaps: string;
  tlb: TlbSnapshot[];
  rssPages: number;
}

export interface StateView {
  procs: ProcView[];
  frames: FrameRow[];
  pageCache: PageCacheSnapshot[];
  pageSize: number;
}

/** Every present leaf entry of an address space: [virtual page number, pfn, pte bits]. */
function presentPtes(mm: MmStruct, each: (vpn: number, pfn: number, flags: number) => void): void {
  const last = mm.divisors.length - 1;
  const visit = (t: MmStruct['pgd'], level: number, base: number): void => {
    if (level === last) {
      const flags = t.flags!;
      for (let i = 0; i < flags.length; i++) if (flags[i]! & PTE_PRESENT) each(base + i, t.pfns![i]!, flags[i]!);
      return;
    }
    const span = mm.divisors[level]!;
    t.children!.forEach((c, i) => {
      if (c !== undefined) visit(c, level + 1, base + i * span);
    });
  };
  visit(mm.pgd, 0, 0);
}

export function liveProcesses(m: Machine): number[] {
  return [...m.processes.values()].filter((p) => !p.exited).map((p) => p.tgid);
}

export function stateOf(m: Machine): StateView {
  const procs: ProcView[] = [];
  const mappers = new Map<number, Mapper[]>();
  const ps = m.arch.pageSize;
  for (const p of m.processes.values()) {
    if (p.exited) continue;
    procs.push({
      pid: p.tgid,
      vmas: snapshotVmas(p.mm),
      maps: m.maps(p.tgid) ?? '',
      smaps: m.smaps(p.tgid) ?? '',
      tlb: snapshotTlb(p.mm),
      rssPages: p.mm.rssPages,
    });
    presentPtes(p.mm, (vpn, pfn, flags) => {
      let list = mappers.get(pfn);
      if (list === undefined) mappers.set(pfn, (list = []));
      list.push({ pid: p.tgid, addr: BigInt(vpn) * BigInt(ps), writable: (flags & PTE_WRITE) !== 0 });
    });
  }
  const pageCache = snapshotPageCache(m.k);
  const paths = new Map<number, string>();
  for (const [path, inode] of m.k.vfs.files) paths.set(inode.ino, path);
  const frames = snapshotFrames(m.k).map((f) => ({
    ...f,
    mappers: mappers.get(f.pfn) ?? [],
    path: f.ino === null ? null : (paths.get(f.ino) ?? `inode ${f.ino}`),
  }));
  return { procs, frames, pageCache, pageSize: ps };
}
