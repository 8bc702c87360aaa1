/**
 * mmsim explore: the page. It runs the model itself (bundled at build
 * time) and shows, for the step the user is at, every view of the machine.
 * Data flows one way: scenario text -> session (interpreter runs) ->
 * machine at step n -> read-only state -> panels.
 */
import './style.css';
import type { Machine } from '../index.js';
import { h, hex, replace } from './dom.js';
import { Editor, type Mark } from './editor.js';
import { EXAMPLES } from './examples.js';
import { allMetrics, machineAt, openSession, pidLabels, type Session } from './session.js';
import { decodeHash, encodeHash } from './share.js';
import { traceJson } from './trace.js';
import { liveProcesses, stateOf, type StateView } from './state.js';
import { KIND_LABEL, renderAddressSpace, type Scale } from './views/address-space.js';
import { Charts } from './views/charts.js';
import { renderFrames, renderPageCache, renderStep, renderTlb, renderWalk } from './views/panels.js';

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`missing #${id}`);
  return el as T;
};

interface App {
  session: Session | null;
  /** The last session that ran (kept while the text has errors). */
  good: Session | null;
  fileName: string;
  example: string | null;
  step: number;
  pid: number | null;
  addr: bigint | null;
  scale: Scale;
  showTables: boolean;
  procTab: 'maps' | 'smaps';
  machine: Machine | null;
  state: StateView | null;
}

const app: App = {
  session: null, good: null, fileName: 'scenario.strace', example: null, step: 0, pid: null, addr: null,
  scale: 'compressed', showTables: false, procTab: 'maps', machine: null, state: null,
};

const editor = new Editor((text) => scheduleRun(text));
const charts = new Charts((n) => goTo(n));

const exampleSelect = $<HTMLSelectElement>('example');
const slider = $<HTMLInputElement>('slider');
const stepNo = $<HTMLOutputElement>('stepno');
const pidSelect = $<HTMLSelectElement>('pid');
const addrInput = $<HTMLInputElement>('addr');
const status = $<HTMLElement>('status');

$('editor-host').append(editor.root);
$('charts-host').append(charts.root);

for (const ex of EXAMPLES) exampleSelect.append(h('option', { value: ex.name }, ex.name));
exampleSelect.append(h('option', { value: '' }, '(your scenario)'));

let runTimer: number | undefined;
function scheduleRun(text: string): void {
  window.clearTimeout(runTimer);
  runTimer = window.setTimeout(() => {
    if (app.example !== null && EXAMPLES.find((e) => e.name === app.example)?.source !== text) {
      app.example = null;
      exampleSelect.value = '';
    }
    load(text, app.step);
  }, 250);
}

function marksOf(s: Session): Mark[] {
  const marks: Mark[] = s.diagnostics.map((d) => ({
    line: d.line, column: d.column, ...(d.endColumn !== undefined ? { endColumn: d.endColumn } : {}),
    severity: d.severity, message: d.message, code: d.code,
  }));
  for (const r of s.records) {
    for (const p of r.problems) {
      marks.push({ line: p.line, column: p.column, ...(p.endColumn !== undefined ? { endColumn: p.endColumn } : {}), severity: 'warning', message: p.message });
    }
  }
  return marks;
}

/** Parse and run text; show its diagnostics; go to step n. */
function load(text: string, n: number): void {
  const t0 = performance.now();
  const s = openSession(text, app.fileName);
  app.session = s;
  editor.setMarks(marksOf(s));
  document.body.classList.toggle('malformed', s.malformed);
  if (s.malformed) {
    const errors = s.diagnostics.filter((d) => d.severity === 'error').length;
    status.textContent = `${errors} error(s) in the scenario: nothing ran. The views show the last scenario that ran.`;
    status.className = 'status bad';
    updateHash();
    return;
  }
  app.good = s;
  const failed = s.records.filter((r) => !r.ok).length;
  const metrics = allMetrics(s);
  charts.setData(metrics);
  status.textContent = `${s.records.length} steps, ${failed === 0 ? 'every expectation held' : `${failed} step(s) did not go as the file expects`} (ran in ${Math.round(performance.now() - t0)} ms)`;
  status.className = failed === 0 ? 'status ok' : 'status warn';
  slider.max = String(s.records.length);
  goTo(Math.min(n, s.records.length), true);
}

