import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadModel } from '../../src/architectures/load-model.js';
import { planExternalData } from '../../src/graph/external-data.js';
import { buildTransformerGraph } from '../../src/graph/transformer-graph.js';
import { DIAGNOSTICS, type DiagnosticSelection } from '../../src/results/diagnostics.js';
import { createNormSession } from '../../src/runtime/onnx-session.js';
import { diagnosticsAgainstReference, measureOf, type Measure } from '../support/diagnostics-agreement.js';
import { referenceDiagnostics, referenceSequenceDiagnostics } from '../support/reference-diagnostics.js';
import { createRandom } from '../support/random.js';
import { referenceGptNeo, referenceGptNeoHead } from '../support/reference-gpt-neo.js';
import { referenceGptNeox, referenceGptNeoxHead } from '../support/reference-gpt-neox.js';
import { referenceGemma, referenceGemmaHead } from '../support/reference-gemma.js';
import { referenceGpt2, referenceGpt2Head } from '../support/reference-gpt2.js';
import { referenceLlama, referenceLlamaHead } from '../support/reference-llama.js';
import type { BlockTrace, ReferenceHead } from '../support/reference-ops.js';
import { referenceOpt, referenceOptHead } from '../support/reference-opt.js';
import { referenceOlmo, referenceOlmoHead } from '../support/reference-olmo.js';
import { referenceQwen3, referenceQwen3Head } from '../support/reference-qwen3.js';
import type { TinyModel } from '../support/tiny-model.js';
import { writeTinyGemma } from '../support/tiny-gemma.js';
import { writeTinyGptNeo } from '../support/tiny-gpt-neo.js';
import { writeTinyGptNeox } from '../support/tiny-gpt-neox.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';
import { writeTinyLlama } from '../support/tiny-llama.js';
import { writeTinyOpt } from '../support/tiny-opt.js';
import { writeTinyOlmo } from '../support/tiny-olmo.js';
import { writeTinyQwen3 } from '../support/tiny-qwen3.js';
import { referenceGptj, referenceGptjHead } from '../support/reference-gptj.js';
import { referencePhi, referencePhiHead } from '../support/reference-phi.js';
import { writeTinyGptj } from '../support/tiny-gptj.js';
import { writeTinyPhi } from '../support/tiny-phi.js';
import { referenceMixtral, referenceMixtralHead } from '../support/reference-mixtral.js';
import { writeTinyMixtral } from '../support/tiny-mixtral.js';

/**
 * Tolerances, by how each column is compared (diagnostics-agreement.ts): cosines, shares and
 * attention weights are bounded, so absolute; magnitudes (largest |x_i|, its ratio to the
 * median, norms, head writes) relative; the dimension of the largest |x_i| must match exactly
 * wherever the reference's maximum is clear.
 */
const TOLERANCE: Record<Measure, number> = { absolute: 1e-5, relative: 1e-4, mismatches: 0 };
/**
 * Columns held to a tolerance of their own: the lens's entropy, relative (against at least
 * ENTROPY_FLOOR nats). Where logits stay within ±10 it agrees to ~3e-6; the tied models below,
 * whose embeddings of standard deviation 1 give logits up to ~36, reach 2.2e-5, the rounding of
 * float32 logits of that size (≈ |z|·2⁻²⁴·√d_model), not of the entropy's computation.
 */
const COLUMN_TOLERANCE: Record<string, number> = { lens_entropy: 5e-5 };
const toleranceOf = (column: string) => COLUMN_TOLERANCE[column] ?? TOLERANCE[measureOf(column)];
/** The padded batch against one prompt at a time, every diagnostic value (float32 summation order). */
const BATCH_TOLERANCE = 1e-5;

const ALL: DiagnosticSelection = { diagnostics: DIAGNOSTICS, massiveDims: [1, 5] };

function makePrompts(seed: number): number[][] {
  const random = createRandom(seed);
  return [1, 7, 13, 20].map((length) => Array.from({ length }, () => random.integer(257)));
}

interface Case {
  label: string;
  write: (dir: string) => Promise<TinyModel>;
  reference: (tiny: TinyModel) => (ids: number[], trace: BlockTrace[]) => void;
  /** The model's head (final norm and unembedding), for the lens. */
  head: (tiny: TinyModel) => ReferenceHead;
}

