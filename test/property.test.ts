/**
 * Property tests: random sequences of mmap, munmap, mprotect, msync,
 * mincore, ftruncate, pwrite, pread, loads, stores, fork and exit, run on a paranoid
 * Machine (every invariant re-validated after each step) and on the flat
 * reference model (test/reference-model.ts); after every step the results,
 * the outcome of each access and the per-page protection shown by
 * /proc/PID/maps must agree. And a robustness property: no arguments make a
 * syscall method throw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ARCH_PROFILES, type ArchName } from '../src/kernel/arch/profile.js';
import { type AccessResult, Machine, type SysResult } from '../src/kernel/machine.js';
import {
  AT_FDCWD, MAP_ANONYMOUS, MAP_DROPPABLE, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_NONBLOCK, MAP_NORESERVE, MAP_POPULATE,
  MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE, O_CREAT, O_RDONLY, O_RDWR, O_WRONLY, PROT_EXEC, PROT_READ, PROT_WRITE,
} from '../src/kernel/uapi.js';
import { RefModel, type RefOutcome, type RefResult, refArch } from './reference-model.js';

const WIN = 0x10000000n;
/** The window the sequences work in: small, so that mappings overlap and accesses hit them. */
const WIN_PAGES = 24;
const SEED = Number(process.env.PROP_SEED ?? 0x6d6d73);

/** The profile's page size (as a number and a bigint) and TASK_SIZE. */
interface Geometry {
  arch: ArchName;
  PAGE: number;
  P: bigint;
  TASK_SIZE: bigint;
}

function geometry(arch: ArchName): Geometry {
  const a = ARCH_PROFILES[arch];
  return { arch, PAGE: a.pageSize, P: BigInt(a.pageSize), TASK_SIZE: BigInt(a.taskSize) };
}

// --- arguments ---

