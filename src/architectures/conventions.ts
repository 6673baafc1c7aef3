/**
 * The one place that decides, from a model's norms, how TransformerLens processes it by default
 * and so which norm the reference analysis's "norm" is: centered for LayerNorm models
 * (center_writing_weights makes every residual vector mean-zero), raw for RMSNorm ones (not
 * centered). measure, mechanisms and weights read the result from the description
 * (ModelShape.convention); none of them decides it again.
 */
import type { NormConvention, NormKind, NormPlacement } from './types.js';

export interface ConventionOptions {
  /** How the model applies its norms' gain, as a formula of the stored w (Gemma: '(1 + w)'). */
  gain?: string;
  /** The norms have neither gain nor bias (OLMo's LayerNorm): nothing to fold. */
  parameterFree?: boolean;
}

export function transformerLensConvention(kind: NormKind, placement: NormPlacement, options: ConventionOptions = {}): NormConvention {
  const layerNorm = kind === 'layernorm';
  const gain = options.gain ?? 'w';
  const free = options.parameterFree === true;
  const formula = free
    ? `${layerNorm ? 'LayerNorm (x − mean(x)) / √(var(x) + eps), population variance' : 'RMSNorm x / √(mean(x²) + eps)'}, without weight or bias`
    : layerNorm
      ? `LayerNorm (x − mean(x)) / √(var(x) + eps) · ${gain} + b, population variance`
      : `RMSNorm x / √(mean(x²) + eps) · ${gain} (no centering)`;
  const before =
    placement === 'post'
      ? 'no norm before the MLP and W_V (they read the residual stream as it is)'
      : layerNorm && !free
        ? `each block's own ${formula}, before the MLP (ln2) and before W_V (ln1, without b, which TransformerLens folds into b_O)`
        : `each block's own ${formula}, before the MLP and before W_V`;
  const after =
    placement === 'pre'
      ? ''
      : `; the MLP's output and Σ_h W_OV^h x then through the block's own post-sublayer ${formula}, as the block adds them to the residual stream`;
  const gains = gain === 'w' ? '' : ` (${gain}, as the model applies them)`;
  const folded = layerNorm
    ? `${free ? 'reading weights centered (the LayerNorms have no gain or bias to fold)' : 'LayerNorm folded into the weights that read it'}, writing weights centered, value biases folded into b_O`
    : `RMSNorm gains${gains} folded into the weights that read them, value biases folded into b_O; nothing centered (RMSNorm outputs are not mean-zero)`;
  return {
    metric: layerNorm ? 'centered' : 'raw',
    reason: layerNorm
      ? 'LayerNorm model: TransformerLens centers the writing weights (center_writing_weights), so the reference analysis measures the centered norm'
      : 'RMSNorm model: TransformerLens does not center it, so the raw norm is the comparable one',
    mechanismsReason: layerNorm
      ? 'TransformerLens centers the writing weights of LayerNorm models, so its norms of what blocks write are centered ones'
      : 'TransformerLens does not center RMSNorm models, so the raw norm is the comparable one',
    mechanismsNormalization: before + after,
    weightProcessing: {
      foldNormGains: true,
      foldNormBiases: layerNorm,
      centerReadingWeights: layerNorm,
      centerWritingWeights: layerNorm,
      foldValueBiases: true,
    },
    weightsReason: `TransformerLens processes weights this way by default (${folded}), so the reference analysis's weight norms are the processed ones`,
  };
}
