/**
 * A model's memory as memory-plan.ts counts it, from its description: the float32 bytes of each
 * block's tensors (every TensorRef the block spec holds, a shared tensor once) and of the output
 * head the logit lens reads.
 */
import type { BlockSpec, TransformerSpec } from '../architectures/types.js';
import type { TensorInfo } from '../models/index.js';
import type { MemoryModel } from './memory-plan.js';

/** Every stored tensor a part of a description refers to, by name. */
export function tensorsOf(part: unknown, found = new Map<string, TensorInfo>()): Map<string, TensorInfo> {
  if (typeof part !== 'object' || part === null) return found;
  const maybe = part as { tensor?: TensorInfo };
  if (maybe.tensor !== undefined && typeof maybe.tensor.name === 'string' && Array.isArray(maybe.tensor.shape)) {
    found.set(maybe.tensor.name, maybe.tensor);
    return found;
  }
  for (const value of Object.values(part)) tensorsOf(value, found);
  return found;
}

export function float32Bytes(tensors: Iterable<TensorInfo>): number {
  let bytes = 0;
  for (const tensor of tensors) bytes += 4 * tensor.shape.reduce((a, b) => a * b, 1);
  return bytes;
}

export function blockWeightBytes(block: BlockSpec): number {
  return float32Bytes(tensorsOf(block).values());
}

/** The final norm and unembedding, with the lens (0 without, or without an output head). */
export function lensWeightBytes(spec: Pick<TransformerSpec, 'outputHead'>, lens: boolean): number {
  if (!lens || 'unavailable' in spec.outputHead) return 0;
  return float32Bytes(tensorsOf(spec.outputHead).values());
}

export function memoryModelOf(
  spec: TransformerSpec,
  options: { lens: boolean; diagnostics: boolean; floatsPerToken: number; totalTokens: number; heldBytes?: number },
): MemoryModel {
  const read = [...spec.blocks.flatMap((block) => [...tensorsOf(block).values()]), ...(options.lens ? tensorsOf(spec.outputHead).values() : [])];
  return {
    largestTensorBytes: read.reduce((most, tensor) => Math.max(most, tensor.byteLength), 0), // no spread: a file may list any number of tensors
    dims: spec.dims,
    // A mixture's experts are gated MLPs run one at a time (graph/mixture.ts): a gated MLP's peak, at most.
    gatedMlp: spec.blocks.some((block) => block.mlp.kind !== 'dense'),
    blockWeightBytes: spec.blocks.map(blockWeightBytes),
    lensWeightBytes: lensWeightBytes(spec, options.lens),
    diagnostics: options.diagnostics,
    floatsPerToken: options.floatsPerToken,
    totalTokens: options.totalTokens,
    ...(options.heldBytes !== undefined ? { heldBytes: options.heldBytes } : {}),
  };
}
