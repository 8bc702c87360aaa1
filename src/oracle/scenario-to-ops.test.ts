import { describe, expect, it } from "vitest";
import { serializeOp } from "./runner-protocol.js";
import { translateScenario } from "./scenario-diff.js";
import { runDiff } from "../cli/diff.js";

function ops(src: string): string[] {
  const t = translateScenario(src, "t.strace");
  expect(t.diagnostics).toEqual([]);
  return t.steps.map((s) => (s.op ? serializeOp(s.op).trim() : `# ${s.note}`));
}

describe("scenarioToOps", () => {
  it("bound names become $LINE references, plus or minus constants", () => {
    expect(ops("p = mmap(NULL, 2 * 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\nstore8(p + 4096 + 1, 0x2a)\nload8(p - 8 + 16)\nmunmap(4096 + p, 4096)\n")).toEqual([
      "1 0 mmap 0 8192 3 34 -1 0",
      "2 0 store8 $1+4097 42",
      "3 0 load8 $1+8",
      "4 0 munmap $1+4096 4096",
    ]);
  });

  it("other arithmetic on a bound name is not expressible: skipped, and so is what it binds", () => {
    const got = ops("p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\nq = mmap(p * 2, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\nload8(q)\n");
    expect(got[1]).toMatch(/^# 'p\*2' is not expressible for the host/);
    expect(got[2]).toMatch(/^# 'q' has no value on the host: line 2 did not run/);
  });

  it("/tmp/NAME paths become sandbox names; other absolute paths are skipped", () => {
    const got = ops('fd = openat(AT_FDCWD, "/tmp/data.bin", O_RDWR|O_CREAT, 0644)\nopen("/etc/passwd", O_RDONLY)\nunlink("/tmp/data.bin")\n');
    expect(got[0]).toBe('1 0 openat "data.bin" 66 420');
    expect(got[1]).toMatch(/outside the runner's sandbox/);
    expect(got[2]).toBe('3 0 unlink "data.bin"');
  });

  it("fork and threads get task ids; their lines run in them; a child's exit is an exit op", () => {
    const got = ops("100  fork() = 101\n101  load8(0x1000)\n100  clone(child_stack=NULL, flags=CLONE_VM|CLONE_THREAD|CLONE_SIGHAND) = 102\n102  maps()\n101  exit_group(0) = ?\n100  exit_group(0) = ?\n");
    expect(got).toEqual(["1 0 fork 1", "2 1 load8 4096", "3 0 thread 2", "4 2 maps", "5 1 exit 0", "# the initial process ends with the run"]);
  });

  it("unknown names and missing arguments are diagnostics with line and column", () => {
    const t = translateScenario("munmap(nowhere, 4096)\nmprotect(0x1000)\n", "t.strace");
    expect(t.diagnostics.map((d) => `${d.line}:${d.column} ${d.code}`)).toEqual(["1:8 E_UNKNOWN_NAME", "2:1 E_MISSING_ARG"]);
  });
});

describe("mmsim diff", () => {
  it("exits 2 on bad input, with file:line:column", async () => {
    const err: string[] = [];
    const code = await runDiff(["bad.strace"], { out: () => {}, err: (s) => err.push(s), readFile: () => "load8(nope)\n" });
    expect(code).toBe(2);
    expect(err.join("\n")).toContain("bad.strace:1:7: error: unknown name 'nope'");
  });

  it("exits 0 when host and model agree, and prints both sides", async () => {
    const out: string[] = [];
    const src = "p = mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\nstore8(p, 1)\nload8(p + 8192) = SIGSEGV\nmaps()\n";
    const code = await runDiff(["ok.strace"], { out: (s) => out.push(s), err: (s) => out.push(s), readFile: () => src, color: false });
    expect(out.join("\n")).toMatch(/store8\(p, 1\)\s+= 0 flt 1\/0\s+= 0 flt 1\/0/);
    expect(code).toBe(0);
  });

  it("--json: one record per step and a summary", async () => {
    const out: string[] = [];
    const code = await runDiff(["ok.strace", "--json"], { out: (s) => out.push(s), err: () => {}, readFile: () => "p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\nload8(p)\n" });
    expect(code).toBe(0);
    const recs = out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(recs).toHaveLength(3);
    expect(recs[1]).toMatchObject({ line: 2, op: "load8", host: { ret: "0", minflt: 1 }, differs: [] });
    expect(recs[2]).toMatchObject({ summary: { compared: 2, divergent: 0, agree: true } });
  });
});
