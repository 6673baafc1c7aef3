/**
 * Short names for the models of the reference analysis → their Hugging Face repos, with the
 * facts `resid-norms models` lists. One table; families add rows here.
 */
import { closest, distance } from 'fastest-levenshtein';
import { DEMO_MODEL_DIR, DEMO_MODEL_ID } from '../package-paths.js';

export interface ModelAlias {
  alias: string;
  repo: string;
  /** The config's model_type (the architecture registry key). */
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
  { alias: 'opt-125m', repo: 'facebook/opt-125m', family: 'opt', nLayers: 12, dModel: 768, size: '125M' },
  { alias: 'opt-1.3b', repo: 'facebook/opt-1.3b', family: 'opt', nLayers: 24, dModel: 2048, size: '1.3B' },
  { alias: 'opt-2.7b', repo: 'facebook/opt-2.7b', family: 'opt', nLayers: 32, dModel: 2560, size: '2.7B' },
  // EleutherAI renamed gpt-neo-125M to gpt-neo-125m; the larger two kept their names.
  { alias: 'gpt-neo-125M', repo: 'EleutherAI/gpt-neo-125m', family: 'gpt_neo', nLayers: 12, dModel: 768, size: '125M' },
  { alias: 'gpt-neo-1.3B', repo: 'EleutherAI/gpt-neo-1.3B', family: 'gpt_neo', nLayers: 24, dModel: 2048, size: '1.3B' },
  { alias: 'gpt-neo-2.7B', repo: 'EleutherAI/gpt-neo-2.7B', family: 'gpt_neo', nLayers: 32, dModel: 2560, size: '2.7B' },
  // Pythia: -deduped twins and training checkpoints go through the repo syntax,
  // e.g. EleutherAI/pythia-410m-deduped@step3000.
  { alias: 'pythia-70m', repo: 'EleutherAI/pythia-70m', family: 'gpt_neox', nLayers: 6, dModel: 512, size: '70M' },
  { alias: 'pythia-160m', repo: 'EleutherAI/pythia-160m', family: 'gpt_neox', nLayers: 12, dModel: 768, size: '160M' },
  { alias: 'pythia-410m', repo: 'EleutherAI/pythia-410m', family: 'gpt_neox', nLayers: 24, dModel: 1024, size: '410M' },
  { alias: 'pythia-1b', repo: 'EleutherAI/pythia-1b', family: 'gpt_neox', nLayers: 16, dModel: 2048, size: '1.0B' },
  { alias: 'pythia-1.4b', repo: 'EleutherAI/pythia-1.4b', family: 'gpt_neox', nLayers: 24, dModel: 2048, size: '1.4B' },
  { alias: 'pythia-2.8b', repo: 'EleutherAI/pythia-2.8b', family: 'gpt_neox', nLayers: 32, dModel: 2560, size: '2.8B' },
  // GPT-J: the repo's main branch holds float32 weights (24 GB); EleutherAI/gpt-j-6b@float16 half of that.
  { alias: 'gpt-j-6b', repo: 'EleutherAI/gpt-j-6b', family: 'gptj', nLayers: 28, dModel: 4096, size: '6.1B' },
  // Gemma repos are gated: accept Google's licence on the Hub, then give HF_TOKEN.
  { alias: 'gemma-2b', repo: 'google/gemma-2b', family: 'gemma', nLayers: 18, dModel: 2048, size: '2.5B' },
  { alias: 'gemma-7b', repo: 'google/gemma-7b', family: 'gemma', nLayers: 28, dModel: 3072, size: '8.5B' },
  { alias: 'gemma-2-2b', repo: 'google/gemma-2-2b', family: 'gemma2', nLayers: 26, dModel: 2304, size: '2.6B' },
  { alias: 'gemma-2-9b', repo: 'google/gemma-2-9b', family: 'gemma2', nLayers: 42, dModel: 3584, size: '9.2B' },
  { alias: 'gemma-2-27b', repo: 'google/gemma-2-27b', family: 'gemma2', nLayers: 46, dModel: 4608, size: '27B' },
  // Gemma 3 1B is text-only (gemma3_text); the larger Gemma 3 checkpoints are multimodal (model_type gemma3), not supported.
  { alias: 'gemma-3-1b', repo: 'google/gemma-3-1b-pt', family: 'gemma3_text', nLayers: 26, dModel: 1152, size: '1.0B' },
  // Qwen3-0.6B: 16 query and 8 key/value heads of head_dim 128 (2048 ≠ hidden_size 1024), tied embeddings.
  { alias: 'qwen3-0.6b', repo: 'Qwen/Qwen3-0.6B', family: 'qwen3', nLayers: 28, dModel: 1024, size: '0.6B' },
  { alias: 'phi-2', repo: 'microsoft/phi-2', family: 'phi', nLayers: 32, dModel: 2560, size: '2.7B' },
  { alias: 'phi-3-mini-4k-instruct', repo: 'microsoft/Phi-3-mini-4k-instruct', family: 'phi3', nLayers: 32, dModel: 3072, size: '3.8B' },
  // LongRoPE: measured up to 4096 tokens, its short regime (src/architectures/phi3.ts).
  { alias: 'phi-3.5-mini-instruct', repo: 'microsoft/Phi-3.5-mini-instruct', family: 'phi3', nLayers: 32, dModel: 3072, size: '3.8B' },
  // OLMo: training checkpoints are branches, e.g. allenai/OLMo-1B-hf@step20000-tokens84B,
  // allenai/OLMo-2-0425-1B@stage1-step1000-tokens3B (sweep --revisions all lists them).
  { alias: 'olmo-1b', repo: 'allenai/OLMo-1B-hf', family: 'olmo', nLayers: 16, dModel: 2048, size: '1.2B' },
  { alias: 'olmo-2-1b', repo: 'allenai/OLMo-2-0425-1B', family: 'olmo2', nLayers: 16, dModel: 2048, size: '1.5B' },
  // 8 experts of which each token uses 2: 46.7B parameters, about 12.9B of them per token.
  { alias: 'mixtral-8x7b', repo: 'mistralai/Mixtral-8x7B-v0.1', family: 'mixtral', nLayers: 32, dModel: 4096, size: '46.7B' },
];

