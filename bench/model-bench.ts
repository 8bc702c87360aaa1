/**
 * Model-side benchmarks of the performance issue, each measured against its
 * baseline in the same run. The host-kernel baselines (fault.anon,
 * fault.file, vma.ops) come from the C runner's timing ops (bench_fault_anon,
 * bench_fault_file, bench_vma_ops), run right after the model's side.
 *
 * Compiled by bench/tsconfig.json into dist/bench/ after the package itself,
 * and importing the package's internals through its private `#mmsim/*`
 * imports (package.json), which point at dist/: `mmsim bench` loads it
 * from there.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Machine } from '#mmsim/kernel/machine.js';
import { AT_FDCWD, MAP_ANONYMOUS, MAP_FIXED, MAP_NORESERVE, MAP_PRIVATE, MAP_SHARED, O_CREAT, O_RDWR, O_TRUNC, PROT_READ, PROT_WRITE } from '#mmsim/kernel/uapi.js';
import { runOnHostSync } from '#mmsim/oracle/host-runner.js';
import { type BenchInfo, type Op, op } from '#mmsim/oracle/runner-protocol.js';
import { replayLog } from '#mmsim/replay/replay.js';
import { parseScenario } from '#mmsim/scenario/parser.js';
import { BENCHMARK_NAMES, type BenchResult } from '#mmsim/cli/bench-results.js';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

function opsPerSec(n: number, fn: () => void): number {
  const t0 = performance.now();
  fn();
  const dt = (performance.now() - t0) / 1000;
  return n / dt;
}

/** A deterministic xorshift sequence of offsets, the same for model and baseline. */
function offsets(n: number, size: number): Float64Array {
  const out = new Float64Array(n);
  let x = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = ((x >>> 0) % (size / 8)) * 8;
  }
  return out;
}

function mmuBench(quick: boolean, store: boolean): BenchResult {
  const pages = 64;
  const size = pages * 4096;
  const m = new Machine();
  const pid = m.spawn();
  const r = m.mmap(pid, 0n, BigInt(size), RW, ANON, -1, 0n);
  if (!r.ok) throw new Error('mmap failed');
  const base = Number(r.value);
  for (let i = 0; i < pages; i++) m.store(pid, r.value + BigInt(i * 4096), 8, 1n);
  const mmu = m.mmu(pid)!;
  const n = quick ? 200_000 : 1_000_000;
  const offs = offsets(n, size);
  let sink = 0n;
  const buf = new DataView(new ArrayBuffer(size));
  // Model and baseline alternate, nine rounds each (five with --quick), and each
  // keeps its best round: on a shared machine one lost time slice would
  // otherwise decide the ratio.
  let model = 0;
  let baseline = 0;
  for (let round = 0; round < (quick ? 5 : 9); round++) {
    model = Math.max(model, opsPerSec(n, () => {
      if (store) for (let i = 0; i < n; i++) mmu.store64(base + offs[i]!, 7n);
      else for (let i = 0; i < n; i++) sink ^= mmu.load64(base + offs[i]!);
    }));
    baseline = Math.max(baseline, opsPerSec(n, () => {
      if (store) for (let i = 0; i < n; i++) buf.setBigUint64(offs[i]!, 7n, true);
      else for (let i = 0; i < n; i++) sink ^= buf.getBigUint64(offs[i]!, true);
    }));
  }
  if (sink === -1n) console.log(sink);
  return { name: store ? 'mmu.store' : 'mmu.load', model, baseline, ratio: model / baseline, unit: 'ops/s', goal: '>= 0.5' };
}

/** Runs one timing op on the host (a fresh runner) and returns its timed part. */
function hostBench(o: Op): BenchInfo {
  const run = runOnHostSync([o], { timeoutMs: 300_000, opTimeoutMs: 120_000 });
  const obs = run.observations[0];
  if (!obs?.bench || obs.ret !== 0n) throw new Error(`host ${o.op}: ${obs?.refused ?? obs?.error ?? obs?.errno ?? 'no observation'}`);
  return obs.bench;
}

function hostRate(b: BenchInfo): number {
  return b.ops / (Number(b.ns) / 1e9);
}

/** Best of `tries` runs of fn (ops/s): the least disturbed run. */
function best(tries: number, fn: () => number): number {
  let r = 0;
  for (let i = 0; i < tries; i++) r = Math.max(r, fn());
  return r;
}

/**
 * Model: write-first touches of a fresh private anonymous mapping, one byte
 * per page, in rounds on one machine: map, touch (timed), unmap. The first
 * round is cold: the machine has never used its frames, so Node allocates
 * their host memory and the host kernel faults it in as the model writes.
 * Later rounds are warm: the frames come back from the free list, already
 * backed, as a running kernel's free pages are; each is zeroed as
 * do_anonymous_page() zeroes it. The rate is the best warm round.
 */
