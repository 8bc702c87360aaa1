/**
 * Runs one memory benchmark in a fresh Node process (started with
 * --expose-gc) so that earlier benchmarks' garbage does not blur it, and
 * prints its result as JSON.
 */
import { runMemoryBenchmark } from './model-bench.js';

const [name, quick] = process.argv.slice(2);
process.stdout.write(JSON.stringify(runMemoryBenchmark(name ?? 'memory.sparse', quick === 'quick')) + '\n');
