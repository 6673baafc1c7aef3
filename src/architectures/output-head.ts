/**
 * The output head each adapter describes for the logit lens: the final norm and W_U, either the
 * token embedding (tied) or a tensor of its own. It is resolved apart from the rest of the model:
 * a missing or misshapen head never refuses a model (norms do not need it); it only makes
 * `measure --diagnostics lens` refuse, naming the problem.
 */
import { quote } from '../errors.js';
import type { ConfigReader } from './config-reader.js';
import type { ModelDims, NormWeights, TransformerSpec } from './types.js';
import type { WeightResolver } from './weight-resolver.js';

export interface OutputHeadRecipe {
  /**
   * The final norm, named under the body's key prefix (e.g. `ln_f`), or one without parameters
   * (OLMo's: no tensors); absent for a model without one. `gainOffset` as WeightResolver.rmsNorm's.
   */
  finalNorm?: { name: string; kind: NormWeights['kind']; eps: number; gainOffset?: number } | { parameterFree: true; kind: NormWeights['kind']; eps: number };
  /** The token embedding's tensor under the body's key prefix: W_U when tied. */
  embedding: string;
  /** The untied W_U's full key, outside the body's prefix (e.g. `lm_head.weight`). */
  head: string;
  /** tie_word_embeddings when config.json does not say (transformers' default for the family). */
  tiedByDefault: boolean;
  /** A checkpoint without `head` uses the embedding, whatever the config says (Llama; see llama.ts). */
  absentHeadIsTied?: boolean;
  /** Soft-cap of the logits (Gemma 2's final_logit_softcapping); none when absent. */
  logitSoftCap?: number;
  /** b_U's full key, outside the body's prefix (Phi's and GPT-J's `lm_head.bias`, kept when the weight is tied); none when absent. */
  headBias?: string;
}

function finalNormOf(body: WeightResolver, norm: OutputHeadRecipe['finalNorm'], dModel: number): NormWeights | undefined {
  if (norm === undefined) return undefined;
  if ('parameterFree' in norm) return { kind: norm.kind, eps: norm.eps };
  return norm.kind === 'layernorm' ? body.layerNorm(norm.name, dModel, norm.eps) : body.rmsNorm(norm.name, dModel, norm.eps, norm.gainOffset);
}

export function describeOutputHead(w: WeightResolver, reader: ConfigReader, dims: ModelDims, recipe: OutputHeadRecipe): TransformerSpec['outputHead'] {
  const { dModel, dVocab } = dims;
  const body = w.apart();
  const top = w.apart('');
  const problems: string[] = [];
  const setting = reader.raw('tie_word_embeddings');
  let tied = recipe.tiedByDefault;
  if (typeof setting === 'boolean') tied = setting;
  else if (setting !== undefined && setting !== null) problems.push(`tie_word_embeddings is ${quote(setting)}; expected true or false`);

  const finalNorm = finalNormOf(body, recipe.finalNorm, dModel);
  if (!tied && !top.has(recipe.head) && recipe.absentHeadIsTied) tied = true;
  const unembedding = tied ? body.get(recipe.embedding, [dVocab, dModel]) : top.get(recipe.head, [dVocab, dModel]);
  const bias = recipe.headBias === undefined ? undefined : top.get(recipe.headBias, [dVocab]);
  for (const problem of [body.problem(), top.problem()]) if (problem !== undefined) problems.push(problem);
  if (problems.length > 0) return { unavailable: problems.join('; ') };
  return {
    ...(finalNorm ? { finalNorm } : {}),
    unembedding,
    tied,
    ...(bias ? { bias } : {}),
    ...(recipe.logitSoftCap !== undefined ? { logitSoftCap: recipe.logitSoftCap } : {}),
  };
}
