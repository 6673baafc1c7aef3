/**
 * The logit lens by its definition, in float64, sharing nothing with the graph (lens-graph.ts):
 * at every stream (the embeddings, then the output of each block) each position's logits
 * through the model's own head (reference-*.ts), the entropy −Σ p ln p of their full softmax,
 * and the rank of the next token: how many logits are strictly greater than its own (ties
 * count in its favour, as the graph's rank does).
 */
import { LENS_NO_NEXT } from '../../src/results/diagnostics.js';
import type { BlockTrace, ReferenceHead, Vectors } from './reference-ops.js';

/**
 * Logits closer than this to the next token's may be ordered differently by float32 and
 * float64 (the graph's logits are float32 sums of d_model products): the rank is only compared
 * exactly where no other logit is this close.
 */
export const NEAR_TIE = 1e-4;

export interface ReferenceLens {
  /** [position][stream] */
  entropy: number[][];
  /** [position][stream]; LENS_NO_NEXT at the last position. */
  rank: number[][];
  /** [position][stream]: the other logits within NEAR_TIE of the next token's (0 at the last position). */
  nearTies: number[][];
}

/** The residual streams the lens reads: resid_pre of block 0, then resid_post of every block. */
export function lensStreams(traces: readonly BlockTrace[]): Vectors[] {
  return [traces[0]!.residPre, ...traces.map((trace) => trace.residPost)];
}

export function referenceLens(traces: readonly BlockTrace[], head: ReferenceHead, ids: readonly number[]): ReferenceLens {
  const positions = ids.length;
  const result: ReferenceLens = { entropy: [], rank: [], nearTies: [] };
  for (let p = 0; p < positions; p += 1) {
    result.entropy.push([]);
    result.rank.push([]);
    result.nearTies.push([]);
  }
  for (const stream of lensStreams(traces)) {
    const logits = head(stream);
    logits.forEach((z, p) => {
      const max = z.reduce((a, b) => Math.max(a, b), -Infinity);
      const exps = z.map((value) => Math.exp(value - max));
      const total = exps.reduce((a, b) => a + b, 0);
      let entropy = 0;
      for (const e of exps) {
        const probability = e / total;
        if (probability > 0) entropy -= probability * Math.log(probability);
      }
      result.entropy[p]!.push(entropy);
      if (p === positions - 1) {
        result.rank[p]!.push(LENS_NO_NEXT);
        result.nearTies[p]!.push(0);
        return;
      }
      const next = ids[p + 1]!;
      const own = z[next]!;
      let rank = 0;
      let near = 0;
      z.forEach((value, j) => {
        if (value > own) rank += 1;
        if (j !== next && Math.abs(value - own) <= NEAR_TIE) near += 1;
      });
      result.rank[p]!.push(rank);
      result.nearTies[p]!.push(near);
    });
  }
  return result;
}
