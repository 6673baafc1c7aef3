/**
 * Independent plain-TypeScript versions of what `mechanisms` computes, per architecture, read
 * from a tiny model's weights by their Hugging Face names (nothing shared with the graph
 * builder or the adapters): each block's norms, its MLP (pre-activations and output) and
 * Σ_h W_OV^h x, plus the real-prompt pass through the reference forward passes (their hook
 * vectors, seen through withHookTap).
 */
import type { HookName } from '../../src/vocabulary/hooks.js';
import { gemmaRmsNorm } from './reference-gemma.js';
import { gptjReference, mixtralReference, phi3Reference, phiReference } from './reference-mechanisms-families.js';
import { olmoReference } from './reference-mechanisms-olmo.js';
import { activation, layerNorm, linear, mapValues, rmsNorm, withHookTap, type HookNorms, type Vectors } from './reference-ops.js';

export type Architecture =
  | 'gpt2'
  | 'gpt_neo'
  | 'opt'
  | 'gpt_neox'
  | 'llama'
  | 'gemma'
  | 'gemma2'
  | 'gemma3_text'
  | 'qwen3'
  | 'phi'
  | 'phi3'
  | 'gptj'
  | 'olmo'
  | 'olmo2'
  | 'mixtral';

export interface ReferenceBlockFns {
  /** The attention input norm; without its bias when `withBias` is false. */
  norm1(x: Vectors, withBias: boolean): Vectors;
  norm2(x: Vectors): Vectors;
  /**
   * pre: the MLP's pre-activations (the gate's, for gated MLPs); out: its output; active, for a
   * mixture of experts (which has no one pre): each row's router-weighted active fraction.
   */
  mlp(h: Vectors): { pre?: Vectors; out: Vectors; active?: number[] };
  /** A mixture of experts: each expert's h·W_in·W_out and b_in·W_out (its products; the layer's are √(Σ_e ·²)). */
  experts?: Array<Pick<ReferenceBlockFns, 'mlpLinear' | 'bInWOut'>>;
  /** Σ_h W_OV^h h with the stored weights, no biases. */
  ov(h: Vectors): Vectors;
  /** The norm's gain before attention. */
  gain1: Float32Array;
  /** The MLP's norm's gain and bias. */
  gain2: Float32Array;
  bias2?: Float32Array;
  /** h·W_in·W_out with the stored weights, no biases, no nonlinearity (W_in: the up projection of gated MLPs). */
  mlpLinear(h: Vectors): Vectors;
  /** b_in·W_out, or undefined without b_in. */
  bInWOut(): Float64Array | undefined;
  /** Post-sublayer norms (Gemma 2): what attention / the MLP adds passes through them. */
  post1?(x: Vectors): Vectors;
  post2?(x: Vectors): Vectors;
}

export interface ReferenceModel {
  normalization: 'layernorm' | 'rmsnorm';
  d: number;
  blocks: ReferenceBlockFns[];
  parallel: boolean;
}

const columns = (x: Vectors, from: number, to: number): Vectors => x.map((row) => row.slice(from, to));

