/**
 * Independent forward passes of Phi (Phi-1/1.5/2) and Phi-3 (see reference-ops.ts), written from
 * transformers' modeling_phi / modeling_phi3 and their configuration classes, in float64.
 * Phi: one LayerNorm (input_layernorm) of the block input feeds attention and the MLP,
 * x + dense(attn(ln(x))) + fc2(gelu_new(fc1(ln(x)))), every projection with its bias, with
 * qk_layernorm each head's queries and keys LayerNorm'd (q_layernorm, k_layernorm) before rotary,
 * rotate_half on the first int(head_dim · partial_rotary_factor) features (0.5 by default),
 * final_layernorm and lm_head with its bias. Phi-3: the Mistral block, qkv_proj's output sliced
 * [q | k | v] (GQA widths), gate_up_proj's output chunked in two (gate first, then up),
 * up · silu(gate), the sliding window on every layer when set, LongRoPE when rope_scaling says
 * so, model.norm and lm_head.
 */
import {
  activation,
  add,
  applyRotary,
  causalAttention,
  emptyHookNorms,
  layerNorm,
  linear,
  mapValues,
  recordNorms,
  rmsNorm,
  splitColumns,
  tiesWordEmbeddings,
  unembed,
  type BlockTrace,
  type HookNorms,
  type ReferenceHead,
  type Vectors,
} from './reference-ops.js';

type Config = Record<string, unknown>;

interface Attention {
  nHeads: number;
  nKvHeads: number;
  dHead: number;
  rotaryDims: number;
  base: number;
}

function attentionOf(config: Config): Attention {
  const d = config.hidden_size as number;
  const nHeads = config.num_attention_heads as number;
  const dHead = d / nHeads;
  const fraction = (config.partial_rotary_factor as number | undefined) ?? (config.model_type === 'phi' ? 0.5 : 1);
  return {
    nHeads,
    nKvHeads: (config.num_key_value_heads as number | undefined) ?? nHeads,
    dHead,
    rotaryDims: Math.trunc(dHead * fraction),
    base: (config.rope_theta as number | undefined) ?? 10000,
  };
}

/**
 * Phi-3's LongRoPE (modeling_rope_utils _compute_longrope_parameters, su / yarn renamed to it by
 * Phi3Config): inverse frequencies 1 / (ext · base^(2i/dim)) with ext = long_factor when the
 * sequence is longer than original_max_position_embeddings, short_factor otherwise, and cos and
 * sin times √(1 + ln(max / original) / ln original). Undefined without it.
 */
function longRopeOf(config: Config, rotaryDims: number, base: number, length: number): { frequencies: number[]; amplitude: number } | undefined {
  const scaling = config.rope_scaling as Record<string, unknown> | null | undefined;
  if (config.model_type !== 'phi3' || !scaling || !['longrope', 'su', 'yarn'].includes((scaling.type ?? scaling.rope_type) as string)) return undefined;
  const original = config.original_max_position_embeddings as number;
  const factor = (config.max_position_embeddings as number) / original;
  const ext = (length > original ? scaling.long_factor : scaling.short_factor) as number[];
  const frequencies = ext.map((e, i) => 1 / (e * base ** ((2 * i) / rotaryDims)));
  return {
    frequencies,
    amplitude: (scaling.attention_factor as number | undefined) ?? (factor > 1 ? Math.sqrt(1 + Math.log(factor) / Math.log(original)) : 1),
  };
}

