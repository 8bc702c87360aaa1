/**
 * mremap, madvise and the mlock family against the real kernel: each
 * scenario runs as real syscalls and accesses in the host runner
 * (src/oracle/runner.c) and as the same calls on the model, and every step
 * is compared: errno, loaded values, signals, minor/major fault counts, and
 * the maps (and a few smaps fields) of the scenario's own mappings, written
 * relative to a mapping's address so that where each side placed it does not
 * matter. Expectations are those of Linux 6.18 x86_64 run as root.
 */
import { describe, expect, it } from 'vitest';
import { type AccessResult, Machine } from '../src/kernel/machine.js';
import { AT_FDCWD } from '../src/kernel/uapi.js';
import { ensureRunnerBinary, runOnHostSync } from '../src/oracle/host-runner.js';
import { bytes as b, op, ref, type Arg, type Observation, type Op } from '../src/oracle/runner-protocol.js';

const PAGE = 4096;
const RW = 3;
const PROT_READ = 1;
const PROT_NONE = 0;
const MAP_SHARED = 0x01;
const MAP_PRIVATE = 0x02;
const MAP_FIXED = 0x10;
const MAP_ANONYMOUS = 0x20;
const MAP_LOCKED = 0x2000;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const O_RDWR = 2;
const O_CREAT = 0o100;
const MREMAP_MAYMOVE = 1;
const MREMAP_FIXED = 2;
const MREMAP_DONTUNMAP = 4;

const hostOk = ((): boolean => {
  if (process.platform !== 'linux') return false;
  try {
    ensureRunnerBinary();
    return true;
  } catch {
    return false;
  }
})();

/** What one side did at one step, in comparable form. */
interface Seen {
  step: number;
  op: string;
  ret: bigint | null;
  errno: string | null;
  signal: string | null;
  value: bigint | null;
  minflt: number;
  majflt: number;
  text: string | null;
  /** pread's bytes, mincore's vector, as text */
  data: string | null;
}

/** A window of the address space to compare maps in: [ret of step + from, + len). */
interface Region {
  step: number;
  from?: number;
  len: number;
}

const SIG_CODES: Record<string, Record<number, string>> = {
  SIGSEGV: { 1: 'SEGV_MAPERR', 2: 'SEGV_ACCERR' },
  SIGBUS: { 1: 'BUS_ADRALN', 2: 'BUS_ADRERR', 3: 'BUS_OBJERR' },
};

/** Run the ops on a model machine configured as the host runs (root, 8 MiB readahead). */
function runModel(ops: readonly Op[]): Seen[] {
  const m = new Machine({ paranoid: true, settings: { privileged: true, readAheadKb: 8192, memlockRlimit: 8 * 1024 * 1024 } });
  const pid0 = m.spawn();
  const tids = new Map<number, number>([[0, pid0]]);
  const rets = new Map<number, bigint>();
  const out: Seen[] = [];
  const val = (a: Arg): bigint => {
    if (typeof a === 'bigint') return a;
    if (typeof a === 'number') return BigInt(a);
    if (a.kind === 'ref') return BigInt.asUintN(64, (rets.get(a.step) ?? 0n) + a.offset);
    throw new Error('bytes where a number was expected');
  };
  const str = (a: Arg): Uint8Array => {
    if (typeof a === 'object' && a.kind === 'bytes') return a.data;
    throw new Error('expected bytes');
  };
  for (const o of ops) {
    const pid = tids.get(o.tid)!;
    const before = m.rusage(pid)!;
    const a = o.args;
    const s: Seen = { step: o.step, op: o.op, ret: null, errno: null, signal: null, value: null, minflt: 0, majflt: 0, text: null, data: null };
    const sys = (r: { ok: true; value: bigint } | { ok: false; errno: string }): void => {
      if (r.ok) s.ret = r.value;
      else {
        s.ret = -1n;
        s.errno = r.errno;
      }
    };
    const access = (r: AccessResult<unknown>): void => {
      if (r.ok) s.ret = 0n;
      else if (r.fault === null) throw new Error(`the access was not made: ${r.errno}`);
      else s.signal = `${r.fault.signal} ${SIG_CODES[r.fault.signal]?.[r.fault.code] ?? r.fault.code}`;
    };
    switch (o.op) {
      case 'mmap': sys(m.mmap(pid, val(a[0]!), val(a[1]!), val(a[2]!), val(a[3]!), val(a[4]!), val(a[5]!))); break;
      case 'munmap': sys(m.munmap(pid, val(a[0]!), val(a[1]!))); break;
      case 'mprotect': sys(m.mprotect(pid, val(a[0]!), val(a[1]!), val(a[2]!))); break;
      case 'msync': sys(m.msync(pid, val(a[0]!), val(a[1]!), val(a[2]!))); break;
      case 'madvise': sys(m.madvise(pid, val(a[0]!), val(a[1]!), val(a[2]!))); break;
      case 'mremap': sys(m.mremap(pid, val(a[0]!), val(a[1]!), val(a[2]!), val(a[3]!), a[4] === undefined ? 0n : val(a[4]))); break;
      case 'mlock': sys(m.mlock(pid, val(a[0]!), val(a[1]!))); break;
      case 'mlock2': sys(m.mlock2(pid, val(a[0]!), val(a[1]!), val(a[2]!))); break;
      case 'munlock': sys(m.munlock(pid, val(a[0]!), val(a[1]!))); break;
      case 'mlockall': sys(m.mlockall(pid, val(a[0]!))); break;
      case 'munlockall': sys(m.munlockall(pid)); break;
      case 'openat': sys(m.openat(pid, AT_FDCWD, '/tmp/' + new TextDecoder().decode(str(a[0]!)), Number(val(a[1]!)), a[2] === undefined ? 0o644 : Number(val(a[2])))); break;
      case 'write': sys(m.write(pid, Number(val(a[0]!)), str(a[1]!))); break;
      case 'pwrite': sys(m.write(pid, Number(val(a[0]!)), str(a[1]!), val(a[2]!))); break;
      case 'pread': {
        const r = m.read(pid, Number(val(a[0]!)), val(a[1]!), val(a[2]!));
        sys(r);
        if (r.ok) s.data = Buffer.from(r.data).toString('hex');
        break;
      }
      case 'mincore': {
        const r = m.mincore(pid, val(a[0]!), val(a[1]!));
        sys(r);
        if (r.ok) s.data = [...r.vec].join(',');
        break;
      }
      case 'posix_fadvise': sys(m.fadvise(pid, Number(val(a[0]!)), val(a[1]!), val(a[2]!), Number(val(a[3]!)))); break;
      case 'ftruncate': sys(m.ftruncate(pid, Number(val(a[0]!)), val(a[1]!))); break;
      case 'close': sys(m.close(pid, Number(val(a[0]!)))); break;
      case 'fsync': sys(m.fsync(pid, Number(val(a[0]!)))); break;
      case 'load8': case 'load16': case 'load32': case 'load64': {
        const size = Number(o.op.slice(4)) / 8 as 1 | 2 | 4 | 8;
        const r = m.load(pid, val(a[0]!), size);
        access(r);
        if (r.ok) s.value = s.ret = r.value;
        break;
      }
      case 'store8': case 'store16': case 'store32': case 'store64': {
        const size = Number(o.op.slice(5)) / 8 as 1 | 2 | 4 | 8;
        access(m.store(pid, val(a[0]!), size, val(a[1]!)));
        break;
      }
      case 'fill': access(m.storeBytes(pid, val(a[0]!), new Uint8Array(Number(val(a[1]!))).fill(Number(val(a[2]!))))); break;
      case 'fork': {
        const r = m.fork(pid);
        sys(r);
        if (r.ok) tids.set(Number(val(a[0]!)), Number(r.value));
        break;
      }
      case 'maps': s.ret = 0n; s.text = m.maps(pid)!; break;
      case 'smaps': s.ret = 0n; s.text = m.smaps(pid)!; break;
      case 'status': s.ret = 0n; s.text = m.status(pid)!; break;
      case 'checkpoint': s.ret = 0n; break;
      default: throw new Error(`runModel: no model for op ${o.op}`);
    }
    const after = m.rusage(pid)!;
    s.minflt = after.minFlt - before.minFlt;
    s.majflt = after.majFlt - before.majFlt;
    if (s.ret !== null) rets.set(o.step, s.ret);
    out.push(s);
  }
  return out;
}