/** The operation generators for one profile: lengths, offsets and addresses in its pages. */
function arbitraries({ PAGE, P, TASK_SIZE }: Geometry) {
  const hugeLens = [1n << 63n, (1n << 64n) - 1n, (1n << 64n) - P, TASK_SIZE, TASK_SIZE + 1n, 1n << 47n];
  const smallLen = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 8 }).map((n) => BigInt(n) * P) },
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 8 * PAGE }).map(BigInt) },
    { weight: 1, arbitrary: fc.constant(0n) },
  );
  /** Lengths for mmap: small, zero, or beyond TASK_SIZE (never mid-size, which would map 2^30 reference pages). */
  const mmapLen = fc.oneof({ weight: 9, arbitrary: smallLen }, { weight: 1, arbitrary: fc.constantFrom(...hugeLens) });
  /** Lengths for the other calls: anything, including mid-size ones that reach far past the window. */
  const anyLen = fc.oneof(
    { weight: 8, arbitrary: smallLen },
    { weight: 1, arbitrary: fc.constantFrom(...hugeLens) },
    { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) },
  );
  const protBits = fc.integer({ min: 0, max: 7 });
  const protJunk = fc.constantFrom(0n, 0n, 0n, 0n, 0x8n, 0x10n, 0x100n, 1n << 32n);
  const prot = fc.tuple(protBits, protJunk).map(([p, j]) => BigInt(p) | j);
  const mapType = fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(MAP_PRIVATE, MAP_SHARED) },
    { weight: 1, arbitrary: fc.constantFrom(MAP_SHARED_VALIDATE, 0, 0xf, MAP_DROPPABLE) },
  );
  const extraFlags = fc.oneof(
    { weight: 3, arbitrary: fc.constant([] as bigint[]) },
    { weight: 1, arbitrary: fc.constant([BigInt(MAP_POPULATE)]) },
    { weight: 1, arbitrary: fc.subarray([BigInt(MAP_POPULATE), BigInt(MAP_NORESERVE), 0x400n, BigInt(MAP_NONBLOCK), 1n << 32n], { maxLength: 2 }) },
  );
  const fdArb = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(3, 4) }, { weight: 1, arbitrary: fc.constantFrom(5, 6, -1, 99) });
  const offArb = fc.oneof(
    { weight: 16, arbitrary: fc.integer({ min: 0, max: 8 }).map((n) => BigInt(n) * P) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: PAGE - 1 }).map(BigInt) },
    { weight: 1, arbitrary: fc.constantFrom((1n << 63n) - P, (1n << 64n) - P, 1n << 62n) },
  );
  const flagsArb = (fixed: boolean): fc.Arbitrary<bigint> =>
    fc.record({ type: mapType, anon: fc.boolean(), noreplace: fc.integer({ min: 0, max: 5 }), extra: extraFlags }).map((r) => {
      let f = BigInt(r.type) | (r.anon ? BigInt(MAP_ANONYMOUS) : 0n);
      if (fixed) f |= r.noreplace === 0 ? BigInt(MAP_FIXED_NOREPLACE) : BigInt(MAP_FIXED);
      for (const e of r.extra) f |= e;
      return f;
    });

  /** An address: a window page, or a page of (or just past) a mapping placed by the model; sometimes unaligned. */
  const target = fc.record({
    region: fc.oneof({ weight: 4, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 7 }) }),
    page: fc.integer({ min: 0, max: WIN_PAGES - 1 }),
    unaligned: fc.oneof({ weight: 20, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: PAGE - 1 }) }),
  });

  /** A file offset: near the start of one of the first pages, mostly where loads look. */
  const fileOffset = fc.oneof(
    { weight: 3, arbitrary: fc.tuple(fc.integer({ min: 0, max: 8 }), fc.constantFrom(0, 8, 16, 100, 4088)).map(([pg, o]) => pg * PAGE + o) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 9 * PAGE }) },
  );
  const fileData = fc.oneof(
    fc.uint8Array({ min: 1, max: 255, minLength: 1, maxLength: 32 }),
    fc.integer({ min: 1, max: 3 * PAGE }).map((n) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff || 1)),
  );
  /** Sizes for ftruncate: cutting into a page just before the favourite offsets, anything, or invalid. */
  const truncLen = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.integer({ min: 0, max: 8 }), fc.constantFrom(0, 4, 12, 50, 2000)).map(([pg, o]) => BigInt(pg * PAGE + o)) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 10 * PAGE }).map(BigInt) },
    { weight: 1, arbitrary: fc.constantFrom(-1n, 1n << 63n) },
  );
  const accessSize = fc.constantFrom(1, 2, 4, 8) as fc.Arbitrary<1 | 2 | 4 | 8>;
  /** Offsets in the page: a few favourites, so loads meet earlier stores and write()s, and any. */
  const inPage = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(0, 8, 16, 100, 4088) }, { weight: 1, arbitrary: fc.nat(PAGE - 1) });

  const opArb = fc.oneof(
    { weight: 8, arbitrary: fc.record({ op: fc.constant('mmapFixed' as const), t: target, len: mmapLen, prot, flags: flagsArb(true), fd: fdArb, off: offArb }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('mmapHint' as const), hint: fc.option(target, { nil: undefined }), len: mmapLen, prot, flags: flagsArb(false), fd: fdArb, off: offArb }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('munmap' as const), t: target, len: anyLen }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('mprotect' as const), t: target, len: anyLen, prot }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('msync' as const), t: target, len: anyLen, flags: fc.constantFrom(0n, 1n, 2n, 3n, 4n, 5n, 6n, 8n) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('mincore' as const), t: target, len: anyLen }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('ftruncate' as const), fd: fc.constantFrom(3, 4, 3, 4, 5), len: truncLen }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('pwrite' as const), fd: fc.constantFrom(3, 4, 4, 3, 6), pos: fileOffset, data: fileData }) },
    { weight: 1, arbitrary: fc.oneof(
        fc.record({ op: fc.constant('pread' as const), fd: fc.constantFrom(3, 4, 5, 6), pos: fc.integer({ min: 0, max: 9 * PAGE }), count: fc.integer({ min: 0, max: 3 * PAGE }) }),
        // The whole file: zeroed tails of truncated pages, holes, bytes beyond an old end.
        fc.record({ op: fc.constant('pread' as const), fd: fc.constantFrom(3, 4), pos: fc.constant(0), count: fc.constant(16 * PAGE) }),
      ) },
    { weight: 8, arbitrary: fc.record({ op: fc.constant('load' as const), t: target, size: accessSize, o: inPage }) },
    { weight: 8, arbitrary: fc.record({ op: fc.constant('loadRecent' as const), back: fc.nat(7), size: accessSize }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('fork' as const) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('exit' as const) }) },
    { weight: 6, arbitrary: fc.record({ op: fc.constant('store' as const), t: target, size: accessSize, o: inPage, value: fc.oneof(fc.constant(0n), fc.noBias(fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }))) }) },
  );
  /** Each step runs in one of the processes (a fork op makes up to three). */
  return { stepArb: fc.tuple(opArb, fc.nat(5)).map(([o, proc]) => ({ ...o, proc })) };
}
type Op = ReturnType<typeof arbitraries>['stepArb'] extends fc.Arbitrary<infer T> ? T : never;
type Target = { region: number; page: number; unaligned: number };