export function referencePhi(weights: Map<string, Float32Array>, config: Config, ids: number[], trace?: BlockTrace[]): HookNorms {
  const phi3 = config.model_type === 'phi3';
  const d = config.hidden_size as number;
  const dMlp = config.intermediate_size as number;
  const { nHeads, nKvHeads, dHead, rotaryDims, base } = attentionOf(config);
  const window = phi3 ? ((config.sliding_window as number | null | undefined) ?? undefined) : undefined;
  const w = (name: string) => {
    const value = weights.get(name);
    if (!value) throw new Error(`reference: missing ${name}`);
    return value;
  };
  const project = (x: Vectors, name: string, dOut: number, withBias = true) =>
    linear(x, w(`${name}.weight`), 'out_in', dOut, withBias ? weights.get(`${name}.bias`) : undefined);
  const longRope = longRopeOf(config, rotaryDims, base, ids.length);
  const rotate = (x: Vectors, heads: number) => {
    const turned = applyRotary(x, heads, dHead, rotaryDims, base, longRope?.frequencies);
    if (longRope === undefined) return turned;
    // cos · a and sin · a: the rotated features, and only they, times the attention factor.
    return turned.map((row) => row.map((value, i) => (i % dHead < rotaryDims ? value * longRope.amplitude : value)));
  };
  const options = { nHeads, nKvHeads, dHead, scale: dHead ** -0.5, ...(window !== undefined ? { window } : {}) };
  const result = emptyHookNorms();
  const embed = w('embed_tokens.weight');
  let x: Vectors = ids.map((id) => Float64Array.from(embed.subarray(id * d, (id + 1) * d)));
  for (let layer = 0; layer < (config.num_hidden_layers as number); layer += 1) {
    const p = `layers.${layer}`;
    recordNorms(result, 'resid_pre', x);
    const residPre = x;
    const pattern: number[][][] = [];
    let q: Vectors;
    let k: Vectors;
    let v: Vectors;
    let vFolded: Vectors;
    let h: Vectors;
    if (phi3) {
      h = rmsNorm(x, w(`${p}.input_layernorm.weight`), (config.rms_norm_eps as number | undefined) ?? 1e-5);
      [q, k, v] = splitColumns(project(h, `${p}.self_attn.qkv_proj`, (nHeads + 2 * nKvHeads) * dHead), [
        nHeads * dHead,
        nKvHeads * dHead,
        nKvHeads * dHead,
      ]) as [Vectors, Vectors, Vectors];
      vFolded = v; // RMSNorm has no bias and Phi-3 no b_V: nothing to fold
    } else {
      const eps = (config.layer_norm_eps as number | undefined) ?? 1e-5;
      h = layerNorm(x, w(`${p}.input_layernorm.weight`), w(`${p}.input_layernorm.bias`), eps);
      q = project(h, `${p}.self_attn.q_proj`, nHeads * dHead);
      k = project(h, `${p}.self_attn.k_proj`, nKvHeads * dHead);
      if (config.qk_layernorm === true) {
        const perHead = (x: Vectors, heads: number, norm: string): Vectors =>
          x.map((row) => {
            const out = new Float64Array(heads * dHead);
            for (let head = 0; head < heads; head += 1)
              out.set(layerNorm([row.slice(head * dHead, (head + 1) * dHead)], w(`${norm}.weight`), w(`${norm}.bias`), eps)[0]!, head * dHead);
            return out;
          });
        q = perHead(q, nHeads, `${p}.self_attn.q_layernorm`);
        k = perHead(k, nKvHeads, `${p}.self_attn.k_layernorm`);
      }
      v = project(h, `${p}.self_attn.v_proj`, nKvHeads * dHead);
      // TransformerLens's processed values: LNPre(x)·diag(w)·W_V, the norm's bias and b_V folded away.
      vFolded = project(layerNorm(x, w(`${p}.input_layernorm.weight`), undefined, eps), `${p}.self_attn.v_proj`, nKvHeads * dHead, false);
    }
    const rq = rotate(q, nHeads);
    const rk = rotate(k, nKvHeads);
    const z = causalAttention(rq, rk, v, { ...options, pattern });
    const zFolded = causalAttention(rq, rk, vFolded, options);
    const outName = phi3 ? `${p}.self_attn.o_proj` : `${p}.self_attn.dense`;
    const attnOut = project(z, outName, d);
    recordNorms(result, 'attn_out', attnOut);
    const outWeight = w(`${outName}.weight`);
    if (phi3) {
      const mid = add(x, attnOut);
      recordNorms(result, 'resid_mid', mid);
      const h2 = rmsNorm(mid, w(`${p}.post_attention_layernorm.weight`), (config.rms_norm_eps as number | undefined) ?? 1e-5);
      const [gate, up] = splitColumns(project(h2, `${p}.mlp.gate_up_proj`, 2 * dMlp), [dMlp, dMlp]) as [Vectors, Vectors];
      const act = (config.hidden_act as string | undefined) ?? 'silu';
      const mlpOut = project(
        up.map((row, t) => row.map((value, i) => value * activation(act, gate[t]![i]!))),
        `${p}.mlp.down_proj`,
        d,
      );
      recordNorms(result, 'mlp_out', mlpOut);
      x = add(mid, mlpOut);
      trace?.push({ residPre, attnOut, residMid: mid, mlpOut, residPost: x, pattern, z, zFolded, outWeight, outLayout: 'out_in' });
    } else {
      const act = (config.hidden_act as string | undefined) ?? 'gelu_new';
      const mlpOut = project(
        mapValues(project(h, `${p}.mlp.fc1`, dMlp), (value) => activation(act, value)),
        `${p}.mlp.fc2`,
        d,
      );
      recordNorms(result, 'mlp_out', mlpOut);
      x = add(add(attnOut, mlpOut), x);
      trace?.push({ residPre, attnOut, mlpOut, residPost: x, pattern, z, zFolded, outWeight, outLayout: 'out_in' });
    }
    recordNorms(result, 'resid_post', x);
  }
  return result;
}

/**
 * PhiForCausalLM's head: final_layernorm, lm_head with its bias (the weight tied to embed_tokens
 * when tie_word_embeddings says so). Phi3ForCausalLM's: model.norm, lm_head (or the embedding).
 */
export function referencePhiHead(weights: Map<string, Float32Array>, config: Config): ReferenceHead {
  const tied = tiesWordEmbeddings(config, false);
  const unembedding = (tied ? undefined : weights.get('lm_head.weight')) ?? weights.get('embed_tokens.weight')!;
  if (config.model_type === 'phi3')
    return (x) => unembed(rmsNorm(x, weights.get('norm.weight')!, (config.rms_norm_eps as number | undefined) ?? 1e-5), unembedding);
  const eps = (config.layer_norm_eps as number | undefined) ?? 1e-5;
  const bias = weights.get('lm_head.bias')!;
  return (x) =>
    linear(layerNorm(x, weights.get('final_layernorm.weight')!, weights.get('final_layernorm.bias')!, eps), unembedding, 'out_in', bias.length, bias);
}
