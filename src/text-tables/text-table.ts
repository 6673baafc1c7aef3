/**
 * The one text-table layout of everything the commands print: a header and rows of cells, each
 * column padded to its widest cell (header included) and aligned left or right, columns two
 * spaces apart, no trailing spaces.
 */

export interface TextColumn {
  title: string;
  /** Numbers read best right-aligned; default left. */
  align?: 'left' | 'right';
  /** Fewest characters the column takes, however narrow its cells. */
  minWidth?: number;
  /** Most characters padding widens the column to; a longer cell overflows it. */
  maxWidth?: number;
}

export interface TextTableOptions {
  /** Put before every line, e.g. two spaces under a heading. */
  indent?: string;
  /** Print the titles as the first line (default true); the widths count them only then. */
  header?: boolean;
}

const GAP = '  ';

/** Header and rows → lines (without newlines). Every row has one cell per column. */
export function formatTextTable(columns: readonly TextColumn[], rows: ReadonlyArray<readonly string[]>, options: TextTableOptions = {}): string[] {
  const { indent = '', header = true } = options;
  const lines = header ? [columns.map((column) => column.title), ...rows] : rows;
  const cell = (cells: readonly string[], index: number): string => cells[index] ?? '';
  const widths = columns.map((column, index) => {
    const widest = lines.reduce((most, cells) => Math.max(most, cell(cells, index).length), 0); // no spread: a table may have any number of rows
    return Math.max(column.minWidth ?? 0, Math.min(column.maxWidth ?? Infinity, widest));
  });
  const pad = (text: string, index: number): string => {
    const width = widths[index] ?? 0;
    return columns[index]?.align === 'right' ? text.padStart(width) : text.padEnd(width);
  };
  return lines.map((cells) => `${indent}${columns.map((_, index) => pad(cell(cells, index), index)).join(GAP)}`.trimEnd());
}
