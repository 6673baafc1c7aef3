/**
 * The CI recipe cannot rot: parse action.yml, take the inputs of the example workflow in
 * docs/ci.md, and run every `run:` step locally, in order, as GitHub's runner would (bash -eo
 * pipefail, inputs through env, a temporary GITHUB_STEP_SUMMARY), on the embedded demo model.
 * `uses:` steps are GitHub's actions: checked to be the expected ones, then skipped.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DOMParser } from '@xmldom/xmldom';
import { parse } from 'yaml';
import { PACKAGE_ROOT } from '../../src/package-paths.js';

interface Step {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  with?: Record<string, unknown>;
  shell?: string;
  env?: Record<string, string>;
  run?: string;
}

interface Action {
  inputs: Record<string, { default?: string }>;
  runs: { using: string; steps: Step[] };
}

interface Workflow {
  jobs: Record<string, { steps: Step[] }>;
}

/** The GitHub actions the recipe relies on, in order. */
const EXPECTED_USES = ['actions/setup-node@v4', 'actions/cache@v4', 'actions/upload-artifact@v4'];

/** `${{ … }}` of the contexts a run step may use here; anything else fails the test rather than run wrong. */
function evaluate(text: string, contexts: Record<string, string>): string {
  return text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expression: string) => {
    const value = contexts[expression];
    if (value === undefined) throw new Error(`action.yml uses \${{ ${expression} }}, which this test cannot evaluate`);
    return value;
  });
}

