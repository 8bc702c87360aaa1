/**
 * `mmsim replay LOG [--pid N] [--maps] [--maps-file F] [--cwd DIR] [--arch PROFILE] [--json]`:
 * a real strace log through the model (see src/replay/replay.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { archProfile, type ArchName } from '../kernel/arch/profile.js';
import { formatDiagnostic, formatDiagnostics } from '../scenario/diagnostics.js';
import { nodeHost } from '../replay/host.js';
import { type ReplayReport, replayLog } from '../replay/replay.js';

export const REPLAY_USAGE = `Usage: mmsim replay LOG [--pid N] [--maps] [--maps-file F] [--cwd DIR] [--arch PROFILE] [--json] [--paranoid]

  --pid N          the logged process whose maps --maps prints (default: the first)
  --maps           print the model's /proc/PID/maps at the end of the log
  --maps-file F    /proc/PID/maps captured in the same run: the stack and other bases ASLR chose
  --cwd DIR        the traced program's working directory (default: this one)
  --arch PROFILE   x86_64 (default), arm64-4k or arm64-16k: which calls would fail there, and why
  --json           end with one JSON object: {"modelled","agree","disagree","disagreements",...}
  --paranoid       re-validate the whole model after every call

Exit status: 0 every modelled call agrees with the log, 1 some call disagrees
(with --arch: would fail or differ there), 2 the log cannot be read or nothing
in it parses as strace output (or bad arguments).

Examples:
  strace -f -o trace.log ./prog && mmsim replay trace.log
  mmsim replay trace.log --maps --pid 4242
  mmsim replay trace.log --maps-file prog.maps --cwd /home/me/build
  mmsim replay trace.log --arch arm64-16k
  mmsim replay trace.log --json | tail -1
`;

function summary(r: ReplayReport): string[] {
  const out: string[] = [];
  const others = Object.entries(r.other).sort((a, b) => b[1] - a[1]);
  const otherTotal = others.reduce((n, [, c]) => n + c, 0);
  out.push(`${r.file}: ${r.calls} calls; modelled ${r.modelled}: ${r.agree} agree, ${r.disagree} disagree; ${r.skipped.length} not compared; ${otherTotal} other calls not modelled`);
  if (others.length > 0) out.push(`  other calls: ${others.map(([n, c]) => `${n} ${c}`).join(', ')}`);
  for (const e of r.exec) {
    out.push(`execve ${e.path} (line ${e.line})${e.error !== undefined ? `: ${e.error}` : ''}`);
    for (const n of e.notes) out.push(`  ${n}`);
  }
  if (r.placements.length > 0) {
    out.push(`placement: ${r.placements.length} where the model's own choice differs from the kernel's`);
    for (const p of r.placements) out.push(`  ${r.file}:${p.line}: ${p.call}: kernel ${p.logged}, model ${p.model}`);
  }
  if (r.disagreements.length > 0) {
    const title = r.arch === 'x86_64' ? 'disagreements' : `calls that would fail or differ on ${r.arch} (${archProfile(r.arch)!.pageSize / 1024} KiB pages)`;
    out.push(`${title}: ${r.disagreements.length}`);
    for (const d of r.disagreements) {
      out.push(`  ${r.file}:${d.line}:${d.column}: ${d.text}: logged ${d.logged}, model ${d.model}${d.why ? ` (${d.why})` : ''}`);
    }
  }
  if (r.skipped.length > 0) {
    const why = new Map<string, number>();
    for (const s of r.skipped) why.set(`${s.call}: ${s.why}`, (why.get(`${s.call}: ${s.why}`) ?? 0) + 1);
    out.push(`not compared: ${[...why].map(([w, c]) => `${w} (${c})`).join('; ')}`);
  }
  return out;
}

export function runReplay(argv: string[], out: (s: string) => void, err: (s: string) => void): number {
  let logPath: string | undefined;
  let pid: number | undefined;
  let showMaps = false;
  let json = false;
  let paranoid = false;
  let mapsFile: string | undefined;
  let cwd: string | undefined;
  let arch: ArchName = 'x86_64';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = (): string | undefined => argv[++i];
    switch (a) {
      case '--pid': {
        const v = Number(val());
        if (!Number.isInteger(v)) {
          err('mmsim replay: --pid needs a number');
          return 2;
        }
        pid = v;
        break;
      }
      case '--maps':
        showMaps = true;
        break;
      case '--json':
        json = true;
        break;
      case '--paranoid':
        paranoid = true;
        break;
      case '--maps-file':
        mapsFile = val() ?? '';
        break;
      case '--cwd':
        cwd = val() ?? '';
        break;
      case '--arch': {
        const v = val() ?? '';
        if (archProfile(v) === undefined) {
          err(`mmsim replay: unknown --arch '${v}' (x86_64, arm64-4k, arm64-16k)`);
          return 2;
        }
        arch = v as ArchName;
        break;
      }
      case '-h':
      case '--help':
        out(REPLAY_USAGE);
        return 0;
      default:
        if (a.startsWith('-') || logPath !== undefined) {
          err(`mmsim replay: unexpected argument '${a}'\n${REPLAY_USAGE}`);
          return 2;
        }
        logPath = a;
    }
  }
  if (logPath === undefined) {
    err(REPLAY_USAGE);
    return 2;
  }
  if (mapsFile === '' || cwd === '') {
    err(`mmsim replay: ${mapsFile === '' ? '--maps-file' : '--cwd'} needs a path`);
    return 2;
  }
  const logRead = readInput(logPath, 'latin1');
  if (!logRead.ok) {
    err(`mmsim replay: ${logRead.why}`);
    return 2;
  }
  const text = logRead.text;
  if (text.slice(0, 65536).includes('\0')) {
    err(`mmsim replay: ${logPath}: a binary file, not an strace log (strace -f -o LOG prog writes one)`);
    return 2;
  }
  let mapsText: string | undefined;
  if (mapsFile !== undefined) {
    const m = readInput(mapsFile, 'utf8');
    if (!m.ok) {
      err(`mmsim replay: --maps-file ${m.why}`);
      return 2;
    }
    mapsText = m.text;
  }
  const r = replayLog(text, {
    file: logPath, arch, cwd: path.resolve(cwd ?? process.cwd()), host: nodeHost, paranoid,
    ...(pid !== undefined ? { pid } : {}),
    ...(mapsText !== undefined ? { mapsFile: mapsText } : {}),
  });
  const lines = text.split('\n');
  if (r.calls === 0) {
    // Not a log at all (a binary, another kind of text): a few of the diagnostics say why, not thousands.
    for (const d of r.diagnostics.slice(0, 5)) err(formatDiagnostic(d, lines));
    if (r.diagnostics.length > 5) err(`... and ${r.diagnostics.length - 5} more`);
    err(`mmsim replay: ${logPath}: nothing in it parses as a system call${r.diagnostics.length > 0 ? ' (the first errors are above)' : ''}: is it a log written by strace -f -o LOG prog?`);
    return 2;
  }
  // The first 100 diagnostics, as run prints them; a log of garbage with one call in it is not a flood.
  if (r.diagnostics.length > 0) err(formatDiagnostics(r.diagnostics, lines));
  for (const l of summary(r)) out(l);
  if (showMaps) {
    if (r.maps === null) {
      out(pid !== undefined ? `no process ${pid} in the log` : 'no process in the log whose maps could be given');
    } else {
      out(`/proc/${r.mapsPid ?? ''}/maps at the end of the log:`);
      out(r.maps.replace(/\n$/, ''));
    }
  }
  if (json) {
    out(JSON.stringify({
      file: r.file, arch: r.arch, calls: r.calls, modelled: r.modelled, agree: r.agree, disagree: r.disagree,
      disagreements: r.disagreements, placements: r.placements, skipped: r.skipped, other: r.other, exec: r.exec,
      diagnostics: r.diagnostics.map((d) => ({ file: d.file, line: d.line, column: d.column, severity: d.severity, code: d.code, message: d.message })),
      ...(showMaps ? { maps: r.maps } : {}),
    }));
  }
  return r.disagree > 0 ? 1 : 0;
}

/** Node's error codes for reading an input, said in words. */
const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a component of the path is not a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EIO: 'an I/O error while reading',
};

/**
 * The text of an input file, or why it cannot be had: `/tmp: is a directory`.
 * A FIFO or a character device is read (`mmsim replay <(strace -o /dev/stdout ...)`);
 * a directory is refused before any read.
 */
function readInput(file: string, encoding: BufferEncoding): { ok: true; text: string } | { ok: false; why: string } {
  try {
    if (fs.statSync(file).isDirectory()) return { ok: false, why: `${file}: is a directory` };
    return { ok: true, text: fs.readFileSync(file, encoding) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const what = code !== undefined && READ_ERRORS[code] !== undefined ? READ_ERRORS[code] : e instanceof Error ? e.message : String(e);
    return { ok: false, why: `${file}: ${what}` };
  }
}
