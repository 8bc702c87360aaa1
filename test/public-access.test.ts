/**
 * Loads and stores asked for wrongly through the public API (a thread that
 * does not exist or has exited, a width no CPU has, a byte count that is not
 * one) come back as errno values, as the syscalls' do, and change nothing.
 */
import { describe, expect, it } from 'vitest';
import { MAX_ACCESS_BYTES, Machine, uapi } from '../src/index.js';

/** Everything a wrong access could disturb, as text. */
function state(m: Machine, pid: number): string {
  return JSON.stringify({ maps: m.maps(pid), smaps: m.smaps(pid), counters: m.counters(), frames: m.frames() }, (_k, v: unknown) =>
    typeof v === 'bigint' ? v.toString() : v,
  );
}

function mapped(): { m: Machine; pid: number; a: bigint } {
  const m = new Machine();
  const pid = m.spawn();
  const r = m.mmap(pid, 0n, 8192n, uapi.PROT_READ | uapi.PROT_WRITE, uapi.MAP_PRIVATE | uapi.MAP_ANONYMOUS, -1, 0n);
  if (!r.ok) throw new Error(r.errno);
  expect(m.store(pid, r.value, 8, 5n)).toEqual({ ok: true, value: undefined });
  return { m, pid, a: r.value };
}

describe('loads and stores that no thread could make', () => {
  it('are ESRCH for a thread id that does not exist or has exited, like the syscalls', () => {
    const { m, pid, a } = mapped();
    const tid = m.createThread(pid)!;
    m.exitThread(tid);
    const before = state(m, pid);
    for (const t of [99999, -1, tid]) {
      expect(m.load(t, a, 8)).toEqual({ ok: false, fault: null, errno: 'ESRCH' });
      expect(m.store(t, a, 8, 1n)).toEqual({ ok: false, fault: null, errno: 'ESRCH' });
      expect(m.loadBytes(t, a, 16)).toEqual({ ok: false, fault: null, errno: 'ESRCH' });
      expect(m.storeBytes(t, a, new Uint8Array(16))).toEqual({ ok: false, fault: null, errno: 'ESRCH' });
      expect(m.munmap(t, a, 8192n)).toMatchObject({ ok: false, errno: 'ESRCH' });
    }
    expect(state(m, pid)).toBe(before);
    // The process's own thread still reads what it stored.
    expect(m.load(pid, a, 8)).toEqual({ ok: true, value: 5n });
  });

  it('are EINVAL for a width other than 1, 2, 4 or 8, a bad byte count or a value of the wrong type', () => {
    const { m, pid, a } = mapped();
    const before = state(m, pid);
    const einval = { ok: false, fault: null, errno: 'EINVAL' };
    // JavaScript callers are not held to the declared types.
    const anyM = m as unknown as { load(t: number, a: bigint, s: number): unknown; store(t: number, a: bigint, s: number, v: unknown): unknown; storeBytes(t: number, a: bigint, d: unknown): unknown };
    for (const size of [0, 3, 16, -8, 1.5, Number.NaN]) {
      expect(anyM.load(pid, a, size)).toEqual(einval);
      expect(anyM.store(pid, a, size, 1n)).toEqual(einval);
    }
    expect(anyM.store(pid, a, 8, 1)).toEqual(einval);
    for (const len of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_ACCESS_BYTES + 1]) {
      expect(m.loadBytes(pid, a, len)).toEqual(einval);
    }
    expect(anyM.storeBytes(pid, a, [1, 2, 3])).toEqual(einval);
    expect(anyM.storeBytes(pid, a, 'abc')).toEqual(einval);
    expect(state(m, pid)).toBe(before);
    // The edges that are allowed: an empty range touches nothing and succeeds.
    expect(m.loadBytes(pid, a, 0)).toEqual({ ok: true, value: new Uint8Array(0) });
    expect(m.storeBytes(pid, a, new Uint8Array(0))).toEqual({ ok: true, value: undefined });
    expect(state(m, pid)).toBe(before);
  });

  it('syscall arguments of the wrong JavaScript type are a TypeError that says so; any register value is an errno at worst', () => {
    const { m, pid } = mapped();
    const loose = m as unknown as { mmap(...a: unknown[]): unknown; munmap(...a: unknown[]): unknown };
    expect(() => loose.mmap(pid, 'x', 4096n, 3, 0x22, -1, 0n)).toThrow(new TypeError('a syscall argument must be a bigint or a finite number, not string'));
    expect(() => loose.munmap(pid, Number.NaN, 4096n)).toThrow(/not NaN/);
    // Numbers are registers too: truncated and taken modulo 2^64, as a C caller's would be.
    expect(m.munmap(pid, -1n, 4096n)).toMatchObject({ ok: false, errno: 'EINVAL' });
    expect(loose.munmap(pid, -1, 4096)).toMatchObject({ ok: false, errno: 'EINVAL' });
  });

  it('keep a real fault a fault: an unmapped address is SIGSEGV with si_addr, not an errno', () => {
    const { m, pid, a } = mapped();
    expect(m.munmap(pid, a, 8192n)).toEqual({ ok: true, value: 0n });
    expect(m.load(pid, a + 8n, 4)).toEqual({ ok: false, fault: { signal: 'SIGSEGV', code: uapi.SEGV_MAPERR, addr: a + 8n } });
  });
});
