/**
 * Hook points and the names of the graph outputs that carry their per-token norms.
 * Names follow TransformerLens: `blocks.{layer}.hook_{hook}`, plus `:raw` or `:centered`.
 */
import type { HookName, NormMetric } from '../vocabulary/hooks.js';

export function hookOutputName(layer: number, hook: HookName, metric: NormMetric): string {
  return `blocks.${layer}.hook_${hook}:${metric}`;
}
