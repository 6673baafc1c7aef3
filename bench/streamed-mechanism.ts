/**
 * `npm run bench:streamed-mechanism -- <model folder> [--blocks N] [--rows R] [--length L]
 * [--mechanism inputs|initializers]`: why a streamed run feeds each block's weights as inputs of
 * one shared session (src/measure/streamed-run.ts) rather than making a session per block with
 * the weights as initializers in their files. Per block, one mechanism per process (so peak
 * RssAnon is its own; without --mechanism both run, each in a child), on the same stream of
 * R × L tokens:
 *
 *   inputs        read the block's tensors into float32 arrays (reused from block to block),
 *                 run the one session built for every block of this structure;
 *   initializers  create a session of the block with its weights referenced in their files
 *                 (ONNX Runtime casts each BF16 weight into a float32 copy while it loads),
 *                 run it, release it: what a streamed run would do per block and per chunk.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../src/architectures/load-model.js';
import { planExternalData } from '../src/graph/external-data.js';
import { buildBlock, type BlockObserver } from '../src/graph/block-recipe.js';
import { GraphContext } from '../src/graph/graph-context.js';
import { GraphBuilder } from '../src/graph/onnx-builder.js';
import { outputResidual, startFromResidual } from '../src/graph/stream.js';
import { buildBlockGraph, oneBlockModel, RESIDUAL_INPUT, RESIDUAL_OUTPUT } from '../src/graph/streamed-graphs.js';
import { readWeights, releaseWeights, WeightArrays } from '../src/measure/streamed-run.js';
import { createTensorSession } from '../src/runtime/tensor-session.js';
import { runSampled } from './rss-sampler.js';

const value = (argv: string[], flag: string, fallback: string) => {
  const index = argv.indexOf(flag);
  return index >= 0 ? argv[index + 1]! : fallback;
};
const sumOf = (values: Float32Array) => values.reduce((sum, x) => sum + x, 0);
const rssAnon = () => Number(/^RssAnon:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;

async function runMechanism(dir: string, mechanism: string, blocks: number, rows: number, length: number): Promise<void> {
  const { spec, weights } = await loadModel(dir);
  const layout = await planExternalData(weights.files);
  const { dModel } = spec.dims;
  const stream = Float32Array.from({ length: rows * length * dModel }, (_, i) => (((i * 7919) % 2001) - 1000) / 1000);
  const feed = { type: 'float32' as const, data: stream, dims: [rows, length, dModel] };
  const options = { device: 'cpu' as const, prepackWeights: false };
  let prepare = 0;
  let run = 0;
  let peak = rssAnon();
  let checksum = 0; // both mechanisms run the same blocks on the same stream: the same sum of outputs
  const arrays = new WeightArrays();
  const shared = mechanism === 'inputs' ? buildBlockGraph(spec, 0, () => ({ observer: {} }), { outputsResidual: true }) : undefined;
  const sharedSession = shared ? await createTensorSession(shared.bytes, layout.folder, options) : undefined;
  for (let layer = 0; layer < blocks; layer += 1) {
    let startedAt = performance.now();
    if (shared && sharedSession) {
      const graph = buildBlockGraph(spec, layer, () => ({ observer: {} }), { outputsResidual: true });
      const block = await readWeights(graph.weightInputs, arrays);
      prepare += performance.now() - startedAt;
      startedAt = performance.now();
      checksum += sumOf((await sharedSession.run({ ...block, [RESIDUAL_INPUT]: feed }, [RESIDUAL_OUTPUT])).get(RESIDUAL_OUTPUT)!.data);
      run += performance.now() - startedAt;
      peak = Math.max(peak, rssAnon());
      releaseWeights(block, arrays);
    } else {
      const ctx = new GraphContext(new GraphBuilder('block with initializers'), layout);
      const start = startFromResidual(ctx, dModel);
      const observer: BlockObserver = {};
      const taps = buildBlock(ctx, start.sequence, oneBlockModel(spec, layer), 0, start.residual, observer);
      outputResidual(ctx, start, taps.resid_post, dModel, RESIDUAL_OUTPUT);
      const session = await createTensorSession(ctx.g.toBytes(), layout.folder, options);
      prepare += performance.now() - startedAt;
      startedAt = performance.now();
      checksum += sumOf((await session.run({ [RESIDUAL_INPUT]: feed }, [RESIDUAL_OUTPUT])).get(RESIDUAL_OUTPUT)!.data);
      run += performance.now() - startedAt;
      peak = Math.max(peak, rssAnon());
      await session.release();
    }
  }
  await sharedSession?.release();
  process.stdout.write(
    `${JSON.stringify({ mechanism, blocks, tokens: rows * length, prepareSecondsPerBlock: prepare / 1000 / blocks, runSecondsPerBlock: run / 1000 / blocks, peakRssAnonBytes: peak, checksum })}\n`,
  );
}

const argv = process.argv.slice(2);
const dir = argv.find((arg, index) => !arg.startsWith('--') && (index === 0 || !argv[index - 1]!.startsWith('--')));
if (dir === undefined) throw new Error('give a model folder (e.g. one bench/llama-shapes.ts generated)');
const [blocks, rows, length] = [Number(value(argv, '--blocks', '4')), Number(value(argv, '--rows', '8')), Number(value(argv, '--length', '128'))];
const only = argv.includes('--mechanism') ? value(argv, '--mechanism', 'inputs') : undefined;
if (only !== undefined) await runMechanism(dir, only, blocks, rows, length);
else {
  // Alternating, each in its own process: two rounds, so load that changes within minutes shows as a spread.
  for (const mechanism of ['initializers', 'inputs', 'inputs', 'initializers']) {
    const child = await runSampled(process.execPath, [
      fileURLToPath(import.meta.url),
      dir,
      '--blocks',
      String(blocks),
      '--rows',
      String(rows),
      '--length',
      String(length),
      '--mechanism',
      mechanism,
    ]);
    if (child.status !== 0) throw new Error(`${mechanism} failed:\n${child.stderr.slice(-2000)}`);
    const result = JSON.parse(child.stdout.trim().split('\n').pop()!) as Record<string, number | string>;
    process.stdout.write(`${JSON.stringify({ ...result, sampledPeakRssAnonBytes: child.peakRssAnonBytes })}\n`);
  }
}
