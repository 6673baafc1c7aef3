/**
 * Runs a model folder's ONNX graph (every hook the architecture has) on token-id prompts and
 * returns the largest relative difference from a reference forward pass over every hook, layer,
 * metric and position. Prompts run one at a time and, in a second pass, together as one
 * right-padded batch (padding must never reach real tokens).
 */
import assert from 'node:assert/strict';
import { planExternalData } from '../../src/graph/external-data.js';
import { availableHooks, buildTransformerGraph } from '../../src/graph/transformer-graph.js';
import { loadModel } from '../../src/architectures/load-model.js';
import { createNormSession } from '../../src/runtime/onnx-session.js';
import type { HookNorms } from './reference-ops.js';

export async function maxRelativeErrorAgainst(dir: string, prompts: number[][], reference: (ids: number[]) => HookNorms): Promise<number> {
  const model = await loadModel(dir);
  const layout = await planExternalData(model.weights.files);
  const graph = buildTransformerGraph(model.spec, { hooks: availableHooks(model.spec), layout });
  const names = graph.outputNames;
  const session = await createNormSession(graph.bytes, layout.folder, { device: 'cpu', threads: 1 });
  const expected = prompts.map(reference);
  let worst = 0;
  // actual: [batch, pos] flattened; row b of the batch holds prompt `indices[b]`.
  const compare = (outputs: Map<string, Float32Array>, indices: number[], width: number) => {
    for (const output of graph.outputs) {
      const actual = outputs.get(output.name)!;
      assert.equal(actual.length, indices.length * width, `${output.name} size`);
      indices.forEach((promptIndex, row) => {
        const values = expected[promptIndex]![output.hook][output.metric][output.layer]!;
        assert.equal(values.length, prompts[promptIndex]!.length);
        values.forEach((value, position) => {
          const error = Math.abs(actual[row * width + position]! - value) / Math.max(Math.abs(value), 1e-6);
          worst = Math.max(worst, error);
        });
      });
    }
  };
  try {
    for (const [index, ids] of prompts.entries()) {
      compare(await session.run(BigInt64Array.from(ids, BigInt), 1, ids.length, names), [index], ids.length);
    }
    const width = Math.max(...prompts.map((ids) => ids.length));
    const padded = new BigInt64Array(prompts.length * width); // padding id 0
    prompts.forEach((ids, row) => ids.forEach((id, position) => (padded[row * width + position] = BigInt(id))));
    compare(
      await session.run(padded, prompts.length, width, names),
      prompts.map((_, i) => i),
      width,
    );
  } finally {
    await session.release();
  }
  return worst;
}

/** Largest relative difference between two references' norms (to show a test can fail). */
export function maxRelativeDifference(a: HookNorms, b: HookNorms): number {
  let worst = 0;
  for (const hook of Object.keys(a) as Array<keyof HookNorms>) {
    a[hook].centered.forEach((row, layer) =>
      row.forEach((value, position) => {
        worst = Math.max(worst, Math.abs(value - b[hook].centered[layer]![position]!) / Math.abs(value));
      }),
    );
  }
  return worst;
}
