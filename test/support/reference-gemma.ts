/**
 * Independent forward passes of Gemma, Gemma 2 and Gemma 3 (text) (see reference-ops.ts), written
 * from transformers' modeling_gemma.py / modeling_gemma2.py / modeling_gemma3.py and their
 * configuration classes, in float64: GemmaRMSNorm x / √(mean(x²) + eps) · (1 + w); the embeddings times the normalizer
 * torch.tensor(√hidden_size, float32); rotary over whole heads; grouped-query attention scaled by
 * head_dim^−½ (Gemma) or query_pre_attn_scalar^−½ (Gemma 2), Gemma 2's scores soft-capped
 * before the mask and its sliding window on the layers layer_types names (by default every layer
 * i with (i + 1) % 2 true); GeGLU with the tanh GELU (Gemma 1 whatever hidden_act says, as the
 * models were trained); Gemma 2's post_attention_layernorm and post_feedforward_layernorm on each
 * sub-block's output before the residual add. The hooks follow TransformerLens: attn_out and
 * mlp_out are what is added to the residual stream. Gemma 3 is Gemma 2's block with, before
 * rotary, Gemma3RMSNorm (1 + w) over each head's head_dim features of the queries (q_norm) and
 * keys (k_norm); sliding layers (layer_types, else all but every sliding_window_pattern-th)
 * rotate with rope_local_base_freq unscaled, the others with rope_theta and rope_scaling; its
 * soft-caps default to none.
 */
import { referenceRope, type ReferenceRope } from './reference-rope.js';
import {
  add,
  applyRotary,
  causalAttention,
  emptyHookNorms,
  linear,
  mapValues,
  recordNorms,
  tiesWordEmbeddings,
  unembed,
  type BlockTrace,
  type HookNorms,
  type ReferenceHead,
  type Vectors,
  gatedMlp,
} from './reference-ops.js';

type Config = Record<string, unknown>;

/** GemmaRMSNorm: the stored weight w is applied as 1 + w. */
export function gemmaRmsNorm(x: Vectors, weight: Float32Array, eps: number): Vectors {
  return x.map((row) => {
    const meanSquare = row.reduce((a, b) => a + b * b, 0) / row.length;
    const inv = 1 / Math.sqrt(meanSquare + eps);
    return row.map((v, i) => v * inv * (1 + weight[i]!));
  });
}

/** A config value with transformers' default when the key is absent (null kept: "none"). */
function setting<T>(config: Config, key: string, fallback: T | null): T | null {
  return key in config ? (config[key] as T | null) : fallback;
}

/** Gemma2Config / Gemma3TextConfig: layer_types, else "sliding_attention" where (i + 1) % pattern (2; Gemma 3: sliding_window_pattern, 6), "full_attention" elsewhere. */
function layerTypes(config: Config, nLayers: number): string[] {
  if (config.model_type === 'gemma') return new Array<string>(nLayers).fill('full_attention');
  const pattern = config.model_type === 'gemma3_text' ? ((config.sliding_window_pattern as number | undefined) ?? 6) : 2;
  return (
    (config.layer_types as string[] | undefined) ?? Array.from({ length: nLayers }, (_, i) => ((i + 1) % pattern ? 'sliding_attention' : 'full_attention'))
  );
}

/**
 * Gemma 3's two rotary embeddings: Gemma3TextModel's global one from rope_theta (1e6) and
 * rope_scaling, its local one from rope_local_base_freq (10000) with rope_type default; or, in
 * transformers 5's configs, rope_parameters keyed by layer type.
 */
function gemma3Ropes(config: Config, dHead: number): { full: ReferenceRope; sliding: ReferenceRope } {
  const keyed = config.rope_parameters as Record<string, Record<string, unknown>> | undefined;
  if (keyed?.full_attention !== undefined || keyed?.sliding_attention !== undefined) {
    const of = (dict: Record<string, unknown> | undefined, theta: number) => referenceRope({ rope_scaling: { rope_theta: theta, ...dict } }, dHead, 'llama');
    return { full: of(keyed.full_attention, 1e6), sliding: of(keyed.sliding_attention, 1e4) };
  }
  return {
    full: referenceRope({ ...config, rope_theta: (config.rope_theta as number | undefined) ?? 1e6 }, dHead, 'llama'),
    sliding: referenceRope({ rope_theta: (config.rope_local_base_freq as number | undefined) ?? 1e4 }, dHead, 'llama'),
  };
}

/** RMSNorm (1 + w) of each head's dHead features of x [pos][heads·dHead] (Gemma3RMSNorm on [.., head_dim]). */
function gemmaRmsNormPerHead(x: Vectors, heads: number, dHead: number, weight: Float32Array, eps: number): Vectors {
  return x.map((row) =>
    Float64Array.from({ length: heads * dHead }, (_, i) => {
      const head = Math.floor(i / dHead);
      const part = row.subarray(head * dHead, (head + 1) * dHead);
      return (row[i]! / Math.sqrt(part.reduce((a, b) => a + b * b, 0) / dHead + eps)) * (1 + weight[i % dHead]!);
    }),
  );
}