function modelFaultAnon(pages: number, rounds: number): { rate: number; cold: number; faults: number } {
  const m = new Machine({ settings: { memTotal: 4 * pages * 4096 } });
  const pid = m.spawn();
  const mmu = m.mmu(pid)!;
  let cold = 0;
  let rate = 0;
  let faults = 0;
  for (let round = 0; round <= rounds; round++) {
    const r = m.mmap(pid, 0n, BigInt(pages * 4096), RW, ANON, -1, 0n);
    if (!r.ok) throw new Error(`mmap failed: ${r.errno}`);
    const base = Number(r.value);
    const f0 = m.rusage(pid)!.minFlt;
    const rr = opsPerSec(pages, () => {
      for (let i = 0; i < pages; i++) mmu.store8(base + i * 4096, 1);
    });
    faults = m.rusage(pid)!.minFlt - f0;
    if (round === 0) cold = rr;
    else rate = Math.max(rate, rr);
    if (!m.munmap(pid, r.value, BigInt(pages * 4096)).ok) throw new Error('munmap failed');
  }
  return { rate, cold, faults };
}

/** 1 MiB chunks of host memory covering `pages` pages, every byte written once (faulted in). */
function warmChunks(pages: number): Uint8Array[] {
  return Array.from({ length: Math.ceil((pages * 4096) / 2 ** 20) }, () => new Uint8Array(2 ** 20).fill(0x5a));
}

/**
 * The floor for fault.anon: what any JavaScript model must do per fault at
 * least, done by a bare loop: clear 4 KiB of warm memory (the kernel's
 * clear_page(), which the model does with the same memcpy) and write the
 * byte. Pages per second, best of three.
 */
function anonFloor(pages: number): number {
  const chunks = warmChunks(pages);
  const zero = new Uint8Array(4096);
  return best(3, () => opsPerSec(pages, () => {
    for (let i = 0; i < pages; i++) {
      const c = chunks[i >> 8]!;
      c.set(zero, (i & 255) * 4096);
      c[(i & 255) * 4096] = 1;
    }
  }));
}

/** The floor for fault.file: one byte read per 4 KiB page of memory the size of the file. */
function fileFloor(pages: number): number {
  const chunks = warmChunks(pages);
  let sum = 0;
  const r = best(3, () => opsPerSec(pages, () => {
    for (let i = 0; i < pages; i++) sum += chunks[i >> 8]![(i & 255) * 4096]!;
  }));
  if (sum !== 3 * 0x5a * pages) throw new Error('fault.file floor read the wrong bytes');
  return r;
}

function faultAnon(quick: boolean): BenchResult {
  const pages = quick ? 8192 : 65536;
  modelFaultAnon(Math.min(pages, 8192), 2); // JIT warm-up
  // Five rounds a side: the machine is shared, and the best round is the least disturbed.
  const { rate: model, cold, faults } = modelFaultAnon(pages, 5);
  let hostFaults = 0;
  const baseline = best(5, () => {
    const b = hostBench(op(1, 0, 'bench_fault_anon', pages));
    hostFaults = b.minflt;
    return hostRate(b);
  });
  const floor = anonFloor(pages);
  const note =
    `${pages} pages, warm frames; faults: model ${faults}, host ${hostFaults} (getrusage)${faults !== pages || hostFaults !== pages ? ' -- NOT one per page' : ''}; ` +
    `cold first round ${fmtRate(cold)}/s (ratio ${(cold / baseline).toFixed(2)}); JS floor (zero 4 KiB + store) ${fmtRate(floor)}/s (ratio ${(floor / baseline).toFixed(2)})`;
  return { name: 'fault.anon', model, baseline, ratio: model / baseline, unit: 'faults/s', goal: '>= 2', floor, note };
}

/**
 * Model: read touches of a cached, fsynced file mapped MAP_SHARED read-only
 * (fault-around on), in rounds on one machine: map, touch (timed), unmap;
 * the page cache stays, so every round faults on cached pages. The rate
 * counts pages touched; the best round.
 */
