/**
 * The token source of a version-1 results file, whose per-token values are inline: served from
 * memory (such files are small by construction; V8's string limit capped them), in prompt order.
 */
import { InputError } from '../errors.js';
import type { DiagnosticColumn } from '../results/diagnostics.js';
import type { SequenceResult } from '../results/schema.js';
import type { HookName, NormMetric } from '../vocabulary/hooks.js';
import type { SequenceNorms } from './result-tables-writer.js';
import { EXCLUSION_CODE, normColumns } from './result-tables.js';
import type { PromptSums, PromptTokens, TokenColumnChunk, TokenSource } from './token-source.js';

export class SequencesTokenSource implements TokenSource {
  readonly promptCount: number;
  private readonly excluded: Set<number>;
  /** Version 1 excluded positions only (position 0 at most): each is excluded as a position. */
  private exclusions(length: number): Uint8Array {
    return Uint8Array.from({ length }, (_, position) => (this.excluded.has(position) ? EXCLUSION_CODE['position 0'] : 0));
  }

  /** @param promptIndices prompt-file index of each sequence (a shard's subset, or 0…n−1) */
  constructor(
    private readonly inline: readonly SequenceResult[],
    private readonly promptIndices: readonly number[],
    readonly nLayers: number,
    excludePositions: readonly number[],
  ) {
    this.promptCount = inline.length;
    this.excluded = new Set(excludePositions);
  }

  private table(sequence: SequenceResult, hook: HookName, metric: NormMetric): number[][] {
    const table = (metric === 'centered' ? sequence.norms : sequence.rawNorms)[hook];
    if (table === undefined) throw new Error(`no ${metric} norms of ${hook}`);
    return table;
  }

  /** [position × nLayers] of one sequence. */
  private values(sequence: SequenceResult, hook: HookName, metric: NormMetric): Float64Array {
    const table = this.table(sequence, hook, metric);
    const length = sequence.ids.length;
    const values = new Float64Array(length * this.nLayers);
    table.forEach((row, layer) => row.forEach((value, position) => (values[position * this.nLayers + layer] = value)));
    return values;
  }

  async *columnChunks(hook: HookName, metric: NormMetric): AsyncIterable<TokenColumnChunk> {
    for (const [k, sequence] of this.inline.entries()) {
      const rows = sequence.ids.length;
      yield {
        rows,
        prompt: new Int32Array(rows).fill(this.promptIndices[k]!),
        position: Int32Array.from({ length: rows }, (_, position) => position),
        excluded: this.exclusions(rows),
        values: this.values(sequence, hook, metric),
      };
    }
  }

  async promptSums(hook: HookName, metric: NormMetric): Promise<PromptSums> {
    const { nLayers } = this;
    const n = this.inline.length;
    const sums = {
      prompts: Int32Array.from(this.promptIndices),
      included: new Float64Array(n),
      sums: new Float64Array(n * nLayers),
      sumLogs: new Float64Array(n * nLayers),
      sumSquares: new Float64Array(n * nLayers),
    };
    this.inline.forEach((sequence, k) => {
      const table = this.table(sequence, hook, metric);
      for (let position = 0; position < sequence.ids.length; position += 1) {
        if (this.excluded.has(position)) continue;
        sums.included[k]! += 1;
        for (let layer = 0; layer < nLayers; layer += 1) {
          const value = table[layer]![position]!;
          sums.sums[k * nLayers + layer]! += value;
          sums.sumLogs[k * nLayers + layer]! += Math.log(value);
          sums.sumSquares[k * nLayers + layer]! += value * value;
        }
      }
    });
    return sums;
  }

  async *sequences(hooks: readonly HookName[], metric?: NormMetric, diagnostics: readonly DiagnosticColumn[] = []): AsyncIterable<SequenceNorms> {
    if (diagnostics.length > 0)
      throw new InputError(`a version-1 results file has no diagnostic columns (asked for ${diagnostics.map(({ name }) => name).join(', ')})`);
    const columns = normColumns(hooks, metric);
    const { nLayers } = this;
    for (const [k, sequence] of this.inline.entries()) {
      const length = sequence.ids.length;
      const values = new Float32Array(columns.length * nLayers * length);
      columns.forEach(({ hook, metric }, c) => this.table(sequence, hook, metric).forEach((row, layer) => values.set(row, (c * nLayers + layer) * length)));
      yield {
        prompt: this.promptIndices[k]!,
        ids: sequence.ids,
        tokens: sequence.tokens,
        ...(sequence.text !== undefined ? { text: sequence.text } : {}),
        truncated: sequence.truncated === true,
        values,
        slots: Int32Array.from({ length: columns.length * nLayers }, (_, slot) => slot),
        exclusions: this.exclusions(length),
      };
    }
  }

  async promptTokens(prompt: number, hook: HookName, metric: NormMetric): Promise<PromptTokens | undefined> {
    const k = this.promptIndices.indexOf(prompt);
    const sequence = this.inline[k];
    if (sequence === undefined) return undefined;
    return {
      ids: [...sequence.ids],
      tokens: [...sequence.tokens],
      text: sequence.text,
      excluded: [...this.exclusions(sequence.ids.length)],
      values: this.values(sequence, hook, metric),
    };
  }
}
