/**
 * Independent GPT-Neo forward pass (see reference-ops.ts), from modeling_gpt_neo.py:
 * pre-LayerNorm blocks, learned positions, nn.Linear weights [out, in], q/k/v without bias,
 * attention scores NOT scaled, local layers (attention_types) seeing keys t − window < s ≤ t.
 * Weights by name without the `transformer.` prefix. Returns every hook's norms [layer][position].
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
import { expandTypes } from './tiny-gpt-neo.js';

export function referenceGptNeo(weights: Map<string, Float32Array>, config: Record<string, unknown>, ids: number[], trace?: BlockTrace[]): HookNorms {
  const d = config.hidden_size as number;
  const nHeads = config.num_heads as number;
  const dHead = d / nHeads;
  const eps = config.layer_norm_epsilon as number;
  const act = config.activation_function as string;
  const kinds = expandTypes(config.attention_types as Array<[string[], number]>);
  const w = (name: string) => {
    const value = weights.get(name);
    if (!value) throw new Error(`reference: missing ${name}`);
    return value;
  };
  const result = emptyHookNorms();
  const wte = w('wte.weight');
  const wpe = w('wpe.weight');
  let x: Vectors = ids.map((id, p) => Float64Array.from({ length: d }, (_, i) => wte[id * d + i]! + wpe[p * d + i]!));
  kinds.forEach((kind, layer) => {
    const p = `h.${layer}`;
    const a = `${p}.attn.attention`;
    recordNorms(result, 'resid_pre', x);
    const residPre = x;
    const pattern: number[][][] = [];
    const h = layerNorm(x, w(`${p}.ln_1.weight`), w(`${p}.ln_1.bias`), eps);
    const [q, k, v] = ['q_proj', 'k_proj', 'v_proj'].map((proj) => linear(h, w(`${a}.${proj}.weight`), 'out_in', d));
    const window = kind === 'local' ? (config.window_size as number) : undefined;
    const attention = { nHeads, nKvHeads: nHeads, dHead, scale: 1, ...(window !== undefined ? { window } : {}) };
    const z = causalAttention(q!, k!, v!, { ...attention, pattern });
    // TransformerLens's processed values: LNPre(x)·diag(w)·W_V (v_proj has no bias; ln_1's is folded away).
    const zFolded = causalAttention(q!, k!, linear(layerNorm(x, w(`${p}.ln_1.weight`), undefined, eps), w(`${a}.v_proj.weight`), 'out_in', d), attention);
    const attnOut = linear(z, w(`${a}.out_proj.weight`), 'out_in', d, w(`${a}.out_proj.bias`));
    recordNorms(result, 'attn_out', attnOut);
    const mid = add(x, attnOut);
    recordNorms(result, 'resid_mid', mid);
    const h2 = layerNorm(mid, w(`${p}.ln_2.weight`), w(`${p}.ln_2.bias`), eps);
    const dMlp = w(`${p}.mlp.c_fc.bias`).length;
    const hidden = mapValues(linear(h2, w(`${p}.mlp.c_fc.weight`), 'out_in', dMlp, w(`${p}.mlp.c_fc.bias`)), (value) => activation(act, value));
    const mlpOut = linear(hidden, w(`${p}.mlp.c_proj.weight`), 'out_in', d, w(`${p}.mlp.c_proj.bias`));
    recordNorms(result, 'mlp_out', mlpOut);
    x = add(mid, mlpOut);
    recordNorms(result, 'resid_post', x);
    trace?.push({ residPre, attnOut, residMid: mid, mlpOut, residPost: x, pattern, z, zFolded, outWeight: w(`${a}.out_proj.weight`), outLayout: 'out_in' });
  });
  return result;
}

/** GPTNeoForCausalLM's head: ln_f, then lm_head, tied to wte unless tie_word_embeddings is false. */
export function referenceGptNeoHead(weights: Map<string, Float32Array>, config: Record<string, unknown>): ReferenceHead {
  const unembedding = weights.get(tiesWordEmbeddings(config, true) ? 'wte.weight' : 'lm_head.weight')!;
  return (x) => unembed(layerNorm(x, weights.get('ln_f.weight')!, weights.get('ln_f.bias')!, config.layer_norm_epsilon as number), unembedding);
}
