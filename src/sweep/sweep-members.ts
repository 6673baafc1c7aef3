/**
 * The members of a sweep: models (`--models a,b`) times revisions (`--revisions r1,r2`, with
 * shorthands for Pythia's published checkpoints, and `all`: every branch of each model's repo,
 * listed from the Hub by src/sweep/sweep-revisions.ts), each with the spec `measure` resolves,
 * the id results name it by, its results file in the sweep folder, and its training step when
 * the revision names one (`stepN`, OLMo's `stepN-tokensMB`, OLMo-2's `stage1-stepN-tokensMB`). Pure: the same flags (and branch lists) always give the same members
 * in the same order.
 */
import { UsageError, quote } from '../errors.js';
import { modelSlug, revisionProblem } from '../models/resolve-model.js';
import type { SweepMember } from '../results/sweep-schema.js';

/** Most members of one sweep (a bound on the plan, like every numeric flag's range). */
export const MAX_MEMBERS = 10_000;

/** Pythia's 154 checkpoints: step0, step1, 2, 4 … 512, then every 1000 steps to 143000. */
export function pythiaCheckpoints(): string[] {
  const steps = [0, ...Array.from({ length: 10 }, (_, k) => 2 ** k), ...Array.from({ length: 143 }, (_, k) => (k + 1) * 1000)];
  return steps.map((step) => `step${step}`);
}

/**
 * 30 of them, spread evenly on a log axis of steps: step0, every power of two to 512, 1000·2^k
 * to 8000, every 10000 to 140000, and the last, 143000.
 */
export function pythiaLogCheckpoints(): string[] {
  const steps = [
    0,
    ...Array.from({ length: 10 }, (_, k) => 2 ** k),
    1000,
    2000,
    4000,
    8000,
    ...Array.from({ length: 14 }, (_, k) => (k + 1) * 10_000),
    143_000,
  ];
  return steps.map((step) => `step${step}`);
}

/** `--revisions all`: every branch of each model's repo, listed from the Hub when the plan is made. */
export const ALL_BRANCHES = 'all';

export const REVISION_SHORTHANDS: Record<string, { describe: string; revisions: () => string[] }> = {
  'pythia-all': { describe: "Pythia's 154 checkpoints (step0, step1…step512 by powers of two, step1000…step143000 every 1000)", revisions: pythiaCheckpoints },
  'pythia-log': {
    describe: '30 of them, even on a log axis (step0, powers of two to 512, 1000·2^k to 8000, every 10000, step143000)',
    revisions: pythiaLogCheckpoints,
  },
  [ALL_BRANCHES]: {
    describe: "every branch of each model's repo, listed from the Hub when the plan is made (main first, then stepN… in step order)",
    revisions: () => [ALL_BRANCHES],
  },
};

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** `--revisions` → revision names, shorthands expanded, duplicates dropped (first kept). */
export function parseRevisions(value: string): string[] {
  const names = splitList(value);
  if (names.length === 0)
    throw new UsageError(`--revisions ${quote(value)} names no revision; give e.g. step0,step1000 or ${Object.keys(REVISION_SHORTHANDS).join(' or ')}`);
  const revisions: string[] = [];
  for (const name of names) {
    const shorthand = REVISION_SHORTHANDS[name];
    if (shorthand) {
      revisions.push(...shorthand.revisions());
      continue;
    }
    const problem = revisionProblem(name);
    if (problem !== undefined)
      throw new UsageError(
        `--revisions: ${quote(name)} is not a valid revision (${problem}); give branches, tags, shas or stepN, or ${Object.keys(REVISION_SHORTHANDS).join(', ')}`,
      );
    revisions.push(name);
  }
  return [...new Set(revisions)];
}

export function parseModelList(value: string): string[] {
  const models = splitList(value);
  if (models.length === 0) throw new UsageError(`--models ${quote(value)} names no model; give e.g. gpt2,gpt2-medium or owner/name,./folder`);
  return [...new Set(models)];
}

/**
 * The training step a checkpoint revision names: Pythia's `stepN`, OLMo's `stepN-tokensMB`
 * (allenai/OLMo-1B-hf) and OLMo-2's pretraining `stage1-stepN-tokensMB`; null for any other
 * revision. OLMo-2's `stage2-ingredientK-stepN-tokensMB` branches are null too: each annealing
 * run counts its steps from 0 again, so they are not points on the pretraining steps' axis.
 * (Branch names as the model cards give them; the Hub cannot be reached from here to list them,
 * so this is a guess the README states. The tokens part is not checked.)
 */
export function stepOf(spec: string): number | null {
  const match = /@(?:stage1-)?step(\d{1,9})(?:-tokens\d+[KMBT]?)?$/.exec(spec);
  return match ? Number(match[1]) : null;
}

export interface PlanOptions {
  /** Each model's branches, for `all` in the revisions (src/sweep/sweep-revisions.ts lists them). */
  branches?: Readonly<Record<string, readonly string[]>>;
  /** Specs left out of the plan (members with the same weights as another). */
  exclude?: ReadonlySet<string>;
}

/** A model's revisions with `all` replaced by its branches, duplicates dropped (first kept). */
export function revisionsOf(model: string, revisions: readonly string[], branches: PlanOptions['branches']): string[] {
  if (!revisions.includes(ALL_BRANCHES)) return [...revisions];
  const listed = branches?.[model];
  if (listed === undefined) throw new Error(`planMembers: the branches of ${model} were not listed`);
  return [...new Set(revisions.flatMap((revision) => (revision === ALL_BRANCHES ? listed : [revision])))];
}

/** Models × revisions, in the order given (all revisions of the first model first). */
export function planMembers(models: readonly string[], revisions: readonly string[] | undefined, options: PlanOptions = {}): SweepMember[] {
  const specs: string[] = [];
  for (const model of models) {
    if (revisions === undefined) {
      specs.push(model);
      continue;
    }
    if (model.includes('@')) throw new UsageError(`--models ${quote(model)} already names a revision; with --revisions give the model without @revision`);
    if (/^[.~/]|\\/.test(model)) throw new UsageError(`--revisions applies to Hub models; ${quote(model)} is a local folder`);
    for (const revision of revisionsOf(model, revisions, options.branches)) specs.push(`${model}@${revision}`);
  }
  if (specs.length > MAX_MEMBERS)
    throw new UsageError(`the sweep has ${specs.length} members (models × revisions); at most ${MAX_MEMBERS}: split it into several sweeps`);
  const unique = [...new Set(specs.filter((spec) => !(options.exclude?.has(spec) ?? false)))];
  const slugs = unique.map((spec) => modelSlug(spec.replace(/^[.~/\\]+/, '').replace(/\/+$/, '')) || 'model');
  // One file per member, whatever the specs: names are compared without case (macOS and Windows
  // file systems ignore it), and a name a later member's own slug would take is never handed out.
  const taken = new Set<string>();
  const reserved = new Set(slugs.map((slug) => slug.toLowerCase()));
  return unique.map((spec, i) => {
    let name = slugs[i]!;
    for (let k = 2; taken.has(name.toLowerCase()) || (k > 2 && reserved.has(name.toLowerCase())); k += 1) name = `${slugs[i]}-${k}`;
    taken.add(name.toLowerCase());
    return { index: i + 1, spec, file: `members/${name}.json`, step: stepOf(spec) };
  });
}
