import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { UsageError } from '../../src/errors.js';
import type { CheckpointWriter } from '../../src/measure/checkpoint.js';
import type { CollectContext } from '../../src/measure/collect-norms.js';
import { runBatches } from '../../src/measure/run-batches.js';
import { packedLayoutOf } from '../../src/store/packed-layout.js';
import type { NormSession } from '../../src/runtime/onnx-session.js';

describe('runBatches when the checkpoint cannot be written', () => {
  it('says so in one line (no space left, and what is kept) instead of an unexpected error', async () => {
    const session = {
      run: async (_ids: BigInt64Array, rows: number, length: number, names: readonly string[]) =>
        new Map(names.map((name) => [name, new Float32Array(rows * length).fill(1)])),
    } as unknown as NormSession;
    const outputs = [
      { name: 'o', layer: 0, hook: 'resid_pre', metric: 'raw' },
      { name: 'c', layer: 0, hook: 'resid_pre', metric: 'centered' },
    ] as const;
    const layout = packedLayoutOf({ outputs, outputNames: ['o', 'c'], diagnostics: [], sequenceDiagnostics: [] }, ['resid_pre'], 1);
    const collect: CollectContext = { ...layout, session, modelId: 'm' };
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const checkpoint = {
      batches: new Map(),
      append: () => {
        throw full;
      },
    } as unknown as CheckpointWriter;
    const batch = { members: [{ index: 0, ids: [1, 2], tokens: [], truncated: false, appended: 0 }], length: 2 };
    await assert.rejects(
      runBatches({
        planned: [{ position: 0, batch }],
        checkpoint,
        checkpointFile: 'r.json.checkpoint',
        collect,
        progress: createSilentReporter().progress('x', 2, 'items'),
      }),
      (error: unknown) =>
        error instanceof UsageError &&
        /^cannot write the checkpoint "r\.json\.checkpoint": no space left on the device; 0 finished batches are kept/.test(error.message),
    );
  });
});
