/**
 * `mmsim fuzz`: random scenarios. With --model-only, random (often
 * nonsensical) syscalls and accesses through the model's public API with
 * every invariant re-validated after each step; any exception or broken
 * invariant is reported with the operations that led to it.
 */
import { parseArgs } from 'node:util';
import { runModelFuzz } from '../fuzz/model-fuzz.js';

export const FUZZ_HELP = `Usage: mmsim fuzz --model-only [--seed S] [--count N] [--validate-every K] [--arch PROFILE] [--json]

Drives random syscalls and memory accesses (valid and invalid arguments alike,
forks, threads, exits) through the model and re-validates every invariant.
The same seed gives the same operations.

Options:
  --model-only         fuzz the model alone (the host-comparing mode is not available yet)
  --seed S             PRNG seed (default 1)
  --count N            operations to run (default 10000)
  --validate-every K   re-validate invariants every K operations (default 1)
  --arch PROFILE       x86_64 (default), arm64-4k or arm64-16k
  --json               print a final JSON object {"operations", "syscalls", "accesses", "findings"}

Examples:
  mmsim fuzz --model-only --seed 7 --count 100000
  mmsim fuzz --model-only --arch arm64-16k --json
`;

export function runFuzz(argv: string[], out: (s: string) => void, err: (s: string) => void): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'model-only': { type: 'boolean' }, seed: { type: 'string' }, count: { type: 'string' },
        'validate-every': { type: 'string' }, arch: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    err(`mmsim fuzz: ${(e as Error).message}\n\n${FUZZ_HELP}`);
    return 2;
  }
  if (values.help) {
    out(FUZZ_HELP);
    return 0;
  }
  if (!values['model-only']) {
    err('mmsim fuzz: only --model-only is available so far (comparing with the host kernel comes with mmsim diff)');
    return 2;
  }
  const num = (name: string, v: string | undefined, dflt: number): number | null => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) {
      err(`mmsim fuzz: --${name} takes a whole number, not '${v}'`);
      return null;
    }
    return n;
  };
  const seed = num('seed', values.seed, 1);
  const count = num('count', values.count, 10000);
  const every = num('validate-every', values['validate-every'], 1);
  if (seed === null || count === null || every === null) return 2;
  const arch = values.arch ?? 'x86_64';
  if (arch !== 'x86_64' && arch !== 'arm64-4k' && arch !== 'arm64-16k') {
    err(`mmsim fuzz: unknown --arch '${arch}' (x86_64, arm64-4k, arm64-16k)`);
    return 2;
  }
  const tty = process.stderr.isTTY === true && !values.json;
  const result = runModelFuzz({
    seed, count, validateEvery: Math.max(1, every), arch,
    onProgress: tty ? (done) => process.stderr.write(`\r${'#'.repeat(Math.floor((done / count) * 40)).padEnd(40, '.')} ${done}/${count}`) : undefined,
  });
  if (tty) process.stderr.write('\n');
  if (values.json) {
    out(JSON.stringify({ ...result, scenarios: result.operations, divergences: result.findings.length }));
  } else {
    out(`${result.operations} operations (${result.syscalls} syscalls, ${result.errnos} returned an errno; ${result.accesses} accesses, ${result.faults} faulted)`);
    for (const f of result.findings) {
      out(`\nFINDING at operation ${f.op} (machine ${f.machine}): ${f.description}\n${f.error}\nlast operations:\n  ${f.trace.slice(-10).join('\n  ')}`);
    }
    out(result.findings.length === 0 ? 'no findings' : `${result.findings.length} finding(s)`);
  }
  return result.findings.length === 0 ? 0 : 1;
}
