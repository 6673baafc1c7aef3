/**
 * `npm run bench -- --streamed`: models larger than memory, run block by block under
 * --max-memory (issue 29), as figures measured in one run, each scenario a real `measure` in its
 * own process whose peak RssAnon and VmRSS are sampled from /proc/<pid>/status every 0.1 s:
 *
 *   TinyLlama-1.1B's shape, BF16: the whole graph (only when the memory plan says it fits in
 *   6 GB: the bench never pushes the shared machine into swap) against --max-memory 1GB, on the
 *   same prompts. Targets: peak RssAnon ≤ 1.2 GB; throughput ≥ 0.8 × the whole graph's.
 *   Llama-3-8B's shape, BF16 (16 GB, generated into the temp folder when the disk has room, and
 *   deleted at the end): --max-memory 4GB (peak RssAnon ≤ 4.5 GB), then 2GB and 8GB, with
 *   tokens/s next to the model's FLOP rate and ONNX Runtime's own GEMM rate on this machine.
 *
 * Flags: --skip-8b, --skip-tinyllama, --keep-models (leave the generated folders), --prompts N, --tokens N (per
 * prompt), --budgets 4GB,2GB,8GB, --rounds N (TinyLlama's alternating rounds, default 2).
 */
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { ElementType, GraphBuilder, int } from '../src/graph/onnx-builder.js';
import { defaultThreads } from '../src/runtime/onnx-session.js';
import { createRandom } from '../test/support/random.js';
import { CLI } from '../test/support/run-cli.js';
import { ensureLlamaModel, LLAMA_SHAPES, llamaParameters, type LlamaShape } from './llama-shapes.js';
import { runSampled } from './rss-sampler.js';

interface Scenario {
  label: string;
  tokens: number;
  tokensPerSecond: number;
  seconds: number;
  peakRssAnonBytes: number;
  peakRssBytes: number;
  streamed: boolean;
  /** From measure's last info line: weight reading and ONNX Runtime's share. */
  weightSeconds?: number;
  runSeconds?: number;
  chunks?: number;
  loadBefore: number;
  loadAfter: number;
}

const value = (argv: string[], flag: string) => {
  const index = argv.indexOf(flag);
  return index >= 0 ? argv[index + 1] : undefined;
};

async function writePrompts(folder: string, shape: LlamaShape, prompts: number, tokens: number): Promise<string> {
  const random = createRandom(29);
  const path = join(folder, `${shape.name}-${prompts}x${tokens}.jsonl`);
  const lines = Array.from({ length: prompts }, () =>
    JSON.stringify({ ids: [shape.bosTokenId, ...Array.from({ length: tokens - 1 }, () => random.integer(shape.dVocab - 1))] }),
  );
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

async function runMeasure(label: string, modelDir: string, prompts: string, out: string, budget: string, log: (message: string) => void): Promise<Scenario> {
  log(`${label}: measure --max-memory ${budget} (load average ${loadavg()[0]!.toFixed(1)}) …`);
  const loadBefore = loadavg()[0]!;
  const run = await runSampled(
    process.execPath,
    [CLI, 'measure', '--model', modelDir, '--prompts', prompts, '--out', out, '--max-memory', budget, '--restart'],
    { env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } },
  );
  if (run.status !== 0) throw new Error(`${label} failed (exit ${run.status}):\n${run.stderr.slice(-2000)}`);
  const runtime = (JSON.parse(readFileSync(out, 'utf8')) as { runtime: { tokens: number; seconds: number; tokensPerSecond: number } }).runtime;
  const stats = /block by block: (\d+) chunks?, .* read in ([\d.]+) s, ONNX Runtime ([\d.]+) s/.exec(run.stderr);
  const scenario: Scenario = {
    label,
    tokens: runtime.tokens,
    tokensPerSecond: runtime.tokensPerSecond,
    seconds: runtime.seconds,
    peakRssAnonBytes: run.peakRssAnonBytes,
    peakRssBytes: run.peakRssBytes,
    streamed: /running it block by block/.test(run.stderr),
    ...(stats ? { chunks: Number(stats[1]), weightSeconds: Number(stats[2]), runSeconds: Number(stats[3]) } : {}),
    loadBefore,
    loadAfter: loadavg()[0]!,
  };
  log(
    `  ${scenario.tokensPerSecond.toFixed(2)} tokens/s, peak RssAnon ${(scenario.peakRssAnonBytes / 2 ** 20).toFixed(0)} MiB${scenario.streamed ? ' (block by block)' : ' (whole graph)'}`,
  );
  return scenario;
}

