/**
 * Short names for the models of the reference analysis → their Hugging Face repos, with the
 * facts `resid-norms models` lists. One table; families add rows here.
 */
import { closest, distance } from 'fastest-levenshtein';

export interface ModelAlias {
  alias: string;
  repo: string;
  family: string;
  nLayers: number;
  dModel: number;
  /** Parameter count as people say it (124M, 1.5B). */
  size: string;
}

export const MODEL_ALIASES: readonly ModelAlias[] = [
  { alias: 'distilgpt2', repo: 'distilbert/distilgpt2', family: 'gpt2', nLayers: 6, dModel: 768, size: '82M' },
  { alias: 'gpt2', repo: 'openai-community/gpt2', family: 'gpt2', nLayers: 12, dModel: 768, size: '124M' },
  { alias: 'gpt2-small', repo: 'openai-community/gpt2', family: 'gpt2', nLayers: 12, dModel: 768, size: '124M' },
  { alias: 'gpt2-medium', repo: 'openai-community/gpt2-medium', family: 'gpt2', nLayers: 24, dModel: 1024, size: '355M' },
  { alias: 'gpt2-large', repo: 'openai-community/gpt2-large', family: 'gpt2', nLayers: 36, dModel: 1280, size: '774M' },
  { alias: 'gpt2-xl', repo: 'openai-community/gpt2-xl', family: 'gpt2', nLayers: 48, dModel: 1600, size: '1.5B' },
];

export function findAlias(name: string): ModelAlias | undefined {
  return MODEL_ALIASES.find((entry) => entry.alias.toLowerCase() === name.toLowerCase());
}

/** Up to three known aliases that look like `name` (typos, missing suffixes). */
export function suggestAliases(name: string): string[] {
  const lower = name.toLowerCase();
  const names = MODEL_ALIASES.map((entry) => entry.alias);
  const near = names
    .map((alias) => ({ alias, score: distance(lower, alias) }))
    .filter(({ alias, score }) => score <= Math.max(2, Math.floor(alias.length / 3)) || alias.startsWith(lower) || lower.startsWith(alias))
    .sort((a, b) => a.score - b.score || a.alias.localeCompare(b.alias))
    .map(({ alias }) => alias);
  return near.length > 0 ? near.slice(0, 3) : [closest(lower, names)];
}
