/**
 * Every examples/*.strace scenario runs on the model with all its
 * expectations holding, has at least one expectation, starts with a comment
 * header, and also runs with tracing and paranoid validation on.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../src/scenario/interpreter.js';

const dir = join(import.meta.dirname, '..', 'examples');
const files = readdirSync(dir).filter((f) => f.endsWith('.strace')).sort();

describe('examples', () => {
  it('there are examples', () => {
    expect(files.length).toBeGreaterThanOrEqual(9);
  });

  it("the README's count of them is right", () => {
    const readme = readFileSync(join(dir, '..', 'README.md'), 'utf8');
    const words = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'];
    const said = readme.match(/`examples\/` has (\w+)/)?.[1];
    expect(said, 'README says how many examples there are').toBeDefined();
    expect(words.indexOf(said!) >= 0 ? words.indexOf(said!) : Number(said)).toBe(files.length);
  });

  for (const name of files) {
    it(name, () => {
      const path = `examples/${name}`;
      const source = readFileSync(join(dir, name), 'utf8');
      expect(source.startsWith('#'), 'a comment header explains the example').toBe(true);
      const r = runScenario(source, { file: path, trace: true, paranoid: true });
      expect(r.malformed).toBe(false);
      expect(r.diagnostics).toEqual([]);
      const failures = r.records.flatMap((rec) => rec.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`));
      expect(failures).toEqual([]);
      expect(r.summary.failed).toBe(0);
      expect(r.summary.expectations).toBeGreaterThan(0);
      expect(r.records.some((rec) => (rec.events ?? []).length > 0)).toBe(true);
    });
  }
});
