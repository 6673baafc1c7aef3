/**
 * The logit lens in the graph, beyond the every-family agreement of diagnostics-graph.test.ts:
 * exact ties, a model without a final norm, the trained demo GPT-2 and stories260K (whose last
 * stream is the model's own prediction: its greedy continuation must have rank 0), and that a
 * graph without the lens reads no next_ids.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { planExternalData } from '../../src/graph/external-data.js';
import { availableHooks, buildTransformerGraph } from '../../src/graph/transformer-graph.js';
import { loadModel } from '../../src/architectures/load-model.js';
import { readTensorValues, readWeightIndex } from '../../src/models/weight-index.js';
import { DEMO_MODEL_DIR, PACKAGE_ROOT } from '../../src/package-paths.js';
import { DIAGNOSTICS, LENS_NO_NEXT } from '../../src/results/diagnostics.js';
import { createNormSession } from '../../src/runtime/onnx-session.js';
import { diagnosticsAgainstReference } from '../support/diagnostics-agreement.js';
import { createRandom } from '../support/random.js';
import { referenceGpt2, referenceGpt2Head } from '../support/reference-gpt2.js';
import { referenceOpt, referenceOptHead } from '../support/reference-opt.js';
import { writeTinyLlama } from '../support/tiny-llama.js';
import { editConfig } from '../support/tiny-model.js';
import { writeTinyOpt } from '../support/tiny-opt.js';

const LENS = { diagnostics: ['lens'] as const };
const STORIES = resolve(PACKAGE_ROOT, '..', 'shared', 'models', 'stories260K');
const storiesPresent = existsSync(join(STORIES, 'model.safetensors')) && existsSync(join(STORIES, 'reference.json'));

/** The lens's two outputs for one prompt, [position][stream]. */
async function runLens(dir: string, ids: number[]): Promise<{ entropy: number[][]; rank: number[][] }> {
  const model = await loadModel(dir);
  const layout = await planExternalData(model.weights.files);
  const graph = buildTransformerGraph(model.spec, { hooks: ['resid_pre'], layout, diagnostics: LENS });
  assert.ok(graph.readsNextIds);
  const session = await createNormSession(graph.bytes, layout.folder, { device: 'cpu', threads: 1 });
  try {
    const next = BigInt64Array.from(ids, (_, p) => BigInt(p + 1 < ids.length ? ids[p + 1]! : LENS_NO_NEXT));
    const out = await session.run(BigInt64Array.from(ids, BigInt), 1, ids.length, ['diagnostics.lens_entropy', 'diagnostics.lens_next_rank'], next);
    const streams = model.spec.dims.nLayers + 1;
    const rows = (values: Float32Array) => ids.map((_, p) => Array.from(values.subarray(p * streams, (p + 1) * streams)));
    return { entropy: rows(out.get('diagnostics.lens_entropy')!), rank: rows(out.get('diagnostics.lens_next_rank')!) };
  } finally {
    await session.release();
  }
}

