/**
 * An independent GPT-2 forward pass in plain TypeScript: loops over typed arrays in float64,
 * written from the Hugging Face modeling code's definition, sharing nothing with the ONNX
 * graph builder. Returns the raw and centered norm of every hook, [layer][position].
 */
import type { HookName } from '../../src/results/schema.js';

export type HookNorms = Record<HookName, { raw: number[][]; centered: number[][] }>;

type Vectors = Float64Array[]; // [position][feature]

function layerNorm(x: Vectors, weight: Float32Array, bias: Float32Array, eps: number): Vectors {
  return x.map((row) => {
    const mean = row.reduce((a, b) => a + b, 0) / row.length;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / row.length;
    const inv = 1 / Math.sqrt(variance + eps);
    return row.map((v, i) => (v - mean) * inv * weight[i]! + bias[i]!);
  });
}

/** x [pos, dIn] · W [dIn, dOut] (Conv1D layout) + b */
function conv1d(x: Vectors, weight: Float32Array, bias: Float32Array, dOut: number): Vectors {
  return x.map((row) => {
    const out = new Float64Array(dOut);
    for (let o = 0; o < dOut; o += 1) out[o] = bias[o]!;
    row.forEach((value, i) => {
      for (let o = 0; o < dOut; o += 1) out[o]! += value * weight[i * dOut + o]!;
    });
    return out;
  });
}

function activation(name: string, v: number): number {
  switch (name) {
    case 'gelu_new':
      return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    case 'relu':
      return Math.max(0, v);
    default:
      throw new Error(`reference: activation ${name} not implemented`);
  }
}

function norms(x: Vectors): { raw: number[]; centered: number[] } {
  return {
    raw: x.map((row) => Math.sqrt(row.reduce((a, b) => a + b * b, 0))),
    centered: x.map((row) => {
      const mean = row.reduce((a, b) => a + b, 0) / row.length;
      return Math.sqrt(row.reduce((a, b) => a + (b - mean) ** 2, 0));
    }),
  };
}

const add = (a: Vectors, b: Vectors): Vectors => a.map((row, p) => row.map((v, i) => v + b[p]![i]!));

export function referenceGpt2(weights: Map<string, Float32Array>, config: Record<string, unknown>, ids: number[]): HookNorms {
  const d = config.n_embd as number;
  const nHeads = config.n_head as number;
  const dHead = d / nHeads;
  const nLayers = config.n_layer as number;
  const eps = (config.layer_norm_epsilon as number) ?? 1e-5;
  const act = (config.activation_function as string) ?? 'gelu_new';
  const w = (name: string) => {
    const value = weights.get(name);
    if (!value) throw new Error(`reference: missing ${name}`);
    return value;
  };
  const result = {} as HookNorms;
  for (const hook of ['resid_pre', 'attn_out', 'resid_mid', 'mlp_out', 'resid_post'] as HookName[]) result[hook] = { raw: [], centered: [] };
  const record = (hook: HookName, x: Vectors) => {
    const n = norms(x);
    result[hook].raw.push(n.raw);
    result[hook].centered.push(n.centered);
  };

  const wte = w('wte.weight');
  const wpe = w('wpe.weight');
  let x: Vectors = ids.map((id, p) => Float64Array.from({ length: d }, (_, i) => wte[id * d + i]! + wpe[p * d + i]!));
  for (let layer = 0; layer < nLayers; layer += 1) {
    const p = `h.${layer}`;
    record('resid_pre', x);
    const h = layerNorm(x, w(`${p}.ln_1.weight`), w(`${p}.ln_1.bias`), eps);
    const qkv = conv1d(h, w(`${p}.attn.c_attn.weight`), w(`${p}.attn.c_attn.bias`), 3 * d);
    const z: Vectors = x.map(() => new Float64Array(d));
    for (let head = 0; head < nHeads; head += 1) {
      const q = (t: number, i: number) => qkv[t]![head * dHead + i]!;
      const k = (t: number, i: number) => qkv[t]![d + head * dHead + i]!;
      const v = (t: number, i: number) => qkv[t]![2 * d + head * dHead + i]!;
      for (let t = 0; t < x.length; t += 1) {
        const scores: number[] = [];
        for (let s = 0; s <= t; s += 1) {
          let dot = 0;
          for (let i = 0; i < dHead; i += 1) dot += q(t, i) * k(s, i);
          scores.push(dot / Math.sqrt(dHead));
        }
        const max = Math.max(...scores);
        const exps = scores.map((sc) => Math.exp(sc - max));
        const total = exps.reduce((a, b) => a + b, 0);
        for (let s = 0; s <= t; s += 1) {
          for (let i = 0; i < dHead; i += 1) z[t]![head * dHead + i]! += (exps[s]! / total) * v(s, i);
        }
      }
    }
    const attnOut = conv1d(z, w(`${p}.attn.c_proj.weight`), w(`${p}.attn.c_proj.bias`), d);
    record('attn_out', attnOut);
    const mid = add(x, attnOut);
    record('resid_mid', mid);
    const h2 = layerNorm(mid, w(`${p}.ln_2.weight`), w(`${p}.ln_2.bias`), eps);
    const dMlp = w(`${p}.mlp.c_fc.bias`).length;
    const hidden = conv1d(h2, w(`${p}.mlp.c_fc.weight`), w(`${p}.mlp.c_fc.bias`), dMlp).map((row) => row.map((v) => activation(act, v)));
    const mlpOut = conv1d(hidden, w(`${p}.mlp.c_proj.weight`), w(`${p}.mlp.c_proj.bias`), d);
    record('mlp_out', mlpOut);
    x = add(mid, mlpOut);
    record('resid_post', x);
  }
  return result;
}
