import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { planExternalData } from '../../src/graph/external-data.js';
import { buildTransformerGraph } from '../../src/graph/transformer-graph.js';
import { loadModel } from '../../src/architectures/load-model.js';
import type { HookName } from '../../src/vocabulary/hooks.js';
import { createNormSession } from '../../src/runtime/onnx-session.js';
import { referenceGpt2 } from '../support/reference-gpt2.js';
import { createRandom } from '../support/random.js';
import { writeTinyGpt2, type TinyGpt2Options } from '../support/tiny-gpt2.js';

const HOOKS: HookName[] = ['resid_pre', 'attn_out', 'resid_mid', 'mlp_out', 'resid_post'];
const RELATIVE_TOLERANCE = 1e-4;

async function maxRelativeError(options: TinyGpt2Options, prompts: number[][], root: string, prepackWeights?: boolean): Promise<number> {
  const tiny = await writeTinyGpt2(join(root, `${JSON.stringify(options).replace(/\W+/g, '_')}${prepackWeights === false ? '_unpacked' : ''}`), options);
  const model = await loadModel(tiny.dir);
  const layout = await planExternalData(model.weights.files);
  const graph = buildTransformerGraph(model.spec, { hooks: HOOKS, layout });
  const session = await createNormSession(graph.bytes, layout.folder, {
    device: 'cpu',
    threads: 1,
    ...(prepackWeights === undefined ? {} : { prepackWeights }),
  });
  let worst = 0;
  try {
    for (const ids of prompts) {
      const outputs = await session.run(BigInt64Array.from(ids, BigInt), 1, ids.length, graph.outputNames);
      const reference = referenceGpt2(tiny.weights, tiny.config, ids);
      for (const output of graph.outputs) {
        const actual = outputs.get(output.name)!;
        const expected = reference[output.hook][output.metric][output.layer]!;
        assert.equal(actual.length, ids.length, `${output.name} length`);
        expected.forEach((value, position) => {
          const error = Math.abs(actual[position]! - value) / Math.max(Math.abs(value), 1e-6);
          worst = Math.max(worst, error);
        });
      }
    }
  } finally {
    await session.release();
  }
  return worst;
}

describe('GPT-2 graph against the plain-TypeScript reference', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-gpt2-graph-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const random = createRandom(3);
  const prompts = (count: number, vocab: number, maxLength: number) =>
    Array.from({ length: count }, (_, i) => Array.from({ length: 1 + ((i * 7) % maxLength) }, () => random.integer(vocab)));

  for (const options of [
    { nLayers: 2, dModel: 32, nHeads: 4, keys: 'lm-head-model' },
    { nLayers: 3, dModel: 24, nHeads: 3, keys: 'base-model', seed: 11 },
    { nLayers: 1, dModel: 16, nHeads: 2, activation: 'relu', seed: 5 },
  ] satisfies TinyGpt2Options[]) {
    it(`agrees on every hook norm to ${RELATIVE_TOLERANCE} (${JSON.stringify(options)})`, async () => {
      const worst = await maxRelativeError(options, prompts(4, 257, 20), root);
      assert.ok(worst < RELATIVE_TOLERANCE, `max relative error ${worst}`);
      assert.ok(worst > 0, 'float32 graph vs float64 reference cannot agree exactly; zero means nothing was compared');
      process.stdout.write(`# max relative error ${worst.toExponential(2)}\n`);
    });
  }

  // Models over 1 GB load their weights unpacked (memory-mapped), through other GEMM code.
  it(`agrees on every hook norm to ${RELATIVE_TOLERANCE} with weights left unpacked, as large models load`, async () => {
    const worst = await maxRelativeError({ nLayers: 2, dModel: 32, nHeads: 4, keys: 'lm-head-model' }, prompts(4, 257, 20), root, false);
    assert.ok(worst < RELATIVE_TOLERANCE && worst > 0, `max relative error ${worst}`);
    process.stdout.write(`# unpacked: max relative error ${worst.toExponential(2)}\n`);
  });
});
