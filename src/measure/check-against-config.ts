/**
 * What a command checks of a model before its weights are read (src/models/hub/hub-download.ts
 * calls it between the small files and the weights): the flags against the model's shape, read from
 * config.json alone (architectures/model-shape.ts), the prompts
 * against the tokenizer. Refusing here costs a few kilobytes of download, not the model.
 */
import { readConfig } from '../architectures/load-model.js';
import { adapterFor } from '../architectures/registry.js';
import { loadTokenizer } from '../models/tokenizer-files.js';
import type { Prompt } from '../prompts-sources/prompt-file.js';
import type { Diagnostic } from '../results/diagnostics.js';
import type { HookName } from '../vocabulary/hooks.js';
import { chooseDiagnostics } from './diagnostics-selection.js';
import { chooseHooks } from './hooks-selection.js';
import { refuseBudgetBelowShape } from './memory-plan.js';
import type { MemoryAllocation } from '../runtime/memory-allocation.js';
import { tokenizeForModel } from './sequences.js';

export interface ConfigCheckedRequest {
  model?: string;
  /** `measure --hooks` (mechanisms has none). */
  hooks?: HookName[];
  maxTokens?: number;
  prependBos: boolean;
  appendEos?: number;
  diagnostics?: Diagnostic[];
  massiveDims?: number[];
  sinkTokens?: number;
  foldValueBiases?: boolean;
  /** --max-memory: refused here when no block of this shape could fit it. */
  maxMemory?: MemoryAllocation;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

export async function checkAgainstConfig(dir: string, prompts: readonly Prompt[], request: ConfigCheckedRequest): Promise<void> {
  const { config, path } = await readConfig(dir);
  const shape = adapterFor(config, path).readShape(config, path);
  chooseHooks(request.hooks, shape);
  if (request.maxMemory !== undefined) refuseBudgetBelowShape(shape.dims, request.maxMemory.bytes, request.maxMemory.source);
  chooseDiagnostics(request, shape);
  const tokenizer = await loadTokenizer(dir);
  await tokenizeForModel(prompts, tokenizer, { id: request.model ?? dir, ...shape, ...shape.dims }, request, {
    dir,
    ...(request.signal ? { signal: request.signal } : {}),
    ...(request.env ? { env: request.env } : {}),
  });
}