/** A model that ships inside the package: an alias for a folder, no download. */
export interface EmbeddedModel extends Omit<ModelAlias, 'repo'> {
  dir: string;
  description: string;
}

export const EMBEDDED_MODELS: readonly EmbeddedModel[] = [
  {
    alias: DEMO_MODEL_ID,
    dir: DEMO_MODEL_DIR,
    family: 'gpt2',
    nLayers: 8,
    dModel: 128,
    size: '1.7M',
    description: 'a small GPT-2 trained for this project',
  },
];

export function findEmbeddedModel(name: string): EmbeddedModel | undefined {
  return EMBEDDED_MODELS.find((entry) => entry.alias.toLowerCase() === name.toLowerCase());
}

/**
 * The panels of the reference comparison (figure 8), by the organisation owning the repo:
 * OpenAI's and Facebook's models in one, EleutherAI's in another.
 */
const PANEL_BY_OWNER: Record<string, string> = {
  'openai-community': 'OpenAI/Facebook',
  distilbert: 'OpenAI/Facebook', // distilgpt2, distilled from GPT-2
  facebook: 'OpenAI/Facebook',
  EleutherAI: 'EleutherAI',
  google: 'Google',
  microsoft: 'Microsoft',
  mistralai: 'Mistral AI',
};

export function aliasPanel(entry: Pick<ModelAlias, 'repo'>): string {
  const owner = entry.repo.split('/')[0]!;
  return PANEL_BY_OWNER[owner] ?? owner;
}

export function findAlias(name: string): ModelAlias | undefined {
  return MODEL_ALIASES.find((entry) => entry.alias.toLowerCase() === name.toLowerCase());
}

/** Up to three known aliases that look like `name` (typos, missing suffixes). */
export function suggestAliases(name: string): string[] {
  const lower = name.toLowerCase();
  const names = [...EMBEDDED_MODELS, ...MODEL_ALIASES].map((entry) => entry.alias);
  const near = names
    .map((alias) => ({ alias, score: distance(lower, alias) }))
    .filter(({ alias, score }) => score <= Math.max(2, Math.floor(alias.length / 3)) || alias.startsWith(lower) || lower.startsWith(alias))
    .sort((a, b) => a.score - b.score || a.alias.localeCompare(b.alias))
    .map(({ alias }) => alias);
  return near.length > 0 ? near.slice(0, 3) : [closest(lower, names)];
}
