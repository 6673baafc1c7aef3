/**
 * The probe graph's attention side against algebra instead of the same samples: for x the
 * block's normalisation (without bias) of z ~ N(0, I), E‖Σ_h W_OV^h x‖² has a closed form
 * (expectedOvSquare). The sample mean of N values must be within 4 standard errors of it
 * (a false failure once in ~16,000 runs; the seeds are fixed, so never in practice).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gaussianRows, sampleMean } from '../../src/analysis/mechanism-sampling.js';
import { runProbes } from '../../src/commands/mechanisms-probes.js';
import { planExternalData } from '../../src/graph/external-data.js';
import { buildProbeGraph } from '../../src/graph/probe-graph.js';
import { loadModel } from '../../src/architectures/load-model.js';
import { createTensorSession } from '../../src/runtime/tensor-session.js';
import { expectedOvSquare, referenceModel, type Architecture } from '../support/reference-mechanisms.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';
import { writeTinyGptNeox } from '../support/tiny-gpt-neox.js';
import { writeTinyLlama } from '../support/tiny-llama.js';
import type { TinyModel } from '../support/tiny-gpt2.js';

const N = 4000;

const CASES: Array<{ label: string; architecture: Architecture; write(dir: string): Promise<TinyModel> }> = [
  { label: 'GPT-2 (LayerNorm: d/(d−1)·‖C G T C‖²)', architecture: 'gpt2', write: (dir) => writeTinyGpt2(dir, { nLayers: 2, dModel: 32, nHeads: 4, seed: 21 }) },
  { label: 'GPT-NeoX (per-head fused q/k/v)', architecture: 'gpt_neox', write: (dir) => writeTinyGptNeox(dir, { nLayers: 2, seed: 22 }) },
  {
    label: 'Llama (RMSNorm: ‖G T‖², grouped-query attention)',
    architecture: 'llama',
    write: (dir) => writeTinyLlama(dir, { nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 2, seed: 23 }),
  },
];

describe('probe graph: mean ‖Σ_h W_OV^h x‖² of normalised Gaussian inputs against its expectation', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-probe-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  for (const [index, testCase] of CASES.entries()) {
    it(testCase.label, async () => {
      const tiny = await testCase.write(join(root, `m${index}`));
      const { spec, weights } = await loadModel(tiny.dir);
      const layout = await planExternalData(weights.files);
      const session = await createTensorSession(buildProbeGraph(spec, layout).bytes, layout.folder, { device: 'cpu', threads: 1 });
      const inputs = gaussianRows(1000 + index, N, spec.dims.dModel);
      const values = await runProbes(session, spec, N, () => inputs, 'test').finally(() => session.release());
      const model = referenceModel(testCase.architecture, tiny.weights, tiny.config);
      for (let layer = 0; layer < spec.dims.nLayers; layer += 1) {
        const squares = Array.from(values[layer]!.ov_norm, (norm) => norm * norm);
        const { mean, stderr: error } = sampleMean(squares);
        const stderr = error!;
        const expected = expectedOvSquare(model, layer);
        const z = Math.abs(mean - expected) / stderr;
        assert.ok(z < 4, `layer ${layer}: mean ‖ΣW_OV x‖² ${mean} vs expected ${expected}: ${z.toFixed(2)} standard errors (${stderr}) apart`);
        // …and the test can fail: a 10 % error in the expectation is far outside the band.
        assert.ok(Math.abs(mean - 1.1 * expected) / stderr > 4, `layer ${layer}: N = ${N} is too few to tell a 10 % error`);
      }
    });
  }
});
