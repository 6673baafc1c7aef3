/**
 * `resid-norms measure`: the pipeline from a model name and a prompt file to a results file
 * and its two tables. Phases, in order (each a typed function in its own module):
 *   prepare (measure/prepare-run.ts: prompts, model, flags checked, tokenized) → plan batches
 *   (this shard's) → build graph and memory plan (everything that can refuse the run, before
 *   anything is created) → lock and read checkpoint → create session → run batches, each
 *   appended to the checkpoint (measure/measure-batches.ts) → write the tables from the
 *   checkpoint, one sequence at a time, summaries streamed (measure/write-tables.ts) → write the
 *   results file atomically → drop checkpoint and lock
 */
import { dirname, join } from 'node:path';
import type { Reporter } from '../messages/reporter.js';
import { UsageError, quote } from '../errors.js';
import { planExternalData } from '../graph/external-data.js';
import { buildTransformerGraph } from '../graph/transformer-graph.js';
import { batchBudgets, planBatches, tokenCount } from '../measure/batches.js';
import { buildMeasurement, modelInfo } from '../measure/build-measurement.js';
import { checkpointFiles, readCheckpoint, removeCheckpoint } from '../measure/checkpoint.js';
import type { PackContext } from '../measure/collect-norms.js';
import { packedLayoutOf } from '../store/packed-layout.js';
import { planExecution, type StreamedPlan } from '../measure/memory-plan.js';
import { memoryModelOf } from '../measure/memory-model.js';
import { measureBatches } from '../measure/measure-batches.js';
import { allocatedMemory, formatMemorySize, type MemoryAllocation } from '../runtime/memory-allocation.js';
import { diagnosticShape, diagnosticsInfo, lensHeadInfo } from '../measure/diagnostics-selection.js';
import { exclusionRule } from '../measure/exclusions.js';
import { prepareRun } from '../measure/prepare-run.js';
import { hashSequences } from '../measure/sequence-hash.js';
import { stoppedBeforeResults, writeTables } from '../measure/write-tables.js';
import { acquireRunLock } from '../measure/run-lock.js';
import { batchesOfShard, type Shard } from '../measure/shard.js';
import type { PromptSet } from '../prompts-sources/prompt-file.js';
import type { PromptReadOptions } from '../prompts-sources/prompt-source.js';
import { fingerprintFolder } from '../models/fingerprint.js';
import { createFolders, removeCreatedFolders, type CreatedFolders } from '../io/created-folders.js';
import { stopIfInterrupted } from '../io/interrupt.js';
import type { ListingCache } from '../models/hub/listing-cache.js';
import { describeWriteFailure, writeFileAtomic, WriteFailure } from '../io/output-file.js';
import { formatMeasurement } from '../results/format-measurement.js';
import type { TablesOutcome } from '../store/result-tables-writer.js';
import { tablePaths } from '../store/result-tables.js';
import { toolVersion } from '../version.js';
import type { Diagnostic } from '../results/diagnostics.js';
import type { Measurement } from '../results/schema.js';
import type { HookName } from '../vocabulary/hooks.js';
import { createNormSession, defaultThreads, onnxRuntimeVersion } from '../runtime/onnx-session.js';
import type { Device } from '../runtime/devices.js';

