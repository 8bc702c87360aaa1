/**
 * Layout inference: the bases ASLR chose at exec, recovered from what a log
 * reveals or from a captured /proc/PID/maps.
 *
 * - The executable's load bias: ld.so's RELRO mprotect of the executable
 *   (PT_GNU_RELRO's page plus the bias) hits an address no logged mmap
 *   created; of such addresses, the one whose image ends at most 32 MiB + a
 *   page below the first brk() result is the executable's
 *   (arch_randomize_brk() puts the break within 32 MiB after the bss).
 * - The interpreter's base: the other such address, ld.so's own RELRO.
 * - mm->start_brk: the first brk() result.
 * - mmap_base: the end of the interpreter's image (load_elf_interp() maps
 *   it first, top-down from mmap_base); for a static binary, the end of
 *   [vdso] in a maps file, or else the first mmap(NULL, ...) plus the vDSO
 *   pages above it.
 * - The stack and [vvar] start: only from a maps file.
 */
import { type ElfImage, type ExecBases, PT_GNU_RELRO, firstLoadPage, totalMappingSize } from '../kernel/exec.js';

export interface MapsLine {
  start: number;
  end: number;
  perms: string;
  offset: number;
  dev: string;
  ino: number;
  name: string;
  text: string;
}

const RE_MAPS = /^([0-9a-f]+)-([0-9a-f]+) ([-r][-w][-x][ps]) ([0-9a-f]+) ([0-9a-f]+:[0-9a-f]+) (\d+) ?\s*(.*)$/;

/** Parses /proc/PID/maps text; lines that are not maps lines are skipped. */
export function parseMaps(text: string): MapsLine[] {
  const out: MapsLine[] = [];
  for (const line of text.split('\n')) {
    const m = RE_MAPS.exec(line);
    if (!m) continue;
    out.push({
      start: parseInt(m[1]!, 16),
      end: parseInt(m[2]!, 16),
      perms: m[3]!,
      offset: parseInt(m[4]!, 16),
      dev: m[5]!,
      ino: Number(m[6]!),
      name: m[7]!,
      text: line,
    });
  }
  return out;
}

/** An address range a logged call showed to exist, and what the log says about mprotect calls. */
export interface LogFacts {
  /** Successful mprotect start addresses, in log order, with whether a logged mmap had covered them by then. */
  mprotects: { addr: number; covered: boolean }[];
  /** The first brk() result, if any. */
  firstBrk: number | null;
  /** The process's first mapping, when it was an mmap(NULL, ...) the kernel placed: its address, length (whole pages) and line. */
  firstMmap?: { addr: number; len: number; line: number } | null;
}

/**
 * The length of x86_64's [vvar], [vvar_vclock] and [vdso] (4 + 2 + 2 pages,
 * Linux 6.x, as the model lays them out): arch_setup_additional_pages() puts
 * them top-down just below mmap_base.
 */
export const X86_64_SPECIALS_LEN = 8 * 4096;

export interface InferredBases {
  bases: ExecBases;
  /** How each base was found, for the report. */
  notes: string[];
}

function relroPage(img: ElfImage, ps: number): number | null {
  const r = img.phdrs.find((p) => p.type === PT_GNU_RELRO);
  return r === undefined ? null : Math.floor(r.vaddr / ps) * ps;
}