export function referenceModel(architecture: Architecture, weights: Map<string, Float32Array>, config: Record<string, unknown>): ReferenceModel {
  const w = (name: string) => {
    const value = weights.get(name);
    if (!value) throw new Error(`reference: missing ${name}`);
    return value;
  };
  const optional = (name: string) => weights.get(name);
  const blocks: ReferenceBlockFns[] = [];
  switch (architecture) {
    case 'phi':
      return phiReference(weights, config);
    case 'phi3':
      return phi3Reference(weights, config);
    case 'gptj':
      return gptjReference(weights, config);
    case 'mixtral':
      return mixtralReference(weights, config);
    case 'gpt2':
    case 'gpt_neo': {
      const d = (config.n_embd ?? config.hidden_size) as number;
      const eps = (config.layer_norm_epsilon as number | undefined) ?? 1e-5;
      const act = (config.activation_function as string | undefined) ?? 'gelu_new';
      const nLayers = (config.n_layer ?? config.num_layers) as number;
      const layout = architecture === 'gpt2' ? 'in_out' : 'out_in';
      for (let layer = 0; layer < nLayers; layer += 1) {
        const p = `h.${layer}`;
        const dMlp = w(`${p}.mlp.c_fc.bias`).length;
        blocks.push({
          gain1: w(`${p}.ln_1.weight`),
          gain2: w(`${p}.ln_2.weight`),
          bias2: w(`${p}.ln_2.bias`),
          mlpLinear: (h) => linear(linear(h, w(`${p}.mlp.c_fc.weight`), layout, dMlp), w(`${p}.mlp.c_proj.weight`), layout, d),
          bInWOut: () => linear([Float64Array.from(w(`${p}.mlp.c_fc.bias`))], w(`${p}.mlp.c_proj.weight`), layout, d)[0],
          norm1: (x, withBias) => layerNorm(x, w(`${p}.ln_1.weight`), withBias ? w(`${p}.ln_1.bias`) : undefined, eps),
          norm2: (x) => layerNorm(x, w(`${p}.ln_2.weight`), w(`${p}.ln_2.bias`), eps),
          mlp: (h) => {
            const pre = linear(h, w(`${p}.mlp.c_fc.weight`), layout, dMlp, w(`${p}.mlp.c_fc.bias`));
            return {
              pre,
              out: linear(
                mapValues(pre, (v) => activation(act, v)),
                w(`${p}.mlp.c_proj.weight`),
                layout,
                d,
                w(`${p}.mlp.c_proj.bias`),
              ),
            };
          },
          ov: (h) =>
            architecture === 'gpt2'
              ? linear(columns(linear(h, w(`${p}.attn.c_attn.weight`), 'in_out', 3 * d), 2 * d, 3 * d), w(`${p}.attn.c_proj.weight`), 'in_out', d)
              : linear(linear(h, w(`${p}.attn.attention.v_proj.weight`), 'out_in', d), w(`${p}.attn.attention.out_proj.weight`), 'out_in', d),
        });
      }
      return { normalization: 'layernorm', d, blocks, parallel: false };
    }
    case 'opt': {
      const d = config.hidden_size as number;
      const dMlp = config.ffn_dim as number;
      const act = config.activation_function as string;
      const bias = (name: string) => (config.enable_bias === false ? undefined : w(name));
      for (let layer = 0; layer < (config.num_hidden_layers as number); layer += 1) {
        const p = `layers.${layer}`;
        blocks.push({
          gain1: w(`${p}.self_attn_layer_norm.weight`),
          gain2: w(`${p}.final_layer_norm.weight`),
          ...(optional(`${p}.final_layer_norm.bias`) ? { bias2: w(`${p}.final_layer_norm.bias`) } : {}),
          mlpLinear: (h) => linear(linear(h, w(`${p}.fc1.weight`), 'out_in', dMlp), w(`${p}.fc2.weight`), 'out_in', d),
          bInWOut: () => (bias(`${p}.fc1.bias`) ? linear([Float64Array.from(w(`${p}.fc1.bias`))], w(`${p}.fc2.weight`), 'out_in', d)[0] : undefined),
          norm1: (x, withBias) => layerNorm(x, w(`${p}.self_attn_layer_norm.weight`), withBias ? optional(`${p}.self_attn_layer_norm.bias`) : undefined, 1e-5),
          norm2: (x) => layerNorm(x, w(`${p}.final_layer_norm.weight`), optional(`${p}.final_layer_norm.bias`), 1e-5),
          mlp: (h) => {
            const pre = linear(h, w(`${p}.fc1.weight`), 'out_in', dMlp, bias(`${p}.fc1.bias`));
            return {
              pre,
              out: linear(
                mapValues(pre, (v) => activation(act, v)),
                w(`${p}.fc2.weight`),
                'out_in',
                d,
                bias(`${p}.fc2.bias`),
              ),
            };
          },
          ov: (h) => linear(linear(h, w(`${p}.self_attn.v_proj.weight`), 'out_in', d), w(`${p}.self_attn.out_proj.weight`), 'out_in', d),
        });
      }
      return { normalization: 'layernorm', d, blocks, parallel: false };
    }
    case 'gpt_neox': {
      const d = config.hidden_size as number;
      const nHeads = config.num_attention_heads as number;
      const dHead = d / nHeads;
      const dMlp = config.intermediate_size as number;
      const eps = (config.layer_norm_eps as number | undefined) ?? 1e-5;
      const act = (config.hidden_act as string | undefined) ?? 'gelu';
      for (let layer = 0; layer < (config.num_hidden_layers as number); layer += 1) {
        const p = `layers.${layer}`;
        blocks.push({
          gain1: w(`${p}.input_layernorm.weight`),
          gain2: w(`${p}.post_attention_layernorm.weight`),
          bias2: w(`${p}.post_attention_layernorm.bias`),
          mlpLinear: (h) => linear(linear(h, w(`${p}.mlp.dense_h_to_4h.weight`), 'out_in', dMlp), w(`${p}.mlp.dense_4h_to_h.weight`), 'out_in', d),
          bInWOut: () => linear([Float64Array.from(w(`${p}.mlp.dense_h_to_4h.bias`))], w(`${p}.mlp.dense_4h_to_h.weight`), 'out_in', d)[0],
          norm1: (x, withBias) => layerNorm(x, w(`${p}.input_layernorm.weight`), withBias ? w(`${p}.input_layernorm.bias`) : undefined, eps),
          norm2: (x) => layerNorm(x, w(`${p}.post_attention_layernorm.weight`), w(`${p}.post_attention_layernorm.bias`), eps),
          mlp: (h) => {
            const pre = linear(h, w(`${p}.mlp.dense_h_to_4h.weight`), 'out_in', dMlp, w(`${p}.mlp.dense_h_to_4h.bias`));
            return {
              pre,
              out: linear(
                mapValues(pre, (v) => activation(act, v)),
                w(`${p}.mlp.dense_4h_to_h.weight`),
                'out_in',
                d,
                w(`${p}.mlp.dense_4h_to_h.bias`),
              ),
            };
          },
          ov: (h) => {
            // rows of query_key_value are [head][q | k | v][dHead]
            const fused = linear(h, w(`${p}.attention.query_key_value.weight`), 'out_in', 3 * d);
            const v = fused.map((row) => Float64Array.from({ length: d }, (_, i) => row[Math.floor(i / dHead) * 3 * dHead + 2 * dHead + (i % dHead)]!));
            return linear(v, w(`${p}.attention.dense.weight`), 'out_in', d);
          },
        });
      }
      return { normalization: 'layernorm', d, blocks, parallel: (config.use_parallel_residual as boolean | undefined) ?? true };
    }
    case 'gemma':
    case 'gemma2':
    // Gemma 3's q/k norms sit on the query-key path, which no probe reads: its blocks are Gemma 2's here.
    case 'gemma3_text': {
      // modeling_gemma / modeling_gemma2: norms apply 1 + w; GeGLU with the tanh GELU; Gemma 2's
      // post_attention_layernorm / post_feedforward_layernorm on each sub-block's output.
      const gemma2 = architecture !== 'gemma';
      const d = config.hidden_size as number;
      const nHeads = config.num_attention_heads as number;
      const nKvHeads = (config.num_key_value_heads as number | undefined) ?? nHeads;
      const dHead = (config.head_dim as number | undefined) ?? 256;
      const dMlp = config.intermediate_size as number;
      const eps = (config.rms_norm_eps as number | undefined) ?? 1e-6;
      const act = (config.hidden_activation as string | undefined) ?? 'gelu_pytorch_tanh';
      const groups = nHeads / nKvHeads;
      for (let layer = 0; layer < (config.num_hidden_layers as number); layer += 1) {
        const p = `layers.${layer}`;
        const project = (x: Vectors, name: string, dOut: number, withBias = true) =>
          linear(x, w(`${name}.weight`), 'out_in', dOut, withBias ? optional(`${name}.bias`) : undefined);
        const gain = (name: string) => Float32Array.from(w(`${p}.${name}.weight`), (v) => 1 + v);
        const mlpNorm = gemma2 ? 'pre_feedforward_layernorm' : 'post_attention_layernorm';
        blocks.push({
          gain1: gain('input_layernorm'),
          gain2: gain(mlpNorm),
          mlpLinear: (h) => project(project(h, `${p}.mlp.up_proj`, dMlp, false), `${p}.mlp.down_proj`, d, false),
          bInWOut: () => undefined,
          norm1: (x) => gemmaRmsNorm(x, w(`${p}.input_layernorm.weight`), eps),
          norm2: (x) => gemmaRmsNorm(x, w(`${p}.${mlpNorm}.weight`), eps),
          mlp: (h) => {
            const pre = project(h, `${p}.mlp.gate_proj`, dMlp);
            const up = project(h, `${p}.mlp.up_proj`, dMlp);
            const hidden = pre.map((row, t) => row.map((v, i) => activation(act, v) * up[t]![i]!));
            return { pre, out: project(hidden, `${p}.mlp.down_proj`, d) };
          },
          ov: (h) => {
            const v = project(h, `${p}.self_attn.v_proj`, nKvHeads * dHead, false);
            const z = v.map((row) =>
              Float64Array.from({ length: nHeads * dHead }, (_, i) => row[Math.floor(Math.floor(i / dHead) / groups) * dHead + (i % dHead)]!),
            );
            return project(z, `${p}.self_attn.o_proj`, d, false);
          },
          ...(gemma2
            ? {
                post1: (x: Vectors) => gemmaRmsNorm(x, w(`${p}.post_attention_layernorm.weight`), eps),
                post2: (x: Vectors) => gemmaRmsNorm(x, w(`${p}.post_feedforward_layernorm.weight`), eps),
              }
            : {}),
        });
      }
      return { normalization: 'rmsnorm', d, blocks, parallel: false };
    }
    case 'olmo':
    case 'olmo2':
      return olmoReference(weights, config, architecture === 'olmo2');
    // Qwen3's q/k norms sit on the query-key path, which no probe reads: its blocks are Llama's here.
    case 'qwen3':
    case 'llama': {
      const d = config.hidden_size as number;
      const nHeads = config.num_attention_heads as number;
      const nKvHeads = (config.num_key_value_heads as number | undefined) ?? nHeads;
      const dHead = (config.head_dim as number | undefined) ?? Math.floor(d / nHeads);
      const dMlp = config.intermediate_size as number;
      const eps = (config.rms_norm_eps as number | undefined) ?? 1e-6;
      const act = (config.hidden_act as string | undefined) ?? 'silu';
      const groups = nHeads / nKvHeads;
      for (let layer = 0; layer < (config.num_hidden_layers as number); layer += 1) {
        const p = `layers.${layer}`;
        const project = (x: Vectors, name: string, dOut: number, withBias = true) =>
          linear(x, w(`${name}.weight`), 'out_in', dOut, withBias ? optional(`${name}.bias`) : undefined);
        blocks.push({
          gain1: w(`${p}.input_layernorm.weight`),
          gain2: w(`${p}.post_attention_layernorm.weight`),
          mlpLinear: (h) => project(project(h, `${p}.mlp.up_proj`, dMlp, false), `${p}.mlp.down_proj`, d, false),
          bInWOut: () =>
            optional(`${p}.mlp.up_proj.bias`) ? project([Float64Array.from(w(`${p}.mlp.up_proj.bias`))], `${p}.mlp.down_proj`, d, false)[0] : undefined,
          norm1: (x) => rmsNorm(x, w(`${p}.input_layernorm.weight`), eps),
          norm2: (x) => rmsNorm(x, w(`${p}.post_attention_layernorm.weight`), eps),
          mlp: (h) => {
            const pre = project(h, `${p}.mlp.gate_proj`, dMlp);
            const up = project(h, `${p}.mlp.up_proj`, dMlp);
            const hidden = pre.map((row, t) => row.map((v, i) => activation(act, v) * up[t]![i]!));
            return { pre, out: project(hidden, `${p}.mlp.down_proj`, d) };
          },
          ov: (h) => {
            const v = project(h, `${p}.self_attn.v_proj`, nKvHeads * dHead, false);
            // query head q reads kv head ⌊q / groups⌋
            const z = v.map((row) =>
              Float64Array.from({ length: nHeads * dHead }, (_, i) => row[Math.floor(Math.floor(i / dHead) / groups) * dHead + (i % dHead)]!),
            );
            return project(z, `${p}.self_attn.o_proj`, d, false);
          },
        });
      }
      return { normalization: 'rmsnorm', d, blocks, parallel: false };
    }
  }
}

