/**
 * Every field of a model description (types.ts TransformerSpec) has a reader that sees it: the
 * test walks the descriptions of a tiny model of every registered family, requires each field
 * (by path, array indices as [] and unions tagged {kind}) to be named in READERS below, and for
 * each named reader perturbs the field (in every block at once) and requires the reader's output
 * to change on at least one model. A new field without a reader, a reader that bypasses the one
 * function that applies a TensorRef's offset and scale, or a family without a model here fails.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadModel } from '../../src/architectures/load-model.js';
import { supportedArchitectures } from '../../src/architectures/registry.js';
import type { TransformerSpec } from '../../src/architectures/types.js';
import { planExternalData } from '../../src/graph/external-data.js';
import { consumerValues, largestChange, type Consumer, type ModelUnderTest } from '../support/description-consumers.js';
import type { TinyModel } from '../support/tiny-model.js';
import { writeTinyGemma } from '../support/tiny-gemma.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';
import { writeTinyGptNeo } from '../support/tiny-gpt-neo.js';
import { writeTinyGptNeox } from '../support/tiny-gpt-neox.js';
import { writeTinyGptj } from '../support/tiny-gptj.js';
import { writeTinyLlama } from '../support/tiny-llama.js';
import { writeTinyOpt } from '../support/tiny-opt.js';
import { writeTinyOlmo } from '../support/tiny-olmo.js';
import { writeTinyQwen3 } from '../support/tiny-qwen3.js';
import { writeTinyPhi } from '../support/tiny-phi.js';
import { writeTinyMixtral } from '../support/tiny-mixtral.js';

type Perturb = (value: unknown) => unknown;

/** A field read by these consumers (perturbed to show it), or one read elsewhere (named, not perturbed). */
type Entry = { readers: readonly Consumer[]; perturb?: Perturb } | { readBy: string };

const SHAPE = { readBy: 'shapes checked against the tensors (WeightResolver) and every graph' };
const KIND = { readBy: 'the union it tags: every reader switches on it' };
const LAYOUT = { readBy: 'WeightResolver.linear checks the stored shape against it; GraphContext.linear and weight-rows read it' };
const flip =
  (a: string, b: string): Perturb =>
  (value) =>
    value === a ? b : a;
const not: Perturb = (value) => !value;
const times =
  (factor: number): Perturb =>
  (value) =>
    (value as number) * factor;
const plus =
  (step: number): Perturb =>
  (value) =>
    (value as number) + step;
/** The rows of the other half of a tensor split in two equal parts (gate ↔ up). */
const OTHER_HALF: Perturb = (value) => {
  const rows = value as { start: number; count: number };
  return { start: rows.start === 0 ? rows.count : 0, count: rows.count };
};
const ACTIVATIONS: Perturb = (value) => ({ gelu_new: 'relu', relu: 'gelu', gelu: 'silu', silu: 'gelu_new' })[value as string];

/** A norm's fields: `gain` and `bias` name who reads those tensors; its kind and eps reach every graph that runs it. */
function normEntries(
  path: string,
  readers: { gain: readonly Consumer[]; bias: readonly Consumer[]; runs: readonly Consumer[] },
  kinds: ReadonlyArray<'layernorm' | 'rmsnorm'> = ['layernorm', 'rmsnorm'],
): Record<string, Entry> {
  const layerNorm: Record<string, Entry> = {
    [`${path}{layernorm}.kind`]: { readers: readers.runs, perturb: flip('layernorm', 'rmsnorm') },
    [`${path}{layernorm}.weight`]: { readers: readers.gain },
    [`${path}{layernorm}.bias`]: { readers: readers.bias },
    [`${path}{layernorm}.eps`]: { readers: readers.runs, perturb: times(1e4) },
  };
  const rmsNorm: Record<string, Entry> = {
    [`${path}{rmsnorm}.kind`]: { readers: readers.runs, perturb: flip('layernorm', 'rmsnorm') },
    [`${path}{rmsnorm}.weight`]: { readers: readers.gain },
    [`${path}{rmsnorm}.eps`]: { readers: readers.runs, perturb: times(1e4) },
  };
  return { ...(kinds.includes('layernorm') ? layerNorm : {}), ...(kinds.includes('rmsnorm') ? rmsNorm : {}) };
}

