/**
 * `resid-norms sweep`: one prompt set through many models or training checkpoints. Phases:
 *   check flags and the output folder → plan the members → read the prompts (a dataset is
 *   downloaded here, before any model) → write or check the folder's plan → measure each member
 *   not yet measured (an ordinary `measure` run into members/<slug>.json, resuming from its
 *   checkpoint; a member that fails is recorded and the others go on; --evict drops its weights
 *   from the cache once measured) → summarize every member into sweep.json → draw the figures.
 * `--member i` measures one member (a job-array task) and stops there; `--collect` only
 * summarizes and draws; `--prepare` stops after the plan (and the dataset download).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Reporter } from '../messages/reporter.js';
import { InterruptedError, PartialError, ResidNormsError, UsageError, quote } from '../errors.js';
import { checkOutputFolder } from '../io/output-guard.js';
import { refuseLinksBelow, removeFileInside } from '../io/output-plan.js';
import { stopReason } from '../io/interrupt.js';
import { readHubSettings } from '../models/hub/hub-settings.js';
import { parseModelSpec } from '../models/resolve-model.js';
import { buildSweepFigure, SWEEP_FIGURES } from '../figures/sweep-figures.js';
import type { FigureOptions } from '../figures/figure-types.js';
import type { PromptSet } from '../prompts-sources/prompt-file.js';
import type { PromptReadOptions } from '../prompts-sources/prompt-source.js';
import { readRunPrompts } from '../measure/prepare-run.js';
import { describeWriteFailure, writeFileAtomic } from '../results/atomic-write.js';
import type { HookName } from '../vocabulary/hooks.js';
import { evictSnapshot } from '../sweep/evict.js';
import { ListingCache } from '../models/hub/listing-cache.js';
import { ALL_BRANCHES, planMembers } from '../sweep/sweep-members.js';
import { SWEEP_FILE, type SameWeightsMember, type SweepMember, type SweepSummary } from '../results/sweep-schema.js';
import { readPlan, settlePlan, type SweepPlan } from '../sweep/sweep-plan.js';
import { describeUnmeasured, failureFile, readMemberResults, recordFailure, summarizeSweep } from '../sweep/sweep-summary.js';
import { measure, type MeasureRequest } from './measure.js';
import { loadModel } from '../architectures/load-model.js';
import { fingerprintFolder } from '../models/fingerprint.js';
import type { MeasurementFile } from '../store/open-results.js';
import { renderFigure } from '../rendering/figure-outcomes.js';

export type SweepMeasureOptions = Pick<
  MeasureRequest,
  'hooks' | 'batchSize' | 'maxTokens' | 'prependBos' | 'exclusions' | 'device' | 'threads' | 'maxMemory' | 'refresh' | 'takeOverLock'
>;

export interface SweepRequest {
  outDir: string;
  /** Model specs (alias, owner/name[@rev], folder); not needed with --collect. */
  models?: string[];
  /** Revisions of every model (stepN…), shorthands expanded. */
  revisions?: string[];
  promptsPath?: string;
  promptOptions?: PromptReadOptions;
  measure: SweepMeasureOptions;
  /** Measure only this member (1-based): one task of a job array. */
  member?: number;
  /** Measure nothing: summarize the members present and draw. */
  collect?: boolean;
  /** Write the plan (and download a dataset of prompts), measure nothing. */
  prepare?: boolean;
  /** Remove each member's weights from the Hugging Face cache once measured. */
  evict?: boolean;
  /** Hook fitted and drawn (default resid_pre); bootstrap resamples and seed of the fits. */
  hook: HookName;
  bootstrap: number;
  seed: number;
  figureOptions: Pick<FigureOptions, 'rescale' | 'x'>;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

export interface SweepOutcome {
  plan: SweepPlan;
  /** Members measured by this run, and those found done already. */
  measured: SweepMember[];
  skipped: SweepMember[];
  failed: Array<{ member: SweepMember; error: ResidNormsError }>;
  /** Written unless --member or --prepare. */
  summary?: SweepSummary;
}

/** Exit code 7 (partial): the summary of the measured members is written and carried here. */
export class SweepIncompleteError extends PartialError {
  constructor(
    readonly summary: SweepSummary,
    message: string,
  ) {
    super(message);
  }
}

