/**
 * How a model runs under a memory budget (--max-memory), decided before any work from the
 * model's shape, the planned batches and the budget:
 *
 *   whole     the whole model's graph, as always, when its float32 weights and one batch's
 *             activations fit (ONNX Runtime folds the Cast of every BF16/F16 weight into a
 *             float32 copy at session creation, so that is what the whole graph holds);
 *   streamed  else, one block at a time (streamed-run.ts): only that block's weights exist as
 *             float32, and the residual stream of a chunk of batches is handed from block to block;
 *   refused   when even one block's float32 weights, one batch's stream and one sequence's
 *             activations do not fit: the message names the smallest budget that works.
 *
 * What is counted is anonymous memory: the process itself, float32 weights, the streams and
 * outputs held between blocks, and ONNX Runtime's activations (a formula per token, calibrated
 * against measured peaks, with a margin). Weights mapped from their files (embedding tables,
 * whose rows are cast as they are gathered) are page cache, the kernel's to reclaim.
 */
import type { ModelDims } from '../architectures/types.js';
import { UsageError } from '../errors.js';
import { formatMemorySize } from '../runtime/memory-allocation.js';

/** A planned batch as the memory plan sees it. */
export interface PlannedShape {
  rows: number;
  /** Padded length. */
  length: number;
}

export interface MemoryModel {
  dims: ModelDims;
  /** Gated MLPs hold four [tokens, dMlp] values at once, dense ones three. */
  gatedMlp: boolean;
  /** Float32 bytes of each block's weights (what its graph reads). */
  blockWeightBytes: readonly number[];
  /** Float32 bytes of the final norm and unembedding, with the logit lens; 0 without. */
  lensWeightBytes: number;
  /** Other in-graph diagnostics are computed (a few [tokens, dModel] values more). */
  diagnostics: boolean;
  /** float32 values a batch's outputs hold per (padded) token: norms and diagnostic lists. */
  floatsPerToken: number;
  /** Tokens of the run (for the process's own share: the tokenized prompts). */
  totalTokens: number;
  /** Stored bytes of the largest tensor a streamed run reads (a slab of it is read at a time). */
  largestTensorBytes: number;
  /** What the command holds besides (mechanisms: its sampled rows and random inputs). */
  heldBytes?: number;
}

export interface WholePlan {
  kind: 'whole';
  /** Estimated peak of the whole graph. */
  bytes: number;
}

export interface StreamedPlan {
  kind: 'streamed';
  /** Estimated peak of the streamed run. */
  bytes: number;
  /** What the whole graph would need (why it streams). */
  wholeBytes: number;
  /** Rows of each batch (by plan index) per block run and per lens run. */
  blockRows: number[];
  lensRows: number[];
  /** Consecutive plan indices run together, block after block, their streams in memory. */
  chunks: number[][];
}

export type ExecutionPlan = WholePlan | StreamedPlan;

/** The process itself (Node.js, ONNX Runtime, the tool's modules): measured at 70–90 MB, doubled. */
export const PROCESS_BYTES = 160e6;
/** The tokenized prompts, per token (ids and decoded tokens as JavaScript values). */
const PROMPT_BYTES_PER_TOKEN = 64;
/** One slab of a tensor being read (models/weight-index.ts readTensorValues reads 32 MiB at a time). */
const READ_SLAB_BYTES = 32 * 2 ** 20;
/** Slack on ONNX Runtime's activations: its arena grows in pieces and keeps them. */
const ARENA_MARGIN = 1.25;
/**
 * Tokens a chunk of a streamed run gathers at most. Reading and converting a block's weights
 * costs about what 150–300 tokens of its compute cost (measured on TinyLlama's shape), so 8192
 * tokens keep it at 2–4 %; more only lengthens the work an interruption loses.
 */
export const CHUNK_TOKENS = 8192;

/**
 * ONNX Runtime's peak while a block runs, per token of a batch padded to `length`: the larger of
 * the attention phase (q, k, v and their copies; scores, masked scores and pattern, each
 * [heads, length] per token) and the MLP phase (three or four [dMlp] values), plus the stream
 * going in and out and the norms' inputs.
 */