const cases: Case[] = [
  {
    label: 'gpt2 (Conv1D weights, fused qkv)',
    write: (dir) => writeTinyGpt2(dir, { nLayers: 2, dModel: 32, nHeads: 4, keys: 'lm-head-model' }),
    reference: (tiny) => (ids, trace) => void referenceGpt2(tiny.weights, tiny.config, ids, trace),
    head: (tiny) => referenceGpt2Head(tiny.weights, tiny.config),
  },
  {
    label: 'gpt-neo (unscaled attention, a local layer of window 4)',
    write: (dir) => writeTinyGptNeo(dir, { dModel: 32, nHeads: 4, attentionTypes: [[['global', 'local'], 1]], windowSize: 4, seed: 3 }),
    reference: (tiny) => (ids, trace) => void referenceGptNeo(tiny.weights, tiny.config, ids, trace),
    head: (tiny) => referenceGptNeoHead(tiny.weights, tiny.config),
  },
  {
    label: 'gpt-neox (parallel residual, partial rotary, untied embed_out)',
    write: (dir) => writeTinyGptNeox(dir, { nLayers: 2, dModel: 64, nHeads: 4, seed: 5 }),
    reference: (tiny) => (ids, trace) => void referenceGptNeox(tiny.weights, tiny.config, ids, trace),
    head: (tiny) => referenceGptNeoxHead(tiny.weights, tiny.config),
  },
  {
    label: 'gpt-neox (sequential residual, tied embeddings)',
    write: (dir) => writeTinyGptNeox(dir, { nLayers: 2, dModel: 32, nHeads: 2, rotaryPct: 1, parallelResidual: false, tied: true, seed: 7 }),
    reference: (tiny) => (ids, trace) => void referenceGptNeox(tiny.weights, tiny.config, ids, trace),
    head: (tiny) => referenceGptNeoxHead(tiny.weights, tiny.config),
  },
  {
    label: 'llama (RMSNorm, grouped-query attention, head_dim ≠ d_model/heads, untied lm_head)',
    write: (dir) => writeTinyLlama(dir, { nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 2, headDim: 12, seed: 9 }),
    reference: (tiny) => (ids, trace) => void referenceLlama(tiny.weights, tiny.config, ids, trace),
    head: (tiny) => referenceLlamaHead(tiny.weights, tiny.config),
  },
  {
    label: "llama (q/k/v biases, grouped-query attention: each kv head's b_V folded for its query heads)",
    write: (dir) => writeTinyLlama(dir, { nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 2, attentionBias: true, seed: 13 }),
    reference: (tiny) => (ids, trace) => void referenceLlama(tiny.weights, tiny.config, ids, trace),
    head: (tiny) => referenceLlamaHead(tiny.weights, tiny.config),
  },
  {
    label: 'llama (tied embeddings)',
    write: (dir) => writeTinyLlama(dir, { nLayers: 2, dModel: 32, nHeads: 4, tied: true, seed: 10 }),
    reference: (tiny) => (ids, trace) => void referenceLlama(tiny.weights, tiny.config, ids, trace),
    head: (tiny) => referenceLlamaHead(tiny.weights, tiny.config),
  },
  {
    label: 'gpt2 (untied lm_head)',
    write: (dir) => writeTinyGpt2(dir, { nLayers: 2, dModel: 32, nHeads: 4, tied: false, seed: 12 }),
    reference: (tiny) => (ids, trace) => void referenceGpt2(tiny.weights, tiny.config, ids, trace),
    head: (tiny) => referenceGpt2Head(tiny.weights, tiny.config),
  },
  {
    label: 'gemma (embeddings × √d_model, 1 + w gains, multi-query attention, tied)',
    write: (dir) => writeTinyGemma(dir, { nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 1, headDim: 12, seed: 13 }),
    reference: (tiny) => (ids, trace) => void referenceGemma(tiny.weights, tiny.config, ids, trace),
    head: (tiny) => referenceGemmaHead(tiny.weights, tiny.config),
  },
  {
    label: 'gemma2 (post-sublayer norms, soft-capped scores and logits, window 4 on layers 0 and 2)',
    write: (dir) =>
      writeTinyGemma(dir, {
        modelType: 'gemma2',
        nLayers: 3,
        dModel: 32,
        nHeads: 4,
        nKvHeads: 2,
        headDim: 12,
        slidingWindow: 4,
        attnLogitSoftcapping: 1.5,
        finalLogitSoftcapping: 2,
        seed: 14,
      }),
    reference: (tiny) => (ids, trace) => void referenceGemma(tiny.weights, tiny.config, ids, trace),
    head: (tiny) => referenceGemmaHead(tiny.weights, tiny.config),
  },
  {
    label: 'phi (one LayerNorm, parallel block, partial rotary, lm_head with a bias)',
    write: (dir) => writeTinyPhi(dir, { nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 2, seed: 15 }),
    reference: (tiny) => (ids, trace) => void referencePhi(tiny.weights, tiny.config, ids, trace),
    head: (tiny) => referencePhiHead(tiny.weights, tiny.config),
  },
  {
    label: 'phi3 (fused qkv_proj and gate_up_proj, window 4)',
    write: (dir) => writeTinyPhi(dir, { modelType: 'phi3', nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 2, dMlp: 48, slidingWindow: 4, seed: 16 }),
    reference: (tiny) => (ids, trace) => void referencePhi(tiny.weights, tiny.config, ids, trace),
    head: (tiny) => referencePhiHead(tiny.weights, tiny.config),
  },
  {
    label: 'gptj (interleaved partial rotary, parallel block, lm_head with a bias)',
    write: (dir) => writeTinyGptj(dir, { nLayers: 2, dModel: 32, nHeads: 4, rotaryDim: 4, seed: 17 }),
    reference: (tiny) => (ids, trace) => void referenceGptj(tiny.weights, tiny.config, ids, trace),
    head: (tiny) => referenceGptjHead(tiny.weights, tiny.config),
  },
  {
    label: 'mixtral (top-2 of 8 experts, grouped-query attention, window 5)',
    write: (dir) => writeTinyMixtral(dir, { nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 2, nExperts: 8, slidingWindow: 5, seed: 18 }),
    reference: (tiny) => (ids, trace) => void referenceMixtral(tiny.weights, tiny.config, ids, trace),
    head: (tiny) => referenceMixtralHead(tiny.weights, tiny.config),
  },
  {
    label: 'opt (learned positions with offset 2, relu)',
    write: (dir) => writeTinyOpt(dir, { nLayers: 2, dModel: 32, nHeads: 4, seed: 11 }),
    reference: (tiny) => (ids, trace) => void referenceOpt(tiny.weights, tiny.config, ids, 2, trace),
    head: (tiny) => referenceOptHead(tiny.weights, tiny.config),
  },
  {
    label: 'qwen3 (per-head q/k norms, grouped-query attention, window 4 from layer 1, tied)',
    write: (dir) =>
      writeTinyQwen3(dir, { nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 2, headDim: 8, slidingWindow: 4, maxWindowLayers: 1, tied: true, seed: 15 }),
    reference: (tiny) => (ids, trace) => void referenceQwen3(tiny.weights, tiny.config, ids, trace),
    head: (tiny) => referenceQwen3Head(tiny.weights, tiny.config),
  },
  {
    label: 'olmo (LayerNorms without parameters, clip_qkv 0.5 that binds, attention biases, untied)',
    write: (dir) => writeTinyOlmo(dir, { nLayers: 2, dModel: 32, nHeads: 4, clipQkv: 0.5, attentionBias: true, seed: 16 }),
    reference: (tiny) => (ids, trace) => void referenceOlmo(tiny.weights, tiny.config, ids, trace),
    head: (tiny) => referenceOlmoHead(tiny.weights, tiny.config),
  },
  {
    label: "olmo2 (norms on each sub-block's output only, q/k norms over the whole projections, grouped-query attention)",
    write: (dir) => writeTinyOlmo(dir, { modelType: 'olmo2', nLayers: 3, dModel: 32, nHeads: 4, nKvHeads: 2, seed: 17 }),
    reference: (tiny) => (ids, trace) => void referenceOlmo(tiny.weights, tiny.config, ids, trace),
    head: (tiny) => referenceOlmoHead(tiny.weights, tiny.config),
  },
  {
    label: 'gemma3_text (q/k norms 1 + w, local layers of window 4 with base 100, a global layer with base 1e5, untied)',
    write: (dir) =>
      writeTinyGemma(dir, {
        modelType: 'gemma3_text',
        nLayers: 3,
        dModel: 32,
        nHeads: 4,
        nKvHeads: 2,
        headDim: 8,
        slidingWindow: 4,
        slidingWindowPattern: 3,
        ropeLocalBaseFreq: 100,
        ropeTheta: 100000,
        untied: true,
        seed: 18,
      }),
    reference: (tiny) => (ids, trace) => void referenceGemma(tiny.weights, tiny.config, ids, trace),
    head: (tiny) => referenceGemmaHead(tiny.weights, tiny.config),
  },
];

