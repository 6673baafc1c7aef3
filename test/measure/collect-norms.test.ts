import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packedSlots } from '../../src/measure/collect-norms.js';
import type { HookOutput } from '../../src/graph/transformer-graph.js';
import { normColumns } from '../../src/store/result-tables.js';

describe('packedSlots', () => {
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
    const slots = packedSlots({ outputs, outputNames: names, hooks: [...hooks], nLayers });
    const columns = normColumns([...hooks]).map(({ name }) => name);
    assert.deepEqual(columns, ['resid_pre_centered', 'resid_pre_raw', 'resid_post_centered', 'resid_post_raw']);
    assert.deepEqual([...slots], [1, 3, 0, 2, 3, 5, 2, 4]);
  });

  it('refuses a column the graph has no output for', () => {
    assert.throws(() => packedSlots({ outputs: [], outputNames: [], hooks: ['resid_pre'], nLayers: 1 }), /no graph output for resid_pre_centered at layer 0/);
  });
});
