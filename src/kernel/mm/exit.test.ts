import { describe, expect, it } from 'vitest';
import { ok, setup } from '../../../test/model-helpers.js';
import { MCL_CURRENT } from '../uapi.js';

describe('exit_mmap', () => {
  // Found by mmsim fuzz (test/conformance/fuzz-found/seed1-93.strace): the PTE table holding
  // the top of the stack spans past TASK_SIZE, so a teardown bounded by TASK_SIZE left it behind.
  it('frees the page table under the top of the stack (mlockall populated it) when a forked child exits', () => {
    const { m, pid } = setup();
    ok(m.mlockall(pid, MCL_CURRENT));
    const child = Number(ok(m.fork(pid)));
    const used = m.k.phys.nrUsed;
    m.exitGroup(child);
    expect(m.process(child)!.exited).toBe(true);
    expect(m.k.phys.nrUsed).toBeLessThan(used);
    m.validate();
  });

  it('munmap of the last VMA frees the tables above TASK_SIZE too', () => {
    const { m, pid } = setup();
    const top = BigInt(m.arch.stackTop);
    m.store(pid, top - 8n, 8, 1n);
    const tables = m.k.phys.nrPageTables;
    ok(m.munmap(pid, top - 0x21000n, 0x21000n));
    expect(m.k.phys.nrPageTables).toBeLessThan(tables);
  });
});