describe('in-graph diagnostics against the plain-TypeScript reference', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-diagnostics-graph-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  cases.forEach(({ label, write, reference, head }, index) => {
    it(`every diagnostic column agrees (absolute ${TOLERANCE.absolute}, relative ${TOLERANCE.relative}, lens entropy ${COLUMN_TOLERANCE.lens_entropy} relative, same dimensions and ranks), one prompt at a time and padded in a batch: ${label}`, async () => {
      const tiny = await write(join(root, `case${index}`));
      const { errors, batchVsSingle, compared, nearTies } = await diagnosticsAgainstReference(
        tiny.dir,
        makePrompts(200 + index),
        ALL,
        reference(tiny),
        head(tiny),
      );
      const parallel =
        (tiny.config.use_parallel_residual !== false && tiny.config.model_type === 'gpt_neox') || ['phi', 'gptj'].includes(tiny.config.model_type as string);
      assert.equal(errors.has('cos_block_resid_pre_raw'), parallel, 'parallel blocks compare attn_out + mlp_out with resid_pre');
      assert.equal(errors.has('cos_mlp_resid_mid_raw'), !parallel, 'sequential blocks compare mlp_out with resid_mid');
      const report: string[] = [];
      for (const [column, error] of errors) {
        const measure = measureOf(column);
        assert.ok(compared.get(column)! > 0, `${column} compared no values`);
        assert.ok(error <= toleranceOf(column), `${column}: ${measure} difference ${error} exceeds ${toleranceOf(column)}`);
        report.push(`${column} ${measure === 'mismatches' ? error : error.toExponential(1)}`);
      }
      assert.ok(batchVsSingle < BATCH_TOLERANCE, `padded batch differs from one at a time by ${batchVsSingle}`);
      process.stdout.write(
        `# ${label}: ${report.join(', ')}; lens ranks with a near tie ${nearTies.ranks} (${nearTies.differing} differ); batch vs single ${batchVsSingle.toExponential(1)}\n`,
      );
    });
  });

  it("head writes with the value biases kept in z (--no-fold-value-biases) agree with the module's own z; folded and unfolded differ by the biases", async () => {
    const unfolded: DiagnosticSelection = { diagnostics: ['heads'], headValueBiases: 'unfolded' };
    for (const index of [0, 2, 5]) {
      const { write, reference, head } = cases[index]!;
      const tiny = await write(join(root, `unfolded${index}`));
      const agreement = await diagnosticsAgainstReference(tiny.dir, makePrompts(300 + index), unfolded, reference(tiny), head(tiny));
      for (const column of ['head_write_raw', 'head_write_centered'])
        assert.ok(agreement.errors.get(column)! <= TOLERANCE.relative, `${cases[index]!.label}: ${column} unfolded differs by ${agreement.errors.get(column)}`);
      // The graph's unfolded writes against the folded reference, and the reverse: the value biases are not negligible here.
      const folded = await diagnosticsAgainstReference(tiny.dir, makePrompts(300 + index), unfolded, (ids, trace) => {
        reference(tiny)(ids, trace);
        for (const block of trace) block.z = block.zFolded;
      });
      assert.ok(
        folded.errors.get('head_write_centered')! > 100 * TOLERANCE.relative,
        `${cases[index]!.label}: folding should change the writes, got ${folded.errors.get('head_write_centered')}`,
      );
    }
  });

  it('sinks over the first k positions: 0 on queries whose local window no longer sees them, every key summed where it does (GPT-Neo, window 4)', async () => {
    const tiny = await writeTinyGptNeo(join(root, 'local-sinks'), {
      dModel: 32,
      nHeads: 4,
      attentionTypes: [[['global', 'local'], 1]],
      windowSize: 4,
      seed: 3,
    });
    const ids = makePrompts(400)[3]!; // 20 tokens
    const trace: BlockTrace[] = [];
    referenceGptNeo(tiny.weights, tiny.config, ids, trace);
    const model = await loadModel(tiny.dir);
    const layout = await planExternalData(model.weights.files);
    const graph = buildTransformerGraph(model.spec, { hooks: ['resid_pre'], layout, diagnostics: { diagnostics: ['sinks'], sinkTokens: 3 } });
    const session = await createNormSession(graph.bytes, layout.folder, { device: 'cpu', threads: 1 });
    let values: Float32Array;
    try {
      values = (await session.run(BigInt64Array.from(ids, BigInt), 1, ids.length, ['diagnostics.sink_mass_first_3'])).get('diagnostics.sink_mass_first_3')!;
    } finally {
      await session.release();
    }
    const nHeads = 4;
    const at = (position: number, layer: number, head: number) => values[position * 2 * nHeads + layer * nHeads + head]!;
    for (let position = 0; position < ids.length; position += 1) {
      for (let head = 0; head < nHeads; head += 1) {
        // Layer 1 is local: query t sees keys t − 3 … t, so none of keys 0…2 from t = 6 on.
        if (position >= 6) assert.equal(at(position, 1, head), 0, `local layer, query ${position}, head ${head}`);
        else assert.ok(at(position, 1, head) > 0, `local layer, query ${position} still sees a first position`);
        assert.ok(at(position, 0, head) > 0, 'the global layer sees the first positions from every query');
        // Queries at positions 0…2 see only the first three positions: all their attention is there.
        if (position < 3)
          for (const layer of [0, 1]) assert.ok(Math.abs(at(position, layer, head) - 1) < 1e-6, `query ${position} attends only to the first 3`);
        const expected = (layer: number) => trace[layer]!.pattern[head]![position]!.slice(0, 3).reduce((a, b) => a + b, 0);
        for (const layer of [0, 1])
          assert.ok(
            Math.abs(at(position, layer, head) - expected(layer)) < 1e-5,
            `layer ${layer}, query ${position}, head ${head}: ${at(position, layer, head)} vs ${expected(layer)}`,
          );
      }
    }
  });

  it("Sun et al.'s massive activations on a planted model: the graph counts those the reference counts, and the per-sequence ratio is not the per-token one", async () => {
    const tiny = await writeTinyGpt2(join(root, 'planted'), { nLayers: 2, dModel: 32, nHeads: 4, plant: { token: 65, dim: 3, value: 3000 } });
    const random = createRandom(500);
    // Two prompts with the planted token (at position 0, and at positions 2 and 9), one without.
    const prompts = [
      [65, ...Array.from({ length: 11 }, () => random.integer(60))],
      Array.from({ length: 14 }, (_, p) => (p === 2 || p === 9 ? 65 : random.integer(60))),
      Array.from({ length: 6 }, () => random.integer(60)),
    ];
    const selection: DiagnosticSelection = { diagnostics: ['massive-median', 'massive-sequence'] };
    const reference = (ids: number[], trace: BlockTrace[]) => void referenceGpt2(tiny.weights, tiny.config, ids, trace);
    const { errors, batchVsSingle } = await diagnosticsAgainstReference(tiny.dir, prompts, selection, reference);
    for (const [column, error] of errors) assert.ok(error <= toleranceOf(column), `${column}: ${error}`);
    assert.ok(batchVsSingle < BATCH_TOLERANCE);
    const shape = { nLayers: 2, nHeads: 4, dModel: 32, parallelResidual: false };
    const counts = prompts.map((ids) => {
      const trace: BlockTrace[] = [];
      reference(ids, trace);
      const sun = referenceSequenceDiagnostics(trace, selection, shape);
      const perToken = referenceDiagnostics(trace, selection, shape).get('massive_median_ratio')!;
      // The per-token ratio divides by the median of the token's own 32 channels, Sun et al.'s by the sequence's.
      for (const layer of [0, 1]) {
        const largestPerToken = Math.max(...perToken.map((values) => values[layer]!));
        assert.ok(Math.abs(largestPerToken - sun.get('massive_seq_ratio')![layer]!) > 1e-3 * largestPerToken, `the two ratios differ at layer ${layer}`);
      }
      return sun.get('massive_seq_count')!;
    });
    assert.deepEqual(
      counts,
      [
        [1, 1],
        [2, 2],
        [0, 0],
      ],
      'one massive activation per planted token, at every layer',
    );
  });

  it('the comparison can fail: another model’s reference disagrees', async () => {
    const tiny = await writeTinyGpt2(join(root, 'other-a'), { nLayers: 2, dModel: 32, nHeads: 4 });
    const other = await writeTinyGpt2(join(root, 'other-b'), { nLayers: 2, dModel: 32, nHeads: 4, seed: 99 });
    const { errors } = await diagnosticsAgainstReference(
      tiny.dir,
      makePrompts(1),
      ALL,
      (ids, trace) => void referenceGpt2(other.weights, other.config, ids, trace),
      referenceGpt2Head(other.weights, other.config),
    );
    for (const column of [
      'cos_attn_resid_pre_raw',
      'massive_max',
      'massive_median_ratio',
      'massive_seq_top1',
      'massive_seq_median',
      'sink_mass',
      'sink_mass_first_4',
      'head_write_raw',
      'lens_entropy',
    ]) {
      assert.ok(errors.get(column)! > toleranceOf(column) * 100, `${column} should disagree, got ${errors.get(column)}`);
    }
    assert.ok(errors.get('lens_next_rank')! > 0, 'lens ranks should disagree');
  });
});
