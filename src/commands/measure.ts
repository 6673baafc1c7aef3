/**
 * `resid-norms measure`: the pipeline from a model name and a prompt file to a results file.
 * Phases, in order (each a typed function in its own module):
 *   resolve model → load spec → load tokenizer → read prompts → tokenize → plan batches →
 *   build graph → create session → collect norms → summarize → write results
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { summarizeMeasurement } from '../analysis/norm-statistics.js';
import type { TransformerSpec } from '../architectures/types.js';
import type { Reporter } from '../cli/reporter.js';
import { UsageError, quote } from '../errors.js';
import { planExternalData } from '../graph/external-data.js';
import { availableHooks, buildTransformerGraph } from '../graph/transformer-graph.js';
import { planBatches } from '../measure/batches.js';
import { collectBatch } from '../measure/collect-norms.js';
import { readPromptFile } from '../measure/prompts.js';
import { resolveBosTokenId, tokenizePrompts } from '../measure/sequences.js';
import { loadModel } from '../models/load-model.js';
import { resolveModel, type ResolvedModel } from '../models/resolve-model.js';
import { loadTokenizer } from '../models/tokenizer-files.js';
import { DEFAULT_PROMPTS, DEMO_MODEL_DIR, DEMO_MODEL_ID } from '../package-paths.js';
import { writeFileAtomic } from '../results/atomic-write.js';
import { formatMeasurement } from '../results/format-measurement.js';
import { HOOK_NAMES, MEASUREMENT_FORMAT, MEASUREMENT_VERSION, type HookName, type Measurement, type NormMetric, type SequenceResult } from '../results/schema.js';
import { createNormSession, onnxRuntimeVersion, type Device } from '../runtime/onnx-session.js';
import { toolVersion } from '../version.js';

export interface MeasureRequest {
  /** Alias, Hub repo id[@revision] or folder; the embedded demo model when absent. */
  model?: string;
  /** Prompt file; the built-in prompts/default.txt when absent. */
  promptsPath?: string;
  /** Output file; results/<model-slug>.json when absent. */
  outPath?: string;
  /** Hooks to measure; every hook the model has when absent. */
  hooks?: HookName[];
  batchSize: number;
  /** Longest sequence measured (BOS included); the model's context length when absent. */
  maxTokens?: number;
  prependBos: boolean;
  /** Keep BOS (position 0) in summaries and fits. */
  includeBos: boolean;
  device: Device;
  threads?: number;
  /** Re-resolve the revision on the Hub even when the cache has it. */
  refresh: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface MeasureOutcome {
  outPath: string;
  measurement: Measurement;
}

/** Upper bound on batch × padded length, to bound attention memory. */
const MAX_BATCH_TOKENS = 16384;

/** `--model`, or the embedded demo model when absent; shared by the commands that read a model. */
export async function resolveRequestedModel(request: Pick<MeasureRequest, 'model' | 'refresh' | 'env'>, reporter: Reporter): Promise<ResolvedModel> {
  if (request.model !== undefined) return resolveModel(request.model, { reporter, refresh: request.refresh, ...(request.env ? { env: request.env } : {}) });
  if (!existsSync(join(DEMO_MODEL_DIR, 'config.json'))) {
    throw new UsageError('no --model given and the embedded demo model is missing from this installation; pass --model (e.g. gpt2)');
  }
  reporter.info(`no --model given: using the embedded demo model (${DEMO_MODEL_ID}, a small GPT-2 trained for this project)`);
  return { dir: DEMO_MODEL_DIR, id: DEMO_MODEL_ID, revision: null, slug: DEMO_MODEL_ID };
}

/** Requested hooks, checked against what the architecture has (no resid_mid in parallel blocks). */
export function chooseHooks(requested: HookName[] | undefined, spec: TransformerSpec, reporter: Reporter): HookName[] {
  const available = availableHooks(spec);
  if (requested === undefined) {
    if (spec.parallelResidual) reporter.info(`${spec.architecture} uses parallel attention and MLP: there is no resid_mid hook, so it is not measured`);
    return available;
  }
  const missing = requested.filter((hook) => !available.includes(hook));
  if (missing.length > 0) {
    const why = spec.parallelResidual && missing.includes('resid_mid') ? ' (parallel-residual blocks have no resid_mid)' : '';
    throw new UsageError(`--hooks ${missing.join(',')} not available for ${spec.architecture}${why}; available: ${available.join(', ')}`);
  }
  return HOOK_NAMES.filter((hook) => requested.includes(hook));
}

function primaryMetric(spec: TransformerSpec): { metric: NormMetric; reason: string } {
  return spec.normalization === 'layernorm'
    ? { metric: 'centered', reason: 'LayerNorm model: TransformerLens centers the writing weights (center_writing_weights), so the reference analysis measures the centered norm' }
    : { metric: 'raw', reason: 'RMSNorm model: TransformerLens does not center it, so the raw norm is the comparable one' };
}

