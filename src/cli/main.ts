#!/usr/bin/env node
/**
 * The mmsim command line: one file per command, dispatched here.
 */
import { runBench } from './bench.js';
import { runDiff } from './diff.js';
import { runFuzz } from './fuzz.js';
import { runReplay } from './replay.js';
import { guardEpipe, stderrLine, stdoutLine } from './stdout.js';
import { runExplore } from './explore.js';
import { runCommand } from './run.js';
import { runTour } from './tour.js';

const HELP = `mmsim: the Linux memory-mapping subsystem, executable

Usage: mmsim <command> [options]

Commands:
  tour            a guided run: shared, private (copy-on-write) and anonymous mappings, step by step
  run FILE        run a scenario or strace log on the model, checking its expectations
                  (--arch x86_64|arm64-4k|arm64-16k, --trace, --json; 'mmsim run --help')
  explore [FILE]  the web page that shows the model step by step (--port P; serves 127.0.0.1)
  bench           performance benchmarks against their baselines (--json, --quick)
  fuzz            random syscalls and accesses through the model, invariants checked (--model-only)
  replay LOG      a real strace log through the model: agreement, placement, maps (--maps, --json, --arch arm64-16k)
  diff FILE       a scenario on the host kernel and on the model, side by side (--json; exit 1 when they differ)
  help            this text

Examples:
  mmsim tour
  mmsim run examples/page-cache.strace --trace
  mmsim bench --quick
`;

export function main(argv: string[]): number {
  const [cmd] = argv;
  // Every command's output may be cut short by its reader (`mmsim tour | head`).
  guardEpipe();
  const out = stdoutLine;
  switch (cmd) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return 0;
    case 'tour':
      return runTour(out, argv.slice(1), (s) => process.stderr.write(s + '\n'));
    case 'run':
      return runCommand(argv.slice(1));
    case 'explore':
      return runExplore(argv.slice(1));
    case 'fuzz':
      return runFuzz(argv.slice(1), out, (s) => process.stderr.write(s + '\n'));
    case 'bench':
      void runBench(argv.slice(1), out, (s) => process.stderr.write(s + '\n')).then((code) => {
        process.exitCode = code;
      });
      return 0;
    case 'diff':
      void runDiff(argv.slice(1)).then((code) => {
        process.exitCode = code;
      });
      return 0;
    case 'replay':
      return runReplay(argv.slice(1), stdoutLine, stderrLine);
    default:
      process.stderr.write(`mmsim: unknown command '${cmd}'\n\n${HELP}`);
      return 2;
  }
}

process.exitCode = main(process.argv.slice(2));
