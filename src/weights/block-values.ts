/**
 * Reads the values of one block's tensors, as the TransformerSpec names them, for weight
 * analysis: one block at a time, so memory stays about one layer's weights even for big models.
 * Every tensor goes through readTensorRef, the weight analysis's one reader of a description's
 * tensor: the values are the ones the model uses (Gemma's norm gains 1 + w), never the stored
 * ones by mistake. Values that are not finite (overflowed F16, corrupt files) are refused here,
 * naming the tensor.
 */
import type { BlockWeightValues, WithValues } from './weight-norms.js';
import type { BlockSpec, ExpertMlpSpec, LinearWeights, MlpSpec, NormWeights, QkNorm, QkvProjection, TensorRef } from '../architectures/types.js';
import { NumericalError, quote } from '../errors.js';
import type { TensorInfo } from '../models/safetensors.js';
import { readTensorValues } from '../models/weight-index.js';

/**
 * A tensor's values as the model uses them: its rows (a part of a fused tensor), then
 * (stored + offset) · scale, rounded to float32 as the graph computes them (types.ts TensorRef);
 * the stored values themselves when the reference has none of these.
 */
export function applyTensorUse(
  stored: Float32Array,
  ref: Pick<TensorRef, 'offset' | 'scale' | 'rows'> & { tensor?: Pick<TensorRef['tensor'], 'shape'> },
): Float32Array {
  const offset = ref.offset ?? 0;
  const scale = ref.scale ?? 1;
  let values = stored;
  if (ref.rows !== undefined) {
    const rowLength = (ref.tensor?.shape ?? []).slice(1).reduce((a, b) => a * b, 1);
    const { start, count } = ref.rows;
    if (start < 0 || (start + count) * rowLength > stored.length)
      throw new RangeError(`rows ${start}…${start + count - 1} outside a tensor of ${stored.length / rowLength} rows`);
    values = stored.subarray(start * rowLength, (start + count) * rowLength);
  }
  if (offset === 0 && scale === 1) return values;
  return values.map((value) => Math.fround(Math.fround(value + offset) * scale));
}

function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i += 1) if (!Number.isFinite(values[i]!)) return i;
  return -1;
}

/** Reads tensors and counts the bytes it read; a tensor two parts of a block share (Phi-3's gate_up_proj) is read once. */
class TensorReader {
  bytesRead = 0;
  private readonly shared = new Map<string, Promise<Float32Array>>();

  read(info: TensorInfo): Promise<Float32Array> {
    let values = this.shared.get(info.name);
    if (values === undefined) this.shared.set(info.name, (values = this.readOnce(info)));
    return values;
  }

  private async readOnce(info: TensorInfo): Promise<Float32Array> {
    const values = await readTensorValues(info);
    this.bytesRead += info.byteLength;
    const bad = firstNonFinite(values);
    if (bad >= 0) {
      throw new NumericalError(
        `tensor ${quote(info.name)} in ${quote(info.file)} holds ${values[bad]} at index ${bad}; weights must be finite (a corrupt file, or values that overflowed ${info.dtype})`,
      );
    }
    return values;
  }

  /** readTensorRef: the values of a description's tensor as the model uses them. */
  async ref(ref: TensorRef): Promise<Float32Array> {
    return applyTensorUse(await this.read(ref.tensor), ref);
  }

  async optional(ref: TensorRef | undefined): Promise<Float32Array | undefined> {
    return ref === undefined ? undefined : this.ref(ref);
  }

  async linear(linear: LinearWeights): Promise<WithValues<LinearWeights>> {
    const weight = await this.ref(linear.weight);
    const bias = await this.optional(linear.bias);
    return { weight, layout: linear.layout, ...(bias ? { bias } : {}) };
  }

  async norm(norm: NormWeights): Promise<WithValues<NormWeights>> {
    const weight = await this.optional(norm.weight);
    const bias = await this.optional(norm.bias);
    return { kind: norm.kind, eps: norm.eps, ...(weight ? { weight } : {}), ...(bias ? { bias } : {}) };
  }

  async qkNorm(qkNorm: QkNorm | undefined): Promise<WithValues<QkNorm> | undefined> {
    return qkNorm === undefined ? undefined : { kind: qkNorm.kind, q: await this.norm(qkNorm.q), k: await this.norm(qkNorm.k) };
  }

  async optionalNorm(norm: NormWeights | undefined): Promise<WithValues<NormWeights> | undefined> {
    return norm === undefined ? undefined : this.norm(norm);
  }

  async qkv(qkv: QkvProjection): Promise<WithValues<QkvProjection>> {
    if (qkv.kind === 'separate') return { kind: qkv.kind, q: await this.linear(qkv.q), k: await this.linear(qkv.k), v: await this.linear(qkv.v) };
    return { kind: qkv.kind, linear: await this.linear(qkv.linear) };
  }

  async mlp(mlp: MlpSpec): Promise<WithValues<MlpSpec>> {
    if (mlp.kind !== 'moe') return this.expert(mlp);
    const experts: Array<WithValues<ExpertMlpSpec>> = [];
    for (const expert of mlp.experts) experts.push(await this.expert(expert));
    return { kind: mlp.kind, router: await this.linear(mlp.router), experts, topK: mlp.topK, normalizeTopK: mlp.normalizeTopK };
  }

  async expert(mlp: ExpertMlpSpec): Promise<WithValues<ExpertMlpSpec>> {
    if (mlp.kind === 'dense') return { kind: mlp.kind, activation: mlp.activation, in: await this.linear(mlp.in), out: await this.linear(mlp.out) };
    return { kind: mlp.kind, activation: mlp.activation, gate: await this.linear(mlp.gate), up: await this.linear(mlp.up), down: await this.linear(mlp.down) };
  }
}

export async function readBlockValues(block: BlockSpec): Promise<{ values: BlockWeightValues; bytesRead: number }> {
  const reader = new TensorReader();
  const norm1 = await reader.optionalNorm(block.norm1);
  const norm2 = await reader.optionalNorm(block.norm2);
  const values: BlockWeightValues = {
    ...(norm1 ? { norm1 } : {}),
    ...(norm2 ? { norm2 } : {}),
    qkv: await reader.qkv(block.attention.qkv),
    out: await reader.linear(block.attention.out),
    ...(block.attention.qkNorm ? { qkNorm: (await reader.qkNorm(block.attention.qkNorm))! } : {}),
    mlp: await reader.mlp(block.mlp),
  };
  const norm1Post = await reader.optionalNorm(block.norm1Post);
  const norm2Post = await reader.optionalNorm(block.norm2Post);
  return { values: { ...values, ...(norm1Post ? { norm1Post } : {}), ...(norm2Post ? { norm2Post } : {}) }, bytesRead: reader.bytesRead };
}