function runBash(script: string, env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    // What GitHub runs for `shell: bash`.
    const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

describe('action.yml, run locally with the inputs of docs/ci.md', () => {
  let action: Action;
  let inputs: Record<string, string>;
  let workspace: string;
  let summaryFile: string;
  const outcomes: Array<{ name: string; code: number; output: string }> = [];

  async function runStep(step: Step, stepInputs: Record<string, string>): Promise<{ code: number; output: string }> {
    const contexts: Record<string, string> = {
      'github.action_path': PACKAGE_ROOT,
      'github.workspace': workspace,
      'runner.os': 'Linux',
      'runner.temp': join(workspace, '.runner-temp'),
      ...Object.fromEntries(Object.entries(stepInputs).map(([name, value]) => [`inputs.${name}`, value])),
    };
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...Object.fromEntries(Object.entries(step.env ?? {}).map(([name, value]) => [name, evaluate(String(value), contexts)])),
      GITHUB_ACTION_PATH: PACKAGE_ROOT,
      GITHUB_WORKSPACE: workspace,
      GITHUB_STEP_SUMMARY: summaryFile,
      GITHUB_OUTPUT: join(workspace, '.github-output'),
      // The demo model is embedded: nothing may be downloaded.
      HF_HUB_OFFLINE: '1',
    };
    return runBash(evaluate(step.run!, contexts), env, workspace);
  }

  before(async () => {
    action = parse(await readFile(join(PACKAGE_ROOT, 'action.yml'), 'utf8')) as Action;
    const docs = await readFile(join(PACKAGE_ROOT, 'docs', 'ci.md'), 'utf8');
    const workflow = parse(/```yaml\n([\s\S]*?)```/.exec(docs)![1]!) as Workflow;
    const step = Object.values(workflow.jobs)
      .flatMap((job) => job.steps)
      .find((entry) => entry.uses === './' || /\/resid-norms@/.test(entry.uses ?? ''));
    assert.ok(step?.with !== undefined, "docs/ci.md's first workflow has a step that uses the action with inputs");
    const defaults = Object.fromEntries(Object.entries(action.inputs).map(([name, input]) => [name, input.default ?? '']));
    inputs = { ...defaults, ...Object.fromEntries(Object.entries(step.with).map(([name, value]) => [name, String(value)])) };
    assert.equal(inputs.model, '', 'the documented example measures the embedded demo model');

    workspace = await mkdtemp(join(tmpdir(), 'rn-action-'));
    summaryFile = join(workspace, '.step-summary.md');
    await writeFile(summaryFile, '');
    for (const step of action.runs.steps) {
      if (step.run === undefined) continue;
      outcomes.push({ name: step.name ?? step.id ?? '?', ...(await runStep(step, inputs)) });
    }
  });
  after(() => rm(workspace, { recursive: true, force: true }));

  it('is a composite action whose `uses:` steps are the expected GitHub actions, and whose inputs are all documented', async () => {
    assert.equal(action.runs.using, 'composite');
    assert.deepEqual(
      action.runs.steps.flatMap((step) => (step.uses === undefined ? [] : [step.uses])),
      EXPECTED_USES,
    );
    const cache = action.runs.steps.find((step) => step.uses === 'actions/cache@v4')!;
    assert.equal(cache.with?.path, '~/.cache/huggingface/hub', 'the Hugging Face cache, where measure keeps models');
    const upload = action.runs.steps.find((step) => step.uses === 'actions/upload-artifact@v4')!;
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a template
    assert.equal(upload.with?.path, '${{ inputs.out-dir }}');
    for (const step of action.runs.steps) if (step.run !== undefined) assert.equal(step.shell, 'bash', `${step.name}: shell`);
    const docs = await readFile(join(PACKAGE_ROOT, 'docs', 'ci.md'), 'utf8');
    for (const name of Object.keys(action.inputs)) assert.ok(docs.includes(`| \`${name}\` |`), `input ${name} documented in docs/ci.md`);
  });

  it('runs every `run:` step in order with exit code 0', () => {
    assert.deepEqual(
      outcomes.map(({ name }) => name),
      ['Install resid-norms', 'Measure', 'Weight norms', 'Gate on the growth rate', 'Report', 'Job summary'],
    );
    for (const { name, code, output } of outcomes) assert.equal(code, 0, `${name} failed:\n${output}`);
  });

  it('leaves results, the fit, the JUnit gate and the report in out-dir, and the summary in the job summary', async () => {
    const out = join(workspace, inputs['out-dir']!);
    assert.deepEqual((await readdir(out)).sort(), [
      'fit-junit.xml',
      'fit.json',
      'measurement.json',
      'measurement.prompts.parquet',
      'measurement.tokens.parquet',
      'report',
      'weights.json',
    ]);
    assert.ok(existsSync(join(out, 'report', 'index.html')));
    assert.equal((await readdir(join(out, 'report', 'figures'))).length, 11, 'every figure, weights included');
    const junit = new DOMParser().parseFromString(await readFile(join(out, 'fit-junit.xml'), 'utf8'), 'text/xml');
    const suites = junit.getElementsByTagName('testsuites')[0]!;
    assert.deepEqual([suites.getAttribute('tests'), suites.getAttribute('failures')], ['1', '0']);
    const name = /^(\S+) .* in ([\d.]+)\.\.([\d.]+)$/.exec(junit.getElementsByTagName('testcase')[0]!.getAttribute('name')!);
    assert.deepEqual([name?.[1], Number(name?.[2]), Number(name?.[3])], [inputs.hooks, ...inputs.expect!.split('..').map(Number)]);
    const summary = await readFile(summaryFile, 'utf8');
    assert.equal(summary, await readFile(join(out, 'report', 'summary.md'), 'utf8'));
    assert.match(summary, /^## Residual stream norms/);
  });

  it('fails the gate step, with a JUnit failure, when the growth is outside expect', async () => {
    const gate = action.runs.steps.find((step) => step.name === 'Gate on the growth rate')!;
    const result = await runStep(gate, { ...inputs, expect: '2..3' });
    assert.equal(result.code, 1, result.output);
    assert.match(result.output, /growth outside --expect 2\.\.3/);
    const junit = await readFile(join(workspace, inputs['out-dir']!, 'fit-junit.xml'), 'utf8');
    assert.match(junit, /<testsuites name="resid-norms fit" tests="1" failures="1"/);
  });
});
