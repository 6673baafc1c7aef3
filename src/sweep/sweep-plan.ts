/**
 * The plan a sweep folder holds (`sweep-plan.json`): its members, the prompt set (by hash) and
 * the measure options every member shares. Written by the first run and checked by every later
 * one (a rerun, each task of a job array, `--collect`), so one folder never mixes two sweeps.
 */
import { join } from 'node:path';
import { InputError, UsageError, quote } from '../errors.js';
import { readRegularFile } from '../io/read-regular-file.js';
import { writeFileAtomic } from '../results/atomic-write.js';
import type { HookName } from '../vocabulary/hooks.js';
import type { SameWeightsMember, SweepMember, SweepPrompts } from '../results/sweep-schema.js';
import { parseJson } from '../io/json-text.js';

export const SWEEP_PLAN_FILE = 'sweep-plan.json';
export const SWEEP_PLAN_FORMAT = 'resid-norms/sweep-plan';

/** The measure options that must be the same for every member (they change the numbers). */
export interface SweepOptions {
  hooks: HookName[] | null;
  batchSize: number;
  maxTokens: number | null;
  prependBos: boolean;
  /** Position 0 and special tokens left out of summaries (measure's default). */
  exclusions: boolean;
}

export interface SweepPlan {
  format: typeof SWEEP_PLAN_FORMAT;
  version: 1;
  members: SweepMember[];
  prompts: SweepPrompts;
  options: SweepOptions;
  /** `--revisions all`: each model's branches as the Hub listed them when the plan was made. */
  branches?: Record<string, string[]>;
  /** Members left out because their weights are another member's (found when the plan was made, not by a --member task). */
  sameWeights?: SameWeightsMember[];
}

export function planPath(dir: string): string {
  return join(dir, SWEEP_PLAN_FILE);
}

export async function readPlan(dir: string): Promise<SweepPlan | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(planPath(dir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InputError(`cannot read ${quote(planPath(dir))}: ${(error as Error).message}`);
  }
  let plan: unknown;
  try {
    plan = parseJson(bytes.toString('utf8'));
  } catch {
    throw new InputError(`${quote(planPath(dir))} is not JSON; it is written by \`resid-norms sweep\`: delete it to start the sweep over`);
  }
  const candidate = plan as Partial<SweepPlan>;
  if (
    candidate.format !== SWEEP_PLAN_FORMAT ||
    candidate.version !== 1 ||
    !Array.isArray(candidate.members) ||
    typeof candidate.prompts?.sha256 !== 'string' ||
    typeof candidate.options !== 'object'
  ) {
    throw new InputError(
      `${quote(planPath(dir))} is not a sweep plan of this version (format ${quote(candidate.format ?? null)}, version ${quote(candidate.version ?? null)}); delete it to start the sweep over`,
    );
  }
  return candidate as SweepPlan;
}

/** What differs between two plans, in words, or undefined when they are the same sweep. */
export function planDifference(saved: SweepPlan, wanted: SweepPlan): string | undefined {
  if (saved.prompts.sha256 !== wanted.prompts.sha256)
    return `its prompt set is ${quote(saved.prompts.source)} (sha256 ${saved.prompts.sha256.slice(0, 12)}…), now ${quote(wanted.prompts.source)} (${wanted.prompts.sha256.slice(0, 12)}…)`;
  for (const key of Object.keys(wanted.options) as Array<keyof SweepOptions>) {
    if (JSON.stringify(saved.options[key]) !== JSON.stringify(wanted.options[key]))
      return `its ${key} was ${JSON.stringify(saved.options[key])}, now ${JSON.stringify(wanted.options[key])}`;
  }
  const specs = (plan: SweepPlan) => plan.members.map((member) => member.spec);
  if (JSON.stringify(specs(saved)) !== JSON.stringify(specs(wanted))) {
    const added = specs(wanted).filter((spec) => !specs(saved).includes(spec));
    const removed = specs(saved).filter((spec) => !specs(wanted).includes(spec));
    const parts = [
      ...(added.length > 0 ? [`adds ${added.slice(0, 3).join(', ')}${added.length > 3 ? ` (+${added.length - 3})` : ''}`] : []),
      ...(removed.length > 0 ? [`drops ${removed.slice(0, 3).join(', ')}${removed.length > 3 ? ` (+${removed.length - 3})` : ''}`] : []),
    ];
    return `its members differ (this run ${parts.join(' and ') || 'orders them differently'})`;
  }
  return undefined;
}

/**
 * Write the plan, or check it against the one the folder holds. Tasks of a job array all write
 * the same bytes, atomically, so concurrent first runs agree.
 */
export async function settlePlan(dir: string, wanted: SweepPlan): Promise<void> {
  const saved = await readPlan(dir);
  if (saved !== undefined) {
    const difference = planDifference(saved, wanted);
    if (difference !== undefined)
      throw new UsageError(`${quote(dir)} holds another sweep: ${difference}; give another --out folder, or delete ${quote(planPath(dir))} to start over`);
    return;
  }
  await writeFileAtomic(planPath(dir), `${JSON.stringify(wanted, null, 2)}\n`);
}