// --- the harness ---

interface World {
  geo: Geometry;
  m: Machine;
  /** The processes: the first one and its forked children, each with its reference. */
  procs: { pid: number; ref: RefModel }[];
  /** The process the current step runs in. */
  pid: number;
  ref: RefModel;
  /** Mappings the model placed (non-fixed mmap): start addresses. */
  regions: bigint[];
  /** Addresses of the latest stores, newest last, for loads that look there again. */
  recent: bigint[];
}

function makeWorld(geo: Geometry): World {
  const { P, TASK_SIZE } = geo;
  const m = new Machine({ arch: geo.arch, paranoid: true, settings: { memTotal: 64 * 1024 * 1024, protectionKeys: false } });
  const pid = m.spawn();
  const ref = new RefModel(refArch(m.arch));
  // fd 3 and 5 are /tmp/a (read-write, read-only), fd 4 is /tmp/b, fd 6 /tmp/b write-only.
  const open = (path: string, flags: number): number => {
    const r = m.openat(pid, AT_FDCWD, path, flags, 0o644);
    if (!r.ok) throw new Error(`open ${path}: ${r.errno}`);
    return Number(r.value);
  };
  expect(open('/tmp/a', O_RDWR | O_CREAT)).toBe(3);
  expect(open('/tmp/b', O_RDWR | O_CREAT)).toBe(4);
  expect(open('/tmp/a', O_RDONLY)).toBe(5);
  expect(open('/tmp/b', O_WRONLY)).toBe(6);
  ref.addFile(1);
  ref.addFile(2);
  ref.addFd(3, 1, true, true);
  ref.addFd(4, 2, true, true);
  ref.addFd(5, 1, true, false);
  ref.addFd(6, 2, false, true);
  // Seed the reference with the spawn layout ([stack], [vvar], [vdso]) so that calls over
  // huge ranges see them; nothing loads from them.
  for (const line of m.smaps(pid)!.split('\n')) {
    const mm = /^([0-9a-f]+)-([0-9a-f]+) (....) /.exec(line);
    if (mm === null) continue;
    const start = BigInt('0x' + mm[1]);
    const end = BigInt('0x' + mm[2]);
    if (start >= TASK_SIZE) continue;
    const perms = mm[3]!;
    const p = (perms[0] === 'r' ? PROT_READ : 0) | (perms[1] === 'w' ? PROT_WRITE : 0) | (perms[2] === 'x' ? PROT_EXEC : 0);
    for (let a = start; a < end; a += P) {
      ref.pages.set(Number(a / P), { prot: p, kind: 'anon-private', object: null, index: 0, copy: null, copyUnknown: null, mayProt: PROT_READ | PROT_WRITE | PROT_EXEC, wipeOnFork: false });
    }
  }
  // VM_MAY* from smaps' VmFlags ([vvar] and [vvar_vclock] have only mr).
  const smaps = m.smaps(pid)!.split(/\n(?=[0-9a-f]+-)/);
  for (const block of smaps) {
    const mm = /^([0-9a-f]+)-([0-9a-f]+) /.exec(block);
    const vmf = /VmFlags: (.*)/.exec(block);
    if (mm === null || vmf === null || BigInt('0x' + mm[1]) >= TASK_SIZE) continue;
    const f = vmf[1]!.split(' ');
    const may = (f.includes('mr') ? PROT_READ : 0) | (f.includes('mw') ? PROT_WRITE : 0) | (f.includes('me') ? PROT_EXEC : 0);
    for (let a = BigInt('0x' + mm[1]); a < BigInt('0x' + mm[2]); a += P) ref.pages.get(Number(a / P))!.mayProt = may;
  }
  return { geo, m, procs: [{ pid, ref }], pid, ref, regions: [], recent: [] };
}

