/**
 * The repos of the reference analysis as the Hub lays them out (test/support/seed-repos.ts),
 * measured end to end through the fake Hub: `measure --model opt-125m` (an alias, a
 * pytorch_model.bin and a vocab.json + merges.txt tokenizer), a Pythia-12b-like checkpoint
 * branch of three .bin shards, a Pythia-1.4b-like branch of two safetensors shards, and GPT-2
 * with both formats. Each downloads only the files it needs and gives the norms of the
 * plain-TypeScript reference.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hubDownloadSize } from '../../src/models/hub/download-size.js';
import { readHubSettings } from '../../src/models/hub/hub-settings.js';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { FakeHub } from '../support/fake-hub.js';
import { readMeasured } from '../support/measured.js';
import type { HookNorms } from '../support/reference-ops.js';
import { referenceGpt2 } from '../support/reference-gpt2.js';
import { referenceGptNeox } from '../support/reference-gpt-neox.js';
import { referenceOpt } from '../support/reference-opt.js';
import { runCli } from '../support/run-cli.js';
import {
  CHECKPOINT_BRANCH,
  expectedDownloads,
  GPT2_REPO,
  OPT_REPO,
  PYTHIA_12B_REPO,
  PYTHIA_1_4B_REPO,
  writeSeedRepos,
  type SeedRepos,
} from '../support/seed-repos.js';
import type { TinyModel } from '../support/tiny-model.js';
import { OPT_BOS_ID, optByteId } from '../support/tiny-opt.js';

const PROMPTS = ['Hello world', 'The residual stream grows.'];
const bytes = (text: string) => [...Buffer.from(text, 'utf8')];

interface Case {
  model: string;
  /** The seed model (repo@revision) it must measure. */
  label: string;
  reference: (tiny: TinyModel, ids: number[]) => HookNorms;
  ids: (text: string) => number[];
  weights: 'safetensors' | 'pytorch';
}

const CASES: Case[] = [
  {
    model: 'opt-125m',
    label: `${OPT_REPO}@main`,
    reference: (t, ids) => referenceOpt(t.weights, t.config, ids),
    ids: (text) => [OPT_BOS_ID, ...bytes(text).map(optByteId)],
    weights: 'pytorch',
  },
  {
    model: `${PYTHIA_12B_REPO}@${CHECKPOINT_BRANCH}`,
    label: `${PYTHIA_12B_REPO}@${CHECKPOINT_BRANCH}`,
    reference: (t, ids) => referenceGptNeox(t.weights, t.config, ids),
    ids: (text) => [256, ...bytes(text)],
    weights: 'pytorch',
  },
  {
    model: `${PYTHIA_1_4B_REPO}@${CHECKPOINT_BRANCH}`,
    label: `${PYTHIA_1_4B_REPO}@${CHECKPOINT_BRANCH}`,
    reference: (t, ids) => referenceGptNeox(t.weights, t.config, ids),
    ids: (text) => [256, ...bytes(text)],
    weights: 'safetensors',
  },
  {
    model: 'gpt2',
    label: `${GPT2_REPO}@main`,
    reference: (t, ids) => referenceGpt2(t.weights, t.config, ids),
    ids: (text) => [256, ...bytes(text)],
    weights: 'safetensors',
  },
];

describe('the seed repos as the Hub lays them out, measured through the fake Hub', () => {
  let root: string;
  let hub: FakeHub;
  let seeds: SeedRepos;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-seed-repos-'));
    seeds = await writeSeedRepos(join(root, 'repos'));
    hub = new FakeHub();
    for (const [name, repo] of seeds.repos) hub.repos.set(name, repo);
    await hub.start();
    await writeFile(join(root, 'prompts.txt'), `${PROMPTS.join('\n')}\n`);
  });
  after(async () => {
    await hub.stop();
    await rm(root, { recursive: true, force: true });
  });

  for (const testCase of CASES) {
    it(`measure --model ${testCase.model}: only the ${testCase.weights} weights are downloaded, and the norms are the reference's`, async () => {
      hub.log.length = 0;
      const out = join(root, 'out', `${testCase.model.replace(/\W+/g, '-')}.json`);
      const result = await runCli(['measure', '--model', testCase.model, '--prompts', join(root, 'prompts.txt'), '--out', out, '--quiet'], {
        env: { HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(root, 'cache') },
      });
      assert.equal(result.code, 0, result.stderr);

      const [repo] = testCase.label.split('@') as [string];
      const fetched = [
        ...new Set(hub.log.filter((request) => request.url.includes('/resolve/')).map((request) => request.url.replace(/^.*\/resolve\/[^/]+\//, ''))),
      ].sort();
      assert.deepEqual(fetched, await expectedDownloads(join(root, 'repos'), testCase.label), `files fetched from ${repo}`);
      assert.ok(fetched.every((name) => (testCase.weights === 'safetensors' ? !name.endsWith('.bin') : !name.endsWith('.safetensors'))));

      const measured = await readMeasured(out);
      const tiny = seeds.models.get(testCase.label)!;
      assert.deepEqual(
        measured.sequences.map((sequence) => sequence.ids),
        PROMPTS.map(testCase.ids),
        'tokenized as the repo’s tokenizer does, BOS once',
      );
      let worst = 0;
      for (const sequence of measured.sequences) {
        const reference = testCase.reference(tiny, sequence.ids);
        for (const hook of measured.hooks) {
          for (const [table, metric] of [
            [sequence.norms, 'centered'],
            [sequence.rawNorms, 'raw'],
          ] as const) {
            table[hook]!.forEach((row, layer) =>
              row.forEach(
                (value, position) =>
                  (worst = Math.max(worst, Math.abs(value - reference[hook][metric][layer]![position]!) / reference[hook][metric][layer]![position]!)),
              ),
            );
          }
        }
      }
      assert.ok(worst < 1e-4 && worst > 0, `max relative error against the reference ${worst}`);
      process.stdout.write(`# ${testCase.model}: max relative error ${worst.toExponential(2)}\n`);
    });
  }

  it('resid-norms models sizes the download of each seed repo as the files measure fetches', async () => {
    const settings = readHubSettings({ HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(root, 'cache-sizes') });
    for (const label of [`${OPT_REPO}@main`, `${PYTHIA_12B_REPO}@${CHECKPOINT_BRANCH}`, `${PYTHIA_1_4B_REPO}@${CHECKPOINT_BRANCH}`, `${GPT2_REPO}@main`]) {
      const [repo, revision] = label.split('@') as [string, string];
      const files = revision === 'main' ? seeds.repos.get(repo)!.files : seeds.repos.get(repo)!.revisions![revision]!.files;
      const expected = (await expectedDownloads(join(root, 'repos'), label)).reduce((total, name) => total + files.get(name)!.length, 0);
      assert.equal(await hubDownloadSize(repo, revision, settings, createSilentReporter()), expected, label);
    }
  });

  it('the checkpoint branch is not main: step3000 measures other weights', async () => {
    const step = seeds.models.get(`${PYTHIA_12B_REPO}@${CHECKPOINT_BRANCH}`)!;
    const main = seeds.models.get(`${PYTHIA_12B_REPO}@main`)!;
    const ids = [256, ...bytes(PROMPTS[0]!)];
    const [a, b] = [referenceGptNeox(step.weights, step.config, ids), referenceGptNeox(main.weights, main.config, ids)];
    assert.notDeepEqual(a.resid_post.centered, b.resid_post.centered);
  });
});