export function blockActivationBytesPerToken(model: Pick<MemoryModel, 'dims' | 'gatedMlp' | 'diagnostics'>, length: number): number {
  const { dModel, dMlp, nHeads, nKvHeads, dHead } = model.dims;
  const attention = 3 * nHeads * length + 4 * (nHeads + 2 * nKvHeads) * dHead;
  const mlp = (model.gatedMlp ? 4 : 3) * dMlp;
  const stream = (6 + (model.diagnostics ? 8 : 0)) * dModel;
  return 4 * ARENA_MARGIN * (Math.max(attention, mlp) + stream);
}

/** The logit lens's peak per token: logits, their shifted exponentials and the comparison with the next token's logit, each [dVocab]. */
export function lensActivationBytesPerToken(dims: ModelDims): number {
  return 4 * ARENA_MARGIN * (3.5 * dims.dVocab + 4 * dims.dModel);
}

/** What a batch holds between blocks: its stream and its outputs. */
function stateBytes(model: MemoryModel, batch: PlannedShape): number {
  return 4 * batch.rows * batch.length * (model.dims.dModel + model.floatsPerToken) + 8 * batch.rows * batch.length; // + next ids
}

function fixedBytes(model: MemoryModel): number {
  return PROCESS_BYTES + PROMPT_BYTES_PER_TOKEN * model.totalTokens + (model.heldBytes ?? 0);
}

/** ONNX Runtime's activations for `rows` rows of `batch` through a block, and through the lens. */
function blockRunBytes(model: MemoryModel, batch: PlannedShape, rows: number): number {
  return blockActivationBytesPerToken(model, batch.length) * rows * batch.length;
}

function lensRunBytes(model: MemoryModel, batch: PlannedShape, rows: number): number {
  return model.lensWeightBytes > 0 ? lensActivationBytesPerToken(model.dims) * rows * batch.length : 0;
}

const largest = (values: number[]) => values.reduce((most, value) => Math.max(most, value), 0); // no spread: any number of values

/** The whole graph's peak: every block's float32 weights, the lens's, and one batch at a time. */
export function wholeGraphBytes(model: MemoryModel, batches: readonly PlannedShape[]): number {
  const weights = model.blockWeightBytes.reduce((sum, bytes) => sum + bytes, 0) + model.lensWeightBytes;
  const largestRun = largest(
    batches.map((batch) => blockRunBytes(model, batch, batch.rows) + lensRunBytes(model, batch, batch.rows) + stateBytes(model, batch)),
  );
  return fixedBytes(model) + weights + largestRun;
}

/** Weights a streamed run holds as float32: the largest block, the lens's, and one slab being read. */
function streamedWeightBytes(model: MemoryModel): number {
  return largest([...model.blockWeightBytes]) + model.lensWeightBytes + Math.min(READ_SLAB_BYTES, model.largestTensorBytes);
}

/**
 * The smallest budget a streamed run needs: one block's weights (and the lens's), the largest
 * batch's stream and outputs, and one row at a time through the block and the lens (each of
 * their sessions keeps the arena of its largest run).
 */
export function minimumStreamedBytes(model: MemoryModel, batches: readonly PlannedShape[]): number {
  const oneRow = largest(batches.map((batch) => blockRunBytes(model, batch, 1))) + largest(batches.map((batch) => lensRunBytes(model, batch, 1)));
  return fixedBytes(model) + streamedWeightBytes(model) + largest(batches.map((batch) => stateBytes(model, batch))) + oneRow;
}

/** The refusal of a budget below the minimum: one line naming the smallest budget that works. */
export class BudgetTooSmallError extends UsageError {}

/**
 * The plan for `batches` (in plan order) under `budget` bytes; `budgetName` says where the budget
 * came from, for the refusal ("--max-memory", "RESID_NORMS_MAX_MEMORY", the default's source).
 */
