/**
 * Which panel of the comparison figure a model belongs to. The panels are those of the
 * reference analysis and of `resid-norms models` (src/models/aliases.ts, one table): by the
 * organisation owning the repo, OpenAI's and Facebook's models together, EleutherAI's apart.
 * Results name a model by alias, repo id or local folder name; a folder falls back on its
 * architecture (config.json model_type).
 */
import { MODEL_ALIASES, aliasPanel, findAlias } from '../models/aliases.js';
import type { ModelInfo } from '../results/schema.js';

const OPENAI_FACEBOOK = aliasPanel({ repo: 'openai-community/gpt2' });
const ELEUTHER_AI = aliasPanel({ repo: 'EleutherAI/gpt-neo-125m' });
export const OTHER_PANEL = 'other models';

/**
 * For models named by a local folder: the panel that every alias of its architecture shares
 * (gemma → Google, qwen3 → Qwen …), read from the alias table so a new family's alias places it;
 * none when its aliases belong to several panels or it has none.
 */
function panelOfArchitecture(architecture: string): string | undefined {
  const panels = new Set(MODEL_ALIASES.filter((entry) => entry.family === architecture).map(aliasPanel));
  return panels.size === 1 ? [...panels][0] : undefined;
}

export function modelFamily(model: Pick<ModelInfo, 'id' | 'architecture'>): string {
  const alias = findAlias(model.id.replace(/@.*$/, ''));
  if (alias !== undefined) return aliasPanel(alias);
  if (model.id.includes('/')) return aliasPanel({ repo: model.id });
  return panelOfArchitecture(model.architecture) ?? OTHER_PANEL;
}

/** The reference analysis's two panels first, other organisations alphabetically, then the rest. */
export function comparePanels(a: string, b: string): number {
  const rank = (panel: string): number => (panel === OPENAI_FACEBOOK ? 0 : panel === ELEUTHER_AI ? 1 : panel === OTHER_PANEL ? 3 : 2);
  return rank(a) - rank(b) || a.localeCompare(b);
}

/** Parameter count if recorded, else the transformer's rough 12 · nLayers · dModel², for ordering. */
export function modelSize(model: Pick<ModelInfo, 'parameters' | 'nLayers' | 'dModel'>): number {
  return model.parameters ?? 12 * model.nLayers * model.dModel ** 2;
}
