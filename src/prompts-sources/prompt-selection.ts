/**
 * Which prompts of a source are used (`--limit N`: the first N; `--sample N`: N drawn at random
 * with a seed, after --limit) and the hash that names exactly the prompts used.
 */
import { createHash } from 'node:crypto';
import { createUniform } from '../analysis/seeded-random.js';
import type { Prompt } from './prompt-file.js';

export interface PromptSelection {
  /** Only the first N rows or prompts. */
  limit?: number;
  /** N rows or prompts drawn without replacement (after --limit), kept in source order. */
  sample?: number;
  /** Seed of --sample (same seed and source: same prompts). */
  seed: number;
}

export const DEFAULT_SAMPLE_SEED = 0;

/** Rows a table may give without --limit or --sample (each prompt is held in memory until tokenized). */
export const MAX_UNSELECTED_ROWS = 1_000_000;

export function isSelecting(selection: PromptSelection | undefined): selection is PromptSelection {
  return selection !== undefined && (selection.limit !== undefined || selection.sample !== undefined);
}

/**
 * `count` distinct indices of 0…n−1, ascending, drawn by Floyd's algorithm from a seeded
 * generator: memory grows with `count`, not with `n`, and the draw is the same on every machine.
 */
export function sampleIndices(n: number, count: number, seed: number): number[] {
  if (count >= n) return Array.from({ length: n }, (_, i) => i);
  const uniform = createUniform(seed);
  const chosen = new Set<number>();
  for (let j = n - count; j < n; j += 1) {
    const t = Math.floor(uniform() * (j + 1));
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen].sort((a, b) => a - b);
}

/** The rows a selection keeps out of `n` (ascending), or undefined for all of them. */
export function selectedRows(n: number, selection: PromptSelection | undefined): number[] | undefined {
  if (!isSelecting(selection)) return undefined;
  const available = Math.min(n, selection.limit ?? n);
  if (selection.sample === undefined) return Array.from({ length: available }, (_, i) => i);
  return sampleIndices(available, selection.sample, selection.seed);
}

/** What a selection did, for the prompt set's source line: "first 100 of 10000", "sample of 50 from 10000 (seed 0)". */
export function describeSelection(n: number, selection: PromptSelection | undefined): string | undefined {
  if (!isSelecting(selection)) return undefined;
  const available = Math.min(n, selection.limit ?? n);
  const pool = selection.limit !== undefined && selection.limit < n ? `the first ${available} of ${n}` : `${n}`;
  return selection.sample === undefined
    ? `first ${available} of ${n}`
    : `sample of ${Math.min(selection.sample, available)} from ${pool} (seed ${selection.seed})`;
}

/**
 * sha256 of exactly the prompts used, in order: each as one JSON Lines record, {"text": …} or
 * {"ids": […]}, followed by a newline; so it equals the sha256 of a JSONL prompt file that holds
 * just these prompts.
 */
export function hashPrompts(prompts: readonly Prompt[]): string {
  const hash = createHash('sha256');
  for (const prompt of prompts) hash.update(`${JSON.stringify(prompt.text !== undefined ? { text: prompt.text } : { ids: prompt.ids })}\n`);
  return hash.digest('hex');
}
