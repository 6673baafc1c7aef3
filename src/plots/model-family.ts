/**
 * Which family a model belongs to, for the comparison figure's panels (as in the reference
 * analysis: OpenAI and Facebook models in one panel, EleutherAI's in another). A table, matched
 * against the model id and architecture; add a row to add a family.
 */
import type { ModelInfo } from '../results/schema.js';

interface FamilyRule {
  /** Panel title. */
  panel: string;
  /** Matched against the model id, then (when no id matches) the architecture. */
  pattern: RegExp;
}

const FAMILY_RULES: readonly FamilyRule[] = [
  { panel: 'OpenAI / Facebook', pattern: /\b(distil)?gpt-?2\b|openai/i },
  { panel: 'OpenAI / Facebook', pattern: /\bopt\b|\bopt-|facebook\//i },
  { panel: 'EleutherAI', pattern: /pythia|gpt[-_]?neo|gpt[-_]?j\b|eleutherai/i },
  { panel: 'Meta Llama', pattern: /llama/i },
  { panel: 'Mistral', pattern: /mistral/i },
  { panel: 'Qwen', pattern: /qwen/i },
];

export const OTHER_PANEL = 'other models';

/** Panel titles in the order panels are drawn. */
export const PANEL_ORDER: readonly string[] = [...new Set(FAMILY_RULES.map((rule) => rule.panel)), OTHER_PANEL];

export function modelFamily(model: Pick<ModelInfo, 'id' | 'architecture'>): string {
  const byId = FAMILY_RULES.find((rule) => rule.pattern.test(model.id));
  const byArchitecture = FAMILY_RULES.find((rule) => rule.pattern.test(model.architecture));
  return (byId ?? byArchitecture)?.panel ?? OTHER_PANEL;
}

/** Parameter count if recorded, else the transformer's rough 12 · nLayers · dModel², for ordering. */
export function modelSize(model: Pick<ModelInfo, 'parameters' | 'nLayers' | 'dModel'>): number {
  return model.parameters ?? 12 * model.nLayers * model.dModel ** 2;
}
