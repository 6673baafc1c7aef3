/**
 * `resid-norms mechanisms`: the reference analysis's evidence for why the residual stream grows,
 * per layer. Phases:
 *   prepare (measure/prepare-run.ts, as measure: prompts, model, flags checked, tokenized) → choose the resampled tokens
 *   (seeded) → forward pass over the prompts (activation rates, attn_out / mlp_out norms, the
 *   chosen tokens' MLP inputs) → probes (random Gaussian inputs; the same layer's and a random
 *   layer's resampled MLP inputs) → write the mechanisms file atomically.
 */
import { exclusionCodes, exclusionRule } from '../measure/exclusions.js';
import { join } from 'node:path';
import { chooseIndices, gaussianRows, randomSourceLayers, sampleMean } from '../analysis/mechanism-sampling.js';
import { sampledTokensMean } from '../analysis/token-errors.js';
import type { TransformerSpec } from '../architectures/types.js';
import type { Reporter } from '../messages/reporter.js';
import { InputError, quote } from '../errors.js';
import { planExternalData } from '../graph/external-data.js';
import { buildMechanismForwardGraph } from '../graph/mechanism-forward-graph.js';
import { buildProbeGraph } from '../graph/probe-graph.js';
import { stopIfInterrupted } from '../io/interrupt.js';
import { batchBudgets, planBatches, tokenCount } from '../measure/batches.js';
import { modelInfo } from '../measure/build-measurement.js';
import type { PromptRequest } from '../prompts-sources/read-prompt-source.js';
import { prepareRun } from '../measure/prepare-run.js';
import type { Sequence } from '../measure/sequences.js';
import { mlpActivation, mlpKind } from '../architectures/model-shape.js';
import { writeFileAtomic } from '../results/atomic-write.js';
import { formatRowsJson } from '../results/format-measurement.js';
import { MECHANISM_ERRORS, MECHANISMS_FORMAT, MECHANISMS_VERSION, type MechanismLayer, type MechanismsFile } from '../results/mechanisms-schema.js';
import { defaultThreads, onnxRuntimeVersion } from '../runtime/onnx-session.js';
import type { Device } from '../runtime/devices.js';
import { createTensorSession } from '../runtime/tensor-session.js';
import { allocatedMemory, formatMemorySize, type MemoryAllocation } from '../runtime/memory-allocation.js';
import { planExecution } from '../measure/memory-plan.js';
import { memoryModelOf } from '../measure/memory-model.js';
import { Sessions } from '../measure/streamed-run.js';
import { toolVersion } from '../version.js';
import { runForward, runForwardStreamed, type ForwardTotals, type SampleSlots } from './mechanisms-forward.js';
import { runProbes, runProbesByLayer, type ProbeSource, type ProbeValues } from './mechanisms-probes.js';

/** The prompts come as for measure and sweep (PromptRequest: --prompts, --text-column, --limit, --sample, --seed). */
export interface MechanismsRequest extends Omit<PromptRequest, 'promptSet'> {
  /** Alias, Hub repo id[@revision] or folder; the embedded demo model when absent. */
  model?: string;
  /** Output file; results/<model-slug>.mechanisms.json when absent. */
  outPath?: string;
  /** Random inputs per layer, and the most real tokens resampled (default 1000). */
  samples: number;
  /** Seed of the random inputs, the resampled tokens and the random layers (and of --sample's prompts, the CLI's one --seed). */
  seed: number;
  batchSize: number;
  maxTokens?: number;
  prependBos: boolean;
  device: Device;
  threads?: number;
  /** Most anonymous memory to take (--max-memory); a model that would not fit whole runs block by block. Default: allocatedMemory's safe share. */
  maxMemory?: MemoryAllocation;
  refresh: boolean;
}

export interface MechanismsOutcome {
  outPath: string;
  mechanisms: MechanismsFile;
}

/** Position 0 can attend only to itself: its residual stream is an outlier whatever its token (DESIGN.md). */
const EXCLUDED_POSITIONS = [0];

function activationText(spec: TransformerSpec): string {
  const mlp = spec.blocks[0]!.mlp;
  if (mlp.kind === 'moe') {
    const expert = mlp.experts[0]!;
    const each = expert.kind === 'dense' ? `x·W_in + b_in (${expert.activation})` : `the gate's x·W_gate (${expert.activation}(z) > 0 exactly when z > 0)`;
    return `router-weighted mean, over the ${mlp.topK} of ${mlp.experts.length} experts each token is routed to, of the fraction of the expert's pre-activations ${each} that are > 0`;
  }
  return mlp.kind === 'dense'
    ? `fraction of the MLP's pre-activations x·W_in + b_in that are > 0 (${mlp.activation}; TransformerLens's hook_pre > 0)`
    : `fraction of the gate's pre-activations x·W_gate that are > 0 (${mlp.activation}(z) > 0 exactly when z > 0)`;
}

