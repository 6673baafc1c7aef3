/**
 * A sparse mixture of experts in the graph (types.ts MoeMlpSpec; Mixtral's block_sparse_moe), as
 * transformers computes it: router logits x·W_routerᵀ, their softmax over every expert, the top k,
 * renormalised over those k when the model says so; then each expert runs on the tokens that
 * chose it, and its output, times their weight, is added at their rows.
 *
 * Each expert sees only its tokens (NonZero → Gather → the expert's MLP → ScatterND add), not
 * every token: the same sums as transformers' index_add_, in expert order, with no work for the
 * experts a token did not choose (Mixtral-8x7B: 2 of 8, so a quarter of a dense evaluation's
 * MLP work, which would be most of the model's). An expert no token chose runs on zero rows.
 * Experts run one after the other (each waits for the sum so far, GraphContext.zeroAfter), so
 * only one expert's hidden layer exists at a time.
 *
 * The MLP's active fraction (what mechanisms counts) is, per token, Σ over its experts of
 * weight · (fraction of that expert's gate pre-activations > 0): the router-weighted mean over
 * the experts it uses.
 */
import type { ExpertMlpSpec, MoeMlpSpec } from '../architectures/types.js';
import { fractionPositive, type GraphContext } from './graph-context.js';
import { ElementType, int, ints, text } from './onnx-builder.js';

/** What the recipe's MLP builder gives of one expert on its rows. */
interface ExpertParts {
  pre: string;
  out: string;
}

export interface MixtureParts {
  /** [n, nExperts]: each token's weight of every expert, 0 for those it did not choose. */
  routing: string;
  /** [n, dModel] */
  out: string;
  /** [n]: the router-weighted active fraction of the chosen experts' hidden units. */
  active: string;
}

/** The routing weights [n, nExperts] of x [n, dModel]: softmax, top k, renormalised when asked, 0 elsewhere. */
export function routingWeights(ctx: GraphContext, x: string, spec: MoeMlpSpec, name: string): { weights: string; chosen: string } {
  const g = ctx.g;
  const probabilities = g.node('Softmax', [ctx.linear(x, spec.router, `${name}.router_logits`)], { axis: int(-1) }, `${name}.router_probs`);
  const [top, chosen] = g.nodeMany('TopK', [probabilities, g.intConstant([spec.topK])], { axis: int(-1), largest: int(1), sorted: int(1) }, [
    `${name}.top`,
    `${name}.chosen`,
  ]);
  const kept = spec.normalizeTopK
    ? g.node('Div', [top!, g.node('ReduceSum', [top!, g.intConstant([-1])], { keepdims: int(1) })], {}, `${name}.top_normalized`)
    : top!;
  const zeros = g.node('Mul', [probabilities, g.floatConstant([0], [])]);
  return { weights: g.node('ScatterElements', [zeros, chosen!, kept], { axis: int(1) }, `${name}.routing`), chosen: chosen! };
}

export function buildMixture(
  ctx: GraphContext,
  x: string,
  spec: MoeMlpSpec,
  name: string,
  buildExpert: (x: string, expert: ExpertMlpSpec, name: string) => ExpertParts,
): MixtureParts {
  const g = ctx.g;
  const { weights, chosen } = routingWeights(ctx, x, spec, name);
  let out = g.node('Mul', [x, g.floatConstant([0], [])], {}, `${name}.zeros`); // [n, dModel]
  let active = g.node('ReduceSum', [g.node('Mul', [weights, g.floatConstant([0], [])]), g.intConstant([-1])], { keepdims: int(0) }, `${name}.active_zeros`); // [n]
  spec.experts.forEach((expert, e) => {
    const label = `${name}.experts.${e}`;
    // The tokens that chose expert e (transformers' expert_mask), as rows of the [n, …] values.
    const picks = g.node('Cast', [g.node('Equal', [chosen, g.intConstant([e], [])])], { to: int(ElementType.float) });
    const isChosen = g.node('Greater', [g.node('ReduceMax', [picks], { axes: ints([-1]), keepdims: int(0) }), g.floatConstant([0], [])]);
    const rows = g.node('Reshape', [g.node('NonZero', [isChosen]), g.intConstant([-1])], {}, `${label}.rows`); // int64 [m]
    const indices = g.node('Unsqueeze', [rows, g.intConstant([1])]); // [m, 1]
    // Waits for the sum so far: one expert at a time.
    const input = g.node('Add', [g.node('Gather', [x, rows], { axis: int(0) }), ctx.zeroAfter([out], `${label}.after`)], {}, `${label}.input`);
    const parts = buildExpert(input, expert, label);
    const weight = g.node('Gather', [g.node('Gather', [weights, g.intConstant([e])], { axis: int(1) }), rows], { axis: int(0) }, `${label}.weight`); // [m, 1]
    out = g.node('ScatterND', [out, indices, g.node('Mul', [parts.out, weight])], { reduction: text('add') }, `${label}.sum`);
    const expertActive = g.node('Mul', [fractionPositive(ctx, parts.pre, `${label}.active`), g.node('Reshape', [weight, g.intConstant([-1])])]);
    active = g.node('ScatterND', [active, indices, expertActive], { reduction: text('add') }, `${label}.active_sum`);
  });
  return { routing: weights, out: g.node('Identity', [out], {}, `${name}.out`), active: g.node('Identity', [active], {}, `${name}.active`) };
}
