/**
 * Rotary settings of a Hugging Face config for the reference forward passes, written from
 * transformers' configuration classes and modeling_rope_utils (default, linear and llama3
 * RoPE), independently of src/architectures/rope-config.ts and src/graph/rotary.ts.
 */
export interface ReferenceRope {
  rotaryDims: number;
  base: number;
  /** Angle per position of each rotated feature pair. */
  frequencies: number[];
}

export function referenceRope(config: Record<string, unknown>, dHead: number, family: 'gpt_neox' | 'llama'): ReferenceRope {
  const rope = (config.rope_scaling ?? config.rope_parameters ?? {}) as Record<string, number | string | undefined>;
  const base = (rope.rope_theta ?? (family === 'gpt_neox' ? config.rotary_emb_base : config.rope_theta) ?? 10000) as number;
  const fraction = (rope.partial_rotary_factor ?? (family === 'gpt_neox' ? (config.rotary_pct ?? 0.25) : 1)) as number;
  const rotaryDims = Math.trunc(dHead * fraction);
  const plain: number[] = [];
  for (let i = 0; i < rotaryDims; i += 2) plain.push(1 / base ** (i / rotaryDims));
  const type = rope.rope_type ?? rope.type ?? 'default';
  let frequencies: number[];
  if (type === 'default') {
    frequencies = plain;
  } else if (type === 'linear') {
    frequencies = plain.map((f) => f / (rope.factor as number));
  } else if (type === 'llama3') {
    const factor = rope.factor as number;
    const low = rope.low_freq_factor as number;
    const high = rope.high_freq_factor as number;
    const oldContext = (rope.original_max_position_embeddings ?? config.max_position_embeddings) as number;
    frequencies = plain.map((f) => {
      const wavelength = (2 * Math.PI) / f;
      const scaled = wavelength > oldContext / low ? f / factor : f;
      const isMedium = !(wavelength < oldContext / high) && !(wavelength > oldContext / low);
      if (!isMedium) return scaled;
      const smooth = (oldContext / wavelength - low) / (high - low);
      return ((1 - smooth) * scaled) / factor + smooth * scaled;
    });
  } else {
    throw new Error(`reference: rope type ${String(type)} not implemented`);
  }
  return { rotaryDims, base, frequencies };
}
