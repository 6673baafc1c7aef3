/**
 * A newcomer's first minutes, in a fresh clone: the README's Set up commands, run in order, print
 * what the README shows, write only into results/ (git-ignored), and leave `git status` clean —
 * with a file of the user's own in results/ too. npm ci and npm test are not run here (this is
 * the test suite; the clone borrows this checkout's node_modules and build): every other command
 * of the section is, as written, through npx, which must print no npm warning.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../src/package-paths.js';

/** The shell lines of the README's Set up section, in order. */
export function setUpCommands(readme: string): string[] {
  const section = readme.slice(readme.indexOf('## Set up'), readme.indexOf('\n## ', readme.indexOf('## Set up') + 1));
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((match) =>
    match[1]!
      .split('\n')
      .map((line) => line.replace(/\s+#.*$/, '').trim())
      .filter((line) => line !== ''),
  );
}

/** The text block the README says `measure` prints. */
function printedOutput(readme: string): string[] {
  const section = readme.slice(readme.indexOf('## Set up'));
  return /```text\n([\s\S]*?)```/.exec(section)![1]!.trimEnd().split('\n');
}

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' });

describe('the README, run in order in a fresh clone', () => {
  let clone: string;
  before(() => {
    clone = join(mkdtempSync(join(tmpdir(), 'rn-readme-')), 'resid-norms');
    git(PACKAGE_ROOT, 'clone', '--quiet', '--no-hardlinks', PACKAGE_ROOT, clone);
    // What `npm ci` makes, borrowed: each installed package linked (node_modules/ itself a real, ignored folder), and the build.
    mkdirSync(join(clone, 'node_modules'));
    for (const name of readdirSync(join(PACKAGE_ROOT, 'node_modules')))
      symlinkSync(join(PACKAGE_ROOT, 'node_modules', name), join(clone, 'node_modules', name));
    cpSync(join(PACKAGE_ROOT, 'dist'), join(clone, 'dist'), { recursive: true });
  });
  after(() => rmSync(join(clone, '..'), { recursive: true, force: true }));

  it('prints what the README shows, writes only into results/, and leaves git status clean after every command', () => {
    const readme = readFileSync(join(clone, 'README.md'), 'utf8');
    const commands = setUpCommands(readme).flatMap((line) => line.split(' && '));
    assert.ok(commands.includes('npx resid-norms measure') && commands.some((line) => line.startsWith('npx resid-norms report')), commands.join('\n'));
    mkdirSync(join(clone, 'results'));
    writeFileSync(join(clone, 'results', 'my-notes.json'), '{"mine": true}\n'); // a user's own file stays where it is, ignored
    for (const command of commands) {
      if (command === 'npm ci' || command === 'npm test') continue;
      const run = spawnSync('sh', ['-c', command], { cwd: clone, encoding: 'utf8', env: { ...process.env, HF_HUB_OFFLINE: '1' }, timeout: 180_000 });
      assert.equal(run.status, 0, `${command}\n${run.stderr}`);
      assert.doesNotMatch(run.stderr, /npm warn/i, `${command} makes npm warn`);
      assert.equal(git(clone, 'status', '--porcelain'), '', `git status after ${command}`);
      if (command === 'npx resid-norms measure') {
        const shown = printedOutput(readme);
        const printed = [
          ...run.stderr.split('\n').filter((line) => line.startsWith('no --model')),
          ...run.stdout.trimEnd().split('\n'),
          ...run.stderr.split('\n').filter((line) => line.startsWith('wrote ')),
        ];
        // All but the speed, which is the machine's.
        const speed = (line: string) => line.replace(/\d+ tokens\/s/, 'N tokens/s');
        assert.deepEqual(printed.map(speed), shown.map(speed), 'the README shows what measure prints');
      }
    }
    assert.deepEqual(readdirSync(join(clone, 'results')).sort(), [
      'demo-gpt2.json',
      'demo-gpt2.prompts.parquet',
      'demo-gpt2.tokens.parquet',
      'demo-gpt2.weights.json',
      'my-notes.json',
      'report',
    ]);
  });
});
