/**
 * Model-side benchmarks of the performance issue, each measured against its
 * baseline in the same process. Host-kernel baselines (fault.anon,
 * fault.file, vma.ops) need the C runner's timing ops and are reported as
 * not measured until then.
 */
import { Machine } from '../kernel/machine.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_NORESERVE, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../kernel/uapi.js';

export interface BenchResult {
  name: string;
  model: number | null;
  baseline: number | null;
  ratio: number | null;
  unit: string;
  goal: string;
  note?: string;
}

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
  const n = quick ? 200_000 : 2_000_000;
  const offs = offsets(n, size);
  let sink = 0n;
  const model = opsPerSec(n, () => {
    if (store) for (let i = 0; i < n; i++) mmu.store64(base + offs[i]!, 7n);
    else for (let i = 0; i < n; i++) sink ^= mmu.load64(base + offs[i]!);
  });
  const buf = new DataView(new ArrayBuffer(size));
  const baseline = opsPerSec(n, () => {
    if (store) for (let i = 0; i < n; i++) buf.setBigUint64(offs[i]!, 7n, true);
    else for (let i = 0; i < n; i++) sink ^= buf.getBigUint64(offs[i]!, true);
  });
  if (sink === -1n) console.log(sink);
  return { name: store ? 'mmu.store' : 'mmu.load', model, baseline, ratio: model / baseline, unit: 'ops/s', goal: '>= 0.5' };
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
  const pairsOnce = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const r = m.mmap(pid, 0n, 4096n, RW, ANON, -1, 0n);
      if (r.ok) m.munmap(pid, r.value, 4096n);
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
  return { name: 'memory.sparse', model: mib, baseline: 0, ratio: null, unit: 'MiB', goal: '<= 32 MiB above baseline' };
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
  return { name: 'memory.overhead', model: perPage, baseline: 4096, ratio: perPage / 4096, unit: 'bytes/page', goal: '<= 1.1' };
}

/** Run one memory benchmark in this (fresh) process: used by the bench child. */
export function runMemoryBenchmark(name: string, quick: boolean): BenchResult {
  return name === 'memory.sparse' ? memorySparse() : memoryOverhead(quick);
}

export function runModelBenchmarks(quick: boolean, memory: (name: string) => BenchResult): BenchResult[] {
  const results: BenchResult[] = [];
  results.push(mmuBench(quick, false));
  results.push(mmuBench(quick, true));
  const pairs = quick ? 2000 : 20000;
  const small = pairRate(1000, pairs);
  const big = pairRate(quick ? 10000 : 65530, pairs);
  results.push({ name: 'vma.scaling', model: small / big, baseline: 1, ratio: small / big, unit: 'time ratio', goal: '<= 1.5' });
  results.push({ name: 'vma.ops', model: big, baseline: null, ratio: null, unit: 'pairs/s', goal: '>= 1', note: 'host baseline not measured yet (needs a timing op in the C runner)' });
  results.push(memory('memory.sparse'));
  results.push(memory('memory.overhead'));
  for (const name of ['fault.anon', 'fault.file', 'replay']) {
    results.push({ name, model: null, baseline: null, ratio: null, unit: 'ops/s', goal: name === 'fault.anon' ? '>= 2' : name === 'replay' ? '>= 0.5' : '>= 1', note: 'not measured yet' });
  }
  return results;
}
