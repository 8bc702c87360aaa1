/**
 * Helpers for the model's unit tests: a paranoid machine with one process,
 * and syscall wrappers that unwrap results.
 */
import { Machine, type MachineOptions, type SysResult } from '../src/kernel/machine.js';
import { AT_FDCWD, MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, O_CREAT, O_RDWR, PROT_READ, PROT_WRITE } from '../src/kernel/uapi.js';

export const RW = PROT_READ | PROT_WRITE;
export const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

export function setup(options: MachineOptions = {}): { m: Machine; pid: number } {
  const m = new Machine({ paranoid: true, ...options });
  return { m, pid: m.spawn() };
}

export function ok(r: SysResult): bigint {
  if (!r.ok) throw new Error(`syscall failed: ${r.errno}`);
  return r.value;
}

export function errno(r: SysResult): string {
  return r.ok ? `ok ${r.value}` : r.errno;
}

export function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function text(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

/** Create a file with contents through write(), returning its descriptor. */
export function makeFile(m: Machine, pid: number, path: string, contents: string | Uint8Array): number {
  const fd = Number(ok(m.openat(pid, AT_FDCWD, path, O_RDWR | O_CREAT, 0o644)));
  const data = typeof contents === 'string' ? bytes(contents) : contents;
  if (data.length > 0) ok(m.write(pid, fd, data));
  return fd;
}

export function mapShared(m: Machine, pid: number, fd: number, len: number): bigint {
  return ok(m.mmap(pid, 0n, BigInt(len), RW, MAP_SHARED, fd, 0n));
}

/** The maps lines of the VMAs a test created, without the spawn layout. */
export function mapsOf(m: Machine, pid: number): string[] {
  return (m.maps(pid) ?? '').split('\n').filter((l) => l !== '' && !/\[(stack|vvar|vvar_vclock|vdso|vsyscall)\]/.test(l));
}
