/**
 * `npm run bench -- --scale`: research-scale runs on a small model (8 layers, d_model 64), as
 * ratios measured in one run. Measures 100,000 and 2,000,000 tokens (prompts of 100 token ids)
 * with all hooks, and 100,000 with resid_pre only, then fit and report on the big result.
 * Targets (issue 12): peak RSS at 2M ≤ 1.2 × at 100k; throughput at 2M ≥ 0.9 × at 100k;
 * all hooks ≥ 0.5 × resid_pre only; fit < 500 MB and report < 1 GB peak RSS; ≤ 5 bytes on disk
 * per stored value. `--tokens N` sets the big run (default 2,000,000).
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRandom } from '../test/support/random.js';
import { ensureBenchModel, type ModelShape } from './model-shapes.js';

const WORKER = fileURLToPath(new URL('./scale-worker.js', import.meta.url));
const SHAPE: ModelShape = { name: 'scale-small', nLayers: 8, dModel: 64, nHeads: 4, dVocab: 50257, nCtx: 128 };
const TOKENS_PER_PROMPT = 100;
const ALL_HOOKS = 'resid_pre,attn_out,resid_mid,mlp_out,resid_post';

function worker(args: string[]): Record<string, number> {
  const result = spawnSync(process.execPath, [WORKER, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (result.status !== 0) throw new Error(`scale worker ${args.slice(0, 2).join(' ')} failed:\n${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as Record<string, number>;
}

/** JSONL of `prompts` prompts of 100 token ids each, written as a stream (20k prompts is 10 MB). */
async function writePrompts(folder: string, prompts: number): Promise<string> {
  const path = join(folder, `prompts-${prompts}.jsonl`);
  const random = createRandom(7);
  const out = createWriteStream(path);
  for (let i = 0; i < prompts; i += 1) {
    const line = `${JSON.stringify({ ids: [50256, ...Array.from({ length: TOKENS_PER_PROMPT - 1 }, () => random.integer(50000))] })}\n`;
    if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => {
    out.on('error', reject);
    out.end(() => resolve());
  });
  return path;
}

export async function runScaleBench(argv: string[]): Promise<void> {
  const index = argv.indexOf('--tokens');
  const bigTokens = index >= 0 ? Number(argv[index + 1]) : 2_000_000;
  const log = (message: string) => process.stderr.write(`${message}\n`);
  const modelDir = await ensureBenchModel(SHAPE, log);
  const folder = await mkdtemp(join(tmpdir(), 'rn-scale-'));
  try {
    const small = await writePrompts(folder, 100_000 / TOKENS_PER_PROMPT);
    const big = await writePrompts(folder, bigTokens / TOKENS_PER_PROMPT);
    log('measuring 100k tokens, resid_pre only …');
    const preOnly = worker(['measure', modelDir, small, join(folder, 'pre.json'), 'resid_pre']);
    log('measuring 100k tokens, all hooks …');
    const smallRun = worker(['measure', modelDir, small, join(folder, 'small.json'), ALL_HOOKS]);
    log(`measuring ${bigTokens.toLocaleString('en-US')} tokens, all hooks …`);
    const bigRun = worker(['measure', modelDir, big, join(folder, 'big.json'), ALL_HOOKS]);
    log('fit and report on the big result …');
    const fit = worker(['cli', 'fit', join(folder, 'big.json'), '--hook', 'resid_pre,resid_post']);
    const fitMedian = worker(['cli', 'fit', join(folder, 'big.json'), '--hook', 'resid_post', '--stat', 'median', '--bootstrap', '100']);
    const report = worker(['cli', 'report', join(folder, 'big.json'), '--out', join(folder, 'report')]);

    const rate = (run: Record<string, number>) => run.tokens! / run.seconds!;
    const endToEnd = (run: Record<string, number>) => run.tokens! / run.wall!;
    const MB = 1e6;
    const rows = [
      {
        figure: `peak RSS of measure: ${bigTokens / 1e6}M ÷ 100k tokens`,
        value: bigRun.maxRssBytes! / smallRun.maxRssBytes!,
        target: '≤ 1.2',
        met: bigRun.maxRssBytes! <= 1.2 * smallRun.maxRssBytes!,
      },
      {
        figure: `throughput: ${bigTokens / 1e6}M ÷ 100k tokens`,
        value: rate(bigRun) / rate(smallRun),
        target: '≥ 0.9',
        met: rate(bigRun) >= 0.9 * rate(smallRun),
      },
      {
        figure: 'throughput: all hooks ÷ resid_pre only (100k)',
        value: rate(smallRun) / rate(preOnly),
        target: '≥ 0.5',
        met: rate(smallRun) >= 0.5 * rate(preOnly),
      },
      { figure: 'fit (mean, bootstrap 1000) peak RSS (MB)', value: fit.maxRssBytes! / MB, target: '< 500', met: fit.maxRssBytes! < 500 * MB },
      { figure: 'fit (median, bootstrap 100) peak RSS (MB)', value: fitMedian.maxRssBytes! / MB, target: '< 500', met: fitMedian.maxRssBytes! < 500 * MB },
      { figure: 'report peak RSS (MB)', value: report.maxRssBytes! / MB, target: '< 1000', met: report.maxRssBytes! < 1000 * MB },
      { figure: 'bytes on disk per stored value', value: bigRun.bytes! / bigRun.values!, target: '≤ 5', met: bigRun.bytes! / bigRun.values! <= 5 },
    ];
    const details = {
      tokensPerSecond: { preOnly: rate(preOnly), small: rate(smallRun), big: rate(bigRun) },
      endToEndTokensPerSecond: { preOnly: endToEnd(preOnly), small: endToEnd(smallRun), big: endToEnd(bigRun) },
      writingSeconds: { small: smallRun.writingSeconds, big: bigRun.writingSeconds },
      peakRssMB: {
        preOnly: preOnly.maxRssBytes! / MB,
        small: smallRun.maxRssBytes! / MB,
        big: bigRun.maxRssBytes! / MB,
        fit: fit.maxRssBytes! / MB,
        fitMedian: fitMedian.maxRssBytes! / MB,
        report: report.maxRssBytes! / MB,
      },
      seconds: { fit: fit.wall, fitMedian: fitMedian.wall, report: report.wall },
      resultsJsonBytes: bigRun.jsonBytes,
    };
    const width = Math.max(...rows.map((row) => row.figure.length));
    process.stdout.write(`\nresid-norms bench --scale — 8 layers × d_model 64, prompts of ${TOKENS_PER_PROMPT} token ids\n`);
    for (const row of rows)
      process.stdout.write(`${row.figure.padEnd(width)}  ${row.value.toPrecision(4).padStart(10)}  ${row.target.padEnd(8)} ${row.met ? 'met' : 'NOT met'}\n`);
    process.stdout.write(`\n${JSON.stringify({ bigTokens, figures: rows, details }, null, 2)}\n`);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
