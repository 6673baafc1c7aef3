/**
 * Inverse frequencies of rotary embeddings: θ_i = base^(−2i/rotaryDims) for i < rotaryDims/2,
 * then rescaled by the RoPE variant (Hugging Face's ROPE_INIT_FUNCTIONS, 'default', 'linear',
 * 'llama3' and 'longrope' in its short regime). Angle of feature pair i at position p = p·θ_i.
 */
import type { RotarySpec } from '../architectures/types.js';

export function rotaryInverseFrequencies({ rotaryDims, base, scaling }: RotarySpec): number[] {
  const frequencies = Array.from({ length: rotaryDims / 2 }, (_, i) => base ** ((-2 * i) / rotaryDims));
  if (scaling === undefined) return frequencies;
  if (scaling.kind === 'linear') return frequencies.map((f) => f / scaling.factor);
  if (scaling.kind === 'longrope') return frequencies.map((f, i) => f / scaling.shortFactors[i]!);
  // llama3: wavelengths longer than originalContext/lowFreqFactor are divided by factor, those
  // shorter than originalContext/highFreqFactor kept, and the ones between interpolated.
  const { factor, lowFreqFactor, highFreqFactor, originalContext } = scaling;
  const longest = originalContext / lowFreqFactor;
  const shortest = originalContext / highFreqFactor;
  return frequencies.map((f) => {
    const wavelength = (2 * Math.PI) / f;
    if (wavelength > longest) return f / factor;
    if (wavelength < shortest) return f;
    const smooth = (originalContext / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}

/** What cos and sin are multiplied by (transformers' attention_scaling): LongRoPE's attention factor, else 1. */
export function rotaryAmplitude({ scaling }: RotarySpec): number {
  return scaling?.kind === 'longrope' ? scaling.attentionFactor : 1;
}
