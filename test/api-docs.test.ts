import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');

describe('API reference', () => {
  it('fails on any warning, an undocumented export or member among them', () => {
    const config = JSON.parse(readFileSync(join(ROOT, 'typedoc.json'), 'utf8')) as {
      treatWarningsAsErrors?: boolean; excludeInternal?: boolean; validation?: { notDocumented?: boolean };
    };
    expect(config.treatWarningsAsErrors).toBe(true);
    expect(config.validation?.notDocumented).toBe(true);
    expect(config.excludeInternal).toBe(true);
  });

  it('is generated from the doc comments with no warning, and documents the Machine', () => {
    const out = mkdtempSync(join(tmpdir(), 'mmsim-api-'));
    try {
      // typedoc.json sets treatWarningsAsErrors: a broken link or comment fails the run.
      execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out], { cwd: ROOT, stdio: 'pipe' });
      const classes = readdirSync(join(out, 'classes'));
      expect(classes.some((f) => f.includes('Machine'))).toBe(true);
      const page = readFileSync(join(out, 'classes', classes.find((f) => f.includes('Machine'))!), 'utf8');
      for (const method of ['mmap', 'munmap', 'mprotect', 'msync', 'load', 'store', 'maps', 'smaps', 'subscribe', 'vmas', 'walk', 'frames', 'pageCache', 'tlb', 'counters', 'execve']) {
        expect(page).toContain(`>${method}<`);
        expect(page).toContain(`id="${method.toLowerCase()}"`);
      }
      // The members kept for mmsim's own layers are @internal: not in the reference.
      for (const internal of ['k', 'task', 'process', 'mmu', 'execImages']) {
        expect(page).not.toContain(`id="${internal.toLowerCase()}"`);
        expect(page).not.toContain(`href="#${internal.toLowerCase()}"`);
      }
      expect(classes.some((f) => f.includes('MemoryBackend'))).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
