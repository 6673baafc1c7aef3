/**
 * Everything the tool says to a person goes through here, to stderr: info lines, warnings
 * and progress bars. Results go to files or stdout, never through the reporter.
 * Progress bars show only on a TTY and never with --quiet.
 */
export interface Progress {
  /** Advance by `amount` units (tokens, bytes, batches…). */
  tick(amount?: number): void;
  /** Count `amount` units done before this run (a resumed run's saved batches): on the bar, not in the rate. */
  carry?(amount: number): void;
  /** Say where the work is (e.g. "chunk 2/5, block 14/32"), after the label; replaces the last note. */
  note?(text: string): void;
  done(): void;
}

export interface Reporter {
  info(message: string): void;
  warn(message: string): void;
  progress(label: string, total: number, unit?: 'bytes' | 'items'): Progress;
}

const noProgress: Progress = { tick: () => undefined, carry: () => undefined, note: () => undefined, done: () => undefined };

/** Where a person reads: stderr, or a test's capture of it. Progress bars need a TTY; `columns` is its width. */
export interface MessageStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ConsoleReporterOptions {
  quiet: boolean;
  stream?: MessageStream;
}

/**
 * Messages and progress on one stream. A progress line is redrawn in place (carriage return,
 * erase to the end of the line), never wider than the terminal, so it cannot wrap into a new line
 * at every redraw; a message while it shows first erases it, takes its own line, then the
 * progress line is drawn again below it.
 */
export function createConsoleReporter({ quiet, stream = process.stderr }: ConsoleReporterOptions): Reporter {
  const showProgress = !quiet && stream.isTTY === true;
  let active: ProgressLine | undefined;
  const say = (text: string): void => {
    if (active?.drawn) stream.write(`\r${ERASE_LINE}`);
    stream.write(`${text}\n`);
    active?.redraw();
  };
  return {
    info: (message) => {
      if (!quiet) say(message);
    },
    warn: (message) => say(`warning: ${message}`),
    progress: (label, total, unit = 'items') => {
      if (!showProgress) return noProgress;
      const line = createProgressLine(stream, label, total, unit);
      active = line;
      return {
        tick: (amount) => line.tick(amount),
        carry: (amount) => line.carry(amount),
        note: (text) => line.note(text),
        done: () => {
          line.done();
          if (active === line) active = undefined;
        },
      };
    },
  };
}

/** A reporter that records what it was told; for tests and library use. */
export function createSilentReporter(): Reporter & { messages: string[]; warnings: string[] } {
  const messages: string[] = [];
  const warnings: string[] = [];
  return {
    messages,
    warnings,
    info: (message) => void messages.push(message),
    warn: (message) => void warnings.push(message),
    progress: () => noProgress,
  };
}

const ERASE_LINE = '\x1b[K';

function formatAmount(value: number, unit: 'bytes' | 'items'): string {
  if (unit === 'items') return String(value);
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let scaled = value;
  let index = 0;
  while (scaled >= 1000 && index < units.length - 1) {
    scaled /= 1000;
    index += 1;
  }
  return `${scaled.toFixed(index === 0 ? 0 : 1)} ${units[index]}`;
}

/** Terminal columns a string takes: one per code point (the bar, digits and labels are all narrow). */
const columnsOf = (text: string): number => [...text].length;

/** `text` cut to `columns`, with an ellipsis where it was cut. */
function fitText(text: string, columns: number): string {
  const points = [...text];
  if (points.length <= columns) return text;
  return columns <= 1 ? points.slice(0, Math.max(0, columns)).join('') : `${points.slice(0, columns - 1).join('')}…`;
}

const BAR_WIDTH = 24;
const MIN_BAR_WIDTH = 8;
/** Used when the stream does not say how wide it is. */
const DEFAULT_COLUMNS = 80;

/**
 * One progress line in `columns` − 1 columns (the last column is left free: some terminals wrap
 * a line that fills it). What gives way first: the bar narrows to MIN_BAR_WIDTH, then goes, then
 * the label is cut; the counts and the eta stay.
 */
export function formatProgressLine(
  label: string,
  current: number,
  total: number,
  unit: 'bytes' | 'items',
  etaSeconds: number | undefined,
  columns: number,
): string {
  const room = Math.max(1, columns - 1);
  const fraction = total > 0 ? Math.min(1, current / total) : 0;
  const counts = `${formatAmount(current, unit)}/${formatAmount(total, unit)}${etaSeconds !== undefined ? ` eta ${etaSeconds}s` : ''}`;
  const bar = (width: number) => {
    const filled = Math.round(fraction * width);
    return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
  };
  const fixed = columnsOf(label) + columnsOf(counts) + 2;
  const barWidth = Math.min(BAR_WIDTH, room - fixed);
  if (barWidth >= MIN_BAR_WIDTH) return `${label} ${bar(barWidth)} ${counts}`;
  return fitText(`${fitText(label, Math.max(1, room - columnsOf(counts) - 1))} ${counts}`, room);
}

interface ProgressLine extends Required<Progress> {
  /** Whether the line is on the screen now (drawn, not yet done). */
  readonly drawn: boolean;
  redraw(): void;
}

function createProgressLine(stream: MessageStream, label: string, total: number, unit: 'bytes' | 'items'): ProgressLine {
  const startedAt = Date.now();
  /** Units done before this run (a resumed run's saved batches): not part of the rate. */
  let carried = 0;
  let current = 0;
  let lastDrawAt = 0;
  let drawn = false;
  let finished = false;
  let note = '';
  const draw = (force: boolean): void => {
    const now = Date.now();
    if (!force && now - lastDrawAt < 100) return; // at most 10 redraws a second
    lastDrawAt = now;
    const elapsed = (now - startedAt) / 1000;
    const rate = elapsed > 0 ? (current - carried) / elapsed : 0;
    const eta = rate > 0 && total > current ? Math.ceil((total - current) / rate) : undefined;
    stream.write(
      `\r${formatProgressLine(note === '' ? label : `${label}, ${note}`, current, total, unit, eta, stream.columns ?? DEFAULT_COLUMNS)}${ERASE_LINE}`,
    );
    drawn = true;
  };
  return {
    get drawn() {
      return drawn;
    },
    redraw: () => {
      if (drawn && !finished) draw(true);
    },
    tick: (amount = 1) => {
      current += amount;
      draw(false);
    },
    carry: (amount) => {
      carried += amount;
      current += amount;
      draw(false);
    },
    note: (text) => {
      note = text;
      draw(false);
    },
    done: () => {
      if (finished) return;
      draw(true);
      finished = true;
      stream.write('\n');
    },
  };
}
