/** Issue 15: sweep members (models × revisions) and Pythia's checkpoint shorthands. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { parseModelSpec } from '../../src/models/resolve-model.js';
import { parseRevisions, planMembers, pythiaCheckpoints, pythiaLogCheckpoints } from '../../src/sweep/sweep-members.js';

describe('sweep members', () => {
  it("pythia-all is exactly Pythia's 154 published checkpoints", () => {
    const expected = new Set(['step0', 'step1', 'step2', 'step4', 'step8', 'step16', 'step32', 'step64', 'step128', 'step256', 'step512']);
    for (let step = 1000; step <= 143_000; step += 1000) expected.add(`step${step}`);
    const revisions = parseRevisions('pythia-all');
    assert.equal(revisions.length, 154);
    assert.deepEqual(new Set(revisions), expected);
    assert.deepEqual(revisions, pythiaCheckpoints());
  });

  it('pythia-log is 30 of them, ordered by step, first and last included', () => {
    const all = new Set(pythiaCheckpoints());
    const log = pythiaLogCheckpoints();
    assert.equal(log.length, 30);
    assert.ok(log.every((revision) => all.has(revision)));
    const steps = log.map((revision) => Number(revision.slice(4)));
    assert.deepEqual(
      steps,
      [...steps].sort((a, b) => a - b),
    );
    assert.equal(log[0], 'step0');
    assert.equal(log.at(-1), 'step143000');
  });

  it('mixes shorthands and names, drops repeats, and refuses a bad revision naming it', () => {
    assert.deepEqual(parseRevisions('step3000, step0,step3000'), ['step3000', 'step0']);
    assert.equal(parseRevisions('pythia-log,step3000').length, 31);
    assert.throws(
      () => parseRevisions('step0,../x'),
      (error: unknown) => error instanceof UsageError && /"\.\.\/x" is not a valid revision/.test(error.message),
    );
    assert.throws(() => parseRevisions(' , '), UsageError);
  });

  it('plans models × revisions with steps, one results file each', () => {
    const members = planMembers(['pythia-70m', 'EleutherAI/pythia-160m'], ['step0', 'step1000']);
    assert.deepEqual(
      members.map((member) => [member.index, member.spec, member.file, member.step]),
      [
        [1, 'pythia-70m@step0', 'members/pythia-70m-step0.json', 0],
        [2, 'pythia-70m@step1000', 'members/pythia-70m-step1000.json', 1000],
        [3, 'EleutherAI/pythia-160m@step0', 'members/EleutherAI--pythia-160m-step0.json', 0],
        [4, 'EleutherAI/pythia-160m@step1000', 'members/EleutherAI--pythia-160m-step1000.json', 1000],
      ],
    );
    assert.deepEqual(
      planMembers(['gpt2', 'gpt2-medium'], undefined).map((member) => member.step),
      [null, null],
    );
    assert.throws(() => planMembers(['gpt2@main'], ['step0']), /already names a revision/);
    assert.throws(() => planMembers(['./folder'], ['step0']), /local folder/);
  });

  it("plans `all` from each model's listed branches, and leaves out the excluded specs, numbering the rest", () => {
    assert.deepEqual(parseRevisions('all,step0'), ['all', 'step0']);
    const members = planMembers(['o/a', 'o/b'], ['all', 'v1'], { branches: { 'o/a': ['main', 'step0'], 'o/b': ['main'] }, exclude: new Set(['o/a@main']) });
    assert.deepEqual(
      members.map((member) => [member.index, member.spec, member.step]),
      [
        [1, 'o/a@step0', 0],
        [2, 'o/a@v1', null],
        [3, 'o/b@main', null],
        [4, 'o/b@v1', null],
      ],
    );
    assert.throws(() => planMembers(['o/a'], ['all']), /branches of o\/a were not listed/);
  });

  it("reads the step of OLMo's and OLMo-2's checkpoint branches; OLMo-2's annealing (stage 2) branches have none", () => {
    const branches = [
      'main',
      'stage1-step0-tokens0B',
      'stage1-step1000-tokens3B',
      'stage1-step1907359-tokens4001B',
      'stage2-ingredient1-step1000-tokens3B',
      'step20000-tokens84B',
      'step1000-tokensstep',
      'xstep5',
    ];
    const members = planMembers(['allenai/OLMo-2-0425-1B'], ['all'], { branches: { 'allenai/OLMo-2-0425-1B': branches } });
    assert.deepEqual(
      members.map((member) => member.step),
      [null, 0, 1000, 1907359, null, 20000, null, null],
    );
  });

  it('an alias takes a revision: pythia-160m@step1000 is EleutherAI/pythia-160m at step1000', async () => {
    assert.deepEqual(await parseModelSpec('pythia-160m@step1000'), {
      kind: 'hub',
      repo: 'EleutherAI/pythia-160m',
      revision: 'step1000',
      id: 'pythia-160m@step1000',
    });
    await assert.rejects(parseModelSpec('pythia-160m@../x'), UsageError);
  });

  it('gives every member its own results file, whatever the specs (case, ./ prefixes, slugs that look numbered)', () => {
    for (const specs of [
      ['m', './m', 'm-2'],
      ['M', 'm', './m', 'm-2', 'm-3'],
      ['a/b', 'a--b', './a--b', 'a/b@main'],
      ['/x/model', '/y/model', './model', 'model', 'MODEL', 'model-2'],
    ]) {
      const files = planMembers(specs, undefined).map((member) => member.file.toLowerCase());
      assert.equal(new Set(files).size, specs.length, `${specs.join(', ')} → ${files.join(', ')}`);
    }
    // Names without a clash stay as they were.
    assert.deepEqual(
      planMembers(['gpt2', 'gpt2-medium'], undefined).map((member) => member.file),
      ['members/gpt2.json', 'members/gpt2-medium.json'],
    );
  });
});
