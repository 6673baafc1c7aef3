/**
 * What a command checks of a model before its weights are read (src/models/hub/hub-download.ts
 * calls it between the small files and the weights): the flags against config.json, the prompts
 * against the tokenizer. Refusing here costs a few kilobytes of download, not the model.
 */
import { ConfigReader } from '../architectures/config-reader.js';
import { readConfig } from '../architectures/load-model.js';
import { adapterFor } from '../architectures/registry.js';
import { loadTokenizer } from '../models/tokenizer-files.js';
import type { Prompt } from '../prompts-sources/prompt-file.js';
import type { Diagnostic } from '../results/diagnostics.js';
import { chooseDiagnostics } from './diagnostics-selection.js';
import { tokenizeForModel } from './sequences.js';

export interface ConfigCheckedRequest {
  model?: string;
  maxTokens?: number;
  prependBos: boolean;
  appendEos?: number;
  diagnostics?: Diagnostic[];
  massiveDims?: number[];
}

export async function checkAgainstConfig(dir: string, prompts: readonly Prompt[], request: ConfigCheckedRequest): Promise<void> {
  const { config, path } = await readConfig(dir);
  const dims = adapterFor(config, path).readDims(config, path);
  chooseDiagnostics(request.diagnostics, request.massiveDims, { dims });
  const { bos, eos } = new ConfigReader(config, path).specialTokenIds();
  const tokenizer = await loadTokenizer(dir);
  tokenizeForModel(prompts, tokenizer, { id: request.model ?? dir, bosTokenId: bos, eosTokenId: eos, ...dims }, request);
}
