/**
 * The table-like panels: the page-table walk, physical frames, page cache,
 * TLB, the kernel path of the current step and /proc/PID/maps and smaps.
 */
import { formatEvent } from '../../cli/format-event.js';
import type { KernelEvent } from '../../kernel/events.js';
import type { PageCacheSnapshot, PageWalk, TlbSnapshot } from '../../index.js';
import type { StepRecord } from '../../scenario/interpreter.js';
import { h, hex } from '../dom.js';
import type { FrameRow } from '../state.js';

/** The bits of the address each level indexes, e.g. 47..39 for x86_64's PGD. */
function bitRange(levels: number, level: number, pageShift: number, bitsPerLevel: number): string {
  const lo = pageShift + bitsPerLevel * (levels - 1 - level);
  return `${lo + bitsPerLevel - 1}..${lo}`;
}

export function renderWalk(walk: PageWalk | null, arch: { pageShift: number; bitsPerLevel: number }, vmaText: string | null): HTMLElement {
  if (walk === null) return h('p', { class: 'muted' }, 'Select an address: click a VMA or type one.');
  const n = walk.levels.length;
  let stopped = false;
  const rows = walk.levels.map((l, i) => {
    const reached = !stopped && l.tableFrame !== null;
    const row = h('tr', { class: reached ? (l.present ? 'present' : 'missing') : 'unreached' },
      h('th', { scope: 'row' }, l.level.toUpperCase()),
      h('td', { class: 'num' }, String(l.index)),
      h('td', { class: 'num muted' }, bitRange(n, i, arch.pageShift, arch.bitsPerLevel)),
      h('td', { class: 'num' }, reached ? `frame ${l.tableFrame}` : '—'),
      h('td', {}, !reached ? 'not reached' : l.present ? (i === n - 1 ? 'present' : 'next table present') : i === n - 1 ? 'pte_none / not present' : 'no table below: walk stops'));
    if (reached && !l.present) stopped = true;
    return row;
  });
  const off = Number(walk.addr & ((1n << BigInt(arch.pageShift)) - 1n));
  return h('div', { class: 'walk' },
    h('p', {}, h('strong', {}, hex(walk.addr)), vmaText ? ` in ${vmaText}` : ' (no VMA here)', h('span', { class: 'muted' }, `  page offset ${hex(off)}`)),
    h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, h('th', {}, 'level'), h('th', {}, 'index'), h('th', {}, 'VA bits'), h('th', {}, 'table'), h('th', {}, 'entry'))),
      h('tbody', {}, rows)),
    walk.pte === null
      ? h('p', { class: 'pte none' }, 'No present PTE: an access here faults.')
      : h('div', { class: 'pte' },
        h('p', {}, 'PTE → ', h('strong', {}, `frame ${walk.pte.pfn}`), `  raw ${hex(walk.pte.raw).replace(/^0x/, '0x').padStart(18, ' ')}`),
        h('p', { class: 'chips' }, walk.pte.flags.map((f) => h('span', { class: `chip pte-${f}` }, f)))),
    h('p', { class: 'muted' }, walk.tlbSlot >= 0 ? `TLB: cached in slot ${walk.tlbSlot}` : 'TLB: not cached (the next access walks the tables)'));
}

export function frameState(f: FrameRow): string[] {
  const out: string[] = [];
  if (f.kind === 'zero') out.push('zero page');
  if (f.flags.includes('anon')) out.push('anon');
  if (f.kind === 'file') out.push('file');
  if (f.kind === 'shmem') out.push('shmem');
  if (f.flags.includes('dirty')) out.push('dirty');
  if (f.flags.includes('uptodate')) out.push('uptodate');
  if (f.flags.includes('writeback')) out.push('writeback');
  if (f.flags.includes('anon_exclusive')) out.push('exclusive');
  return out;
}

function owner(f: FrameRow): string {
  switch (f.kind) {
    case 'zero': return 'the shared zero page';
    case 'pagetable': return 'page table';
    case 'anon': return 'anonymous memory';
    default: return `${f.path ?? `inode ${f.ino}`} page ${f.index}`;
  }
}

