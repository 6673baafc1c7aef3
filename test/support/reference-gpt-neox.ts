/**
 * Independent GPT-NeoX forward pass (see reference-ops.ts), from transformers'
 * modeling_gpt_neox: pre-LayerNorm blocks, nn.Linear weights [out, in], query_key_value output
 * viewed as [heads, 3·dHead] and chunked into q, k, v per head, rotary on the first
 * rotary_pct·dHead features, attention scaled by 1/√dHead, parallel residual
 * x + attn(ln1(x)) + mlp(ln2(x)) or sequential. Returns every hook's norms, [layer][position].
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
  tiesWordEmbeddings,
  unembed,
  type BlockTrace,
  type HookNorms,
  type ReferenceHead,
  type Vectors,
} from './reference-ops.js';
import { referenceRope } from './reference-rope.js';

/** Per-head fused rows [q₀ k₀ v₀ q₁ k₁ v₁ …] → q, k, v rows [head₀ head₁ …]. */
function splitPerHead(fused: Vectors, nHeads: number, dHead: number): [Vectors, Vectors, Vectors] {
  const parts: [Vectors, Vectors, Vectors] = [[], [], []];
  for (const row of fused) {
    parts.forEach((part, which) => {
      const out = new Float64Array(nHeads * dHead);
      for (let head = 0; head < nHeads; head += 1) {
        for (let i = 0; i < dHead; i += 1) out[head * dHead + i] = row[head * 3 * dHead + which * dHead + i]!;
      }
      part.push(out);
    });
  }
  return parts;
}

export function referenceGptNeox(weights: Map<string, Float32Array>, config: Record<string, unknown>, ids: number[], trace?: BlockTrace[]): HookNorms {
  const d = config.hidden_size as number;
  const nHeads = config.num_attention_heads as number;
  const dHead = d / nHeads;
  const dMlp = config.intermediate_size as number;
  const eps = (config.layer_norm_eps as number | undefined) ?? 1e-5;
  const act = (config.hidden_act as string | undefined) ?? 'gelu';
  const parallel = (config.use_parallel_residual as boolean | undefined) ?? true;
  const rope = referenceRope(config, dHead, 'gpt_neox');
  const w = (name: string) => {
    const value = weights.get(name);
    if (!value) throw new Error(`reference: missing ${name}`);
    return value;
  };
  const optional = (name: string) => weights.get(name);
  const result = emptyHookNorms();
  const embed = w('embed_in.weight');
  let x: Vectors = ids.map((id) => Float64Array.from(embed.subarray(id * d, (id + 1) * d)));
  for (let layer = 0; layer < (config.num_hidden_layers as number); layer += 1) {
    const p = `layers.${layer}`;
    recordNorms(result, 'resid_pre', x);
    const residPre = x;
    const pattern: number[][][] = [];
    const h = layerNorm(x, w(`${p}.input_layernorm.weight`), w(`${p}.input_layernorm.bias`), eps);
    const fused = linear(h, w(`${p}.attention.query_key_value.weight`), 'out_in', 3 * d, optional(`${p}.attention.query_key_value.bias`));
    const [q, k, v] = splitPerHead(fused, nHeads, dHead);
    const rotate = (t: Vectors) => applyRotary(t, nHeads, dHead, rope.rotaryDims, rope.base, rope.frequencies);
    const attention = { nHeads, nKvHeads: nHeads, dHead, scale: 1 / Math.sqrt(dHead) };
    const z = causalAttention(rotate(q), rotate(k), v, { ...attention, pattern });
    // TransformerLens's processed values: LNPre(x)·diag(w)·W_V, the norm's bias and b_V folded away.
    const vFolded = splitPerHead(
      linear(layerNorm(x, w(`${p}.input_layernorm.weight`), undefined, eps), w(`${p}.attention.query_key_value.weight`), 'out_in', 3 * d),
      nHeads,
      dHead,
    )[2];
    const zFolded = causalAttention(rotate(q), rotate(k), vFolded, attention);
    const attnOut = linear(z, w(`${p}.attention.dense.weight`), 'out_in', d, optional(`${p}.attention.dense.bias`));
    recordNorms(result, 'attn_out', attnOut);
    const mlp = (input: Vectors) => {
      const normed = layerNorm(input, w(`${p}.post_attention_layernorm.weight`), w(`${p}.post_attention_layernorm.bias`), eps);
      const hidden = mapValues(linear(normed, w(`${p}.mlp.dense_h_to_4h.weight`), 'out_in', dMlp, w(`${p}.mlp.dense_h_to_4h.bias`)), (value) =>
        activation(act, value),
      );
      return linear(hidden, w(`${p}.mlp.dense_4h_to_h.weight`), 'out_in', d, w(`${p}.mlp.dense_4h_to_h.bias`));
    };
    const outWeight = w(`${p}.attention.dense.weight`);
    if (parallel) {
      const mlpOut = mlp(x);
      recordNorms(result, 'mlp_out', mlpOut);
      x = add(add(x, attnOut), mlpOut);
      trace?.push({ residPre, attnOut, mlpOut, residPost: x, pattern, z, zFolded, outWeight, outLayout: 'out_in' });
    } else {
      const mid = add(x, attnOut);
      recordNorms(result, 'resid_mid', mid);
      const mlpOut = mlp(mid);
      recordNorms(result, 'mlp_out', mlpOut);
      x = add(mid, mlpOut);
      trace?.push({ residPre, attnOut, residMid: mid, mlpOut, residPost: x, pattern, z, zFolded, outWeight, outLayout: 'out_in' });
    }
    recordNorms(result, 'resid_post', x);
  }
  return result;
}

/** GPTNeoXForCausalLM's head: final_layer_norm, then embed_out (untied by default; embed_in when tie_word_embeddings is true). */
export function referenceGptNeoxHead(weights: Map<string, Float32Array>, config: Record<string, unknown>): ReferenceHead {
  const eps = (config.layer_norm_eps as number | undefined) ?? 1e-5;
  const unembedding = weights.get(tiesWordEmbeddings(config, false) ? 'embed_in.weight' : 'embed_out.weight')!;
  return (x) => unembed(layerNorm(x, weights.get('final_layer_norm.weight')!, weights.get('final_layer_norm.bias')!, eps), unembedding);
}
