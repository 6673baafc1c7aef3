import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeLayerWeightNorms } from '../../src/weights/weight-norms.js';
import { transformerLensConvention } from '../../src/architectures/conventions.js';
import type { NormKind, WeightLayout } from '../../src/architectures/types.js';
import { createRandom } from '../support/random.js';
import { assertClose, assertMatchesReference } from '../support/weight-assertions.js';
import { l2, packBlock, processBlock, randomBlock, referenceNorms, roundBlock, type BlockShape } from '../support/weight-reference.js';

/** TransformerLens's default processing for a model of pre-norm blocks with these norms. */
const transformerLensProcessing = (kind: NormKind) => transformerLensConvention(kind, 'pre').weightProcessing;

interface Case {
  name: string;
  qkv: 'fused' | 'fused-per-head' | 'separate';
  layout: WeightLayout;
  shape: BlockShape;
}

const LN = { normalization: 'layernorm', gated: false } as const;
const CASES: Case[] = [
  {
    name: 'GPT-2-like: fused [q|k|v], Conv1D [in, out], LayerNorm, all biases',
    qkv: 'fused',
    layout: 'in_out',
    shape: { ...LN, dModel: 12, nHeads: 3, nKvHeads: 3, dHead: 4, dMlp: 20, qkvBias: true, outBias: true, mlpBias: true },
  },
  {
    name: 'GPT-NeoX-like: q/k/v fused per head, nn.Linear [out, in]',
    qkv: 'fused-per-head',
    layout: 'out_in',
    shape: { ...LN, dModel: 10, nHeads: 2, nKvHeads: 2, dHead: 5, dMlp: 24, qkvBias: true, outBias: true, mlpBias: true },
  },
  {
    name: 'GPT-Neo-like: separate q/k/v without bias, out bias',
    qkv: 'separate',
    layout: 'out_in',
    shape: { ...LN, dModel: 12, nHeads: 4, nKvHeads: 4, dHead: 3, dMlp: 16, qkvBias: false, outBias: true, mlpBias: true },
  },
  {
    name: 'Llama-like: RMSNorm, grouped-query attention (6 query heads, 2 kv heads), SwiGLU, no biases',
    qkv: 'separate',
    layout: 'out_in',
    shape: { dModel: 12, nHeads: 6, nKvHeads: 2, dHead: 4, dMlp: 18, normalization: 'rmsnorm', gated: true, qkvBias: false, outBias: false, mlpBias: false },
  },
  {
    name: 'Qwen2-like: RMSNorm, GQA, q/k/v biases but no b_O, gated MLP with biases',
    qkv: 'separate',
    layout: 'out_in',
    shape: { dModel: 8, nHeads: 4, nKvHeads: 2, dHead: 3, dMlp: 10, normalization: 'rmsnorm', gated: true, qkvBias: true, outBias: false, mlpBias: true },
  },
  {
    name: 'fused [q|k|v] with GQA, Conv1D layout, an MLP wider than one chunk of 256 rows',
    qkv: 'fused',
    layout: 'in_out',
    shape: { ...LN, dModel: 6, nHeads: 4, nKvHeads: 2, dHead: 2, dMlp: 600, qkvBias: true, outBias: true, mlpBias: true },
  },
  {
    name: 'LayerNorm, gated MLP, nn.Linear layout',
    qkv: 'fused',
    layout: 'out_in',
    shape: { dModel: 8, nHeads: 2, nKvHeads: 1, dHead: 4, dMlp: 12, normalization: 'layernorm', gated: true, qkvBias: false, outBias: false, mlpBias: true },
  },
];

describe('weight norms of one block, against explicit products on TransformerLens-oriented matrices', () => {
  for (const [index, testCase] of CASES.entries()) {
    it(testCase.name, () => {
      const block = roundBlock(randomBlock(testCase.shape, createRandom(100 + index)));
      const packed = packBlock(block, testCase.qkv, testCase.layout);
      const layer = computeLayerWeightNorms(7, packed, block.dims, transformerLensProcessing(testCase.shape.normalization));
      assert.equal(layer.layer, 7);
      assertMatchesReference(layer, 'raw', referenceNorms(block), testCase.name);
      assertMatchesReference(layer, 'processed', referenceNorms(processBlock(block)), testCase.name);
      assertClose(layer.raw['ln1.w'], l2(block.ln1.w), 'ln1.w');
      assertClose(layer.raw['ln2.w_mean'], block.ln2.w.reduce((a, b) => a + b, 0) / block.ln2.w.length, 'ln2.w_mean');
      assertClose(layer.raw['ln1.b'], block.ln1.b ? l2(block.ln1.b) : null, 'ln1.b');
    });
  }

  it('says null for absent biases, and folds value biases into b_O even when the model has no b_O', () => {
    const [llama, qwen] = [CASES[3]!, CASES[4]!].map((testCase, i) => {
      const block = roundBlock(randomBlock(testCase.shape, createRandom(200 + i)));
      return computeLayerWeightNorms(0, packBlock(block, testCase.qkv, testCase.layout), block.dims, transformerLensProcessing('rmsnorm'));
    });
    for (const name of ['b_O', 'b_in', 'b_gate', 'b_out'] as const) {
      assert.equal(llama!.raw[name], null, `llama raw ${name}`);
      assert.equal(llama!.processed[name], null, `llama processed ${name}`);
    }
    assert.equal(llama!.raw['ln1.b'], null);
    assert.equal(qwen!.raw.b_O, null);
    assert.ok(qwen!.processed.b_O! > 0, 'b_V · W_O lands in the processed b_O');
  });

  it('the processing changes what it should: centering only for LayerNorm', () => {
    assert.deepEqual(transformerLensProcessing('rmsnorm'), {
      foldNormGains: true,
      foldNormBiases: false,
      centerReadingWeights: false,
      centerWritingWeights: false,
      foldValueBiases: true,
    });
    const testCase = CASES[3]!;
    const block = roundBlock(randomBlock(testCase.shape, createRandom(5)));
    const layer = computeLayerWeightNorms(0, packBlock(block, testCase.qkv, testCase.layout), block.dims, transformerLensProcessing('rmsnorm'));
    assert.equal(layer.processed.W_O, layer.raw.W_O, 'RMSNorm: writing weights are not centered');
    assert.notEqual(layer.processed.W_Q, layer.raw.W_Q, 'the gain is folded into W_Q');
  });
});