/** ‖x‖ as the file reports it: centered for LayerNorm models, raw for RMSNorm ones. */
export function referenceNorm(row: Float64Array, centered: boolean): number {
  const mean = centered ? row.reduce((a, b) => a + b, 0) / row.length : 0;
  return Math.sqrt(row.reduce((a, b) => a + (b - mean) ** 2, 0));
}

export function fractionPositive(row: Float64Array): number {
  return row.reduce((count, v) => count + (v > 0 ? 1 : 0), 0) / row.length;
}

/** Per-sample probe values of one block on [n][d] inputs, as the probe graph defines them. */
export function referenceProbe(model: ReferenceModel, layer: number, x: Vectors): { mlpNorm: number[]; active: number[]; ovNorm: number[] } {
  const block = model.blocks[layer]!;
  const centered = model.normalization === 'layernorm';
  const mlp = block.mlp(block.norm2(x));
  const written = block.post2 ? block.post2(mlp.out) : mlp.out;
  const ov = block.ov(block.norm1(x, false));
  const ovWritten = block.post1 ? block.post1(ov) : ov;
  return {
    mlpNorm: written.map((row) => referenceNorm(row, centered)),
    active: activeFractions(mlp),
    ovNorm: ovWritten.map((row) => referenceNorm(row, centered)),
  };
}

