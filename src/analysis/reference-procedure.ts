/**
 * The reference analysis's headline procedure ("×1.045 per layer, layers 5–41" for GPT2-XL):
 * the mean centered norm of resid_post over tokens (BOS and padding left out), and the line
 * through its values at layers 5 and 41 of 48, drawn "by eye" in its notebook — no regression.
 * `fit --like-reference` applies it; other depths get the same relative range.
 */
import type { FitMethod, LayerStatistic } from '../results/fit-schema.js';
import type { HookName, NormMetric } from '../vocabulary/hooks.js';

export const REFERENCE_PROCEDURE = {
  hook: 'resid_post' as HookName,
  metric: 'centered' as NormMetric,
  stat: 'mean' as LayerStatistic,
  method: 'endpoints' as FitMethod,
  /** GPT2-XL's range: layers 5 and 41 of 48. */
  fromLayer: 5,
  toLayer: 41,
  nLayers: 48,
} as const;

/** The reference's range scaled to a model of `nLayers` layers: 5:41 for 48, 1:10 for 12. */
export function referenceLayers(nLayers: number): { fromLayer: number; toLayer: number } {
  const { fromLayer, toLayer, nLayers: depth } = REFERENCE_PROCEDURE;
  const from = Math.round((fromLayer * nLayers) / depth);
  const to = Math.min(nLayers - 1, Math.round((toLayer * nLayers) / depth));
  return { fromLayer: from, toLayer: Math.max(to, Math.min(nLayers - 1, from + 2)) };
}
