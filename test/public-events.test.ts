/**
 * The event stream at the public boundary: Machine.subscribe() delivers
 * addresses and address-range lengths as bigints (the model's hot path
 * keeps numbers), frame and inode numbers as numbers.
 */
import { describe, expect, it } from 'vitest';
import { Machine, uapi, type MachineEvent } from '../src/index.js';

function only<T extends MachineEvent['type']>(events: MachineEvent[], type: T): Extract<MachineEvent, { type: T }>[] {
  return events.filter((e): e is Extract<MachineEvent, { type: T }> => e.type === type);
}

describe('Machine.subscribe()', () => {
  it('delivers bigint addresses equal to the addresses of the calls', () => {
    const m = new Machine();
    const pid = m.spawn();
    const events: MachineEvent[] = [];
    const unsubscribe = m.subscribe((e) => events.push(e));
    const r = m.mmap(pid, 0n, 8192n, uapi.PROT_READ | uapi.PROT_WRITE, uapi.MAP_PRIVATE | uapi.MAP_ANONYMOUS, -1, 0n);
    if (!r.ok) throw new Error(r.errno);
    const a = r.value;
    expect(m.store(pid, a + 4104n, 8, 7n).ok).toBe(true);

    const area = only(events, 'unmapped_area');
    expect(area).toHaveLength(1);
    expect(typeof area[0]!.len).toBe('bigint');
    expect(typeof area[0]!.result).toBe('bigint');
    expect(area[0]).toMatchObject({ len: 8192n, result: a });
    const vma = only(events, 'vma_new');
    expect(vma).toHaveLength(1);
    expect(typeof vma[0]!.start).toBe('bigint');
    expect(typeof vma[0]!.end).toBe('bigint');
    expect(vma[0]).toMatchObject({ start: a, end: a + 8192n });

    const fault = only(events, 'fault');
    expect(fault).toHaveLength(1);
    expect(typeof fault[0]!.addr).toBe('bigint');
    expect(typeof fault[0]!.vmaStart).toBe('bigint');
    expect(fault[0]).toEqual({ type: 'fault', pid, addr: a + 4104n, write: true, vmaStart: a });
    expect(only(events, 'fault_done')[0]).toEqual({ type: 'fault_done', addr: a + 4104n, major: false, result: 'ok' });
    const pte = only(events, 'pte_install');
    expect(pte).toHaveLength(1);
    expect(typeof pte[0]!.addr).toBe('bigint');
    expect(pte[0]!.addr).toBe(a + 4096n);
    // Frame numbers stay numbers, and name the frame the page walk finds.
    expect(typeof pte[0]!.pfn).toBe('number');
    expect(pte[0]!.pfn).toBe(m.walk(pid, a + 4096n)!.pte!.pfn);
    expect(only(events, 'tlb_fill').map((e) => e.addr)).toContain(a + 4096n);

    events.length = 0;
    expect(m.munmap(pid, a, 8192n).ok).toBe(true);
    expect(only(events, 'vma_remove')).toEqual([{ type: 'vma_remove', start: a, end: a + 8192n }]);
    for (const e of only(events, 'tlb_flush')) {
      expect(typeof e.start).toBe('bigint');
      expect(typeof e.end).toBe('bigint');
    }

    unsubscribe();
    events.length = 0;
    m.mmap(pid, 0n, 4096n, uapi.PROT_READ, uapi.MAP_PRIVATE | uapi.MAP_ANONYMOUS, -1, 0n);
    expect(events).toEqual([]);
  });

  it('a SIGSEGV is an event with a bigint si_addr and a fault value with the same address', () => {
    const m = new Machine();
    const pid = m.spawn();
    const events: MachineEvent[] = [];
    m.subscribe((e) => events.push(e));
    const bad = 0x10000n;
    const r = m.load(pid, bad, 4);
    expect(r).toEqual({ ok: false, fault: { signal: 'SIGSEGV', code: uapi.SEGV_MAPERR, addr: bad } });
    expect(only(events, 'signal')).toEqual([{ type: 'signal', pid, signal: 'SIGSEGV', code: 'SEGV_MAPERR', addr: bad }]);
    expect(only(events, 'fault')[0]).toMatchObject({ addr: bad, vmaStart: expect.any(BigInt) as unknown });
  });
});
