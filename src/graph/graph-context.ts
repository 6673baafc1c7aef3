/**
 * Building blocks shared by every architecture: weights (external, cast to float32 when
 * stored as F16/BF16, with what the model does to them before use), linear layers in either
 * weight layout, LayerNorm / RMSNorm, soft-caps, activations, and the per-token norm
 * reductions that hooks output.
 */
import type { Activation, LinearWeights, NormWeights, TensorRef } from '../architectures/types.js';
import type { TensorInfo } from '../models/index.js';
import type { ExternalDataLayout } from './external-data.js';
import { ElementType, type GraphBuilder, float, int, ints, type ElementTypeValue } from './onnx-builder.js';

const STORED_TYPES: Record<string, ElementTypeValue> = {
  F32: ElementType.float,
  F16: ElementType.float16,
  BF16: ElementType.bfloat16,
};

/**
 * Where a graph's weights come from: external initializers referencing the weight files (the
 * default), or graph inputs fed float32 values at run time (`inputs`: a streamed run feeds one
 * block's weights, src/measure/streamed-run.ts), named weight.0, weight.1 … in order of first use,
 * so blocks of one structure make the same graph.
 */
export type WeightSource = { kind: 'files'; layout: ExternalDataLayout } | { kind: 'inputs' };

export class GraphContext {
  private readonly raw = new Map<string, string>();
  private readonly stored = new Map<string, string>();
  private readonly used = new Map<string, string>();
  /** With weights as inputs: each input's name and the tensor it is fed from, in order of first use. */
  readonly weightInputs: Array<{ input: string; tensor: TensorInfo }> = [];
  private readonly source: WeightSource;
  /** x · (whole fused tensor), by input and tensor: the parts of a fused projection slice it (see linear). */
  private readonly fusedProducts = new Map<string, string>();

  constructor(
    readonly g: GraphBuilder,
    source: ExternalDataLayout | WeightSource,
  ) {
    this.source = 'kind' in source ? source : { kind: 'files', layout: source };
  }

  /**
   * The tensor as the model uses it: its rows (a part of a fused tensor), (stored + offset) · scale
   * in float32 (types.ts TensorRef), the one place the graph reads a description's tensor. `view`
   * selects from the stored tensor first (an embedding lookup, a reshape), which the elementwise
   * use commutes with: a [dVocab, dModel] table is then never scaled whole.
   */
  weight(ref: TensorRef, view?: (stored: string) => string): string {
    const key = `${ref.tensor.name}|${ref.offset ?? 0}|${ref.scale ?? 1}|${ref.rows ? `${ref.rows.start}+${ref.rows.count}` : ''}`;
    if (view === undefined) {
      const cached = this.used.get(key);
      if (cached) return cached;
    }
    let stored = this.storedTensor(ref.tensor);
    if (ref.rows)
      stored = this.g.node(
        'Slice',
        [stored, this.g.intConstant([ref.rows.start]), this.g.intConstant([ref.rows.start + ref.rows.count]), this.g.intConstant([0])],
        {},
        `${stored}.rows${ref.rows.start}`,
      );
    const value = this.use(ref, view === undefined ? stored : view(stored));
    if (view === undefined) this.used.set(key, value);
    return value;
  }

  /**
   * Rows `indices` of the tensor as the model uses it (an embedding lookup): the rows are
   * selected from the stored tensor before it is cast to float32 or scaled, so a half-precision
   * table is never converted whole (ONNX Runtime would fold that Cast into a float32 copy of it).
   */
  rows(ref: TensorRef, indices: string, name: string): string {
    const casts = this.castsToFloat(ref.tensor);
    const stored = ref.rows === undefined || ref.rows.start === 0 ? indices : this.g.node('Add', [indices, this.g.intConstant([ref.rows.start], [])]);
    const selected = this.g.node('Gather', [this.rawTensor(ref.tensor), stored], {}, casts ? `${name}.stored` : name);
    return this.use(ref, casts ? this.g.node('Cast', [selected], { to: int(ElementType.float) }, name) : selected);
  }

