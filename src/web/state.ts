/**
 * What the panels show, read from a Machine through its public read-only
 * views (vmas(), tlb(), frames(), pageCache(), pagemap(), counters()), plus,
 * for each frame, which processes map it at which addresses (from each
 * process's pagemap, as rmap would find them, without side effects).
 */
import type { FrameSnapshot, Machine, PageCacheSnapshot, TlbSnapshot, VmaSnapshot } from '../index.js';

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

export function liveProcesses(m: Machine): number[] {
  return m.pids();
}

export function stateOf(m: Machine): StateView {
  const procs: ProcView[] = [];
  const mappers = new Map<number, Mapper[]>();
  for (const pid of m.pids()) {
    const c = m.counters(pid).process!;
    procs.push({
      pid,
      vmas: m.vmas(pid)!,
      maps: m.maps(pid) ?? '',
      smaps: m.smaps(pid) ?? '',
      tlb: m.tlb(pid)!,
      rssPages: c.rssAnon + c.rssFile + c.rssShmem,
    });
    for (const e of m.pagemap(pid)!) {
      let list = mappers.get(e.pfn);
      if (list === undefined) mappers.set(e.pfn, (list = []));
      list.push({ pid, addr: e.addr, writable: e.writable });
    }
  }
  const pageCache = m.pageCache();
  const paths = new Map<number, string>();
  for (const f of pageCache) if (f.path !== null) paths.set(f.ino, f.path);
  const frames = m.frames().map((f) => ({
    ...f,
    mappers: mappers.get(f.pfn) ?? [],
    path: f.ino === null ? null : (paths.get(f.ino) ?? `inode ${f.ino}`),
  }));
  return { procs, frames, pageCache, pageSize: m.arch.pageSize };
}
