/**
 * The sweep summary (`sweep.json`): one row per member of the plan with its status and, for
 * measured members, what the sweep figures draw: the fitted growth rate with its interval, the
 * mean norm per layer (the profile), the mean norm at position 0 per layer, and the model's
 * size and depth. Built from the members' results files alone, so `--collect` on one machine
 * summarizes members measured on many.
 */
import { join } from 'node:path';
import { ResidNormsError, quote } from '../errors.js';
import { readRegularFile } from '../io/read-regular-file.js';
import { modelSize } from '../figures/model-family.js';
import { hookSummaries } from '../figures/plot-data.js';
import { writeFileAtomic } from '../results/atomic-write.js';
import type { HookName, NormMetric } from '../vocabulary/hooks.js';
import { fitMeasurementFile } from '../store/fit-measurement.js';
import { readMeasurementFile, type MeasurementFile } from '../store/open-results.js';
import { toolVersion } from '../version.js';
import { SWEEP_FORMAT, type MemberSummary, type SweepMember, type SweepSummary } from '../results/sweep-schema.js';
import type { SweepPlan } from './sweep-plan.js';
import { parseJson } from '../io/json-text.js';

/** Where a member's failure is recorded (removed once it is measured). */
export function failureFile(dir: string, member: SweepMember): string {
  return join(dir, member.file.replace(/\.json$/, '.failed.json'));
}

export async function recordFailure(dir: string, member: SweepMember, error: ResidNormsError): Promise<void> {
  await writeFileAtomic(
    failureFile(dir, member),
    `${JSON.stringify({ spec: member.spec, message: error.message, exitCode: error.exitCode, at: new Date().toISOString() })}\n`,
  );
}

async function readFailure(dir: string, member: SweepMember): Promise<MemberSummary['error'] | undefined> {
  try {
    const data = parseJson((await readRegularFile(failureFile(dir, member))).toString('utf8')) as { message?: unknown; exitCode?: unknown };
    return { message: String(data.message), exitCode: Number(data.exitCode) };
  } catch {
    return undefined;
  }
}

/**
 * A member's results when they are there and belong to this sweep (same prompt set); undefined
 * when the member still has to be measured.
 */
export async function readMemberResults(dir: string, member: SweepMember, plan: SweepPlan): Promise<MeasurementFile | undefined> {
  const path = join(dir, member.file);
  let file: MeasurementFile;
  try {
    file = await readMeasurementFile(path);
  } catch {
    return undefined; // absent, or torn by a kill before the atomic rename (impossible) or edited: measure it again
  }
  return file.measurement.prompts.sha256 === plan.prompts.sha256 ? file : undefined;
}

/** Mean over prompts of the norm at position 0, per layer. */
async function positionZero(file: MeasurementFile, hook: HookName, metric: NormMetric): Promise<number[]> {
  const { nLayers } = file.measurement.model;
  const sums = new Float64Array(nLayers);
  let count = 0;
  for await (const chunk of (await file.tokens()).columnChunks(hook, metric)) {
    for (let row = 0; row < chunk.rows; row += 1) {
      if (chunk.position[row] !== 0) continue;
      count += 1;
      for (let layer = 0; layer < nLayers; layer += 1) sums[layer]! += chunk.values[row * nLayers + layer]!;
    }
  }
  return Array.from(sums, (sum) => (count > 0 ? Number((sum / count).toPrecision(7)) : 0));
}

export interface SummaryOptions {
  hook: HookName;
  bootstrap: number;
  seed: number;
}

async function summarizeMember(dir: string, member: SweepMember, plan: SweepPlan, options: SummaryOptions): Promise<MemberSummary> {
  const file = await readMemberResults(dir, member, plan);
  if (file === undefined) {
    const error = await readFailure(dir, member);
    return { ...member, status: error ? 'failed' : 'missing', ...(error ? { error } : {}) };
  }
  const { measurement } = file;
  const { model } = measurement;
  const metric = measurement.options.primaryMetric;
  const base: MemberSummary = {
    ...member,
    status: 'measured',
    id: model.id,
    commit: model.revision,
    nLayers: model.nLayers,
    dModel: model.dModel,
    parameters: modelSize(model),
    parametersEstimated: model.parameters === undefined,
    metric,
    tokens: measurement.tokens.measured,
  };
  if (!measurement.hooks.includes(options.hook)) return { ...base, error: { message: `${model.id} has no ${options.hook} hook measured`, exitCode: 3 } };
  const fit = await fitMeasurementFile(file, { hook: options.hook, bootstrap: options.bootstrap, seed: options.seed });
  return {
    ...base,
    growth: { factor: fit.growth, ciLow: fit.ciLow, ciHigh: fit.ciHigh, ciMethod: fit.ciMethod, fromLayer: fit.fromLayer, toLayer: fit.toLayer, r2: fit.r2 },
    profile: hookSummaries(measurement, options.hook).map((summary) => Number(summary.mean.toPrecision(7))),
    position0: await positionZeroOf(file, options.hook, metric),
  };
}

/** positionZero, then the member's DuckDB connection closed: a sweep reads hundreds of members. */
async function positionZeroOf(file: MeasurementFile, hook: HookName, metric: NormMetric): Promise<number[]> {
  try {
    return await positionZero(file, hook, metric);
  } finally {
    closeTokens(await file.tokens());
  }
}

function closeTokens(source: object): void {
  if ('close' in source && typeof source.close === 'function') source.close();
}

export async function summarizeSweep(dir: string, plan: SweepPlan, options: SummaryOptions, onMember?: () => void): Promise<SweepSummary> {
  const members: MemberSummary[] = [];
  for (const member of plan.members) {
    try {
      members.push(await summarizeMember(dir, member, plan, options));
    } catch (error) {
      if (!(error instanceof ResidNormsError)) throw error;
      members.push({ ...member, status: 'failed', error: { message: `its results cannot be summarized: ${error.message}`, exitCode: error.exitCode } });
    }
    onMember?.();
  }
  const counts = { measured: 0, failed: 0, missing: 0 };
  for (const member of members) counts[member.status] += 1;
  return {
    format: SWEEP_FORMAT,
    version: 1,
    createdBy: { tool: 'resid-norms', version: toolVersion() },
    hook: options.hook,
    prompts: plan.prompts,
    counts,
    members,
    ...(plan.sameWeights?.length ? { sameWeights: plan.sameWeights } : {}),
  };
}

/** The members not measured, one phrase each, for the partial-sweep message. */
export function describeUnmeasured(summary: SweepSummary): string {
  const unmeasured = summary.members.filter((member) => member.status !== 'measured');
  const shown = unmeasured
    .slice(0, 3)
    .map((member) => `${quote(member.spec)} ${member.status === 'failed' ? `failed (${member.error?.message ?? 'see its log'})` : 'missing'}`);
  return shown.join('; ') + (unmeasured.length > 3 ? ` (and ${unmeasured.length - 3} more)` : '');
}
