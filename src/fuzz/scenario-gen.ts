/**
 * Random scenarios for `mmsim fuzz` (host mode): a weighted grammar over the
 * syscalls and flags `mmsim diff` can run on the host (docs/oracle-diff.md).
 * Every address is a bound name plus a constant offset; mmaps are non-fixed,
 * or MAP_FIXED / MREMAP_FIXED inside a region the scenario created itself, so
 * the host accepts them and the address rule can compare them. Files live in
 * the sandbox (`/tmp/NAME`). fork but no threads (the fence is per process
 * and threads share it, see docs/oracle-diff.md). Deterministic: the same
 * seed and index give the same scenario.
 */
import { Prng } from './prng.js';

/** One scenario line, with the names it binds and uses (for shrinking). */
export interface GenLine {
  pid: number;
  text: string;
  /** The name this line binds (a region, a descriptor, or `pid101` for fork). */
  defines?: string;
  uses: string[];
}

const PAGE = 4096;
const PARENT = 100;
const CHILD = 101;

interface Region { name: string; pages: number; }
interface Fd { name: string; path: string; }

const PROTS = ['PROT_NONE', 'PROT_READ', 'PROT_READ|PROT_WRITE', 'PROT_READ|PROT_EXEC', 'PROT_WRITE', 'PROT_READ|PROT_WRITE|PROT_EXEC'];
const ADVICE = [
  'MADV_NORMAL', 'MADV_RANDOM', 'MADV_SEQUENTIAL', 'MADV_WILLNEED', 'MADV_DONTNEED', 'MADV_FREE', 'MADV_REMOVE',
  'MADV_DONTFORK', 'MADV_DOFORK', 'MADV_WIPEONFORK', 'MADV_KEEPONFORK', 'MADV_COLD', 'MADV_PAGEOUT',
  'MADV_POPULATE_READ', 'MADV_POPULATE_WRITE', 'MADV_GUARD_INSTALL', 'MADV_GUARD_REMOVE', '999',
];

function len(pages: number): string {
  return pages === 1 ? `${PAGE}` : `${pages} * ${PAGE}`;
}

function at(name: string, off: number): string {
  if (off === 0) return name;
  if (off % PAGE === 0) return off === PAGE ? `${name} + ${PAGE}` : `${name} + ${off / PAGE} * ${PAGE}`;
  return `${name} + ${off}`;
}

