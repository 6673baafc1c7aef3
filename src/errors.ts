/**
 * Typed errors. Every failure a user can cause or meet is one of these: it carries the exit
 * code and a one-line message naming the bad value and what would be valid. Only the CLI
 * (src/cli/) prints them and exits.
 */

/** Exit codes, one per kind of failure, so scripts can tell them apart. */
export const ExitCode = {
  ok: 0,
  /** A check the user asked for failed (e.g. `fit --expect`). */
  expectationFailed: 1,
  /** Bad command-line flag or value. */
  usage: 2,
  /** A file given to the tool (prompts, results) is missing or malformed. */
  badInput: 3,
  /** The model cannot be resolved, read or run (missing files, unsupported architecture…). */
  badModel: 4,
  /** The Hugging Face Hub could not be reached or refused the request. */
  network: 5,
  /** The forward pass produced NaN or Inf. */
  numerical: 6,
  /** `sweep`: some members failed or are missing (each named); the others were measured. */
  partial: 7,
  /** Interrupted by a signal; the run can be resumed. */
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class ResidNormsError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class UsageError extends ResidNormsError {
  constructor(message: string) {
    super(message, ExitCode.usage);
  }
}

export class InputError extends ResidNormsError {
  constructor(message: string) {
    super(message, ExitCode.badInput);
  }
}

export class ModelError extends ResidNormsError {
  constructor(message: string) {
    super(message, ExitCode.badModel);
  }
}

export class NetworkError extends ResidNormsError {
  constructor(message: string) {
    super(message, ExitCode.network);
  }
}

export class NumericalError extends ResidNormsError {
  constructor(message: string) {
    super(message, ExitCode.numerical);
  }
}

export class ExpectationError extends ResidNormsError {
  constructor(message: string) {
    super(message, ExitCode.expectationFailed);
  }
}

export class PartialError extends ResidNormsError {
  constructor(message: string) {
    super(message, ExitCode.partial);
  }
}

export class InterruptedError extends ResidNormsError {
  constructor(message: string) {
    super(message, ExitCode.interrupted);
  }
}

/**
 * Collects several problems of one kind and throws them as one error, so a user fixes
 * everything in one go instead of one message per run.
 */
export class ProblemList {
  private readonly problems: string[] = [];

  add(problem: string): void {
    this.problems.push(problem);
  }

  get count(): number {
    return this.problems.length;
  }

  /** The first three problems on one line (and how many more), or undefined when there is none. */
  summary(): string | undefined {
    if (this.problems.length === 0) return undefined;
    const shown = this.problems.slice(0, 3).join('; ');
    const more = this.problems.length > 3 ? ` (and ${this.problems.length - 3} more)` : '';
    return shown + more;
  }

  throwIfAny(makeError: (message: string) => ResidNormsError): void {
    const message = this.summary();
    if (message !== undefined) throw makeError(message);
  }
}

/** JSON of a value for a message; a value too deep or odd to stringify is named by its type instead of crashing the message. */
function stringifyShallow(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Array.isArray(value) ? '[a nested list]' : typeof value === 'object' ? '{a nested object}' : String(value);
  }
}

/**
 * Show a user-supplied value in a message: strings quoted, other values as JSON, shortened so
 * one message stays one line.
 */
export function quote(value: unknown, maxLength = 200): string {
  const isString = typeof value === 'string';
  const text = isString ? value : stringifyShallow(value);
  const oneLine = text.replace(/\s+/g, ' ');
  const shortened = oneLine.length > maxLength ? `${oneLine.slice(0, maxLength - 1)}…` : oneLine;
  return isString ? JSON.stringify(shortened) : shortened;
}
