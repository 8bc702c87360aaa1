/**
 * Shrinking a divergent generated scenario: delta debugging over its lines
 * (ddmin: drop chunks, then single lines), where every candidate keeps the
 * lines that bind the names its kept lines use (and the fork of a child
 * whose lines stay). A candidate is kept when `stillFails` says the
 * divergence remains (the caller re-runs `mmsim diff`).
 */
import type { GenLine } from './scenario-gen.js';

/** Adds to `keep` the lines binding the names that kept lines use. */
export function closeOverNames(lines: readonly GenLine[], keep: Set<number>): Set<number> {
  const out = new Set(keep);
  let changed = true;
  while (changed) {
    changed = false;
    for (const i of [...out]) {
      for (const u of lines[i]!.uses) {
        // The latest binding of the name before line i.
        for (let j = i - 1; j >= 0; j--) {
          if (lines[j]!.defines === u) {
            if (!out.has(j)) {
              out.add(j);
              changed = true;
            }
            break;
          }
        }
      }
    }
  }
  return out;
}

export async function shrinkScenario(lines: readonly GenLine[], stillFails: (candidate: GenLine[]) => Promise<boolean>, maxTries = 400): Promise<GenLine[]> {
  let cur = [...lines];
  let tries = 0;
  const attempt = async (drop: Set<number>): Promise<GenLine[] | null> => {
    const keep = new Set<number>();
    cur.forEach((_, i) => {
      if (!drop.has(i)) keep.add(i);
    });
    const closed = closeOverNames(cur, keep);
    if (closed.size >= cur.length) return null;
    const cand = cur.filter((_, i) => closed.has(i));
    tries++;
    return (await stillFails(cand)) ? cand : null;
  };
  let n = 2;
  while (cur.length > 1 && tries < maxTries) {
    const chunk = Math.ceil(cur.length / n);
    let reduced = false;
    for (let s = 0; s < cur.length && tries < maxTries; s += chunk) {
      const drop = new Set<number>();
      for (let i = s; i < Math.min(cur.length, s + chunk); i++) drop.add(i);
      const c = await attempt(drop);
      if (c !== null) {
        cur = c;
        n = Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (chunk === 1) break;
      n = Math.min(cur.length, n * 2);
    }
  }
  return cur;
}
