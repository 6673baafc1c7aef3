/**
 * Independent forward pass of Qwen3 (see reference-ops.ts), from transformers' modeling_qwen3 /
 * configuration_qwen3 in float64: Qwen3RMSNorm x / √(mean(x²) + eps) · w before attention and
 * the MLP; q_proj, k_proj, v_proj (biases only with attention_bias); then q_norm and k_norm, each
 * an RMSNorm over one head's head_dim features with a gain of [head_dim] shared by the heads,
 * before rotary over whole heads; grouped-query attention scaled by head_dim^−½ with Qwen3Config's
 * sliding windows (only with use_sliding_window: layer_types, else the layers from
 * max_window_layers on); o_proj; SwiGLU MLP with hidden_act. Returns every hook's norms.
 */
import {
  add,
  applyRotary,
  causalAttention,
  emptyHookNorms,
  linear,
  recordNorms,
  rmsNorm,
  tiesWordEmbeddings,
  unembed,
  type BlockTrace,
  type HookNorms,
  type ReferenceHead,
  type Vectors,
  gatedMlp,
} from './reference-ops.js';
import { referenceRope } from './reference-rope.js';

type Config = Record<string, unknown>;

/** RMSNorm of each head's dHead features of x [pos][heads·dHead], with one gain of [dHead]. */
export function rmsNormPerHead(x: Vectors, heads: number, dHead: number, weight: Float32Array, eps: number): Vectors {
  return x.map((row) => {
    const out = new Float64Array(row.length);
    for (let head = 0; head < heads; head += 1) {
      const part = row.subarray(head * dHead, (head + 1) * dHead);
      const inv = 1 / Math.sqrt(part.reduce((a, b) => a + b * b, 0) / dHead + eps);
      for (let i = 0; i < dHead; i += 1) out[head * dHead + i] = part[i]! * inv * weight[i]!;
    }
    return out;
  });
}

/** Qwen3Config.__post_init__: the window (only with use_sliding_window) on the layers layer_types (or max_window_layers) says. */
function slidingWindows(config: Config, nLayers: number): Array<number | undefined> {
  const window =
    config.use_sliding_window === true
      ? (config.sliding_window as number | null | undefined) === undefined
        ? 4096
        : ((config.sliding_window as number | null) ?? undefined)
      : undefined;
  const firstSliding = (config.max_window_layers as number | undefined) ?? 28;
  const types =
    (config.layer_types as string[] | undefined) ??
    Array.from({ length: nLayers }, (_, i) => (window !== undefined && i >= firstSliding ? 'sliding_attention' : 'full_attention'));
  return types.map((type) => (type === 'sliding_attention' ? window : undefined));
}

export function referenceQwen3(weights: Map<string, Float32Array>, config: Config, ids: number[], trace?: BlockTrace[]): HookNorms {
  const d = config.hidden_size as number;
  const nHeads = config.num_attention_heads as number;
  const nKvHeads = (config.num_key_value_heads as number | undefined) ?? nHeads;
  const dHead = (config.head_dim as number | undefined) ?? 128;
  const dMlp = config.intermediate_size as number;
  const eps = (config.rms_norm_eps as number | undefined) ?? 1e-6;
  const act = (config.hidden_act as string | undefined) ?? 'silu';
  const nLayers = config.num_hidden_layers as number;
  const rope = referenceRope(config, dHead, 'llama');
  const windows = slidingWindows(config, nLayers);
  const w = (name: string) => {
    const value = weights.get(name);
    if (!value) throw new Error(`reference: missing ${name}`);
    return value;
  };
  const project = (x: Vectors, name: string, dOut: number) => linear(x, w(`${name}.weight`), 'out_in', dOut, weights.get(`${name}.bias`));
  const result = emptyHookNorms();
  const embed = w('embed_tokens.weight');
  let x: Vectors = ids.map((id) => Float64Array.from(embed.subarray(id * d, (id + 1) * d)));
  for (let layer = 0; layer < nLayers; layer += 1) {
    const p = `layers.${layer}`;
    recordNorms(result, 'resid_pre', x);
    const residPre = x;
    const pattern: number[][][] = [];
    const h = rmsNorm(x, w(`${p}.input_layernorm.weight`), eps);
    const qNormed = rmsNormPerHead(project(h, `${p}.self_attn.q_proj`, nHeads * dHead), nHeads, dHead, w(`${p}.self_attn.q_norm.weight`), eps);
    const kNormed = rmsNormPerHead(project(h, `${p}.self_attn.k_proj`, nKvHeads * dHead), nKvHeads, dHead, w(`${p}.self_attn.k_norm.weight`), eps);
    const q = applyRotary(qNormed, nHeads, dHead, rope.rotaryDims, rope.base, rope.frequencies);
    const k = applyRotary(kNormed, nKvHeads, dHead, rope.rotaryDims, rope.base, rope.frequencies);
    const v = project(h, `${p}.self_attn.v_proj`, nKvHeads * dHead);
    const window = windows[layer];
    const attention = { nHeads, nKvHeads, dHead, scale: 1 / Math.sqrt(dHead), ...(window !== undefined ? { window } : {}) };
    const z = causalAttention(q, k, v, { ...attention, pattern });
    // TransformerLens's processed values: rms(x)·diag(w)·W_V, b_V folded away.
    const zFolded = causalAttention(q, k, linear(h, w(`${p}.self_attn.v_proj.weight`), 'out_in', nKvHeads * dHead), attention);
    const attnOut = project(z, `${p}.self_attn.o_proj`, d);
    recordNorms(result, 'attn_out', attnOut);
    const mid = add(x, attnOut);
    recordNorms(result, 'resid_mid', mid);
    const h2 = rmsNorm(mid, w(`${p}.post_attention_layernorm.weight`), eps);
    const mlpOut = gatedMlp(h2, project, `${p}.mlp`, dMlp, d, act);
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

/** Qwen3ForCausalLM's head: model.norm, then lm_head, or embed_tokens when tied (or lm_head absent). */
export function referenceQwen3Head(weights: Map<string, Float32Array>, config: Config): ReferenceHead {
  const eps = (config.rms_norm_eps as number | undefined) ?? 1e-6;
  const head = tiesWordEmbeddings(config, false) ? undefined : weights.get('lm_head.weight');
  const unembedding = head ?? weights.get('embed_tokens.weight')!;
  return (x) => unembed(rmsNorm(x, weights.get('norm.weight')!, eps), unembedding);
}