describe('the logit lens in the graph', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-lens-graph-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it('counts only logits strictly greater than the next token’s: with every logit equal, every rank is 0 and the entropy ln(dVocab)', async () => {
    const tiny = await writeTinyLlama(join(root, 'ties'), { nLayers: 2, dModel: 32, nHeads: 4, constantHead: 0.01 });
    const ids = [256, 3, 99, 3, 42, 7];
    const { entropy, rank } = await runLens(tiny.dir, ids);
    const lnV = Math.log(257);
    entropy.flat().forEach((value) => assert.ok(Math.abs(value - lnV) / lnV < 1e-6, `entropy ${value} vs ln 257 = ${lnV}`));
    rank.forEach((streams, p) => streams.forEach((value) => assert.equal(value, p === ids.length - 1 ? LENS_NO_NEXT : 0)));
  });

  it('a model without a final norm (OPT with _remove_final_layer_norm) unembeds the stream as it is, as the reference does', async () => {
    const tiny = await writeTinyOpt(join(root, 'opt'), { nLayers: 2, dModel: 32, nHeads: 4, seed: 21 });
    await editConfig(tiny.dir, { _remove_final_layer_norm: true });
    const config = { ...tiny.config, _remove_final_layer_norm: true };
    const random = createRandom(5);
    const prompts = [9, 14].map((length) => Array.from({ length }, () => random.integer(264)));
    const { errors } = await diagnosticsAgainstReference(
      tiny.dir,
      prompts,
      LENS,
      (ids, trace) => void referenceOpt(tiny.weights, config, ids, 2, trace),
      referenceOptHead(tiny.weights, config),
    );
    assert.ok(errors.get('lens_entropy')! < 5e-5, `entropy ${errors.get('lens_entropy')}`);
    assert.equal(errors.get('lens_next_rank'), 0);
    // …and the final norm mattered: with it, the reference disagrees.
    const normed = await diagnosticsAgainstReference(
      tiny.dir,
      prompts,
      LENS,
      (ids, trace) => void referenceOpt(tiny.weights, config, ids, 2, trace),
      referenceOptHead(tiny.weights, tiny.config),
    );
    assert.ok(normed.errors.get('lens_entropy')! > 1e-2, `the final norm should change the entropy, got ${normed.errors.get('lens_entropy')}`);
  });

  it('the demo model (a trained GPT-2) agrees with the reference, and its last stream predicts better than its first', async () => {
    const weights = new Map<string, Float32Array>();
    for (const [name, info] of (await readWeightIndex(DEMO_MODEL_DIR)).tensors) weights.set(name.replace(/^transformer\./, ''), await readTensorValues(info));
    const config = JSON.parse(await readFile(join(DEMO_MODEL_DIR, 'config.json'), 'utf8')) as Record<string, unknown>;
    const bytes = (text: string) => [256, ...Buffer.from(text, 'utf8')];
    const prompts = [bytes('It is a truth universally acknowledged, that a single man'), bytes('Mr. Darcy was')];
    const { errors, nearTies } = await diagnosticsAgainstReference(
      DEMO_MODEL_DIR,
      prompts,
      LENS,
      (ids, trace) => void referenceGpt2(weights, config, ids, trace),
      referenceGpt2Head(weights, config),
    );
    assert.ok(errors.get('lens_entropy')! < 5e-5, `entropy ${errors.get('lens_entropy')}`);
    assert.equal(errors.get('lens_next_rank'), 0);
    const { rank } = await runLens(DEMO_MODEL_DIR, prompts[0]!);
    const mean = (stream: number) => rank.slice(1, -1).reduce((sum, streams) => sum + streams[stream]!, 0) / (rank.length - 2);
    assert.ok(mean(8) < mean(0) / 2, `mean rank of the next byte: ${mean(0)} from the embeddings, ${mean(8)} at the output`);
    process.stdout.write(
      `# demo-gpt2: lens_entropy ${errors.get('lens_entropy')!.toExponential(1)}, ranks identical (near ties ${nearTies.ranks}); mean next-byte rank ${mean(0).toFixed(1)} → ${mean(8).toFixed(2)}\n`,
    );
  });

  it('stories260K: the last stream is the model’s own prediction, so its greedy continuation from BOS has rank 0 at every position', {
    skip: storiesPresent ? false : `stories260K not found at ${STORIES}; put the shared model folder there to run this test`,
  }, async () => {
    const reference = JSON.parse(await readFile(join(STORIES, 'reference.json'), 'utf8')) as { ids: number[]; greedyNextTokenFromBos: number[] };
    const greedy = [1, ...reference.greedyNextTokenFromBos];
    assert.deepEqual(reference.ids.slice(0, greedy.length), greedy, 'reference.json’s ids begin with the greedy continuation');
    const { rank } = await runLens(STORIES, greedy);
    assert.deepEqual(
      rank.map((streams) => streams.at(-1)),
      [...greedy.slice(1).map(() => 0), LENS_NO_NEXT],
    );
    assert.ok(
      rank.slice(0, -1).some((streams) => streams[0]! > 0),
      'the embeddings alone do not predict it',
    );
  });

  it('costs nothing unless selected: a graph without the lens has no next_ids input and does not reference W_U', async () => {
    const tiny = await writeTinyLlama(join(root, 'plain'), { nLayers: 2, dModel: 32, nHeads: 4 });
    const model = await loadModel(tiny.dir);
    const layout = await planExternalData(model.weights.files);
    const others = { diagnostics: DIAGNOSTICS.filter((name) => name !== 'lens') };
    const plain = buildTransformerGraph(model.spec, { hooks: availableHooks(model.spec), layout });
    const withOthers = buildTransformerGraph(model.spec, { hooks: availableHooks(model.spec), layout, diagnostics: others });
    assert.equal(plain.readsNextIds, false);
    assert.equal(withOthers.readsNextIds, false);
    assert.ok(!Buffer.from(withOthers.bytes).includes('next_ids'), 'no next_ids anywhere in the graph');
    assert.ok(!Buffer.from(withOthers.bytes).includes('lm_head.weight'), 'W_U is not referenced');
    assert.ok(
      Buffer.from(buildTransformerGraph(model.spec, { hooks: availableHooks(model.spec), layout, diagnostics: LENS }).bytes).includes('lm_head.weight'),
    );
  });
});