function addrOf(w: World, t: Target): bigint {
  const P = w.geo.P;
  if (t.region >= 0 && t.region < w.regions.length) return w.regions[t.region]! + BigInt(t.page % 10) * P + BigInt(t.unaligned);
  return WIN + BigInt(t.page) * P + BigInt(t.unaligned);
}

function show(r: SysResult | RefResult): string {
  return r.ok ? 'ok' : r.errno;
}

function outcomeOf(r: AccessResult<unknown>): string {
  return r.ok ? 'ok' : r.fault === null ? r.errno : `${r.fault.signal}/${r.fault.code}`;
}

function refOutcome(r: RefOutcome): string {
  if (r.ok) return 'ok';
  return r.signal === 'SIGBUS' ? 'SIGBUS/2' : `SIGSEGV/${r.code}`;
}

/** The protection of each window page as /proc/PID/maps shows it ('' when unmapped). */
function windowPerms(w: World, pid: number): string[] {
  const P = w.geo.P;
  const out: string[] = new Array<string>(WIN_PAGES).fill('');
  for (const line of w.m.maps(pid)!.split('\n')) {
    const mm = /^([0-9a-f]+)-([0-9a-f]+) (....) /.exec(line);
    if (mm === null) continue;
    const s = BigInt('0x' + mm[1]);
    const e = BigInt('0x' + mm[2]);
    for (let i = 0; i < WIN_PAGES; i++) {
      const a = WIN + BigInt(i) * P;
      if (a >= s && a < e) out[i] = mm[3]!;
    }
  }
  return out;
}

function refWindowPerms(ref: RefModel): string[] {
  const out: string[] = [];
  for (let i = 0; i < WIN_PAGES; i++) {
    const p = ref.pages.get(Number(WIN / ref.psN) + i);
    if (p === undefined) {
      out.push('');
      continue;
    }
    const shared = p.kind === 'anon-shared' || p.kind === 'file-shared';
    out.push((p.prot & PROT_READ ? 'r' : '-') + (p.prot & PROT_WRITE ? 'w' : '-') + (p.prot & PROT_EXEC ? 'x' : '-') + (shared ? 's' : 'p'));
  }
  return out;
}

/**
 * Confirmed model bugs the main property steps around (each has an it.fails test below
 * that runs without the detour). Returns the bug's name when op would hit one.
 */
function knownBug(w: World, op: Op): string | null {
  // None left: mprotect past TASK_SIZE (fixed) was the last one.
  void w;
  void op;
  return null;
}

