/**
 * What a sweep asks the Hub when it makes its plan (not on a rerun, which takes the plan):
 *   - `--revisions all`: each model's branches, from the refs API (one call per model), in step
 *     order, so any checkpoint grid (Pythia's stepN, OLMo-2's stage1-stepN-tokensMB) is swept
 *     without a list written by hand;
 *   - each Hub member's listing (one call per member; the download reuses it), so members whose
 *     weight files have the same content hashes (LFS sha256) as another's are found before
 *     anything is measured: pythia-2.8b serves the same weights on 86 of its 154 branches
 *     (EleutherAI/pythia#205, #195). Such members are left out, with one warning per group: a
 *     copy of another checkpoint's weights says nothing about its own step. The one kept is the
 *     one with the largest step (the copies are of the final weights), else the first.
 * A repo that refuses every revision (not found, gated, private, a refused token) stops the
 * sweep here with one message, before anything is measured.
 */
import { UsageError, quote } from '../errors.js';
import type { Reporter } from '../messages/reporter.js';
import type { SameWeightsMember, SweepMember } from '../results/sweep-schema.js';
import { fetchListing, listBranches, type RevisionListing } from '../models/hub/hub-api.js';
import type { ListingCache } from '../models/hub/listing-cache.js';
import { hubClient } from '../models/hub/hub-download.js';
import { explainHubError, isRepoRefusal } from '../models/hub/hub-errors.js';
import { isUnreachable } from '../models/hub/hub-http-error.js';
import type { HubSettings } from '../models/hub/hub-settings.js';
import { parseModelSpec, revisionProblem } from '../models/resolve-model.js';

export interface HubPlanning {
  settings: HubSettings;
  reporter: Reporter;
  signal?: AbortSignal;
  /** Listings made here, handed on to each member's download. */
  listings: ListingCache;
}

const numeric = new Intl.Collator('en', { numeric: true });

/** Branches in the order a sweep measures them: names without a number first (main), then by their numbers (step2 < step10). */
export function orderBranches(names: readonly string[]): string[] {
  return [...names].sort((a, b) => Number(/\d/.test(a)) - Number(/\d/.test(b)) || numeric.compare(a, b));
}

/** Each model's branches, listed from the Hub (one call per model). */
export async function listSweepBranches(models: readonly string[], planning: HubPlanning): Promise<Record<string, string[]>> {
  const client = hubClient(planning.settings, planning.reporter, planning.signal);
  const branches: Record<string, string[]> = {};
  for (const model of models) {
    const source = await parseModelSpec(model);
    if (source.kind !== 'hub') throw new UsageError(`--revisions all lists the branches of a Hub repo; ${quote(model)} is a local folder`);
    let listed: Array<{ name: string }>;
    try {
      listed = await listBranches(client, source.repo);
    } catch (error) {
      throw explainHubError(error, {
        repo: source.repo,
        revision: 'all',
        endpoint: client.endpoint,
        ...(planning.settings.tokenSource ? { tokenSource: planning.settings.tokenSource } : {}),
      });
    }
    const usable = listed.map((branch) => branch.name).filter((name) => revisionProblem(name) === undefined);
    if (usable.length < listed.length)
      planning.reporter.warn(
        `--revisions all: ${listed.length - usable.length} branch name(s) of ${source.repo} are not valid revisions here and are left out`,
      );
    if (usable.length === 0) throw new UsageError(`--revisions all: ${quote(source.repo)} lists no branch; give the revisions by name`);
    branches[model] = orderBranches(usable);
  }
  return branches;
}

/** The content of a revision's weights: the sorted "name=hash" of every weight file; empty when it has none. */
export function weightsKey(listing: RevisionListing): string {
  return [...listing.files.values()]
    .filter((file) => /\.(safetensors|bin|pt|pth|ckpt)$/.test(file.path))
    .map((file) => `${file.path}=${file.sha256 ?? file.gitOid ?? `size ${file.size}`}`)
    .sort()
    .join('\n');
}

/**
 * The Hub members whose weights are another member's, listing each member once (the listings
 * stay in `planning.listings` for the downloads). Stops listing, with a warning, when the Hub
 * cannot be reached (the members are then measured as they are); a repo that refuses stops the
 * sweep with one message.
 */
export async function findSameWeights(members: readonly SweepMember[], planning: HubPlanning): Promise<SameWeightsMember[]> {
  const hub: Array<{ member: SweepMember; repo: string; revision: string }> = [];
  for (const member of members) {
    const source = await parseModelSpec(member.spec);
    if (source.kind === 'hub') hub.push({ member, repo: source.repo, revision: source.revision });
  }
  if (hub.length < 2) return [];
  const client = hubClient(planning.settings, planning.reporter, planning.signal);
  const byKey = new Map<string, SweepMember[]>();
  const progress = planning.reporter.progress('listing the members on the Hub', hub.length, 'items');
  try {
    for (const { member, repo, revision } of hub) {
      let listing: RevisionListing;
      try {
        listing = await fetchListing(client, repo, revision, '', planning.listings);
      } catch (error) {
        if (planning.signal?.aborted) throw error;
        const explained = explainHubError(error, {
          repo,
          revision,
          endpoint: client.endpoint,
          ...(planning.settings.tokenSource ? { tokenSource: planning.settings.tokenSource } : {}),
        });
        const ofRepo = hub.filter((entry) => entry.repo === repo).length;
        if (isRepoRefusal(error))
          throw Object.assign(explained, { message: `${explained.message} (${ofRepo} member${ofRepo === 1 ? '' : 's'} of the sweep; nothing was measured)` });
        if (isUnreachable(error)) {
          planning.reporter.warn(
            `the members could not be compared for identical weights (${explained.message.replace(/;.*$/, '')}); each is measured as it is`,
          );
          return [];
        }
        continue; // this member's own failure (a missing revision…) is reported when it is measured
      } finally {
        progress.tick(1);
      }
      const key = weightsKey(listing);
      if (key !== '') byKey.set(key, [...(byKey.get(key) ?? []), member]);
    }
  } finally {
    progress.done();
  }
  return groupsOfSameWeights(byKey, planning.reporter);
}

function groupsOfSameWeights(byKey: Map<string, SweepMember[]>, reporter: Reporter): SameWeightsMember[] {
  const left: SameWeightsMember[] = [];
  for (const [key, group] of byKey) {
    if (group.length < 2) continue;
    const kept = group.reduce((best, member) => ((member.step ?? -1) > (best.step ?? -1) ? member : best));
    const others = group.filter((member) => member !== kept);
    for (const member of others) left.push({ spec: member.spec, sameAs: kept.spec });
    const shown = others
      .slice(0, 3)
      .map((member) => quote(member.spec))
      .join(', ');
    const hash = key.split('\n').length === 1 ? ` (sha256 ${key.split('=')[1]!.slice(0, 12)}…)` : ` (${key.split('\n').length} weight files)`;
    reporter.warn(
      `${shown}${others.length > 3 ? ` and ${others.length - 3} more` : ''} ha${others.length === 1 ? 's' : 've'} the same weights as ${quote(kept.spec)}${hash}: measured once, as ${kept.spec}; left out of the sweep (listed in sweep-plan.json and sweep.json)`,
    );
  }
  return left;
}