/** Forward FLOPs per token: every block's matrix products, and q·k and pattern·v over the padded length (no LM head). */
function flopsPerToken(shape: LlamaShape, length: number): number {
  const blockParameters = (llamaParameters(shape) - 2 * shape.dVocab * shape.dModel - shape.dModel) / shape.nLayers;
  return shape.nLayers * (2 * blockParameters + 4 * shape.dModel * length);
}

/** ONNX Runtime's Gemm x·Wᵀ with W an input (as a streamed run feeds its weights), fastest of 5 after 2 warm-ups, on measure's threads. */
async function gemmFlopsPerSecond(m: number, k: number, n: number): Promise<number> {
  const g = new GraphBuilder('gemm');
  const x = g.addInput('x', ElementType.float, [m, k]);
  const w = g.addInput('w', ElementType.float, [n, k]);
  g.addOutput(g.node('Gemm', [x, w], { transB: int(1) }, 'y'), ElementType.float, [m, n]);
  const session = await ort.InferenceSession.create(g.toBytes(), {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: defaultThreads(),
    logSeverityLevel: 4,
  });
  const feeds = {
    x: new ort.Tensor(
      'float32',
      Float32Array.from({ length: m * k }, (_, i) => ((i % 13) - 6) / 13),
      [m, k],
    ),
    w: new ort.Tensor(
      'float32',
      Float32Array.from({ length: n * k }, (_, i) => ((i % 7) - 3) / 70),
      [n, k],
    ),
  };
  const fetches = { y: new ort.Tensor('float32', new Float32Array(m * n), [m, n]) };
  for (let i = 0; i < 2; i += 1) await session.run(feeds, fetches);
  let best = Infinity;
  for (let i = 0; i < 5; i += 1) {
    const startedAt = performance.now();
    await session.run(feeds, fetches);
    best = Math.min(best, (performance.now() - startedAt) / 1000);
  }
  await session.release();
  return (2 * m * k * n) / best;
}

const gb = (bytes: number) => (bytes / 1e9).toFixed(2);

