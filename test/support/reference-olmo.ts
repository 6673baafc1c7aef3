/**
 * Independent forward passes of OLMo and OLMo-2 (see reference-ops.ts), from transformers'
 * modeling_olmo / modeling_olmo2 and their configuration classes, in float64:
 *
 * - OLMo: OlmoLayerNorm = F.layer_norm(x, no weight, no bias, eps 1e-5) before attention and the
 *   MLP (and as the final norm); q_proj, k_proj, v_proj clamped to ±clip_qkv when it is set;
 *   rotary; attention scaled by head_dim^−½; o_proj; SwiGLU.
 * - OLMo-2: q_norm(q_proj(x)) and k_norm(k_proj(x)), RMSNorms over the whole projections, before
 *   rotary; the block x + post_attention_layernorm(attn(x)), then + post_feedforward_layernorm(mlp(·)):
 *   attention and the MLP read the residual stream itself; model.norm an RMSNorm.
 *
 * The hooks follow TransformerLens: attn_out and mlp_out are what is added to the residual stream.
 */
import {
  add,
  applyRotary,
  causalAttention,
  emptyHookNorms,
  layerNorm,
  linear,
  mapValues,
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

/** OlmoLayerNorm: (x − mean) / √(var + 1e-5), population variance, no parameters. */
export function olmoLayerNorm(x: Vectors): Vectors {
  const d = x[0]?.length ?? 0;
  return layerNorm(x, new Float32Array(d).fill(1), undefined, 1e-5);
}

function clamp(x: Vectors, bound: number | undefined): Vectors {
  return bound === undefined ? x : mapValues(x, (value) => Math.min(bound, Math.max(-bound, value)));
}

export function referenceOlmo(weights: Map<string, Float32Array>, config: Config, ids: number[], trace?: BlockTrace[]): HookNorms {
  const olmo2 = config.model_type === 'olmo2';
  const d = config.hidden_size as number;
  const nHeads = config.num_attention_heads as number;
  const nKvHeads = (config.num_key_value_heads as number | null | undefined) ?? nHeads;
  const dHead = d / nHeads;
  const dMlp = config.intermediate_size as number;
  const eps = (config.rms_norm_eps as number | undefined) ?? 1e-5;
  const act = (config.hidden_act as string | undefined) ?? 'silu';
  const clip = olmo2 ? undefined : ((config.clip_qkv as number | null | undefined) ?? undefined);
  const nLayers = config.num_hidden_layers as number;
  const rope = referenceRope(config, dHead, 'llama');
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
    // OLMo normalizes each sub-block's input; OLMo-2 its output.
    const h = olmo2 ? x : olmoLayerNorm(x);
    let qStates = clamp(project(h, `${p}.self_attn.q_proj`, nHeads * dHead), clip);
    let kStates = clamp(project(h, `${p}.self_attn.k_proj`, nKvHeads * dHead), clip);
    const v = clamp(project(h, `${p}.self_attn.v_proj`, nKvHeads * dHead), clip);
    if (olmo2) {
      qStates = rmsNorm(qStates, w(`${p}.self_attn.q_norm.weight`), eps);
      kStates = rmsNorm(kStates, w(`${p}.self_attn.k_norm.weight`), eps);
    }
    const q = applyRotary(qStates, nHeads, dHead, rope.rotaryDims, rope.base, rope.frequencies);
    const k = applyRotary(kStates, nKvHeads, dHead, rope.rotaryDims, rope.base, rope.frequencies);
    const options = { nHeads, nKvHeads, dHead, scale: 1 / Math.sqrt(dHead) };
    const z = causalAttention(q, k, v, { ...options, pattern });
    // TransformerLens's processed values: the constant part of v (its bias, as the model clamps it) folded into b_O.
    const bias = weights.get(`${p}.self_attn.v_proj.bias`);
    const constant = bias === undefined ? undefined : clamp([Float64Array.from(bias)], clip)[0]!;
    const zFolded =
      constant === undefined
        ? z
        : causalAttention(
            q,
            k,
            v.map((row) => row.map((value, i) => value - constant[i]!)),
            options,
          );
    const attention = project(z, `${p}.self_attn.o_proj`, d);
    const attnOut = olmo2 ? rmsNorm(attention, w(`${p}.post_attention_layernorm.weight`), eps) : attention;
    recordNorms(result, 'attn_out', attnOut);
    const mid = add(x, attnOut);
    recordNorms(result, 'resid_mid', mid);
    const h2 = olmo2 ? mid : olmoLayerNorm(mid);
    const mlp = gatedMlp(h2, project, `${p}.mlp`, dMlp, d, act);
    const mlpOut = olmo2 ? rmsNorm(mlp, w(`${p}.post_feedforward_layernorm.weight`), eps) : mlp;
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

/** OlmoForCausalLM's / Olmo2ForCausalLM's head: the final norm (OLMo's without parameters), then lm_head or the tied embedding. */
export function referenceOlmoHead(weights: Map<string, Float32Array>, config: Config): ReferenceHead {
  const olmo2 = config.model_type === 'olmo2';
  const eps = (config.rms_norm_eps as number | undefined) ?? 1e-5;
  const head = tiesWordEmbeddings(config, false) ? undefined : weights.get('lm_head.weight');
  const unembedding = head ?? weights.get('embed_tokens.weight')!;
  return (x) => unembed(olmo2 ? rmsNorm(x, weights.get('norm.weight')!, eps) : olmoLayerNorm(x), unembedding);
}
