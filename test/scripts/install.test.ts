/**
 * Install anywhere: the packed package installs globally with the network out of reach and no
 * flag — npm pointed at a registry on 127.0.0.1 that serves only what the local npm cache holds
 * (test/support/fake-registry.ts) — runs no install script that fetches CUDA files, and
 * `resid-norms measure` and `report` work from an empty folder.
 *
 * The package is staged as `npm pack` makes it (the `files` of package.json, and vendor/ with
 * ONNX Runtime), except that vendor/ holds only this machine's platform: the libraries of the
 * other four platforms (240 MB) would only make the test slower.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../src/package-paths.js';
import { FakeRegistry, npmCacheFolder } from '../support/fake-registry.js';

/** Hard links (a copy where that fails) of every file under `from`, into `to`. */
function linkTree(from: string, to: string): void {
  if (statSync(from).isFile()) {
    mkdirSync(dirname(to), { recursive: true });
    try {
      linkSync(from, to);
    } catch {
      cpSync(from, to);
    }
    return;
  }
  for (const entry of readdirSync(from)) linkTree(join(from, entry), join(to, entry));
}

/** Runs a command without blocking this process (which serves the registry it asks). */
function run(command: string, args: string[], options: { env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** A closed port: any request that is not for the registry fails at once. */
const NOWHERE = 'http://127.0.0.1:9';

describe('npm i -g of the packed package, without network', () => {
  let root: string;
  let registry: FakeRegistry;
  let prefix: string;
  let npmOutput = '';
  let skip: string | undefined;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'rn-install-'));
    registry = new FakeRegistry(join(PACKAGE_ROOT, 'package-lock.json'), npmCacheFolder());
    const missing = registry.missingTarballs();
    if (missing.length > 0) {
      skip = `the npm cache lacks ${missing.length} packages (e.g. ${missing[0]}): run npm ci first`;
      return;
    }
    // The package as npm pack would make it, ONNX Runtime vendored for this platform only.
    const stage = join(root, 'stage');
    const manifest = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { files: string[] };
    for (const entry of [...manifest.files.filter((file) => file !== 'vendor'), 'package.json', 'README.md']) {
      if (existsSync(join(PACKAGE_ROOT, entry))) linkTree(join(PACKAGE_ROOT, entry), join(stage, entry));
    }
    execFileSync(process.execPath, [
      join(PACKAGE_ROOT, 'scripts', 'vendor-onnxruntime.mjs'),
      stage,
      `--platforms=${process.platform}/${process.arch}`,
      `--from=${join(PACKAGE_ROOT, 'node_modules', 'onnxruntime-node')}`,
    ]);
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', root], { cwd: stage, encoding: 'utf8' }),
    ) as Array<{ filename: string }>;
    const tarball = join(root, packed[0]!.filename);

    await registry.start();
    prefix = join(root, 'prefix');
    // npm asks only the stand-in; onnxruntime-node's install script, were it run, would fetch through
    // global-agent's proxy, a closed port (and fail at once rather than download CUDA files).
    const env = { ...process.env, GLOBAL_AGENT_HTTP_PROXY: NOWHERE, GLOBAL_AGENT_HTTPS_PROXY: NOWHERE, npm_config_registry: registry.url };
    const install = await run(
      'npm',
      ['install', '--global', '--prefix', prefix, tarball, '--cache', join(root, 'npm-cache'), '--no-audit', '--no-fund', '--no-update-notifier'],
      { env, timeoutMs: 300_000 },
    );
    npmOutput = install.output;
    assert.equal(install.code, 0, npmOutput);
  });
  after(async () => {
    await registry.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('installs with no flag and fetches no CUDA file: ONNX Runtime is the vendored copy, without its install script', (t) => {
    if (skip !== undefined) return t.skip(skip);
    const installed = join(prefix, 'lib', 'node_modules', 'resid-norms');
    assert.ok(
      existsSync(join(installed, 'vendor', 'onnxruntime-node', 'bin', 'napi-v6', process.platform, process.arch)),
      'the CPU libraries of this platform are there',
    );
    assert.equal(
      existsSync(join(installed, 'node_modules', 'onnxruntime-node')),
      false,
      'onnxruntime-node (and its install script) is not installed as a dependency',
    );
    assert.equal(JSON.parse(readFileSync(join(installed, 'vendor', 'onnxruntime-node', 'package.json'), 'utf8')).scripts, undefined);
    const cuda = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? cuda(join(dir, entry.name)) : /providers_cuda/.test(entry.name) ? [join(dir, entry.name)] : [],
      );
    assert.deepEqual(cuda(installed), []);
    assert.doesNotMatch(npmOutput, /Downloading|nuget|onnxruntime-node-install/i);
    assert.ok(
      registry.requests.some((path) => path.startsWith('/-/tarballs/onnxruntime-common/')),
      'the dependencies came from the registry stand-in',
    );
    assert.ok(!registry.requests.some((path) => path.startsWith('/-/tarballs/onnxruntime-node/')), 'onnxruntime-node itself was not fetched');
  });

  it('runs measure and report from an empty folder', (t) => {
    if (skip !== undefined) return t.skip(skip);
    const folder = join(root, 'empty');
    mkdirSync(folder);
    const command = join(prefix, 'bin', 'resid-norms');
    const env = { ...process.env, HF_HUB_OFFLINE: '1', HF_HOME: join(root, 'hf') };
    const measure = spawnSync(command, ['measure'], { cwd: folder, env, encoding: 'utf8', timeout: 120_000 });
    assert.equal(measure.status, 0, measure.stderr);
    assert.match(measure.stdout, /^resid_post: mean centered norm over 8044 tokens/);
    assert.match(measure.stderr, /wrote results\/demo-gpt2\.json and its tables \(60 prompts, 8104 tokens/);
    const results = readdirSync(join(folder, 'results'))
      .filter((name) => name.endsWith('.json'))
      .map((name) => `results/${name}`);
    const report = spawnSync(command, ['report', ...results, '--figures', 'growth', '--out', 'results/report/'], {
      cwd: folder,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(report.status, 0, report.stderr);
    assert.match(readFileSync(join(folder, 'results', 'report', 'summary.md'), 'utf8'), /demo-gpt2: resid_post grows ×1\.1262 per layer/);
  });
});