  /**
   * Names follow the graph value, never the checkpoint's tensor name: with weights as inputs
   * (`weight.N`) every block of one structure must give the same graph bytes, or each block gets
   * a session (and an arena) of its own (streamed-graphs.ts).
   */
  private use(ref: TensorRef, value: string): string {
    let result = value;
    if (ref.offset !== undefined && ref.offset !== 0) result = this.g.node('Add', [result, this.g.floatConstant([ref.offset], [])], {}, `${value}.offset`);
    if (ref.scale !== undefined && ref.scale !== 1) result = this.g.node('Mul', [result, this.g.floatConstant([ref.scale], [])], {}, `${value}.scaled`);
    return result;
  }

  /** The stored tensor as a graph value in its stored type: an initializer (in place in its file, or inline), or a float32 input. */
  private rawTensor(info: TensorInfo): string {
    const cached = this.raw.get(info.name);
    if (cached) return cached;
    const stored = STORED_TYPES[info.dtype];
    if (stored === undefined) throw new Error(`tensor ${info.name} has dtype ${info.dtype}, not a float weight`);
    let name: string;
    if (this.source.kind === 'inputs') {
      name = this.g.addInput(`weight.${this.weightInputs.length}`, ElementType.float, info.shape, { prunable: true });
      this.weightInputs.push({ input: name, tensor: info });
    } else {
      // A tensor copied out of a PyTorch checkpoint (a non-contiguous view) travels in the graph; every other is referenced in its file.
      const { layout } = this.source;
      name =
        info.data !== undefined
          ? this.g.addInlineInitializer(info.name, stored, info.shape, info.data)
          : this.g.addExternalInitializer(info.name, stored, info.shape, {
              location: layout.locationOf(info.file),
              offset: info.byteOffset,
              length: info.byteLength,
            });
    }
    this.raw.set(info.name, name);
    return name;
  }

  /** Whether the stored tensor is half precision in the graph (weight inputs are fed as float32). */
  private castsToFloat(info: TensorInfo): boolean {
    return this.source.kind === 'files' && STORED_TYPES[info.dtype] !== ElementType.float;
  }

  /** A float32 value holding the stored tensor; bytes referenced in place, cast once if half precision. */
  private storedTensor(info: TensorInfo): string {
    const cached = this.stored.get(info.name);
    if (cached) return cached;
    const raw = this.rawTensor(info);
    const asFloat = this.castsToFloat(info) ? this.g.node('Cast', [raw], { to: int(ElementType.float) }, `${info.name}.f32`) : raw;
    this.stored.set(info.name, asFloat);
    return asFloat;
  }

  /**
   * x·W + b as one Gemm. x: [tokens, dIn] → [tokens, dOut]. The [out, in] layout is read with
   * transB, so no transposed copy of the weight is ever made. A weight that is some rows of an
   * [out, in] tensor (a part of a fused projection) is the matching columns of x times the whole
   * tensor: that product is made once per input and tensor, and every part slices it, so neither
   * the weight is copied nor the input read twice (Phi-3's gate and up: one GEMM).
   */
  linear(x: string, weights: LinearWeights, name: string): string {
    const { rows, ...whole } = weights.weight;
    if (rows === undefined || weights.layout !== 'out_in') {
      const inputs = [x, this.weight(weights.weight), ...(weights.bias ? [this.weight(weights.bias)] : [])];
      return this.g.node('Gemm', inputs, { transB: int(weights.layout === 'out_in' ? 1 : 0) }, name);
    }
    const key = `${x}|${whole.tensor.name}|${whole.offset ?? 0}|${whole.scale ?? 1}`;
    let product = this.fusedProducts.get(key);
    if (product === undefined) {
      product = this.g.node('Gemm', [x, this.weight(whole)], { transB: int(1) }, `${name}.fused`);
      this.fusedProducts.set(key, product);
    }
    const part = this.g.node(
      'Slice',
      [product, this.g.intConstant([rows.start]), this.g.intConstant([rows.start + rows.count]), this.g.intConstant([1])],
      {},
      weights.bias ? `${name}.part` : name,
    );
    return weights.bias ? this.g.node('Add', [part, this.weight(weights.bias)], {}, name) : part;
  }

