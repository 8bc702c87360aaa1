/**
 * A scenario's traced run as JSON: the results of every step and the kernel
 * events each one caused (runScenario with trace), bigints written as
 * `123n`. The page exposes it as window.mmsim.trace() so a test can compare
 * the bundled model's run in the browser with the same run in Node.
 */
import { runScenario } from '../scenario/interpreter.js';

export function traceJson(source: string, file: string): string {
  return JSON.stringify(runScenario(source, { file, trace: true }), (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}
