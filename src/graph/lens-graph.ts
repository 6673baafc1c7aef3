/**
 * The logit lens in the graph (`measure --diagnostics lens`): a residual stream through the
 * model's final norm and unembedding (with its bias, Phi and GPT-J; the logits' soft-cap, Gemma 2), reduced at once to two
 * numbers per token, so no vocabulary-sized tensor ever leaves ONNX Runtime:
 *
 *   entropy  H = ln S − A / S, with m = max z, S = Σ exp(z − m), A = Σ exp(z − m)·(z − m):
 *            the entropy (nats) of softmax(z), from one max-shifted pass (both terms ≥ 0)
 *   rank     #{j : z_j > z_next}, the logits strictly greater than the next token's (ties
 *            count in the next token's favour, as the reference does); LENS_NO_NEXT where the
 *            token has no next token (next id < 0: the last of its sequence, or padding)
 *
 * Each stream's logits [batch·pos, dVocab] exist only while its two reductions run: the
 * results join the barrier before the next block (transformer-graph.ts), so ONNX Runtime
 * finishes one stream's lens, and frees its logits, before it computes the next block.
 */
import type { OutputHead } from '../architectures/types.js';
import { LENS_NO_NEXT } from '../results/diagnostics.js';
import type { GraphContext } from './graph-context.js';
import { ElementType, int, ints } from './onnx-builder.js';

export class LensBuilder {
  /** [batch·pos, 1] int64: the next token's id, < 0 where there is none. */
  private readonly next: string;
  /** W_U [dVocab, dModel], reshaped to a shape known only at run time (see constructor). */
  private readonly unembedding: string;

  /**
   * @param nextIds int64 [batch, pos] graph input
   * @param tokenShape int64 [2], Shape(input_ids): makes W_U's reshape a run-time value
   */
  constructor(
    private readonly ctx: GraphContext,
    private readonly head: OutputHead,
    nextIds: string,
    tokenShape: string,
  ) {
    const g = ctx.g;
    this.next = g.node('Reshape', [nextIds, g.intConstant([-1, 1])], {}, 'lens.next');
    const [dVocab, dIn] = head.unembedding.tensor.shape as [number, number];
    // As a constant, W_U would be copied into ONNX Runtime's packed GEMM layout at load (models
    // under 1 GB prepack; measured on GPT-2 small's wte: +180 MB, and 13 GEMMs of 512 tokens no
    // faster: 3.36 s packed, 2.98 s in place). Reshaped to a shape computed from the input's, it
    // is no longer a constant: read in place from the mapped file (Reshape aliases its input).
    const shape = g.node('Add', [g.node('Mul', [tokenShape, g.intConstant([0])]), g.intConstant([dVocab, dIn])], {}, 'lens.w_u_shape');
    this.unembedding = ctx.weight(head.unembedding, (stored) => g.node('Reshape', [stored, shape], {}, 'lens.w_u'));
  }

  /** The lens on one stream x [batch·pos, dModel]: entropy and rank, each [batch·pos, 1] float. */
  add(x: string, name: string): { entropy: string; rank: string } {
    const g = this.ctx.g;
    const normed = this.head.finalNorm ? this.ctx.norm(x, this.head.finalNorm, `${name}.final_norm`) : x;
    const bias = this.head.bias === undefined ? [] : [this.ctx.weight(this.head.bias)];
    const product = g.node('Gemm', [normed, this.unembedding, ...bias], { transB: int(1) }, `${name}.logits`); // [batch·pos, dVocab]
    const keep = { axes: ints([-1]), keepdims: int(1) };
    const sum = (value: string, output: string) => g.node('ReduceSum', [value, g.intConstant([-1])], { keepdims: int(1) }, output);
    // Rank first, while the logits are still needed as they are. A soft-cap (strictly increasing)
    // keeps the order, so the rank is taken before it: float32 tanh could tie distinct logits.
    const index = g.node('Max', [this.next, g.intConstant([0], [])]);
    const nextLogit = g.node('GatherElements', [product, index], { axis: int(1) }, `${name}.next_logit`); // [batch·pos, 1]
    const above = sum(g.node('Cast', [g.node('Greater', [product, nextLogit])], { to: int(ElementType.float) }), `${name}.above`); // float: exact to 2^24 > any dVocab
    const hasNext = g.node('GreaterOrEqual', [this.next, g.intConstant([0], [])]);
    const rank = g.node('Where', [hasNext, above, g.floatConstant([LENS_NO_NEXT], [])], {}, `${name}.rank`);
    const logits = this.head.logitSoftCap === undefined ? product : this.ctx.softCap(product, this.head.logitSoftCap, `${name}.capped_logits`);
    const shifted = g.node('Sub', [logits, g.node('ReduceMax', [logits], keep, `${name}.max`)]);
    const weights = g.node('Exp', [shifted]);
    const total = sum(weights, `${name}.sum_exp`);
    // Σ exp(z − m)·(z − m) as one dot product per token ([T, 1, V] · [T, V, 1], both views of
    // the [T, V] values): no third vocabulary-sized tensor for the product.
    const row = (value: string, shape: number[]) => g.node('Reshape', [value, g.intConstant(shape)]);
    const weighted = g.node(
      'Reshape',
      [g.node('MatMul', [row(weights, [0, 1, -1]), row(shifted, [0, -1, 1])]), g.intConstant([-1, 1])],
      {},
      `${name}.sum_exp_shifted`,
    );
    const entropy = g.node('Sub', [g.node('Log', [total]), g.node('Div', [weighted, total])], {}, `${name}.entropy`);
    return { entropy, rank };
  }
}
