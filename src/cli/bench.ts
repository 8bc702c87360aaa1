/**
 * `mmsim bench [--json] [--quick]`: the performance benchmarks, each against
 * its baseline measured in the same run. Benchmarks are not tests. Their
 * code lives in bench/ at the top of the repository and is built into
 * dist/bench/, which this command loads.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BENCHMARK_NAMES, type BenchResult, type ModelBenchmarks } from './bench-results.js';

export const BENCH_HELP = `Usage: mmsim bench [--json] [--quick] [--only NAME[,NAME...]]

Runs the benchmarks of the model against their baselines, measured in the same run:
  mmu.load, mmu.store   8-byte loads/stores through the MMU vs a plain typed array
  vma.scaling           time per mmap+munmap pair at 65,400 live VMAs vs at 1,000
  vma.ops               mmap+munmap pairs per second at 65,400 live VMAs vs the host kernel
  memory.sparse         memory after mapping 64 TiB MAP_NORESERVE and touching 1,000 pages
  memory.overhead       process memory per resident simulated page, 1 GiB resident
  fault.anon            first-touch write faults per second vs the host kernel
  fault.file            pages read per second from a cached MAP_SHARED file (fault-around) vs the host
  replay                strace lines per second through parse + model vs the parser alone

Options:
  --json    one JSON object {"benchmarks": [...]}
  --quick   smaller sizes, for a fast look
  --only    run only the named benchmarks (comma-separated)

Where a goal is measured against the host kernel, fault.anon and fault.file
also report a JS floor: the same memory work done by a bare typed-array loop,
the most any model in JavaScript could reach on this machine.

Examples:
  mmsim bench --quick
  mmsim bench --json > bench.json
  mmsim bench --only fault.anon,fault.file
`;

function memoryInChild(quick: boolean): (name: string) => BenchResult {
  const child = fileURLToPath(new URL('../bench/memory-child.js', import.meta.url));
  return (name) => JSON.parse(execFileSync(process.execPath, ['--expose-gc', child, name, quick ? 'quick' : 'full'], { encoding: 'utf8' })) as BenchResult;
}

function fmt(n: number | null): string {
  if (n === null) return '-';
  if (Math.abs(n) >= 1000) return n.toExponential(3);
  return n.toFixed(3);
}

export async function runBench(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, quick: { type: 'boolean' }, only: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (e) {
    err(`mmsim bench: ${(e as Error).message}\n\n${BENCH_HELP}`);
    return 2;
  }
  if (values.help) {
    out(BENCH_HELP);
    return 0;
  }
  const quick = values.quick === true;
  const only = values.only === undefined ? [...BENCHMARK_NAMES] : values.only.split(',').map((n) => n.trim()).filter((n) => n !== '');
  const unknown = only.filter((n) => !(BENCHMARK_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0 || only.length === 0) {
    err(`mmsim bench: --only: ${unknown.length > 0 ? `no benchmark named ${unknown.map((n) => `'${n}'`).join(', ')}` : 'no name given'}; the benchmarks are ${BENCHMARK_NAMES.join(', ')}`);
    return 2;
  }
  const where = new URL('../bench/model-bench.js', import.meta.url);
  let bench: ModelBenchmarks;
  try {
    bench = (await import(where.href)) as ModelBenchmarks;
  } catch (e) {
    err(`mmsim bench: cannot load the benchmarks from ${fileURLToPath(where)} (built from bench/ by \`npm run build\`): ${(e as Error).message}`);
    return 2;
  }
  const results = bench.runModelBenchmarks(quick, memoryInChild(quick), only);
  if (values.json) {
    out(JSON.stringify({ benchmarks: results }, null, 2));
    return 0;
  }
  out('name              model          baseline       ratio      goal                       note');
  for (const r of results) {
    out(`${r.name.padEnd(18)}${fmt(r.model).padEnd(15)}${fmt(r.baseline).padEnd(15)}${fmt(r.ratio).padEnd(11)}${r.goal.padEnd(27)}${r.note ?? ''}`);
  }
  return 0;
}
