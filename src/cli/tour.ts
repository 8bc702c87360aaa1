/**
 * `mmsim tour`: a short guided run that prints, step by step, what the
 * kernel does for a shared file mapping, a private one with copy-on-write,
 * and an anonymous one.
 */
import { Machine, madeAccess } from '../kernel/machine.js';
import type { MachineEvent } from '../kernel/events.js';
import {
  AT_FDCWD, MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, MS_SYNC, O_CREAT, O_RDWR, PROT_READ, PROT_WRITE,
} from '../kernel/uapi.js';
import { formatEvent } from './format-event.js';

export const TOUR_HELP = `Usage: mmsim tour

A guided run on a fresh x86_64 model: a file written through the page cache,
then mapped shared (a store dirties the page cache page), privately (the first
store copies the page: copy-on-write) and anonymously (the first load maps the
shared zero page, the first store a fresh frame), and an access after munmap
(SIGSEGV). Each step prints the kernel's internal events under it.

Options:
  -h, --help   this text

Exit status: 0 (2 for an unknown argument).

Examples:
  mmsim tour
  mmsim tour | less
`;

/** `mmsim tour [--help]`; err receives complaints about arguments. */
export function runTour(out: (line: string) => void, argv: readonly string[] = [], err: (line: string) => void = out): number {
  if (argv.some((a) => a === '-h' || a === '--help')) {
    out(TOUR_HELP.trimEnd());
    return 0;
  }
  if (argv.length > 0) {
    err(`mmsim tour: unexpected argument '${argv[0]}'\n\n${TOUR_HELP.trimEnd()}`);
    return 2;
  }
  const m = new Machine();
  const pid = m.spawn();
  const events: MachineEvent[] = [];
  m.subscribe((e) => events.push(e));
  const hex = (v: bigint): string => '0x' + v.toString(16);
  const step = (title: string, what: () => string): void => {
    events.length = 0;
    const result = what();
    out(`\n== ${title}`);
    out(`   ${result}`);
    for (const e of events) {
      const s = formatEvent(e);
      if (s !== null) out(`     ${s}`);
    }
  };
  const enc = new TextEncoder();
  let fd = 0;
  let shared = 0n;
  let priv = 0n;
  let anon = 0n;
  out('mmsim tour: what the Linux kernel does for three kinds of mapping (x86_64, 4 KiB pages).');
  step('Create a file with write(): the data lands in the page cache, dirty', () => {
    const r = m.openat(pid, AT_FDCWD, '/tmp/data.bin', O_RDWR | O_CREAT, 0o644);
    fd = r.ok ? Number(r.value) : -1;
    const w = m.write(pid, fd, enc.encode('hello, page cache'));
    return `openat(AT_FDCWD, "/tmp/data.bin", O_RDWR|O_CREAT, 0644) = ${fd}; write(${fd}, ...) = ${w.ok ? w.value : w.errno}`;
  });
  step('mmap(MAP_SHARED): only a VMA is created; no page is mapped yet', () => {
    const r = m.mmap(pid, 0n, 4096n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0n);
    shared = r.ok ? r.value : 0n;
    return `mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, ${fd}, 0) = ${hex(shared)}`;
  });
  step('Load through the shared mapping: a read fault maps the page-cache page read-only', () => {
    const v = madeAccess(m.load(pid, shared, 1));
    return `load8(${hex(shared)}) = ${v.ok ? hex(v.value) : v.fault.signal}`;
  });
  step('Store through it: a write-protect fault marks the page dirty (page_mkwrite)', () => {
    m.store(pid, shared, 1, 0x48n);
    return `store8(${hex(shared)}, 0x48)`;
  });
  step('msync(MS_SYNC): the dirty page goes to the disk and is write-protected again', () => {
    const r = m.msync(pid, shared, 4096n, MS_SYNC);
    return `msync(${hex(shared)}, 4096, MS_SYNC) = ${r.ok ? r.value : r.errno}`;
  });
  step('mmap(MAP_PRIVATE) of the same file', () => {
    const r = m.mmap(pid, 0n, 4096n, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0n);
    priv = r.ok ? r.value : 0n;
    return `mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE, ${fd}, 0) = ${hex(priv)}`;
  });
  step('Store through the private mapping: copy-on-write gives this process its own page', () => {
    m.store(pid, priv, 1, 0x4an);
    const seen = m.read(pid, fd, 1n, 0n);
    return `store8(${hex(priv)}, 0x4a); read() still sees ${JSON.stringify(new TextDecoder().decode(seen.data))}`;
  });
  step('Anonymous memory: the first read maps the shared zero page', () => {
    const r = m.mmap(pid, 0n, 8192n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n);
    anon = r.ok ? r.value : 0n;
    const v = m.load(pid, anon, 8);
    return `mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = ${hex(anon)}; load64 = ${v.ok ? v.value : '?'}`;
  });
  step('...and the first write replaces it with a fresh zeroed frame', () => {
    m.store(pid, anon, 8, 7n);
    return `store64(${hex(anon)}, 7)`;
  });
  step('Unmap the anonymous memory and touch it again: no VMA, so SIGSEGV with SEGV_MAPERR', () => {
    m.munmap(pid, anon, 8192n);
    const v = madeAccess(m.load(pid, anon, 1));
    return `munmap(${hex(anon)}, 8192) = 0; load8(${hex(anon)}) = ${v.ok ? v.value : `${v.fault.signal} (SEGV_MAPERR)`}`;
  });
  out('\n== /proc/' + pid + '/maps now');
  out((m.maps(pid) ?? '').trimEnd());
  const ru = m.rusage(pid)!;
  out(`\nFaults: ${ru.minFlt} minor, ${ru.majFlt} major. Run 'mmsim --help' for more.`);
  return 0;
}
