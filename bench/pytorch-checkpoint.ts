/**
 * `npm run bench:pytorch`: GPT-2 small's real shape (498 MB of float32) as safetensors and as
 * PyTorch checkpoints (zip and legacy `pytorch_model.bin`, generated once beside the bench
 * model), measured alike: the norms must be the same, and peak RSS, start-up and throughput
 * should be too, since a checkpoint's tensors are referenced in place like safetensors'.
 * Each run is its own process (bench/worker.ts), rounds alternate, the fastest counts; the
 * header reads (weights index only) are timed in this process, best of 5.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure } from '../src/commands/measure.js';
import { readWeightIndex } from '../src/models/weight-index.js';
import { createSilentReporter } from '../src/messages/reporter.js';
import { readMeasured } from '../test/support/measured.js';
import { createRandom } from '../test/support/random.js';
import { encodeTorchCheckpoint, type TorchTensor } from '../test/support/torch-checkpoint-writer.js';
import { ensureBenchModel, SHAPES } from './model-shapes.js';

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));
const log = (message: string) => process.stderr.write(`${message}\n`);

/** The bench model's weights rewritten as pytorch_model.bin in `format`, generated once. */
async function ensureCheckpointFolder(source: string, format: 'zip' | 'legacy'): Promise<string> {
  const dir = `${source}-bin-${format}`;
  if (existsSync(join(dir, 'pytorch_model.bin'))) return dir;
  log(`writing ${dir}/pytorch_model.bin (${format}, once)…`);
  const partial = `${dir}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  const index = await readWeightIndex(source);
  const handle = await open(index.files[0]!, 'r');
  const tensors: TorchTensor[] = [];
  try {
    for (const [name, info] of index.tensors) {
      const raw = Buffer.alloc(info.byteLength);
      await handle.read(raw, 0, info.byteLength, info.byteOffset);
      tensors.push({ name, shape: [...info.shape], storage: { dtype: 'F32', raw } });
    }
  } finally {
    await handle.close();
  }
  await writeFile(join(partial, 'pytorch_model.bin'), encodeTorchCheckpoint(tensors, { format, prefix: 'pytorch_model', moduleVersions: [['', 1]] }));
  await copyFile(join(source, 'config.json'), join(partial, 'config.json'));
  await rm(dir, { recursive: true, force: true });
  await rename(partial, dir);
  return dir;
}

function worker(args: string[]): Record<string, number> {
  const result = spawnSync(process.execPath, [WORKER, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (result.status !== 0) throw new Error(`bench worker failed:\n${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as Record<string, number>;
}

async function headerSeconds(dir: string): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < 5; i += 1) {
    const started = performance.now();
    await readWeightIndex(dir);
    best = Math.min(best, (performance.now() - started) / 1000);
  }
  return best;
}

/** Largest relative difference between the per-token norms of two results files. */
async function normDifference(a: string, b: string): Promise<{ worst: number; values: number }> {
  const [x, y] = [await readMeasured(a), await readMeasured(b)];
  let worst = 0;
  let values = 0;
  x.sequences.forEach((sequence, s) => {
    for (const hook of x.hooks) {
      sequence.norms[hook]!.forEach((row, layer) =>
        row.forEach((value, position) => {
          const other = y.sequences[s]!.norms[hook]![layer]![position]!;
          worst = Math.max(worst, Math.abs(value - other) / Math.abs(other));
          values += 1;
        }),
      );
    }
  });
  return { worst, values };
}

const shape = SHAPES['gpt2-small']!;
const safetensors = await ensureBenchModel(shape, log);
const folders = {
  safetensors,
  'pytorch zip': await ensureCheckpointFolder(safetensors, 'zip'),
  'pytorch legacy': await ensureCheckpointFolder(safetensors, 'legacy'),
};
const random = createRandom(42);
const prompts = join(tmpdir(), 'resid-norms-bench-pytorch-32x128.jsonl');
await writeFile(
  prompts,
  `${Array.from({ length: 32 }, () => JSON.stringify({ ids: [50256, ...Array.from({ length: 127 }, () => random.integer(50000))] })).join('\n')}\n`,
);

log('norms: each format measured once, in this process');
const out = await mkdtemp(join(tmpdir(), 'rn-bench-pytorch-'));
const results: Record<string, string> = {};
for (const [label, dir] of Object.entries(folders)) {
  results[label] = join(out, `${label.replace(/\W+/g, '-')}.json`);
  await measure(
    { model: dir, promptsPath: prompts, outPath: results[label]!, batchSize: 8, prependBos: true, exclusions: true, device: 'cpu', refresh: false },
    createSilentReporter(),
  );
}
const agreement = Object.fromEntries(
  await Promise.all(['pytorch zip', 'pytorch legacy'].map(async (label) => [label, await normDifference(results.safetensors!, results[label]!)] as const)),
);
await rm(out, { recursive: true, force: true });

const rounds = 3;
const runs = new Map<string, Array<Record<string, number>>>();
for (let round = 0; round < rounds; round += 1) {
  for (const [label, dir] of Object.entries(folders)) {
    log(`round ${round + 1}/${rounds}: ${label}`);
    runs.set(label, [...(runs.get(label) ?? []), worker(['measure', dir, prompts, '8'])]);
  }
}
const rows = await Promise.all(
  Object.entries(folders).map(async ([label, dir]) => {
    const list = runs.get(label)!;
    const best = (key: string, pick: (values: number[]) => number) => pick(list.map((run) => run[key]!));
    return {
      format: label,
      headersSeconds: await headerSeconds(dir),
      startupSeconds: best('startupSeconds', (values) => Math.min(...values)),
      tokensPerSecond: Math.max(...list.map((run) => run.tokens! / run.seconds!)),
      peakRssMB: best('maxRssBytes', (values) => Math.min(...values)) / 1e6,
    };
  }),
);
const base = rows[0]!;
process.stdout.write(
  '| format | weights index (s) | start-up (s) | tokens/s | peak RSS (MB) | RSS ÷ safetensors | max relative norm difference |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n',
);
for (const row of rows) {
  const difference = agreement[row.format]?.worst;
  process.stdout.write(
    `| ${row.format} | ${row.headersSeconds.toFixed(3)} | ${row.startupSeconds.toFixed(2)} | ${row.tokensPerSecond.toFixed(0)} | ${row.peakRssMB.toFixed(0)} | ${(row.peakRssMB / base.peakRssMB).toFixed(3)} | ${difference === undefined ? '—' : difference.toExponential(1)} |\n`,
  );
}
process.stdout.write(`${JSON.stringify({ rows, agreement })}\n`);
