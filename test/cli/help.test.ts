/** Help that teaches: a bare `resid-norms` prints the help; every --help ends with real examples, marks required options and prints defaults as they are typed. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildProgram } from '../../src/cli/program.js';
import { COMMANDS, FIRST_EXAMPLES } from '../../src/cli/command-catalog.js';
import { processIo } from '../../src/cli/cli-io.js';
import { describeOption, formatDefault } from '../../src/cli/help-format.js';
import { Option } from 'commander';
import { runCli } from '../support/run-cli.js';

/** The words of an example command line after `resid-norms <command>`: env assignments and the comment left out. */
function exampleArgs(example: string): { command: string; args: string[] } {
  const words = example
    .replace(/\s+#.*$/, '')
    .trim()
    .split(/\s+/)
    .filter((word) => !/^[A-Z_]+=/.test(word));
  assert.equal(words[0], 'resid-norms', example);
  return { command: words[1] ?? '', args: words.slice(2) };
}

describe('help', () => {
  for (const args of [[], ['--quiet']]) {
    it(`\`resid-norms ${args.join(' ')}\` prints the help on stdout and exits 0, naming nothing internal`, async () => {
      const run = await runCli(args);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, '');
      assert.match(run.stdout, /^Usage: resid-norms/);
      assert.doesNotMatch(run.stdout + run.stderr, /outputHelp|commander\./);
      assert.ok(run.stdout.trimEnd().endsWith(FIRST_EXAMPLES.at(-1)!), 'the help ends with where to start');
    });
  }

  for (const entry of COMMANDS) {
    it(`${entry.name} --help ends with two or three examples whose flags its parser accepts`, async () => {
      const run = await runCli([entry.name, '--help']);
      assert.equal(run.code, 0, run.stderr);
      const expected = ['Examples:', ...entry.examples.map((example) => `  ${example}`)].join('\n');
      assert.ok(run.stdout.trimEnd().endsWith(expected), `${entry.name} --help ends with:\n${expected}\ngot:\n${run.stdout.slice(-400)}`);
      assert.ok(entry.examples.length >= 2 && entry.examples.length <= 3, `${entry.name} has ${entry.examples.length} examples`);
      for (const example of entry.examples) {
        const { command, args } = exampleArgs(example);
        assert.equal(command, entry.name, example);
        const program = await buildProgram([entry.name], processIo());
        const subcommand = program.commands.find((candidate) => candidate.name() === entry.name)!;
        const parsed = subcommand.parseOptions(args);
        assert.deepEqual(parsed.unknown, [], `${example}: unknown flags`);
      }
      // Defaults as typed: never JSON (quoted strings, lists in brackets), never an off switch's false.
      assert.doesNotMatch(run.stdout, /default: ["[]|default: false/);
      assert.doesNotMatch(run.stdout, /choices: /);
    });
  }

  it('marks required options', async () => {
    for (const name of ['plot', 'report', 'merge', 'sweep']) {
      const run = await runCli([name, '--help']);
      // The option's description runs from its flag to the next line that starts a flag.
      const out = run.stdout.split(/\n(?=\s{2}-)/).find((block) => /^\s*(-o, )?--out /.test(block)) ?? '';
      assert.match(out.replace(/\s+/g, ' '), /\(required[;)]/, `${name} --help marks --out required: ${out}`);
    }
  });

  it('prints a default the way it is typed', () => {
    assert.equal(formatDefault(['svg', 'png']), 'svg,png');
    assert.equal(formatDefault('cpu'), 'cpu');
    assert.equal(formatDefault(1000), '1000');
    assert.equal(describeOption(new Option('--format <list>', 'image formats').default(['svg'])), 'image formats (default: svg)');
    assert.equal(describeOption(new Option('--refresh', 'ask again').default(false)), 'ask again');
    assert.equal(
      describeOption(new Option('--stat <s>', 'statistic').choices(['mean', 'median']).default('mean')),
      'statistic (one of: mean, median; default: mean)',
    );
    assert.equal(describeOption(new Option('-o, --out <dir>', 'folder').makeOptionMandatory()), 'folder (required)');
    assert.equal(describeOption(new Option('--hooks <list>', 'hooks (default: all)').default(['a'])), 'hooks (default: all)');
  });
});