export function planExecution(
  model: MemoryModel,
  batches: readonly PlannedShape[],
  budget: number,
  budgetName: string,
  chunkTokens = CHUNK_TOKENS,
): ExecutionPlan {
  const whole = wholeGraphBytes(model, batches);
  if (whole <= budget) return { kind: 'whole', bytes: whole };
  const minimum = minimumStreamedBytes(model, batches);
  if (minimum > budget) throw tooSmall(model, batches, budget, budgetName, minimum);

  const available = budget - fixedBytes(model) - streamedWeightBytes(model);
  // Whole batches run faster than rows of them: activations first, within what leaves each batch room for its own state.
  const fullBlock = largest(batches.map((batch) => blockRunBytes(model, batch, batch.rows)));
  const fullLens = largest(batches.map((batch) => lensRunBytes(model, batch, batch.rows)));
  const runAllowance = Math.min(fullBlock + fullLens, available - largest(batches.map((batch) => stateBytes(model, batch))));
  const share = runAllowance / (fullBlock + fullLens);
  const rowsWithin = (batch: PlannedShape, allowance: number, perRow: number) =>
    perRow === 0 ? batch.rows : Math.max(1, Math.min(batch.rows, Math.floor(allowance / perRow)));
  const blockRows = batches.map((batch) => rowsWithin(batch, share * fullBlock, blockRunBytes(model, batch, 1)));
  const lensRows = batches.map((batch) => rowsWithin(batch, share * fullLens, lensRunBytes(model, batch, 1)));
  const runs =
    largest(batches.map((batch, index) => blockRunBytes(model, batch, blockRows[index]!))) +
    largest(batches.map((batch, index) => lensRunBytes(model, batch, lensRows[index]!)));

  const chunkAllowance = available - runs;
  const chunks: number[][] = [];
  let current: number[] = [];
  let held = 0;
  let tokens = 0;
  batches.forEach((batch, index) => {
    const state = stateBytes(model, batch);
    const batchTokens = batch.rows * batch.length;
    if (current.length > 0 && (held + state > chunkAllowance || tokens + batchTokens > chunkTokens)) {
      chunks.push(current);
      current = [];
      held = 0;
      tokens = 0;
    }
    current.push(index);
    held += state;
    tokens += batchTokens;
  });
  if (current.length > 0) chunks.push(current);
  const largestChunk = largest(chunks.map((chunk) => chunk.reduce((sum, index) => sum + stateBytes(model, batches[index]!), 0)));
  return { kind: 'streamed', bytes: budget - available + runs + largestChunk, wholeBytes: whole, blockRows, lensRows, chunks };
}

function tooSmall(model: MemoryModel, batches: readonly PlannedShape[], budget: number, budgetName: string, minimum: number): BudgetTooSmallError {
  const longest = largest(batches.map((batch) => batch.length));
  const parts = [`one block's float32 weights (${formatMemorySize(largest([...model.blockWeightBytes]))})`];
  if (model.lensWeightBytes > 0) parts.push(`the logit lens's final norm and unembedding (${formatMemorySize(model.lensWeightBytes)})`);
  parts.push(`the largest batch's stream and one ${longest}-token sequence's activations`);
  const smallest = formatMemorySize(minimum, 'up');
  return new BudgetTooSmallError(
    `${budgetName} (${formatMemorySize(budget)}) is too small for this model: ${parts.join(', ')} need at least ${smallest} with the process itself; ` +
      `give --max-memory ${smallest.replace(' ', '')} or more${longest > 1 ? ' (a smaller --batch-size or --max-tokens needs less)' : ''}`,
  );
}

/**
 * Before any weight is downloaded, from config.json alone: refuse a budget below the process
 * and one block's float32 weights at their fewest (a dense MLP, no biases). The exact minimum
 * (planExecution) follows once the weights' headers are read; this catches a budget that no
 * block of this shape could fit before gigabytes are fetched.
 */
export function refuseBudgetBelowShape(dims: ModelDims, budget: number, budgetName: string): void {
  const { dModel, nHeads, nKvHeads, dHead, dMlp } = dims;
  const fewest = PROCESS_BYTES + 4 * (2 * dModel * nHeads * dHead + 2 * dModel * nKvHeads * dHead + 2 * dModel * dMlp);
  if (budget >= fewest) return;
  const smallest = formatMemorySize(fewest, 'up');
  throw new BudgetTooSmallError(
    `${budgetName} (${formatMemorySize(budget)}) is too small for this model: one block's float32 weights alone need at least ${smallest} with the process itself (from config.json, before any weight is downloaded); ` +
      `give --max-memory ${smallest.replace(' ', '')} or more`,
  );
}
