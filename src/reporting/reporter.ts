/**
 * Everything the tool says to a person goes through here, to stderr: info lines, warnings
 * and progress bars. Results go to files or stdout, never through the reporter.
 * Progress bars show only on a TTY and never with --quiet.
 */
export interface Progress {
  /** Advance by `amount` units (tokens, bytes, batches…). */
  tick(amount?: number): void;
  done(): void;
}

export interface Reporter {
  info(message: string): void;
  warn(message: string): void;
  progress(label: string, total: number, unit?: 'bytes' | 'items'): Progress;
}

const noProgress: Progress = { tick: () => undefined, done: () => undefined };

/** Where a person reads: stderr, or a test's capture of it. Progress bars need a TTY. */
export interface MessageStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ConsoleReporterOptions {
  quiet: boolean;
  stream?: MessageStream;
}

export function createConsoleReporter({ quiet, stream = process.stderr }: ConsoleReporterOptions): Reporter {
  const showProgress = !quiet && stream.isTTY === true;
  return {
    info: (message) => {
      if (!quiet) stream.write(`${message}\n`);
    },
    warn: (message) => {
      stream.write(`warning: ${message}\n`);
    },
    progress: (label, total, unit = 'items') =>
      showProgress ? createProgressBar(stream, label, total, unit) : noProgress,
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

function createProgressBar(stream: MessageStream, label: string, total: number, unit: 'bytes' | 'items'): Progress {
  const width = 24;
  const startedAt = Date.now();
  let current = 0;
  let lastDrawAt = 0;
  const draw = (force: boolean): void => {
    const now = Date.now();
    if (!force && now - lastDrawAt < 100) return; // at most 10 redraws a second
    lastDrawAt = now;
    const fraction = total > 0 ? Math.min(1, current / total) : 0;
    const filled = Math.round(fraction * width);
    const elapsed = (now - startedAt) / 1000;
    const rate = elapsed > 0 ? current / elapsed : 0;
    const eta = rate > 0 && total > current ? ` eta ${Math.ceil((total - current) / rate)}s` : '';
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    stream.write(`\r${label} ${bar} ${formatAmount(current, unit)}/${formatAmount(total, unit)}${eta}\x1b[K`);
  };
  return {
    tick: (amount = 1) => {
      current += amount;
      draw(false);
    },
    done: () => {
      draw(true);
      stream.write('\n');
    },
  };
}
