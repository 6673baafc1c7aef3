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
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; margin: 0 auto; padding: 24px; max-width: 1500px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 36px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 20px 0 6px; overflow-wrap: anywhere; }
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
@media (max-width: 700px) {
  body { padding: 12px; }
  h1 { font-size: 20px; }
  /* Tables scroll sideways rather than squeeze every cell into a tall column. */
  th, td { min-width: 5em; }
  td:last-child { min-width: 16em; }
  td.hash { min-width: 22em; }
}
`;

function tableHtml(table: Table, hashColumns: readonly string[] = []): string {
  if (table.rows.length === 0) return '<p class="summary">none</p>';
  const head = `<tr>${table.header.map((cell) => `<th>${escapeHtml(cell)}</th>`).join('')}</tr>`;
  const rows = table.rows.map(
    (row) => `<tr>${row.map((cell, column) => `<td${hashColumns.includes(table.header[column]!) ? ' class="hash"' : ''}>${escapeHtml(cell)}</td>`).join('')}</tr>`,
  );
  return `<div class="table-wrap"><table>\n<thead>${head}</thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table></div>`;
}

/** JSON inside <script>: "<" escaped, so no text of a prompt can close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function figureHtml(entry: ReportFigure): string {
  const heading = entry.subject === undefined ? '' : `<h3>${escapeHtml(entry.subject)}</h3>\n`;
  if (entry.spec === undefined || entry.svg === undefined) return `${heading}<p class="not-drawn">Not drawn: ${escapeHtml(entry.reason ?? 'unknown reason')}.</p>`;
  const note = entry.note === undefined ? '' : `\n<p class="note">${escapeHtml(entry.note)}</p>`;
  return [
    `${heading}<figure id="${entry.stem}">`,
    `<div class="chart" data-figure="${entry.stem}"></div>`,
    `<script type="application/json" id="spec-${entry.stem}">${scriptJson(entry.spec)}</script>`,
    `<noscript><div class="static">\n${entry.svg}\n</div></noscript>`,
    `</figure>${note}`,
  ].join('\n');
}

function figureSections(figures: readonly ReportFigure[]): string[] {
  const names = [...new Set(figures.map((entry) => entry.figure))];
  return names.map((name) => {
    const entries = figures.filter((entry) => entry.figure === name);
    return [`<section id="figure-${name}">`, `<h2>${escapeHtml(name)}</h2>`, `<p class="summary">${escapeHtml(entries[0]!.summary)}</p>`, ...entries.map(figureHtml), '</section>'].join('\n');
  });
}

const HOW_TO_READ =
  'Hover a line or point for its values (token, position, layer, norm). Click a legend entry to fade the other series (shift-click to pick several). Drag a figure sideways to pan its x axis, shift + wheel to zoom; double-click to show every series and reset the zoom. The static SVG of every figure is in figures/ beside this page.';

/** `runtime`: vega, vega-lite and vega-embed (report-runtime.ts), inlined in this order. */
export function renderReportHtml(content: ReportContent, runtime: readonly RuntimeScript[]): string {
  const names = [...new Set(content.figures.map((entry) => entry.figure))];
  const models = [...new Set(content.models.rows.map((row) => row[1]!))];
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
    `<p class="lead">${escapeHtml(`${models.length} model${models.length === 1 ? '' : 's'}: ${models.join(', ')} · made by resid-norms ${content.toolVersion}`)}</p>`,
    `<nav><ul>${['models', 'runs', 'fits'].map((id) => `<li><a href="#${id}">${id}</a></li>`).join('')}${names.map((name) => `<li><a href="#figure-${name}">${escapeHtml(name)}</a></li>`).join('')}</ul></nav>`,
    '<section id="models">',
    '<h2>Models</h2>',
    tableHtml(content.models),
    '</section>',
    '<section id="runs">',
    '<h2>Runs and prompt sets</h2>',
    tableHtml(content.runs, ['prompt-set sha256']),
    '</section>',
    '<section id="fits">',
    '<h2>Growth fits</h2>',
    '<p class="summary">Least-squares line of ln(statistic) on layer; growth = factor per layer; phases: piecewise fit, number of pieces by BIC.</p>',
    tableHtml(content.fits),
    ...(content.weightFits.rows.length === 0
      ? []
      : [
          '<h3>Writing weights</h3>',
          '<p class="summary">The same line fitted to the norm of each layer\'s weights (one value per layer, no prompts: the interval is the regression\'s).</p>',
          tableHtml(content.weightFits),
        ]),
    '</section>',
    ...(content.figures.some((entry) => entry.spec !== undefined) ? [`<p class="how">${escapeHtml(HOW_TO_READ)}</p>`] : []),
    ...figureSections(content.figures),
    ...runtime.map(({ name, version, code }) => `<script>/* ${name} ${version} */\n${code}\n</script>`),
    `<script>\n${BOOT_SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