/** Info lines and progress of one member, prefixed with its number. */
function memberReporter(reporter: Reporter, member: SweepMember, total: number): Reporter {
  const prefix = `[${member.index}/${total} ${member.spec}]`;
  return {
    info: (message) => reporter.info(`${prefix} ${message}`),
    warn: (message) => reporter.warn(`${prefix} ${message}`),
    progress: (label, count, unit) => reporter.progress(`${prefix} ${label}`, count, unit),
  };
}

/** Asks the Hub what the plan needs (branches, same weights), loaded only when a member is a Hub model. */
async function hubPlanning(request: SweepRequest, reporter: Reporter, listings: ListingCache) {
  const { listSweepBranches, findSameWeights } = await import('../sweep/sweep-revisions.js');
  const planning = { settings: readHubSettings(request.env), reporter, listings, ...(request.signal ? { signal: request.signal } : {}) };
  return {
    branches: (models: readonly string[]) => listSweepBranches(models, planning),
    sameWeights: (members: SweepMember[]) => findSameWeights(members, planning),
  };
}

async function wantedPlan(request: SweepRequest, reporter: Reporter, listings: ListingCache): Promise<{ plan: SweepPlan; promptSet: PromptSet }> {
  const models = request.models ?? [];
  if (models.length === 0)
    throw new UsageError('give the members: --models a,b,… (or --model m --revisions r1,r2,…), or --collect to summarize a sweep folder');
  // A rerun, and each task of a job array, takes what the plan in the folder found on the Hub.
  const saved = await readPlan(request.outDir);
  let branches = saved?.branches;
  const unlisted = request.revisions?.includes(ALL_BRANCHES) ? models.filter((model) => saved?.branches?.[model] === undefined) : [];
  if (unlisted.length > 0) {
    if (request.member !== undefined)
      throw new UsageError(
        '--revisions all lists the branches from the Hub when the plan is made: run the same command with --prepare once, then the --member tasks take its list',
      );
    branches = { ...branches, ...(await (await hubPlanning(request, reporter, listings)).branches(unlisted)) };
  }
  const planOf = (exclude: readonly SameWeightsMember[] | undefined) =>
    planMembers(models, request.revisions, { ...(branches ? { branches } : {}), exclude: new Set((exclude ?? []).map((entry) => entry.spec)) });
  let members = planOf(saved?.sameWeights);
  const isHub = await Promise.all(members.map(async (member) => (await parseModelSpec(member.spec)).kind === 'hub')); // a bad name is refused before any download
  if (request.member !== undefined && request.member > members.length) {
    throw new UsageError(`--member ${request.member}: the sweep has ${members.length} member${members.length === 1 ? '' : 's'}; valid: 1…${members.length}`);
  }
  const prompts = await readRunPrompts({ ...request, promptOptions: request.promptOptions ?? {} }, reporter); // prepare's first phase, once for every member
  let sameWeights = saved?.sameWeights;
  if (saved === undefined && request.member === undefined && isHub.filter(Boolean).length > 1) {
    sameWeights = await (await hubPlanning(request, reporter, listings)).sameWeights(members);
    if (sameWeights.length > 0) members = planOf(sameWeights);
  }
  const { hooks, batchSize, maxTokens, prependBos, exclusions } = request.measure;
  const plan: SweepPlan = {
    format: 'resid-norms/sweep-plan',
    version: 1,
    members,
    prompts: { source: prompts.source, sha256: prompts.sha256, count: prompts.prompts.length },
    options: { hooks: hooks ?? null, batchSize, maxTokens: maxTokens ?? null, prependBos, exclusions },
    ...(branches !== undefined ? { branches } : {}),
    ...(sameWeights !== undefined && sameWeights.length > 0 ? { sameWeights } : {}),
  };
  return { plan, promptSet: prompts };
}