/** Which sampled tokens sit where: rank of each chosen (sequence, position) among the samples. */
function sampleSlots(sequences: readonly Sequence[], chosen: readonly number[], included: (sequence: Sequence, position: number) => boolean): SampleSlots {
  const slots: SampleSlots = new Map();
  let next = 0;
  let index = 0;
  for (const sequence of sequences) {
    for (let position = 0; position < sequence.ids.length && next < chosen.length; position += 1) {
      if (!included(sequence, position)) continue;
      if (chosen[next] === index) {
        let positions = slots.get(sequence.index);
        if (positions === undefined) slots.set(sequence.index, (positions = new Map()));
        positions.set(position, next);
        next += 1;
      }
      index += 1;
    }
  }
  return slots;
}

/** The random inputs' means: independent samples. */
function summarizeRandom(values: ProbeValues[number]) {
  return { mlp_out: sampleMean(values.mlp_norm), activationRate: sampleMean(values.mlp_active), ov: sampleMean(values.ov_norm) };
}

/** The resampled tokens' means: drawn from `population` included tokens, `prompts[i]` the prompt of sample i. */
function summarizeTokens(values: ProbeValues[number], prompts: Int32Array, population: number) {
  return { mlp_out: sampledTokensMean(values.mlp_norm, prompts, population), activationRate: sampledTokensMean(values.mlp_active, prompts, population) };
}

