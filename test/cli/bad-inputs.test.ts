/**
 * The battery of bad inputs for the commands that read results files (fit, plot, report,
 * merge) and for the program itself: each case asserts the exact exit code, a one-line
 * message naming the problem, no stack trace, and no output left behind. (measure's own
 * battery — flags, prompt files, model folders, the Hub — is in measure-cli.test.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../src/errors.js';
import { COMMANDS, findCommand } from '../../src/cli/command-catalog.js';
import type { MeasurementV1 } from '../../src/results/schema.js';
import { runCli } from '../support/run-cli.js';
import { syntheticMeasurement } from '../support/synthetic-measurement.js';

interface BadInput {
  name: string;
  /** Arguments; OUT stands for this case's output path. */
  args: string[];
  code: number;
  message: RegExp;
}

const copy = (m: MeasurementV1) => JSON.parse(JSON.stringify(m)) as MeasurementV1;

describe('bad inputs to fit, plot, report, merge', () => {
  // Created now: the case table below names files in it.
  const dir = mkdtempSync(join(tmpdir(), 'rn-bad-'));
  const file = (name: string) => join(dir, name);

  before(async () => {
    const good = syntheticMeasurement({ nLayers: 6, sequences: 4, tokensPerSequence: 6 });
    const write = (name: string, value: unknown) => writeFile(file(name), typeof value === 'string' ? value : JSON.stringify(value));
    await write('good.json', good);
    await write('not-json.json', '{oops');
    await write('other-format.json', { format: 'something/else', version: 1 });
    await write('version-9.json', { ...good, version: 9 });
    const wrongType = copy(good);
    (wrongType.sequences[1]!.norms.resid_pre![2] as unknown[])[1] = 'x';
    await write('wrong-type.json', wrongType);
    const zero = copy(good);
    for (const sequence of zero.sequences) for (const row of sequence.norms.resid_pre!) row.fill(0);
    await write('zero.json', zero);
    await write('two-layers.json', syntheticMeasurement({ nLayers: 2 }));
    const fewer = copy(good);
    fewer.sequences.pop();
    await write('count-mismatch.json', fewer);
    await mkdir(file('a-folder.json'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const cases: BadInput[] = [
    {
      name: 'fit: missing results file',
      args: ['fit', file('nope.json'), '--out', 'OUT'],
      code: ExitCode.badInput,
      message: /cannot read results file ".*nope\.json": no such file/,
    },
    {
      name: 'fit: a folder instead of a file',
      args: ['fit', file('a-folder.json'), '--out', 'OUT'],
      code: ExitCode.badInput,
      message: /a-folder\.json": it is a folder/,
    },
    { name: 'fit: not JSON', args: ['fit', file('not-json.json'), '--out', 'OUT'], code: ExitCode.badInput, message: /not-json\.json" is not JSON/ },
    {
      name: 'fit: another JSON format',
      args: ['fit', file('other-format.json'), '--out', 'OUT'],
      code: ExitCode.badInput,
      message: /is not a resid-norms results file \(format "something\/else"; expected format "resid-norms\/measurement"/,
    },
    {
      name: 'fit: unknown results version',
      args: ['fit', file('version-9.json'), '--out', 'OUT'],
      code: ExitCode.badInput,
      message: /has results version 9, which this resid-norms does not know; supported: 2 \(and 1\)/,
    },
    {
      name: 'fit: a value of the wrong type',
      args: ['fit', file('wrong-type.json'), '--out', 'OUT'],
      code: ExitCode.badInput,
      message: /sequences\[1\]\.norms\.resid_pre\[2\]\[1\]: .*expected number/,
    },
    {
      name: 'fit: sequences that do not match the prompt count',
      args: ['fit', file('count-mismatch.json'), '--out', 'OUT'],
      code: ExitCode.badInput,
      message: /has 3 sequences but prompts\.count says 4/,
    },
    {
      name: 'fit: norms of zero',
      args: ['fit', file('zero.json'), '--hook', 'resid_pre', '--out', 'OUT'],
      code: ExitCode.badInput,
      message: /resid_pre centered mean is not positive at layers 0, 1/,
    },
    {
      name: 'fit: unknown hook',
      args: ['fit', file('good.json'), '--hook', 'resid_mod', '--out', 'OUT'],
      code: ExitCode.usage,
      message: /unknown hook "resid_mod"; valid: resid_pre/,
    },
    {
      name: 'fit: layers outside the model',
      args: ['fit', file('good.json'), '--layers', '3:9', '--out', 'OUT'],
      code: ExitCode.usage,
      message: /layers 3:9 are outside .*valid: 0:5/,
    },
    {
      name: 'fit: fewer than three layers',
      args: ['fit', file('two-layers.json'), '--out', 'OUT'],
      code: ExitCode.usage,
      message: /give 2 layers; a growth fit needs at least 3/,
    },
    {
      name: 'fit: --expect without a range',
      args: ['fit', file('good.json'), '--expect', '1.2', '--out', 'OUT'],
      code: ExitCode.usage,
      message: /expected LO\.\.HI \(e\.g\. 1\.03\.\.1\.06\)/,
    },
    {
      name: 'fit: an output path that cannot be written',
      args: ['fit', file('good.json'), '--out', join(file('good.json'), 'fit.json')],
      code: ExitCode.usage,
      message: /cannot write ".*good\.json\/fit\.json": a file is in the way; choose another output path/,
    },
    { name: 'plot: no results files', args: ['plot', '--out', 'OUT'], code: ExitCode.usage, message: /no results files given/ },
    {
      name: 'plot: a figure that does not exist',
      args: ['plot', file('good.json'), '--figures', 'growth,nope', '--out', 'OUT'],
      code: ExitCode.usage,
      message: /unknown figure "nope"; valid: histograms, tokens, growth/,
    },
    {
      name: 'plot: a file that is not a results file',
      args: ['plot', file('other-format.json'), '--out', 'OUT'],
      code: ExitCode.badInput,
      message: /is not a resid-norms results file/,
    },
    {
      name: 'plot: --prompt out of range',
      args: ['plot', file('good.json'), '--figures', 'tokens', '--prompt', '9', '--out', 'OUT'],
      code: ExitCode.usage,
      message: /--prompt 9 is out of range .*valid: 0–3/,
    },
    {
      name: 'plot: an image format that does not exist',
      args: ['plot', file('good.json'), '--format', 'gif', '--out', 'OUT'],
      code: ExitCode.usage,
      message: /unknown format "gif"; valid: svg, png/,
    },
    {
      name: 'plot: an output folder that cannot be created',
      args: ['plot', file('good.json'), '--out', join(file('good.json'), 'plots')],
      code: ExitCode.usage,
      message: /cannot create output folder .*a file is in the way/,
    },
    { name: 'report: no results files', args: ['report', '--out', 'OUT'], code: ExitCode.usage, message: /no results files given/ },
    {
      name: 'report: a file of an unknown version',
      args: ['report', file('version-9.json'), '--out', 'OUT'],
      code: ExitCode.badInput,
      message: /has results version 9/,
    },
    {
      name: 'merge: a file that is not a shard',
      args: ['merge', file('good.json'), '--out', 'OUT'],
      code: ExitCode.badInput,
      message: /is not a shard file \(written without --shard\)/,
    },
    { name: 'merge: no --out', args: ['merge', file('good.json')], code: ExitCode.usage, message: /required option '-o, --out <file>' not specified/ },
    { name: 'an unknown command', args: ['frobnicate'], code: ExitCode.usage, message: /unknown command 'frobnicate'/ },
    { name: 'an unknown global flag', args: ['--verbose', 'fit', file('good.json')], code: ExitCode.usage, message: /unknown option '--verbose'/ },
  ];

  it('has cases for each command that reads results files (whose help term takes results or shards), and for no other', () => {
    const readers = COMMANDS.filter((entry) => /[<[](results|shards)\.\.\.[>\]]/.test(entry.term)).map((entry) => entry.name);
    const covered = new Set(cases.map((testCase) => testCase.args[0]!).filter((name) => findCommand(name) !== undefined));
    assert.deepEqual([...covered].sort(), readers.sort());
  });

  for (const testCase of cases) {
    it(`refuses ${testCase.name}`, async () => {
      const out = join(dir, `out-${testCase.name.replace(/\W+/g, '-')}`);
      const result = await runCli(testCase.args.map((arg) => (arg === 'OUT' ? out : arg)));
      assert.equal(result.code, testCase.code, result.stderr);
      const lines = result.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `one line expected:\n${result.stderr}`);
      assert.match(lines[0]!, /^resid-norms: /);
      assert.match(lines[0]!, testCase.message);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
      assert.equal(result.stdout, '');
      const left = await readdir(out).catch(() => undefined);
      assert.ok(left === undefined || left.length === 0, `nothing may be written to ${out}: ${left}`);
    });
  }
});
