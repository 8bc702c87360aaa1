import { describe, expect, it } from "vitest";
import {
  ProtocolError,
  bytes,
  op,
  parseRunnerLine,
  parseRunnerOutput,
  quoteBytes,
  ref,
  serializeOp,
  serializeOps,
  type Observation,
} from "./runner-protocol.js";

describe("serializeOp", () => {
  it("writes STEP TID OP ARG... with decimal integers, references and strings", () => {
    expect(serializeOp(op(1, 0, "mmap", 0, 8192, 3, 0x22, -1, 0))).toBe("1 0 mmap 0 8192 3 34 -1 0");
    expect(serializeOp(op(2, 3, "store8", ref(1, 4096), 0xff))).toBe("2 3 store8 $1+4096 255");
    expect(serializeOp(op(3, 0, "munmap", ref(1, -4096n), ref(1)))).toBe("3 0 munmap $1-4096 $1");
    expect(serializeOp(op(4, 0, "openat", bytes("data.bin"), 0o102, 0o644))).toBe('4 0 openat "data.bin" 66 420');
    expect(serializeOp(op(5, 0, "munlockall"))).toBe("5 0 munlockall");
    expect(serializeOp(op(6, 0, "mremap", 1, 2, 3, 4))).toBe("6 0 mremap 1 2 3 4");
    expect(serializeOp(op(7, 0, "mremap", 1, 2, 3, 4, 5))).toBe("7 0 mremap 1 2 3 4 5");
  });

  it("keeps 64-bit values exact as bigints", () => {
    expect(serializeOp(op(1, 0, "store64", 0x7fff_ffff_f000n, 0xffff_ffff_ffff_ffffn))).toBe(
      "1 0 store64 140737488351232 18446744073709551615",
    );
    expect(serializeOp(op(1, 0, "lseek", 3, -(1n << 63n), 0))).toBe("1 0 lseek 3 -9223372036854775808 0");
  });

  it("quotes bytes C-style with two-digit \\x escapes", () => {
    expect(quoteBytes(new Uint8Array([0x41, 0x22, 0x5c, 0x0a, 0x00, 0x7f, 0xff, 0x09]))).toBe('"A\\"\\\\\\n\\x00\\x7f\\xff\\t"');
    expect(quoteBytes(bytes("é").data)).toBe('"\\xc3\\xa9"');
  });

  it("rejects malformed ops, naming the caller", () => {
    const bad = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(ProtocolError);
        return (e as ProtocolError).toJSON();
      }
      throw new Error("no error");
    };
    expect(bad(() => serializeOp(op(1, 0, "munmap", 1)))).toMatchObject({ code: "BAD_OP", message: expect.stringContaining("serializeOp(step 1, munmap)") });
    expect(bad(() => serializeOp(op(1, 0, "write", 3, 4))).code).toBe("BAD_ARG");
    expect(bad(() => serializeOp(op(1, 0, "load8", bytes("x")))).code).toBe("BAD_ARG");
    expect(bad(() => serializeOp(op(1, 0, "load8", 2 ** 60))).message).toContain("bigint");
    expect(bad(() => serializeOp(op(1, 0, "load8", 1n << 64n))).code).toBe("BAD_ARG");
    expect(bad(() => serializeOp(op(1, 5000, "checkpoint"))).code).toBe("BAD_OP");
    expect(bad(() => serializeOp({ step: 1, tid: 0, op: "nope" as "checkpoint", args: [] })).code).toBe("BAD_OP");
  });

  it("serializeOps ends every line with a newline", () => {
    expect(serializeOps([op(1, 0, "checkpoint"), op(2, 0, "maps")])).toBe("1 0 checkpoint\n2 0 maps\n");
  });
});

