// Every command's --help: exit status 0, usage on stdout, and an Examples
// section. replay is left out: its help (src/cli/replay.ts, REPLAY_USAGE) has
// no Examples section on this branch.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const main = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const mmsim = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('mmsim COMMAND --help', () => {
  for (const cmd of ['tour', 'run', 'explore', 'bench', 'fuzz', 'diff']) {
    it(`${cmd} --help prints usage with examples and exits 0`, () => {
      const r = mmsim(cmd, '--help');
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(`mmsim ${cmd}`);
      expect(r.stdout).toContain('Examples:');
      expect(r.stderr).toBe('');
    });
  }

  it('mmsim --help lists the commands with examples', () => {
    const r = mmsim('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Examples:');
  });

  it('tour --help does not run the tour, and tour rejects other arguments', () => {
    const help = mmsim('tour', '-h');
    expect(help.stdout).toMatch(/^Usage: mmsim tour\n/);
    expect(help.stdout).not.toContain('== ');
    const bad = mmsim('tour', '--frobnicate');
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain("mmsim tour: unexpected argument '--frobnicate'");
  });
});
