/**
 * What `mmsim bench` and the benchmarks under bench/ agree on: the names of
 * the benchmarks, the shape of a result, and the entry points the command
 * loads from the built bench/ (dist/bench/model-bench.js).
 */

/** The benchmarks in the order they run. */
export const BENCHMARK_NAMES = ['mmu.load', 'mmu.store', 'vma.scaling', 'vma.ops', 'memory.sparse', 'memory.overhead', 'fault.anon', 'fault.file', 'replay'] as const;

export interface BenchResult {
  name: string;
  model: number | null;
  baseline: number | null;
  ratio: number | null;
  unit: string;
  goal: string;
  /**
   * Where the goal is measured against the host: the same work done by a
   * bare typed-array loop in this process (ops/s), the most any model in
   * JavaScript could reach; floor / baseline bounds the ratio.
   */
  floor?: number;
  note?: string;
}

/** The module bench/model-bench.ts. */
export interface ModelBenchmarks {
  /** Run the benchmarks named in `only` (all by default), in BENCHMARK_NAMES order. */
  runModelBenchmarks(quick: boolean, memory: (name: string) => BenchResult, only?: readonly string[]): BenchResult[];
}
