/**
 * SIGINT/SIGTERM for the long commands: the first one aborts the returned signal (the command
 * stops at its next safe point) and says what happens; a second one exits at once.
 */
import { ExitCode } from '../errors.js';
import type { Reporter } from '../messages/reporter.js';

export interface StopMessages {
  /** Said on the first signal: what the command does now. */
  first: (signal: NodeJS.Signals) => string;
  /** Written to stderr before exiting on the second signal; nothing when absent. */
  again?: (signal: NodeJS.Signals) => string;
}

/**
 * The first SIGINT/SIGTERM lets the batch in flight finish and be checkpointed; a second one
 * stops at once (the checkpoint still holds every finished batch). Shared with `sweep`.
 */
export const MEASURE_STOP_MESSAGES: StopMessages = {
  first: (name) => `${name}: finishing the current batch, then stopping (send it again to stop at once)`,
  again: (name) => `${name} again: stopping now; rerun the same command to resume`,
};

export function stopOnSignals(reporter: Reporter, messages: StopMessages): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      if (messages.again) reporter.warn(messages.again(name)); // through the reporter: on a line of its own, below any progress line
      process.exit(ExitCode.interrupted);
    }
    controller.abort(name); // the reason names the signal in the message of a run stopped before its work
    reporter.warn(messages.first(name));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