export async function sweep(request: SweepRequest, reporter: Reporter): Promise<SweepOutcome> {
  await checkOutputFolder(request.outDir, '--out');
  // The folders a sweep writes into and deletes from must be its own, not links to elsewhere.
  for (const name of ['members', 'figures']) await refuseLinksBelow(request.outDir, join(request.outDir, name), '--out');
  if (request.collect) {
    const plan = await readPlan(request.outDir);
    if (plan === undefined)
      throw new UsageError(`--collect: ${quote(request.outDir)} holds no sweep (no sweep-plan.json); give the folder a sweep wrote with --out`);
    if (request.models !== undefined) reporter.info('--collect summarizes the plan the folder holds; the member flags are not used');
    return { plan, measured: [], skipped: [], failed: [], summary: await writeSummary(request, plan, reporter) };
  }
  const listings = new ListingCache(); // what planning listed on the Hub, handed on to each download
  const { plan, promptSet } = await wantedPlan(request, reporter, listings);
  try {
    await mkdir(join(request.outDir, 'members'), { recursive: true });
  } catch (error) {
    throw new UsageError(
      `cannot write ${quote(request.outDir)}: ${describeWriteFailure((error as NodeJS.ErrnoException).code ?? String(error))}; choose another --out`,
    );
  }
  await settlePlan(request.outDir, plan);
  const outcome: SweepOutcome = { plan, measured: [], skipped: [], failed: [] };
  if (request.prepare) {
    reporter.info(`prepared ${request.outDir}: ${plan.members.length} members, ${plan.prompts.count} prompts; run each member with --member i, then --collect`);
    return outcome;
  }

  const selected = request.member === undefined ? plan.members : [plan.members[request.member - 1]!];
  const total = plan.members.length;
  const cacheDir = request.evict ? readHubSettings(request.env).cacheDir : undefined;
  const refusedRepos = new Map<string, ResidNormsError>(); // a repo that refuses one revision refuses them all
  const repoOf = new Map<number, string | undefined>();
  for (const member of selected) {
    const source = await parseModelSpec(member.spec);
    repoOf.set(member.index, source.kind === 'hub' ? source.repo : undefined);
  }
  for (const member of selected) {
    if (request.signal?.aborted) {
      const done = outcome.measured.length + outcome.skipped.length;
      throw new InterruptedError(
        `${stopReason(request.signal)}: the sweep stopped before member ${member.index} of ${total} (${done} done in this run); run the same command again to go on`,
      );
    }
    const tell = memberReporter(reporter, member, total);
    const outPath = join(request.outDir, member.file);
    const found = await readMemberResults(request.outDir, member, plan);
    const done = found !== undefined && (await isOfCurrentModel(member, found, tell)) ? found : undefined;
    if (done !== undefined) {
      tell.info(`already measured (${member.file}); skipped`);
      outcome.skipped.push(member);
      if (cacheDir !== undefined) await evictMember(cacheDir, member, done.measurement.model.revision, tell);
      continue;
    }
    const repo = repoOf.get(member.index);
    const refused = repo !== undefined ? refusedRepos.get(repo) : undefined;
    if (refused !== undefined) {
      await recordFailure(request.outDir, member, refused);
      outcome.failed.push({ member, error: refused });
      continue;
    }
    try {
      const { measurement } = await measure(
        {
          ...request.measure,
          model: member.spec,
          outPath,
          promptSet,
          hubListings: listings,
          ...(request.promptsPath !== undefined ? { promptsPath: request.promptsPath } : {}),
          ...(request.signal ? { signal: request.signal } : {}),
          ...(request.env ? { env: request.env } : {}),
        },
        tell,
      );
      await removeFileInside(request.outDir, failureFile(request.outDir, member), '--out');
      tell.info(`measured: ${measurement.tokens.measured} tokens in ${measurement.runtime.seconds.toFixed(1)} s → ${member.file}`);
      outcome.measured.push(member);
      if (cacheDir !== undefined) await evictMember(cacheDir, member, measurement.model.revision, tell);
    } catch (error) {
      if (error instanceof InterruptedError || !(error instanceof ResidNormsError)) throw error;
      const repoWide = repo !== undefined && (await import('../models/hub/hub-errors.js')).isRepoWide(error);
      const rest = repoWide ? selected.filter((other) => other.index > member.index && repoOf.get(other.index) === repo).length : 0;
      if (rest > 0) refusedRepos.set(repo!, error);
      tell.warn(
        `failed (exit ${error.exitCode}): ${error.message}${rest > 0 ? `; the ${rest} other member${rest === 1 ? '' : 's'} of ${repo} fail${rest === 1 ? 's' : ''} the same way and ${rest === 1 ? 'is' : 'are'} not tried` : ''}`,
      );
      await recordFailure(request.outDir, member, error);
      outcome.failed.push({ member, error });
      if (request.member !== undefined) throw error; // a job-array task fails with its member's own code
    }
  }
  if (request.member !== undefined) return outcome;
  const summary = await writeSummary(request, plan, reporter);
  return { ...outcome, summary };
}

