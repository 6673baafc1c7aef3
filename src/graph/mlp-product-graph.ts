/**
 * The reference analysis's MLP appendix, per layer: ‖W_in·W_out‖_F and ‖b_in·W_out‖₂, raw and
 * after TransformerLens's processing (the model's ModelShape.convention.weightProcessing). W_in·W_out
 * is dModel×dModel through dMlp (1600×6400×1600 per GPT2-XL layer), so it runs in ONNX Runtime
 * with the weights as external data.
 *
 * Processing, written on the product P = W_in·W_out (TransformerLens orientation, W_in [dModel, dMlp]):
 *   processed W_in  = C·diag(g)·W_in      (norm gain folded; C = I − 11ᵀ/dModel centers the reading axis)
 *   processed W_out = W_out·C             (writing weights centered)
 *   processed b_in  = b_in + b_norm·W_in  (the norm's bias folded)
 * so processed W_in·W_out = C·diag(g)·P·C, and processed b_in·W_out = (b_in + b_norm·W_in)·W_out·C.
 * Gated MLPs use TransformerLens's W_in, the up projection. C only for LayerNorm models. A
 * mixture of experts has each expert's products (mlp-products.ts combines them).
 *
 * Input:   one  float scalar, fed 1 (it keeps ONNX Runtime from folding the whole graph into
 *          constants while creating the session)
 * Outputs: blocks.{l}.W_inW_out:{raw|processed}, blocks.{l}.b_inW_out:{raw|processed}  float scalars
 *          (the b_in ones only when the model has b_in, or a norm bias folds into it);
 *          blocks.{l}.experts.{e}.… for each expert of a mixture
 */
import type { ExpertMlpSpec, LinearWeights, NormWeights, TransformerSpec } from '../architectures/types.js';
import type { WeightProcessing } from '../results/weights-schema.js';
import type { ExternalDataLayout } from './external-data.js';
import { GraphContext } from './graph-context.js';
import { ElementType, GraphBuilder, int, ints } from './onnx-builder.js';

export const MLP_PRODUCTS = ['W_inW_out', 'b_inW_out'] as const;
export const MLP_PRODUCT_INPUT = 'one';
export type MlpProduct = (typeof MLP_PRODUCTS)[number];

export function mlpProductName(layer: number, product: MlpProduct, variant: 'raw' | 'processed', expert?: number): string {
  return `blocks.${layer}${expert === undefined ? '' : `.experts.${expert}`}.${product}:${variant}`;
}

/** One MLP's outputs: the names of the products it has. */
export type MlpProductOutputs = Partial<Record<MlpProduct, { raw?: string; processed?: string }>>;

export interface BuiltMlpProductGraph {
  bytes: Uint8Array;
  /**
   * Output names, by layer, of what the model has: one entry per MLP of the layer, its own
   * or, for a mixture of experts, each expert's in expert order.
   */
  outputs: MlpProductOutputs[][];
}

