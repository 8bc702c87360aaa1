#!/usr/bin/env node
/**
 * The mmsim command line: one file per command, dispatched here.
 */
import { runTour } from './tour.js';

const HELP = `mmsim: the Linux memory-mapping subsystem, executable

Usage: mmsim <command> [options]

Commands:
  tour            a guided run: shared, private (copy-on-write) and anonymous mappings, step by step
  help            this text

Examples:
  mmsim tour
`;

export function main(argv: string[]): number {
  const [cmd] = argv;
  const out = (s: string): void => {
    process.stdout.write(s + '\n');
  };
  switch (cmd) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return 0;
    case 'tour':
      return runTour(out);
    default:
      process.stderr.write(`mmsim: unknown command '${cmd}'\n\n${HELP}`);
      return 2;
  }
}

process.exitCode = main(process.argv.slice(2));
