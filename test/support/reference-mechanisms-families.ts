/**
 * The blocks of Phi, Phi-3, GPT-J and Mixtral for reference-mechanisms.ts (its ReferenceBlockFns: the
 * norms, the MLP, Σ_h W_OV^h x, read by Hugging Face names from a tiny model's weights), kept
 * apart so each file stays short. Written from transformers' modeling_phi, modeling_phi3,
 * modeling_gptj and modeling_mixtral; nothing shared with the graph builder or the adapters.
 */
import { activation, layerNorm, linear, mapValues, rmsNorm, type Vectors } from './reference-ops.js';
import type { ReferenceBlockFns, ReferenceModel } from './reference-mechanisms.js';
import { referenceMoe } from './reference-mixtral.js';

type Weights = Map<string, Float32Array>;
type Config = Record<string, unknown>;

function reader(weights: Weights): (name: string) => Float32Array {
  return (name) => {
    const value = weights.get(name);
    if (!value) throw new Error(`reference: missing ${name}`);
    return value;
  };
}

/** Value heads [n][nKvHeads·dHead] repeated for the query heads that read them (query head h reads ⌊h / groups⌋). */
function repeatKv(v: Vectors, nHeads: number, nKvHeads: number, dHead: number): Vectors {
  const groups = nHeads / nKvHeads;
  return v.map((row) => Float64Array.from({ length: nHeads * dHead }, (_, i) => row[Math.floor(Math.floor(i / dHead) / groups) * dHead + (i % dHead)]!));
}

/** Phi and GPT-J: one LayerNorm before both sub-blocks, a dense MLP with biases, parallel residual. */
function parallelLayerNormBlock(
  w: (name: string) => Float32Array,
  names: { norm: string; fcIn: string; fcOut: string; act: string; eps: number; d: number; dMlp: number },
  ov: (h: Vectors) => Vectors,
): ReferenceBlockFns {
  const { norm, fcIn, fcOut, act, eps, d, dMlp } = names;
  return {
    gain1: w(`${norm}.weight`),
    gain2: w(`${norm}.weight`),
    bias2: w(`${norm}.bias`),
    mlpLinear: (h) => linear(linear(h, w(`${fcIn}.weight`), 'out_in', dMlp), w(`${fcOut}.weight`), 'out_in', d),
    bInWOut: () => linear([Float64Array.from(w(`${fcIn}.bias`))], w(`${fcOut}.weight`), 'out_in', d)[0],
    norm1: (x, withBias) => layerNorm(x, w(`${norm}.weight`), withBias ? w(`${norm}.bias`) : undefined, eps),
    norm2: (x) => layerNorm(x, w(`${norm}.weight`), w(`${norm}.bias`), eps),
    mlp: (h) => {
      const pre = linear(h, w(`${fcIn}.weight`), 'out_in', dMlp, w(`${fcIn}.bias`));
      return {
        pre,
        out: linear(
          mapValues(pre, (v) => activation(act, v)),
          w(`${fcOut}.weight`),
          'out_in',
          d,
          w(`${fcOut}.bias`),
        ),
      };
    },
    ov,
  };
}

export function phiReference(weights: Weights, config: Config): ReferenceModel {
  const w = reader(weights);
  const d = config.hidden_size as number;
  const nHeads = config.num_attention_heads as number;
  const nKvHeads = (config.num_key_value_heads as number | undefined) ?? nHeads;
  const dHead = d / nHeads;
  const blocks = Array.from({ length: config.num_hidden_layers as number }, (_, layer) => {
    const p = `layers.${layer}`;
    const names = {
      norm: `${p}.input_layernorm`,
      fcIn: `${p}.mlp.fc1`,
      fcOut: `${p}.mlp.fc2`,
      act: (config.hidden_act as string | undefined) ?? 'gelu_new',
      eps: (config.layer_norm_eps as number | undefined) ?? 1e-5,
      d,
      dMlp: config.intermediate_size as number,
    };
    const ov = (h: Vectors) =>
      linear(
        repeatKv(linear(h, w(`${p}.self_attn.v_proj.weight`), 'out_in', nKvHeads * dHead), nHeads, nKvHeads, dHead),
        w(`${p}.self_attn.dense.weight`),
        'out_in',
        d,
      );
    return parallelLayerNormBlock(w, names, ov);
  });
  return { normalization: 'layernorm', d, blocks, parallel: true };
}

export function gptjReference(weights: Weights, config: Config): ReferenceModel {
  const w = reader(weights);
  const d = config.n_embd as number;
  const blocks = Array.from({ length: config.n_layer as number }, (_, layer) => {
    const p = `h.${layer}`;
    const names = {
      norm: `${p}.ln_1`,
      fcIn: `${p}.mlp.fc_in`,
      fcOut: `${p}.mlp.fc_out`,
      act: (config.activation_function as string | undefined) ?? 'gelu_new',
      eps: (config.layer_norm_epsilon as number | undefined) ?? 1e-5,
      d,
      dMlp: (config.n_inner as number | null | undefined) ?? 4 * d,
    };
    const ov = (h: Vectors) => linear(linear(h, w(`${p}.attn.v_proj.weight`), 'out_in', d), w(`${p}.attn.out_proj.weight`), 'out_in', d);
    return parallelLayerNormBlock(w, names, ov);
  });
  return { normalization: 'layernorm', d, blocks, parallel: true };
}