export function referenceGemma(weights: Map<string, Float32Array>, config: Config, ids: number[], trace?: BlockTrace[]): HookNorms {
  const gemma3 = config.model_type === 'gemma3_text';
  const gemma2 = config.model_type === 'gemma2' || gemma3;
  const d = config.hidden_size as number;
  const nHeads = config.num_attention_heads as number;
  const nKvHeads = (config.num_key_value_heads as number | undefined) ?? nHeads;
  const dHead = (config.head_dim as number | undefined) ?? 256;
  const dMlp = config.intermediate_size as number;
  const eps = (config.rms_norm_eps as number | undefined) ?? 1e-6;
  const act = (config.hidden_activation as string | null | undefined) ?? 'gelu_pytorch_tanh';
  const nLayers = config.num_hidden_layers as number;
  const base = (config.rope_theta as number | undefined) ?? 10000;
  const scaling = gemma2 ? ((config.query_pre_attn_scalar as number | undefined) ?? 256) ** -0.5 : dHead ** -0.5;
  const softCap = gemma2 ? (setting<number>(config, 'attn_logit_softcapping', gemma3 ? null : 50) ?? undefined) : undefined;
  const types = layerTypes(config, nLayers);
  const window = setting<number>(config, 'sliding_window', 4096) ?? undefined;
  const windows = types.map((type) => (type === 'sliding_attention' ? window : undefined));
  const ropes = gemma3 ? gemma3Ropes(config, dHead) : undefined;
  const w = (name: string) => {
    const value = weights.get(name);
    if (!value) throw new Error(`reference: missing ${name}`);
    return value;
  };
  const project = (x: Vectors, name: string, dOut: number) => linear(x, w(`${name}.weight`), 'out_in', dOut, weights.get(`${name}.bias`));
  const result = emptyHookNorms();
  const embed = w('embed_tokens.weight');
  const normalizer = Math.fround(Math.sqrt(d)); // torch.tensor(hidden_size ** 0.5, dtype=float32)
  let x: Vectors = ids.map((id) => Float64Array.from(embed.subarray(id * d, (id + 1) * d), (v) => v * normalizer));
  for (let layer = 0; layer < nLayers; layer += 1) {
    const p = `layers.${layer}`;
    recordNorms(result, 'resid_pre', x);
    const residPre = x;
    const pattern: number[][][] = [];
    const h = gemmaRmsNorm(x, w(`${p}.input_layernorm.weight`), eps);
    let qStates = project(h, `${p}.self_attn.q_proj`, nHeads * dHead);
    let kStates = project(h, `${p}.self_attn.k_proj`, nKvHeads * dHead);
    if (gemma3) {
      qStates = gemmaRmsNormPerHead(qStates, nHeads, dHead, w(`${p}.self_attn.q_norm.weight`), eps);
      kStates = gemmaRmsNormPerHead(kStates, nKvHeads, dHead, w(`${p}.self_attn.k_norm.weight`), eps);
    }
    const rope = ropes?.[types[layer] === 'sliding_attention' ? 'sliding' : 'full'];
    const q = rope ? applyRotary(qStates, nHeads, dHead, rope.rotaryDims, rope.base, rope.frequencies) : applyRotary(qStates, nHeads, dHead, dHead, base);
    const k = rope ? applyRotary(kStates, nKvHeads, dHead, rope.rotaryDims, rope.base, rope.frequencies) : applyRotary(kStates, nKvHeads, dHead, dHead, base);
    const v = project(h, `${p}.self_attn.v_proj`, nKvHeads * dHead);
    const window = windows[layer];
    const options = { nHeads, nKvHeads, dHead, scale: scaling, ...(window !== undefined ? { window } : {}), ...(softCap !== undefined ? { softCap } : {}) };
    const z = causalAttention(q, k, v, { ...options, pattern });
    // TransformerLens's processed values: rms(x)·diag(1 + w)·W_V, b_V (attention_bias) folded away.
    const zFolded = causalAttention(q, k, linear(h, w(`${p}.self_attn.v_proj.weight`), 'out_in', nKvHeads * dHead), options);
    const attention = project(z, `${p}.self_attn.o_proj`, d);
    const attnOut = gemma2 ? gemmaRmsNorm(attention, w(`${p}.post_attention_layernorm.weight`), eps) : attention;
    recordNorms(result, 'attn_out', attnOut);
    const mid = add(x, attnOut);
    recordNorms(result, 'resid_mid', mid);
    const h2 = gemmaRmsNorm(mid, w(`${p}.${gemma2 ? 'pre_feedforward_layernorm' : 'post_attention_layernorm'}.weight`), eps);
    const mlp = gatedMlp(h2, project, `${p}.mlp`, dMlp, d, act);
    const mlpOut = gemma2 ? gemmaRmsNorm(mlp, w(`${p}.post_feedforward_layernorm.weight`), eps) : mlp;
    recordNorms(result, 'mlp_out', mlpOut);
    x = add(mid, mlpOut);
    recordNorms(result, 'resid_post', x);
    trace?.push({
      residPre,
      attnOut,
      residMid: mid,
      mlpOut,
      residPost: x,
      pattern,
      z,
      zFolded,
      outWeight: w(`${p}.self_attn.o_proj.weight`),
      outLayout: 'out_in',
    });
  }
  return result;
}

/**
 * GemmaForCausalLM's / Gemma2ForCausalLM's head: model.norm (1 + w), then the unscaled tied
 * embedding (or lm_head when untied), Gemma 2's logits soft-capped by final_logit_softcapping.
 */
export function referenceGemmaHead(weights: Map<string, Float32Array>, config: Config): ReferenceHead {
  const eps = (config.rms_norm_eps as number | undefined) ?? 1e-6;
  const head = tiesWordEmbeddings(config, true) ? undefined : weights.get('lm_head.weight');
  const unembedding = head ?? weights.get('embed_tokens.weight')!;
  const cap =
    config.model_type === 'gemma2'
      ? (setting<number>(config, 'final_logit_softcapping', 30) ?? undefined)
      : config.model_type === 'gemma3_text'
        ? (setting<number>(config, 'final_logit_softcapping', null) ?? undefined)
        : undefined;
  return (x) => {
    const logits = unembed(gemmaRmsNorm(x, weights.get('norm.weight')!, eps), unembedding);
    return cap === undefined ? logits : mapValues(logits, (value) => cap * Math.tanh(value / cap));
  };
}