export interface MeasureRequest {
  /** Alias, Hub repo id[@revision] or folder; the embedded demo model when absent. */
  model?: string;
  /** Prompt file, table (.parquet, .csv) or Hub dataset (hf://datasets/…); the built-in prompts/default.txt when absent. */
  promptsPath?: string;
  /** --text-column, --limit, --sample, --seed of the prompt source (src/prompts-sources/). */
  promptOptions?: PromptReadOptions;
  /** Prompts read already (a sweep reads them once for all members); used instead of promptsPath. */
  promptSet?: PromptSet;
  /** Output file; results/<model-slug>.json when absent. */
  outPath?: string;
  /** Hooks to measure; every hook the model has when absent. */
  hooks?: HookName[];
  /** In-graph diagnostics to compute as well (none when absent). */
  diagnostics?: Diagnostic[];
  /** Residual dimensions left out of massive_norm_without (with the `massive` diagnostic). */
  massiveDims?: number[];
  /** With `sinks`: the first k positions sink_mass_first_<k> sums (DEFAULT_SINK_TOKENS when absent). */
  sinkTokens?: number;
  /** With `heads`: false keeps the value biases in z (--no-fold-value-biases); folded into b_O otherwise. */
  foldValueBiases?: boolean;
  batchSize: number;
  /** Longest sequence measured (BOS included); the model's context length when absent. */
  maxTokens?: number;
  prependBos: boolean;
  /** Leave position 0 and the model's special tokens out of summaries and fits (the default). */
  exclusions: boolean;
  /** EOS tokens to append to every prompt: measured and drawn apart, never summarized. */
  appendEos?: number;
  device: Device;
  threads?: number;
  /**
   * Most anonymous memory the run may take (--max-memory, with where it came from, for messages);
   * a model that would not fit whole runs block by block. Default: allocatedMemory's safe share.
   */
  maxMemory?: MemoryAllocation;
  /** Most tokens a chunk of a streamed run gathers (default memory-plan.ts CHUNK_TOKENS); tests. */
  chunkTokens?: number;
  /** Force ONNX Runtime's prepacking of the whole graph's GEMM weights on or off (default: by size, runtime/onnx-session.ts); tests and benches. */
  prepackWeights?: boolean;
  /** Re-resolve the revision on the Hub even when the cache has it. */
  refresh: boolean;
  /** Discard a checkpoint left by an earlier run instead of resuming it. */
  restart?: boolean;
  /** Run only this shard's batches (for job arrays); merge the shard files afterwards. */
  shard?: Shard;
  /** Take over `<out>.lock` from a holder on another host, which cannot be checked from here. */
  takeOverLock?: boolean;
  /** Aborting stops the run after the batch in flight (SIGINT/SIGTERM). */
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Hub listings a sweep made of its members already (src/models/hub/hub-api.ts). */
  hubListings?: ListingCache;
}

export interface MeasureOutcome {
  outPath: string;
  measurement: Measurement;
}

