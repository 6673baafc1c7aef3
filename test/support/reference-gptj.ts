/**
 * Independent GPT-J forward pass (see reference-ops.ts), written from transformers'
 * modeling_gptj in float64: ln_1 of the block input feeds both attention and the MLP
 * (x + attn(ln_1(x)) + mlp(ln_1(x))); q, k, v, out_proj without biases; rotary as
 * create_sinusoidal_positions and apply_rotary_pos_emb build it: sin and cos of
 * position · 10000^(−2i/rotary_dim), each repeated twice (repeat_interleave), times
 * rotate_every_two, which pairs feature 2i with 2i + 1, on the first rotary_dim features of each
 * head; scores divided by √head_dim; fc_in → gelu_new → fc_out with biases; ln_f and lm_head
 * with its bias for the lens.
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
  type BlockTrace,
  type HookNorms,
  type ReferenceHead,
  type Vectors,
} from './reference-ops.js';

type Config = Record<string, unknown>;

/**
 * apply_rotary_pos_emb(tensor, sin, cos) on the first rotaryDim features of each head:
 * tensor·cos + rotate_every_two(tensor)·sin, rotate_every_two(x)[2i] = −x[2i+1],
 * rotate_every_two(x)[2i+1] = x[2i], sin and cos of angle i at features 2i and 2i + 1.
 */
export function rotateEveryTwo(x: Vectors, heads: number, dHead: number, rotaryDim: number): Vectors {
  return x.map((row, position) => {
    const out = Float64Array.from(row);
    for (let head = 0; head < heads; head += 1) {
      for (let feature = 0; feature < rotaryDim; feature += 1) {
        const pair = Math.floor(feature / 2);
        const angle = position / 10000 ** ((2 * pair) / rotaryDim);
        const value = row[head * dHead + feature]!;
        const rotated = feature % 2 === 0 ? -row[head * dHead + feature + 1]! : row[head * dHead + feature - 1]!;
        out[head * dHead + feature] = value * Math.cos(angle) + rotated * Math.sin(angle);
      }
    }
    return out;
  });
}

export function referenceGptj(weights: Map<string, Float32Array>, config: Config, ids: number[], trace?: BlockTrace[]): HookNorms {
  const d = config.n_embd as number;
  const nHeads = config.n_head as number;
  const dHead = d / nHeads;
  const dMlp = (config.n_inner as number | null | undefined) ?? 4 * d;
  const eps = (config.layer_norm_epsilon as number | undefined) ?? 1e-5;
  const act = (config.activation_function as string | undefined) ?? 'gelu_new';
  const rotaryDim = (config.rotary_dim as number | undefined) ?? 64;
  const w = (name: string) => {
    const value = weights.get(name);
    if (!value) throw new Error(`reference: missing ${name}`);
    return value;
  };
  const result = emptyHookNorms();
  const embed = w('wte.weight');
  let x: Vectors = ids.map((id) => Float64Array.from(embed.subarray(id * d, (id + 1) * d)));
  for (let layer = 0; layer < (config.n_layer as number); layer += 1) {
    const p = `h.${layer}`;
    recordNorms(result, 'resid_pre', x);
    const residPre = x;
    const pattern: number[][][] = [];
    const h = layerNorm(x, w(`${p}.ln_1.weight`), w(`${p}.ln_1.bias`), eps);
    const q = rotateEveryTwo(linear(h, w(`${p}.attn.q_proj.weight`), 'out_in', d), nHeads, dHead, rotaryDim);
    const k = rotateEveryTwo(linear(h, w(`${p}.attn.k_proj.weight`), 'out_in', d), nHeads, dHead, rotaryDim);
    const v = linear(h, w(`${p}.attn.v_proj.weight`), 'out_in', d);
    const attention = { nHeads, nKvHeads: nHeads, dHead, scale: 1 / Math.sqrt(dHead) };
    const z = causalAttention(q, k, v, { ...attention, pattern });
    // TransformerLens's processed values: LNPre(x)·diag(w)·W_V, ln_1's bias folded away (GPT-J has no b_V).
    const zFolded = causalAttention(q, k, linear(layerNorm(x, w(`${p}.ln_1.weight`), undefined, eps), w(`${p}.attn.v_proj.weight`), 'out_in', d), attention);
    const attnOut = linear(z, w(`${p}.attn.out_proj.weight`), 'out_in', d);
    recordNorms(result, 'attn_out', attnOut);
    const hidden = mapValues(linear(h, w(`${p}.mlp.fc_in.weight`), 'out_in', dMlp, w(`${p}.mlp.fc_in.bias`)), (value) => activation(act, value));
    const mlpOut = linear(hidden, w(`${p}.mlp.fc_out.weight`), 'out_in', d, w(`${p}.mlp.fc_out.bias`));
    recordNorms(result, 'mlp_out', mlpOut);
    x = add(add(attnOut, mlpOut), x);
    recordNorms(result, 'resid_post', x);
    trace?.push({ residPre, attnOut, mlpOut, residPost: x, pattern, z, zFolded, outWeight: w(`${p}.attn.out_proj.weight`), outLayout: 'out_in' });
  }
  return result;
}

/** GPTJForCausalLM's head: ln_f, then lm_head with its bias. */
export function referenceGptjHead(weights: Map<string, Float32Array>, config: Config): ReferenceHead {
  const eps = (config.layer_norm_epsilon as number | undefined) ?? 1e-5;
  const head = weights.get('lm_head.weight')!;
  const bias = weights.get('lm_head.bias')!;
  return (x) => linear(layerNorm(x, weights.get('ln_f.weight')!, weights.get('ln_f.bias')!, eps), head, 'out_in', bias.length, bias);
}