function modelFaultFile(pages: number, rounds: number): { rate: number; faults: number } {
  const m = new Machine({ settings: { memTotal: 4 * pages * 4096 } });
  const pid = m.spawn();
  const fd = m.openat(pid, AT_FDCWD, '/bench-file', O_RDWR | O_CREAT | O_TRUNC, 0o600);
  if (!fd.ok) throw new Error(`open failed: ${fd.errno}`);
  const chunk = new Uint8Array(1 << 20).fill(0x5a);
  for (let off = 0; off < pages * 4096; off += chunk.length) {
    m.write(pid, Number(fd.value), chunk.subarray(0, Math.min(chunk.length, pages * 4096 - off)));
  }
  m.fsync(pid, Number(fd.value));
  const mmu = m.mmu(pid)!;
  let rate = 0;
  let faults = 0;
  for (let round = 0; round < rounds; round++) {
    const r = m.mmap(pid, 0n, BigInt(pages * 4096), PROT_READ, MAP_SHARED, Number(fd.value), 0n);
    if (!r.ok) throw new Error(`mmap failed: ${r.errno}`);
    const base = Number(r.value);
    const f0 = m.rusage(pid)!;
    let sum = 0;
    rate = Math.max(rate, opsPerSec(pages, () => {
      for (let i = 0; i < pages; i++) sum += mmu.load8(base + i * 4096);
    }));
    if (sum !== 0x5a * pages) throw new Error('fault.file: the model read the wrong bytes');
    const f1 = m.rusage(pid)!;
    faults = f1.minFlt - f0.minFlt + f1.majFlt - f0.majFlt;
    if (!m.munmap(pid, r.value, BigInt(pages * 4096)).ok) throw new Error('munmap failed');
  }
  return { rate, faults };
}

function faultFile(quick: boolean): BenchResult {
  const pages = quick ? 8192 : 65536;
  modelFaultFile(Math.min(pages, 8192), 2);
  const { rate: model, faults } = modelFaultFile(pages, 3);
  let hostFaults = 0;
  let hostMaj = 0;
  const baseline = best(3, () => {
    const b = hostBench(op(1, 0, 'bench_fault_file', pages));
    hostFaults = b.minflt;
    hostMaj = b.majflt;
    return hostRate(b);
  });
  const floor = fileFloor(pages);
  const note =
    `${pages} pages touched (the rate counts pages); faults: model ${faults}, host ${hostFaults} minor + ${hostMaj} major; ` +
    `JS floor (one byte read per page) ${fmtRate(floor)}/s (ratio ${(floor / baseline).toFixed(2)})`;
  return { name: 'fault.file', model, baseline, ratio: model / baseline, unit: 'pages/s', goal: '>= 1', floor, note };
}