  /**
   * LayerNorm or RMSNorm of x. `after` (a scalar zero from `zeroAfter`) is added to the gain so
   * the norm cannot run before the values behind that zero exist.
   */
  norm(x: string, weights: NormWeights, name: string, after?: string): string {
    if (weights.weight === undefined) return this.normWithoutGain(x, weights, name, after);
    const gain = this.weight(weights.weight);
    const scale = after === undefined ? gain : this.g.node('Add', [gain, after], {}, `${name}.gain`);
    if (weights.kind === 'layernorm') {
      const inputs = weights.bias ? [x, scale, this.weight(weights.bias)] : [x, scale];
      return this.g.node('LayerNormalization', inputs, { axis: int(-1), epsilon: float(weights.eps) }, name);
    }
    // RMSNorm: x / sqrt(mean(x²) + eps) · w
    const meanSquare = this.g.node('ReduceMean', [this.g.node('Mul', [x, x])], { axes: ints([-1]), keepdims: int(1) }, `${name}.ms`);
    const rms = this.g.node('Sqrt', [this.g.node('Add', [meanSquare, this.g.floatConstant([weights.eps], [])])]);
    return this.g.node('Mul', [this.g.node('Div', [x, rms]), scale], {}, name);
  }

  /**
   * A norm without a gain (OLMo's parameter-free LayerNorm): (x − mean) / √(var + eps), or
   * x / √(mean(x²) + eps), written out because ONNX's LayerNormalization needs a scale of the
   * width the description does not carry; a bias, if given, is still added.
   */
  private normWithoutGain(x: string, weights: NormWeights, name: string, after?: string): string {
    const g = this.g;
    const input = after === undefined ? x : g.node('Add', [x, after], {}, `${name}.after`);
    const centered = weights.kind === 'layernorm' ? g.node('Sub', [input, g.node('ReduceMean', [input], { axes: ints([-1]), keepdims: int(1) })]) : input;
    const meanSquare = g.node('ReduceMean', [g.node('Mul', [centered, centered])], { axes: ints([-1]), keepdims: int(1) }, `${name}.ms`);
    const normalized = g.node(
      'Div',
      [centered, g.node('Sqrt', [g.node('Add', [meanSquare, g.floatConstant([weights.eps], [])])])],
      {},
      weights.bias ? `${name}.normalized` : name,
    );
    return weights.bias ? g.node('Add', [normalized, this.weight(weights.bias)], {}, name) : normalized;
  }

  /**
   * act(x·W + b) and its pre-activations x·W + b. gelu_new with a bias runs as ONNX Runtime's
   * FastGelu, which adds the bias and applies the same tanh approximation in one pass over the
   * [tokens, dMlp] hidden layer; `pre` is then a separate Add that GraphBuilder drops from
   * graphs that do not read it.
   */
  linearActivation(x: string, weights: LinearWeights, activation: Activation, names: { pre: string; post: string }): { pre: string; post: string } {
    if (activation === 'gelu_new' && weights.bias) {
      const { bias, ...withoutBias } = weights;
      const product = this.linear(x, withoutBias, `${names.post}.matmul`);
      const b = this.weight(bias);
      return { pre: this.g.node('Add', [product, b], {}, names.pre), post: this.g.node('FastGelu', [product, b], {}, names.post, 'com.microsoft') };
    }
    const pre = this.linear(x, weights, names.pre);
    return { pre, post: this.activation(pre, activation, names.post) };
  }