function step(w: World, op: Op, i: number, avoidKnownBugs = true): void {
  const cur = w.procs[op.proc % w.procs.length]!;
  w.pid = cur.pid;
  w.ref = cur.ref;
  const { m, pid, ref } = w;
  const { P, TASK_SIZE } = w.geo;
  if (avoidKnownBugs && knownBug(w, op) !== null) return;
  const where = `op ${i} ${JSON.stringify(op, (_k, v: unknown) => (typeof v === 'bigint' ? '0x' + v.toString(16) : v instanceof Uint8Array ? `<${v.length} bytes>` : v))}`;
  switch (op.op) {
    case 'fork': {
      if (w.procs.length >= 3) break;
      const r = m.fork(pid);
      expect(r.ok, where).toBe(true);
      if (r.ok) w.procs.push({ pid: Number(r.value), ref: ref.fork() });
      break;
    }
    case 'exit':
      if (cur === w.procs[0]) break;
      m.exitGroup(pid);
      ref.exit();
      w.procs.splice(w.procs.indexOf(cur), 1);
      break;
    case 'mmapFixed': {
      const addr = addrOf(w, op.t);
      const expected = ref.judgeMmap(addr, op.len, op.prot, op.flags, op.fd, op.off);
      const r = m.mmap(pid, addr, op.len, op.prot, op.flags, op.fd, op.off);
      expect(show(r), where).toBe(expected ?? 'ok');
      if (r.ok) {
        expect(r.value, where).toBe(addr);
        ref.mmap(Number(addr), op.len, op.prot, op.flags, op.fd, op.off);
      }
      break;
    }
    case 'mmapHint': {
      const hint = op.hint === undefined ? 0n : addrOf(w, op.hint);
      const expected = ref.judgeMmap(hint, op.len, op.prot, op.flags, op.fd, op.off);
      const r = m.mmap(pid, hint, op.len, op.prot, op.flags, op.fd, op.off);
      expect(show(r), where).toBe(expected ?? 'ok');
      if (r.ok) {
        const at = r.value;
        const npages = Number((op.len + P - 1n) / P);
        expect(at % P, where).toBe(0n);
        expect(at + BigInt(npages) * P <= TASK_SIZE, where).toBe(true);
        expect(ref.isFree(Number(at), npages), `${where}: the model placed it over a mapping`).toBe(true);
        // round_hint_to_min() drops the hint's offset in the page; then x86's
        // arch_get_unmapped_area_topdown(), like the generic one arm64 uses, takes a hint
        // whose range is free as is.
        const h = hint & ~(P - 1n);
        if (hint !== 0n && ref.isFree(Number(h), npages)) expect(at, `${where}: free hint not honoured`).toBe(h);
        ref.mmap(Number(at), op.len, op.prot, op.flags, op.fd, op.off);
        if (!w.regions.includes(at)) w.regions.push(at);
      }
      break;
    }
    case 'munmap': {
      const a = addrOf(w, op.t);
      expect(show(m.munmap(pid, a, op.len)), where).toBe(show(ref.munmap(a, op.len)));
      break;
    }
    case 'mprotect': {
      const a = addrOf(w, op.t);
      expect(show(m.mprotect(pid, a, op.len, op.prot)), where).toBe(show(ref.mprotect(a, op.len, op.prot)));
      break;
    }
    case 'msync': {
      const a = addrOf(w, op.t);
      expect(show(m.msync(pid, a, op.len, op.flags)), where).toBe(show(ref.msync(a, op.len, op.flags)));
      break;
    }
    case 'mincore': {
      const a = addrOf(w, op.t);
      expect(show(m.mincore(pid, a, op.len)), where).toBe(show(ref.mincore(a, op.len)));
      break;
    }
    case 'ftruncate':
      expect(show(m.ftruncate(pid, op.fd, op.len)), where).toBe(show(ref.ftruncate(op.fd, op.len)));
      break;
    case 'pwrite':
      expect(show(m.write(pid, op.fd, op.data, BigInt(op.pos))), where).toBe(show(ref.pwrite(op.fd, op.pos, op.data)));
      break;
    case 'pread': {
      const r = m.read(pid, op.fd, BigInt(op.count), BigInt(op.pos));
      const e = ref.pread(op.fd, op.pos, op.count);
      expect(r.ok ? 'ok' : r.errno, where).toBe(e.ok ? 'ok' : e.errno);
      if (r.ok && e.ok) {
        expect(r.data.length, where).toBe(e.data.length);
        const got = Array.from(r.data, (b, j) => (e.unknown[j] ? -1 : b));
        const want = Array.from(e.data, (b, j) => (e.unknown[j] ? -1 : b));
        expect(got, where).toEqual(want);
      }
      break;
    }
    case 'load': {
      const a = addrOf(w, { ...op.t, unaligned: 0 }) + BigInt(op.o & ~(op.size - 1));
      const r = m.load(pid, a, op.size);
      const e = ref.load(a, op.size);
      expect(outcomeOf(r), where).toBe(refOutcome(e));
      if (r.ok && e.ok) expect(r.value & ~e.unknownMask, where).toBe(e.value & ~e.unknownMask);
      if (!r.ok) expect(r.fault?.addr, where).toBe(a);
      break;
    }
    case 'loadRecent': {
      if (w.recent.length === 0) break;
      const a0 = w.recent[Math.max(0, w.recent.length - 1 - op.back)]!;
      const a = a0 - (a0 % BigInt(op.size));
      const r = m.load(pid, a, op.size);
      const e = ref.load(a, op.size);
      expect(outcomeOf(r), where).toBe(refOutcome(e));
      if (r.ok && e.ok) expect(r.value & ~e.unknownMask, where).toBe(e.value & ~e.unknownMask);
      break;
    }
    case 'store': {
      const a = addrOf(w, { ...op.t, unaligned: 0 }) + BigInt(op.o & ~(op.size - 1));
      const v = BigInt.asUintN(op.size * 8, op.value);
      const r = m.store(pid, a, op.size, v);
      if (r.ok) {
        w.recent.push(a);
        if (w.recent.length > 8) w.recent.shift();
      }
      expect(outcomeOf(r), where).toBe(refOutcome(ref.store(a, op.size, v)));
      break;
    }
  }
  for (const p of w.procs) {
    expect(windowPerms(w, p.pid), `${where}: /proc/${p.pid}/maps disagrees with the reference`).toEqual(refWindowPerms(p.ref));
  }
}