/**
 * Whether a member's results are of the model its spec names now. A local folder is compared by
 * content: a relative spec run from another folder, or a folder whose weights were replaced,
 * names another model than the one measured, and is measured again instead of being reported
 * with the old one's numbers. (A Hub member is its spec's commit, recorded when measured.)
 */
async function isOfCurrentModel(member: SweepMember, found: MeasurementFile, reporter: Reporter): Promise<boolean> {
  const recorded = found.measurement.model.contentId;
  const source = await parseModelSpec(member.spec).catch(() => undefined);
  if (source?.kind !== 'local' || recorded === undefined) return source !== undefined;
  const current = await loadModel(source.dir)
    .then((model) => fingerprintFolder(source.dir, model.weights.files))
    .catch(() => undefined);
  if (current === recorded) return true;
  reporter.info(
    `${member.file} holds another model's results (${recorded.slice(0, 19)}…, the folder now ${current === undefined ? 'cannot be read' : `${current.slice(0, 19)}…`}); measuring again`,
  );
  return false;
}

async function evictMember(cacheDir: string, member: SweepMember, sha: string | null, reporter: Reporter): Promise<void> {
  const source = await parseModelSpec(member.spec);
  if (source.kind !== 'hub' || sha === null) {
    reporter.info('--evict: a local folder, not a cache entry; nothing removed');
    return;
  }
  const eviction = await evictSnapshot(cacheDir, source.repo, sha);
  if (eviction.leftAlone !== undefined) reporter.warn(`--evict: nothing removed: ${eviction.leftAlone}`);
  if (eviction.blobs > 0 || eviction.shared > 0) {
    reporter.info(
      `evicted ${source.repo}@${sha.slice(0, 10)} from the cache (${(eviction.bytes / 1e6).toFixed(1)} MB in ${eviction.blobs} file${eviction.blobs === 1 ? '' : 's'}${eviction.shared > 0 ? `; ${eviction.shared} kept, shared with another revision` : ''})`,
    );
  }
}

/** sweep.json and the figures, from whatever members are measured; partial when some are not. */
async function writeSummary(request: SweepRequest, plan: SweepPlan, reporter: Reporter): Promise<SweepSummary> {
  const progress = reporter.progress('summarizing members', plan.members.length, 'items');
  let summary: SweepSummary;
  try {
    summary = await summarizeSweep(request.outDir, plan, { hook: request.hook, bootstrap: request.bootstrap, seed: request.seed }, () => progress.tick(1));
  } finally {
    progress.done();
  }
  await writeFileAtomic(join(request.outDir, SWEEP_FILE), `${JSON.stringify(summary, null, 2)}\n`);
  await mkdir(join(request.outDir, 'figures'), { recursive: true });
  let drawn = 0;
  for (const name of SWEEP_FIGURES) {
    const outcome = buildSweepFigure(name, summary, request.figureOptions);
    const file = join(request.outDir, 'figures', `${name}.svg`);
    if (!outcome.drawn) {
      reporter.info(`figure ${name} not drawn: ${outcome.reason}`);
      await removeFileInside(request.outDir, file, '--out'); // never leave a figure of an earlier state of the sweep
      continue;
    }
    await writeFileAtomic(file, await renderFigure(outcome.spec, `sweep-${name}`, reporter));
    drawn += 1;
  }
  reporter.info(
    `wrote ${join(request.outDir, SWEEP_FILE)} (${summary.counts.measured} of ${plan.members.length} members measured) and ${drawn} figure${drawn === 1 ? '' : 's'} in ${join(request.outDir, 'figures')}/`,
  );
  if (summary.counts.measured < plan.members.length) {
    throw new SweepIncompleteError(
      summary,
      `sweep incomplete: ${summary.counts.measured} of ${plan.members.length} members measured; ${describeUnmeasured(summary)}; the summary and figures cover the measured ones; ` +
        (request.collect
          ? 'measure the others (`sweep --member i` for each, or the sweep command without --collect, which skips the measured ones), then --collect again'
          : 'run the same command again to retry the others (measured members are skipped)'),
    );
  }
  return summary;
}