export async function runStreamedBench(argv: string[]): Promise<void> {
  const log = (message: string) => process.stderr.write(`${message}\n`);
  const root = join(tmpdir(), 'resid-norms-stream-bench');
  await mkdir(root, { recursive: true });
  const work = await mkdtemp(join(tmpdir(), 'rn-streamed-'));
  const prompts = Number(value(argv, '--prompts') ?? 32);
  const tokens = Number(value(argv, '--tokens') ?? 128);
  const budgets = (value(argv, '--budgets') ?? '4GB,2GB,8GB').split(',');
  const keep = argv.includes('--keep-models');
  const generated: string[] = [];
  const report: Record<string, unknown> = { prompts, tokensPerPrompt: tokens, threads: defaultThreads() };
  try {
    const rows: Array<{ figure: string; value: string; target: string; met: boolean | null }> = [];
    if (argv.includes('--skip-tinyllama')) log('skipping the TinyLlama shape (--skip-tinyllama)');
    else {
      // TinyLlama-1.1B's shape: the whole graph against a 1 GB budget.
      const tiny = LLAMA_SHAPES['tinyllama-1.1b']!;
      if (!existsSync(join(root, `${tiny.name}-bf16`))) generated.push(join(root, `${tiny.name}-bf16`));
      const tinyDir = await ensureLlamaModel(tiny, root, log);
      const tinyPrompts = await writePrompts(work, tiny, prompts, tokens);
      // 6GB: the whole graph only if the memory plan says it fits there (else it would stream, and the row says so).
      // Rounds alternate the order of the two; the fastest of each counts (other processes only ever slow a run down).
      const rounds = Number(value(argv, '--rounds') ?? 2);
      const wholeRuns: Scenario[] = [];
      const streamedRuns: Scenario[] = [];
      for (let round = 0; round < rounds; round += 1) {
        const runWhole = async () =>
          wholeRuns.push(await runMeasure(`tinyllama whole graph, round ${round + 1}`, tinyDir, tinyPrompts, join(work, 'tiny-whole.json'), '6GB', log));
        const runStreamed = async () =>
          streamedRuns.push(await runMeasure(`tinyllama --max-memory 1GB, round ${round + 1}`, tinyDir, tinyPrompts, join(work, 'tiny-1gb.json'), '1GB', log));
        if (round % 2 === 0) await runWhole().then(runStreamed);
        else await runStreamed().then(runWhole);
      }
      const fastest = (runs: Scenario[]) => runs.reduce((best, run) => (run.tokensPerSecond > best.tokensPerSecond ? run : best));
      const whole = { ...fastest(wholeRuns), peakRssAnonBytes: wholeRuns.reduce((most, run) => Math.max(most, run.peakRssAnonBytes), 0) };
      const streamed = { ...fastest(streamedRuns), peakRssAnonBytes: streamedRuns.reduce((most, run) => Math.max(most, run.peakRssAnonBytes), 0) };
      const tinyGemm = await gemmFlopsPerSecond(prompts >= 8 ? 8 * tokens : prompts * tokens, tiny.dModel, tiny.dMlp);
      report.tinyllama = {
        wholeRuns,
        streamedRuns,
        gemmFlopsPerSecond: tinyGemm,
        flopsPerToken: flopsPerToken(tiny, tokens),
        weightBytes: 2 * llamaParameters(tiny),
      };
      rows.push(
        { figure: 'TinyLlama: whole graph, peak RssAnon (GB)', value: gb(whole.peakRssAnonBytes), target: '—', met: null as boolean | null },
        {
          figure: 'TinyLlama: --max-memory 1GB, peak RssAnon (GB)',
          value: gb(streamed.peakRssAnonBytes),
          target: '≤ 1.2',
          met: streamed.streamed && streamed.peakRssAnonBytes <= 1.2e9,
        },
        {
          figure: `TinyLlama: throughput, 1GB ÷ whole graph (fastest of ${rounds}: ${streamed.tokensPerSecond.toFixed(1)} vs ${whole.tokensPerSecond.toFixed(1)} tokens/s)`,
          value: (streamed.tokensPerSecond / whole.tokensPerSecond).toFixed(3),
          target: '≥ 0.8',
          met: !whole.streamed && streamed.tokensPerSecond >= 0.8 * whole.tokensPerSecond,
        },
      );
    }

    const big = LLAMA_SHAPES['llama-3-8b']!;
    const needed = 2 * llamaParameters(big) + 2e9;
    const free = (() => {
      const stats = statfsSync(root);
      return stats.bavail * stats.bsize;
    })();
    if (argv.includes('--skip-8b')) log('skipping the 8B shape (--skip-8b)');
    else if (free < needed && !existsSync(join(root, `${big.name}-bf16`)))
      log(`skipping the 8B shape: ${gb(free)} GB free in ${root}, it needs ${gb(needed)} GB`);
    else {
      if (!existsSync(join(root, `${big.name}-bf16`))) generated.push(join(root, `${big.name}-bf16`));
      const bigDir = await ensureLlamaModel(big, root, log);
      const bigPrompts = await writePrompts(work, big, Math.min(prompts, 16), tokens);
      // The Gemm yardstick next to each run, so each run's efficiency compares minutes of the same load.
      const runs: Array<Scenario & { gemmFlopsPerSecond: number }> = [];
      for (const budget of budgets) {
        const before = await gemmFlopsPerSecond(8 * tokens, big.dModel, big.dMlp);
        const run = await runMeasure(`llama-3-8b --max-memory ${budget}`, bigDir, bigPrompts, join(work, `big-${budget}.json`), budget, log);
        const after = await gemmFlopsPerSecond(8 * tokens, big.dModel, big.dMlp);
        runs.push({ ...run, gemmFlopsPerSecond: Math.max(before, after) });
      }
      const perToken = flopsPerToken(big, tokens);
      report.llama3_8b = { runs, flopsPerToken: perToken, weightBytes: 2 * llamaParameters(big) };
      for (const run of runs) {
        const budget = run.label.split(' ').pop()!;
        const limit = budget === '4GB' ? 4.5e9 : undefined;
        const model = run.tokensPerSecond * perToken;
        rows.push({
          figure: `8B ${budget}: tokens/s; model ${(model / 1e9).toFixed(0)} GFLOP/s, Gemm ${(run.gemmFlopsPerSecond / 1e9).toFixed(0)}; weights ${((100 * (run.weightSeconds ?? 0)) / run.seconds).toFixed(0)} % of the time; RssAnon ${gb(run.peakRssAnonBytes)} GB; load ${run.loadBefore.toFixed(1)}`,
          value: run.tokensPerSecond.toFixed(3),
          target: limit ? `RssAnon ≤ ${gb(limit)} GB` : '—',
          met: limit ? run.peakRssAnonBytes <= limit : null,
        });
      }
    }
    report.figures = rows;
    const width = Math.max(...rows.map((row) => row.figure.length));
    process.stdout.write(`\nresid-norms bench — block by block under --max-memory, ${prompts} × ${tokens} tokens, ${defaultThreads()} threads\n`);
    for (const row of rows)
      process.stdout.write(
        `${row.figure.padEnd(width)}  ${String(row.value).padStart(8)}  ${row.target.padEnd(20)} ${row.met === null ? '' : row.met ? 'met' : 'NOT met'}\n`,
      );
    process.stdout.write(`\n${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
    // What this run generated goes at the end (16 GB of a shared disk), unless --keep-models.
    if (!keep) for (const dir of generated) await rm(dir, { recursive: true, force: true });
    else for (const dir of generated) log(`kept ${dir} (--keep-models): delete it when done`);
  }
}