describe("parseRunnerLine", () => {
  it("parses an observation, turning 64-bit strings into bigints", () => {
    const o = parseRunnerLine(
      '{"step":1,"tid":0,"pid":42,"op":"mmap","ret":"140737488351232","minflt":0,"majflt":0}',
    ) as Observation;
    expect(o).toMatchObject({ kind: "observation", step: 1, tid: 0, pid: 42, op: "mmap", ret: 140737488351232n, errno: null, minflt: 0 });
  });

  it("parses errno, signals, bytes, vectors, stat and text", () => {
    const e = parseRunnerLine('{"step":2,"tid":0,"pid":1,"op":"munmap","ret":"-1","errno":"EINVAL","minflt":0,"majflt":0}') as Observation;
    expect(e.ret).toBe(-1n);
    expect(e.errno).toBe("EINVAL");
    const s = parseRunnerLine(
      '{"step":3,"tid":0,"pid":1,"op":"load","ret":null,"signal":{"name":"SIGBUS","code":"BUS_ADRERR","addr":"0x7f0000001000"},"bytes":"4142","done":2,"minflt":1,"majflt":0}',
    ) as Observation;
    expect(s.signal).toEqual({ name: "SIGBUS", code: "BUS_ADRERR", addr: 0x7f0000001000n });
    expect(Array.from(s.bytes!)).toEqual([0x41, 0x42]);
    expect(s.done).toBe(2);
    const v = parseRunnerLine('{"step":4,"tid":0,"pid":1,"op":"mincore","ret":"0","vec":[1,0,1],"minflt":0,"majflt":0}') as Observation;
    expect(v.vec).toEqual([1, 0, 1]);
    const st = parseRunnerLine(
      '{"step":5,"tid":0,"pid":1,"op":"fstat","ret":"0","stat":{"size":"4096","ino":"12","dev":"65024","devMajor":254,"devMinor":0,"blocks":"8","blksize":4096,"mode":33188,"nlink":1},"minflt":0,"majflt":0}',
    ) as Observation;
    expect(st.stat).toMatchObject({ size: 4096n, ino: 12n, devMajor: 254, blocks: 8n });
    // the runner sends bytes >= 0x7f as \u00XX; text is UTF-8 again after parsing
    const t = parseRunnerLine('{"step":6,"tid":0,"pid":1,"op":"maps","ret":"0","text":"/tmp/\\u00c3\\u00a9\\n","minflt":0,"majflt":0}') as Observation;
    expect(t.text).toBe("/tmp/é\n");
  });

  it("parses parse-error observations and fatal reports", () => {
    const p = parseRunnerLine('{"step":7,"tid":null,"op":null,"ret":null,"error":"parse: bad task id","line":"7 x y","minflt":0,"majflt":0}') as Observation;
    expect(p).toMatchObject({ step: 7, tid: null, op: null, pid: null, ret: null, error: "parse: bad task id", line: "7 x y" });
    expect(parseRunnerLine('{"fatal":"runner crashed"}')).toEqual({ kind: "fatal", message: "runner crashed" });
  });

  it("throws ProtocolError on output that is not the runner's", () => {
    expect(() => parseRunnerLine("hello")).toThrow(ProtocolError);
    expect(() => parseRunnerLine('{"step":1,"ret":12,"minflt":0,"majflt":0}')).toThrow(/ret/);
  });

  it("parseRunnerOutput ignores a line cut short by a dying runner", () => {
    const hello =
      '{"hello":true,"version":1,"pid":9,"pageSize":4096,"sandbox":"/tmp/mmsim-runner-abcdef","brk":"0x1000","startBrk":"0x1000","fdBase":900,"opTimeoutMs":10000,"maxBytes":1,"maxStr":1,"maxText":1,"maxTasks":64,"limits":{"stack":["8388608",null],"memlock":["65536","65536"],"as":[null,null],"data":[null,null],"nofile":["1024","4096"]},"protected":[["0x1000","0x2000","/bin/x"]],"maps":"1000-2000 r-xp 00000000 fe:00 1 /bin/x\\n"}';
    const out = parseRunnerOutput(`${hello}\n{"step":1,"tid":0,"pid":9,"op":"checkpoint","ret":"0","minflt":0,"majflt":0}\n{"step":2,"ti`);
    expect(out.hello).toMatchObject({ pid: 9, pageSize: 4096, brk: 0x1000n, limits: { stack: { soft: 8388608n, hard: null } } });
    expect(out.hello!.protectedRanges).toEqual([{ start: 0x1000n, end: 0x2000n, name: "/bin/x" }]);
    expect(out.observations).toHaveLength(1);
    expect(out.fatal).toBeNull();
  });
});
