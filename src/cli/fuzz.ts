/**
 * `mmsim fuzz`: random scenarios. Without --model-only, generated scenarios
 * (src/fuzz/scenario-gen.ts) run through `mmsim diff` on the host kernel and
 * the model; a divergent one is shrunk and saved (src/fuzz/host-fuzz.ts).
 * With --model-only, random (often
 * nonsensical) syscalls and accesses through the model's public API with
 * every invariant re-validated after each step; any exception or broken
 * invariant is reported with the operations that led to it.
 */
import { parseArgs } from 'node:util';
import { runHostFuzz } from '../fuzz/host-fuzz.js';
import { runModelFuzz } from '../fuzz/model-fuzz.js';

export const FUZZ_HELP = `Usage: mmsim fuzz [--seed S] [--count N] [--save DIR] [--no-shrink] [--json]
       mmsim fuzz --model-only [--seed S] [--count N] [--validate-every K] [--arch PROFILE] [--json]

Without --model-only: generates N random scenarios (10-40 lines: mmap with
valid and invalid arguments, munmap, mprotect, msync, mincore, madvise,
mremap, the mlock family, file I/O on sandbox files and /dev/zero, THP
regions, loads, stores, fork)
and runs each through mmsim diff on this machine's kernel and on the model.
A divergent scenario is shrunk (delta debugging over its lines) and, with
--save, written to DIR/seedS-I.strace. Exit 1 when any diverged.

With --model-only: drives random syscalls and memory accesses (valid and invalid arguments alike,
forks, threads, exits) through the model and re-validates every invariant.
The same seed gives the same operations.

Options:
  --model-only         fuzz the model alone
  --seed S             PRNG seed (default 1)
  --count N            scenarios (default 100) or, with --model-only, operations (default 10000)
  --save DIR           save shrunk divergent scenarios there (host mode; e.g. test/conformance/fuzz-found)
  --no-shrink          keep divergent scenarios whole (host mode)
  --validate-every K   re-validate invariants every K operations (default 1)
  --arch PROFILE       x86_64 (default), arm64-4k or arm64-16k
  --json               print a final JSON object: host mode {"scenarios", "divergences", "compared",
                       "findings"}; --model-only {"operations", "syscalls", "accesses", "errnos", "faults",
                       "findings"}

Examples:
  mmsim fuzz --seed 3 --count 200 --save test/conformance/fuzz-found
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
        'validate-every': { type: 'string' }, save: { type: 'string' }, 'no-shrink': { type: 'boolean' }, arch: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
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
  const count = num('count', values.count, values['model-only'] ? 10000 : 100);
  const every = num('validate-every', values['validate-every'], 1);
  if (seed === null || count === null || every === null) return 2;
  if (!values['model-only']) {
    // main() returns synchronously; the exit status is set when the run ends (as mmsim diff does).
    void runHostMode(seed, count, values.save, values['no-shrink'] !== true, values.json === true, out, err).then(
      (code) => {
        process.exitCode = code;
      },
      (e: unknown) => {
        err(`mmsim fuzz: ${(e as Error).message}`);
        process.exitCode = 2;
      },
    );
    return 0;
  }
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
    out(JSON.stringify(result));
  } else {
    out(`${result.operations} operations (${result.syscalls} syscalls, ${result.errnos} returned an errno; ${result.accesses} accesses, ${result.faults} faulted)`);
    for (const f of result.findings) {
      out(`\nFINDING at operation ${f.op} (machine ${f.machine}): ${f.description}\n${f.error}\nlast operations:\n  ${f.trace.slice(-10).join('\n  ')}`);
    }
    out(result.findings.length === 0 ? 'no findings' : `${result.findings.length} finding(s)`);
  }
  return result.findings.length === 0 ? 0 : 1;
}

/** The host-comparing mode: scenarios through mmsim diff; 0 when all agree, 1 when any diverged. */
export async function runHostMode(seed: number, count: number, save: string | undefined, shrink: boolean, json: boolean, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const tty = process.stderr.isTTY === true;
  const result = await runHostFuzz({
    seed, count, shrink, ...(save !== undefined ? { saveDir: save } : {}),
    onProgress: tty
      ? (done, div) => process.stderr.write(`\r${'#'.repeat(Math.floor((done / Math.max(1, count)) * 40)).padEnd(40, '.')} ${done}/${count} scenarios, ${div} divergent`)
      : undefined,
  });
  if (tty) process.stderr.write('\n');
  if (json) {
    out(JSON.stringify({ seed, scenarios: result.scenarios, divergences: result.divergences, compared: result.compared, findings: result.findings.map((f) => ({ index: f.index, steps: f.steps, file: f.file ?? null, shrunk: f.shrunk })) }));
  } else {
    for (const f of result.findings) {
      out(`\nDIVERGENCE in scenario ${f.index} of seed ${f.seed}${f.file !== undefined ? ` (saved as ${f.file})` : ''}:\n  ${f.steps.join('\n  ')}\nshrunk scenario:\n${f.shrunk}`);
    }
    out(`${result.scenarios} scenarios (${result.compared} steps compared), ${result.divergences} divergent`);
  }
  void err;
  return result.divergences === 0 ? 0 : 1;
}
