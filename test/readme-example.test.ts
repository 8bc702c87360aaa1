/**
 * The README's "Using the model as a library" example runs as written: it is
 * extracted, written inside the package (so `from 'mmsim'` resolves through
 * the package's own exports map to the built dist/index.js), run with node as
 * a plain ES module (it has no type annotations) and type-checked as
 * TypeScript. Needs the build (npm test builds first).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

function libraryExample(): string {
  const section = readme.split('## Using the model as a library')[1];
  const block = section?.match(/```ts\n([\s\S]*?)```/);
  if (!block?.[1]) throw new Error('README has no ```ts block under "Using the model as a library"');
  return block[1];
}

mkdirSync(join(root, '.cache'), { recursive: true });
const dir = mkdtempSync(join(root, '.cache', 'readme-example-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('README library example', () => {
  const code = libraryExample();

  it('imports the package by name and stays short', () => {
    expect(code).toContain("from 'mmsim'");
    expect(code.trim().split('\n').length).toBeLessThanOrEqual(20);
  });

  it('runs with node against the built package', () => {
    expect(existsSync(join(root, 'dist', 'index.js')), 'dist/index.js is built').toBe(true);
    const file = join(dir, 'example.mjs');
    writeFileSync(file, code);
    const out = execFileSync(process.execPath, [file], { cwd: root, encoding: 'utf8' });
    expect(out).toMatch(/^mmap 8192 -> \{ ok: true, value: \d+n \}$/m);
    expect(out).toContain('store 0 42 -> { ok: true, value: undefined }');
    expect(out).toContain('load 0 -> { ok: true, value: 42n }');
    expect(out).toContain('load 4096 -> { ok: true, value: 0n }');
    const addr = BigInt(out.match(/^mmap 8192 -> \{ ok: true, value: (\d+)n \}$/m)?.[1] ?? '0');
    const start = addr.toString(16);
    const end = (addr + 8192n).toString(16);
    expect(out).toMatch(new RegExp(`^${start}-${end} rw-p 00000000 00:00 0 *$`, 'm'));
    expect(out).toContain('munmap 8192 -> { ok: true, value: 0n }');
    expect(out).toMatch(/load 0 -> \{\s*ok: false,\s*fault: \{ signal: 'SIGSEGV'/);
    expect(out).toContain('page faults: 2');
  });

  it('type-checks as strict TypeScript', () => {
    const file = join(dir, 'example.ts');
    writeFileSync(file, code);
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    execFileSync(process.execPath, [
      tsc, '--noEmit', '--strict', '--noUncheckedIndexedAccess', '--exactOptionalPropertyTypes',
      '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', file,
    ], { cwd: root, encoding: 'utf8' });
  });
});