export async function measure(request: MeasureRequest, reporter: Reporter): Promise<MeasureOutcome> {
  const startedAt = performance.now();
  const prepared = await prepareRun(
    request,
    { defaultPath: (slug) => defaultOutPath(slug, request.shard), companions: measureCompanions, measuresHooks: true },
    reporter,
  );
  const { outPath, promptSet, resolved, model, spec, tokenizer, hooks, diagnostics, maxTokens, bosTokenId, appendEos, sequences } = prepared;
  const exclusion = exclusionRule(request.exclusions, spec, tokenizer);
  const lensVocab = diagnostics?.diagnostics.includes('lens') ? spec.dims.dVocab : undefined;
  const { maxBatchTokens, maxAttentionElements } = batchBudgets(spec.dims.nHeads, maxTokens, lensVocab);
  const planned = batchesOfShard(planBatches(sequences, { batchSize: request.batchSize, maxBatchTokens, maxAttentionElements }), request.shard);

  // Everything that can refuse the run is decided before anything is created (and before a local
  // folder's weights are hashed): the graph from the weights' headers, and the memory plan of
  // every planned batch (the batches a checkpoint has finished only lower what the others need,
  // so a run that resumes is never refused later).
  const layout = await planExternalData(model.weights.files);
  const graph = buildTransformerGraph(spec, { hooks, layout, ...(diagnostics ? { diagnostics } : {}) });
  const pack: PackContext = { ...packedLayoutOf(graph, hooks, spec.dims.nLayers), modelId: resolved.id }; // the one layout packing, checkpoint offsets and the tables read
  const totalTokens = planned.reduce((sum, { batch }) => sum + tokenCount(batch), 0);
  const budget = request.maxMemory ?? allocatedMemory(request.env ?? process.env);
  const memory = memoryModelOf(spec, { lens: graph.readsNextIds, diagnostics: graph.diagnostics.length > 0, floatsPerToken: pack.floatsPerToken, totalTokens });
  const planFor = (batches: typeof planned) =>
    planExecution(
      memory,
      batches.map(({ batch }) => ({ rows: batch.members.length, length: batch.length })),
      budget.bytes,
      budget.source,
      request.chunkTokens,
    );
  const planOfEveryBatch = planFor(planned);

  const files = checkpointFiles(outPath);
  // What the model is by content (a commit sha, or the hash of a local folder's weights): resumes, merges and sweeps compare it.
  const contentId = resolved.revision ?? (await fingerprintFolder(resolved.dir, model.weights.files));
  const key = {
    tool: toolVersion(), // the packing of checkpointed norms may change between versions
    model: resolved.id,
    revision: contentId,
    prompts: promptSet.sha256,
    hooks,
    maxTokens,
    prependBos: request.prependBos,
    batchSize: request.batchSize,
    maxBatchTokens,
    maxAttentionElements,
    shard: request.shard ?? null,
    ...(diagnostics ? { diagnostics } : {}), // absent by default, so checkpoints of plain runs keep their key
    // What the graph is fed and what the tables say of it: tokenizer changes show up here.
    tokens: hashSequences(sequences),
  };

  const created = await prepareOutputFolder(outPath);
  let releaseLock: (() => void) | undefined;
  try {
    releaseLock = acquireRunLock(files.lock, {
      ...(request.takeOverLock ? { takeOver: true } : {}),
      ...(request.env ? { env: request.env } : {}),
      warn: (message) => reporter.warn(message),
      command: 'measure',
    });
    if (request.restart) removeCheckpoint(files);
    const saved = await readCheckpoint(files, key);
    if (saved?.damaged)
      reporter.warn(
        `${files.norms} was damaged after ${saved.finished.length} batches (their norms no longer match the checksums recorded with them): the batches from there on are measured again`,
      );
    if (saved && saved.finished.length > 0) reporter.info(`resuming: ${saved.finished.length} of ${planned.length} batches are done (${files.index})`);

    stopIfInterrupted(request.signal, 'while reading the prompts');
    // Whole graph or block by block: decided from the batches still to run, before any of them runs.
    const finished = new Set(saved?.finished.map(({ position }) => position) ?? []);
    const todo = planned.filter(({ position }) => !finished.has(position));
    const execution = todo.length === planned.length ? planOfEveryBatch : planFor(todo);
    const sessionOptions = {
      device: request.device,
      weightBytes: model.weights.totalBytes,
      ...(request.threads ? { threads: request.threads } : {}),
      ...(request.prepackWeights !== undefined ? { prepackWeights: request.prepackWeights } : {}),
    };
    const session = execution.kind === 'whole' ? await createNormSession(graph.bytes, layout.folder, sessionOptions) : undefined;
    if (execution.kind === 'streamed') {
      reporter.info(
        `${resolved.id} needs about ${formatMemorySize(execution.wholeBytes)} as one graph, more than ${budget.source} (${formatMemorySize(budget.bytes)}): ` +
          `running it block by block, ${execution.chunks.length} chunk${execution.chunks.length === 1 ? '' : 's'} of batches${rowsNote(execution, todo)}, about ${formatMemorySize(execution.bytes)} at most`,
      );
    }
    stopIfInterrupted(request.signal, 'while building the graph');
    const startupSeconds = (performance.now() - startedAt) / 1000;

    const { outcome, checkpoint } = await measureBatches(
      {
        planned,
        files,
        key,
        saved,
        pack,
        graph,
        layout,
        spec,
        hooks,
        diagnostics,
        execution,
        session,
        sessionOptions,
        ...(request.signal ? { signal: request.signal } : {}),
      },
      reporter,
    );

    let tables: TablesOutcome;
    const writingStartedAt = performance.now();
    const kept = `every batch is kept in ${quote(files.index)}: make room or fix the folder, then run the same command again to write the results from it`;
    try {
      if (request.signal?.aborted) throw stoppedBeforeResults(request.signal, outPath, 'after the last batch');
      tables = await writeTables(outPath, planned, checkpoint, pack, exclusion, reporter, request.signal);
    } catch (error) {
      throw error instanceof WriteFailure ? error.withAdvice(kept) : error;
    } finally {
      checkpoint.close();
    }
    const writingSeconds = (performance.now() - writingStartedAt) / 1000;
    const measurement = buildMeasurement({
      model: modelInfo(resolved.id, resolved.revision, bosTokenId, spec, contentId),
      primary: { metric: spec.convention.metric, reason: spec.convention.reason },
      prompts: { source: promptSet.source, sha256: promptSet.sha256, count: sequences.length },
      options: {
        prependBos: request.prependBos,
        excludePositions: exclusion.firstPosition ? [0] : [],
        excludeTokens: [...exclusion.specialTokenIds].map((id) => ({ id, token: tokenizer?.decodeToken(id) ?? '' })),
        ...(appendEos > 0 ? { appendEos } : {}),
        maxTokens,
        batchSize: request.batchSize,
      },
      runtime: {
        device: request.device,
        threads: request.threads ?? defaultThreads(),
        seconds: outcome.seconds,
        startupSeconds,
        writingSeconds,
        tokens: outcome.tokens,
        tokensPerSecond: outcome.seconds > 0 ? outcome.tokens / outcome.seconds : 0,
        resumedBatches: outcome.resumedBatches,
        onnxruntime: onnxRuntimeVersion(),
      },
      hooks,
      tables,
      ...(request.shard ? { shard: request.shard } : {}),
      ...(diagnostics && tables.diagnostics
        ? { diagnostics: diagnosticsInfo(diagnostics, diagnosticShape(spec), tables.diagnostics, lensHeadInfo(diagnostics, spec)) }
        : {}),
    });
    await writeFileAtomic(outPath, formatMeasurement(measurement), kept);
    removeCheckpoint(files);
    return { outPath, measurement };
  } catch (error) {
    // Whatever failed before a batch was kept (the checkpoint is gone then) leaves no folder made for it behind.
    releaseLock?.();
    releaseLock = undefined;
    await removeCreatedFolders(created);
    throw error;
  } finally {
    releaseLock?.();
  }
}

