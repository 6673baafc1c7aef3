/**
 * The report as one self-contained, interactive HTML page: every figure drawn in the page from
 * its Vega-Lite spec by the inlined vega runtime (tooltips, legend selection, zoom), its static
 * SVG inside <noscript> for readers without scripts; inline CSS, no request to any host, no
 * timestamp (the same input gives the same bytes).
 */
import { BOOT_SCRIPT } from './report-boot.js';
import type { ReportContent, ReportFigure, Table } from './report-content.js';
import type { RuntimeScript } from './report-runtime.js';

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const STYLE = `
/* Paths and repo ids are long unbroken words: any text may break anywhere rather than widen the page. */
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; margin: 0 auto; padding: 24px; max-width: 1500px; overflow-wrap: anywhere; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 36px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 20px 0 6px; }
p.lead, p.summary { color: #444; margin: 4px 0 12px; }
p.how { color: #444; font-size: 13px; background: #f5f8fb; border-left: 4px solid #0072b2; padding: 6px 12px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0 16px; }
th, td { border: 1px solid #d4d4d4; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; font-weight: 600; }
td.hash { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
.table-wrap { overflow-x: auto; }
figure { margin: 8px 0 24px; overflow-x: auto; }
figure .static svg { display: block; max-width: 100%; height: auto; }
.vega-embed .vega-actions { font-size: 13px; }
p.not-drawn { background: #fff6e5; border-left: 4px solid #e69f00; padding: 8px 12px; }
p.note { color: #555; font-size: 13px; }
nav ul { list-style: none; padding: 0; margin: 8px 0 0; display: flex; flex-wrap: wrap; gap: 4px 18px; font-size: 14px; }
ul.headline { font-size: 16px; padding-left: 20px; margin: 12px 0 16px; }
ul.headline li { margin: 4px 0; }
@media (max-width: 700px) {
  body { padding: 12px; }
  h1 { font-size: 20px; }
  ul.headline { font-size: 15px; }
  /* Each row a card of "column: value" lines, so a table is never wider than the screen and the growth stays in view. */
  .table-wrap table, .table-wrap tbody, .table-wrap tr, .table-wrap td { display: block; }
  .table-wrap thead { display: none; }
  .table-wrap tr { border: 1px solid #d4d4d4; margin: 0 0 10px; }
  .table-wrap td { border: none; border-top: 1px solid #eee; }
  .table-wrap td::before { content: attr(data-label) ": "; font-weight: 600; }
}
`;

function tableHtml(table: Table, hashColumns: readonly string[] = []): string {
  if (table.rows.length === 0) return '<p class="summary">none</p>';
  const head = `<tr>${table.header.map((cell) => `<th>${escapeHtml(cell)}</th>`).join('')}</tr>`;
  const rows = table.rows.map(
    (row) =>
      `<tr>${row.map((cell, column) => `<td data-label="${escapeHtml(table.header[column]!)}"${hashColumns.includes(table.header[column]!) ? ' class="hash"' : ''}>${escapeHtml(cell)}</td>`).join('')}</tr>`,
  );
  return `<div class="table-wrap"><table>\n<thead>${head}</thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table></div>`;
}

/** JSON inside <script>: "<" escaped, so no text of a prompt can close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function figureHtml(entry: ReportFigure): string {
  const heading = entry.subject === undefined ? '' : `<h3>${escapeHtml(entry.subject)}</h3>\n`;
  if (entry.spec === undefined || entry.svg === undefined)
    return `${heading}<p class="not-drawn">Not drawn: ${escapeHtml(entry.reason ?? 'unknown reason')}.</p>`;
  const note = entry.note === undefined ? '' : `\n<p class="note">${escapeHtml(entry.note)}</p>`;
  return [
    `${heading}<figure id="${entry.stem}">`,
    `<div class="chart" data-figure="${entry.stem}"></div>`,
    `<script type="application/json" id="spec-${entry.stem}">${scriptJson(entry.spec)}</script>`,
    `<noscript><div class="static">\n${entry.svg}\n</div></noscript>`,
    `</figure>${note}`,
  ].join('\n');
}

/** A section per figure with something drawn; a figure none of whose entries was drawn is only listed, under "Not drawn". */
function figureSections(figures: readonly ReportFigure[]): string[] {
  const names = drawnFigureNames(figures);
  return names.map((name) => {
    const entries = figures.filter((entry) => entry.figure === name);
    return [
      `<section id="figure-${name}">`,
      `<h2>${escapeHtml(name)}</h2>`,
      `<p class="summary">${escapeHtml(entries[0]!.summary)}</p>`,
      ...entries.map(figureHtml),
      '</section>',
    ].join('\n');
  });
}

