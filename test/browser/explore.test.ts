/**
 * End-to-end tests of `mmsim explore`: the page is built from the current
 * source with vite, served by the explore command's server, and driven by
 * playwright-core in Debian's chromium (/usr/bin/chromium; never a
 * downloaded browser). Expected values come from running the same scenario
 * with the model in this process. Screenshots of the main views are saved
 * under test-results/explore/ (gitignored) for a human to look at.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExplore, startExploreServer } from '../../src/cli/explore.js';
import type { Machine } from '../../src/kernel/machine.js';
import { interpret } from '../../src/scenario/interpreter.js';
import { joinSplitCalls, parseScenario } from '../../src/scenario/parser.js';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const SHOTS = resolve('test-results/explore');
const EXAMPLES = resolve('src/web/examples');

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

  it('made no request off the local server', () => {
    expect(offsite).toEqual([]);
  });
});