export async function analyzeMechanisms(request: MechanismsRequest, reporter: Reporter): Promise<MechanismsOutcome> {
  const startedAt = performance.now();
  const prepared = await prepareRun(request, { defaultPath: (slug) => join('results', `${slug}.mechanisms.json`) }, reporter);
  const { outPath, promptSet, resolved, model, spec, tokenizer, maxTokens, bosTokenId, sequences } = prepared;
  const { nLayers, dModel } = spec.dims;
  // measure's rule: position 0 of every sequence and the model's special tokens are left out.
  const exclusion = exclusionRule(true, spec, tokenizer);
  const codes = new Map(sequences.map((sequence) => [sequence, exclusionCodes(sequence.ids, sequence.appended, exclusion)]));
  const included = (sequence: Sequence, position: number) => codes.get(sequence)![position] === 0;
  const includedTotal = sequences.reduce((sum, sequence) => sum + sequence.ids.filter((_, position) => included(sequence, position)).length, 0);
  if (includedTotal === 0) {
    throw new InputError(
      `${quote(promptSet.source)} gives no token outside position 0 and the special tokens (which are left out); give prompts of at least 2 ordinary tokens`,
    );
  }
  const resampled = Math.min(request.samples, includedTotal);
  if (resampled < request.samples)
    reporter.info(`the prompts have ${includedTotal} tokens after position 0: all of them are resampled (--samples ${request.samples})`);
  const slots = sampleSlots(sequences, chooseIndices(request.seed, includedTotal, resampled), included);
  const batches = planBatches(sequences, { batchSize: request.batchSize, ...batchBudgets(spec.dims.nHeads, maxTokens) });

  const layout = await planExternalData(model.weights.files);
  const sessionOptions = { device: request.device, weightBytes: model.weights.totalBytes, ...(request.threads ? { threads: request.threads } : {}) };
  // The whole graphs, or block by block when they would not fit the budget (as measure decides; memory-plan.ts).
  const totalTokens = batches.reduce((sum, batch) => sum + tokenCount(batch), 0);
  const heldBytes = 4 * dModel * (nLayers * resampled + request.samples); // the sampled MLP inputs of every layer, the random inputs
  const budget = request.maxMemory ?? allocatedMemory(request.env ?? process.env);
  const memory = memoryModelOf(spec, { lens: false, diagnostics: false, floatsPerToken: 3 * nLayers, totalTokens, heldBytes });
  const execution = planExecution(
    memory,
    batches.map((batch) => ({ rows: batch.members.length, length: batch.length })),
    budget.bytes,
    budget.source,
  );
  if (execution.kind === 'streamed') {
    reporter.info(
      `${resolved.id} needs about ${formatMemorySize(execution.wholeBytes)} as one graph, more than ${budget.source} (${formatMemorySize(budget.bytes)}): running it block by block, about ${formatMemorySize(execution.bytes)} at most`,
    );
  }
  stopIfInterrupted(request.signal, 'while reading the prompts');
  let forward: ForwardTotals;
  if (execution.kind === 'whole') {
    const forwardSession = await createTensorSession(buildMechanismForwardGraph(spec, layout).bytes, layout.folder, sessionOptions);
    const progress = reporter.progress('running the prompts (tokens)', totalTokens, 'items');
    try {
      forward = await runForward(forwardSession, spec, batches, included, slots, resampled, progress, request.signal);
    } finally {
      progress.done();
      await forwardSession.release();
    }
  } else {
    const progress = reporter.progress('running the prompts (tokens × blocks)', totalTokens * nLayers, 'items');
    try {
      forward = await runForwardStreamed({ spec, layout }, batches, included, slots, resampled, execution, sessionOptions, progress, request.signal);
    } finally {
      progress.done();
    }
  }

  stopIfInterrupted(request.signal, 'after the prompts');
  reporter.info(`probing every layer with ${request.samples} random inputs and ${resampled} resampled tokens`);
  const sourceLayers = randomSourceLayers(request.seed, nLayers);
  const gaussian = gaussianRows(request.seed, request.samples, dModel);
  const sources: ProbeSource[] = [
    { rows: request.samples, inputFor: () => gaussian, label: 'random input' },
    { rows: resampled, inputFor: (layer) => forward.samples[layer]!, label: 'resampled (same layer)' },
    { rows: resampled, inputFor: (layer) => forward.samples[sourceLayers[layer]!]!, label: 'resampled (random layer)' },
  ];
  let probed: ProbeValues[] = [];
  if (execution.kind === 'whole') {
    const probeSession = await createTensorSession(buildProbeGraph(spec, layout).bytes, layout.folder, sessionOptions);
    try {
      for (const source of sources) {
        stopIfInterrupted(request.signal, 'while probing');
        probed.push(await runProbes(probeSession, spec, source.rows, source.inputFor, source.label));
      }
    } finally {
      await probeSession.release();
    }
  } else {
    const sessions = new Sessions(layout.folder, sessionOptions);
    try {
      probed = await runProbesByLayer(spec, sources, sessions, request.signal);
    } finally {
      await sessions.releaseAll();
    }
  }
  const [random, sameLayer, randomLayer] = probed as [ProbeValues, ProbeValues, ProbeValues];

  const layers: MechanismLayer[] = Array.from({ length: nLayers }, (_, layer) => {
    const r = summarizeRandom(random[layer]!);
    const same = summarizeTokens(sameLayer[layer]!, forward.samplePrompts, includedTotal);
    const other = summarizeTokens(randomLayer[layer]!, forward.samplePrompts, includedTotal);
    return {
      layer,
      measured: { attn_out: forward.attnOut[layer]!, mlp_out: forward.mlpOut[layer]!, activationRate: forward.activationRate[layer]! },
      random: { mlp_out: r.mlp_out, ov: r.ov, activationRate: r.activationRate },
      sameLayer: { mlp_out: same.mlp_out, activationRate: same.activationRate },
      randomLayer: { sourceLayer: sourceLayers[layer]!, mlp_out: other.mlp_out, activationRate: other.activationRate },
    };
  });
  const mechanisms: MechanismsFile = {
    format: MECHANISMS_FORMAT,
    version: MECHANISMS_VERSION,
    model: { ...modelInfo(resolved.id, resolved.revision, bosTokenId, spec), dMlp: spec.dims.dMlp, ...mlpKind(spec), activation: mlpActivation(spec) },
    prompts: { source: promptSet.source, sha256: promptSet.sha256, count: sequences.length },
    options: {
      samples: request.samples,
      seed: request.seed,
      prependBos: request.prependBos,
      maxTokens,
      excludePositions: EXCLUDED_POSITIONS,
      excludeTokens: [...exclusion.specialTokenIds].map((id) => ({ id, token: tokenizer?.decodeToken(id) ?? '' })),
      metric: spec.convention.metric,
      metricReason: spec.convention.mechanismsReason,
      normalization: spec.convention.mechanismsNormalization,
      mlpInput: spec.parallelResidual ? 'resid_pre' : 'resid_mid',
      activationRate: activationText(spec),
      errors: MECHANISM_ERRORS,
    },
    runtime: {
      seconds: (performance.now() - startedAt) / 1000,
      device: request.device,
      threads: request.threads ?? defaultThreads(),
      onnxruntime: onnxRuntimeVersion(),
    },
    tokens: { measured: totalTokens, included: forward.included, resampled },
    layers,
    createdBy: { tool: 'resid-norms', version: toolVersion() },
  };
  await writeFileAtomic(outPath, formatRowsJson(mechanisms, [['layers']]));
  return { outPath, mechanisms };
}
