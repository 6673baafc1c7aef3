/**
 * Independent forward pass of the Llama layout (see reference-ops.ts), from transformers'
 * modeling_llama / modeling_mistral / modeling_qwen2: RMSNorm, separate q/k/v/o [out, in]
 * (biases where the checkpoint has them), rotary over whole heads, grouped-query attention
 * scaled by 1/√head_dim with the sliding windows the config asks for, SwiGLU MLP.
 * Returns every hook's norms, [layer][position].
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

/** Sliding window of each layer, as the three configuration classes decide it. */
function layerWindows(config: Record<string, unknown>, nLayers: number): Array<number | undefined> {
  const all = (window: number | undefined) => Array.from({ length: nLayers }, () => window);
  if (config.model_type === 'mistral') return all(config.sliding_window === undefined ? 4096 : ((config.sliding_window as number | null) ?? undefined));
  if (config.model_type !== 'qwen2' || config.use_sliding_window !== true) return all(undefined);
  const window = config.sliding_window === undefined ? 4096 : ((config.sliding_window as number | null) ?? undefined);
  const types =
    (config.layer_types as string[] | undefined) ??
    Array.from({ length: nLayers }, (_, i) => (i >= ((config.max_window_layers as number | undefined) ?? 28) ? 'sliding_attention' : 'full_attention'));
  return types.map((type) => (type === 'sliding_attention' ? window : undefined));
}

export function referenceLlama(weights: Map<string, Float32Array>, config: Record<string, unknown>, ids: number[], trace?: BlockTrace[]): HookNorms {
  const d = config.hidden_size as number;
  const nHeads = config.num_attention_heads as number;
  const nKvHeads = (config.num_key_value_heads as number | undefined) ?? nHeads;
  const dHead = (config.head_dim as number | undefined) ?? Math.floor(d / nHeads);
  const dMlp = config.intermediate_size as number;
  const eps = (config.rms_norm_eps as number | undefined) ?? 1e-6;
  const act = (config.hidden_act as string | undefined) ?? 'silu';
  const nLayers = config.num_hidden_layers as number;
  const rope = referenceRope(config, dHead, 'llama');
  const windows = layerWindows(config, nLayers);
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
    const q = applyRotary(project(h, `${p}.self_attn.q_proj`, nHeads * dHead), nHeads, dHead, rope.rotaryDims, rope.base, rope.frequencies);
    const k = applyRotary(project(h, `${p}.self_attn.k_proj`, nKvHeads * dHead), nKvHeads, dHead, rope.rotaryDims, rope.base, rope.frequencies);
    const v = project(h, `${p}.self_attn.v_proj`, nKvHeads * dHead);
    const window = windows[layer];
    const attention = { nHeads, nKvHeads, dHead, scale: 1 / Math.sqrt(dHead), ...(window !== undefined ? { window } : {}) };
    const z = causalAttention(q, k, v, { ...attention, pattern });
    // TransformerLens's processed values: rms(x)·diag(w)·W_V, b_V (attention_bias) folded away.
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

/**
 * LlamaForCausalLM's head: model.norm (RMSNorm), then lm_head, or embed_tokens when
 * tie_word_embeddings is true (the tool also takes a checkpoint without lm_head as tied).
 */
export function referenceLlamaHead(weights: Map<string, Float32Array>, config: Record<string, unknown>): ReferenceHead {
  const eps = (config.rms_norm_eps as number | undefined) ?? 1e-6;
  const head = tiesWordEmbeddings(config, false) ? undefined : weights.get('lm_head.weight');
  const unembedding = head ?? weights.get('embed_tokens.weight')!;
  return (x) => unembed(rmsNorm(x, weights.get('norm.weight')!, eps), unembedding);
}
