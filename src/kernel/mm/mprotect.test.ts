/**
 * mprotect(2) semantics (mm/mprotect.c: do_mprotect_pkey(), mprotect_fixup(),
 * change_protection()): commit accounting, which pages become writable at
 * once and which still take a write fault, and what the data does. The
 * expected values were measured on Linux 6.18 (x86_64) with C programs doing
 * the same calls (VmFlags from /proc/self/smaps, faults from getrusage()).
 * The errno of each argument check is in mmap.test.ts; splits and merges in
 * vma.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Machine } from '../machine.js';
import { ANON, RW, makeFile, ok, setup, text } from '../../../test/model-helpers.js';
import { AT_FDCWD, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, MS_SYNC, O_RDONLY, PROT_EXEC, PROT_NONE, PROT_READ, PROT_SEM } from '../uapi.js';

const W = 0x10000000n;

function vmFlags(m: Machine, pid: number, addr: bigint): string {
  const blocks = (m.smaps(pid) ?? '').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
  const b = blocks.find((x) => x.startsWith(addr.toString(16).padStart(8, '0') + '-'));
  return /VmFlags: (.*)\n?/.exec(b ?? '')?.[1] ?? '<none>';
}

function minFlt(m: Machine, pid: number): number {
  return m.rusage(pid)!.minFlt;
}

describe('mprotect and the commit charge (VM_ACCOUNT)', () => {
  it('a read-only private mapping is charged when made writable', () => {
    const { m, pid } = setup();
    ok(m.mmap(pid, W, 8192n, PROT_READ, ANON | MAP_FIXED, -1, 0n));
    const c0 = m.k.committedPages;
    expect(vmFlags(m, pid, W)).toBe('rd mr mw me ');
    ok(m.mprotect(pid, W, 8192n, RW));
    expect(vmFlags(m, pid, W)).toBe('rd wr mr mw me ac ');
    expect(m.k.committedPages).toBe(c0 + 2);
  });

  // mprotect_fixup(): `else if ((oldflags & VM_ACCOUNT) && vma_is_anonymous(vma) &&
  // !vma->anon_vma) newflags &= ~VM_ACCOUNT;`. On Linux 6.18 the VmFlags after
  // RO -> RW -> RO are "rd mr mw me" again.
  it('the charge is given back when a never-written anonymous mapping is made read-only again', () => {
    const { m, pid } = setup();
    ok(m.mmap(pid, W, 8192n, PROT_READ, ANON | MAP_FIXED, -1, 0n));
    const c0 = m.k.committedPages;
    ok(m.mprotect(pid, W, 8192n, RW));
    ok(m.mprotect(pid, W, 8192n, PROT_READ));
    expect(vmFlags(m, pid, W)).toBe('rd mr mw me ');
    expect(m.k.committedPages).toBe(c0);
  });

  it('the same for a part of a writable mapping: the read-only part loses VM_ACCOUNT', () => {
    const { m, pid } = setup();
    ok(m.mmap(pid, W, 8192n, RW, ANON | MAP_FIXED, -1, 0n));
    ok(m.mprotect(pid, W, 4096n, PROT_READ));
    expect(vmFlags(m, pid, W)).toBe('rd mr mw me ');
    expect(vmFlags(m, pid, W + 4096n)).toBe('rd wr mr mw me ac ');
  });

  it('a written (anon_vma) mapping keeps its charge when made read-only', () => {
    const { m, pid } = setup();
    ok(m.mmap(pid, W, 8192n, PROT_READ, ANON | MAP_FIXED, -1, 0n));
    ok(m.mprotect(pid, W, 8192n, RW));
    ok(m.store(pid, W, 1, 1n) as never);
    const c = m.k.committedPages;
    ok(m.mprotect(pid, W, 8192n, PROT_READ));
    expect(vmFlags(m, pid, W)).toBe('rd mr mw me ac ');
    expect(m.k.committedPages).toBe(c);
  });
});

describe('which pages are writable at once after mprotect(PROT_READ|PROT_WRITE)', () => {
  it('an exclusive anonymous page: the store takes no fault', () => {
    const { m, pid } = setup();
    ok(m.mmap(pid, W, 8192n, RW, ANON | MAP_FIXED, -1, 0n));
    ok(m.store(pid, W, 1, 1n) as never);
    ok(m.mprotect(pid, W, 8192n, PROT_READ));
    expect(m.store(pid, W, 1, 9n)).toMatchObject({ ok: false, fault: { signal: 'SIGSEGV', code: 2 } });
    const f0 = minFlt(m, pid);
    ok(m.mprotect(pid, W, 8192n, RW));
    ok(m.store(pid, W, 1, 2n) as never);
    expect(minFlt(m, pid) - f0).toBe(0);
    expect(m.load(pid, W, 1)).toEqual({ ok: true, value: 2n });
  });

  it('a dirty shared file page: no fault; a page cleaned by msync(MS_SYNC): one write-notify fault', () => {
    const { m, pid } = setup();
    const fd = makeFile(m, pid, '/tmp/mf', new Uint8Array(8192).fill(121));
    ok(m.fsync(pid, fd));
    ok(m.mmap(pid, W, 8192n, RW, MAP_SHARED | MAP_FIXED, fd, 0n));
    ok(m.store(pid, W, 1, 1n) as never);
    ok(m.mprotect(pid, W, 8192n, PROT_READ));
    let f0 = minFlt(m, pid);
    ok(m.mprotect(pid, W, 8192n, RW));
    ok(m.store(pid, W, 1, 2n) as never);
    expect(minFlt(m, pid) - f0).toBe(0);
    ok(m.msync(pid, W, 8192n, MS_SYNC));
    f0 = minFlt(m, pid);
    ok(m.store(pid, W, 1, 4n) as never);
    expect(minFlt(m, pid) - f0).toBe(1);
    expect(text(m.read(pid, fd, 1n, 0n).data).charCodeAt(0)).toBe(4);
  });

  it('a page shared with a child after fork stays copy-on-write: one fault, and the child keeps the old value', () => {
    const { m, pid } = setup();
    ok(m.mmap(pid, W, 4096n, RW, ANON | MAP_FIXED, -1, 0n));
    ok(m.store(pid, W, 1, 5n) as never);
    const child = Number(ok(m.fork(pid)));
    ok(m.mprotect(pid, W, 4096n, PROT_READ));
    ok(m.mprotect(pid, W, 4096n, RW));
    const f0 = minFlt(m, pid);
    ok(m.store(pid, W, 1, 6n) as never);
    expect(minFlt(m, pid) - f0).toBe(1);
    expect(m.load(pid, W, 1)).toEqual({ ok: true, value: 6n });
    expect(m.load(child, W, 1)).toEqual({ ok: true, value: 5n });
  });
});

describe('data across protection changes', () => {
  it('PROT_NONE hides the data without losing it; PROT_SEM is accepted and changes nothing', () => {
    const { m, pid } = setup();
    ok(m.mmap(pid, W, 4096n, RW, ANON | MAP_FIXED, -1, 0n));
    ok(m.store(pid, W + 8n, 8, 0x1122334455667788n) as never);
    ok(m.mprotect(pid, W, 4096n, PROT_NONE));
    expect(m.load(pid, W + 8n, 8)).toMatchObject({ ok: false, fault: { signal: 'SIGSEGV', code: 2 } });
    ok(m.mprotect(pid, W, 4096n, PROT_READ | PROT_SEM));
    expect(m.load(pid, W + 8n, 8)).toEqual({ ok: true, value: 0x1122334455667788n });
    expect(vmFlags(m, pid, W)).toBe('rd mr mw me ac ');
  });

  // Without protection keys (settings.protectionKeys false: an x86 CPU without PKU) there
  // are no write-only or execute-only pages. With PKU, Linux gives an exactly-PROT_EXEC
  // mapping the execute-only pkey and loads fault with SEGV_PKUERR (not modelled here).
  it('x86 without PKU cannot make write-only or exec-only pages: PROT_WRITE and PROT_EXEC alone still allow loads', () => {
    const { m, pid } = setup({ settings: { protectionKeys: false } });
    ok(m.mmap(pid, W, 8192n, RW, ANON | MAP_FIXED, -1, 0n));
    ok(m.store(pid, W, 1, 7n) as never);
    ok(m.mprotect(pid, W, 4096n, 2));
    expect(m.load(pid, W, 1)).toEqual({ ok: true, value: 7n });
    ok(m.mprotect(pid, W, 4096n, PROT_EXEC));
    expect(m.load(pid, W, 1)).toEqual({ ok: true, value: 7n });
    expect(m.store(pid, W, 1, 1n)).toMatchObject({ ok: false, fault: { signal: 'SIGSEGV', code: 2 } });
  });

  it('a private mapping of a read-only descriptor may become writable; stores go to a private copy', () => {
    const { m, pid } = setup();
    makeFile(m, pid, '/tmp/ro', 'abcdef');
    const ro = Number(ok(m.openat(pid, AT_FDCWD, '/tmp/ro', O_RDONLY)));
    ok(m.mmap(pid, W, 4096n, PROT_READ, MAP_PRIVATE | MAP_FIXED, ro, 0n));
    expect(m.load(pid, W, 1)).toEqual({ ok: true, value: 97n });
    ok(m.mprotect(pid, W, 4096n, RW));
    ok(m.store(pid, W, 1, 122n) as never);
    expect(m.load(pid, W, 1)).toEqual({ ok: true, value: 122n });
    expect(text(m.read(pid, ro, 6n, 0n).data)).toBe('abcdef');
  });

  it('a shared mapping of a read-only descriptor may not: EACCES, and nothing changes', () => {
    const { m, pid } = setup();
    makeFile(m, pid, '/tmp/ro2', 'abcdef');
    const ro = Number(ok(m.openat(pid, AT_FDCWD, '/tmp/ro2', O_RDONLY)));
    ok(m.mmap(pid, W, 4096n, PROT_READ, MAP_SHARED | MAP_FIXED, ro, 0n));
    expect(m.mprotect(pid, W, 4096n, RW)).toEqual({ ok: false, errno: 'EACCES' });
    expect(vmFlags(m, pid, W)).toBe('rd mr me ms ');
    expect(m.store(pid, W, 1, 1n)).toMatchObject({ ok: false, fault: { signal: 'SIGSEGV', code: 2 } });
  });
});