function goTo(n: number, force = false): void {
  const s = app.good;
  if (s === null) return;
  const step = Math.max(0, Math.min(n, s.records.length));
  if (step === app.step && !force && app.machine !== null) return;
  app.step = step;
  app.machine = machineAt(s, step);
  app.state = stateOf(app.machine);
  const rec = step > 0 ? s.records[step - 1] : undefined;
  // Follow the step: its process, and the address it faulted on.
  const live = liveProcesses(app.machine);
  const ran = rec?.tid === undefined ? undefined : app.machine.getpid(rec.tid);
  if (ran !== undefined && live.includes(ran)) app.pid = ran;
  const fault = rec?.events?.find((e) => e.type === 'fault');
  if (fault !== undefined && fault.type === 'fault') {
    const tgid = app.machine.getpid(fault.pid);
    if (tgid !== undefined && live.includes(tgid)) app.pid = tgid;
    app.addr = BigInt(fault.addr);
  } else {
    // No fault: look at the VMA the step made or changed (mmap, mprotect, brk).
    const vmaEvent = rec?.events?.find((e) => e.type === 'vma_new' || e.type === 'vma_change');
    if (vmaEvent !== undefined && (vmaEvent.type === 'vma_new' || vmaEvent.type === 'vma_change')) app.addr = BigInt(vmaEvent.start);
  }
  if (app.pid === null || !live.includes(app.pid)) app.pid = live[0] ?? null;
  if (app.addr === null) {
    // Nothing faulted yet: look at the scenario's first own mapping, if any.
    const own = app.state.procs.find((p) => p.pid === app.pid)?.vmas.find((v) => v.kind !== 'special' && v.kind !== 'stack');
    if (own !== undefined) app.addr = own.start;
  }
  render();
  updateHash();
}

function currentProc(): StateView['procs'][number] | undefined {
  return app.state?.procs.find((p) => p.pid === app.pid);
}

function render(): void {
  const s = app.good!;
  const m = app.machine!;
  const st = app.state!;
  const rec = app.step > 0 ? s.records[app.step - 1] : undefined;
  slider.value = String(app.step);
  stepNo.value = `${app.step} / ${s.records.length}`;
  editor.setCurrentLine(rec?.line ?? 0);
  $<HTMLButtonElement>('first').disabled = $<HTMLButtonElement>('back').disabled = app.step === 0;
  $<HTMLButtonElement>('fwd').disabled = $<HTMLButtonElement>('last').disabled = app.step === s.records.length;

  const labels = pidLabels(s);
  replace(pidSelect, st.procs.map((p) => {
    const parent = m.getppid(p.pid) ?? 0;
    const label = labels.get(p.pid);
    const notes = [label !== undefined && label !== p.pid ? `${label} in the file` : '', parent !== 0 ? `child of ${parent}` : ''].filter((x) => x !== '');
    return h('option', { value: p.pid, selected: p.pid === app.pid }, `${p.pid}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`);
  }));
  for (const el of document.querySelectorAll('.pid-label')) el.textContent = String(app.pid ?? '—');

  replace($('step-host'), renderStep(app.step, s.records.length, rec));

  const proc = currentProc();
  const vmas = proc?.vmas ?? [];
  replace($('aspace-host'), renderAddressSpace(vmas, app.scale, app.addr, (a) => {
    app.addr = a;
    render();
  }));
  replace($('aspace-legend'), Object.entries(KIND_LABEL).map(([k, label]) => h('span', { class: `legend-item kind-${k}` }, h('i', {}), label)));

  if (document.activeElement !== addrInput) addrInput.value = app.addr === null ? '' : hex(app.addr);
  const vma = app.addr === null ? undefined : vmas.find((v) => app.addr! >= v.start && app.addr! < v.end);
  replace($('walk-host'), renderWalk(
    app.pid === null || app.addr === null ? null : (m.walk(app.pid, app.addr) ?? null),
    m.arch,
    vma === undefined ? null : `${hex(vma.start)}-${hex(vma.end)} ${vma.perms} ${vma.name || '(anonymous)'}`));

  const changed = new Set<number>();
  for (const e of rec?.events ?? []) if (e.type === 'page_alloc') changed.add(e.pfn);
  replace($('frames-host'), renderFrames(st.frames, app.showTables, changed));
  replace($('pagecache-host'), renderPageCache(st.pageCache));
  replace($('tlb-host'), renderTlb(proc?.tlb ?? []));
  $('proc-text').textContent = proc === undefined ? '' : app.procTab === 'maps' ? proc.maps : proc.smaps;
  $('tab-maps').setAttribute('aria-selected', String(app.procTab === 'maps'));
  $('tab-smaps').setAttribute('aria-selected', String(app.procTab === 'smaps'));
  charts.setStep(app.step);
}

function updateHash(): void {
  const text = editor.value;
  const hash = app.example !== null ? encodeHash({ example: app.example, step: app.step }) : encodeHash({ source: text, step: app.step });
  history.replaceState(null, '', hash);
}

