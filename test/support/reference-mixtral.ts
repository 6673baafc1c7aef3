/**
 * Independent Mixtral forward pass (see reference-ops.ts), written from transformers'
 * modeling_mixtral (MixtralSparseMoeBlock) in float64: Mistral's attention (RMSNorm, q/k/v/o
 * without biases, grouped-query attention scaled by 1/√head_dim, rotary over whole heads with
 * rope_theta, default 1e6, the sliding window when set), and for the MLP: router logits
 * gate(h), routing_weights = softmax over all experts, the top num_experts_per_tok of them,
 * divided by their sum, and Σ over those experts of weight · w2(silu(w1 h) · w3 h). The
 * experts are evaluated one token at a time, only where chosen, as the modeling code's loop
 * over the expert mask does.
 */
import {
  activation,
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
} from './reference-ops.js';

type Config = Record<string, unknown>;

export interface Routed {
  /** [position][expert]: the weight of each expert (0 where not chosen). */
  weights: number[][];
  out: Vectors;
  /** [position]: Σ over the chosen experts of weight · fraction of w1 h > 0. */
  active: number[];
}

/** MixtralSparseMoeBlock on h [pos][d] of layer `p` (e.g. "layers.0"). */
export function referenceMoe(weights: Map<string, Float32Array>, config: Config, p: string, h: Vectors): Routed {
  const d = config.hidden_size as number;
  const dMlp = config.intermediate_size as number;
  const nExperts = (config.num_local_experts as number | undefined) ?? 8;
  const topK = (config.num_experts_per_tok as number | undefined) ?? 2;
  const act = (config.hidden_act as string | undefined) ?? 'silu';
  const w = (name: string) => {
    const value = weights.get(name);
    if (!value) throw new Error(`reference: missing ${name}`);
    return value;
  };
  const logits = linear(h, w(`${p}.block_sparse_moe.gate.weight`), 'out_in', nExperts);
  const routed: Routed = { weights: [], out: [], active: [] };
  h.forEach((row, t) => {
    const max = Math.max(...logits[t]!);
    const exps = Array.from(logits[t]!, (value) => Math.exp(value - max));
    const total = exps.reduce((a, b) => a + b, 0);
    const probabilities = exps.map((value) => value / total);
    // torch.topk: the largest first (ties, which random weights never give, to the lower index).
    const chosen = probabilities
      .map((value, e) => ({ value, e }))
      .sort((a, b) => b.value - a.value || a.e - b.e)
      .slice(0, topK);
    const sum = chosen.reduce((a, { value }) => a + value, 0);
    const weightsRow = new Array<number>(nExperts).fill(0);
    const out = new Float64Array(d);
    let active = 0;
    for (const { value, e } of [...chosen].sort((a, b) => a.e - b.e)) {
      const weight = value / sum;
      weightsRow[e] = weight;
      const expert = `${p}.block_sparse_moe.experts.${e}`;
      const gate = linear([row], w(`${expert}.w1.weight`), 'out_in', dMlp)[0]!;
      const up = linear([row], w(`${expert}.w3.weight`), 'out_in', dMlp)[0]!;
      const hidden = gate.map((value, i) => activation(act, value) * up[i]!);
      const down = linear([hidden], w(`${expert}.w2.weight`), 'out_in', d)[0]!;
      down.forEach((value, i) => (out[i]! += weight * value));
      active += (weight * gate.reduce((count, value) => count + (value > 0 ? 1 : 0), 0)) / dMlp;
    }
    routed.weights.push(weightsRow);
    routed.out.push(out);
    routed.active.push(active);
  });
  return routed;
}

export function referenceMixtral(weights: Map<string, Float32Array>, config: Config, ids: number[], trace?: BlockTrace[]): HookNorms {
  const d = config.hidden_size as number;
  const nHeads = config.num_attention_heads as number;
  const nKvHeads = (config.num_key_value_heads as number | undefined) ?? nHeads;
  const dHead = (config.head_dim as number | null | undefined) ?? d / nHeads;
  const eps = (config.rms_norm_eps as number | undefined) ?? 1e-5;
  const base = (config.rope_theta as number | undefined) ?? 1e6;
  const window = (config.sliding_window as number | null | undefined) ?? undefined;
  const w = (name: string) => {
    const value = weights.get(name);
    if (!value) throw new Error(`reference: missing ${name}`);
    return value;
  };
  const project = (x: Vectors, name: string, dOut: number) => linear(x, w(`${name}.weight`), 'out_in', dOut);
  const options = { nHeads, nKvHeads, dHead, scale: 1 / Math.sqrt(dHead), ...(window !== undefined ? { window } : {}) };
  const result = emptyHookNorms();
  const embed = w('embed_tokens.weight');
  let x: Vectors = ids.map((id) => Float64Array.from(embed.subarray(id * d, (id + 1) * d)));
  for (let layer = 0; layer < (config.num_hidden_layers as number); layer += 1) {
    const p = `layers.${layer}`;
    recordNorms(result, 'resid_pre', x);
    const residPre = x;
    const pattern: number[][][] = [];
    const h = rmsNorm(x, w(`${p}.input_layernorm.weight`), eps);
    const q = applyRotary(project(h, `${p}.self_attn.q_proj`, nHeads * dHead), nHeads, dHead, dHead, base);
    const k = applyRotary(project(h, `${p}.self_attn.k_proj`, nKvHeads * dHead), nKvHeads, dHead, dHead, base);
    const z = causalAttention(q, k, project(h, `${p}.self_attn.v_proj`, nKvHeads * dHead), { ...options, pattern });
    const attnOut = project(z, `${p}.self_attn.o_proj`, d);
    recordNorms(result, 'attn_out', attnOut);
    const mid = add(x, attnOut);
    recordNorms(result, 'resid_mid', mid);
    const mlpOut = referenceMoe(weights, config, p, rmsNorm(mid, w(`${p}.post_attention_layernorm.weight`), eps)).out;
    recordNorms(result, 'mlp_out', mlpOut);
    x = add(mid, mlpOut);
    recordNorms(result, 'resid_post', x);
    // No attention biases: z is TransformerLens's processed z as it is.
    trace?.push({
      residPre,
      attnOut,
      residMid: mid,
      mlpOut,
      residPost: x,
      pattern,
      z,
      zFolded: z,
      outWeight: w(`${p}.self_attn.o_proj.weight`),
      outLayout: 'out_in',
    });
  }
  return result;
}

/** MixtralForCausalLM's head: model.norm, then lm_head (or the embedding when tied). */
export function referenceMixtralHead(weights: Map<string, Float32Array>, config: Config): ReferenceHead {
  const eps = (config.rms_norm_eps as number | undefined) ?? 1e-5;
  const unembedding = (tiesWordEmbeddings(config, false) ? undefined : weights.get('lm_head.weight')) ?? weights.get('embed_tokens.weight')!;
  return (x) => unembed(rmsNorm(x, weights.get('norm.weight')!, eps), unembedding);
}