/** The active fraction of each row of an MLP's result: its own for a mixture, else of its pre-activations. */
export function activeFractions(mlp: ReturnType<ReferenceBlockFns['mlp']>): number[] {
  return mlp.active ?? mlp.pre!.map(fractionPositive);
}

/**
 * The real-prompt pass: the reference forward pass of one prompt, returning per layer the MLP
 * input of every position (resid_mid; resid_pre in parallel blocks) and its hook norms.
 */
export function referenceRun(model: ReferenceModel, forward: () => HookNorms): { mlpInputs: Vectors[]; norms: HookNorms } {
  const mlpInputs: Vectors[] = [];
  const wanted: HookName = model.parallel ? 'resid_pre' : 'resid_mid';
  const norms = withHookTap((hook, layer, x) => {
    if (hook === wanted) mlpInputs[layer] = x.map((row) => Float64Array.from(row));
  }, forward);
  return { mlpInputs, norms };
}

/** T = Σ_h W_OV^h of the stored weights as a [d][d] matrix (rows: inputs e_i). */
export function ovMatrix(model: ReferenceModel, layer: number): number[][] {
  const identity = Array.from({ length: model.d }, (_, i) => Float64Array.from({ length: model.d }, (_, j) => (i === j ? 1 : 0)));
  return model.blocks[layer]!.ov(identity).map((row) => Array.from(row));
}

