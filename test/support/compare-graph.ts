/**
 * Runs a model folder's ONNX graph (every hook the architecture has) on single prompts and
 * compares each hook norm with a reference forward pass: the worst relative error, and which
 * hooks were compared, so tests can assert on both.
 */
import assert from 'node:assert/strict';
import type { TransformerSpec } from '../../src/architectures/types.js';
import { planExternalData } from '../../src/graph/external-data.js';
import { availableHooks, buildTransformerGraph } from '../../src/graph/transformer-graph.js';
import { loadModel } from '../../src/models/load-model.js';
import type { HookName } from '../../src/results/schema.js';
import { createNormSession } from '../../src/runtime/onnx-session.js';
import type { HookNorms } from './reference-ops.js';

export interface GraphComparison {
  worst: number;
  hooks: HookName[];
  spec: TransformerSpec;
  /** Values compared (hooks × layers × positions × 2 metrics). */
  count: number;
}

export async function compareGraphWithReference(dir: string, prompts: number[][], reference: (ids: number[]) => HookNorms): Promise<GraphComparison> {
  const model = await loadModel(dir);
  const hooks = availableHooks(model.spec);
  const layout = await planExternalData(model.weights.files);
  const graph = buildTransformerGraph(model.spec, { hooks, layout });
  const session = await createNormSession(graph.bytes, layout.folder, { device: 'cpu', threads: 1 });
  let worst = 0;
  let count = 0;
  try {
    for (const ids of prompts) {
      const outputs = await session.run(BigInt64Array.from(ids, BigInt), 1, ids.length, graph.outputs.map((o) => o.name));
      const expected = reference(ids);
      for (const output of graph.outputs) {
        const actual = outputs.get(output.name)!;
        const row = expected[output.hook][output.metric][output.layer];
        assert.ok(row, `reference has no ${output.hook} at layer ${output.layer}`);
        assert.equal(actual.length, ids.length, `${output.name} length`);
        row.forEach((value, position) => {
          worst = Math.max(worst, Math.abs(actual[position]! - value) / Math.max(Math.abs(value), 1e-6));
          count += 1;
        });
      }
    }
  } finally {
    await session.release();
  }
  return { worst, hooks, spec: model.spec, count };
}

/** Seeded prompts of lengths 1 + (7i mod maxLength), so short and long ones both occur. */
export function makePrompts(random: { integer(n: number): number }, count: number, vocab: number, maxLength: number): number[][] {
  return Array.from({ length: count }, (_, i) => Array.from({ length: 1 + ((i * 7) % maxLength) }, () => random.integer(vocab)));
}
