/**
 * Packaging checks on the tarball `npm pack` would publish: it ships dist/
 * (with the public entry and its types, the CLI and the benchmarks `mmsim
 * bench` loads from dist/bench/) and src/oracle/runner.c
 * (the host runner is compiled from source at run time); publint finds no
 * errors or warnings in package.json; and Are the Types Wrong finds no
 * problems for an ESM-only package. Installed (the tarball unpacked into a
 * node_modules/mmsim), only its two entries resolve: a deep import of an
 * internal module is refused. Needs the build (npm test builds first);
 * packs with --ignore-scripts so the build is not rerun under other tests.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const bin = (name: string): string => join(root, 'node_modules', '.bin', name);

mkdirSync(join(root, '.cache'), { recursive: true });
const dir = mkdtempSync(join(root, '.cache', 'pack-'));
let tarball = '';
let files: string[] = [];

beforeAll(() => {
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd: root, encoding: 'utf8',
  });
  const [info] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  if (!info) throw new Error(`npm pack printed no package: ${out}`);
  tarball = join(dir, info.filename);
  files = info.files.map((f) => f.path);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('package', () => {
  it('ships the built entry, its types, the CLI, the benchmarks it loads and the host runner source', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    for (const f of ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/bench/model-bench.js', 'dist/bench/memory-child.js', 'src/oracle/runner.c', ...Object.values(pkg.bin)]) {
      expect(files, f).toContain(f.replace(/^\.\//, ''));
    }
    expect(files.filter((f) => f.startsWith('node_modules/'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.test.ts')), 'tests are not shipped').toEqual([]);
  });

  it('publint reports nothing', () => {
    const out = execFileSync(bin('publint'), ['run', tarball, '--strict'], { cwd: root, encoding: 'utf8' });
    expect(out).toContain('All good!');
  });

  it('attw reports no problems for an ESM-only package', () => {
    const out = execFileSync(bin('attw'), [tarball, '--profile', 'esm-only', '--format', 'json'], {
      cwd: root, encoding: 'utf8',
    });
    const report = JSON.parse(out) as { analysis: { problems: unknown[] } };
    // esm-only ignores the node10 and node16-from-CJS resolutions; nothing else may be flagged.
    const problems = report.analysis.problems.filter((p) => {
      const kind = (p as { kind: string; resolutionKind?: string }).resolutionKind;
      return kind !== 'node10' && kind !== 'node16-cjs';
    });
    expect(problems).toEqual([]);
  });

  it('installed, resolves its two entries and refuses a deep import of an internal module', () => {
    // What `npm install mmsim` leaves: the tarball's package/ folder as node_modules/mmsim
    // (the package has no runtime dependencies).
    const app = join(dir, 'app');
    const pkgDir = join(app, 'node_modules', 'mmsim');
    mkdirSync(pkgDir, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', pkgDir, '--strip-components=1']);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', type: 'module', private: true }));
    writeFileSync(join(app, 'probe.js'), [
      "const out = {};",
      "for (const spec of ['mmsim', 'mmsim/host-fs', 'mmsim/dist/kernel/kernel.js', 'mmsim/dist/index.js', 'mmsim/src/kernel/machine.ts']) {",
      "  try { const mod = await import(spec); out[spec] = Object.keys(mod).sort().join(','); }",
      "  catch (e) { out[spec] = e.code ?? String(e); }",
      "}",
      "console.log(JSON.stringify(out));",
    ].join('\n'));
    const out = JSON.parse(execFileSync(process.execPath, ['probe.js'], { cwd: app, encoding: 'utf8' })) as Record<string, string>;
    expect(out['mmsim']!.split(',')).toContain('Machine');
    expect(out['mmsim/host-fs']!.split(',')).toContain('hostFolder');
    expect(out['mmsim/dist/kernel/kernel.js']).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
    expect(out['mmsim/dist/index.js']).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
    expect(out['mmsim/src/kernel/machine.ts']).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });
});