function fmtRate(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(0)} k`;
}

/** The largest strace fixture, repeated, through parse + model vs through the parser alone. */
function replayBench(quick: boolean): BenchResult {
  // From dist/bench/ (where this file runs from) to the checkout's fixtures.
  const path = fileURLToPath(new URL('../../test/fixtures/strace/ls.log', import.meta.url));
  let one: string;
  try {
    one = readFileSync(path, 'utf8');
  } catch {
    return { name: 'replay', model: null, baseline: null, ratio: null, unit: 'lines/s', goal: '>= 0.5', note: 'the strace fixtures are not here (a checkout is needed)' };
  }
  const copies = quick ? 5 : 50;
  const text = Array.from({ length: copies }, () => one).join(one.endsWith('\n') ? '' : '\n');
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).length;
  replayLog(one);
  parseScenario(one);
  let agree = 0;
  const model = best(3, () => opsPerSec(lines, () => {
    agree = replayLog(text, { file: 'ls.log' }).agree;
  }));
  const baseline = best(3, () => opsPerSec(lines, () => {
    parseScenario(text, 'ls.log');
  }));
  return { name: 'replay', model, baseline, ratio: model / baseline, unit: 'lines/s', goal: '>= 0.5', note: `test/fixtures/strace/ls.log x ${copies} (${lines} lines, ${agree} calls agree)` };
}

/** Time per mmap+munmap pair with `live` VMAs in place. */
function pairRate(live: number, pairs: number): number {
  const m = new Machine();
  const pid = m.spawn();
  // Live VMAs: one page each with a gap between, so none merge.
  const start = 0x100000000;
  for (let i = 0; i < live; i++) {
    m.mmap(pid, BigInt(start + i * 8192), 4096n, PROT_READ, ANON | MAP_FIXED, -1, 0n);
  }
  // Every pair must do the work: a refused mmap (ENOMEM at max_map_count) would time nothing.
  const pairsOnce = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const r = m.mmap(pid, 0n, 4096n, RW, ANON, -1, 0n);
      if (!r.ok || !m.munmap(pid, r.value, 4096n).ok) throw new Error(`vma pair failed with ${live} live VMAs: ${r.ok ? 'munmap' : r.errno}`);
    }
  };
  // Warm the JIT on this machine first, so both sizes are timed in the same state.
  pairsOnce(Math.min(pairs, 5000));
  return opsPerSec(pairs, () => pairsOnce(pairs));
}

function memoryUsed(): number {
  const u = process.memoryUsage();
  return u.heapUsed + u.arrayBuffers;
}

function memorySparse(): BenchResult {
  globalThis.gc?.();
  const before = memoryUsed();
  const m = new Machine({ settings: { memTotal: 64 * 2 ** 30 } });
  const pid = m.spawn();
  const len = 64n * 2n ** 40n;
  const r = m.mmap(pid, 0n, len, RW, ANON | MAP_NORESERVE, -1, 0n);
  if (!r.ok) return { name: 'memory.sparse', model: null, baseline: null, ratio: null, unit: 'MiB', goal: '<= 32 MiB above baseline', note: `mmap failed: ${r.errno}` };
  let x = 12345;
  for (let i = 0; i < 1000; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const page = BigInt(x) * 1021n % (len / 4096n);
    m.store(pid, r.value + page * 4096n, 1, 1n);
  }
  globalThis.gc?.();
  const mib = (memoryUsed() - before) / 2 ** 20;
  // Use the machine after measuring: otherwise it is garbage by then and the
  // collector may free it before the measurement (seen: 0 bytes per page).
  const frames = m.k.phys.nrUsed;
  return { name: 'memory.sparse', model: mib, baseline: 0, ratio: null, unit: 'MiB', goal: '<= 32 MiB above baseline', note: `${frames} frames in use` };
}

function memoryOverhead(quick: boolean): BenchResult {
  globalThis.gc?.();
  const before = memoryUsed();
  const bytes = quick ? 2 ** 27 : 2 ** 30;
  const m = new Machine({ settings: { memTotal: 2 * bytes } });
  const pid = m.spawn();
  const r = m.mmap(pid, 0n, BigInt(bytes), RW, ANON, -1, 0n);
  if (!r.ok) throw new Error('mmap failed');
  const mmu = m.mmu(pid)!;
  const base = Number(r.value);
  for (let off = 0; off < bytes; off += 4096) mmu.store8(base + off, 1);
  globalThis.gc?.();
  const perPage = (memoryUsed() - before) / (bytes / 4096);
  // Keep the machine alive until measured (see memorySparse()).
  const frames = m.k.phys.nrUsed;
  return { name: 'memory.overhead', model: perPage, baseline: 4096, ratio: perPage / 4096, unit: 'bytes/page', goal: '<= 1.1', note: `${frames} frames in use` };
}

/** Run one memory benchmark in this (fresh) process: used by the bench child. */
export function runMemoryBenchmark(name: string, quick: boolean): BenchResult {
  return name === 'memory.sparse' ? memorySparse() : memoryOverhead(quick);
}

/** Run the benchmarks named in `only` (all by default), in BENCHMARK_NAMES order. */
export function runModelBenchmarks(quick: boolean, memory: (name: string) => BenchResult, only: readonly string[] = BENCHMARK_NAMES): BenchResult[] {
  const results: BenchResult[] = [];
  const want = (name: string): boolean => only.includes(name);
  if (want('mmu.load')) results.push(mmuBench(quick, false));
  if (want('mmu.store')) results.push(mmuBench(quick, true));
  const pairs = quick ? 2000 : 20000;
  // vma.scaling and vma.ops: 65,400 live VMAs, below max_map_count (65,530) by the
  // process's own mappings (the runner's ~30 on the host) and some headroom: at
  // 65,530 every mmap of a pair is refused with ENOMEM.
  const live = quick ? 10000 : 65400;
  if (want('vma.scaling')) {
    const small = pairRate(1000, pairs);
    const big = pairRate(live, pairs);
    results.push({ name: 'vma.scaling', model: small / big, baseline: 1, ratio: small / big, unit: 'time ratio', goal: '<= 1.5', note: `${live} live VMAs vs 1000` });
  }
  if (want('vma.ops')) {
    // The same live count on both sides.
    const model = best(4, () => pairRate(live, pairs));
    const host = best(4, () => hostRate(hostBench(op(1, 0, 'bench_vma_ops', live, pairs))));
    results.push({ name: 'vma.ops', model, baseline: host, ratio: model / host, unit: 'pairs/s', goal: '>= 1', note: `${live} live one-page VMAs on both sides, ${pairs} pairs` });
  }
  if (want('memory.sparse')) results.push(memory('memory.sparse'));
  if (want('memory.overhead')) results.push(memory('memory.overhead'));
  if (want('fault.anon')) results.push(faultAnon(quick));
  if (want('fault.file')) results.push(faultFile(quick));
  if (want('replay')) results.push(replayBench(quick));
  return results;
}
