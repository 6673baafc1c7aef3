/**
 * The one registration point for architectures: config.json's `model_type` → adapter.
 * Adding a family whose every quirk the description (types.ts) already carries is, in src/,
 * one adapter file + one line here. Its tests: a tiny model in the exact Hugging Face layout
 * (test/support/tiny-*.ts), an independent reference forward pass (test/support/reference-*.ts)
 * compared at every hook (test/graph/<family>-graph.test.ts), and an entry in
 * test/architectures/description-fields.test.ts (which fails without one),
 * test/graph/diagnostics-graph.test.ts and test/commands/measure-families.test.ts. Its docs: a
 * row in docs/architectures.md's hook table and in the README's family table, and its page
 * docs/architectures-*.md. An alias (src/models/aliases.ts) is optional. A quirk the
 * description lacks also needs its field in types.ts and that field's reader in the graph
 * (src/graph/) and, if it changes weights, in src/weights/; docs/architectures.md says how.
 */
import { ModelError, quote } from '../errors.js';
import { gpt2Adapter } from './gpt2.js';
import { gptNeoAdapter } from './gpt-neo.js';
import { optAdapter } from './opt.js';
import { gptNeoxAdapter } from './gpt-neox.js';
import { llamaAdapter, mistralAdapter, qwen2Adapter } from './llama.js';
import { gemma2Adapter, gemma3TextAdapter, gemmaAdapter } from './gemma.js';
import { qwen3Adapter } from './qwen3.js';
import { gptjAdapter } from './gptj.js';
import { phiAdapter } from './phi.js';
import { phi3Adapter } from './phi3.js';
import { olmo2Adapter, olmoAdapter } from './olmo.js';
import { mixtralAdapter } from './mixtral.js';
import type { ArchitectureAdapter, HfConfig } from './types.js';

export const ARCHITECTURES: Record<string, ArchitectureAdapter> = {
  gpt2: gpt2Adapter,
  gpt_neo: gptNeoAdapter,
  opt: optAdapter,
  gpt_neox: gptNeoxAdapter,
  llama: llamaAdapter,
  mistral: mistralAdapter,
  qwen2: qwen2Adapter,
  gemma: gemmaAdapter,
  gemma2: gemma2Adapter,
  gemma3_text: gemma3TextAdapter,
  qwen3: qwen3Adapter,
  phi: phiAdapter,
  phi3: phi3Adapter,
  gptj: gptjAdapter,
  olmo: olmoAdapter,
  olmo2: olmo2Adapter,
  mixtral: mixtralAdapter,
};

export function supportedArchitectures(): string[] {
  return Object.keys(ARCHITECTURES);
}

/** The adapter for a config, by model_type (or, failing that, by its `architectures` list). */
export function adapterFor(config: HfConfig, configPath: string): ArchitectureAdapter {
  const modelType = config.model_type;
  if (typeof modelType === 'string' && ARCHITECTURES[modelType]) return ARCHITECTURES[modelType];
  const declared = Array.isArray(config.architectures) ? config.architectures.filter((a) => typeof a === 'string') : [];
  const byClass = Object.values(ARCHITECTURES).find((adapter) => declared.some((name) => adapter.architectures.includes(name)));
  if (byClass) return byClass;
  const what = typeof modelType === 'string' ? `model_type ${quote(modelType)}` : `architectures ${quote(declared)}`;
  throw new ModelError(`${quote(configPath)}: ${what} is not supported; supported model types: ${supportedArchitectures().join(', ')}`);
}
