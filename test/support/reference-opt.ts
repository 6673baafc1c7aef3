/**
 * Independent OPT forward pass (see reference-ops.ts), from modeling_opt.py: token embedding
 * plus learned position p read from row p + 2 of embed_positions, pre-LayerNorm decoder layers
 * (self_attn_layer_norm, final_layer_norm), q = q_proj(x) · dHead^−½, ReLU MLP fc1/fc2.
 * Weights by name without the `model.decoder.` prefix. `positionOffset` exists only so tests can
 * show the offset matters.
 */
import {
  activation,
  add,
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

export function referenceOpt(
  weights: Map<string, Float32Array>,
  config: Record<string, unknown>,
  ids: number[],
  positionOffset = 2,
  trace?: BlockTrace[],
): HookNorms {
  const d = config.hidden_size as number;
  const nHeads = config.num_attention_heads as number;
  const dHead = d / nHeads;
  const dMlp = config.ffn_dim as number;
  const act = config.activation_function as string;
  const eps = 1e-5; // torch nn.LayerNorm default; OPTConfig has no key for it
  const w = (name: string) => {
    const value = weights.get(name);
    if (!value) throw new Error(`reference: missing ${name}`);
    return value;
  };
  const bias = (name: string) => (config.enable_bias === false ? undefined : w(name));
  const result = emptyHookNorms();
  const tokens = w('embed_tokens.weight');
  const positions = w('embed_positions.weight');
  let x: Vectors = ids.map((id, p) => Float64Array.from({ length: d }, (_, i) => tokens[id * d + i]! + positions[(p + positionOffset) * d + i]!));
  for (let layer = 0; layer < (config.num_hidden_layers as number); layer += 1) {
    const p = `layers.${layer}`;
    const a = `${p}.self_attn`;
    recordNorms(result, 'resid_pre', x);
    const residPre = x;
    const pattern: number[][][] = [];
    const h = layerNorm(x, w(`${p}.self_attn_layer_norm.weight`), w(`${p}.self_attn_layer_norm.bias`), eps);
    const project = (proj: string) => linear(h, w(`${a}.${proj}.weight`), 'out_in', d, bias(`${a}.${proj}.bias`));
    const q = mapValues(project('q_proj'), (value) => value / Math.sqrt(dHead));
    const k = project('k_proj');
    const attention = { nHeads, nKvHeads: nHeads, dHead, scale: 1 };
    const z = causalAttention(q, k, project('v_proj'), { ...attention, pattern });
    // TransformerLens's processed values: LNPre(x)·diag(w)·W_V, the norm's bias and b_V folded away.
    const zFolded = causalAttention(
      q,
      k,
      linear(layerNorm(x, w(`${p}.self_attn_layer_norm.weight`), undefined, eps), w(`${a}.v_proj.weight`), 'out_in', d),
      attention,
    );
    const attnOut = linear(z, w(`${a}.out_proj.weight`), 'out_in', d, bias(`${a}.out_proj.bias`));
    recordNorms(result, 'attn_out', attnOut);
    const mid = add(x, attnOut);
    recordNorms(result, 'resid_mid', mid);
    const h2 = layerNorm(mid, w(`${p}.final_layer_norm.weight`), w(`${p}.final_layer_norm.bias`), eps);
    const hidden = mapValues(linear(h2, w(`${p}.fc1.weight`), 'out_in', dMlp, bias(`${p}.fc1.bias`)), (value) => activation(act, value));
    const mlpOut = linear(hidden, w(`${p}.fc2.weight`), 'out_in', d, bias(`${p}.fc2.bias`));
    recordNorms(result, 'mlp_out', mlpOut);
    x = add(mid, mlpOut);
    recordNorms(result, 'resid_post', x);
    trace?.push({ residPre, attnOut, residMid: mid, mlpOut, residPost: x, pattern, z, zFolded, outWeight: w(`${a}.out_proj.weight`), outLayout: 'out_in' });
  }
  return result;
}

/**
 * OPTForCausalLM's head: the decoder's final_layer_norm (OPTDecoder leaves it out when
 * _remove_final_layer_norm is true), then lm_head, tied to embed_tokens unless
 * tie_word_embeddings is false.
 */
export function referenceOptHead(weights: Map<string, Float32Array>, config: Record<string, unknown>): ReferenceHead {
  const unembedding = weights.get(tiesWordEmbeddings(config, true) ? 'embed_tokens.weight' : 'lm_head.weight')!;
  const finalNorm =
    config._remove_final_layer_norm === true
      ? (x: Vectors) => x
      : (x: Vectors) => layerNorm(x, weights.get('final_layer_norm.weight')!, weights.get('final_layer_norm.bias')!, 1e-5);
  return (x) => unembed(finalNorm(x), unembedding);
}