function fromHost(o: Observation): Seen {
  if (o.error !== null || o.refused !== null) throw new Error(`host step ${o.step}: ${o.error ?? o.refused}`);
  return {
    step: o.step!, op: o.op!, ret: o.ret, errno: o.errno, value: o.value ?? null,
    signal: o.signal === undefined ? null : `${o.signal.name} ${o.signal.code}`,
    minflt: o.minflt, majflt: o.majflt, text: o.text ?? null,
    data: o.bytes !== undefined ? Buffer.from(o.bytes).toString('hex') : o.vec !== undefined ? o.vec.join(',') : null,
  };
}

/** Maps (and smaps) lines inside the regions, addresses relative to each region's base. */
function relativeMaps(text: string, bases: { base: bigint; len: bigint; name: string }[], smaps: boolean): string[] {
  const out: string[] = [];
  const lines = text.split('\n');
  const header = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ (\d+)\s*(.*)$/;
  // Referenced is left out: the model maps fault-around pages old, x86 maps them young (see docs).
  const keep = /^(Rss|Anonymous|LazyFree|Locked|Private_Dirty|Shared_Dirty|Private_Clean|VmFlags):/;
  let current: string | null = null;
  for (const line of lines) {
    const h = header.exec(line);
    if (h !== null) {
      current = null;
      const start = BigInt('0x' + h[1]);
      const end = BigInt('0x' + h[2]);
      for (const r of bases) {
        if (end <= r.base || start >= r.base + r.len) continue;
        const name = h[6]!.replace(/^.*\//, '').replace(/ \(deleted\)$/, '');
        current = `${r.name}+${(start - r.base).toString(16)}-${(end - r.base).toString(16)} ${h[3]} ${h[4]} ${name}`;
        out.push(current);
        break;
      }
      continue;
    }
    if (smaps && current !== null && keep.test(line)) {
      // Neither side maps THP here; VmFlags bits the model has no notion of are dropped.
      out.push('  ' + line.replace(/\s+/g, ' ').replace(/ (ar|sd)\b/g, '').trim());
    }
  }
  return out;
}

/**
 * Run ops on both sides and list every difference. Fault counts are compared
 * for every op but fork and mlockall (whose windows hold the runner's own
 * faults); `skipFaults` names more steps.
 */
function compare(ops: Op[], regions: Region[], skipFaults: number[] = []): string[] {
  const host = runOnHostSync(ops);
  expect(host.complete).toBe(true);
  const h = host.observations.map(fromHost);
  const md = runModel(ops);
  const diffs: string[] = [];
  const hostRets = new Map(h.map((s) => [s.step, s.ret]));
  const modelRets = new Map(md.map((s) => [s.step, s.ret]));
  const basesOf = (rets: Map<number, bigint | null>): { base: bigint; len: bigint; name: string }[] =>
    regions.map((r) => ({ base: (rets.get(r.step) ?? 0n) + BigInt(r.from ?? 0), len: BigInt(r.len), name: `$${r.step}${r.from ? '+' + r.from.toString(16) : ''}` }));
  for (let i = 0; i < ops.length; i++) {
    const o = ops[i]!;
    const x = h[i]!;
    const y = md[i]!;
    const at = `step ${o.step} ${o.op}`;
    if (x.errno !== y.errno) diffs.push(`${at}: errno host ${x.errno} model ${y.errno}`);
    if (x.signal !== y.signal) diffs.push(`${at}: signal host ${x.signal} model ${y.signal}`);
    if (x.value !== y.value) diffs.push(`${at}: value host ${x.value} model ${y.value}`);
    if (x.data !== y.data) diffs.push(`${at}: data host ${x.data} model ${y.data}`);
    if (o.op === 'mremap' && x.ret !== null && y.ret !== null && x.errno === null && y.errno === null) {
      // Moved or not, and by the same distance from the old address when the new one was given.
      const hs = x.ret === hostRets.get((o.args[0] as { step: number }).step);
      const ms = y.ret === modelRets.get((o.args[0] as { step: number }).step);
      if (hs !== ms) diffs.push(`${at}: moved host ${!hs} model ${!ms}`);
    }
    if (['munmap', 'mprotect', 'madvise', 'mlock', 'mlock2', 'munlock', 'munlockall', 'msync', 'write', 'ftruncate', 'openat', 'close'].includes(o.op) && x.ret !== y.ret) {
      diffs.push(`${at}: ret host ${x.ret} model ${y.ret}`);
    }
    if (o.op !== 'fork' && o.op !== 'mlockall' && !skipFaults.includes(o.step) && (x.minflt !== y.minflt || x.majflt !== y.majflt)) {
      diffs.push(`${at}: faults host ${x.minflt}/${x.majflt} model ${y.minflt}/${y.majflt}`);
    }
    if ((o.op === 'maps' || o.op === 'smaps') && x.text !== null && y.text !== null) {
      const hm = relativeMaps(x.text, basesOf(hostRets), o.op === 'smaps');
      const mm = relativeMaps(y.text, basesOf(modelRets), o.op === 'smaps');
      if (hm.join('\n') !== mm.join('\n')) diffs.push(`${at}:\n host:\n  ${hm.join('\n  ')}\n model:\n  ${mm.join('\n  ')}`);
    }
    if (o.op === 'status' && x.text !== null && y.text !== null) {
      const lck = (t: string): string => /VmLck:\s*(\d+)/.exec(t)?.[1] ?? '?';
      if (lck(x.text) !== lck(y.text)) diffs.push(`${at}: VmLck host ${lck(x.text)} model ${lck(y.text)}`);
    }
  }
  if (diffs.length > 0 && process.env['MMSIM_HOST_DIFF']) console.log(diffs.join('\n'));
  return diffs;
}

/** A 64 MiB PROT_NONE reservation (step 1) so scenarios place mappings at fixed offsets inside it. */
const RESERVE = 64 * 1024 * 1024;
const reserve = (): Op => op(1, 0, 'mmap', 0, RESERVE, PROT_NONE, ANON, -1, 0);
const at = (off: number): Arg => ref(1, off);
const fixed = (step: number, off: number, len: number, prot = RW, flags = ANON, fd = -1, pgoff = 0): Op =>
  op(step, 0, 'mmap', at(off), len, prot, flags | MAP_FIXED, fd, pgoff);
const WHOLE: Region = { step: 1, len: RESERVE };

describe.skipIf(!hostOk)('mremap on the host and the model', () => {
  it('errno order of the argument checks', () => {
    const ops: Op[] = [
      reserve(),
      fixed(2, 0, 4 * PAGE),
      fixed(3, 8 * PAGE, 2 * PAGE),
      op(10, 0, 'mremap', at(0), PAGE, PAGE, 8, 0),
      op(11, 0, 'mremap', at(1), PAGE, PAGE, 0, 0),
      op(12, 0, 'mremap', at(0), PAGE, 0, 0, 0),
      op(13, 0, 'mremap', at(0), PAGE, 0x800000000000n, 0, 0),
      op(14, 0, 'mremap', at(0), PAGE, PAGE, MREMAP_FIXED, at(32 * PAGE)),
      op(15, 0, 'mremap', at(0), PAGE, PAGE, MREMAP_FIXED | MREMAP_MAYMOVE, at(32 * PAGE + 1)),
      op(16, 0, 'mremap', at(0), 2 * PAGE, 2 * PAGE, MREMAP_FIXED | MREMAP_MAYMOVE, at(PAGE)),
      op(17, 0, 'mremap', at(0), PAGE, 2 * PAGE, MREMAP_DONTUNMAP | MREMAP_MAYMOVE, at(32 * PAGE)),
      op(18, 0, 'mremap', at(0), PAGE, PAGE, MREMAP_DONTUNMAP, at(32 * PAGE)),
      op(19, 0, 'mremap', at(5 * PAGE), PAGE, 2 * PAGE, MREMAP_MAYMOVE),
      op(20, 0, 'mremap', at(0), 6 * PAGE, 8 * PAGE, MREMAP_MAYMOVE),
      op(21, 0, 'mremap', at(0), 2 * PAGE, 4 * PAGE, 0),
      op(22, 0, 'mremap', at(8 * PAGE), 2 * PAGE, 8 * PAGE, 0),
      op(23, 0, 'mremap', at(0), 0, PAGE, MREMAP_MAYMOVE),
      op(25, 0, 'mremap', at(0), 12 * PAGE, 12 * PAGE, MREMAP_FIXED | MREMAP_MAYMOVE, at(32 * PAGE)),
      op(26, 0, 'mremap', at(16 * PAGE), PAGE, PAGE, MREMAP_FIXED | MREMAP_MAYMOVE, at(32 * PAGE)),
      op(27, 0, 'mremap', at(0), PAGE, PAGE, 0),
      op(30, 0, 'mremap', at(0), PAGE, PAGE, MREMAP_FIXED | MREMAP_MAYMOVE, 0x7ffffffff000n),
      op(31, 0, 'mremap', 0x800000000000n, PAGE, 2 * PAGE, MREMAP_MAYMOVE),
      op(32, 0, 'mremap', at(48 * PAGE), PAGE, PAGE, MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0),
      op(28, 0, 'mremap', at(16 * PAGE), PAGE, PAGE, 0),
      op(29, 0, 'maps'),
    ];
    expect(compare(ops, [WHOLE])).toEqual([]);
  });

  it('shrink, grow in place, grow by moving: pages travel with the mapping', () => {
    const ops: Op[] = [
      reserve(),
      op(2, 0, 'munmap', at(0), RESERVE),
      op(3, 0, 'mmap', at(0), 4 * PAGE, RW, ANON | MAP_FIXED, -1, 0),
      op(4, 0, 'fill', at(0), 4 * PAGE, 0x41),
      op(5, 0, 'store8', at(3 * PAGE), 0x5a),
      op(6, 0, 'mremap', at(0), 4 * PAGE, 2 * PAGE, 0),
      op(7, 0, 'load8', at(3 * PAGE)),
      op(8, 0, 'mremap', at(0), 2 * PAGE, 6 * PAGE, 0),
      op(9, 0, 'load8', at(PAGE)),
      op(10, 0, 'load8', at(3 * PAGE)),
      op(11, 0, 'maps'),
      op(12, 0, 'mmap', at(6 * PAGE), PAGE, PROT_READ, ANON | MAP_FIXED, -1, 0),
      op(13, 0, 'mremap', at(0), 6 * PAGE, 8 * PAGE, 0),
      op(14, 0, 'mremap', at(0), 6 * PAGE, 8 * PAGE, MREMAP_MAYMOVE),
      op(15, 0, 'load8', ref(14, PAGE)),
      op(16, 0, 'load8', ref(14, 3 * PAGE)),
      op(17, 0, 'store8', ref(14, 7 * PAGE), 1),
      op(18, 0, 'load8', at(0)),
      op(19, 0, 'maps'),
      op(20, 0, 'smaps'),
    ];
    expect(compare(ops, [{ step: 1, len: 8 * PAGE }, { step: 14, len: 8 * PAGE }])).toEqual([]);
  });

  it('MREMAP_FIXED replaces the target; DONTUNMAP leaves the old range mapped and empty; COW state moves', () => {
    const ops: Op[] = [
      reserve(),
      fixed(2, 0, 4 * PAGE),
      op(3, 0, 'fill', at(0), 4 * PAGE, 0x11),
      fixed(4, 16 * PAGE, 8 * PAGE, PROT_READ),
      op(5, 0, 'mremap', at(PAGE), 2 * PAGE, 2 * PAGE, MREMAP_FIXED | MREMAP_MAYMOVE, at(18 * PAGE)),
      op(6, 0, 'load8', at(18 * PAGE)),
      op(7, 0, 'load8', at(PAGE)),
      op(8, 0, 'maps'),
      op(9, 0, 'mremap', at(0), PAGE, PAGE, MREMAP_DONTUNMAP | MREMAP_MAYMOVE, at(32 * PAGE)),
      op(10, 0, 'load8', at(32 * PAGE)),
      op(11, 0, 'load8', at(0)),
      op(12, 0, 'maps'),
      op(13, 0, 'fork', 1),
      op(14, 0, 'mremap', at(3 * PAGE), PAGE, PAGE, MREMAP_FIXED | MREMAP_MAYMOVE, at(40 * PAGE)),
      op(15, 0, 'store8', at(40 * PAGE), 0x22),
      op(16, 1, 'load8', at(3 * PAGE)),
      op(17, 0, 'load8', at(40 * PAGE)),
      op(18, 0, 'smaps'),
    ];
    expect(compare(ops, [WHOLE])).toEqual([]);
  });

  it('a fixed move of equal length may span several VMAs; a resize may not', () => {
    const ops: Op[] = [
      reserve(),
      fixed(2, 0, 2 * PAGE),
      fixed(3, 2 * PAGE, 2 * PAGE, PROT_READ),
      fixed(4, 5 * PAGE, PAGE),
      op(5, 0, 'store8', at(0), 7),
      op(6, 0, 'mremap', at(0), 4 * PAGE, 5 * PAGE, MREMAP_MAYMOVE),
      op(7, 0, 'mremap', at(0), 6 * PAGE, 6 * PAGE, MREMAP_FIXED | MREMAP_MAYMOVE, at(32 * PAGE)),
      op(8, 0, 'load8', at(32 * PAGE)),
      op(9, 0, 'maps'),
    ];
    expect(compare(ops, [WHOLE])).toEqual([]);
  });

  it('DONTUNMAP of shared and file mappings (allowed since 5.13), old_len 0 duplicates a shared mapping, shmem grown past its size', () => {
    const ops: Op[] = [
      reserve(),
      fixed(2, 0, 2 * PAGE, RW, MAP_SHARED | MAP_ANONYMOUS),
      op(3, 0, 'fill', at(0), 2 * PAGE, 0x44),
      op(4, 0, 'mremap', at(0), 2 * PAGE, 2 * PAGE, MREMAP_DONTUNMAP | MREMAP_MAYMOVE, at(32 * PAGE)),
      op(5, 0, 'load8', at(0)),
      op(6, 0, 'load8', at(32 * PAGE)),
      op(7, 0, 'mremap', at(32 * PAGE), 0, 2 * PAGE, MREMAP_FIXED | MREMAP_MAYMOVE, at(40 * PAGE)),
      op(8, 0, 'store8', at(40 * PAGE), 0x45),
      op(9, 0, 'load8', at(32 * PAGE)),
      op(10, 0, 'mremap', at(40 * PAGE), 2 * PAGE, 4 * PAGE, 0),
      op(11, 0, 'load8', at(43 * PAGE)),
      op(12, 0, 'openat', b('f'), O_RDWR | O_CREAT, 0o644),
      op(13, 0, 'write', 3, b('private file')),
      fixed(14, 8 * PAGE, PAGE, RW, MAP_PRIVATE, 3),
      op(15, 0, 'store8', at(8 * PAGE), 0x50),
      op(16, 0, 'mremap', at(8 * PAGE), PAGE, PAGE, MREMAP_DONTUNMAP | MREMAP_MAYMOVE, at(48 * PAGE)),
      op(17, 0, 'load8', at(8 * PAGE)),
      op(18, 0, 'load8', at(48 * PAGE)),
      fixed(19, 12 * PAGE, 2 * PAGE, RW, ANON | MAP_LOCKED),
      op(20, 0, 'mremap', at(12 * PAGE), 2 * PAGE, 2 * PAGE, MREMAP_DONTUNMAP | MREMAP_MAYMOVE, at(56 * PAGE)),
      op(21, 0, 'smaps'),
      // VmLck 16 kB: locked_vm gains the new range and, DONTUNMAP "not touching
      // locked_vm", keeps the old one that is no longer locked.
      op(22, 0, 'status'),
    ];
    expect(compare(ops, [WHOLE])).toEqual([]);
  });

  it('a private file mapping moves with its COW copies and grows past end of file; a move inside its own VMA', () => {
    const ops: Op[] = [
      reserve(),
      op(2, 0, 'openat', b('f'), O_RDWR | O_CREAT, 0o644),
      op(3, 0, 'write', 3, b('0123456789')),
      fixed(4, 0, PAGE, RW, MAP_PRIVATE, 3),
      op(5, 0, 'store8', at(1), 0x41),
      op(6, 0, 'mremap', at(0), PAGE, 3 * PAGE, MREMAP_MAYMOVE),
      op(7, 0, 'load8', ref(6, 1)),
      op(8, 0, 'load8', ref(6, 2)),
      op(9, 0, 'load8', ref(6, PAGE)),
      op(10, 0, 'maps'),
      fixed(11, 16 * PAGE, 8 * PAGE),
      op(12, 0, 'fill', at(16 * PAGE), 8 * PAGE, 0x10),
      op(13, 0, 'store8', at(17 * PAGE), 0x11),
      op(14, 0, 'mremap', at(16 * PAGE), 2 * PAGE, 2 * PAGE, MREMAP_FIXED | MREMAP_MAYMOVE, at(20 * PAGE)),
      op(15, 0, 'load8', at(21 * PAGE)),
      op(16, 0, 'load8', at(16 * PAGE)),
      op(17, 0, 'load8', at(22 * PAGE)),
      op(18, 0, 'mremap', at(20 * PAGE), 2 * PAGE, PAGE, MREMAP_FIXED | MREMAP_MAYMOVE, at(40 * PAGE)),
      op(19, 0, 'load8', at(21 * PAGE)),
      op(20, 0, 'smaps'),
    ];
    expect(compare(ops, [WHOLE, { step: 6, len: 3 * PAGE }])).toEqual([]);
  });

  it('file and shared mappings move with their offsets; a locked mapping grown is populated', () => {
    const ops: Op[] = [
      reserve(),
      op(2, 0, 'openat', b('f'), O_RDWR | O_CREAT, 0o644),
      op(3, 0, 'ftruncate', 3, 16 * PAGE),
      fixed(4, 0, 4 * PAGE, RW, MAP_SHARED, 3, 4 * PAGE),
      op(5, 0, 'store8', at(PAGE), 0x33),
      op(6, 0, 'mremap', at(0), 4 * PAGE, 8 * PAGE, MREMAP_FIXED | MREMAP_MAYMOVE, at(32 * PAGE)),
      op(7, 0, 'load8', at(33 * PAGE)),
      op(8, 0, 'load8', at(39 * PAGE)),
      fixed(9, 8 * PAGE, 2 * PAGE, RW, ANON | MAP_LOCKED),
      op(10, 0, 'mremap', at(8 * PAGE), 2 * PAGE, 4 * PAGE, 0),
      op(11, 0, 'smaps'),
      op(12, 0, 'status'),
    ];
    expect(compare(ops, [WHOLE])).toEqual([]);
  });
});

const MADV_NORMAL = 0;
const MADV_RANDOM = 1;
const MADV_SEQUENTIAL = 2;
const MADV_WILLNEED = 3;
const MADV_DONTNEED = 4;
const MADV_FREE = 8;
const MADV_REMOVE = 9;
const MADV_DONTFORK = 10;
const MADV_MERGEABLE = 12;
const MADV_HUGEPAGE = 14;
const MADV_NOHUGEPAGE = 15;
const MADV_DONTDUMP = 16;
const MADV_WIPEONFORK = 18;
const MADV_COLD = 20;
const MADV_PAGEOUT = 21;
const MADV_POPULATE_READ = 22;
const MADV_POPULATE_WRITE = 23;
const MADV_DONTNEED_LOCKED = 24;
const POSIX_FADV_DONTNEED = 4;
const MS_INVALIDATE = 2;

describe.skipIf(!hostOk)('madvise on the host and the model', () => {
  it('errno order: validation first, holes give ENOMEM after the rest was advised', () => {
    const ops: Op[] = [
      reserve(),
      op(2, 0, 'openat', b('f'), O_RDWR | O_CREAT, 0o644),
      op(3, 0, 'ftruncate', 3, 2 * PAGE),
      fixed(4, 0, 4 * PAGE),
      fixed(5, 8 * PAGE, 4 * PAGE, RW, MAP_SHARED | MAP_ANONYMOUS),
      fixed(6, 16 * PAGE, 4 * PAGE, RW, MAP_PRIVATE, 3),
      fixed(7, 24 * PAGE, 4 * PAGE, RW, MAP_SHARED, 3),
      op(8, 0, 'munmap', at(4 * PAGE), 4 * PAGE),
      op(10, 0, 'madvise', at(0), PAGE, 7),
      op(11, 0, 'madvise', at(0), PAGE, 99),
      op(12, 0, 'madvise', at(1), PAGE, MADV_NORMAL),
      op(13, 0, 'madvise', at(0), -1, MADV_NORMAL),
      op(14, 0, 'madvise', at(0), 0, MADV_NORMAL),
      op(15, 0, 'madvise', at(0), 12 * PAGE, MADV_DONTFORK),
      op(16, 0, 'madvise', at(8 * PAGE), PAGE, MADV_WIPEONFORK),
      op(17, 0, 'madvise', at(16 * PAGE), PAGE, MADV_WIPEONFORK),
      op(18, 0, 'madvise', at(PAGE), PAGE, MADV_WIPEONFORK),
      op(19, 0, 'madvise', at(16 * PAGE), PAGE, MADV_FREE),
      op(20, 0, 'madvise', at(8 * PAGE), PAGE, MADV_FREE),
      op(21, 0, 'madvise', at(0), PAGE, MADV_REMOVE),
      op(22, 0, 'madvise', at(16 * PAGE), PAGE, MADV_REMOVE),
      op(23, 0, 'madvise', at(4 * PAGE), PAGE, MADV_DONTNEED),
      op(24, 0, 'madvise', at(0), 6 * PAGE, MADV_SEQUENTIAL),
      op(25, 0, 'madvise', at(0), 2 * PAGE, MADV_NORMAL),
      op(26, 0, 'madvise', at(4 * PAGE), 4 * PAGE, MADV_RANDOM),
      op(27, 0, 'madvise', at(8 * PAGE), 4 * PAGE, MADV_MERGEABLE),
      op(28, 0, 'madvise', at(0), PAGE, MADV_MERGEABLE),
      op(29, 0, 'madvise', at(2 * PAGE), PAGE, MADV_HUGEPAGE),
      op(30, 0, 'madvise', at(3 * PAGE), PAGE, MADV_NOHUGEPAGE),
      op(31, 0, 'madvise', at(24 * PAGE), 2 * PAGE, MADV_DONTDUMP),
      op(32, 0, 'madvise', at(40 * PAGE), PAGE, MADV_POPULATE_READ),
      op(33, 0, 'madvise', at(4 * PAGE), 8 * PAGE, MADV_POPULATE_READ),
      op(34, 0, 'madvise', at(0), 8 * PAGE, MADV_POPULATE_WRITE),
      op(35, 0, 'madvise', at(30 * PAGE), PAGE, MADV_POPULATE_WRITE),
      op(36, 0, 'madvise', at(16 * PAGE), 4 * PAGE, MADV_POPULATE_READ),
      op(37, 0, 'madvise', at(40 * PAGE), PAGE, MADV_COLD),
      op(39, 0, 'madvise', 0x800000000000n, PAGE, MADV_NORMAL),
      op(40, 0, 'madvise', 0x800000000000n, PAGE, MADV_POPULATE_READ),
      op(41, 0, 'madvise', 0xfffffffffffff000n, 2 * PAGE, MADV_NORMAL),
      op(42, 0, 'madvise', at(0), 0x1000000000000n, MADV_DONTDUMP),
      op(38, 0, 'smaps'),
    ];
    expect(compare(ops, [{ step: 1, len: 32 * PAGE }])).toEqual([]);
  });

  it('DONTNEED: private anonymous reads zeros, private file reads the file, shared keeps its data', () => {
    const ops: Op[] = [
      reserve(),
      op(2, 0, 'openat', b('f'), O_RDWR | O_CREAT, 0o644),
      op(3, 0, 'write', 3, b('file data here')),
      fixed(4, 0, 2 * PAGE),
      op(5, 0, 'fill', at(0), 2 * PAGE, 0x41),
      fixed(6, 4 * PAGE, PAGE, RW, MAP_PRIVATE, 3),
      op(7, 0, 'store8', at(4 * PAGE), 0x58),
      fixed(8, 8 * PAGE, PAGE, RW, MAP_SHARED, 3),
      op(9, 0, 'store8', at(8 * PAGE + 1), 0x59),
      fixed(10, 12 * PAGE, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS),
      op(11, 0, 'store8', at(12 * PAGE), 0x5a),
      op(12, 0, 'madvise', at(0), 16 * PAGE, MADV_DONTNEED),
      op(13, 0, 'smaps'),
      op(14, 0, 'load8', at(0)),
      op(15, 0, 'load8', at(4 * PAGE)),
      op(16, 0, 'load8', at(4 * PAGE + 1)),
      op(17, 0, 'load8', at(8 * PAGE + 1)),
      op(18, 0, 'load8', at(12 * PAGE)),
      op(19, 0, 'pread', 3, 4, 0),
      op(20, 0, 'smaps'),
    ];
    expect(compare(ops, [{ step: 1, len: 16 * PAGE }])).toEqual([]);
  });

  it('FREE: the data stays until reclaim; PAGEOUT reclaims clean lazy-free pages, and file pages mapped once', () => {
    const ops: Op[] = [
      reserve(),
      fixed(2, 0, 4 * PAGE),
      op(3, 0, 'fill', at(0), 4 * PAGE, 0x41),
      op(4, 0, 'madvise', at(0), 4 * PAGE, MADV_FREE),
      // folio_mark_lazyfree() queues the page on a per-CPU batch drained by the next
      // lru_add_drain(): LazyFree shows 0 until then on the host (the model marks at once).
      // MADV_COLD of an empty range drains it.
      op(40, 0, 'madvise', at(40 * PAGE), PAGE, MADV_COLD),
      op(41, 0, 'smaps'),
      op(5, 0, 'load8', at(0)),
      op(6, 0, 'store8', at(PAGE), 0x42),
      op(7, 0, 'madvise', at(0), 4 * PAGE, MADV_PAGEOUT),
      op(8, 0, 'load8', at(0)),
      op(9, 0, 'load8', at(PAGE)),
      op(10, 0, 'load8', at(2 * PAGE)),
      op(11, 0, 'smaps'),
      op(12, 0, 'openat', b('f'), O_RDWR | O_CREAT, 0o644),
      op(13, 0, 'write', 3, b('abcdef')),
      op(14, 0, 'fsync', 3),
      fixed(15, 8 * PAGE, PAGE, PROT_READ, MAP_PRIVATE, 3),
      op(16, 0, 'load8', at(8 * PAGE)),
      op(17, 0, 'madvise', at(8 * PAGE), PAGE, MADV_PAGEOUT),
      op(18, 0, 'mincore', at(8 * PAGE), PAGE),
      op(19, 0, 'load8', at(8 * PAGE + 2)),
      fixed(20, 12 * PAGE, 2 * PAGE),
      op(21, 0, 'fill', at(12 * PAGE), 2 * PAGE, 0x43),
      op(22, 0, 'madvise', at(12 * PAGE), 2 * PAGE, MADV_PAGEOUT),
      op(23, 0, 'madvise', at(12 * PAGE), 2 * PAGE, MADV_COLD),
      op(24, 0, 'load8', at(12 * PAGE)),
      op(25, 0, 'smaps'),
    ];
    expect(compare(ops, [{ step: 1, len: 16 * PAGE }])).toEqual([]);
  });

  it('REMOVE punches a hole in shmem and in a shared file; WILLNEED reads a file in ahead of the faults', () => {
    const ops: Op[] = [
      reserve(),
      fixed(2, 0, 2 * PAGE, RW, MAP_SHARED | MAP_ANONYMOUS),
      op(3, 0, 'fill', at(0), 2 * PAGE, 0x61),
      op(4, 0, 'madvise', at(PAGE), PAGE, MADV_REMOVE),
      op(5, 0, 'load8', at(0)),
      op(6, 0, 'load8', at(PAGE)),
      op(7, 0, 'openat', b('f'), O_RDWR | O_CREAT, 0o644),
      op(8, 0, 'ftruncate', 3, 8 * PAGE),
      fixed(9, 4 * PAGE, 8 * PAGE, RW, MAP_SHARED, 3),
      op(10, 0, 'fill', at(4 * PAGE), 8 * PAGE, 0x62),
      op(11, 0, 'fsync', 3),
      op(12, 0, 'madvise', at(5 * PAGE), 2 * PAGE, MADV_REMOVE),
      op(13, 0, 'load8', at(5 * PAGE)),
      op(14, 0, 'pread', 3, 2, 6 * PAGE - 1),
      op(15, 0, 'munmap', at(4 * PAGE), 8 * PAGE),
      op(16, 0, 'posix_fadvise', 3, 0, 0, POSIX_FADV_DONTNEED),
      fixed(17, 4 * PAGE, 8 * PAGE, PROT_READ, MAP_SHARED, 3),
      op(18, 0, 'madvise', at(4 * PAGE), 8 * PAGE, MADV_WILLNEED),
      // No mincore here: the host's readahead completes asynchronously, so which pages are uptodate varies.
      op(20, 0, 'load8', at(8 * PAGE)),
      op(21, 0, 'load8', at(4 * PAGE)),
      op(22, 0, 'maps'),
    ];
    expect(compare(ops, [{ step: 1, len: 16 * PAGE }])).toEqual([]);
  });

  it('after fork: DONTNEED in the child leaves the parent its data; FREE and PAGEOUT of pages both map', () => {
    const ops: Op[] = [
      reserve(),
      fixed(2, 0, 4 * PAGE),
      op(3, 0, 'fill', at(0), 4 * PAGE, 0x71),
      op(4, 0, 'fork', 1),
      op(5, 1, 'madvise', at(0), 2 * PAGE, MADV_DONTNEED),
      op(6, 1, 'load8', at(0)),
      op(7, 0, 'load8', at(0)),
      op(8, 0, 'madvise', at(2 * PAGE), 2 * PAGE, MADV_FREE),
      op(9, 0, 'madvise', at(2 * PAGE), 2 * PAGE, MADV_PAGEOUT),
      op(10, 0, 'load8', at(2 * PAGE)),
      op(11, 1, 'load8', at(3 * PAGE)),
      op(12, 1, 'store8', at(3 * PAGE), 0x72),
      op(13, 0, 'load8', at(3 * PAGE)),
      op(14, 1, 'mremap', at(2 * PAGE), 2 * PAGE, 2 * PAGE, MREMAP_FIXED | MREMAP_MAYMOVE, at(16 * PAGE)),
      op(15, 1, 'load8', at(17 * PAGE)),
      op(16, 0, 'load8', at(2 * PAGE)),
      op(17, 0, 'smaps'),
      op(18, 1, 'maps'),
    ];
    expect(compare(ops, [{ step: 1, len: 20 * PAGE }])).toEqual([]);
  });

  it('POPULATE_READ/WRITE fault pages in; DONTFORK and WIPEONFORK show in the child', () => {
    const ops: Op[] = [
      reserve(),
      fixed(2, 0, 4 * PAGE),
      op(3, 0, 'madvise', at(0), 4 * PAGE, MADV_POPULATE_READ),
      op(4, 0, 'madvise', at(0), 4 * PAGE, MADV_POPULATE_WRITE),
      op(5, 0, 'madvise', at(0), 4 * PAGE, MADV_POPULATE_WRITE),
      op(6, 0, 'openat', b('f'), O_RDWR | O_CREAT, 0o644),
      op(7, 0, 'ftruncate', 3, 3 * PAGE),
      fixed(8, 8 * PAGE, 4 * PAGE, RW, MAP_PRIVATE, 3),
      op(9, 0, 'madvise', at(8 * PAGE), 4 * PAGE, MADV_POPULATE_READ),
      op(10, 0, 'madvise', at(8 * PAGE), 2 * PAGE, MADV_POPULATE_WRITE),
      op(11, 0, 'smaps'),
      fixed(12, 16 * PAGE, PAGE),
      op(13, 0, 'store8', at(16 * PAGE), 9),
      op(14, 0, 'store8', at(PAGE), 8),
      op(15, 0, 'madvise', at(16 * PAGE), PAGE, MADV_WIPEONFORK),
      op(16, 0, 'madvise', at(0), PAGE, MADV_DONTFORK),
      op(17, 0, 'fork', 1),
      op(18, 1, 'load8', at(16 * PAGE)),
      op(19, 1, 'load8', at(0)),
      op(20, 1, 'load8', at(PAGE)),
      op(21, 1, 'maps'),
      op(22, 0, 'load8', at(16 * PAGE)),
    ];
    expect(compare(ops, [{ step: 1, len: 20 * PAGE }])).toEqual([]);
  });
});

describe.skipIf(!hostOk)('the mlock family on the host and the model', () => {
  it('errno order and what stays applied on an error', () => {
    const ops: Op[] = [
      reserve(),
      fixed(2, 0, 2 * PAGE),
      fixed(3, 4 * PAGE, 2 * PAGE, PROT_NONE),
      op(10, 0, 'mlock', at(0), 4 * PAGE),
      op(11, 0, 'mlock', at(8 * PAGE), PAGE),
      op(12, 0, 'munlock', at(0), 3 * PAGE),
      op(13, 0, 'mlock', at(4 * PAGE), 2 * PAGE),
      op(14, 0, 'mlock2', at(0), PAGE, 2),
      op(15, 0, 'mlock2', at(0), PAGE, 0x100000000n),
      op(16, 0, 'mlockall', 0),
      op(17, 0, 'mlockall', 4),
      op(18, 0, 'mlockall', 8),
      op(19, 0, 'mlock', at(1), 1),
      op(23, 0, 'mlock', at(0), -PAGE),
      op(24, 0, 'mlock', 0x800000000000n, PAGE),
      op(25, 0, 'munlock', at(0), -PAGE),
      op(26, 0, 'mlock2', at(0), PAGE, -1),
      op(20, 0, 'smaps'),
      op(21, 0, 'munlock', at(0), 6 * PAGE),
      op(22, 0, 'smaps'),
    ];
    expect(compare(ops, [{ step: 1, len: 8 * PAGE }])).toEqual([]);
  });

  it('mlock populates and locks; mlock2(MLOCK_ONFAULT) locks as pages fault; munlock undoes both', () => {
    const ops: Op[] = [
      reserve(),
      op(2, 0, 'openat', b('f'), O_RDWR | O_CREAT, 0o644),
      op(3, 0, 'ftruncate', 3, 4 * PAGE),
      fixed(4, 0, 4 * PAGE),
      op(5, 0, 'mlock', at(PAGE), 2 * PAGE),
      op(6, 0, 'smaps'),
      op(7, 0, 'status'),
      fixed(8, 8 * PAGE, 4 * PAGE),
      op(9, 0, 'mlock2', at(8 * PAGE), 4 * PAGE, 1),
      op(10, 0, 'store8', at(9 * PAGE), 1),
      op(11, 0, 'smaps'),
      fixed(12, 16 * PAGE, 4 * PAGE, PROT_READ, MAP_SHARED, 3),
      op(13, 0, 'mlock', at(16 * PAGE), 4 * PAGE),
      op(14, 0, 'msync', at(16 * PAGE), PAGE, MS_INVALIDATE),
      op(15, 0, 'madvise', at(16 * PAGE), PAGE, MADV_DONTNEED),
      op(16, 0, 'madvise', at(PAGE), PAGE, MADV_DONTNEED_LOCKED),
      op(17, 0, 'load8', at(PAGE)),
      op(18, 0, 'status'),
      op(19, 0, 'munlock', at(0), 20 * PAGE),
      op(20, 0, 'smaps'),
      op(21, 0, 'status'),
      fixed(22, 24 * PAGE, 3 * PAGE, RW, ANON | MAP_LOCKED),
      op(23, 0, 'smaps'),
    ];
    expect(compare(ops, [{ step: 1, len: 32 * PAGE }])).toEqual([]);
  });

  it('mlock of a private file mapping writes (COW) every page; a locked mapping moved and grown is populated; MCL_CURRENT|MCL_ONFAULT', () => {
    const ops: Op[] = [
      reserve(),
      op(2, 0, 'openat', b('f'), O_RDWR | O_CREAT, 0o644),
      op(3, 0, 'write', 3, b('abc')),
      op(4, 0, 'ftruncate', 3, 4 * PAGE),
      op(5, 0, 'fsync', 3),
      op(6, 0, 'posix_fadvise', 3, 0, 0, POSIX_FADV_DONTNEED),
      fixed(7, 0, 4 * PAGE, RW, MAP_PRIVATE, 3),
      op(8, 0, 'mlock', at(0), 4 * PAGE),
      op(9, 0, 'load8', at(1)),
      op(10, 0, 'smaps'),
      fixed(11, 8 * PAGE, 2 * PAGE),
      fixed(12, 10 * PAGE, PAGE, PROT_READ),
      op(13, 0, 'mlock', at(8 * PAGE), 2 * PAGE),
      op(14, 0, 'mremap', at(8 * PAGE), 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE),
      op(15, 0, 'smaps'),
      op(16, 0, 'mlockall', 5),
      fixed(17, 20 * PAGE, 2 * PAGE),
      op(18, 0, 'smaps'),
      op(19, 0, 'munlockall'),
      op(20, 0, 'smaps'),
    ];
    expect(compare(ops, [{ step: 1, len: 24 * PAGE }, { step: 14, len: 4 * PAGE }])).toEqual([]);
  });

  it('mlockall(MCL_FUTURE) locks and populates later mappings; munlockall stops it', () => {
    const ops: Op[] = [
      reserve(),
      op(2, 0, 'mlockall', 2),
      fixed(3, 0, 3 * PAGE),
      op(4, 0, 'mlockall', 6),
      fixed(5, 4 * PAGE, 3 * PAGE),
      op(6, 0, 'store8', at(4 * PAGE), 1),
      op(7, 0, 'munlockall'),
      fixed(8, 8 * PAGE, 3 * PAGE),
      op(9, 0, 'smaps'),
    ];
    expect(compare(ops, [{ step: 1, len: 12 * PAGE }])).toEqual([]);
  });
});

describe.skipIf(!hostOk)('MAP_LOCKED and MAP_POPULATE on the host and the model', () => {
  it('populate a file mapping through __mm_populate()', () => {
    const MAP_POPULATE = 0x8000;
    const ops: Op[] = [
      reserve(),
      op(2, 0, 'openat', b('f'), O_RDWR | O_CREAT, 0o644),
      op(3, 0, 'ftruncate', 3, 8 * PAGE),
      fixed(4, 0, 4 * PAGE, PROT_READ, MAP_SHARED | MAP_LOCKED, 3),
      op(5, 0, 'openat', b('g'), O_RDWR | O_CREAT, 0o644),
      op(6, 0, 'ftruncate', 4, 8 * PAGE),
      fixed(7, 8 * PAGE, 4 * PAGE, RW, MAP_PRIVATE | MAP_POPULATE, 4),
      fixed(8, 16 * PAGE, 4 * PAGE, RW, ANON | MAP_POPULATE),
      op(9, 0, 'smaps'),
    ];
    expect(compare(ops, [{ step: 1, len: 32 * PAGE }])).toEqual([]);
  });
});
