/**
 * ‖W_in·W_out‖_F and ‖b_in·W_out‖ of every layer, raw and processed, for `weights`: the product
 * graph (src/graph/mlp-product-graph.ts) run once in ONNX Runtime, layer after layer.
 */
import type { TransformerSpec } from '../architectures/types.js';
import { NumericalError } from '../errors.js';
import { planExternalData } from '../graph/external-data.js';
import { buildMlpProductGraph, MLP_PRODUCT_INPUT, MLP_PRODUCTS, type MlpProduct } from '../graph/mlp-product-graph.js';
import type { WeightIndex } from '../models/weight-index.js';
import type { WeightProcessing } from '../results/weights-schema.js';
import { createTensorSession } from '../runtime/tensor-session.js';
import { combineExperts } from './expert-norms.js';

/** A layer's products, raw and processed; a mixture of experts has each expert's too (layer value: √(Σ_e v_e²), expert-norms.ts). */
export type MlpProductValues = Record<'raw' | 'processed', Partial<Record<MlpProduct, number | null>>> & {
  experts?: Record<'raw' | 'processed', Partial<Record<MlpProduct, Array<number | null>>>>;
};

/**
 * [layer] the products, null where the model has no b_in (and nothing folds into it). One
 * session per layer: ONNX Runtime maps the weights it reads, so a session over every layer would
 * hold all of them (6 GB for GPT2-XL) resident until it ends; one layer at a time holds one.
 */
export async function computeMlpProducts(
  spec: TransformerSpec,
  weights: WeightIndex,
  processing: WeightProcessing,
  threads?: number,
): Promise<MlpProductValues[]> {
  const layout = await planExternalData(weights.files);
  const result: MlpProductValues[] = [];
  for (let layer = 0; layer < spec.dims.nLayers; layer += 1) {
    const graph = buildMlpProductGraph(spec, processing, layout, [layer]);
    const entries = graph.outputs[0]!;
    const names = entries.flatMap((entry) =>
      Object.values(entry).flatMap((pair) => [pair.raw, pair.processed].filter((name): name is string => name !== undefined)),
    );
    // No prepacking: every weight is read by one GEMM, once.
    const session = await createTensorSession(graph.bytes, layout.folder, { device: 'cpu', prepackWeights: false, ...(threads ? { threads } : {}) });
    let values: Map<string, { data: Float32Array }>;
    try {
      values = await session.run({ [MLP_PRODUCT_INPUT]: { type: 'float32', data: Float32Array.of(1), dims: [] } }, names);
    } finally {
      await session.release();
    }
    const each = entries.map((entry, index) => {
      const products: Record<'raw' | 'processed', Partial<Record<MlpProduct, number | null>>> = { raw: {}, processed: {} };
      for (const product of MLP_PRODUCTS) {
        for (const variant of ['raw', 'processed'] as const) {
          const name = entry[product]?.[variant];
          const value = name === undefined ? null : values.get(name)!.data[0]!;
          const which = entries.length > 1 ? `${product} of layer ${layer}'s expert ${index}` : `${product} of layer ${layer}`;
          if (value !== null && !Number.isFinite(value)) throw new NumericalError(`${which} is ${value}; the model's MLP weights overflow float32`);
          products[variant][product] = value;
        }
      }
      return products;
    });
    const moe = spec.blocks[layer]!.mlp.kind === 'moe';
    if (!moe) {
      result.push(each[0]!);
      continue;
    }
    const variant = (which: 'raw' | 'processed') => each.map((products) => products[which]);
    const lists = (which: 'raw' | 'processed') =>
      Object.fromEntries(MLP_PRODUCTS.map((product) => [product, variant(which).map((products) => products[product] ?? null)]));
    result.push({
      raw: combineExperts(variant('raw')),
      processed: combineExperts(variant('processed')),
      experts: { raw: lists('raw'), processed: lists('processed') },
    });
  }
  return result;
}
