/**
 * Plain-TypeScript building blocks for reference forward passes: float64 loops over
 * [position][feature] arrays, written from the Hugging Face modeling code, sharing nothing with
 * the ONNX graph builder. Each architecture's reference (reference-*.ts) composes these.
 */
import type { HookName } from '../../src/vocabulary/hooks.js';

/** [position][feature] */
export type Vectors = Float64Array[];

export type HookNorms = Record<HookName, { raw: number[][]; centered: number[][] }>;

export function emptyHookNorms(): HookNorms {
  const result = {} as HookNorms;
  for (const hook of ['resid_pre', 'attn_out', 'resid_mid', 'mlp_out', 'resid_post'] as HookName[]) result[hook] = { raw: [], centered: [] };
  return result;
}

/** Sees every hook's vectors while a reference forward pass runs inside withHookTap. */
type HookTap = (hook: HookName, layer: number, x: Vectors) => void;
let activeTap: HookTap | undefined;

/** Run a reference forward pass (synchronous) with `tap` called at every hook point with its vectors. */
export function withHookTap<T>(tap: HookTap, run: () => T): T {
  activeTap = tap;
  try {
    return run();
  } finally {
    activeTap = undefined;
  }
}

/** Append the raw and centered norm of every position of x as the next layer of `hook`. */
export function recordNorms(result: HookNorms, hook: HookName, x: Vectors): void {
  activeTap?.(hook, result[hook].raw.length, x);
  result[hook].raw.push(x.map((row) => Math.sqrt(row.reduce((a, b) => a + b * b, 0))));
  result[hook].centered.push(
    x.map((row) => {
      const mean = row.reduce((a, b) => a + b, 0) / row.length;
      return Math.sqrt(row.reduce((a, b) => a + (b - mean) ** 2, 0));
    }),
  );
}

export function add(a: Vectors, b: Vectors): Vectors {
  return a.map((row, p) => row.map((v, i) => v + b[p]![i]!));
}

export function layerNorm(x: Vectors, weight: Float32Array, bias: Float32Array | undefined, eps: number): Vectors {
  return x.map((row) => {
    const mean = row.reduce((a, b) => a + b, 0) / row.length;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / row.length;
    const inv = 1 / Math.sqrt(variance + eps);
    return row.map((v, i) => (v - mean) * inv * weight[i]! + (bias ? bias[i]! : 0));
  });
}

export function rmsNorm(x: Vectors, weight: Float32Array, eps: number): Vectors {
  return x.map((row) => {
    const meanSquare = row.reduce((a, b) => a + b * b, 0) / row.length;
    const inv = 1 / Math.sqrt(meanSquare + eps);
    return row.map((v, i) => v * inv * weight[i]!);
  });
}

/**
 * x·W + b. `layout` says how W is stored: 'in_out' = [dIn, dOut] (GPT-2 Conv1D),
 * 'out_in' = [dOut, dIn] (torch nn.Linear).
 */
export function linear(x: Vectors, weight: Float32Array, layout: 'in_out' | 'out_in', dOut: number, bias?: Float32Array): Vectors {
  return x.map((row) => {
    const dIn = row.length;
    const out = new Float64Array(dOut);
    for (let o = 0; o < dOut; o += 1) {
      let sum = bias ? bias[o]! : 0;
      for (let i = 0; i < dIn; i += 1) sum += row[i]! * (layout === 'in_out' ? weight[i * dOut + o]! : weight[o * dIn + i]!);
      out[o] = sum;
    }
    return out;
  });
}

export function activation(name: string, v: number): number {
  switch (name) {
    case 'gelu_new':
    case 'gelu_pytorch_tanh': // torch's gelu(approximate='tanh'): the same formula
      return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    case 'gelu':
      return 0.5 * v * (1 + erf(v / Math.SQRT2));
    case 'relu':
      return Math.max(0, v);
    case 'silu':
      return v / (1 + Math.exp(-v));
    default:
      throw new Error(`reference: activation ${name} not implemented`);
  }
}

/**
 * erf: Taylor series below |x| = 3 (terms stay under ~10³, so ~13 digits survive), and the
 * asymptotic series of erfc above (erfc(3) ≈ 2e-5; six terms leave an absolute error < 1e-9).
 */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 100; n += 1) {
      term *= (-x * x) / n;
      const next = term / (2 * n + 1);
      sum += next;
      if (Math.abs(next) < 1e-17) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  let series = 1;
  let term = 1;
  for (let n = 1; n <= 6; n += 1) {
    term *= -(2 * n - 1) / (2 * ax * ax);
    series += term;
  }
  const erfc = (Math.exp(-ax * ax) / (ax * Math.sqrt(Math.PI))) * series;
  return Math.sign(x) * (1 - erfc);
}

/**
 * Rotary embedding, rotate_half convention, on the first `rotaryDims` features of each head.
 * Feature pair i turns by position·base^(−2i/rotaryDims), or by position·inverseFrequencies[i]
 * when a scaled RoPE variant gives its own frequencies. x: [pos][heads·dHead]
 */
export function applyRotary(x: Vectors, heads: number, dHead: number, rotaryDims: number, base: number, inverseFrequencies?: readonly number[]): Vectors {
  const half = rotaryDims / 2;
  return x.map((row, position) => {
    const out = Float64Array.from(row);
    for (let head = 0; head < heads; head += 1) {
      const offset = head * dHead;
      for (let i = 0; i < half; i += 1) {
        const angle = position * (inverseFrequencies ? inverseFrequencies[i]! : base ** ((-2 * i) / rotaryDims));
        const a = row[offset + i]!;
        const b = row[offset + i + half]!;
        out[offset + i] = a * Math.cos(angle) - b * Math.sin(angle);
        out[offset + i + half] = b * Math.cos(angle) + a * Math.sin(angle);
      }
    }
    return out;
  });
}

