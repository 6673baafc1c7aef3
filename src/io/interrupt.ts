/**
 * Honouring SIGINT/SIGTERM in the phases before the first batch (resolving, downloading,
 * reading the model, tokenizing, building the graph): the CLI aborts the run's AbortSignal with
 * the signal's name, and each phase boundary stops the run with an InterruptedError (exit 130)
 * instead of carrying on until the batches start.
 */
import { InterruptedError } from '../errors.js';

/** The name the run was stopped with (SIGINT, SIGTERM), or "interrupted". */
export function stopReason(signal: AbortSignal): string {
  return typeof signal.reason === 'string' ? signal.reason : 'interrupted';
}

/** Throw an InterruptedError if the run was asked to stop; `phase` says where it stopped. */
export function stopIfInterrupted(signal: AbortSignal | undefined, phase: string): void {
  if (signal?.aborted) {
    throw new InterruptedError(`${stopReason(signal)} ${phase}, before any batch ran; nothing was measured or saved: run the same command again`);
  }
}
