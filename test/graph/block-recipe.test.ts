/**
 * The block recipe (src/graph/block-recipe.ts) as other graphs use it: a range of blocks with
 * the residual stream as graph input and output gives, run after the range before it, the
 * stream of the whole model; every tap is reported once per block, in BLOCK_TAPS order, and the
 * taps a block lacks (resid_mid in parallel blocks, mlp.pre_linear in dense MLPs, mlp.routing
 * but in mixtures of experts, which have no one mlp.pre, pre_linear or post) are absent.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadModel } from '../../src/architectures/load-model.js';
import { BLOCK_TAPS, buildBlocks, type BlockTap } from '../../src/graph/block-recipe.js';
import { planExternalData } from '../../src/graph/external-data.js';
import { GraphContext } from '../../src/graph/graph-context.js';
import { GraphBuilder } from '../../src/graph/onnx-builder.js';
import { INPUT_IDS, outputResidual, RESIDUAL_INPUT, startFromResidual, startFromTokens } from '../../src/graph/stream.js';
import { createTensorSession } from '../../src/runtime/tensor-session.js';
import { writeTinyGptNeox } from '../support/tiny-gpt-neox.js';
import { writeTinyLlama } from '../support/tiny-llama.js';
import { writeTinyMixtral } from '../support/tiny-mixtral.js';

describe('the block recipe over a range of blocks', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-block-range-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const cases = [
    {
      label: 'llama (sequential, gated MLP, grouped-query attention, sliding window)',
      write: (dir: string) =>
        writeTinyLlama(dir, { modelType: 'mistral', nLayers: 4, dModel: 16, nHeads: 4, nKvHeads: 2, dMlp: 24, extraConfig: { sliding_window: 3 } }),
    },
    { label: 'gpt_neox (parallel residual, dense MLP)', write: (dir: string) => writeTinyGptNeox(dir, { nLayers: 4, dModel: 16, nHeads: 2 }) },
    {
      label: 'mixtral (a mixture of experts)',
      write: (dir: string) => writeTinyMixtral(dir, { nLayers: 4, dModel: 16, nHeads: 2, nKvHeads: 1, dMlp: 24, nExperts: 4 }),
    },
  ];
  for (const [index, { label, write }] of cases.entries()) {
    it(`blocks 0…1 then 2…3, the stream handed over as a graph input, equal blocks 0…3: ${label}`, async () => {
      const tiny = await write(join(root, `case${index}`));
      const { spec, weights } = await loadModel(tiny.dir);
      const layout = await planExternalData(weights.files);
      const dModel = spec.dims.dModel;
      const taps: Array<{ layer: number; tap: BlockTap }> = [];

      const fromTokens = (to: number, record: boolean) => {
        const ctx = new GraphContext(new GraphBuilder('tokens'), layout);
        const start = startFromTokens(ctx, spec);
        const observer = (layer: number) => ({ tap: (tap: BlockTap) => void (record && taps.push({ layer, tap })) });
        const out = buildBlocks(ctx, start.sequence, spec, { from: 0, to }, start.residual, observer);
        outputResidual(ctx, start, out, dModel, 'resid_out');
        return ctx.g.toBytes();
      };
      const fromResidual = (from: number, to: number) => {
        const ctx = new GraphContext(new GraphBuilder('range'), layout);
        const start = startFromResidual(ctx, dModel);
        outputResidual(ctx, start, buildBlocks(ctx, start.sequence, spec, { from, to }, start.residual), dModel, 'resid_out');
        return ctx.g.toBytes();
      };
      const ids = [3, 141, 59, 26, 53, 58, 97, 93, 23];
      const run = async (
        bytes: Uint8Array,
        feed: Record<string, { type: 'int64'; data: BigInt64Array; dims: number[] } | { type: 'float32'; data: Float32Array; dims: number[] }>,
      ) => {
        const session = await createTensorSession(bytes, layout.folder, { device: 'cpu', threads: 1 });
        try {
          return (await session.run(feed, ['resid_out'])).get('resid_out')!;
        } finally {
          await session.release();
        }
      };
      const tokens = { [INPUT_IDS]: { type: 'int64' as const, data: BigInt64Array.from(ids, BigInt), dims: [1, ids.length] } };
      const whole = await run(fromTokens(4, true), tokens);
      const first = await run(fromTokens(2, false), tokens);
      assert.deepEqual(first.dims, [1, ids.length, dModel]);
      const second = await run(fromResidual(2, 4), { [RESIDUAL_INPUT]: { type: 'float32', data: first.data, dims: [1, ids.length, dModel] } });
      let worst = 0;
      whole.data.forEach((value, i) => (worst = Math.max(worst, Math.abs(value - second.data[i]!) / Math.max(Math.abs(value), 1e-6))));
      assert.ok(worst < 1e-6, `the range graphs differ from the whole model by ${worst}`);
      assert.ok(Math.abs(whole.data[5]! - first.data[5]!) > 1e-6, 'blocks 2…3 change the stream (the comparison is not trivial)');

      const { kind } = spec.blocks[0]!.mlp;
      const lacks = (tap: BlockTap) =>
        (spec.parallelResidual && tap === 'resid_mid') ||
        (kind === 'dense' && tap === 'mlp.pre_linear') ||
        (kind !== 'moe' && tap === 'mlp.routing') ||
        (kind === 'moe' && (tap === 'mlp.pre' || tap === 'mlp.pre_linear' || tap === 'mlp.post'));
      const expected = BLOCK_TAPS.filter((tap) => !lacks(tap));
      for (let layer = 0; layer < 4; layer += 1) {
        assert.deepEqual(
          taps.filter((entry) => entry.layer === layer).map((entry) => entry.tap),
          expected,
          `block ${layer}'s taps, in order`,
        );
      }
    });
  }

  it('refuses a range outside the model', async () => {
    const tiny = await writeTinyLlama(join(root, 'refuse'), { nLayers: 2 });
    const { spec, weights } = await loadModel(tiny.dir);
    const ctx = new GraphContext(new GraphBuilder('range'), await planExternalData(weights.files));
    const start = startFromResidual(ctx, spec.dims.dModel);
    assert.throws(() => buildBlocks(ctx, start.sequence, spec, { from: 1, to: 3 }, start.residual), /blocks 1…2 are not a range of the model's 2 blocks/);
    assert.throws(() => buildBlocks(ctx, start.sequence, spec, { from: 1, to: 1 }, start.residual), RangeError);
  });
});