export async function measure(request: MeasureRequest, reporter: Reporter): Promise<MeasureOutcome> {
  const startedAt = performance.now();
  const resolved = await resolveRequestedModel(request, reporter);
  const model = await loadModel(resolved.dir);
  const { spec } = model;
  const tokenizer = await loadTokenizer(resolved.dir);
  const promptSet = request.promptsPath ? await readPromptFile(request.promptsPath) : await readPromptFile(DEFAULT_PROMPTS, 'default.txt (built in)');
  const hooks = chooseHooks(request.hooks, spec, reporter);

  const { nCtx } = spec.dims;
  const maxTokens = request.maxTokens ?? nCtx;
  if (maxTokens > nCtx) throw new UsageError(`--max-tokens ${maxTokens} exceeds the context length of ${resolved.id} (${nCtx}); valid: 1…${nCtx}`);
  const bosTokenId = resolveBosTokenId(spec.bosTokenId, tokenizer);
  if (request.prependBos && bosTokenId === null && promptSet.prompts.some((prompt) => prompt.text !== undefined)) {
    throw new UsageError(`${resolved.id} names no BOS token (config.json bos_token_id); use --no-prepend-bos`);
  }
  const sequences = tokenizePrompts(promptSet.prompts, tokenizer, { prependBos: request.prependBos, bosTokenId, maxTokens, dVocab: spec.dims.dVocab });
  const truncated = sequences.filter((s) => s.truncated).length;
  if (truncated > 0) reporter.warn(`${truncated} prompt(s) longer than ${maxTokens} tokens were truncated to ${maxTokens}`);
  const batches = planBatches(sequences, { batchSize: request.batchSize, maxBatchTokens: Math.max(MAX_BATCH_TOKENS, maxTokens) });

  const layout = await planExternalData(model.weights.files);
  const graph = buildTransformerGraph(spec, { hooks, layout });
  const session = await createNormSession(graph.bytes, layout.folder, { device: request.device, ...(request.threads ? { threads: request.threads } : {}) });
  const startupSeconds = (performance.now() - startedAt) / 1000;

  const results: SequenceResult[] = new Array(sequences.length);
  const totalTokens = sequences.reduce((sum, s) => sum + s.ids.length, 0);
  const progress = reporter.progress('measuring', totalTokens, 'items');
  const runStartedAt = performance.now();
  try {
    for (const batch of batches) {
      const collected = await collectBatch(batch, { session, outputs: graph.outputs, hooks, nLayers: spec.dims.nLayers, modelId: resolved.id });
      for (const { sequence, result } of collected) results[sequence.index] = result;
      progress.tick(batch.members.reduce((sum, m) => sum + m.ids.length, 0));
    }
  } finally {
    progress.done();
    await session.release();
  }
  const seconds = (performance.now() - runStartedAt) / 1000;

  const metric = primaryMetric(spec);
  const measurement: Measurement = {
    format: MEASUREMENT_FORMAT,
    version: MEASUREMENT_VERSION,
    model: {
      id: resolved.id,
      revision: resolved.revision,
      architecture: spec.architecture,
      nLayers: spec.dims.nLayers,
      dModel: spec.dims.dModel,
      nHeads: spec.dims.nHeads,
      dtype: spec.weightDtype,
      nCtx,
      dVocab: spec.dims.dVocab,
      bosTokenId,
      normalization: spec.normalization,
      parallelResidual: spec.parallelResidual,
    },
    prompts: { source: promptSet.source, sha256: promptSet.sha256, count: sequences.length },
    options: {
      prependBos: request.prependBos,
      excludePositions: request.prependBos && !request.includeBos ? [0] : [],
      primaryMetric: metric.metric,
      primaryMetricReason: metric.reason,
      maxTokens,
      batchSize: request.batchSize,
    },
    runtime: {
      device: request.device,
      threads: session.threads,
      seconds,
      startupSeconds,
      tokens: totalTokens,
      tokensPerSecond: seconds > 0 ? totalTokens / seconds : 0,
      onnxruntime: onnxRuntimeVersion(),
    },
    hooks,
    sequences: results,
    summary: {},
    createdBy: { tool: 'resid-norms', version: toolVersion() },
  };
  measurement.summary = summarizeMeasurement(measurement);
  const outPath = request.outPath ?? join('results', `${resolved.slug}.json`);
  try {
    await writeFileAtomic(outPath, formatMeasurement(measurement));
  } catch (error) {
    throw new UsageError(`cannot write ${quote(outPath)}: ${(error as NodeJS.ErrnoException).code ?? String(error)}; choose another --out`);
  }
  return { outPath, measurement };
}
