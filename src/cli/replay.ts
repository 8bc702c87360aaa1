/**
 * `mmsim replay LOG [--pid N] [--maps] [--maps-file F] [--cwd DIR] [--arch PROFILE] [--json]`:
 * a real strace log through the model (see src/replay/replay.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { archProfile, type ArchName } from '../kernel/arch/profile.js';
import { formatDiagnostic } from '../scenario/diagnostics.js';
import { nodeHost } from '../replay/host.js';
import { type ReplayReport, replayLog } from '../replay/replay.js';

export const REPLAY_USAGE = `Usage: mmsim replay LOG [--pid N] [--maps] [--maps-file F] [--cwd DIR] [--arch PROFILE] [--json] [--paranoid]

  --pid N          the logged process whose maps --maps prints (default: the first)
  --maps           print the model's /proc/PID/maps at the end of the log
  --maps-file F    /proc/PID/maps captured in the same run: the stack and other bases ASLR chose
  --cwd DIR        the traced program's working directory (default: this one)
  --arch PROFILE   x86_64 (default), arm64-4k or arm64-16k: which calls would fail there, and why
  --json           end with one JSON object: {"modelled","agree","disagree","disagreements",...}
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
        mapsFile = val();
        break;
      case '--cwd':
        cwd = val();
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
  let text: string;
  let mapsText: string | undefined;
  try {
    text = fs.readFileSync(logPath, 'latin1');
    if (mapsFile !== undefined) mapsText = fs.readFileSync(mapsFile, 'utf8');
  } catch (e) {
    err(`mmsim replay: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
  const r = replayLog(text, {
    file: logPath, arch, cwd: path.resolve(cwd ?? process.cwd()), host: nodeHost, paranoid,
    ...(pid !== undefined ? { pid } : {}),
    ...(mapsText !== undefined ? { mapsFile: mapsText } : {}),
  });
  const lines = text.split('\n');
  for (const d of r.diagnostics) err(formatDiagnostic(d, lines));
  for (const l of summary(r)) out(l);
  if (showMaps) {
    if (r.maps === null) out(`no process ${pid ?? ''} in the log`);
    else {
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
  return 0;
}
