import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DiagnosticOutput } from '../../src/graph/diagnostics-graph.js';
import type { HookOutput } from '../../src/graph/transformer-graph.js';
import { packBatch } from '../../src/measure/collect-norms.js';
import type { Batch } from '../../src/measure/batches.js';
import type { Sequence } from '../../src/measure/sequences.js';
import type { DiagnosticColumn } from '../../src/results/diagnostics.js';
import { columnOffsets, normSlots, packedLayoutOf, packedLength, startOf, unpackSequence } from '../../src/store/packed-layout.js';
import { normColumns } from '../../src/store/result-tables.js';

describe('normSlots', () => {
  it('maps every (norm column, layer) to the graph output that carries it, shared outputs included', () => {
    const nLayers = 2;
    const hooks = ['resid_pre', 'resid_post'] as const;
    // resid_post of layer 0 and resid_pre of layer 1 share one output, as the graph builds them.
    const names = ['pre0:raw', 'pre0:centered', 'mid:raw', 'mid:centered', 'post1:raw', 'post1:centered'];
    const outputs: HookOutput[] = [
      { name: 'pre0:raw', layer: 0, hook: 'resid_pre', metric: 'raw' },
      { name: 'pre0:centered', layer: 0, hook: 'resid_pre', metric: 'centered' },
      { name: 'mid:raw', layer: 1, hook: 'resid_pre', metric: 'raw' },
      { name: 'mid:centered', layer: 1, hook: 'resid_pre', metric: 'centered' },
      { name: 'mid:raw', layer: 0, hook: 'resid_post', metric: 'raw' },
      { name: 'mid:centered', layer: 0, hook: 'resid_post', metric: 'centered' },
      { name: 'post1:raw', layer: 1, hook: 'resid_post', metric: 'raw' },
      { name: 'post1:centered', layer: 1, hook: 'resid_post', metric: 'centered' },
    ];
    const slots = normSlots({ outputs, outputNames: names }, [...hooks], nLayers);
    const columns = normColumns([...hooks]).map(({ name }) => name);
    assert.deepEqual(columns, ['resid_pre_centered', 'resid_pre_raw', 'resid_post_centered', 'resid_post_raw']);
    assert.deepEqual([...slots], [1, 3, 0, 2, 3, 5, 2, 4]);
  });

  it('refuses a column the graph has no output for', () => {
    assert.throws(() => normSlots({ outputs: [], outputNames: [] }, ['resid_pre'], 1), /no graph output for resid_pre_centered at layer 0/);
  });
});

const column = (name: string, length: number): DiagnosticColumn => ({
  name,
  diagnostic: 'massive',
  kind: 'float32-list',
  length,
  perLayer: 1,
  description: name,
});

describe('the packed layout', () => {
  // One layer, resid_pre only: two norm outputs; per-token columns of 2 and 3 values; a per-sequence column of 2.
  const outputs: HookOutput[] = [
    { name: 'n.raw', layer: 0, hook: 'resid_pre', metric: 'raw' },
    { name: 'n.centered', layer: 0, hook: 'resid_pre', metric: 'centered' },
  ];
  const diagnostics: DiagnosticOutput[] = [
    { name: 'diagnostics.a', column: column('a', 2) },
    { name: 'diagnostics.b', column: column('b', 3) },
  ];
  const sequenceDiagnostics: DiagnosticOutput[] = [{ name: 'diagnostics.s', column: column('s', 2) }];
  const layout = packedLayoutOf({ outputs, outputNames: ['n.raw', 'n.centered'], diagnostics, sequenceDiagnostics }, ['resid_pre'], 1);

  it('says where every column starts and how long a sequence is', () => {
    assert.deepEqual(layout.tokenColumns.starts, [0, 2]);
    assert.equal(layout.floatsPerToken, 2 + 2 + 3);
    assert.equal(layout.floatsPerSequence, 2);
    assert.equal(packedLength(layout, 4), 7 * 4 + 2);
    assert.equal(startOf(layout.tokenColumns, 'b'), 2);
    assert.equal(startOf(layout.tokenColumns, 'missing'), undefined);
    assert.deepEqual(columnOffsets([]), { columns: [], starts: [], width: 0 });
  });

  it('unpacks what packBatch packed: each value back in its column, padding left out', () => {
    // Two rows padded to 3 positions; the second row is 2 tokens long. Values encode (output, row, position, i).
    const rows = 2;
    const width = 3;
    const code = (output: number, row: number, position: number, i = 0) => 1000 * output + 100 * row + 10 * position + i;
    const values = new Map<string, Float32Array>();
    ['n.raw', 'n.centered'].forEach((name, k) =>
      values.set(
        name,
        Float32Array.from({ length: rows * width }, (_, at) => code(k + 1, Math.floor(at / width), at % width)),
      ),
    );
    diagnostics.forEach(({ name, column: { length } }, d) =>
      values.set(
        name,
        Float32Array.from({ length: rows * width * length }, (_, at) =>
          code(d + 3, Math.floor(at / (width * length)), Math.floor(at / length) % width, at % length),
        ),
      ),
    );
    values.set(
      'diagnostics.s',
      Float32Array.from({ length: rows * 2 }, (_, at) => code(5, Math.floor(at / 2), 0, at % 2)),
    );
    const members = [3, 2].map((length, index) => ({ index, ids: Array.from({ length }, (_, i) => i + 1) }) as unknown as Sequence);
    const batch = { members, length: width } as unknown as Batch;
    const packed = packBatch(batch, values, { ...layout, modelId: 'test' });
    packed.forEach(({ sequence, values: packedValues }, row) => {
      const length = sequence.ids.length;
      assert.equal(packedValues.length, packedLength(layout, length));
      const parts = unpackSequence(layout, packedValues, length);
      for (let position = 0; position < length; position += 1) {
        // normColumns order: resid_pre_centered (output 2), resid_pre_raw (output 1).
        assert.equal(parts.values[parts.slots[0]! * length + position], code(2, row, position));
        assert.equal(parts.values[parts.slots[1]! * length + position], code(1, row, position));
        diagnostics.forEach(({ column: { length: listLength } }, d) => {
          for (let i = 0; i < listLength; i += 1)
            assert.equal(parts.diagnostics![layout.tokenColumns.starts[d]! * length + position * listLength + i], code(d + 3, row, position, i));
        });
      }
      assert.deepEqual([...parts.sequenceDiagnostics!], [code(5, row, 0, 0), code(5, row, 0, 1)]);
    });
  });

  it('leaves the diagnostics out of an unpacked sequence when there are none', () => {
    const plain = packedLayoutOf({ outputs, outputNames: ['n.raw', 'n.centered'], diagnostics: [], sequenceDiagnostics: [] }, ['resid_pre'], 1);
    const parts = unpackSequence(plain, new Float32Array(packedLength(plain, 2)), 2);
    assert.deepEqual(Object.keys(parts).sort(), ['slots', 'values']);
  });
});
