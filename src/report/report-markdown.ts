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

export function renderReportMarkdown(content: ReportContent): string {
  const drawn = content.figures.filter((entry) => entry.svg !== undefined);
  const notDrawn = content.figures.filter((entry) => entry.svg === undefined);
  const name = (entry: (typeof content.figures)[number]): string => `${entry.figure}${entry.subject === undefined ? '' : ` (${entry.subject})`}`;
  return [
    '## Residual stream norms',
    '',
    `Made by resid-norms ${content.toolVersion}. Figures: ${drawn.length} drawn, interactive in index.html beside this file and as SVG files in figures/.`,
    '',
    '### Growth fits',
    '',
    tableMarkdown(content.fits),
    '',
    ...(content.weightFits.rows.length === 0 ? [] : ['### Growth of the writing weights', '', tableMarkdown(content.weightFits), '']),
    '### Models',
    '',
    tableMarkdown(content.models),
    '',
    '### Runs and prompt sets',
    '',
    tableMarkdown(content.runs),
    '',
    ...(drawn.length === 0 ? [] : ['### Figures', '', ...drawn.map((entry) => `- [${cell(name(entry)).replace(/[[\]]/g, '\\$&')}](${figureFile(entry)}): ${cell(entry.summary)}`), '']),
    ...(notDrawn.length === 0 ? [] : ['### Figures not drawn', '', ...notDrawn.map((entry) => `- ${cell(name(entry))}: ${cell(entry.reason ?? '')}`), '']),
  ].join('\n');
}
