/**
 * Independent GPT-2 forward pass (see reference-ops.ts): pre-LayerNorm blocks, learned
 * positions, Conv1D weights [in, out], fused c_attn = [q | k | v], causal attention scaled by
 * 1/√dHead. Returns the raw and centered norm of every hook, [layer][position].
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
  splitColumns,
  tiesWordEmbeddings,
  unembed,
  type BlockTrace,
  type HookNorms,
  type ReferenceHead,
  type Vectors,
} from './reference-ops.js';

export type { HookNorms };

export function referenceGpt2(weights: Map<string, Float32Array>, config: Record<string, unknown>, ids: number[], trace?: BlockTrace[]): HookNorms {
  const d = config.n_embd as number;
  const nHeads = config.n_head as number;
  const dHead = d / nHeads;
  const eps = (config.layer_norm_epsilon as number) ?? 1e-5;
  const act = (config.activation_function as string) ?? 'gelu_new';
  const w = (name: string) => {
    const value = weights.get(name);
    if (!value) throw new Error(`reference: missing ${name}`);
    return value;
  };
  const result = emptyHookNorms();
  const wte = w('wte.weight');
  const wpe = w('wpe.weight');
  let x: Vectors = ids.map((id, p) => Float64Array.from({ length: d }, (_, i) => wte[id * d + i]! + wpe[p * d + i]!));
  for (let layer = 0; layer < (config.n_layer as number); layer += 1) {
    const p = `h.${layer}`;
    recordNorms(result, 'resid_pre', x);
    const residPre = x;
    const pattern: number[][][] = [];
    const h = layerNorm(x, w(`${p}.ln_1.weight`), w(`${p}.ln_1.bias`), eps);
    const [q, k, v] = splitColumns(linear(h, w(`${p}.attn.c_attn.weight`), 'in_out', 3 * d, w(`${p}.attn.c_attn.bias`)), [d, d, d]);
    const attention = { nHeads, nKvHeads: nHeads, dHead, scale: 1 / Math.sqrt(dHead) };
    const z = causalAttention(q!, k!, v!, { ...attention, pattern });
    // TransformerLens's processed values: LNPre(x)·diag(w)·W_V, ln_1's bias and b_V folded away.
    const vFolded = splitColumns(linear(layerNorm(x, w(`${p}.ln_1.weight`), undefined, eps), w(`${p}.attn.c_attn.weight`), 'in_out', 3 * d), [d, d, d])[2]!;
    const zFolded = causalAttention(q!, k!, vFolded, attention);
    const attnOut = linear(z, w(`${p}.attn.c_proj.weight`), 'in_out', d, w(`${p}.attn.c_proj.bias`));
    recordNorms(result, 'attn_out', attnOut);
    const mid = add(x, attnOut);
    recordNorms(result, 'resid_mid', mid);
    const h2 = layerNorm(mid, w(`${p}.ln_2.weight`), w(`${p}.ln_2.bias`), eps);
    const dMlp = w(`${p}.mlp.c_fc.bias`).length;
    const hidden = mapValues(linear(h2, w(`${p}.mlp.c_fc.weight`), 'in_out', dMlp, w(`${p}.mlp.c_fc.bias`)), (value) => activation(act, value));
    const mlpOut = linear(hidden, w(`${p}.mlp.c_proj.weight`), 'in_out', d, w(`${p}.mlp.c_proj.bias`));
    recordNorms(result, 'mlp_out', mlpOut);
    x = add(mid, mlpOut);
    recordNorms(result, 'resid_post', x);
    trace?.push({ residPre, attnOut, residMid: mid, mlpOut, residPost: x, pattern, z, zFolded, outWeight: w(`${p}.attn.c_proj.weight`), outLayout: 'in_out' });
  }
  return result;
}

/** GPT2LMHeadModel's head: ln_f, then lm_head, which is wte unless tie_word_embeddings is false. */
export function referenceGpt2Head(weights: Map<string, Float32Array>, config: Record<string, unknown>): ReferenceHead {
  const eps = (config.layer_norm_epsilon as number) ?? 1e-5;
  const unembedding = weights.get(tiesWordEmbeddings(config, true) ? 'wte.weight' : 'lm_head.weight')!;
  return (x) => unembed(layerNorm(x, weights.get('ln_f.weight')!, weights.get('ln_f.bias')!, eps), unembedding);
}
