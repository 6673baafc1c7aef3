/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The report in a real browser (headless Chromium, Debian's package, see test/support/browser.ts):
 * every figure is drawn, hovering a mark shows its token and value, legend clicks and zoom
 * work, the page asks no host for anything, the console stays quiet, it fits a phone's width,
 * and without scripts the static SVGs show. Skips only when there is no chromium and CI is not set.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { runReport } from '../../src/commands/report.js';
import { FIGURE_NAMES } from '../../src/figures/figure-registry.js';
import { DEFAULT_FIGURE_OPTIONS } from '../../src/figures/figure-types.js';
import type { ReportContent } from '../../src/report/report-content.js';
import { browserSkipReason, launchChromium } from '../support/browser.js';
import { TINY_MEASUREMENT_PATH, TINY_WEIGHTS_PATH, readTinyMeasurement } from '../figures/plot-fixtures.js';

interface OpenedPage {
  page: Page;
  /** Every URL the page asked for (requests to other than the page itself are refused). */
  requests: string[];
  /** Console errors and warnings, and uncaught exceptions. */
  problems: string[];
  milliseconds: number;
}

/** Screen position of the hover point of `markName` whose datum matches: found in Vega's scenegraph, placed by its SVG element. */
async function hoverPointPosition(page: Page, stem: string, markName: string, match: Record<string, number>): Promise<{ x: number; y: number }> {
  await page.$eval(`[data-figure="${stem}"]`, (element) => element.scrollIntoView({ block: 'center' }));
  return page.evaluate(
    (stem, markName, match) => {
      interface Item {
        datum?: Record<string, unknown>;
        items?: Item[];
        mark?: { name?: string };
        _svg?: Element;
      }
      const report = (window as unknown as { residNormsReport: { views: Record<string, { scenegraph(): { root: Item } }> } }).residNormsReport;
      const found: Item[] = [];
      const visit = (item: Item): void => {
        if (item.mark?.name === markName && item.datum !== undefined && Object.entries(match).every(([key, value]) => item.datum![key] === value))
          found.push(item);
        for (const child of item.items ?? []) visit(child);
      };
      visit(report.views[stem]!.scenegraph().root);
      if (found.length !== 1 || found[0]!._svg === undefined) throw new Error(`${found.length} drawn items of ${markName} match ${JSON.stringify(match)}`);
      const box = found[0]!._svg.getBoundingClientRect();
      return { x: box.left + box.width / 2, y: box.top + box.height / 2 };
    },
    stem,
    markName,
    match,
  );
}

async function tooltipAt(page: Page, position: { x: number; y: number }): Promise<string> {
  await page.mouse.move(position.x - 30, position.y - 30);
  await page.mouse.move(position.x, position.y, { steps: 3 });
  await page.waitForSelector('#vg-tooltip-element.visible', { timeout: 5000 });
  // biome-ignore lint/performance/useDomNodeTextContent: the tooltip as it reads on screen, one line per field (textContent joins them)
  return page.$eval('#vg-tooltip-element', (element) => (element as HTMLElement).innerText);
}

describe('the report in headless Chromium', { skip: browserSkipReason() ?? false }, () => {
  let root: string;
  let browser: Browser;
  let content: ReportContent;
  let indexUrl: string;
  let opened: OpenedPage;

  async function openReport(width: number, javaScript = true): Promise<OpenedPage> {
    const page = await browser.newPage();
    await page.setJavaScriptEnabled(javaScript);
    await page.setViewport({ width, height: 900 });
    const requests: string[] = [];
    const problems: string[] = [];
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      requests.push(request.url());
      if (request.url() === indexUrl) void request.continue();
      else void request.abort('blockedbyclient');
    });
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warn') problems.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`uncaught: ${String(error)}`));
    const start = performance.now();
    await page.goto(indexUrl, { waitUntil: 'load' });
    if (javaScript) await page.evaluate(() => (window as unknown as { residNormsReport: { ready: Promise<number> } }).residNormsReport.ready);
    return { page, requests, problems, milliseconds: performance.now() - start };
  }

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-report-browser-'));
    const outDir = join(root, 'report');
    // The inputs under one long unbroken folder name: the page shows their paths, which must wrap
    // rather than widen it, wherever the clone lives.
    const inputs = join(root, 'a_folder_name_much_longer_than_a_phone_screen_is_wide_without_a_hyphen_or_space');
    await mkdir(inputs);
    const files = [TINY_MEASUREMENT_PATH, TINY_WEIGHTS_PATH].map((path) => join(inputs, basename(path)));
    await Promise.all(files.map((copy, index) => copyFile([TINY_MEASUREMENT_PATH, TINY_WEIGHTS_PATH][index]!, copy)));
    content = await runReport({ files, outDir, figures: [...FIGURE_NAMES], figureOptions: DEFAULT_FIGURE_OPTIONS }, createSilentReporter());
    indexUrl = pathToFileURL(join(outDir, 'index.html')).href;
    browser = await launchChromium();
    opened = await openReport(1300);
  });
  after(async () => {
    await browser?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('draws every figure interactively, as one SVG each', async (t) => {
    const stems = content.figures.filter((entry) => entry.spec !== undefined).map((entry) => entry.stem);
    assert.equal(stems.length, 11, 'the 10 figures of the results file and the weights figure');
    const drawn = await opened.page.$$eval('[data-figure]', (elements) =>
      elements.map((element) => [element.getAttribute('data-figure'), element.querySelectorAll('svg.marks').length]),
    );
    assert.deepEqual(
      drawn,
      stems.map((stem) => [stem, 1]),
    );
    // Every line of text written under a plot (fit rates) is drawn, not clipped by the zoomable view.
    const texts = await opened.page.$$eval('[data-figure]', (elements) =>
      elements.map((element) => {
        const shown = new Set([...element.querySelectorAll('svg.marks text')].map((text) => text.textContent));
        const fallback = new DOMParser().parseFromString(element.parentElement!.querySelector('noscript')!.textContent, 'text/html');
        return [...fallback.querySelectorAll('text')].map((text) => text.textContent).filter((text) => text.startsWith('fit ') && !shown.has(text));
      }),
    );
    assert.deepEqual(texts.flat(), []);
    assert.ok(
      content.figures.some((entry) => entry.svg?.includes('>fit ')),
      'the fixture has fit lines to check',
    );
    const bytes = (await readFile(new URL(indexUrl))).length;
    t.diagnostic(`page ${(bytes / 1e6).toFixed(2)} MB, every figure drawn ${opened.milliseconds.toFixed(0)} ms after navigation started`);
  });

  it('asks no host for anything: the one request is the page itself', () => {
    assert.deepEqual(opened.requests, [indexUrl]);
  });

  it('keeps the console free of errors and warnings', () => {
    assert.deepEqual(opened.problems, []);
  });

  it('shows the token, prompt, position, layer and value when hovering a token of the tokens figure', async () => {
    const measurement = await readTinyMeasurement();
    const [layer, position] = [3, 2];
    const text = await tooltipAt(opened.page, await hoverPointPosition(opened.page, 'tokens', 'hover_positions_marks', { layer, position }));
    const norm = measurement.sequences[0]!.norms.resid_pre![layer]![position]!;
    assert.match(text, new RegExp(`token\\s+${measurement.sequences[0]!.tokens[position]}\\b`));
    assert.match(text, /prompt\s+0\b/);
    assert.match(text, new RegExp(`position\\s+${position}\\b`));
    assert.match(text, new RegExp(`layer\\s+${layer}\\b`));
    assert.ok(text.includes(String(Number(norm.toPrecision(4)))), `${norm} in ${JSON.stringify(text)}`);
  });

  it('shows the head, layer and norm when hovering a head of the weights figure', async () => {
    const weights = JSON.parse(await readFile(TINY_WEIGHTS_PATH, 'utf8')) as { layers: Array<{ heads: { processed: { W_OV: number[] } } }> };
    // The head farthest from the other heads of its layer, so no other dot covers it.
    const isolation = (layer: number, head: number): number => {
      const norms = weights.layers[layer]!.heads.processed.W_OV;
      return Math.min(...norms.filter((_, other) => other !== head).map((norm) => Math.abs(Math.log(norm / norms[head]!))));
    };
    const candidates = weights.layers.flatMap((entry, layer) => entry.heads.processed.W_OV.map((_, head) => [layer, head] as const));
    const [layer, head] = candidates.reduce((best, candidate) => (isolation(candidate[0], candidate[1]) > isolation(best[0], best[1]) ? candidate : best));
    const text = await tooltipAt(opened.page, await hoverPointPosition(opened.page, 'weights', 'hover_heads_0_marks', { layer, head }));
    assert.match(text, new RegExp(`head\\s+${head}\\b`));
    assert.match(text, new RegExp(`layer\\s+${layer}\\b`));
    assert.ok(text.includes(String(Number(weights.layers[layer]!.heads.processed.W_OV[head]!.toPrecision(4)))), text);
  });

  it('fades the other series when a legend entry is clicked', async () => {
    const { page } = opened;
    const label = await page.$('[data-figure="block-outputs"] .role-legend-label text');
    assert.ok(label !== null);
    await label.scrollIntoView();
    await label.click();
    const state = await page.evaluate(() => {
      const view = (window as unknown as { residNormsReport: { views: Record<string, { data(name: string): unknown[] }> } }).residNormsReport.views[
        'block-outputs'
      ]!;
      const opacities = [...document.querySelectorAll('[data-figure="block-outputs"] .mark-line.role-mark path')].map((path) => path.getAttribute('opacity'));
      return { picked: view.data('pick_store').length, opacities };
    });
    assert.equal(state.picked, 1);
    assert.ok(state.opacities.includes('0.08') && state.opacities.includes('1'), `line opacities ${state.opacities.join(',')}`);
  });

  it('zooms the x axis with shift + wheel', async () => {
    const { page } = opened;
    const position = await hoverPointPosition(page, 'growth', 'hover_means_marks', { layer: 3 });
    const domain = () =>
      page.evaluate(() =>
        (window as unknown as { residNormsReport: { views: Record<string, { scale(name: string): { domain(): number[] } }> } }).residNormsReport.views
          .growth!.scale('x')
          .domain(),
      );
    const before = await domain();
    await page.mouse.move(position.x, position.y);
    await page.keyboard.down('Shift');
    await page.mouse.wheel({ deltaY: -300 });
    await page.keyboard.up('Shift');
    await page.waitForFunction(
      (low, high) => {
        const [a, b] = (
          window as unknown as { residNormsReport: { views: Record<string, { scale(name: string): { domain(): number[] } }> } }
        ).residNormsReport.views
          .growth!.scale('x')
          .domain();
        return a! > low || b! < high;
      },
      { timeout: 5000 },
      before[0]!,
      before[1]!,
    );
    const after = await domain();
    assert.ok(after[1]! - after[0]! < before[1]! - before[0]!, `zoomed in: ${before.join('–')} → ${after.join('–')}`);
  });

  it('fits a phone-width screen: no sideways scrolling of the page, plots as wide as the screen, tooltips still work', async () => {
    const phone = await openReport(400);
    try {
      const widths = await phone.page.evaluate(() => ({
        page: document.documentElement.scrollWidth,
        figures: [...document.querySelectorAll('figure')].map((figure) => figure.getBoundingClientRect().right),
        plots: [...document.querySelectorAll('[data-figure] svg.marks')].map((svg) => svg.getBoundingClientRect().width),
        tables: [...document.querySelectorAll('.table-wrap')].map((wrap) => ({
          right: wrap.querySelector('table')!.getBoundingClientRect().right,
          scrolls: wrap.scrollWidth > wrap.clientWidth + 1,
        })),
        headline: document.querySelector('ul.headline')?.getBoundingClientRect().top,
      }));
      assert.ok(widths.page <= 400, `page ${widths.page} px wide`);
      // Tables fit: no sideways scrolling inside them either, so the growth column stays in view.
      assert.ok(widths.tables.length >= 3 && widths.tables.every((table) => table.right <= 400 && !table.scrolls), `tables: ${JSON.stringify(widths.tables)}`);
      assert.ok(widths.headline !== undefined && widths.headline < 200, `the headline opens the page (at ${widths.headline} px)`);
      assert.ok(
        widths.figures.every((right) => right <= 400),
        `figures end at ${widths.figures.join(', ')}`,
      );
      // Only the lines of text written under some plots (fit rates) may run wider, and scroll in the figure's box.
      assert.ok(widths.plots.filter((width) => width <= 400).length >= 6, `drawn widths ${widths.plots.map(Math.round).join(', ')}`);
      // Points may overlap in a narrow plot: the tooltip must be that of the point on top, under the pointer.
      const position = await hoverPointPosition(phone.page, 'tokens', 'hover_positions_marks', { layer: 1, position: 1 });
      const text = await tooltipAt(phone.page, position);
      const datum = await phone.page.evaluate(
        ({ x, y }) => (document.elementFromPoint(x, y) as unknown as { __data__?: { datum?: Record<string, unknown> } }).__data__?.datum,
        position,
      );
      assert.ok(datum !== undefined && typeof datum.token === 'string', 'a token point is under the pointer');
      assert.match(text, new RegExp(`token\\s+${String(datum.token)}\\b[^]*position\\s+${String(datum.position)}\\b[^]*layer\\s+1\\b`));
      assert.ok(text.includes(String(Number((datum.norm as number).toPrecision(4)))), text);
      assert.deepEqual(phone.problems, []);
    } finally {
      await phone.page.close();
    }
  });

  it('shows the static SVGs when scripts are off', async () => {
    const still = await openReport(1300, false);
    try {
      const shown = await still.page.$$eval('figure .static > svg', (svgs) => svgs.filter((svg) => svg.getBoundingClientRect().width > 100).length);
      assert.equal(shown, 11);
      assert.deepEqual(still.requests, [indexUrl]);
    } finally {
      await still.page.close();
    }
  });
});
