/**
 * The first phase of every command that runs prompts through a model (measure, mechanisms; a
 * sweep through measure): the output checked, the prompts read (text, JSONL, tables, Hub
 * datasets, --limit, --sample), the model resolved (a Hub download stops after config.json and
 * the tokenizer when they refuse the flags or prompts), nothing written over an input, the
 * model's description and tokenizer loaded, the hooks and diagnostics chosen, the prompts
 * tokenized. One copy, so the commands cannot drift apart in what they accept.
 */
import type { LoadedModel } from '../architectures/load-model.js';
import { loadModel, modelInputs } from '../architectures/load-model.js';
import type { TransformerSpec } from '../architectures/types.js';
import { stopIfInterrupted } from '../io/interrupt.js';
import { checkOutputFile, refuseOutputOverInput } from '../io/output-guard.js';
import type { Reporter } from '../messages/reporter.js';
import type { ListingCache } from '../models/hub/listing-cache.js';
import { resolveRequestedModel, type ResolvedModel } from '../models/resolve-model.js';
import { loadTokenizer, type TextTokenizer } from '../models/tokenizer-files.js';
import type { PromptSet } from '../prompts-sources/prompt-file.js';
import { promptInputs, readRequestedPrompts, type PromptRequest } from '../prompts-sources/read-prompt-source.js';
import type { HookName } from '../vocabulary/hooks.js';
import { checkAgainstConfig, type ConfigCheckedRequest } from './check-against-config.js';
import type { DiagnosticSelection } from '../results/diagnostics.js';
import { chooseDiagnostics } from './diagnostics-selection.js';
import { chooseHooks } from './hooks-selection.js';
import { tokenizeForModel, type TokenizedPrompts } from './sequences.js';

/** What the preparation reads of a command's request. */
export interface PrepareRequest extends PromptRequest, ConfigCheckedRequest {
  /** Output file; `PrepareOutput.defaultPath` of the model's slug when absent. */
  outPath?: string;
  /** Re-resolve the revision on the Hub even when the cache has it. */
  refresh: boolean;
  /** Hub listings a sweep made of its members already (src/models/hub/hub-api.ts). */
  hubListings?: ListingCache;
}

/** What a command writes, for the checks made before any heavy work. */
export interface PrepareOutput {
  /** The output file when the request names none, from the model's slug. */
  defaultPath(slug: string): string;
  /** Files written beside the output (a checkpoint, tables): refused over an input as the output is. */
  companions?(outPath: string): string[];
  /** The command measures hooks: say so when the model has no resid_mid to measure. */
  measuresHooks?: boolean;
}

export interface PreparedRun extends TokenizedPrompts {
  outPath: string;
  /** The prompts' source and hash; its prompts are dropped once tokenized (the sequences hold them). */
  promptSet: PromptSet;
  resolved: ResolvedModel;
  model: LoadedModel;
  spec: TransformerSpec;
  tokenizer: TextTokenizer | undefined;
  hooks: HookName[];
  diagnostics: DiagnosticSelection | undefined;
}

/** The prompts, read and checked before any model is downloaded (a sweep reads them once, here, for all its members). */
export async function readRunPrompts(request: PromptRequest & { outPath?: string }, reporter: Reporter): Promise<PromptSet> {
  if (request.outPath !== undefined) await checkOutputFile(request.outPath); // before any download
  return readRequestedPrompts(request, reporter); // a bad prompt source is refused before any download too
}

export async function prepareRun(request: PrepareRequest, output: PrepareOutput, reporter: Reporter): Promise<PreparedRun> {
  const promptSet = await readRunPrompts(request, reporter);
  // A Hub download stops after config.json and the tokenizer when they refuse the flags or prompts.
  const checkBeforeWeights = (dir: string) => checkAgainstConfig(dir, promptSet.prompts, request);
  const resolved = await resolveRequestedModel({ ...request, checkBeforeWeights }, reporter);
  const outPath = request.outPath ?? output.defaultPath(resolved.slug);
  await checkOutputFile(outPath);
  const companions = output.companions?.(outPath) ?? [];
  await refuseOutputOverInput(
    [{ flag: '--out', path: outPath }, ...companions.map((path) => ({ flag: '--out (its checkpoint and tables)', path }))],
    [...promptInputs(request), ...(await modelInputs(resolved.dir))],
  );
  stopIfInterrupted(request.signal, 'after resolving the model');
  const model = await loadModel(resolved.dir);
  const { spec } = model;
  const tokenizer = await loadTokenizer(resolved.dir);
  const hooks = chooseHooks(request.hooks, spec);
  if (output.measuresHooks && request.hooks === undefined && spec.parallelResidual)
    reporter.info(`${spec.architecture} uses parallel attention and MLP: there is no resid_mid hook, so it is not measured`);
  const diagnostics = chooseDiagnostics(request, spec);
  const tokenized = await tokenizeForModel(promptSet.prompts, tokenizer, { id: resolved.id, ...spec, ...spec.dims }, request, {
    dir: resolved.dir,
    ...(request.signal ? { signal: request.signal } : {}),
    ...(request.env ? { env: request.env } : {}),
  });
  promptSet.prompts = []; // the sequences hold what is measured; a big prompt set is not kept twice
  const truncated = tokenized.sequences.filter((s) => s.truncated).length;
  if (truncated > 0) reporter.warn(`${truncated} prompt(s) longer than ${tokenized.maxTokens} tokens were truncated to ${tokenized.maxTokens}`);
  return { ...tokenized, outPath, promptSet, resolved, model, spec, tokenizer, hooks, diagnostics };
}