/**
 * The profiles the property runs on: x86_64, and arm64-16k (16 KiB pages, a 47-bit
 * user space) with fewer sequences. PROP_RUNS sets the x86_64 count, the other a quarter of it.
 */
const X86_RUNS = Number(process.env.PROP_RUNS ?? 300);
const PROFILES: { arch: ArchName; runs: number }[] = [
  { arch: 'x86_64', runs: X86_RUNS },
  { arch: 'arm64-16k', runs: Math.max(1, Math.round(X86_RUNS / 4)) },
];

describe('the model against the flat reference model', () => {
  for (const { arch, runs } of PROFILES) {
    it(`agrees on every result, access outcome and page protection over random sequences (${arch}, ${runs} runs)`, () => {
      const geo = geometry(arch);
      const { stepArb } = arbitraries(geo);
      fc.assert(
        fc.property(fc.array(stepArb, { minLength: 50, maxLength: 200 }), (ops) => {
          const w = makeWorld(geo);
          ops.forEach((op, i) => step(w, op, i));
        }),
        { seed: SEED, numRuns: runs, endOnFailure: false },
      );
    }, 600_000);
  }
});

// --- robustness: no argument makes a syscall method throw ---

const { P, TASK_SIZE } = geometry('x86_64');
const { stepArb } = arbitraries(geometry('x86_64'));

const anyU64 = fc.oneof(
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }),
  fc.constantFrom(0n, 1n, -1n, P, P - 1n, P + 1n, TASK_SIZE, TASK_SIZE + P, 1n << 63n, (1n << 64n) - 1n, (1n << 64n) - P, 1n << 64n, -(1n << 63n), WIN),
  fc.integer({ min: 0, max: 64 }).map((n) => (1n << BigInt(n)) - 1n),
);
const anyInt = fc.oneof(fc.integer(), fc.constantFrom(-1, 0, 1, 2, 3, 4, 5, 99, 2 ** 31 - 1, -(2 ** 31), 2 ** 32, Number.MAX_SAFE_INTEGER));