/** The scenario with index `index` of seed `seed`: 10 to 40 lines. */
export function generateScenario(seed: number, index: number): GenLine[] {
  const rng = new Prng((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
  const target = 10 + rng.int(31);
  const lines: GenLine[] = [];
  const regions: Region[] = [];
  const fds: Fd[] = [];
  const paths: string[] = [];
  let names = 0;
  let forked = false;
  let childAlive = false;
  let locked = false;

  const pid = (): number => (childAlive && rng.bool(0.4) ? CHILD : PARENT);
  const push = (text: string, uses: (string | undefined)[], defines?: string, p = pid()): void => {
    const u = uses.filter((x): x is string => x !== undefined);
    if (p === CHILD) u.push(`pid${CHILD}`);
    lines.push({ pid: p, text, uses: u, ...(defines !== undefined ? { defines } : {}) });
  };
  const fresh = (prefix: string): string => `${prefix}${++names}`;
  /**
   * A range inside a region: [offset pages, length pages]. Only calls that
   * change nothing (mincore, msync) may reach past the region: a munmap or
   * mprotect past it could hit the fence above the topmost region or the
   * runner's own mappings, which differ between the sides.
   */
  const range = (r: Region, over: boolean): [number, number] => {
    const k = rng.int(r.pages);
    const n = 1 + rng.int(over && rng.bool(0.15) ? r.pages + 2 : r.pages - k);
    return [k, n];
  };
  const pickRegion = (): Region | undefined => (regions.length > 0 ? rng.pick(regions) : undefined);

  const openFile = (): void => {
    if (rng.bool(0.08)) {
      // /dev/zero: shared mappings of it are shmem objects, private ones anonymous.
      const name = fresh('fd');
      push(`${name} = openat(AT_FDCWD, "/dev/zero", O_RDWR)`, [], name, PARENT);
      fds.push({ name, path: '/dev/zero' });
      return;
    }
    const reuse = paths.length > 0 && rng.bool(0.3);
    const path = reuse ? rng.pick(paths) : `/tmp/fz${paths.length + 1}`;
    if (!reuse) paths.push(path);
    const name = fresh('fd');
    const mode = reuse && rng.bool(0.4) ? 'O_RDONLY' : 'O_RDWR|O_CREAT';
    push(`${name} = openat(AT_FDCWD, "${path}", ${mode}${mode.includes('O_CREAT') ? ', 0644' : ''})`, [], name, PARENT);
    fds.push({ name, path });
  };

  const mmapValid = (): void => {
    const name = fresh('m');
    const pages = 1 + rng.int(6);
    const prot = rng.pick(PROTS);
    const fileBacked = fds.length > 0 && rng.bool(0.45);
    const extra = rng.weighted<string>([[10, ''], [2, '|MAP_POPULATE'], [1, '|MAP_NORESERVE'], [1, '|MAP_LOCKED'], [1, '|MAP_STACK']]);
    // MAP_FIXED inside a region of this scenario.
    let addr = 'NULL';
    let fixed = '';
    const within = pickRegion();
    if (within !== undefined && rng.bool(0.2)) {
      const k = rng.int(within.pages);
      const n = 1 + rng.int(within.pages - k);
      addr = at(within.name, k * PAGE);
      fixed = rng.bool(0.8) ? '|MAP_FIXED' : '|MAP_FIXED_NOREPLACE';
      if (fileBacked) {
        const fd = rng.pick(fds);
        push(`${name} = mmap(${addr}, ${len(n)}, ${prot}, ${rng.bool(0.5) ? 'MAP_SHARED' : 'MAP_PRIVATE'}${fixed}, ${fd.name}, ${rng.int(3) * PAGE})`, [within.name, fd.name], name);
      } else {
        push(`${name} = mmap(${addr}, ${len(n)}, ${prot}, ${rng.bool(0.7) ? 'MAP_PRIVATE' : 'MAP_SHARED'}|MAP_ANONYMOUS${fixed}, -1, 0)`, [within.name], name);
      }
      regions.push({ name, pages: n });
      return;
    }
    if (fileBacked) {
      const fd = rng.pick(fds);
      push(`${name} = mmap(NULL, ${len(pages)}, ${prot}, ${rng.bool(0.5) ? 'MAP_SHARED' : 'MAP_PRIVATE'}${extra}, ${fd.name}, ${rng.int(3) * PAGE})`, [fd.name], name);
    } else {
      push(`${name} = mmap(NULL, ${len(pages)}, ${prot}, ${rng.bool(0.7) ? 'MAP_PRIVATE' : 'MAP_SHARED'}|MAP_ANONYMOUS${extra}, -1, 0)`, [], name);
    }
    regions.push({ name, pages });
  };

  /**
   * A transparent-huge-page region: a 4 MiB anonymous mapping is placed
   * 2 MiB aligned on both sides (thp_get_unmapped_area()), and with
   * MADV_HUGEPAGE its write faults map PMD-sized pages, which the partial
   * munmap, mprotect, madvise and mremap calls on the region then split.
   */
  const mmapThp = (): void => {
    if (rng.bool(0.5)) return mmapValid();
    const name = fresh('h');
    push(`${name} = mmap(NULL, 4 * 1024 * 1024, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)`, [], name);
    push(`madvise(${name}, 4 * 1024 * 1024, ${rng.bool(0.85) ? 'MADV_HUGEPAGE' : 'MADV_NOHUGEPAGE'})`, [name]);
    regions.push({ name, pages: 1024 });
  };

  const mmapInvalid = (): void => {
    const r = pickRegion();
    const fd = fds.length > 0 ? rng.pick(fds) : undefined;
    const choice = rng.int(6);
    if (choice === 0) push(`mmap(NULL, 0, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)`, []);
    else if (choice === 1) push(`mmap(NULL, ${PAGE}, PROT_READ, MAP_ANONYMOUS, -1, 0)`, []);
    else if (choice === 2) push(`mmap(NULL, ${PAGE}, PROT_READ, MAP_PRIVATE, -1, 0)`, []);
    else if (choice === 3 && fd !== undefined) push(`mmap(NULL, ${PAGE}, PROT_READ, MAP_SHARED, ${fd.name}, 100)`, [fd.name]);
    else if (choice === 4 && r !== undefined) push(`mmap(${at(r.name, 1)}, ${PAGE}, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)`, [r.name]);
    else if (choice === 5 && r !== undefined) push(`mmap(${r.name}, ${PAGE}, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0)`, [r.name]);
    else push(`mmap(NULL, ${PAGE}, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)`, []);
  };

  const onRegion = (): void => {
    const r = pickRegion();
    if (r === undefined) return mmapValid();
    const which = rng.weighted<string>([[3, 'munmap'], [4, 'mprotect'], [2, 'msync'], [2, 'mincore'], [5, 'madvise'], [3, 'mremap'], [3, 'mlock']]);
    const [k, n] = range(r, which === 'msync' || which === 'mincore');
    const a = rng.bool(0.06) ? at(r.name, k * PAGE + 1) : at(r.name, k * PAGE);
    switch (which) {
      case 'munmap': push(`munmap(${a}, ${len(n)})`, [r.name]); break;
      case 'mprotect': push(`mprotect(${a}, ${len(n)}, ${rng.pick(PROTS)})`, [r.name]); break;
      case 'msync': push(`msync(${a}, ${len(n)}, ${rng.pick(['MS_SYNC', 'MS_ASYNC', 'MS_INVALIDATE', 'MS_SYNC|MS_ASYNC', 'MS_ASYNC|MS_INVALIDATE'])})`, [r.name]); break;
      case 'mincore': push(`mincore(${a}, ${rng.bool(0.1) ? String(n * PAGE - 1) : len(n)})`, [r.name]); break;
      case 'madvise': push(`madvise(${a}, ${len(n)}, ${rng.pick(ADVICE)})`, [r.name]); break;
      case 'mremap': {
        const name = fresh('m');
        const newPages = 1 + rng.int(6);
        const kind = rng.int(4);
        if (kind === 0) push(`${name} = mremap(${a}, ${len(n)}, ${len(newPages)}, 0)`, [r.name], name);
        else if (kind === 1) push(`${name} = mremap(${a}, ${len(n)}, ${len(newPages)}, MREMAP_MAYMOVE)`, [r.name], name);
        else if (kind === 2) {
          const t = rng.pick(regions);
          const tk = rng.int(t.pages);
          const tn = 1 + rng.int(t.pages - tk);
          push(`${name} = mremap(${a}, ${len(n)}, ${len(tn)}, MREMAP_FIXED|MREMAP_MAYMOVE, ${at(t.name, tk * PAGE)})`, [r.name, t.name], name);
          regions.push({ name, pages: tn });
          break;
        } else push(`${name} = mremap(${a}, ${len(n)}, ${len(n)}, MREMAP_DONTUNMAP|MREMAP_MAYMOVE)`, [r.name], name);
        regions.push({ name, pages: kind === 3 ? n : newPages });
        break;
      }
      case 'mlock': {
        const f = rng.weighted<string>([[3, 'mlock'], [2, 'munlock'], [2, 'mlock2'], [1, 'all']]);
        if (f === 'mlock') push(`mlock(${a}, ${len(n)})`, [r.name]);
        else if (f === 'munlock') push(`munlock(${a}, ${len(n)})`, [r.name]);
        else if (f === 'mlock2') push(`mlock2(${a}, ${len(n)}, ${rng.pick(['0', 'MLOCK_ONFAULT', '0x2'])})`, [r.name]);
        else if (!locked) {
          locked = true;
          push(`mlockall(${rng.pick(['MCL_CURRENT', 'MCL_CURRENT|MCL_ONFAULT', 'MCL_ONFAULT'])})`, [], undefined, PARENT);
        } else {
          locked = false;
          push(`munlockall()`, [], undefined, PARENT);
        }
        break;
      }
    }
  };

  const access = (): void => {
    const r = pickRegion();
    if (r === undefined) return mmapValid();
    const off = rng.int(r.pages + 1) * PAGE + rng.pick([0, 8, 100, 4088]);
    const a = at(r.name, off);
    const k = rng.weighted<string>([[4, 'load'], [4, 'store'], [1, 'loadn'], [2, 'storen']]);
    const w = rng.pick([8, 16, 32, 64]);
    if (k === 'load') push(`load${w}(${a})`, [r.name]);
    else if (k === 'store') push(`store${w}(${a}, ${1 + rng.int(250)})`, [r.name]);
    else if (k === 'loadn') push(`load(${a}, ${1 + rng.int(16)})`, [r.name]);
    else push(`store(${a}, "${rng.pick(['x', 'hello', 'ABCDEFGH', 'zz'])}")`, [r.name]);
  };

  const fileOp = (): void => {
    if (fds.length === 0 || rng.bool(0.15)) return openFile();
    const fd = rng.pick(fds);
    const which = rng.weighted<string>([[3, 'ftruncate'], [2, 'write'], [2, 'pwrite64'], [2, 'read'], [1, 'writefrom'], [1, 'lseek'], [1, 'fsync'], [1, 'fadvise'], [1, 'close'], [1, 'unlink']]);
    const data = rng.pick(['abc', 'HELLOWORLD', 'x', '0123456789abcdef']);
    switch (which) {
      case 'ftruncate': push(`ftruncate(${fd.name}, ${rng.bool(0.8) ? len(rng.int(7)) : String(rng.int(3 * PAGE))})`, [fd.name], undefined, PARENT); break;
      case 'write': push(`write(${fd.name}, "${data}", ${data.length})`, [fd.name], undefined, PARENT); break;
      case 'pwrite64': push(`pwrite64(${fd.name}, "${data}", ${data.length}, ${rng.int(5) * PAGE + rng.pick([0, 10, 4090])})`, [fd.name], undefined, PARENT); break;
      case 'read': {
        // read() into a mapped region: copy_to_user() through the MMU, faulting pages in
        // (or EFAULT past what is mapped and writable), and readahead on the file.
        const r = pickRegion();
        if (r === undefined) return openFile();
        const off = rng.int(r.pages) * PAGE + rng.pick([0, 100, 4000]);
        push(`read(${fd.name}, ${at(r.name, off)}, ${rng.pick([1, 100, PAGE, 2 * PAGE + 7])})`, [fd.name, r.name]);
        break;
      }
      case 'writefrom': {
        // write() from a mapped region: generic_perform_write()'s atomic copy, then
        // fault_in_iov_iter_readable() and a retry (or EFAULT), growing the file first.
        const r = pickRegion();
        if (r === undefined) return openFile();
        const off = rng.int(r.pages) * PAGE + rng.pick([0, 100, 4000]);
        push(`write(${fd.name}, ${at(r.name, off)}, ${rng.pick([1, 100, PAGE, 2 * PAGE + 7])})`, [fd.name, r.name]);
        break;
      }
      case 'lseek': push(`lseek(${fd.name}, ${rng.int(4) * PAGE + rng.pick([0, 10])}, SEEK_SET)`, [fd.name], undefined, PARENT); break;
      case 'fsync': push(`fsync(${fd.name})`, [fd.name], undefined, PARENT); break;
      case 'fadvise': push(`fadvise64(${fd.name}, 0, 0, ${rng.pick(['POSIX_FADV_DONTNEED', 'POSIX_FADV_WILLNEED', 'POSIX_FADV_NORMAL'])})`, [fd.name], undefined, PARENT); break;
      case 'close': push(`close(${fd.name})`, [fd.name], undefined, PARENT); break;
      case 'unlink':
        // The runner refuses to unlink /dev/zero (it is the host's).
        if (fd.path === '/dev/zero') push(`close(${fd.name})`, [fd.name], undefined, PARENT);
        else push(`unlink("${fd.path}")`, [fd.name], undefined, PARENT);
        break;
    }
  };

  const forkOrExit = (): void => {
    if (!forked) {
      forked = true;
      childAlive = true;
      push(`fork() = ${CHILD}`, [], `pid${CHILD}`, PARENT);
    } else if (childAlive && rng.bool(0.3)) {
      childAlive = false;
      push(`exit_group(0) = ?`, [], undefined, CHILD);
    } else access();
  };

  while (lines.length < target) {
    const g = rng.weighted<() => void>([[6, mmapValid], [1, mmapThp], [2, mmapInvalid], [10, onRegion], [9, access], [5, fileOp], [1, forkOrExit]]);
    g();
  }
  return lines.slice(0, target);
}

/** The scenario's text, each line prefixed with its pid label. */
export function renderScenario(lines: readonly GenLine[], header: readonly string[] = []): string {
  return [...header.map((h) => `# ${h}`), ...lines.map((l) => `${l.pid}  ${l.text}`)].join('\n') + '\n';
}