/** When batches run a few rows at a time (their activations would not fit whole), say how. */
function rowsNote(plan: StreamedPlan, todo: ReadonlyArray<{ batch: { members: unknown[] } }>): string {
  const split = todo
    .map(({ batch }, index) => ({ rows: batch.members.length, run: Math.min(plan.blockRows[index]!, plan.lensRows[index]!) }))
    .filter(({ rows, run }) => run < rows);
  if (split.length === 0) return '';
  const smallest = split.reduce((least, { run }) => Math.min(least, run), Infinity); // no spread: one entry per batch
  return `, ${split.length} batch${split.length === 1 ? '' : 'es'} ${smallest} row${smallest === 1 ? '' : 's'} at a time`;
}

/** Create the results folder once every check has passed (removed again if the run keeps nothing). */
async function prepareOutputFolder(outPath: string): Promise<CreatedFolders> {
  try {
    return await createFolders(dirname(outPath));
  } catch (error) {
    throw new UsageError(
      `cannot write ${quote(outPath)}: ${describeWriteFailure((error as NodeJS.ErrnoException).code ?? String(error))}; choose another --out`,
    );
  }
}

/** The checkpoint, its lock and the tables, written beside the results file. */
function measureCompanions(outPath: string): string[] {
  const files = checkpointFiles(outPath);
  return [files.index, files.norms, files.lock, ...Object.values(tablePaths(outPath))];
}

function defaultOutPath(slug: string, shard: Shard | undefined): string {
  return join('results', shard ? `${slug}.shard-${shard.index}-of-${shard.count}.json` : `${slug}.json`);
}