/** The graph of the given layers (all when absent); `outputs` has one entry per layer given, in order. */
export function buildMlpProductGraph(
  spec: TransformerSpec,
  processing: WeightProcessing,
  layout: ExternalDataLayout,
  layers?: readonly number[],
): BuiltMlpProductGraph {
  const g = new GraphBuilder(`resid-norms mlp products ${spec.architecture}`);
  const ctx = new GraphContext(g, layout);
  const frobenius = (value: string, name: string) => g.node('ReduceL2', [value], { keepdims: int(0) }, name);
  const center = (value: string, axis: number) => g.node('Sub', [value, g.node('ReduceMean', [value], { axes: ints([axis]), keepdims: int(1) })]);
  const one = g.addInput(MLP_PRODUCT_INPUT, ElementType.float, []);
  const outputs: BuiltMlpProductGraph['outputs'] = [];
  let previous: string | undefined;

  /** The products of one MLP (W_in, W_out: TransformerLens's) reading `norm2`'s output. */
  const addProducts = (layer: number, mlpIn: LinearWeights, mlpOut: LinearWeights, norm2: NormWeights | undefined, expert?: number): MlpProductOutputs => {
    const name = (product: MlpProduct, variant: 'raw' | 'processed') => mlpProductName(layer, product, variant, expert);
    const stem = `blocks.${layer}${expert === undefined ? '' : `.experts.${expert}`}`;
    const transIn = int(mlpIn.layout === 'out_in' ? 1 : 0);
    const transOut = int(mlpOut.layout === 'out_in' ? 1 : 0);
    let wIn = g.node('Mul', [ctx.weight(mlpIn.weight), one]);
    // One MLP after the other, so only one [dModel, dModel] product is alive at a time.
    if (previous !== undefined) wIn = g.node('Add', [wIn, ctx.zeroAfter([previous], `${stem}.after`)]);
    const wOut = ctx.weight(mlpOut.weight);
    const entry: MlpProductOutputs = {};

    // W_in·W_out: [dModel, dModel]
    const product = g.node('Gemm', [wIn, wOut], { transA: transIn, transB: transOut }, `${stem}.P`);
    const rawName = frobenius(product, name('W_inW_out', 'raw'));
    let processed = product;
    // The gain as the model applies it (TensorRef: Gemma's 1 + w); no norm (or one without a gain) before the MLP: nothing to fold.
    if (processing.foldNormGains && norm2?.weight) processed = g.node('Mul', [processed, g.node('Unsqueeze', [ctx.weight(norm2.weight), g.intConstant([1])])]);
    if (processing.centerReadingWeights) processed = center(processed, 0);
    if (processing.centerWritingWeights) processed = center(processed, 1);
    const processedName = frobenius(processed, name('W_inW_out', 'processed'));
    entry.W_inW_out = { raw: rawName, processed: processedName };
    const names = [rawName, processedName];

    // b_in·W_out: [1, dModel]
    const row = (vector: string) => g.node('Unsqueeze', [vector, g.intConstant([0])]); // [1, d]
    const bIn = mlpIn.bias === undefined ? undefined : row(ctx.weight(mlpIn.bias));
    const normBias = processing.foldNormBiases && norm2?.bias !== undefined ? row(ctx.weight(norm2.bias)) : undefined;
    if (bIn !== undefined || normBias !== undefined) {
      const products: { raw?: string; processed?: string } = {};
      if (bIn !== undefined) {
        products.raw = frobenius(g.node('Gemm', [bIn, wOut], { transB: transOut }), name('b_inW_out', 'raw'));
        names.push(products.raw);
      }
      let folded = normBias === undefined ? bIn! : g.node('Gemm', [normBias, wIn], { transB: transIn }); // b_norm·W_in: [1, dMlp]
      if (normBias !== undefined && bIn !== undefined) folded = g.node('Add', [folded, bIn]);
      let written = g.node('Gemm', [folded, wOut], { transB: transOut });
      if (processing.centerWritingWeights) written = center(written, 1);
      products.processed = frobenius(written, name('b_inW_out', 'processed'));
      names.push(products.processed);
      entry.b_inW_out = products;
    }
    for (const output of names) g.addOutput(output, ElementType.float, []);
    previous = processedName;
    return entry;
  };

  const inOut = (mlp: ExpertMlpSpec): [LinearWeights, LinearWeights] => (mlp.kind === 'dense' ? [mlp.in, mlp.out] : [mlp.up, mlp.down]);
  for (const layer of layers ?? spec.blocks.map((_, index) => index)) {
    const block = spec.blocks[layer]!;
    const { mlp } = block;
    const mlps = mlp.kind === 'moe' ? mlp.experts : [mlp];
    outputs.push(mlps.map((each, e) => addProducts(layer, ...inOut(each), block.norm2, mlp.kind === 'moe' ? e : undefined)));
  }
  return { bytes: g.toBytes(), outputs };
}