function linearEntries(path: string, weight: readonly Consumer[], bias: readonly Consumer[]): Record<string, Entry> {
  return { [`${path}.weight`]: { readers: weight }, [`${path}.bias`]: { readers: bias }, [`${path}.layout`]: LAYOUT };
}

/** The query and key norms of one kind (qkNorm{kind}): the scores read them; weights reports their gains (q_norm.w, k_norm.w). */
function qkNormEntries(kind: 'per-head' | 'projection'): Record<string, Entry> {
  const path = `blocks[].attention.qkNorm{${kind}}`;
  const readers = { gain: ['hooks', 'weights'] as const, bias: ['hooks'] as const, runs: ['hooks'] as const };
  return {
    [`${path}.kind`]: KIND,
    ...normEntries(`${path}.q`, readers, kind === 'per-head' ? ['layernorm', 'rmsnorm'] : ['rmsnorm']),
    ...normEntries(`${path}.k`, readers, kind === 'per-head' ? ['layernorm', 'rmsnorm'] : ['rmsnorm']),
  };
}

// Who must see each tensor: hooks (every activation), the weight analysis of what it is part of,
// the probes where mechanisms apply it to given vectors (W_V and W_O without their biases), the
// MLP products for the MLP's W_in (TransformerLens's: the up projection), W_out and norm2.
const READING: readonly Consumer[] = ['hooks', 'weights', 'probes'];
const QK: readonly Consumer[] = ['hooks', 'weights'];
const MLP_PRODUCT: readonly Consumer[] = ['hooks', 'weights', 'probes', 'mlp-products'];