/** Infers the randomised bases for one execve from the log facts and, when given, a maps file. */
export function inferBases(exe: ElfImage, interp: ElfImage | null, facts: LogFacts, ps: number, maps: MapsLine[] | null, exeName: string, interpName: string | null): InferredBases {
  const bases: ExecBases = {};
  const notes: string[] = [];
  if (facts.firstBrk !== null) {
    bases.brk = facts.firstBrk;
    notes.push(`start_brk 0x${facts.firstBrk.toString(16)} from the first brk()`);
  }
  const exeTotal = totalMappingSize(exe.phdrs, ps);
  const exeFirst = firstLoadPage(exe.phdrs, ps);
  const exeRelro = relroPage(exe, ps);
  const candidates = facts.mprotects.filter((m) => !m.covered && m.addr % ps === 0).map((m) => m.addr);
  const used = new Set<number>();
  if (exe.type === 'dyn' && exeRelro !== null) {
    for (const a of candidates) {
      const base = a - exeRelro + exeFirst;
      if (base < 0 || base % ps !== 0) continue;
      if (facts.firstBrk !== null) {
        const end = base + Math.ceil(exeTotal / ps) * ps;
        if (!(end <= facts.firstBrk && facts.firstBrk <= end + 1024 * 1024 * 1024 + ps)) continue;
      }
      bases.loadBias = base;
      used.add(a);
      notes.push(`executable at 0x${base.toString(16)} from its RELRO mprotect(0x${a.toString(16)})`);
      break;
    }
  }
  if (interp !== null && interp.type === 'dyn') {
    const iRelro = relroPage(interp, ps);
    const iFirst = firstLoadPage(interp.phdrs, ps);
    const iTotal = Math.ceil(totalMappingSize(interp.phdrs, ps) / ps) * ps;
    if (iRelro !== null) {
      for (const a of candidates) {
        if (used.has(a)) continue;
        const base = a - iRelro + iFirst;
        if (base < 0 || base % ps !== 0) continue;
        if (bases.loadBias !== undefined && base < bases.loadBias + exeTotal && bases.loadBias < base + iTotal) continue;
        // The interpreter is in the mmap area, which lies above the heap.
        if (facts.firstBrk !== null && base < facts.firstBrk) continue;
        bases.interpBase = base;
        bases.mmapBase = base + iTotal;
        used.add(a);
        notes.push(`interpreter at 0x${base.toString(16)} from its RELRO mprotect(0x${a.toString(16)}); mmap_base 0x${bases.mmapBase.toString(16)}`);
        break;
      }
    }
  }
  if (maps !== null) {
    const stack = maps.find((l) => l.name === '[stack]');
    if (stack !== undefined) {
      bases.stackTop = stack.end;
      bases.stackSize = stack.end - stack.start;
      notes.push(`[stack] ${stack.start.toString(16)}-${stack.end.toString(16)} from the maps file`);
    }
    const vvar = maps.find((l) => l.name === '[vvar]' || l.name === '[vdso]');
    if (vvar !== undefined && maps.find((l) => l.name === '[vvar]') === vvar) bases.specialsBase = vvar.start;
    const exeLine = maps.find((l) => l.name === exeName && l.offset === 0);
    if (bases.loadBias === undefined && exeLine !== undefined && exe.type === 'dyn') {
      bases.loadBias = exeLine.start;
      notes.push(`executable at 0x${exeLine.start.toString(16)} from the maps file`);
    }
    const interpLine = interpName === null ? undefined : maps.find((l) => l.name === interpName && l.offset === 0);
    if (bases.interpBase === undefined && interpLine !== undefined && interp !== null) {
      bases.interpBase = interpLine.start;
      bases.mmapBase = interpLine.start + Math.ceil(totalMappingSize(interp.phdrs, ps) / ps) * ps;
      notes.push(`interpreter at 0x${interpLine.start.toString(16)} from the maps file`);
    }
    const heap = maps.find((l) => l.name === '[heap]');
    if (bases.brk === undefined && heap !== undefined) bases.brk = heap.start;
    // A static binary has no interpreter to show mmap_base: the vDSO, mapped first and top-down, ends there.
    const vdso = maps.find((l) => l.name === '[vdso]');
    if (bases.mmapBase === undefined && interp === null && exe.interp === null && vdso !== undefined) {
      bases.mmapBase = vdso.end;
      notes.push(`mmap_base 0x${vdso.end.toString(16)} from the end of [vdso] in the maps file (no interpreter)`);
    }
  }
  if (bases.mmapBase === undefined && interp === null && exe.interp === null && facts.firstMmap != null) {
    // Without a maps file: the first mmap(NULL, ...) went top-down just below the vDSO, which sits just below mmap_base.
    const f = facts.firstMmap;
    bases.mmapBase = f.addr + f.len + X86_64_SPECIALS_LEN;
    notes.push(`mmap_base 0x${bases.mmapBase.toString(16)} from the first mmap (line ${f.line}) and the vDSO above it (no interpreter)`);
  }
  return { bases, notes };
}
