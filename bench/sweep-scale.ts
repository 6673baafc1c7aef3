/**
 * `npm run bench:sweep`: a sweep at ten times the tests' sizes, on the fake Hub (no network):
 * 30 checkpoints (pythia-log names) of a tiny GPT-2 with different weights, prompts sampled from
 * a Hub dataset of 100,000 rows in 4 Parquet shards, --evict on. Each phase is a CLI process
 * timed by /usr/bin/time (wall seconds and peak RSS):
 *   1. prepare:   download the dataset and read all 100,000 rows (no --sample)
 *   2. sweep:     the 30 members on --sample 200 of them, evicting each
 *   3. rerun:     the same command again (every member skipped)
 *   4. collect:   --collect alone (fits with 1,000 bootstrap resamples, figures)
 * `--members N`, `--rows N` change the sizes.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { pythiaLogCheckpoints, pythiaCheckpoints } from '../src/sweep/sweep-members.js';
import { FakeHub, fakeSha, snapshotFromFolder } from '../test/support/fake-hub.js';
import { writeTinyGpt2 } from '../test/support/tiny-gpt2.js';

const CLI = new URL('../../bin/resid-norms.js', import.meta.url).pathname;
const argument = (name: string, fallback: number) => {
  const index = process.argv.indexOf(name);
  return index < 0 ? fallback : Number(process.argv[index + 1]);
};
const MEMBERS = argument('--members', 30);
const ROWS = argument('--rows', 100_000);
const SHARDS = 4;

interface Timed {
  code: number;
  seconds: number;
  rssMb: number;
  stderr: string;
}

/** Run the CLI under /usr/bin/time; the hub must keep serving, so this is asynchronous. */
function timedCli(args: string[], env: NodeJS.ProcessEnv): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', 'TIME %e %M', process.execPath, CLI, '--quiet', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const match = /TIME ([\d.]+) (\d+)/.exec(stderr);
      resolve({ code: code ?? -1, seconds: Number(match?.[1]), rssMb: Number(match?.[2]) / 1024, stderr: stderr.replace(/TIME .*\n?/, '') });
    });
  });
}

function text(row: number): string {
  return `Document ${row}. ${'It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife. '.repeat(1 + (row % 5))}`;
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'rn-sweep-bench-'));
  const hub = new FakeHub();
  try {
    const names = (MEMBERS <= 30 ? pythiaLogCheckpoints() : pythiaCheckpoints()).slice(0, MEMBERS);
    const revisions: Record<string, { sha: string; files: Map<string, Buffer> }> = {};
    for (const [index, revision] of names.entries()) {
      const tiny = await writeTinyGpt2(join(root, 'models', revision), { nLayers: 6, dModel: 32, nHeads: 4, nCtx: 128, seed: 100 + index });
      revisions[revision] = await snapshotFromFolder(tiny.dir, fakeSha(`bench ${revision}`));
    }
    hub.repos.set('bench/tiny', { sha: fakeSha('bench main'), files: revisions[names[0]!]!.files, revisions });
    const files = new Map<string, Buffer>();
    const perShard = Math.ceil(ROWS / SHARDS);
    for (let shard = 0; shard < SHARDS; shard += 1) {
      const rows = Array.from({ length: Math.min(perShard, ROWS - shard * perShard) }, (_, i) => shard * perShard + i);
      files.set(
        `data/train-0000${shard}-of-0000${SHARDS}.parquet`,
        Buffer.from(
          parquetWriteBuffer({
            columnData: [
              { name: 'text', data: rows.map(text), type: 'STRING' },
              { name: 'id', data: rows, type: 'INT32' },
            ],
          }),
        ),
      );
    }
    hub.datasets.set('bench/big', { sha: fakeSha('bench big'), files });
    await hub.start();
    const cache = join(root, 'cache');
    const env = { HF_ENDPOINT: hub.url, HF_HUB_CACHE: cache };
    const out = join(root, 'sweep');
    const datasetBytes = [...files.values()].reduce((sum, bytes) => sum + bytes.length, 0);
    console.log(
      `${names.length} members (tiny GPT-2, 6 layers, d_model 32), dataset of ${ROWS} rows in ${SHARDS} shards (${(datasetBytes / 1e6).toFixed(1)} MB)`,
    );

    const whole = await timedCli(
      ['sweep', '--model', 'bench/tiny', '--revisions', names.join(','), '--prompts', 'hf://datasets/bench/big', '--out', join(root, 'whole'), '--prepare'],
      env,
    );
    console.log(`prepare, all ${ROWS} rows read:      exit ${whole.code}, ${whole.seconds.toFixed(1)} s, peak RSS ${whole.rssMb.toFixed(0)} MB `);
    const args = [
      'sweep',
      '--model',
      'bench/tiny',
      '--revisions',
      names.join(','),
      '--prompts',
      'hf://datasets/bench/big',
      '--sample',
      '200',
      '--max-tokens',
      '128',
      '--out',
      out,
      '--evict',
    ];
    const sweep = await timedCli(args, env);
    const snapshots = await readdir(join(cache, 'models--bench--tiny', 'snapshots')).catch(() => []);
    console.log(
      `sweep of ${names.length} members, --evict:  exit ${sweep.code}, ${sweep.seconds.toFixed(1)} s, peak RSS ${sweep.rssMb.toFixed(0)} MB, snapshots left in the cache: ${snapshots.length} ${sweep.stderr
        .split('\n')
        .filter((line) => !/truncated/.test(line))
        .join(' ')
        .trim()}`,
    );
    const rerun = await timedCli(args, env);
    console.log(`rerun (all skipped):              exit ${rerun.code}, ${rerun.seconds.toFixed(1)} s, peak RSS ${rerun.rssMb.toFixed(0)} MB `);
    const collect = await timedCli(['sweep', '--collect', '--out', out], env);
    console.log(`--collect:                        exit ${collect.code}, ${collect.seconds.toFixed(1)} s, peak RSS ${collect.rssMb.toFixed(0)} MB `);
  } finally {
    await hub.stop();
    await rm(root, { recursive: true, force: true });
  }
}

await main();