const READERS: Record<string, Entry> = {
  architecture: { readBy: 'results (model.architecture) and messages' },
  'dims.nLayers': SHAPE,
  'dims.dModel': SHAPE,
  'dims.nHeads': SHAPE,
  'dims.nKvHeads': SHAPE,
  'dims.dHead': SHAPE,
  'dims.dMlp': SHAPE,
  'dims.dVocab': SHAPE,
  'dims.nCtx': SHAPE,
  normalization: { readBy: 'results (model.normalization); the norms carry their own kind' },
  normPlacement: { readBy: "loadModel checks each block's norms against it (model-shape.ts specProblems)" },
  parallelResidual: { readers: ['hooks'], perturb: not },
  'convention.metric': { readers: ['probes'], perturb: flip('centered', 'raw') },
  'convention.reason': { readBy: 'results (options.primaryMetricReason)' },
  'convention.mechanismsReason': { readBy: 'mechanisms (options.metricReason)' },
  'convention.mechanismsNormalization': { readBy: 'mechanisms (options.normalization)' },
  'convention.weightsReason': { readBy: 'weights (options.primaryVariantReason)' },
  'convention.weightProcessing.foldNormGains': { readers: ['weights', 'mlp-products'], perturb: not },
  'convention.weightProcessing.foldNormBiases': { readers: ['weights', 'mlp-products'], perturb: not },
  'convention.weightProcessing.centerReadingWeights': { readers: ['weights', 'mlp-products'], perturb: not },
  'convention.weightProcessing.centerWritingWeights': { readers: ['weights', 'mlp-products'], perturb: not },
  'convention.weightProcessing.foldValueBiases': { readers: ['weights'], perturb: not },
  bosTokenId: { readBy: 'tokenization (measure/sequences.ts: the BOS prepended)' },
  eosTokenId: { readBy: 'tokenization (--append-eos)' },
  specialTokenIds: { readBy: 'exclusions (measure/exclusions.ts)' },
  weightDtype: { readBy: 'results (model.dtype)' },
  tokenEmbedding: { readers: ['hooks', 'lens'] },
  'positionEmbedding.weight': { readers: ['hooks'] },
  'positionEmbedding.offset': { readers: ['hooks'], perturb: plus(1) },
  ...normEntries('blocks[].norm1', { gain: READING, bias: QK, runs: ['hooks', 'probes'] }),
  ...normEntries('blocks[].norm2', { gain: MLP_PRODUCT, bias: MLP_PRODUCT, runs: ['hooks', 'probes'] }),
  // Post-sublayer norms (only RMSNorm ones exist so far): what each sub-block adds passes through
  // them (the probes' outputs too); weights reports their gains.
  ...normEntries('blocks[].norm1Post', { gain: READING, bias: READING, runs: ['hooks', 'probes'] }, ['rmsnorm']),
  ...normEntries('blocks[].norm2Post', { gain: READING, bias: READING, runs: ['hooks', 'probes'] }, ['rmsnorm']),
  'blocks[].attention.qkv{fused}.kind': KIND,
  ...linearEntries('blocks[].attention.qkv{fused}.linear', READING, QK),
  'blocks[].attention.qkv{fused-per-head}.kind': KIND,
  ...linearEntries('blocks[].attention.qkv{fused-per-head}.linear', READING, QK),
  'blocks[].attention.qkv{separate}.kind': KIND,
  // TransformerLens reports no b_Q, b_K: only the graph reads them.
  ...linearEntries('blocks[].attention.qkv{separate}.q', QK, ['hooks']),
  ...linearEntries('blocks[].attention.qkv{separate}.k', QK, ['hooks']),
  ...linearEntries('blocks[].attention.qkv{separate}.v', READING, QK),
  // The heads diagnostic reads W_O itself (its Gram matrices), besides the forward pass.
  ...linearEntries('blocks[].attention.out', [...READING, 'head-writes'], QK),
  'blocks[].attention.scale': { readers: ['hooks'], perturb: times(1.5) },
  'blocks[].attention.window': { readers: ['hooks'], perturb: plus(1) },
  'blocks[].attention.scoreSoftCap': { readers: ['hooks'], perturb: times(0.5) },
  // Norms of the queries and keys before rotary: the scores read them; weights reports their gains.
  ...qkNormEntries('per-head'),
  ...qkNormEntries('projection'),
  // OLMo's clip_qkv: the forward pass clamps q, k, v; the probes clamp x·W_V.
  'blocks[].attention.qkvClip': { readers: ['hooks', 'probes'], perturb: times(0.5) },
  'blocks[].attention.rotary.rotaryDims': { readers: ['hooks'], perturb: plus(-2) },
  'blocks[].attention.rotary.base': { readers: ['hooks'], perturb: times(2) },
  'blocks[].attention.rotary.pairing': { readers: ['hooks'], perturb: () => undefined },
  'blocks[].attention.rotary.scaling{linear}.kind': KIND,
  'blocks[].attention.rotary.scaling{linear}.factor': { readers: ['hooks'], perturb: times(1.5) },
  'blocks[].attention.rotary.scaling{llama3}.kind': KIND,
  'blocks[].attention.rotary.scaling{llama3}.factor': { readers: ['hooks'], perturb: times(1.5) },
  'blocks[].attention.rotary.scaling{llama3}.lowFreqFactor': { readers: ['hooks'], perturb: times(1.5) },
  'blocks[].attention.rotary.scaling{llama3}.highFreqFactor': { readers: ['hooks'], perturb: times(1.5) },
  'blocks[].attention.rotary.scaling{llama3}.originalContext': { readers: ['hooks'], perturb: times(2) },
  'blocks[].attention.rotary.scaling{longrope}.kind': KIND,
  'blocks[].attention.rotary.scaling{longrope}.shortFactors': {
    readers: ['hooks'],
    perturb: (value) => (value as number[]).map((factor, i) => factor * (1 + 0.5 * (i + 1))),
  },
  'blocks[].attention.rotary.scaling{longrope}.attentionFactor': { readers: ['hooks'], perturb: times(1.5) },
  'blocks[].attention.rotary.scaling{longrope}.originalContext': {
    readBy: "the adapter, which caps the shape's nCtx at it (rope-config.ts longRopeContext): the graph never runs the long regime",
  },
  'blocks[].mlp{dense}.kind': KIND,
  'blocks[].mlp{dense}.activation': { readers: ['hooks', 'probes'], perturb: ACTIVATIONS },
  ...linearEntries('blocks[].mlp{dense}.in', MLP_PRODUCT, MLP_PRODUCT),
  ...linearEntries('blocks[].mlp{dense}.out', MLP_PRODUCT, READING),
  'blocks[].mlp{gated}.kind': KIND,
  'blocks[].mlp{gated}.activation': { readers: ['hooks', 'probes'], perturb: ACTIVATIONS },
  ...linearEntries('blocks[].mlp{gated}.gate', READING, READING),
  ...linearEntries('blocks[].mlp{gated}.up', MLP_PRODUCT, MLP_PRODUCT),
  // Parts of one fused tensor (Phi-3's gate_up_proj): each reader must take its own rows.
  'blocks[].mlp{gated}.gate.weight.rows': { readers: READING, perturb: OTHER_HALF },
  'blocks[].mlp{gated}.up.weight.rows': { readers: MLP_PRODUCT, perturb: OTHER_HALF },
  ...linearEntries('blocks[].mlp{gated}.down', MLP_PRODUCT, READING),
  // A mixture of experts: the router and the routing reach every forward pass (hooks, the probes'
  // MoE output); weights reports the router's norm and each expert's MLP (and MLP products).
  'blocks[].mlp{moe}.kind': KIND,
  'blocks[].mlp{moe}.router.weight': { readers: READING },
  'blocks[].mlp{moe}.router.layout': LAYOUT,
  'blocks[].mlp{moe}.topK': { readers: ['hooks', 'probes'], perturb: plus(1) },
  'blocks[].mlp{moe}.normalizeTopK': { readers: ['hooks', 'probes'], perturb: not },
  'blocks[].mlp{moe}.experts[]{gated}.kind': KIND,
  'blocks[].mlp{moe}.experts[]{gated}.activation': { readers: ['hooks', 'probes'], perturb: ACTIVATIONS },
  'blocks[].mlp{moe}.experts[]{gated}.gate.weight': { readers: READING },
  'blocks[].mlp{moe}.experts[]{gated}.gate.layout': LAYOUT,
  'blocks[].mlp{moe}.experts[]{gated}.up.weight': { readers: MLP_PRODUCT },
  'blocks[].mlp{moe}.experts[]{gated}.up.layout': LAYOUT,
  'blocks[].mlp{moe}.experts[]{gated}.down.weight': { readers: MLP_PRODUCT },
  'blocks[].mlp{moe}.experts[]{gated}.down.layout': LAYOUT,
  ...normEntries('outputHead.finalNorm', { gain: ['lens'], bias: ['lens'], runs: ['lens'] }),
  'outputHead.unembedding': { readers: ['lens'] },
  'outputHead.bias': { readers: ['lens'] },
  'outputHead.logitSoftCap': { readers: ['lens'], perturb: times(0.5) },
  'outputHead.tied': { readBy: 'results (diagnostics.outputHead.tied)' },
};

