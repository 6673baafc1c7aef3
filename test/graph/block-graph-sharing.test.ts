/**
 * A run under --max-memory builds each block as block 0 of a one-block model with its weights as
 * graph inputs, and keeps one ONNX Runtime session per distinct graph (streamed-run.ts): blocks
 * that differ only in which tensors they read must give the same bytes, or every block gets a
 * session and an arena of its own (a 26-layer Gemma 2 under --max-memory 300MB held 1.8 GB so).
 * The families below carry what a description adds to a tensor (Gemma's 1 + w gains and scaled
 * embeddings, Gemma 3's q/k norm gains, Phi-3's rows of fused tensors, Mixtral's experts) and
 * blocks of two structures (Gemma 2's and Gemma 3's local and global layers).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadModel } from '../../src/architectures/load-model.js';
import type { BlockSpec } from '../../src/architectures/types.js';
import { buildMechanismBlockGraph } from '../../src/graph/mechanism-forward-graph.js';
import { buildMeasureBlockGraph } from '../../src/graph/streamed-graphs.js';
import { DIAGNOSTICS } from '../../src/results/diagnostics.js';
import type { TinyModel } from '../support/tiny-model.js';
import { writeTinyGemma } from '../support/tiny-gemma.js';
import { writeTinyLlama } from '../support/tiny-llama.js';
import { writeTinyMixtral } from '../support/tiny-mixtral.js';
import { writeTinyPhi } from '../support/tiny-phi.js';

/** A block as data with the tensors it reads replaced by what a graph sees of them: shape, dtype, and what the model does to them. */
function structureOf(block: BlockSpec): string {
  return JSON.stringify(block, (key, value: unknown) => {
    if (key !== 'tensor' || typeof value !== 'object' || value === null) return value;
    const { shape, dtype } = value as { shape: number[]; dtype: string };
    return { shape, dtype };
  });
}

const digest = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const CASES: Array<{ label: string; structures: number; write: (dir: string) => Promise<TinyModel> }> = [
  {
    label: 'gemma (1 + w gains)',
    structures: 1,
    write: (dir) => writeTinyGemma(dir, { nLayers: 3, dModel: 16, nHeads: 2, nKvHeads: 1, headDim: 8, dMlp: 24 }),
  },
  {
    label: 'gemma2 (post-sublayer norms 1 + w, a window on alternate layers)',
    structures: 2,
    write: (dir) => writeTinyGemma(dir, { modelType: 'gemma2', nLayers: 4, dModel: 16, nHeads: 2, nKvHeads: 1, headDim: 8, dMlp: 24, slidingWindow: 4 }),
  },
  {
    label: 'gemma3_text (q/k norm gains 1 + w, local and global rotary bases)',
    structures: 2,
    write: (dir) =>
      writeTinyGemma(dir, {
        modelType: 'gemma3_text',
        nLayers: 4,
        dModel: 16,
        nHeads: 2,
        nKvHeads: 1,
        headDim: 8,
        dMlp: 24,
        slidingWindow: 4,
        slidingWindowPattern: 2,
      }),
  },
  {
    label: 'phi3 (rows of fused tensors)',
    structures: 1,
    write: (dir) => writeTinyPhi(dir, { modelType: 'phi3', nLayers: 3, dModel: 16, nHeads: 2, nKvHeads: 1, dMlp: 24 }),
  },
  {
    label: 'mixtral (experts)',
    structures: 1,
    write: (dir) => writeTinyMixtral(dir, { nLayers: 3, dModel: 16, nHeads: 2, nKvHeads: 1, dMlp: 24, nExperts: 3 }),
  },
  { label: 'llama', structures: 1, write: (dir) => writeTinyLlama(dir, { nLayers: 3, dModel: 16, nHeads: 2, dMlp: 24 }) },
];

describe('streamed block graphs: one graph per block structure, whatever tensors the blocks read', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-block-sharing-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  for (const [index, { label, structures, write }] of CASES.entries()) {
    it(`${label}: ${structures} distinct graph${structures > 1 ? 's' : ''} for measure (every hook and diagnostic) and for mechanisms`, async () => {
      const tiny = await write(join(root, `case${index}`));
      const { spec } = await loadModel(tiny.dir);
      const layers = spec.blocks.map((_, layer) => layer);
      const byStructure = new Map<string, number[]>();
      for (const layer of layers) {
        const structure = structureOf(spec.blocks[layer]!);
        byStructure.set(structure, [...(byStructure.get(structure) ?? []), layer]);
      }
      assert.equal(byStructure.size, structures, 'the tiny model has the block structures the case names');
      const hooks = spec.parallelResidual
        ? (['resid_pre', 'attn_out', 'mlp_out', 'resid_post'] as const)
        : (['resid_pre', 'attn_out', 'resid_mid', 'mlp_out', 'resid_post'] as const);
      const graphs = {
        measure: (layer: number) =>
          buildMeasureBlockGraph(spec, layer, hooks, { diagnostics: [...DIAGNOSTICS], massiveDims: [1] }, { outputsResidual: true }).bytes,
        // The last block hands no stream on: compare the others.
        mechanisms: (layer: number) => (layer < spec.dims.nLayers - 1 ? buildMechanismBlockGraph(spec, layer).bytes : undefined),
      };
      for (const [name, build] of Object.entries(graphs)) {
        const digests = new Map<number, string>();
        for (const layer of layers) {
          const bytes = build(layer);
          if (bytes !== undefined) digests.set(layer, digest(bytes));
        }
        for (const members of byStructure.values()) {
          const seen = new Set(members.filter((layer) => digests.has(layer)).map((layer) => digests.get(layer)));
          assert.ok(seen.size <= 1, `${name}: blocks ${members.join(', ')} have one structure but ${seen.size} graphs`);
        }
        assert.equal(new Set(digests.values()).size, Math.min(structures, digests.size), `${name}: one graph per structure`);
      }
    });
  }
});