/**
 * E‖Σ_h W_OV^h x‖² for x = norm1 without bias of z ~ N(0, I), by algebra: LayerNorm makes
 * z's direction uniform in the mean-zero subspace, E[x xᵀ] = d/(d−1)·G C G (G = diag(gain),
 * C = I − 11ᵀ/d), so the expectation is d/(d−1)·‖C G T C‖_F²; RMSNorm gives E[x xᵀ] = G², so ‖G T‖_F².
 */
export function expectedOvSquare(model: ReferenceModel, layer: number): number {
  const t = ovMatrix(model, layer);
  const gain = model.blocks[layer]!.gain1;
  const d = model.d;
  let m = t.map((row, i) => row.map((v) => v * gain[i]!));
  if (model.normalization === 'rmsnorm') return m.flat().reduce((a, b) => a + b * b, 0);
  const columnMeans = m[0]!.map((_, j) => m.reduce((a, row) => a + row[j]!, 0) / d);
  m = m.map((row) => row.map((v, j) => v - columnMeans[j]!));
  m = m.map((row) => {
    const mean = row.reduce((a, b) => a + b, 0) / d;
    return row.map((v) => v - mean);
  });
  return (d / (d - 1)) * m.flat().reduce((a, b) => a + b * b, 0);
}

function frobeniusSquare(m: ArrayLike<number>[]): number {
  return m.reduce((total, row) => total + Array.from(row).reduce((a, b) => a + b * b, 0), 0);
}