const callArb = fc.oneof(
  fc.tuple(fc.constant('mmap' as const), fc.array(anyU64, { minLength: 6, maxLength: 6 }), anyInt),
  fc.tuple(fc.constant('munmap' as const), fc.array(anyU64, { minLength: 2, maxLength: 2 }), anyInt),
  fc.tuple(fc.constant('mprotect' as const), fc.array(anyU64, { minLength: 3, maxLength: 3 }), anyInt),
  fc.tuple(fc.constant('msync' as const), fc.array(anyU64, { minLength: 3, maxLength: 3 }), anyInt),
  fc.tuple(fc.constant('mincore' as const), fc.array(anyU64, { minLength: 2, maxLength: 2 }), anyInt),
  fc.tuple(fc.constant('brk' as const), fc.array(anyU64, { minLength: 1, maxLength: 1 }), anyInt),
  fc.tuple(fc.constant('ftruncate' as const), fc.array(anyU64, { minLength: 1, maxLength: 1 }), anyInt),
  fc.tuple(fc.constant('read' as const), fc.array(anyU64, { minLength: 2, maxLength: 2 }), anyInt),
  fc.tuple(fc.constant('readInto' as const), fc.array(anyU64, { minLength: 3, maxLength: 3 }), anyInt),
  fc.tuple(fc.constant('write' as const), fc.array(anyU64, { minLength: 1, maxLength: 1 }), anyInt),
  fc.tuple(fc.constant('writeFrom' as const), fc.array(anyU64, { minLength: 3, maxLength: 3 }), anyInt),
  fc.tuple(fc.constant('lseek' as const), fc.array(anyU64, { minLength: 1, maxLength: 1 }), anyInt),
  fc.tuple(fc.constant('fadvise' as const), fc.array(anyU64, { minLength: 2, maxLength: 2 }), anyInt),
  fc.tuple(fc.constant('fd' as const), fc.array(anyU64, { minLength: 0, maxLength: 0 }), anyInt),
  fc.tuple(fc.constant('access' as const), fc.array(anyU64, { minLength: 2, maxLength: 2 }), anyInt),
);

function isResult(r: unknown): boolean {
  if (typeof r !== 'object' || r === null) return false;
  const x = r as { ok?: unknown; value?: unknown; errno?: unknown };
  return x.ok === true ? typeof x.value === 'bigint' : x.ok === false && typeof x.errno === 'string';
}

describe('robustness', () => {
  it('no combination of 64-bit arguments makes a syscall method throw: each returns ok or an errno', () => {
    fc.assert(
      fc.property(fc.array(callArb, { minLength: 1, maxLength: 30 }), (calls) => {
        const m = new Machine({ paranoid: true, settings: { memTotal: 64 * 1024 * 1024 } });
        const pid = m.spawn();
        m.openat(pid, AT_FDCWD, '/tmp/r', O_RDWR | O_CREAT, 0o644);
        m.write(pid, 3, new Uint8Array(5000).fill(7), 0n);
        ok(m.mmap(pid, WIN, 16n * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0n));
        for (const [name, a, n] of calls) {
          let r: unknown;
          switch (name) {
            // Half the time a small descriptor number, so that file mappings are tried too.
            case 'mmap': r = m.mmap(pid, a[0]!, a[1]!, a[2]!, a[3]!, n & 1 ? a[4]! : BigInt(n & 7), a[5]!); break;
            case 'munmap': r = m.munmap(pid, a[0]!, a[1]!); break;
            case 'mprotect': r = m.mprotect(pid, a[0]!, a[1]!, a[2]!); break;
            case 'msync': r = m.msync(pid, a[0]!, a[1]!, a[2]!); break;
            case 'mincore':
              r = m.mincore(pid, a[0]!, a[1]!);
              break;
            case 'brk': r = m.brk(pid, a[0]!); break;
            case 'ftruncate': r = m.ftruncate(pid, n, a[0]!); break;
            case 'read': r = m.read(pid, n, BigInt.asUintN(20, a[0]!), BigInt.asIntN(64, a[1]!)); break;
            case 'readInto': r = m.readInto(pid, n, a[0]!, BigInt.asUintN(20, a[1]!), BigInt.asIntN(64, a[2]!)); break;
            case 'write': r = m.write(pid, n, new Uint8Array(Number(BigInt.asUintN(13, a[0]!))), a[0]!); break;
            case 'writeFrom': r = m.writeFrom(pid, n, a[0]!, BigInt.asUintN(20, a[1]!), a[2]!); break;
            case 'lseek': r = m.lseek(pid, n, a[0]!, n & 7); break;
            case 'fadvise': r = m.fadvise(pid, n, a[0]!, a[1]!, n & 7); break;
            case 'fd': r = [m.close(pid, n), m.dup(pid, n), m.fstat(pid, n), m.fsync(pid, n)].find((x) => !isResult(x)) ?? { ok: true, value: 0n }; break;
            case 'access': {
              const l = m.load(pid, a[0]!, 8);
              const s = m.store(pid, a[1]!, 4, BigInt(n));
              if (typeof l.ok !== 'boolean' || typeof s.ok !== 'boolean') throw new Error('access result is not a value');
              r = { ok: true, value: 0n };
              break;
            }
          }
          if (!isResult(r)) throw new Error(`${name} returned ${String(r)}`);
        }
      }),
      { seed: SEED, numRuns: Number(process.env.PROP_RUNS ?? 300) },
    );
  }, 600_000);
});

