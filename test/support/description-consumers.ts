/**
 * The readers of a model description (TransformerSpec), run on one spec and flattened to one
 * vector of numbers each, so a test can perturb one field of the description and see which
 * readers noticed: measure's graph (its hook norms, its logit lens and its other diagnostics,
 * each a consumer of its own), the weight analysis (per-block norms, and the MLP products), and
 * mechanisms' probe graph.
 */
import { availableHooks } from '../../src/architectures/model-shape.js';
import type { TransformerSpec } from '../../src/architectures/types.js';
import type { ExternalDataLayout } from '../../src/graph/external-data.js';
import { buildProbeGraph, probeInputName, probeOutputName, PROBE_OUTPUTS } from '../../src/graph/probe-graph.js';
import { buildTransformerGraph } from '../../src/graph/transformer-graph.js';
import type { WeightIndex } from '../../src/models/weight-index.js';
import { createNormSession } from '../../src/runtime/onnx-session.js';
import { createTensorSession } from '../../src/runtime/tensor-session.js';
import { readBlockValues } from '../../src/weights/block-values.js';
import { computeMlpProducts } from '../../src/weights/mlp-products.js';
import { computeLayerWeightNorms } from '../../src/weights/weight-norms.js';
import { createRandom } from './random.js';

/**
 * `head-writes`: the heads diagnostic of block 0 only, the one diagnostic that reads a weight
 * itself (W_O): its z depends on no W_O, so only a W_O the diagnostic reads can change it.
 */
export const CONSUMERS = ['hooks', 'lens', 'head-writes', 'weights', 'mlp-products', 'probes'] as const;
export type Consumer = (typeof CONSUMERS)[number];

export interface ModelUnderTest {
  spec: TransformerSpec;
  weights: WeightIndex;
  layout: ExternalDataLayout;
  /** Token ids of one prompt, longer than any sliding window of the model. */
  ids: number[];
}

type Readings = Partial<Record<Consumer, number[]>>;

/** measure's graph with every hook, the heads diagnostic and the lens (when the model has a head), on the prompt. */
async function graphValues(model: ModelUnderTest, spec: TransformerSpec): Promise<Readings> {
  const diagnostics = (['heads', 'lens'] as const).filter((diagnostic) => diagnostic !== 'lens' || !('unavailable' in spec.outputHead));
  const graph = buildTransformerGraph(spec, { hooks: availableHooks(spec), layout: model.layout, diagnostics: { diagnostics } });
  const session = await createNormSession(graph.bytes, model.layout.folder, { device: 'cpu', threads: 1 });
  try {
    const { ids } = model;
    const next = BigInt64Array.from(ids, (_, p) => BigInt(p + 1 < ids.length ? ids[p + 1]! : -1));
    const names = [...graph.outputNames, ...graph.diagnostics.map((output) => output.name)];
    const outputs = await session.run(BigInt64Array.from(ids, BigInt), 1, ids.length, names, graph.readsNextIds ? next : undefined);
    const values = (list: readonly string[]) => list.flatMap((name) => Array.from(outputs.get(name)!));
    const { nHeads } = spec.dims;
    const firstBlock = graph.diagnostics
      .filter((output) => output.column.diagnostic === 'heads')
      .flatMap(({ name, column }) => Array.from(outputs.get(name)!).filter((_, i) => i % column.length < nHeads)); // layer-major: block 0 first
    return {
      hooks: values(graph.outputNames),
      lens: values(graph.diagnostics.filter((output) => output.column.diagnostic === 'lens').map((output) => output.name)),
      'head-writes': firstBlock,
    };
  } finally {
    await session.release();
  }
}

function flatten(value: unknown, into: number[] = []): number[] {
  if (typeof value === 'number') into.push(value);
  else if (value === null) into.push(Number.NaN);
  else if (Array.isArray(value)) value.forEach((item) => flatten(item, into));
  else if (typeof value === 'object')
    Object.keys(value as object)
      .sort()
      .forEach((key) => flatten((value as Record<string, unknown>)[key], into));
  return into;
}

/** `weights`: every block's norms (raw and processed, per head too), without the MLP products. */
async function weightValues(spec: TransformerSpec): Promise<number[]> {
  const layers = [];
  for (const [layer, block] of spec.blocks.entries())
    layers.push(computeLayerWeightNorms(layer, (await readBlockValues(block)).values, spec.dims, spec.convention.weightProcessing));
  return flatten(layers);
}

/** mechanisms' probe graph on 3 fixed Gaussian vectors per layer: every output, flattened. */
async function probeValues(model: ModelUnderTest, spec: TransformerSpec): Promise<number[]> {
  const { nLayers, dModel } = spec.dims;
  const random = createRandom(4);
  const x = Float32Array.from({ length: 3 * dModel }, () => random.normal());
  const session = await createTensorSession(buildProbeGraph(spec, model.layout).bytes, model.layout.folder, { device: 'cpu', threads: 1 });
  try {
    const feeds = Object.fromEntries(
      Array.from({ length: nLayers }, (_, layer) => [probeInputName(layer), { type: 'float32' as const, data: x, dims: [3, dModel] }]),
    );
    const names = Array.from({ length: nLayers }, (_, layer) => PROBE_OUTPUTS.map((output) => probeOutputName(layer, output))).flat();
    const outputs = await session.run(feeds, names);
    return names.flatMap((name) => Array.from(outputs.get(name)!.data));
  } finally {
    await session.release();
  }
}

/** One graph run per spec object serves its three consumers. */
const graphRuns = new WeakMap<TransformerSpec, Promise<Readings>>();

/** What one consumer reads of the spec (the graph's three come from one run). */
export async function consumerValues(consumer: Consumer, model: ModelUnderTest, spec: TransformerSpec = model.spec): Promise<number[]> {
  switch (consumer) {
    case 'hooks':
    case 'lens':
    case 'head-writes': {
      let readings = graphRuns.get(spec);
      if (readings === undefined) graphRuns.set(spec, (readings = graphValues(model, spec)));
      return (await readings)[consumer]!;
    }
    case 'weights':
      return weightValues(spec);
    case 'mlp-products':
      return flatten(await computeMlpProducts(spec, model.weights, spec.convention.weightProcessing, 1));
    case 'probes':
      return probeValues(model, spec);
  }
}

/** Largest relative difference between two readings (NaN where both are null counts as equal). */
export function largestChange(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  a.forEach((value, i) => {
    const other = b[i]!;
    if (Number.isNaN(value) || Number.isNaN(other)) {
      if (Number.isNaN(value) !== Number.isNaN(other)) worst = Infinity;
      return;
    }
    worst = Math.max(worst, Math.abs(value - other) / Math.max(Math.abs(value), 1e-6));
  });
  return worst;
}