export function renderFrames(frames: FrameRow[], showTables: boolean, changed: Set<number>): HTMLElement {
  const rows = frames.filter((f) => showTables || f.kind !== 'pagetable');
  const pids = (f: FrameRow): number[] => [...new Set(f.mappers.map((m) => m.pid))];
  return h('table', { class: 'grid frames' },
    h('caption', {}, `${rows.length} frame(s) shown`),
    h('thead', {}, h('tr', {}, ['pfn', 'kind', 'owner', 'ref', 'map', 'state', 'mapped by'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.map((f) => {
      const shared = pids(f).length > 1;
      return h('tr', { 'data-pfn': f.pfn, 'data-kind': f.kind, class: `${shared ? 'shared ' : ''}${changed.has(f.pfn) ? 'changed' : ''}` },
        h('td', { class: 'num' }, String(f.pfn)),
        h('td', {}, h('span', { class: `chip frame-${f.kind}` }, f.kind)),
        h('td', {}, owner(f)),
        h('td', { class: 'num' }, String(f.refcount)),
        h('td', { class: 'num' }, String(f.mapcount)),
        h('td', {}, h('div', { class: 'chips' }, frameState(f).map((t) => h('span', { class: `chip st-${t.replace(/ /g, '-')}` }, t)))),
        h('td', { class: 'mappers' },
          shared ? h('span', { class: 'chip shared-badge', title: 'mapped by more than one process' }, `shared ×${pids(f).length}`) : null,
          f.kind === 'zero' ? (f.mappers.length > 0 ? `${f.mappers.length} PTE(s)` : '') : f.mappers.map((m) => h('span', { class: `mapper pid-${m.pid % 8}` }, `${m.pid}@${hex(m.addr)}${m.writable ? ' rw' : ' ro'}`))));
    })));
}

export function renderPageCache(files: PageCacheSnapshot[]): HTMLElement {
  if (files.length === 0) return h('p', { class: 'muted' }, 'No file has pages in the page cache.');
  return h('div', {}, files.map((f) => h('div', { class: 'pc-file' },
    h('p', {}, h('strong', {}, f.path ?? `inode ${f.ino}`), h('span', { class: 'muted' }, `  inode ${f.ino}, ${f.size} bytes, ${f.pages.length} page(s) cached, ${f.pages.filter((p) => p.flags.includes('dirty')).length} dirty`)),
    h('ol', { class: 'pc-pages' }, f.pages.map((p) => {
      const dirty = p.flags.includes('dirty');
      const up = p.flags.includes('uptodate');
      return h('li', { class: `pc-page${dirty ? ' dirty' : ''}${up ? ' uptodate' : ''}`, title: `index ${p.index}, frame ${p.pfn}: ${p.flags.join(' ')}` },
        h('span', { class: 'idx' }, `#${p.index}`), h('span', { class: 'pfn' }, `pfn ${p.pfn}`),
        h('span', { class: 'st' }, [up ? 'U' : '', dirty ? 'D' : '', p.flags.includes('writeback') ? 'W' : ''].join('') || '–'));
    })))),
  h('p', { class: 'legend muted' }, 'U uptodate, D dirty, W under writeback'));
}

export function renderTlb(entries: TlbSnapshot[]): HTMLElement {
  if (entries.length === 0) return h('p', { class: 'muted' }, 'The TLB is empty.');
  return h('table', { class: 'grid' },
    h('thead', {}, h('tr', {}, ['slot', 'virtual page', 'frame', 'access'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, entries.map((e) => h('tr', {},
      h('td', { class: 'num' }, String(e.slot)), h('td', { class: 'num' }, hex(e.addr)), h('td', { class: 'num' }, String(e.pfn)), h('td', {}, e.writable ? 'read/write' : 'read-only')))));
}

function eventClass(e: KernelEvent): string {
  switch (e.type) {
    case 'fault': return 'ev-fault';
    case 'cow_copy': return 'ev-cow';
    case 'signal': return 'ev-signal';
    case 'io_read':
    case 'io_write': return 'ev-io';
    default: return '';
  }
}

export function renderStep(step: number, total: number, rec: StepRecord | undefined): HTMLElement {
  if (rec === undefined) {
    return h('div', {}, h('p', { class: 'step-head' }, `Step 0 of ${total}: the process as exec left it (stack, vvar and vdso). Press → to run the first line.`));
  }
  const events = (rec.events ?? []).map((e) => ({ e, text: formatEvent(e) })).filter((x) => x.text !== null);
  return h('div', {},
    h('p', { class: 'step-head' }, h('span', { class: 'muted' }, `Step ${step} of ${total}, line ${rec.line}${rec.pid !== undefined ? `, pid ${rec.pid}` : ''}: `),
      h('code', {}, rec.actual ?? rec.text), rec.result !== '' && !rec.result.includes('\n') ? h('code', {}, ` = ${rec.result}`) : null,
      rec.kind === 'checkpoint' ? null : h('span', { class: rec.ok ? 'ok' : 'bad' }, rec.ok ? (rec.checks > 0 ? '  ✓ as expected' : '') : '  ✗')),
    rec.problems.length > 0 ? h('ul', { class: 'problems' }, rec.problems.map((p) => h('li', {}, `line ${p.line}:${p.column}: ${p.message}`))) : null,
    rec.notes.length > 0 ? h('ul', { class: 'notes' }, rec.notes.map((n) => h('li', {}, n))) : null,
    events.length === 0
      ? h('p', { class: 'muted' }, rec.kind === 'access' ? 'No kernel work: the TLB or page tables already allowed the access.' : 'No kernel events in this step.')
      : h('ol', { class: 'events' }, events.map(({ e, text }) => h('li', { class: `${eventClass(e)}${text!.startsWith('  ') ? ' sub' : ''}`, 'data-type': e.type }, text!.trim()))));
}
