/**
 * End-to-end tests of `mmsim explore`: the page is built from the current
 * source with vite, served by the explore command's server, and driven by
 * playwright-core in Debian's chromium (/usr/bin/chromium; never a
 * downloaded browser). Expected values come from running the same scenario
 * with the model in this process. Screenshots of the main views are saved
 * under test-results/explore/ (gitignored) for a human to look at.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExplore, startExploreServer } from '../../src/cli/explore.js';
import type { Machine } from '../../src/kernel/machine.js';
import type { Statement } from '../../src/scenario/ast.js';
import { interpret, runScenario } from '../../src/scenario/interpreter.js';
import { joinSplitCalls, parseScenario } from '../../src/scenario/parser.js';
import { allMetrics, openSession, type StepMetrics } from '../../src/web/session.js';
import { encodeHash } from '../../src/web/share.js';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const SHOTS = resolve('test-results/explore');
const EXAMPLES = resolve('src/web/examples');
/** Every kind of VMA and every chart series (no bundled example has them all). */
const EVERY_KIND = resolve('test/fixtures/explore/every-kind.strace');

let webRoot: string;
let profile: string;
let server: Server;
let url: string;
let context: BrowserContext;
const offsite: string[] = [];

/** The model's machine after the scenario's lines up to and including `line`, run in this process. */
function machineThrough(source: string, line: number): Machine {
  const parsed = parseScenario(source, 't.strace');
  const joined = joinSplitCalls(parsed.statements);
  return interpret(joined.statements.filter((s) => s.loc.line <= line)).machine;
}

function lineOf(source: string, text: string): number {
  const i = source.split('\n').findIndex((l) => l.includes(text));
  if (i < 0) throw new Error(`no line with ${text}`);
  return i + 1;
}

async function openPage(hash = '', viewport = { width: 1280, height: 720 }, base = url): Promise<Page> {
  const page = await context.newPage();
  await page.setViewportSize(viewport);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) offsite.push(r.url());
  });
  await page.goto(base + hash);
  await page.waitForFunction(() => (window as unknown as { mmsimReady?: boolean }).mmsimReady === true);
  expect(errors).toEqual([]);
  return page;
}

/**
 * Stop a server now. server.close() alone waits for every connection to end,
 * and a connection chromium opened ahead of time (a preconnect that never
 * sent a request) is not idle, so it would hold the close until the server's
 * headersTimeout, 60 s: the test's own timeout (seen in CI under load).
 */
async function closeServer(s: { close(cb: () => void): unknown; closeAllConnections(): void } | undefined): Promise<void> {
  if (s === undefined) return;
  await new Promise<void>((ok) => {
    s.close(() => ok());
    s.closeAllConnections();
  });
}

/** Step number shown by the page. */
async function stepShown(page: Page): Promise<number> {
  return Number((await page.locator('#stepno').textContent())!.split('/')[0]!.trim());
}

async function goToStep(page: Page, n: number): Promise<void> {
  await page.locator('body').click({ position: { x: 5, y: 700 } });
  await page.keyboard.press('Home');
  for (let i = 0; i < n; i++) await page.keyboard.press('ArrowRight');
  expect(await stepShown(page)).toBe(n);
}

/** The step at which the page has run a line: steps are the interpreter's records, one per non-comment line. */
function stepOfLine(source: string, line: number): number {
  const parsed = parseScenario(source, 't.strace');
  const run = interpret(joinSplitCalls(parsed.statements).statements);
  const i = run.records.findIndex((r) => r.line === line);
  if (i < 0) throw new Error(`no step for line ${line}`);
  return i + 1;
}

async function framePfns(page: Page): Promise<number[]> {
  return page.locator('#frames-host tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-pfn'))));
}

/**
 * The machine after the scenario's first n steps, run in this process from
 * every statement above the line of step n + 1 (a `--- SIGSEGV ---` line
 * after an access belongs to that access's step).
 */
function modelAfterStep(source: string, n: number): Machine {
  const { statements, lines } = fullRun(source);
  const next = lines[n];
  return interpret(next === undefined ? statements : statements.filter((s) => s.loc.line < next)).machine;
}

const runs = new Map<string, { statements: Statement[]; lines: number[] }>();
/** The scenario's statements and the line of each step, from one full run. */
function fullRun(source: string): { statements: Statement[]; lines: number[] } {
  let r = runs.get(source);
  if (r === undefined) {
    const statements = joinSplitCalls(parseScenario(source, 't.strace').statements).statements;
    runs.set(source, (r = { statements, lines: interpret(statements).records.map((x) => x.line) }));
  }
  return r;
}

function stepsOf(source: string): number {
  return fullRun(source).lines.length;
}

