/**
 * `resid-norms weights`: norms of every block's weights, straight from the weight files
 * (safetensors or PyTorch checkpoints; no inference). Phases: resolve model → load spec → per block: read its tensors, compute
 * norms, drop the values → write the weights file.
 */
import { join } from 'node:path';
import { computeLayerWeightNorms } from '../weights/weight-norms.js';
import type { TransformerSpec } from '../architectures/types.js';
import type { Reporter } from '../messages/reporter.js';
import { readBlockValues } from '../weights/block-values.js';
import { checkOutputFile, refuseOutputOverInput } from '../io/output-guard.js';
import { loadModel, modelInputs } from '../architectures/load-model.js';
import { writeFileAtomic } from '../results/atomic-write.js';
import { formatRowsJson } from '../results/format-measurement.js';
import { WEIGHTS_FORMAT, WEIGHTS_VERSION, type WeightLayer, type WeightsFile, type WeightsModelInfo } from '../results/weights-schema.js';
import { toolVersion } from '../version.js';
import { computeMlpProducts } from '../weights/mlp-products.js';
import { resolveRequestedModel, type ResolvedModel } from '../models/resolve-model.js';
import { modelInfo } from '../measure/build-measurement.js';
import { BudgetTooSmallError, PROCESS_BYTES } from '../measure/memory-plan.js';
import { blockWeightBytes } from '../measure/memory-model.js';
import { allocatedMemory, formatMemorySize, type MemoryAllocation } from '../runtime/memory-allocation.js';
import { mlpKind } from '../architectures/model-shape.js';

export interface WeightsRequest {
  /** Alias, Hub repo id[@revision] or folder; the embedded demo model when absent. */
  model?: string;
  /** Output file; results/<model-slug>.weights.json when absent. */
  outPath?: string;
  /** Re-resolve the revision on the Hub even when the cache has it. */
  refresh: boolean;
  /** Most anonymous memory to take (--max-memory): refused before any block is read when one block's analysis would not fit. */
  maxMemory?: MemoryAllocation;
  env?: NodeJS.ProcessEnv;
}

export interface WeightsOutcome {
  outPath: string;
  weights: WeightsFile;
}

/**
 * One block is analysed at a time: its values as float32, the processed copies made from them
 * (folded norms, centered writing weights) and the MLP product's session, measured at 2.1 × the
 * block's float32 bytes on Llama-3-8B's shape (1.78 GiB peak RssAnon); counted as 2.5 ×.
 */
const WEIGHTS_BLOCK_FACTOR = 2.5;

function refuseWeightsOverBudget(spec: TransformerSpec, budget: MemoryAllocation): void {
  const needed = PROCESS_BYTES + WEIGHTS_BLOCK_FACTOR * spec.blocks.reduce((most, block) => Math.max(most, blockWeightBytes(block)), 0);
  if (needed <= budget.bytes) return;
  const smallest = formatMemorySize(needed, 'up');
  throw new BudgetTooSmallError(
    `${budget.source} (${formatMemorySize(budget.bytes)}) is too small for this model's weights: one block's float32 values and what is computed from them need about ${smallest}; give --max-memory ${smallest.replace(' ', '')} or more`,
  );
}

/** The results file's model block, and what a weights file adds to it. */
function weightsModelInfo(resolved: ResolvedModel, spec: TransformerSpec): WeightsModelInfo {
  const { dims } = spec;
  return { ...modelInfo(resolved.id, resolved.revision, spec.bosTokenId, spec), nKvHeads: dims.nKvHeads, dHead: dims.dHead, dMlp: dims.dMlp, ...mlpKind(spec) };
}

export async function analyzeWeights(request: WeightsRequest, reporter: Reporter): Promise<WeightsOutcome> {
  const startedAt = performance.now();
  if (request.outPath !== undefined) await checkOutputFile(request.outPath); // before any download
  const resolved = await resolveRequestedModel(request, reporter);
  const outPath = request.outPath ?? join('results', `${resolved.slug}.weights.json`);
  await checkOutputFile(outPath);
  await refuseOutputOverInput([{ flag: '--out', path: outPath }], await modelInputs(resolved.dir));
  const { spec, weights: weightIndex } = await loadModel(resolved.dir);
  const processing = spec.convention.weightProcessing;
  const budget = request.maxMemory ?? allocatedMemory(request.env ?? process.env);
  refuseWeightsOverBudget(spec, budget);

  const layers: WeightLayer[] = [];
  let bytesRead = 0;
  const progress = reporter.progress('reading weights', spec.dims.nLayers, 'items');
  try {
    for (const [layer, block] of spec.blocks.entries()) {
      const read = await readBlockValues(block); // one block in memory at a time
      layers.push(computeLayerWeightNorms(layer, read.values, spec.dims, processing));
      bytesRead += read.bytesRead;
      progress.tick();
    }
  } finally {
    progress.done();
  }
  const products = await computeMlpProducts(spec, weightIndex, processing);
  products.forEach((values, layer) => {
    const entry = layers[layer]!;
    Object.assign(entry.raw, values.raw);
    Object.assign(entry.processed, values.processed);
    if (values.experts && entry.experts) {
      Object.assign(entry.experts.raw, values.experts.raw);
      Object.assign(entry.experts.processed, values.experts.processed);
    }
  });

  const weights: WeightsFile = {
    format: WEIGHTS_FORMAT,
    version: WEIGHTS_VERSION,
    model: weightsModelInfo(resolved, spec),
    options: { primaryVariant: 'processed', primaryVariantReason: spec.convention.weightsReason, processing },
    runtime: { seconds: (performance.now() - startedAt) / 1000, bytesRead },
    layers,
    createdBy: { tool: 'resid-norms', version: toolVersion() },
  };
  await writeFileAtomic(outPath, formatRowsJson(weights, [['layers']]));
  return { outPath, weights };
}