/** Phi-3: RMSNorm blocks; gate_up_proj's rows are [gate | up], qkv_proj's [q | k | v]. */
export function phi3Reference(weights: Weights, config: Config): ReferenceModel {
  const w = reader(weights);
  const d = config.hidden_size as number;
  const nHeads = config.num_attention_heads as number;
  const nKvHeads = (config.num_key_value_heads as number | undefined) ?? nHeads;
  const dHead = d / nHeads;
  const dMlp = config.intermediate_size as number;
  const eps = (config.rms_norm_eps as number | undefined) ?? 1e-5;
  const act = (config.hidden_act as string | undefined) ?? 'silu';
  const rowsOf = (name: string, first: number, count: number) => w(name).subarray(first * d, (first + count) * d);
  const blocks = Array.from({ length: config.num_hidden_layers as number }, (_, layer): ReferenceBlockFns => {
    const p = `layers.${layer}`;
    const gate = rowsOf(`${p}.mlp.gate_up_proj.weight`, 0, dMlp);
    const up = rowsOf(`${p}.mlp.gate_up_proj.weight`, dMlp, dMlp);
    const down = w(`${p}.mlp.down_proj.weight`);
    return {
      gain1: w(`${p}.input_layernorm.weight`),
      gain2: w(`${p}.post_attention_layernorm.weight`),
      mlpLinear: (h) => linear(linear(h, up, 'out_in', dMlp), down, 'out_in', d),
      bInWOut: () => undefined,
      norm1: (x) => rmsNorm(x, w(`${p}.input_layernorm.weight`), eps),
      norm2: (x) => rmsNorm(x, w(`${p}.post_attention_layernorm.weight`), eps),
      mlp: (h) => {
        const pre = linear(h, gate, 'out_in', dMlp);
        const upped = linear(h, up, 'out_in', dMlp);
        return {
          pre,
          out: linear(
            pre.map((row, t) => row.map((v, i) => activation(act, v) * upped[t]![i]!)),
            down,
            'out_in',
            d,
          ),
        };
      },
      ov: (h) => {
        const v = linear(h, rowsOf(`${p}.self_attn.qkv_proj.weight`, (nHeads + nKvHeads) * dHead, nKvHeads * dHead), 'out_in', nKvHeads * dHead);
        return linear(repeatKv(v, nHeads, nKvHeads, dHead), w(`${p}.self_attn.o_proj.weight`), 'out_in', d);
      },
    };
  });
  return { normalization: 'rmsnorm', d, blocks, parallel: false };
}

/** Mixtral: RMSNorm blocks whose MLP is the routed mixture (reference-mixtral.ts); each expert's W_in is w3 (up), W_out w2. */
export function mixtralReference(weights: Weights, config: Config): ReferenceModel {
  const w = reader(weights);
  const d = config.hidden_size as number;
  const nHeads = config.num_attention_heads as number;
  const nKvHeads = (config.num_key_value_heads as number | undefined) ?? nHeads;
  const dHead = d / nHeads;
  const dMlp = config.intermediate_size as number;
  const nExperts = (config.num_local_experts as number | undefined) ?? 8;
  const eps = (config.rms_norm_eps as number | undefined) ?? 1e-5;
  const blocks = Array.from({ length: config.num_hidden_layers as number }, (_, layer): ReferenceBlockFns => {
    const p = `layers.${layer}`;
    const experts = Array.from({ length: nExperts }, (_, e) => {
      const expert = `${p}.block_sparse_moe.experts.${e}`;
      return {
        mlpLinear: (h: Vectors) => linear(linear(h, w(`${expert}.w3.weight`), 'out_in', dMlp), w(`${expert}.w2.weight`), 'out_in', d),
        bInWOut: () => undefined,
      };
    });
    return {
      gain1: w(`${p}.input_layernorm.weight`),
      gain2: w(`${p}.post_attention_layernorm.weight`),
      mlpLinear: experts[0]!.mlpLinear,
      bInWOut: () => undefined,
      experts,
      norm1: (x) => rmsNorm(x, w(`${p}.input_layernorm.weight`), eps),
      norm2: (x) => rmsNorm(x, w(`${p}.post_attention_layernorm.weight`), eps),
      mlp: (h) => {
        const routed = referenceMoe(weights, config, p, h);
        return { out: routed.out, active: routed.active };
      },
      ov: (h) =>
        linear(
          repeatKv(linear(h, w(`${p}.self_attn.v_proj.weight`), 'out_in', nKvHeads * dHead), nHeads, nKvHeads, dHead),
          w(`${p}.self_attn.o_proj.weight`),
          'out_in',
          d,
        ),
    };
  });
  return { normalization: 'rmsnorm', d, blocks, parallel: false };
}