/** /proc/PID/maps by VMA start: the permissions and the pathname column ('' when there is none). */
function mapsByStart(maps: string): Map<bigint, { perms: string; name: string }> {
  const out = new Map<bigint, { perms: string; name: string }>();
  for (const line of maps.split('\n')) {
    if (line === '') continue;
    const f = /^([0-9a-f]+)-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (f === null) throw new Error(`not a maps line: ${line}`);
    out.set(BigInt('0x' + f[1]), { perms: f[2]!, name: f[3]! });
  }
  return out;
}

/** The kind a maps line shows, as the colour legend names kinds. */
function kindOfMapsLine(l: { perms: string; name: string }): string {
  if (l.name === '[heap]') return 'heap';
  if (l.name === '[stack]') return 'stack';
  if (/^\[v(dso|var.*|syscall)\]$/.test(l.name)) return 'special';
  if (l.name === '') return 'anon';
  if (l.name === '/dev/zero (deleted)' || l.name.startsWith('/SYSV') || l.name.startsWith('/memfd:')) return 'shmem';
  if (l.name === '/anon_hugepage (deleted)') return 'hugetlb';
  return l.perms.endsWith('s') ? 'file-shared' : 'file-private';
}

/** The VMAs the address-space view draws: start, kind classes, the label's name part, the tooltip. */
async function vmasShown(page: Page): Promise<{ start: bigint; kinds: string[]; name: string; title: string }[]> {
  const raw = await page.locator('#aspace-host g.vma').evaluateAll((gs) => gs.map((g) => ({
    start: g.getAttribute('data-start') ?? '',
    kinds: Array.from(g.classList).filter((c) => c.startsWith('kind-')).map((c) => c.slice(5)),
    name: g.querySelector('.vma-label .vma-name')?.textContent ?? null,
    title: g.querySelector('title')?.textContent ?? '',
  })));
  return raw.map((v) => {
    if (v.name === null) throw new Error(`VMA at ${v.start} has no name in its label`);
    return { ...v, start: BigInt(v.start), name: v.name };
  });
}

async function openScenario(source: string, step: number, viewport?: { width: number; height: number }): Promise<Page> {
  const page = await openPage(encodeHash({ source, step }), viewport);
  expect(await stepShown(page)).toBe(step);
  return page;
}

/** The step the page shows and the state it shows there, against the model after that step. */
async function expectStateAt(page: Page, source: string, n: number): Promise<void> {
  expect(await stepShown(page)).toBe(n);
  expect(await page.locator('#slider').inputValue()).toBe(String(n));
  const m = modelAfterStep(source, n);
  const pid = Number(await page.locator('#pid').inputValue());
  expect(m.pids()).toContain(pid);
  expect(await page.locator('#proc-text').textContent()).toBe(m.maps(pid));
  expect(await framePfns(page)).toEqual(m.frames().filter((f) => f.kind !== 'pagetable').map((f) => f.pfn));
  const head = (await page.locator('#step-host .step-head').textContent()) ?? '';
  if (n === 0) expect(head).toMatch(/^Step 0 of /);
  else {
    expect(head).toContain(`Step ${n} of ${stepsOf(source)}, line ${fullRun(source).lines[n - 1]}`);
  }
}

/** What the walk panel shows. */
async function walkShown(page: Page): Promise<{ addr: string; rows: { cls: string; cells: string[] }[]; pte: string | null; chips: string[]; tlb: string }> {
  return page.locator('#walk-host .walk').evaluate((el) => ({
    addr: el.querySelector(':scope > p strong')?.textContent ?? '',
    rows: Array.from(el.querySelectorAll('tbody tr')).map((tr) => ({ cls: tr.className, cells: Array.from(tr.children).map((c) => c.textContent ?? '') })),
    pte: el.querySelector('div.pte')?.textContent ?? null,
    chips: Array.from(el.querySelectorAll('div.pte .chip')).map((c) => c.textContent ?? ''),
    tlb: Array.from(el.querySelectorAll(':scope > p.muted')).pop()?.textContent ?? '',
  }));
}

