/**
 * The config-only model shape (types.ts ModelShape): how an adapter assembles it, which hook
 * points it has, and the check that an adapter's description of the weights keeps the shape it
 * read from config.json (so a flag accepted before the download stays valid after it).
 */
import { HOOK_NAMES, type HookName } from '../vocabulary/hooks.js';
import type { ConfigReader } from './config-reader.js';
import { transformerLensConvention, type ConventionOptions } from './conventions.js';
import type { BlockSpec, MlpSpec, ModelDims, ModelShape, NormKind, NormPlacement, TransformerSpec } from './types.js';

export interface ShapeParts {
  architecture: string;
  dims: ModelDims;
  normalization: NormKind;
  normPlacement?: NormPlacement;
  parallelResidual: boolean;
  /** How the model applies its norms' gain, for the texts of the convention (Gemma: '(1 + w)'). */
  convention?: ConventionOptions;
}

/** A model's shape from what its adapter read of config.json; special token ids from `reader`. */
export function modelShape(parts: ShapeParts, reader: ConfigReader): ModelShape {
  const normPlacement = parts.normPlacement ?? 'pre';
  const { bos, eos, all } = reader.specialTokenIds();
  return {
    architecture: parts.architecture,
    dims: parts.dims,
    normalization: parts.normalization,
    normPlacement,
    parallelResidual: parts.parallelResidual,
    convention: transformerLensConvention(parts.normalization, normPlacement, parts.convention),
    bosTokenId: bos,
    eosTokenId: eos,
    specialTokenIds: all,
  };
}

/** Hook points that exist for this model (parallel-residual blocks have no resid_mid). */
export function availableHooks(shape: Pick<ModelShape, 'parallelResidual'>): HookName[] {
  return HOOK_NAMES.filter((hook) => !(shape.parallelResidual && hook === 'resid_mid'));
}

/** The ModelShape part of a spec (for comparing it with readShape's). */
export function shapeOf(spec: TransformerSpec): ModelShape {
  const { architecture, dims, normalization, normPlacement, parallelResidual, convention, bosTokenId, eosTokenId, specialTokenIds } = spec;
  return { architecture, dims, normalization, normPlacement, parallelResidual, convention, bosTokenId, eosTokenId, specialTokenIds };
}

/** Which norms a block of this placement has: [norm1/norm2 present, norm1Post/norm2Post present]. */
function expectedNorms(placement: NormPlacement): { pre: boolean; post: boolean } {
  return { pre: placement !== 'post', post: placement !== 'pre' };
}

/**
 * Problems of a spec against the shape read from its config alone (none: an empty list): a
 * different shape, blocks whose norms disagree with the placement, or norms of another kind.
 * These are adapter bugs, never the user's: loadModel throws them as internal errors.
 */
export function specProblems(spec: TransformerSpec, shape: ModelShape): string[] {
  const problems: string[] = [];
  if (JSON.stringify(shapeOf(spec)) !== JSON.stringify(shape))
    problems.push(`its shape ${JSON.stringify(shapeOf(spec))} differs from the config's ${JSON.stringify(shape)}`);
  if (spec.blocks.length !== spec.dims.nLayers) problems.push(`it has ${spec.blocks.length} blocks for ${spec.dims.nLayers} layers`);
  const { pre, post } = expectedNorms(spec.normPlacement);
  spec.blocks.forEach((block: BlockSpec, layer) => {
    const present = { norm1: block.norm1, norm2: block.norm2, norm1Post: block.norm1Post, norm2Post: block.norm2Post };
    for (const [name, norm] of Object.entries(present)) {
      const wanted = name.endsWith('Post') ? post : pre;
      if ((norm !== undefined) !== wanted) problems.push(`block ${layer} ${norm === undefined ? 'lacks' : 'has'} ${name} with ${spec.normPlacement} norms`);
      if (norm !== undefined && norm.kind !== spec.normalization) problems.push(`block ${layer}'s ${name} is ${norm.kind} in a ${spec.normalization} model`);
    }
  });
  return problems;
}

/** The MLP's kind as results files name it, and a mixture's experts: how many a block has, how many each token uses. */
export function mlpKind(spec: Pick<TransformerSpec, 'blocks'>): { mlp: MlpSpec['kind']; experts?: { count: number; perToken: number } } {
  const mlp = spec.blocks[0]?.mlp;
  if (mlp === undefined) return { mlp: 'dense' };
  return mlp.kind === 'moe' ? { mlp: 'moe', experts: { count: mlp.experts.length, perToken: mlp.topK } } : { mlp: mlp.kind };
}

/** The MLP's activation (a mixture's: its experts'). */
export function mlpActivation(spec: Pick<TransformerSpec, 'blocks'>): string {
  const mlp = spec.blocks[0]!.mlp;
  return mlp.kind === 'moe' ? mlp.experts[0]!.activation : mlp.activation;
}
