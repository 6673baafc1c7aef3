/**
 * One prompt reader for every command that runs prompts: measure, sweep and mechanisms read the
 * same sources (text, JSONL, .csv, .parquet, hf://datasets) with the same flags, and refuse a bad
 * source with the same words, before any model is loaded.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readMechanismsFile } from '../../src/results/read-mechanisms.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';
import { runCli } from '../support/run-cli.js';

describe('the prompt reader of measure, sweep and mechanisms', () => {
  let root: string;
  let model: string;
  let csv: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-prompt-reader-'));
    model = (await writeTinyGpt2(join(root, 'tiny-model'), { nLayers: 3, dModel: 16, nHeads: 2, nCtx: 32, seed: 4 })).dir;
    csv = join(root, 'prompts.csv');
    // A header, a quoted field with a comma and a newline, and a body column.
    await writeFile(csv, 'id,text,body\n1,"The river, wide and slow,\nran on",b1\n2,A second prompt here,b2\n3,And a third one,b3\n');
  });
  after(async () => rm(root, { recursive: true, force: true }));

  /** The command line of each command, refused before it loads the model when the prompts are bad. */
  const commands = (extra: string[]) => [
    ['measure', '--model', model, '--out', join(root, 'm.json'), ...extra],
    ['sweep', '--model', model, '-o', join(root, 'sweep'), ...extra],
    ['mechanisms', '--model', model, '--out', join(root, 'x.mechanisms.json'), '--samples', '5', ...extra],
  ];

  for (const [problem, extra, message] of [
    [
      'a text column the table does not have',
      ['--prompts', 'CSV', '--text-column', 'content'],
      /--text-column "content": ".*prompts\.csv" has no such column; its columns: id, text, body/,
    ],
    ['a sample larger than the table', ['--prompts', 'CSV', '--sample', '9'], /--sample 9 is more than the 3 prompts of ".*prompts\.csv"; valid: 1…3/],
    [
      'a table that is not there',
      ['--prompts', 'MISSING.parquet'],
      /cannot read prompt table ".*missing\.parquet" \(no such file\); give a \.parquet or \.csv file/,
    ],
    ['a dataset address without a name', ['--prompts', 'hf://datasets/nobody'], /hf:\/\/datasets\/nobody/],
  ] as const) {
    it(`refuses ${problem} with the same one line, whichever the command`, async () => {
      const args = extra.map((arg) => (arg === 'CSV' ? csv : arg === 'MISSING.parquet' ? join(root, 'missing.parquet') : arg));
      const errors: string[] = [];
      for (const line of commands(args)) {
        const run = await runCli(line);
        assert.notEqual(run.code, 0, `${line[0]}: ${run.stderr}`);
        assert.match(run.stderr, message, line[0]);
        errors.push(
          run.stderr
            .split('\n')
            .filter((text) => text.startsWith('resid-norms: '))
            .join('\n'),
        );
      }
      assert.equal(new Set(errors).size, 1, `the same words: ${errors.join(' | ')}`);
    });
  }

  it('mechanisms reads a CSV as a table (the header is no prompt), with --text-column, --limit and --sample', async () => {
    const out = join(root, 'csv.mechanisms.json');
    const run = await runCli(['-q', 'mechanisms', '--model', model, '--prompts', csv, '--samples', '5', '--out', out]);
    assert.equal(run.code, 0, run.stderr);
    let prompts = (await readMechanismsFile(out)).prompts;
    assert.equal(prompts.count, 3, 'three rows, not four lines');
    assert.match(prompts.source, /prompts\.csv \(column "text", all 3 rows\)$/);
    const body = await runCli([
      '-q',
      'mechanisms',
      '--model',
      model,
      '--prompts',
      csv,
      '--text-column',
      'body',
      '--limit',
      '2',
      '--samples',
      '5',
      '--out',
      out,
    ]);
    assert.equal(body.code, 0, body.stderr);
    prompts = (await readMechanismsFile(out)).prompts;
    assert.equal(prompts.count, 2);
    assert.match(prompts.source, /column "body", first 2 of 3\)/);
    // mechanisms has one --seed: it seeds --sample as well, and asks no --sample for itself.
    const sampled = await runCli(['-q', 'mechanisms', '--model', model, '--prompts', csv, '--sample', '2', '--seed', '3', '--samples', '5', '--out', out]);
    assert.equal(sampled.code, 0, sampled.stderr);
    assert.match((await readMechanismsFile(out)).prompts.source, /sample of 2 from 3 \(seed 3\)/);
  });
});