function drawnFigureNames(figures: readonly ReportFigure[]): string[] {
  return [...new Set(figures.filter((entry) => entry.svg !== undefined).map((entry) => entry.figure))];
}

/** Figures of which nothing was drawn, each with why: one list instead of a section each. */
function notDrawnSection(figures: readonly ReportFigure[]): string[] {
  const drawn = new Set(drawnFigureNames(figures));
  const missing = figures.filter((entry) => !drawn.has(entry.figure));
  if (missing.length === 0) return [];
  const items = missing.map(
    (entry) => `<li>${escapeHtml(`${entry.figure}${entry.subject === undefined ? '' : ` (${entry.subject})`}: ${entry.reason ?? 'unknown reason'}`)}</li>`,
  );
  return ['<section id="not-drawn">', '<h2>Not drawn</h2>', '<ul>', ...items, '</ul>', '</section>'];
}

const HOW_TO_READ =
  'Hover a line or point for its values (token, position, layer, norm). Click a legend entry to fade the other series (shift-click to pick several). Drag a figure sideways to pan its x axis, shift + wheel to zoom; double-click to show every series and reset the zoom. The static SVG of every figure is in figures/ beside this page.';

/**
 * The page, in the order a reader wants it: the headline growth of each model, its interval and
 * whether one exponential describes it; the figures; the fit tables; what was not drawn; then
 * the models and runs (metadata). Sections with nothing to show are left out.
 * `runtime`: vega, vega-lite and vega-embed (report-runtime.ts), inlined in this order.
 */
export function renderReportHtml(content: ReportContent, runtime: readonly RuntimeScript[]): string {
  const names = drawnFigureNames(content.figures);
  const models = [...new Set(content.models.rows.map((row) => row[1]!))];
  const sections = [
    ...names.map((name) => ({ id: `figure-${name}`, title: name })),
    ...(content.fits.rows.length > 0 || content.weightFits.rows.length > 0 ? [{ id: 'fits', title: 'fits' }] : []),
    { id: 'models', title: 'models' },
    ...(content.runs.rows.length > 0 ? [{ id: 'runs', title: 'runs' }] : []),
  ];
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(`resid-norms report: ${models.join(', ')}`)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<h1>Residual stream norms</h1>',
    ...(content.headline.length === 0 ? [] : ['<ul class="headline">', ...content.headline.map((line) => `<li>${escapeHtml(line)}</li>`), '</ul>']),
    `<p class="lead">${escapeHtml(`${models.length} model${models.length === 1 ? '' : 's'}: ${models.join(', ')} · made by resid-norms ${content.toolVersion}`)}</p>`,
    `<nav><ul>${sections.map(({ id, title }) => `<li><a href="#${id}">${escapeHtml(title)}</a></li>`).join('')}</ul></nav>`,
    ...(names.length > 0 ? [`<p class="how">${escapeHtml(HOW_TO_READ)}</p>`] : []),
    ...figureSections(content.figures),
    ...(content.fits.rows.length === 0 && content.weightFits.rows.length === 0
      ? []
      : [
          '<section id="fits">',
          '<h2>Growth fits</h2>',
          ...(content.fits.rows.length === 0
            ? []
            : [
                '<p class="summary">Least-squares line of ln(statistic) on layer; growth = factor per layer; phases: piecewise fit, number of pieces by BIC.</p>',
                tableHtml(content.fits),
              ]),
          ...(content.weightFits.rows.length === 0
            ? []
            : [
                '<h3>Writing weights</h3>',
                '<p class="summary">The same line fitted to the norm of each layer\'s weights (one value per layer, no prompts: the interval is the regression\'s).</p>',
                tableHtml(content.weightFits),
              ]),
          '</section>',
        ]),
    ...notDrawnSection(content.figures),
    '<section id="models">',
    '<h2>Models</h2>',
    tableHtml(content.models),
    '</section>',
    ...(content.runs.rows.length === 0
      ? []
      : ['<section id="runs">', '<h2>Runs and prompt sets</h2>', tableHtml(content.runs, ['prompt-set sha256']), '</section>']),
    ...runtime.map(({ name, version, code }) => `<script>/* ${name} ${version} */\n${code}\n</script>`),
    `<script>\n${BOOT_SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
