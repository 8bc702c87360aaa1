/**
 * The conformance corpus: each scenario under test/conformance/ ports a
 * behaviour checked by a public test suite written for the real kernel (LTP,
 * gVisor's syscall tests, the xv6 mmap lab), named in its header. Each runs
 * through `mmsim diff` (src/oracle/scenario-diff.ts) on this machine's kernel
 * and on the model, and every compared step must agree. Behaviours the model
 * does not support yet are listed in test/conformance/UNSUPPORTED.md.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatDiff } from "../src/cli/diff.js";
import { diffScenario } from "../src/oracle/scenario-diff.js";

const DIR = join(import.meta.dirname, "conformance");
const UNSUPPORTED = readFileSync(join(DIR, "UNSUPPORTED.md"), "utf8");
// Scenarios `mmsim fuzz` found and shrank (test/fuzz-host.test.ts): those that
// agree now are regression scenarios; the divergent ones are listed in
// UNSUPPORTED.md and left out.
const FUZZ_FOUND = readdirSync(join(DIR, "fuzz-found"))
  .filter((f) => f.endsWith(".strace") && !UNSUPPORTED.includes(`fuzz-found/${f}`))
  .map((f) => `fuzz-found/${f}`);
const FILES = [...readdirSync(DIR).filter((f) => f.endsWith(".strace")).sort(), ...FUZZ_FOUND.sort()];

describe("conformance corpus (host kernel vs model)", () => {
  it("has scenarios, each naming its source test", () => {
    expect(FILES.length).toBeGreaterThan(0);
    for (const f of FILES) expect(readFileSync(join(DIR, f), "utf8"), f).toMatch(/^# Source: .+/m);
  });

  for (const f of FILES) {
    it(f, async () => {
      const path = join("test/conformance", f);
      const r = await diffScenario(readFileSync(join(DIR, f), "utf8"), { file: path });
      expect(r.diagnostics.filter((d) => d.severity === "error"), "diagnostics").toEqual([]);
      const hostErrors = r.steps.filter((s) => s.host?.error != null).map((s) => `${s.line}: ${s.host!.error}`);
      expect(hostErrors, "host steps that did not run").toEqual([]);
      expect(r.summary.compared, "steps compared").toBeGreaterThan(0);
      const bad = r.steps.filter((s) => s.differs.length > 0).map((s) => `${s.line}: ${s.text}: ${s.differs.join(", ")}`);
      expect(bad, formatDiff(r, false).join("\n")).toEqual([]);
    });
  }
});