const isRef = (value: unknown): value is { tensor: { byteOffset: number } } =>
  typeof value === 'object' && value !== null && 'tensor' in value && typeof (value as { tensor: { byteOffset?: unknown } }).tensor.byteOffset === 'number';

/**
 * Visit every field of a description: TensorRefs and arrays of plain values are leaves; an object
 * with a `kind` is tagged with it. `visit` may return a replacement for the field.
 */
function walk(value: unknown, path: string, visit: (path: string, value: unknown, leaf: boolean) => unknown): unknown {
  if (isRef(value)) {
    // A TensorRef is a leaf (its offset and scale perturbed together); the rows it takes of a fused tensor are a field of their own.
    const replaced = visit(path, value, true);
    const rows = (value as { rows?: unknown }).rows;
    if (replaced !== value || rows === undefined) return replaced;
    const rowsReplaced = visit(`${path}.rows`, rows, true);
    return rowsReplaced === rows ? value : { ...value, rows: rowsReplaced };
  }
  const leaf = (Array.isArray(value) && value.every((item) => typeof item !== 'object')) || typeof value !== 'object' || value === null;
  const replaced = visit(path, value, leaf);
  if (replaced !== value || leaf) return replaced;
  if (Array.isArray(value)) return value.map((item) => walk(item, `${path}[]`, visit));
  const record = value as Record<string, unknown>;
  const tagged = typeof record.kind === 'string' ? `${path}{${record.kind}}` : path;
  return Object.fromEntries(Object.entries(record).map(([key, item]) => [key, walk(item, tagged === '' ? key : `${tagged}.${key}`, visit)]));
}