function ok(r: SysResult): bigint {
  if (!r.ok) throw new Error(`setup failed: ${r.errno}`);
  return r.value;
}

// --- confirmed model bugs, each failing until the model is fixed ---

describe('confirmed model bugs', () => {
  // mm/mprotect.c:do_mprotect_pkey() walks the VMAs from start, changing each, and only
  // returns ENOMEM at the first hole; a range that ends past TASK_SIZE is no exception.
  // Checked on Linux 6.18: after mmap(0x10000000, 8192, RW, FIXED|PRIVATE|ANON),
  // mprotect(0x10000000, 1 << 63, PROT_NONE) = -ENOMEM and maps shows ---p.
  // The model (sysMprotect: `if (end64 > taskSize) return 'ENOMEM'`) changes nothing.
  it('mprotect over a range ending past TASK_SIZE changes the VMAs before the hole, then ENOMEM', () => {
    const m = new Machine({ paranoid: true });
    const pid = m.spawn();
    ok(m.mmap(pid, WIN, 2n * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0n));
    expect(show(m.mprotect(pid, WIN, 1n << 63n, 0))).toBe('ENOMEM');
    expect(m.load(pid, WIN, 1)).toEqual({ ok: false, fault: { signal: 'SIGSEGV', code: 2, addr: WIN } });
  });

  it('the reference property without stepping around the mprotect bug', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 50, maxLength: 200 }), (ops) => {
        const w = makeWorld(geometry('x86_64'));
        ops.forEach((op, i) => step(w, op, i, false));
      }),
      { seed: SEED, numRuns: 100, endOnFailure: true },
    );
  }, 600_000);

  // mm/mincore.c fills the user vector a page of entries at a time and stops with ENOMEM
  // at the first unmapped page; Linux 6.18 returns ENOMEM for mincore(0, 0x1fffffffffff, vec).
  // The model allocates the whole vector first: new Uint8Array(2^33) throws a RangeError.
  it('mincore with a huge length returns ENOMEM instead of throwing', () => {
    const m = new Machine({ paranoid: true });
    const pid = m.spawn();
    expect(show(m.mincore(pid, 0n, (1n << 45n) - 1n))).toBe('ENOMEM');
  });

  // The Machine's methods promise not to throw on any argument, and mask addresses and
  // lengths to 64 bits (u64()); read()'s pos is not masked: a bigint below -2^64 is taken
  // as a negative file position and filemapRead() dereferences a null readPages.
  // (pread64 with the low 64 bits, 0, reads at offset 0.)
  it('read() with a position outside 64 bits does not throw', () => {
    const m = new Machine({ paranoid: true });
    const pid = m.spawn();
    expect(() => m.read(pid, 1, 1n, -(1n << 65n))).not.toThrow();
  });
});