/** The walk panel agrees with Machine.walk() on the model in this process. */
function expectWalk(shown: Awaited<ReturnType<typeof walkShown>>, m: Machine, pid: number, addr: bigint): void {
  const w = m.walk(pid, addr)!;
  expect(BigInt(shown.addr)).toBe(addr);
  expect(shown.rows.map((r) => ({ cls: r.cls, level: r.cells[0], index: r.cells[1], table: r.cells[3] })), `walk of 0x${addr.toString(16)}`).toEqual(
    w.levels.map((l) => ({
      cls: l.tableFrame === null ? 'unreached' : l.present ? 'present' : 'missing',
      level: l.level.toUpperCase(),
      index: String(l.index),
      table: l.tableFrame === null ? '—' : `frame ${l.tableFrame}`,
    })));
  if (w.pte === null) {
    expect(shown.pte).toBeNull();
  } else {
    const f = /frame (\d+)\s+raw\s+(0x[0-9a-f]+)/.exec(shown.pte ?? '');
    expect(f, shown.pte ?? 'no PTE shown').not.toBeNull();
    expect({ pfn: Number(f![1]), raw: BigInt(f![2]!), bits: shown.chips }).toEqual({ pfn: w.pte.pfn, raw: w.pte.raw, bits: w.pte.flags });
  }
  expect(shown.tlb).toBe(w.tlbSlot >= 0 ? `TLB: cached in slot ${w.tlbSlot}` : 'TLB: not cached (the next access walks the tables)');
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (never 'playwright install')`);
  mkdirSync(SHOTS, { recursive: true });
  webRoot = mkdtempSync(join(tmpdir(), 'mmsim-web-'));
  await build({ configFile: resolve('vite.config.ts'), logLevel: 'error', build: { outDir: webRoot, emptyOutDir: true } });
  ({ server, url } = await startExploreServer({ root: webRoot, port: 0 }));
  profile = mkdtempSync(join(tmpdir(), 'mmsim-chromium-'));
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, acceptDownloads: true });
}, 120_000);

afterAll(async () => {
  await context?.close();
  await closeServer(server);
  for (const d of [webRoot, profile]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('mmsim explore in chromium', () => {
  it('steps through a private write fault: one new frame, the copy-on-write in the kernel path, /proc maps as the model prints it', async () => {
    const source = readFileSync(join(EXAMPLES, 'private-write-fault.strace'), 'utf8');
    const page = await openPage();
    await page.selectOption('#example', 'private-write-fault.strace');
    expect(await page.locator('textarea').inputValue()).toBe(source);

    const storeLine = lineOf(source, 'store8(p, 0x4a)');
    const storeStep = stepOfLine(source, storeLine);
    await goToStep(page, storeStep - 1);
    const before = await framePfns(page);

    await page.keyboard.press('ArrowRight');
    expect(await stepShown(page)).toBe(storeStep);
    const after = await framePfns(page);
    expect(after.length).toBe(before.length + 1);
    const added = after.filter((p) => !before.includes(p));
    expect(added.length).toBe(1);
    const row = page.locator(`#frames-host tr[data-pfn="${added[0]}"]`);
    expect(await row.getAttribute('data-kind')).toBe('anon');
    await expect.poll(() => row.getAttribute('class'), { timeout: 10_000 }).toContain('changed');

    const events = (await page.locator('#step-host .events').textContent()) ?? '';
    expect(events).toContain('page fault at');
    expect(events).toContain('wp_page_copy');
    expect(events).toContain(`copy-on-write: frame`);
    expect(events).toContain(`-> frame ${added[0]}`);

    // The page-table walk follows the fault to the new frame.
    expect(await page.locator('#walk-host .pte').textContent()).toContain(`frame ${added[0]}`);

    const m = machineThrough(source, storeLine);
    const pid = m.pids()[0]!;
    expect(await page.locator('#proc-text').textContent()).toBe(m.maps(pid));
    await page.click('#tab-smaps');
    expect(await page.locator('#proc-text').textContent()).toBe(m.smaps(pid));
    await page.click('#tab-maps');

    await page.screenshot({ path: join(SHOTS, 'private-write-fault-1280x720.png') });
    // A full-page picture with the toolbar in its place (it is sticky on screen).
    const unstick = await page.addStyleTag({ content: '.toolbar, .editor-panel { position: static !important; }' });
    await page.screenshot({ path: join(SHOTS, 'private-write-fault-full.png'), fullPage: true });
    await unstick.evaluate((el) => (el as Element).remove());
    for (const id of ['p-step', 'p-aspace', 'p-walk', 'p-frames', 'p-pagecache', 'p-proc', 'p-charts']) {
      await page.locator('#' + id).screenshot({ path: join(SHOTS, `panel-${id.slice(2)}.png`) });
    }

    // Step back re-runs to the previous step: the copy is gone again.
    await page.keyboard.press('ArrowLeft');
    expect(await stepShown(page)).toBe(storeStep - 1);
    expect(await framePfns(page)).toEqual(before);
    expect(await page.locator('#proc-text').textContent()).toBe(machineThrough(source, storeLine - 1).maps(pid));
    await page.keyboard.press('End');
    const total = Number((await page.locator('#stepno').textContent())!.split('/')[1]);
    expect(await stepShown(page)).toBe(total);
    await page.keyboard.press('Home');
    expect(await stepShown(page)).toBe(0);
    await page.close();
  });

  it('shows an invalid scenario\'s error inline at its line', async () => {
    const bad = '# a broken scenario\np = mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\nstore8(p, 1)\nstore(p, "unterminated\nload8(p) = 0\n';
    const want = parseScenario(bad, 't').diagnostics.filter((d) => d.severity === 'error');
    expect(want.map((d) => d.line)).toEqual([4]);
    const page = await openPage();
    await page.fill('textarea', bad);
    const lens = page.locator('.lens.error');
    await expect.poll(() => lens.count(), { timeout: 10_000 }).toBe(1);
    expect(await lens.getAttribute('data-line')).toBe('4');
    expect(await lens.textContent()).toContain(want[0]!.message);
    expect(await page.locator('.gutter-line.error').getAttribute('data-line')).toBe('4');
    expect(await page.locator('.editor-diagnostics li.error').textContent()).toContain(`line 4:${want[0]!.column}`);
    // Drawn on the fourth line of the text, beside it.
    const ta = (await page.locator('textarea').boundingBox())!;
    const lb = (await lens.boundingBox())!;
    const lineHeight = await page.locator('textarea').evaluate((el) => parseFloat(getComputedStyle(el).lineHeight));
    const padTop = await page.locator('textarea').evaluate((el) => parseFloat(getComputedStyle(el).paddingTop));
    expect(Math.abs(lb.y - (ta.y + padTop + 3 * lineHeight))).toBeLessThan(3);
    expect(await page.locator('#status').textContent()).toMatch(/1 error/);
    await page.locator('#p-editor').screenshot({ path: join(SHOTS, 'editor-error.png') });
    // Fixing the line runs it.
    const good = bad.replace('store(p, "unterminated', 'store(p, "ok")').replace('load8(p) = 0', 'load8(p) = 111');
    await page.fill('textarea', good);
    await expect.poll(() => page.locator('.lens.error').count(), { timeout: 10_000 }).toBe(0);
    expect(await page.locator('.lens').count()).toBe(0);
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/steps/);
    // An expectation the model does not meet is marked at its line too.
    await page.fill('textarea', good.replace('load8(p) = 111', 'load8(p) = 7'));
    const warn = page.locator('.lens.warning');
    await expect.poll(() => warn.count(), { timeout: 10_000 }).toBe(1);
    expect(await warn.getAttribute('data-line')).toBe('5');
    expect(await warn.textContent()).toMatch(/expected 7, the model has 0x6f/);
    await page.close();
  });

  it('shows frames shared between parent and child after fork, and the address space in both scales', async () => {
    const source = readFileSync(join(EXAMPLES, 'fork-cow.strace'), 'utf8');
    const page = await openPage('#example=fork-cow.strace');
    const forkStep = stepOfLine(source, lineOf(source, '100   fork()'));
    await goToStep(page, forkStep);
    const shared = page.locator('#frames-host tr.shared[data-kind="anon"]');
    expect(await shared.count()).toBe(2);
    const m = machineThrough(source, lineOf(source, '100   fork()'));
    const pids = m.pids();
    expect(pids.length).toBe(2);
    for (const text of await shared.allTextContents()) {
      expect(text).toContain('shared ×2');
      for (const pid of pids) expect(text).toContain(`${pid}@`);
    }
    await page.locator('#p-frames').screenshot({ path: join(SHOTS, 'fork-shared-frames.png') });
    // The child's store copies one of them.
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    expect(await page.locator('#step-host .events').textContent()).toContain('copy-on-write');
    expect(await shared.count()).toBe(1);
    // The views follow the process that ran the step, named as in the file.
    expect(await page.locator('#pid').inputValue()).toBe(String(pids[1]));
    expect(await page.locator('#pid option:checked').textContent()).toBe(`${pids[1]} (200 in the file, child of ${pids[0]})`);

    expect(await page.locator('#aspace-host svg').getAttribute('class')).toContain('compressed');
    const labels = await page.locator('#aspace-host .vma-label').allTextContents();
    expect(labels.some((l) => l.includes('[stack]'))).toBe(true);
    expect(labels.some((l) => l.includes('[vdso]'))).toBe(true);
    await page.check('#scale-linear');
    expect(await page.locator('#aspace-host svg').getAttribute('class')).toContain('linear');
    await page.locator('#p-aspace').screenshot({ path: join(SHOTS, 'address-space-linear.png') });
    await page.selectOption('#pid', String(pids[1]));
    expect(await page.locator('#proc-text').textContent()).toBe(machineThrough(source, lineOf(source, '200   store8(p, 3)')).maps(pids[1]!));
    await page.close();
  });

  it('moves between panels with Tab and is readable on a narrow window', async () => {
    const page = await openPage('#example=shared-writeback.strace&n=7', { width: 420, height: 900 });
    expect(await stepShown(page)).toBe(7);
    expect(await page.locator('#pagecache-host .pc-page.dirty').count()).toBe(0);
    await page.keyboard.press('ArrowLeft');
    expect(await page.locator('#pagecache-host .pc-page.dirty').count()).toBe(2);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(SHOTS, 'narrow-420.png'), fullPage: true });
    // Tab reaches every panel in order.
    await page.locator('#p-editor').focus();
    const seen: string[] = [];
    for (let i = 0; i < 80 && seen.length < 7; i++) {
      await page.keyboard.press('Tab');
      const id = await page.evaluate(() => document.activeElement?.id ?? '');
      if (id.startsWith('p-') && !seen.includes(id)) seen.push(id);
    }
    expect(seen).toEqual(['p-step', 'p-aspace', 'p-walk', 'p-frames', 'p-pagecache', 'p-proc', 'p-charts']);
    await page.close();
  });

  it('shares a scenario as a URL and downloads it as a file', async () => {
    const page = await openPage('#example=anon-heap-stack.strace');
    const text = '# mine\na = mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\nstore8(a, 0x2a)\nload8(a) = 42\n';
    await page.fill('textarea', text);
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/3 steps/);
    await page.click('#share');
    const link = await page.locator('#share-url').inputValue();
    expect(link).toMatch(/#s=/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const saved = join(profile, 'download.strace');
    await download.saveAs(saved);
    expect(readFileSync(saved, 'utf8')).toBe(text);
    await page.close();
    const again = await openPage(link.slice(url.length));
    expect(await again.locator('textarea').inputValue()).toBe(text);
    await again.close();
  });

  it('opens with the scenario given to `mmsim explore FILE`, and rejects a missing file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmsim-scn-'));
    const file = join(dir, 'mine.strace');
    writeFileSync(file, 'x = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\nload8(x) = 0\n');
    const second = await startExploreServer({ root: webRoot, port: 0, scenario: { file: 'mine.strace', source: readFileSync(file, 'utf8') } });
    try {
      const page = await openPage('', { width: 1280, height: 720 }, second.url);
      expect(await page.locator('textarea').inputValue()).toBe(readFileSync(file, 'utf8'));
      expect(await page.locator('#stepno').textContent()).toBe('0 / 2');
      await page.close();
    } finally {
      await closeServer(second.server);
      rmSync(dir, { recursive: true, force: true });
    }
    const err: string[] = [];
    expect(runExplore([join(dir, 'nope.strace')], { out: () => {}, err: (s) => err.push(s) })).toBe(2);
    expect(err.join('\n')).toMatch(/cannot read .*nope\.strace.*no such file/);
  });

  it('lists in the TLB panel the selected process\'s TLB as the model has it, at every step of fork-cow', async () => {
    const source = readFileSync(join(EXAMPLES, 'fork-cow.strace'), 'utf8');
    const page = await openPage('#example=fork-cow.strace');
    const total = stepsOf(source);
    let compared = 0;
    const differ: number[] = [];
    for (let n = 0; n <= total; n++) {
      if (n > 0) await page.locator('#fwd').click();
      expect(await stepShown(page)).toBe(n);
      const m = modelAfterStep(source, n);
      const seen = new Map<number, string>();
      for (const pid of m.pids()) {
        await page.selectOption('#pid', String(pid));
        expect(await page.locator('#p-walk h3 .pid-label').textContent()).toBe(String(pid));
        const rows = await page.locator('#tlb-host tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.children).map((td) => td.textContent ?? '')));
        const shown = rows.map(([slot, addr, pfn, access]) => ({ slot: Number(slot), addr: BigInt(addr!), pfn: Number(pfn), access }));
        const want = m.tlb(pid)!.map((e) => ({ slot: e.slot, addr: e.addr, pfn: e.pfn, access: e.writable ? 'read/write' : 'read-only' }));
        expect(shown, `step ${n}, pid ${pid}`).toEqual(want);
        if (want.length === 0) expect(await page.locator('#tlb-host').textContent()).toBe('The TLB is empty.');
        compared += want.length;
        seen.set(pid, JSON.stringify(want, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
      }
      if (new Set(seen.values()).size > 1) differ.push(n);
    }
    // Not vacuous: entries were compared, and parent and child had different TLBs.
    expect(compared).toBeGreaterThan(10);
    expect(differ.length).toBeGreaterThan(0);
    await page.locator('#p-walk').screenshot({ path: join(SHOTS, 'walk-and-tlb.png') });
    await page.close();
  });

  it('walks the page tables of a clicked or typed address as walkAddress() does: levels, indexes, tables, PTE bits', async () => {
    const source = readFileSync(EVERY_KIND, 'utf8');
    const total = stepsOf(source);
    const page = await openScenario(source, total);
    const m = modelAfterStep(source, total);
    const pid = m.pids()[0]!;
    expect(await page.locator('#pid').inputValue()).toBe(String(pid));
    // Click each VMA: the walk is of its start.
    const starts = (await vmasShown(page)).map((v) => v.start);
    expect(starts.length).toBeGreaterThanOrEqual(9);
    let present = 0;
    for (const start of starts) {
      await page.locator(`#aspace-host g.vma[data-start="0x${start.toString(16)}"] .vma-rect`).click();
      expect(BigInt(await page.locator('#addr').inputValue())).toBe(start);
      const shown = await walkShown(page);
      expectWalk(shown, m, pid, start);
      if (shown.pte !== null) present++;
    }
    // Type addresses: the second page of each VMA, an offset inside a page, nothing mapped, above user space.
    const typed = [...starts.map((s) => s + 0x1000n), starts[0]! + 0x123n, 0x1000n, 0x7fff_0000_0000n, 0xffff_ffff_ff60_0000n];
    for (const addr of typed) {
      await page.fill('#addr', '0x' + addr.toString(16));
      await page.press('#addr', 'Enter');
      expectWalk(await walkShown(page), m, pid, addr);
    }
    // Not vacuous: some walks reached a PTE, some did not.
    expect(present).toBeGreaterThan(3);
    expect(present).toBeLessThan(starts.length);
    await page.close();
  });

  it('shows in the page cache panel the pages of each file that are uptodate and dirty, as the model has them, at every step', async () => {
    let dirtySeen = 0;
    let cleanSeen = 0;
    for (const [file, source] of [['shared-writeback', readFileSync(join(EXAMPLES, 'shared-writeback.strace'), 'utf8')], ['every-kind', readFileSync(EVERY_KIND, 'utf8')]] as const) {
      const page = await openScenario(source, 0);
      const total = stepsOf(source);
      for (let n = 0; n <= total; n++) {
        if (n > 0) await page.keyboard.press('ArrowRight');
        expect(await stepShown(page)).toBe(n);
        const shown = await page.locator('#pagecache-host .pc-file').evaluateAll((fs) => fs.map((f) => ({
          name: f.querySelector('strong')?.textContent ?? '',
          pages: Array.from(f.querySelectorAll('li.pc-page')).map((li) => ({
            index: li.querySelector('.idx')?.textContent ?? '',
            pfn: li.querySelector('.pfn')?.textContent ?? '',
            uptodate: li.classList.contains('uptodate'),
            dirty: li.classList.contains('dirty'),
            letters: li.querySelector('.st')?.textContent ?? '',
          })),
        })));
        const want = modelAfterStep(source, n).pageCache().map((f) => ({
          name: f.path ?? `inode ${f.ino}`,
          pages: f.pages.map((p) => {
            const uptodate = p.flags.includes('uptodate');
            const dirty = p.flags.includes('dirty');
            const writeback = p.flags.includes('writeback');
            return { index: `#${p.index}`, pfn: `pfn ${p.pfn}`, uptodate, dirty, letters: `${uptodate ? 'U' : ''}${dirty ? 'D' : ''}${writeback ? 'W' : ''}` || '–' };
          }),
        }));
        expect(shown, `${file} step ${n}`).toEqual(want);
        for (const f of want) for (const p of f.pages) if (p.dirty) dirtySeen++;
        else if (p.uptodate) cleanSeen++;
      }
      if (file === 'every-kind') await page.locator('#p-pagecache').screenshot({ path: join(SHOTS, 'page-cache.png') });
      await page.close();
    }
    expect(dirtySeen).toBeGreaterThan(0);
    expect(cleanSeen).toBeGreaterThan(0);
  });

  it('plots over the steps the session\'s metrics computed in Node, reads them at a step on hover, and goes to a clicked step', async () => {
    const source = readFileSync(EVERY_KIND, 'utf8');
    const metrics = allMetrics(openSession(source, 'every-kind.strace'));
    const total = stepsOf(source);
    expect(metrics.map((x) => x.step)).toEqual(Array.from({ length: total + 1 }, (_, i) => i));
    const at = 9;
    const page = await openScenario(source, at);
    type Plotted = { title: string; step: number; xRange: [number, number]; xs: number[]; series: { label: string; values: number[] }[] };
    const plotted = (): Promise<Plotted[]> => page.evaluate(() => (window as unknown as { mmsim: { charts(): Plotted[] } }).mmsim.charts());
    const FIELDS: [RegExp, Record<string, keyof StepMetrics>][] = [
      [/^RSS/, { anon: 'rssAnon', file: 'rssFile', shmem: 'rssShmem' }],
      [/fault/i, { minor: 'minflt', major: 'majflt' }],
      [/I\/O/, { read: 'readKb', written: 'writeKb' }],
    ];
    const charts = await plotted();
    expect(charts.length).toBe(FIELDS.length);
    charts.forEach((c, i) => {
      const [title, fields] = FIELDS[i]!;
      expect(c.title).toMatch(title);
      expect(c.step).toBe(at);
      expect(c.xs).toEqual(metrics.map((x) => x.step));
      expect(c.series).toEqual(Object.entries(fields).map(([label, field]) => ({ label, values: metrics.map((x) => x[field]) })));
    });
    // Every series moves in this scenario, so a series plotted from the wrong counter shows.
    for (const c of charts) for (const s of c.series) expect(new Set(s.values).size, `${c.title}: ${s.label}`).toBeGreaterThan(1);

    // Hovering a chart at a step shows that step's values in its legend.
    const figures = page.locator('#charts-host figure.chart');
    const hoverStep = 14;
    for (let i = 0; i < charts.length; i++) {
      const over = figures.nth(i).locator('.u-over');
      await over.scrollIntoViewIfNeeded();
      const box = (await over.boundingBox())!;
      const [lo, hi] = charts[i]!.xRange;
      await over.hover({ position: { x: (box.width * (hoverStep - lo)) / (hi - lo), y: box.height / 2 } });
      const legend = await figures.nth(i).locator('.u-legend tr.u-series').evaluateAll((trs) => trs.map((tr) => [tr.querySelector('.u-label')?.textContent ?? '', tr.querySelector('.u-value')?.textContent ?? '']));
      const [, fields] = FIELDS[i]!;
      expect(legend.map(([label, value]) => [label, Number(value!.replace(/,/g, ''))])).toEqual([
        ['step', hoverStep],
        ...Object.entries(fields).map(([label, field]) => [label, metrics[hoverStep]![field]]),
      ]);
    }
    await page.locator('#p-charts').screenshot({ path: join(SHOTS, 'charts.png') });
    // Clicking there goes to that step, and every chart marks it.
    await page.mouse.down();
    await page.mouse.up();
    expect(await stepShown(page)).toBe(hoverStep);
    expect((await plotted()).map((c) => c.step)).toEqual(charts.map(() => hoverStep));
    await expectStateAt(page, source, hoverStep);
    await page.close();
  });

  it('colours each VMA by its kind, with every kind of the legend present, and labels it with the pathname /proc/PID/maps prints (nothing for anonymous memory)', async () => {
    const source = readFileSync(EVERY_KIND, 'utf8');
    const total = stepsOf(source);
    const page = await openScenario(source, total);
    const m = modelAfterStep(source, total);
    const pid = m.pids()[0]!;
    const maps = mapsByStart(m.maps(pid)!);
    const legend = await page.locator('#aspace-legend .legend-item').evaluateAll((items) => items.map((el) => ({
      kind: Array.from(el.classList).find((c) => c.startsWith('kind-'))!.slice(5),
      colour: getComputedStyle(el.querySelector('i')!).backgroundColor,
    })));
    for (const scale of ['compressed', 'linear'] as const) {
      await page.check(`#scale-${scale}`);
      expect(await page.locator('#aspace-host svg').getAttribute('class')).toContain(scale);
      const shown = await vmasShown(page);
      // Every VMA of maps but [vsyscall] (above user space), in order from the top.
      expect(shown.map((v) => v.start).sort((a, b) => (a < b ? -1 : 1))).toEqual([...maps.keys()].filter((a) => maps.get(a)!.name !== '[vsyscall]'));
      for (const v of shown) {
        const line = maps.get(v.start)!;
        expect(v.kinds, `VMA at 0x${v.start.toString(16)} (${line.name || 'anonymous'})`).toEqual([kindOfMapsLine(line)]);
        expect(v.name).toBe(line.name);
        const label = await page.locator(`#aspace-host g.vma[data-start="0x${v.start.toString(16)}"] .vma-label`).textContent();
        expect(label).toMatch(new RegExp(`^${line.perms} ${line.name.replace(/[[\]().*+?^$|\\]/g, '\\$&')}  \\d`));
        if (line.name === '') expect(v.title.split('\n')[1]).toMatch(/^anonymous, /);
      }
      // All the legend's kinds are here, each drawn in its legend colour, and no two kinds share a colour.
      expect([...new Set(shown.flatMap((v) => v.kinds))].sort()).toEqual(legend.map((l) => l.kind).sort());
      for (const { kind, colour } of legend) {
        const fills = await page.locator(`#aspace-host g.vma.kind-${kind} .vma-rect`).evaluateAll((rs) => rs.map((r) => getComputedStyle(r).fill));
        expect(fills.length).toBeGreaterThan(0);
        for (const f of fills) expect(f, kind).toBe(colour);
      }
      expect(new Set(legend.map((l) => l.colour)).size).toBe(legend.length);
      expect(shown.filter((v) => v.name === '').length).toBeGreaterThan(0);
    }
    expect(legend.map((l) => l.kind).sort()).toEqual(['anon', 'file-private', 'file-shared', 'heap', 'hugetlb', 'shmem', 'special', 'stack']);
    await page.check('#scale-compressed');
    await page.locator('#p-aspace').screenshot({ path: join(SHOTS, 'address-space-every-kind.png') });
    await page.close();
  });

  it('steps with the slider and the buttons, showing the state of the step it shows', async () => {
    const source = readFileSync(EVERY_KIND, 'utf8');
    const total = stepsOf(source);
    const page = await openScenario(source, 0);
    const slider = page.locator('#slider');
    expect(await slider.getAttribute('max')).toBe(String(total));
    await slider.fill('11');
    await expectStateAt(page, source, 11);
    // Arrow keys on the focused slider move it by one (the page does not step a second time).
    await page.keyboard.press('ArrowLeft');
    await expectStateAt(page, source, 10);
    await slider.fill('3');
    await expectStateAt(page, source, 3);
    await slider.blur();

    const disabled = async (): Promise<Record<string, boolean>> => {
      const out: Record<string, boolean> = {};
      for (const id of ['first', 'back', 'fwd', 'last']) out[id] = await page.locator('#' + id).isDisabled();
      return out;
    };
    await page.locator('#fwd').click();
    await page.locator('#fwd').click();
    await expectStateAt(page, source, 5);
    await page.locator('#back').click();
    await expectStateAt(page, source, 4);
    expect(await disabled()).toEqual({ first: false, back: false, fwd: false, last: false });
    await page.locator('#last').click();
    await expectStateAt(page, source, total);
    expect(await disabled()).toEqual({ first: false, back: false, fwd: true, last: true });
    await page.locator('#back').click();
    await expectStateAt(page, source, total - 1);
    await page.locator('#first').click();
    await expectStateAt(page, source, 0);
    expect(await disabled()).toEqual({ first: true, back: true, fwd: false, last: false });
    await page.close();
  });

  it('is readable at 1280x720: no horizontal overflow, every panel shown within the window\'s width', async () => {
    const source = readFileSync(EVERY_KIND, 'utf8');
    const page = await openScenario(source, stepsOf(source), { width: 1280, height: 720 });
    const size = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    expect(size.client).toBeGreaterThan(1200);
    expect(size.scroll).toBeLessThanOrEqual(size.client);
    // Two columns: the editor beside the panels.
    const editor = (await page.locator('#p-editor').boundingBox())!;
    expect(editor.x + editor.width).toBeLessThan((await page.locator('#p-step').boundingBox())!.x);
    for (const id of ['p-editor', 'p-step', 'p-aspace', 'p-walk', 'p-frames', 'p-pagecache', 'p-proc', 'p-charts']) {
      const panel = page.locator('#' + id);
      expect(await panel.isVisible(), id).toBe(true);
      const box = (await panel.boundingBox())!;
      expect(box.x, id).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width, id).toBeLessThanOrEqual(size.client);
      expect(box.width, id).toBeGreaterThanOrEqual(320);
      // Nothing inside is cut off at the panel's right edge.
      expect(await panel.evaluate((el) => el.scrollWidth - el.clientWidth), id).toBeLessThanOrEqual(0);
    }
    // The controls are on screen without scrolling.
    for (const id of ['example', 'first', 'back', 'fwd', 'last', 'slider', 'stepno', 'pid']) {
      const box = (await page.locator('#' + id).boundingBox())!;
      expect(box.x + box.width, id).toBeLessThanOrEqual(size.client);
      expect(box.y + box.height, id).toBeLessThanOrEqual(720);
    }
    await page.screenshot({ path: join(SHOTS, 'every-kind-1280x720.png') });
    await page.close();
  });

  it('runs a scenario in the browser to the same results and events, byte for byte, as in Node', async () => {
    const files = [
      ...['src/web/examples', 'examples'].flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.strace')).map((f) => join(d, f))),
      EVERY_KIND,
    ];
    expect(files.length).toBeGreaterThanOrEqual(10);
    const page = await openPage();
    for (const file of files) {
      const source = readFileSync(file, 'utf8');
      const name = basename(file);
      const inBrowser = await page.evaluate(([src, f]) => (window as unknown as { mmsim: { trace(s: string, f: string): string } }).mmsim.trace(src!, f!), [source, name]);
      const inNode = JSON.stringify(runScenario(source, { file: name, trace: true }), (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
      const run = JSON.parse(inNode) as { malformed: boolean; records: { events?: unknown[] }[] };
      expect(run.malformed, file).toBe(false);
      expect(run.records.reduce((n, r) => n + (r.events?.length ?? 0), 0), file).toBeGreaterThan(0);
      expect(inBrowser === inNode, `${file}: the browser's run differs from Node's`).toBe(true);
    }
    // With no arguments: the scenario in the editor.
    const shown = await page.locator('textarea').inputValue();
    const current = await page.evaluate(() => (window as unknown as { mmsim: { trace(): string } }).mmsim.trace());
    expect(JSON.parse(current).records.length).toBe(stepsOf(shown));
    await page.close();
  });

  it('made no request off the local server', () => {
    expect(offsite).toEqual([]);
  });
});