/**
 * One block's activations, for the diagnostics reference (reference-diagnostics.ts). Every
 * reference forward pushes one per block when given a trace array.
 */
export interface BlockTrace {
  residPre: Vectors;
  attnOut: Vectors;
  /** Sequential blocks only. */
  residMid?: Vectors;
  mlpOut: Vectors;
  residPost: Vectors;
  /** [head][query][key]: the attention pattern, 0 where a key is not visible (the future, outside a local window). */
  pattern: number[][][];
  /** Heads' outputs before the output projection, [pos][nHeads·dHead]. */
  z: Vectors;
  /**
   * The same with TransformerLens's default processing (fold_ln, then fold_value_biases): the
   * values of LNPre(x)·diag(w)·W_V, without ln1's bias and without b_V, so z_h·W_O,h is
   * from_pretrained's hook_result of head h.
   */
  zFolded: Vectors;
  outWeight: Float32Array;
  outLayout: 'in_out' | 'out_in';
}

export interface AttentionOptions {
  nHeads: number;
  nKvHeads: number;
  dHead: number;
  scale: number;
  /** Local attention: key s is visible from query t when t − window < s ≤ t. */
  window?: number;
  /** Soft-capped scores: cap · tanh(score / cap), after the scale, before the softmax (Gemma 2). */
  softCap?: number;
  /** When given, filled with [head][query][key]: the attention weights (0 where a key is not visible). */
  pattern?: number[][][];
}

/** Causal softmax attention. q: [pos][nHeads·dHead], k and v: [pos][nKvHeads·dHead] → [pos][nHeads·dHead] */
export function causalAttention(q: Vectors, k: Vectors, v: Vectors, options: AttentionOptions): Vectors {
  const { nHeads, nKvHeads, dHead, scale, window, pattern, softCap } = options;
  const groups = nHeads / nKvHeads;
  const z: Vectors = q.map(() => new Float64Array(nHeads * dHead));
  for (let head = 0; head < nHeads; head += 1) {
    const kvHead = Math.floor(head / groups);
    if (pattern) pattern[head] = q.map(() => q.map(() => 0));
    for (let t = 0; t < q.length; t += 1) {
      const first = window === undefined ? 0 : Math.max(0, t - window + 1);
      const scores: number[] = [];
      for (let s = first; s <= t; s += 1) {
        let dot = 0;
        for (let i = 0; i < dHead; i += 1) dot += q[t]![head * dHead + i]! * k[s]![kvHead * dHead + i]!;
        scores.push(softCap === undefined ? dot * scale : softCap * Math.tanh((dot * scale) / softCap));
      }
      const max = Math.max(...scores);
      const exps = scores.map((score) => Math.exp(score - max));
      const total = exps.reduce((a, b) => a + b, 0);
      for (let s = first; s <= t; s += 1) {
        const p = exps[s - first]! / total;
        if (pattern) pattern[head]![t]![s] = p;
        for (let i = 0; i < dHead; i += 1) z[t]![head * dHead + i]! += p * v[s]![kvHead * dHead + i]!;
      }
    }
  }
  return z;
}

/** Split fused [pos][3·d] = [q | k | v] rows into q, k, v. */
export function splitColumns(x: Vectors, sizes: number[]): Vectors[] {
  const parts: Vectors[] = sizes.map(() => []);
  for (const row of x) {
    let start = 0;
    sizes.forEach((size, index) => {
      parts[index]!.push(row.slice(start, start + size));
      start += size;
    });
  }
  return parts;
}

export function mapValues(x: Vectors, f: (v: number) => number): Vectors {
  return x.map((row) => row.map(f));
}

/**
 * A model's output head: the logits of every position, finalNorm(x)·W_Uᵀ. Each reference forward
 * (reference-*.ts) has one, for the logit lens (reference-lens.ts).
 */
export type ReferenceHead = (x: Vectors) => Vectors;

/**
 * The gated MLP with Llama's module names (LlamaMLP, and the families that copied it):
 * down_proj(act(gate_proj(h)) ⊙ up_proj(h)), each projection through the reference's `project`.
 */
export function gatedMlp(
  h: Vectors,
  project: (x: Vectors, name: string, dOut: number) => Vectors,
  prefix: string,
  dMlp: number,
  dModel: number,
  act: string,
): Vectors {
  const gate = mapValues(project(h, `${prefix}.gate_proj`, dMlp), (value) => activation(act, value));
  const up = project(h, `${prefix}.up_proj`, dMlp);
  return project(
    gate.map((row, position) => row.map((value, i) => value * up[position]![i]!)),
    `${prefix}.down_proj`,
    dModel,
  );
}

/** x·W_Uᵀ with W_U stored [dVocab, d] (nn.Linear layout): [pos][d] → [pos][dVocab]. */
export function unembed(x: Vectors, unembedding: Float32Array): Vectors {
  const d = x[0]?.length ?? 1;
  return linear(x, unembedding, 'out_in', unembedding.length / d);
}

/** tie_word_embeddings of a config, with the family's default when it does not say. */
export function tiesWordEmbeddings(config: Record<string, unknown>, fallback: boolean): boolean {
  return typeof config.tie_word_embeddings === 'boolean' ? config.tie_word_embeddings : fallback;
}
