/**
 * Looks up a model's tensors by their Hugging Face names, checking shape and dtype, and
 * collecting every missing or misshapen tensor before reporting them together.
 */
import { ModelError, ProblemList, quote } from '../errors.js';
import type { TensorInfo, WeightIndex } from '../models/index.js';
import type { LinearWeights, NormWeights, TensorRef, WeightLayout } from './types.js';
import { WEIGHT_DTYPES } from '../models/safetensors.js';

export class WeightResolver {
  private readonly problems = new ProblemList();
  private readonly prefix: string;

  /**
   * @param prefixes key prefixes a checkpoint may carry (e.g. `transformer.` for
   *   GPT2LMHeadModel vs none for GPT2Model); the first one that matches `probe` is used.
   */
  constructor(
    private readonly weights: WeightIndex,
    private readonly source: string,
    prefixes: readonly string[],
    probe: string,
  ) {
    this.prefix = prefixes.find((prefix) => weights.tensors.has(prefix + probe)) ?? prefixes[0] ?? '';
  }

  /**
   * The tensor `name` (without prefix), which must have exactly `shape`, with what the model does
   * to it before use (`use`: an offset, a scale; none by default).
   */
  get(name: string, shape: readonly number[], use: Omit<TensorRef, 'tensor'> = {}): TensorRef {
    return { tensor: this.info(name, shape), ...use };
  }

  private info(name: string, shape: readonly number[]): TensorInfo {
    const fullName = this.prefix + name;
    const info = this.weights.tensors.get(fullName);
    if (info === undefined) {
      this.problems.add(`missing tensor ${quote(fullName)}`);
      return placeholder(fullName, shape);
    }
    if (!WEIGHT_DTYPES.includes(info.dtype)) {
      this.problems.add(`tensor ${quote(fullName)} has dtype ${info.dtype}; weights must be ${WEIGHT_DTYPES.join(', ')}`);
    }
    if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
      this.problems.add(`tensor ${quote(fullName)} has shape [${info.shape.join(', ')}]; expected [${shape.join(', ')}]`);
    }
    return info;
  }

  /** Like get, for tensors some checkpoints omit (e.g. biases). */
  optional(name: string, shape: readonly number[]): TensorRef | undefined {
    return this.weights.tensors.has(this.prefix + name) ? this.get(name, shape) : undefined;
  }

  /** A linear layer: nn.Linear stores [out, in] (the default), GPT-2's Conv1D [in, out]. */
  linear(name: string, dIn: number, dOut: number, { layout = 'out_in', bias = true }: { layout?: WeightLayout; bias?: boolean } = {}): LinearWeights {
    return {
      weight: this.get(`${name}.weight`, layout === 'out_in' ? [dOut, dIn] : [dIn, dOut]),
      ...(bias ? { bias: this.get(`${name}.bias`, [dOut]) } : {}),
      layout,
    };
  }

  /**
   * The parts of one fused nn.Linear [Σ sizes, dIn] (Phi-3's gate_up_proj: [gate | up]): one
   * LinearWeights per part, each the rows of the stored weight (and bias) that compute it.
   */
  splitLinear(name: string, dIn: number, sizes: readonly number[], { bias = true }: { bias?: boolean } = {}): LinearWeights[] {
    const total = sizes.reduce((a, b) => a + b, 0);
    const weight = this.get(`${name}.weight`, [total, dIn]);
    const biasRef = bias ? this.get(`${name}.bias`, [total]) : undefined;
    let start = 0;
    return sizes.map((count) => {
      const rows = { start, count };
      start += count;
      return { weight: { ...weight, rows }, layout: 'out_in' as const, ...(biasRef ? { bias: { ...biasRef, rows } } : {}) };
    });
  }

  layerNorm(name: string, dModel: number, eps: number): NormWeights {
    return { kind: 'layernorm', weight: this.get(`${name}.weight`, [dModel]), bias: this.get(`${name}.bias`, [dModel]), eps };
  }

  /** `gainOffset`: the model's gain is offset + w (Gemma's 1 + w); none by default. */
  rmsNorm(name: string, dModel: number, eps: number, gainOffset?: number): NormWeights {
    return { kind: 'rmsnorm', weight: this.get(`${name}.weight`, [dModel], gainOffset === undefined ? {} : { offset: gainOffset }), eps };
  }

  /**
   * A resolver over the same tensors with a problem list of its own, for parts only some runs
   * need (the output head): their problems are read with `problem()`, never thrown by `finish`.
   * `prefix` replaces this resolver's key prefix (e.g. '' for a top-level `lm_head.weight`).
   */
  apart(prefix: string = this.prefix): WeightResolver {
    return new WeightResolver(this.weights, this.source, [prefix], '');
  }

  /** Every problem found so far, as one line, or undefined when there is none. */
  problem(): string | undefined {
    return this.problems.summary();
  }

  /** Whether the tensor `name` (without prefix) exists. */
  has(name: string): boolean {
    return this.weights.tensors.has(this.prefix + name);
  }

  finish(): void {
    this.problems.throwIfAny((message) => new ModelError(`weights of ${quote(this.source)} do not match the config: ${message}`));
  }
}

function placeholder(name: string, shape: readonly number[]): TensorInfo {
  return { name, dtype: 'F32', shape: [...shape], file: '', byteOffset: 0, byteLength: 0 };
}