const centerRow = (row: number[]): number[] => {
  const mean = row.reduce((a, b) => a + b, 0) / row.length;
  return row.map((v) => v - mean);
};

/**
 * ‖W_in·W_out‖_F and ‖b_in·W_out‖ of a block, raw and after TransformerLens's processing written
 * out: W_in → C·G·W_in, W_out → W_out·C, b_in → b_in + b_norm·W_in (C only for LayerNorm).
 */
export function referenceMlpProducts(model: ReferenceModel, layer: number): Record<'raw' | 'processed', { W_inW_out: number; b_inW_out: number | null }> {
  const block = model.blocks[layer]!;
  if (block.experts) {
    // The layer's value of a mixture: the norm of all experts' products together.
    const each = block.experts.map((expert) => referenceMlpProducts({ ...model, blocks: [{ ...block, ...expert, experts: undefined }] }, 0));
    const root = (values: Array<number | null>) =>
      values.every((value) => value === null) ? null : Math.sqrt(values.reduce<number>((sum, value) => sum + (value ?? 0) ** 2, 0));
    const variant = (which: 'raw' | 'processed') => ({
      W_inW_out: root(each.map((e) => e[which].W_inW_out))!,
      b_inW_out: root(each.map((e) => e[which].b_inW_out)),
    });
    return { raw: variant('raw'), processed: variant('processed') };
  }
  const d = model.d;
  const ln = model.normalization === 'layernorm';
  const identity = Array.from({ length: d }, (_, i) => Float64Array.from({ length: d }, (_, j) => (i === j ? 1 : 0)));
  const product = block.mlpLinear(identity).map((row) => Array.from(row)); // [d][d]
  let processed = product.map((row, i) => row.map((v) => v * block.gain2[i]!));
  if (ln) {
    const columnMeans = processed[0]!.map((_, j) => processed.reduce((a, row) => a + row[j]!, 0) / d);
    processed = processed.map((row) => centerRow(row.map((v, j) => v - columnMeans[j]!)));
  }
  const bIn = block.bInWOut();
  let bProcessed: number[] | undefined = bIn === undefined ? undefined : Array.from(bIn);
  if (ln && block.bias2 !== undefined) {
    const folded = Array.from(block.mlpLinear([Float64Array.from(block.bias2)])[0]!);
    bProcessed = folded.map((v, j) => v + (bProcessed?.[j] ?? 0));
  }
  if (ln && bProcessed !== undefined) bProcessed = centerRow(bProcessed);
  return {
    raw: { W_inW_out: Math.sqrt(frobeniusSquare(product)), b_inW_out: bIn === undefined ? null : Math.sqrt(frobeniusSquare([bIn])) },
    processed: { W_inW_out: Math.sqrt(frobeniusSquare(processed)), b_inW_out: bProcessed === undefined ? null : Math.sqrt(frobeniusSquare([bProcessed])) },
  };
}
