/**
 * Reads the values of one block's tensors, as the TransformerSpec names them, for weight
 * analysis: one block at a time, so memory stays about one layer's weights even for big models.
 * Values that are not finite (overflowed F16, corrupt files) are refused here, naming the tensor.
 */
import type { BlockWeightValues, WithValues } from './weight-norms.js';
import type { BlockSpec, LinearWeights, MlpSpec, NormWeights, QkvProjection } from '../architectures/types.js';
import { NumericalError, quote } from '../errors.js';
import type { TensorInfo } from '../models/safetensors.js';
import { readTensorValues } from '../models/weight-index.js';

function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i += 1) if (!Number.isFinite(values[i]!)) return i;
  return -1;
}

/** Reads tensors and counts the bytes it read. */
class TensorReader {
  bytesRead = 0;

  async read(info: TensorInfo): Promise<Float32Array> {
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

  async optional(info: TensorInfo | undefined): Promise<Float32Array | undefined> {
    return info === undefined ? undefined : this.read(info);
  }

  async linear(linear: LinearWeights): Promise<WithValues<LinearWeights>> {
    const weight = await this.read(linear.weight);
    const bias = await this.optional(linear.bias);
    return { weight, layout: linear.layout, ...(bias ? { bias } : {}) };
  }

  async norm(norm: NormWeights): Promise<WithValues<NormWeights>> {
    const weight = await this.read(norm.weight);
    const bias = await this.optional(norm.bias);
    return { kind: norm.kind, weight, eps: norm.eps, ...(bias ? { bias } : {}) };
  }

  async qkv(qkv: QkvProjection): Promise<WithValues<QkvProjection>> {
    if (qkv.kind === 'separate') return { kind: qkv.kind, q: await this.linear(qkv.q), k: await this.linear(qkv.k), v: await this.linear(qkv.v) };
    return { kind: qkv.kind, linear: await this.linear(qkv.linear) };
  }

  async mlp(mlp: MlpSpec): Promise<WithValues<MlpSpec>> {
    if (mlp.kind === 'dense') return { kind: mlp.kind, activation: mlp.activation, in: await this.linear(mlp.in), out: await this.linear(mlp.out) };
    return { kind: mlp.kind, activation: mlp.activation, gate: await this.linear(mlp.gate), up: await this.linear(mlp.up), down: await this.linear(mlp.down) };
  }
}

export async function readBlockValues(block: BlockSpec): Promise<{ values: BlockWeightValues; bytesRead: number }> {
  const reader = new TensorReader();
  const values: BlockWeightValues = {
    norm1: await reader.norm(block.norm1),
    norm2: await reader.norm(block.norm2),
    qkv: await reader.qkv(block.attention.qkv),
    out: await reader.linear(block.attention.out),
    mlp: await reader.mlp(block.mlp),
  };
  return { values, bytesRead: reader.bytesRead };
}