  /** x clamped to [−bound, bound], elementwise (OLMo's clip_qkv). */
  clamp(x: string, bound: number, name: string): string {
    const g = this.g;
    return g.node('Clip', [x, g.floatConstant([-bound], []), g.floatConstant([bound], [])], {}, name);
  }

  /** cap · tanh(x / cap), elementwise (Gemma 2's soft-capping of attention scores and logits). */
  softCap(x: string, cap: number, name: string): string {
    const g = this.g;
    const scaled = g.node('Tanh', [g.node('Div', [x, g.floatConstant([cap], [])])]);
    return g.node('Mul', [scaled, g.floatConstant([cap], [])], {}, name);
  }

  activation(x: string, activation: Activation, name: string): string {
    const g = this.g;
    const c = (value: number) => g.floatConstant([value], []);
    switch (activation) {
      case 'gelu_new':
        // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) in one pass (ONNX Runtime's FastGelu, no bias)
        return g.node('FastGelu', [x], {}, name, 'com.microsoft');
      case 'gelu': {
        // 0.5·x·(1 + erf(x/√2))
        const onePlusErf = g.node('Add', [g.node('Erf', [g.node('Mul', [x, c(Math.SQRT1_2)])]), c(1)]);
        return g.node('Mul', [g.node('Mul', [x, c(0.5)]), onePlusErf], {}, name);
      }
      case 'relu':
        return g.node('Relu', [x], {}, name);
      case 'silu':
        return g.node('Mul', [x, g.node('Sigmoid', [x])], {}, name);
    }
  }

  /**
   * A scalar 0 that depends on `values`. ONNX Runtime schedules side branches late: without a
   * dependency, the hook reductions all run at the end of the graph and every hooked
   * [tokens, dModel] activation stays alive until then (+1.3 GB on GPT2-XL for one batch of
   * 1024 tokens). Feeding this zero into the next norm makes them run, and free, in place.
   * (A NaN among the values would turn the zero into NaN; the run then stops on that NaN anyway.)
   */
  zeroAfter(values: readonly string[], name: string): string {
    const sums = values.map((value) => this.g.node('ReduceSum', [value], { keepdims: int(0) }));
    const total = sums.length === 1 ? sums[0]! : this.g.node('Sum', sums);
    return this.g.node('Mul', [total, this.g.floatConstant([0], [])], {}, name);
  }

  /**
   * Both per-token norms, with the mean computed once:
   *   centered = ‖x − mean(x)‖₂,  raw = √(centered² + d·mean²)
   * The raw norm is rebuilt from two non-negative terms, so no precision is lost to
   * cancellation (unlike Σx² − d·mean² for the centered one). [..., d] → [...]
   */
  tokenNorms(x: string, d: number, names: { raw: string; centered: string }): { raw: string; centered: string } {
    const g = this.g;
    const mean = g.node('ReduceMean', [x], { axes: ints([-1]), keepdims: int(1) }, `${names.centered}.mean`);
    const centered = g.node('ReduceL2', [g.node('Sub', [x, mean])], { axes: ints([-1]), keepdims: int(0) }, names.centered);
    const meanSquares = g.node('Mul', [g.node('ReduceSumSquare', [mean], { axes: ints([-1]), keepdims: int(0) }), g.floatConstant([d], [])]);
    const raw = g.node('Sqrt', [g.node('Add', [g.node('Mul', [centered, centered]), meanSquares])], {}, names.raw);
    return { raw, centered };
  }
}

/** Fraction of the last axis that is > 0. [..., d] → [...] */
export function fractionPositive(ctx: GraphContext, x: string, name: string): string {
  const g = ctx.g;
  const positive = g.node('Cast', [g.node('Greater', [x, g.floatConstant([0], [])])], { to: int(ElementType.float) });
  return g.node('ReduceMean', [positive], { axes: ints([-1]), keepdims: int(0) }, name);
}
