/**
 * The report as Markdown for a CI job summary (e.g. GitHub's $GITHUB_STEP_SUMMARY): the tables
 * and the figures as links to their SVG files beside it (a job summary cannot show local
 * images; the files and the interactive index.html travel in the report artifact).
 */
import { figureFile, type ReportContent, type Table } from './report-content.js';

/** A table cell: one line; pipes escaped, and angle brackets, which Markdown would take for HTML. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\s+/g, ' ');
}

function tableMarkdown(table: Table): string {
  if (table.rows.length === 0) return '_none_';
  const line = (cells: readonly string[]): string => `| ${cells.map(cell).join(' | ')} |`;
  return [line(table.header), line(table.header.map(() => '---')), ...table.rows.map(line)].join('\n');
}

/** The headline first, then the figures and fits, metadata (models, runs) last; empty sections left out. */
export function renderReportMarkdown(content: ReportContent): string {
  const drawn = content.figures.filter((entry) => entry.svg !== undefined);
  const notDrawn = content.figures.filter((entry) => entry.svg === undefined);
  const name = (entry: (typeof content.figures)[number]): string => `${entry.figure}${entry.subject === undefined ? '' : ` (${entry.subject})`}`;
  const section = (title: string, table: Table): string[] => (table.rows.length === 0 ? [] : [`### ${title}`, '', tableMarkdown(table), '']);
  return [
    '## Residual stream norms',
    '',
    ...(content.headline.length === 0 ? [] : [...content.headline.map((line) => `- **${cell(line)}**`), '']),
    `Made by resid-norms ${content.toolVersion}. Figures: ${drawn.length} drawn, interactive in index.html beside this file and as SVG files in figures/.`,
    '',
    ...(drawn.length === 0
      ? []
      : ['### Figures', '', ...drawn.map((entry) => `- [${cell(name(entry)).replace(/[[\]]/g, '\\$&')}](${figureFile(entry)}): ${cell(entry.summary)}`), '']),
    ...section('Growth fits', content.fits),
    ...section('Growth of the writing weights', content.weightFits),
    ...(notDrawn.length === 0 ? [] : ['### Figures not drawn', '', ...notDrawn.map((entry) => `- ${cell(name(entry))}: ${cell(entry.reason ?? '')}`), '']),
    ...section('Models', content.models),
    ...section('Runs and prompt sets', content.runs),
  ].join('\n');
}