function openExample(name: string, step = 0): void {
  const ex = EXAMPLES.find((e) => e.name === name);
  if (ex === undefined) return;
  app.example = name;
  app.fileName = name;
  exampleSelect.value = name;
  editor.value = ex.source;
  app.addr = null;
  app.pid = null;
  app.step = -1;
  load(ex.source, step);
}

function openText(text: string, file: string, step = 0): void {
  app.example = null;
  app.fileName = file;
  exampleSelect.value = '';
  editor.value = text;
  app.addr = null;
  app.pid = null;
  app.step = -1;
  load(text, step);
}

// --- controls ---

exampleSelect.addEventListener('change', () => {
  if (exampleSelect.value !== '') openExample(exampleSelect.value);
  // Leave the arrow keys to the steps, not to the list.
  exampleSelect.blur();
});
$('first').addEventListener('click', () => goTo(0));
$('back').addEventListener('click', () => goTo(app.step - 1));
$('fwd').addEventListener('click', () => goTo(app.step + 1));
$('last').addEventListener('click', () => goTo(Number.MAX_SAFE_INTEGER));
slider.addEventListener('input', () => goTo(Number(slider.value)));
pidSelect.addEventListener('change', () => {
  app.pid = Number(pidSelect.value);
  render();
  pidSelect.blur();
});
$('scale-linear').addEventListener('change', () => {
  app.scale = 'linear';
  render();
});
$('scale-compressed').addEventListener('change', () => {
  app.scale = 'compressed';
  render();
});
$<HTMLInputElement>('show-tables').addEventListener('change', (e) => {
  app.showTables = (e.target as HTMLInputElement).checked;
  render();
});
$('tab-maps').addEventListener('click', () => {
  app.procTab = 'maps';
  render();
});
$('tab-smaps').addEventListener('click', () => {
  app.procTab = 'smaps';
  render();
});
addrInput.addEventListener('change', () => {
  const t = addrInput.value.trim();
  if (/^(0x)?[0-9a-f]+$/i.test(t)) {
    app.addr = BigInt(t.startsWith('0x') || t.startsWith('0X') ? t : '0x' + t);
    addrInput.classList.remove('bad');
    render();
  } else {
    addrInput.classList.add('bad');
  }
});
$('share').addEventListener('click', async () => {
  updateHash();
  const url = location.href;
  const out = $<HTMLInputElement>('share-url');
  out.value = url;
  out.hidden = false;
  out.select();
  try {
    await navigator.clipboard.writeText(url);
    $('share-note').textContent = 'Link copied.';
  } catch {
    $('share-note').textContent = 'Copy the selected link.';
  }
});
$('download').addEventListener('click', () => {
  const blob = new Blob([editor.value], { type: 'text/plain' });
  const a = h('a', { href: URL.createObjectURL(blob), download: app.fileName.replace(/^<|>$/g, '') || 'scenario.strace' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
});

document.addEventListener('keydown', (e) => {
  if (e.altKey || e.ctrlKey || e.metaKey) return;
  const t = e.target as HTMLElement;
  if (t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement) return;
  if (t instanceof HTMLInputElement && t.type !== 'checkbox' && t.type !== 'radio' && t.type !== 'button') return;
  const moves: Record<string, () => number> = {
    ArrowRight: () => app.step + 1,
    ArrowLeft: () => app.step - 1,
    Home: () => 0,
    End: () => Number.MAX_SAFE_INTEGER,
  };
  const f = moves[e.key];
  if (f === undefined) return;
  e.preventDefault();
  goTo(f());
});

window.addEventListener('hashchange', () => start());

// --- start: a URL hash, else a scenario injected by `mmsim explore FILE`, else the first example ---

function start(): void {
  const hs = decodeHash(location.hash);
  if (hs.source !== undefined) return openText(hs.source, 'shared.strace', hs.step ?? 0);
  if (hs.example !== undefined && EXAMPLES.some((e) => e.name === hs.example)) return openExample(hs.example, hs.step ?? 0);
  const injected = document.getElementById('mmsim-initial');
  if (injected?.textContent) {
    try {
      const j = JSON.parse(injected.textContent) as { file: string; source: string };
      return openText(j.source, j.file, hs.step ?? 0);
    } catch {
      // fall through to the examples
    }
  }
  if (EXAMPLES[0] !== undefined) openExample(EXAMPLES[0].name);
}

start();

/**
 * A hook for tests and the console: mmsim.trace(source, file) is the page's
 * own (bundled) model's traced run of a scenario as JSON, to compare byte
 * for byte with the same run in Node; mmsim.charts() is what the charts plot.
 */
Object.assign(window, {
  mmsim: {
    trace: (source: string = editor.value, file: string = app.fileName): string => traceJson(source, file),
    charts: () => charts.plotted(),
  },
  mmsimReady: true,
});
