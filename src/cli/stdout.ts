/**
 * Writing to stdout from a command that may be cut short by its reader
 * (`mmsim replay LOG | head -1`): the first EPIPE ends output quietly instead
 * of an unhandled 'error' event and a stack trace. The same guard as run's
 * and diff's (src/cli/run.ts, src/cli/diff.ts), shared.
 */
let stdoutClosed = false;
let epipeGuard = false;

/** Installs the guard once: an EPIPE on stdout stops further writes; any other error still throws. */
export function guardEpipe(): void {
  if (epipeGuard) return;
  epipeGuard = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    stdoutClosed = true;
  });
}

/** One line to stdout, nothing once the reader has gone. */
export function stdoutLine(s: string): void {
  guardEpipe();
  if (stdoutClosed) return;
  process.stdout.write(s + '\n');
}

/** One line to stderr. */
export function stderrLine(s: string): void {
  process.stderr.write(s + '\n');
}
