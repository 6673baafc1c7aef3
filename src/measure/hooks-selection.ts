/**
 * `measure --hooks`, checked against the model's shape (config.json alone is enough, so a hook
 * the model does not have is refused before any weight is downloaded).
 */
import { availableHooks } from '../architectures/model-shape.js';
import type { ModelShape } from '../architectures/types.js';
import { UsageError } from '../errors.js';
import { HOOK_NAMES, type HookName } from '../vocabulary/hooks.js';

/** Requested hooks in hook order (all the model has when none are requested), or a UsageError naming the missing ones. */
export function chooseHooks(requested: readonly HookName[] | undefined, shape: Pick<ModelShape, 'architecture' | 'parallelResidual'>): HookName[] {
  const available = availableHooks(shape);
  if (requested === undefined) return available;
  const missing = requested.filter((hook) => !available.includes(hook));
  if (missing.length > 0) {
    const why = shape.parallelResidual && missing.includes('resid_mid') ? ' (parallel-residual blocks have no resid_mid)' : '';
    throw new UsageError(`--hooks ${missing.join(',')} not available for ${shape.architecture}${why}; available: ${available.join(', ')}`);
  }
  return HOOK_NAMES.filter((hook) => requested.includes(hook));
}