/** The paths of every leaf field. */
function fieldPaths(spec: TransformerSpec): Set<string> {
  const paths = new Set<string>();
  walk(spec, '', (path, value, leaf) => {
    if (leaf) paths.add(path);
    return value;
  });
  return paths;
}

/** The spec with the field at `target` perturbed wherever it occurs (a TensorRef: offset + 0.25 and scale × 1.5). */
function perturbed(spec: TransformerSpec, target: string, perturb: Perturb | undefined): TransformerSpec {
  return walk(spec, '', (path, value) => {
    if (path !== target) return value;
    if (isRef(value)) {
      const ref = value as { offset?: number; scale?: number };
      return { ...ref, offset: (ref.offset ?? 0) + 0.25, scale: (ref.scale ?? 1) * 1.5 };
    }
    if (perturb === undefined) throw new Error(`${target}: a field of type ${typeof value} needs a perturb function`);
    return perturb(value);
  }) as TransformerSpec;
}

describe('every field of the model description is read (perturbing it changes each reader named for it)', () => {
  let root: string;
  const models: Array<ModelUnderTest & { label: string; paths: Set<string> }> = [];
  const baselines = new Map<string, number[]>();

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-description-'));
    const writers: Array<[string, (dir: string) => Promise<TinyModel>]> = [
      ['gpt2', (dir) => writeTinyGpt2(dir, { nLayers: 2, dModel: 16, nHeads: 2 })],
      ['gpt_neo', (dir) => writeTinyGptNeo(dir, { dModel: 16, nHeads: 2, attentionTypes: [[['global', 'local'], 1]], windowSize: 4 })],
      ['opt', (dir) => writeTinyOpt(dir, { nLayers: 2, dModel: 16, nHeads: 2, dMlp: 24 })],
      ['gpt_neox', (dir) => writeTinyGptNeox(dir, { nLayers: 2, dModel: 16, nHeads: 2 })],
      [
        'gpt_neox linear rope',
        (dir) => writeTinyGptNeox(dir, { nLayers: 1, dModel: 16, nHeads: 2, ropeScaling: { type: 'linear', factor: 2 }, parallelResidual: false }),
      ],
      [
        'llama',
        (dir) =>
          writeTinyLlama(dir, {
            nLayers: 2,
            dModel: 16,
            nHeads: 2,
            nKvHeads: 1,
            dMlp: 24,
            attentionBias: true,
            mlpBias: true,
            ropeTheta: 100,
            rope: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 32 },
          }),
      ],
      ['mistral', (dir) => writeTinyLlama(dir, { modelType: 'mistral', nLayers: 2, dModel: 16, nHeads: 2, dMlp: 24, extraConfig: { sliding_window: 4 } })],
      [
        'qwen2',
        (dir) =>
          writeTinyLlama(dir, {
            modelType: 'qwen2',
            nLayers: 2,
            dModel: 16,
            nHeads: 2,
            dMlp: 24,
            extraConfig: { use_sliding_window: true, sliding_window: 4, max_window_layers: 1 },
          }),
      ],
      ['gemma', (dir) => writeTinyGemma(dir, { nLayers: 2, dModel: 16, nHeads: 2, nKvHeads: 1, headDim: 8, dMlp: 24 })],
      [
        'gemma2',
        (dir) =>
          writeTinyGemma(dir, {
            modelType: 'gemma2',
            nLayers: 2,
            dModel: 16,
            nHeads: 2,
            nKvHeads: 1,
            headDim: 8,
            dMlp: 24,
            slidingWindow: 4,
            attnLogitSoftcapping: 2,
            finalLogitSoftcapping: 3,
          }),
      ],
      [
        'gemma3_text',
        (dir) =>
          writeTinyGemma(dir, {
            modelType: 'gemma3_text',
            nLayers: 2,
            dModel: 16,
            nHeads: 2,
            nKvHeads: 1,
            headDim: 8,
            dMlp: 24,
            slidingWindow: 4,
            slidingWindowPattern: 2,
          }),
      ],
      ['olmo', (dir) => writeTinyOlmo(dir, { nLayers: 2, dModel: 16, nHeads: 2, dMlp: 24, clipQkv: 0.5 })],
      ['olmo2', (dir) => writeTinyOlmo(dir, { modelType: 'olmo2', nLayers: 2, dModel: 16, nHeads: 2, nKvHeads: 1, dMlp: 24 })],
      ['qwen3', (dir) => writeTinyQwen3(dir, { nLayers: 2, dModel: 16, nHeads: 2, nKvHeads: 1, headDim: 8, dMlp: 24, slidingWindow: 4, maxWindowLayers: 1 })],
      ['phi', (dir) => writeTinyPhi(dir, { nLayers: 2, dModel: 16, nHeads: 2, nKvHeads: 1, dMlp: 24, qkLayernorm: true })],
      [
        'phi3',
        (dir) =>
          writeTinyPhi(dir, {
            modelType: 'phi3',
            nLayers: 2,
            dModel: 16,
            nHeads: 2,
            nKvHeads: 1,
            dMlp: 24,
            slidingWindow: 4,
            nCtx: 128,
            longRope: { shortFactor: [1, 1.5, 2.5, 4], longFactor: [2, 3, 4, 5], originalContext: 32 },
          }),
      ],
      ['gptj', (dir) => writeTinyGptj(dir, { nLayers: 2, dModel: 16, nHeads: 2, rotaryDim: 4, nInner: 24 })],
      ['mixtral', (dir) => writeTinyMixtral(dir, { nLayers: 2, dModel: 16, nHeads: 2, nKvHeads: 1, dMlp: 24, nExperts: 4, topK: 2, slidingWindow: 4 })],
    ];
    for (const [label, write] of writers) {
      const tiny = await write(join(root, label.replace(/ /g, '-')));
      const { spec, weights } = await loadModel(tiny.dir);
      const layout = await planExternalData(weights.files);
      const ids = Array.from({ length: 12 }, (_, i) => (i * 37 + 11) % 250);
      models.push({ label, spec, weights, layout, ids, paths: fieldPaths(spec) });
    }
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it('has a tiny model of every registered family', () => {
    assert.deepEqual([...new Set(models.map((model) => model.spec.architecture))].sort(), supportedArchitectures().sort());
  });

  it("names every field of every family's description, and names no field that no description has", () => {
    const seen = new Set(models.flatMap((model) => [...model.paths]));
    assert.deepEqual([...seen].filter((path) => !(path in READERS)).sort(), [], 'fields without an entry in READERS: say who reads them');
    assert.deepEqual(
      Object.keys(READERS)
        .filter((path) => !seen.has(path))
        .sort(),
      [],
      'entries of READERS that no tiny model has: add a model with the field',
    );
  });

  for (const [path, entry] of Object.entries(READERS)) {
    if (!('readers' in entry)) continue;
    it(`${path} is read by ${entry.readers.join(', ')}`, async () => {
      const having = models.filter((model) => model.paths.has(path));
      assert.ok(having.length > 0, `no tiny model has ${path}`);
      for (const consumer of entry.readers) {
        const tried: string[] = [];
        let seen = false;
        for (const model of having) {
          const key = `${model.label}|${consumer}`;
          if (!baselines.has(key)) baselines.set(key, await consumerValues(consumer, model));
          const change = largestChange(baselines.get(key)!, await consumerValues(consumer, model, perturbed(model.spec, path, entry.perturb)));
          tried.push(`${model.label}: ${change.toExponential(1)}`);
          if (change > 1e-6) {
            seen = true;
            break;
          }
        }
        assert.ok(seen, `${consumer} ignores ${path} (largest relative change ${tried.join('; ')})`);
      }
    });
  }
});
