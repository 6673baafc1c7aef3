/**
 * Running the probe graph (src/graph/probe-graph.ts): vectors in, per layer and per sample the
 * MLP's output norm, its activation rate and ‖Σ_h W_OV^h x‖ out. Rows go through in chunks, so
 * memory is bounded by the chunk, not by --samples.
 */
import type { TransformerSpec } from '../architectures/types.js';
import { NumericalError } from '../errors.js';
import { buildLayerProbeGraph, probeInputName, probeOutputName, PROBE_OUTPUTS, type ProbeOutput } from '../graph/probe-graph.js';
import { stopIfInterrupted } from '../io/interrupt.js';
import { readWeights, releaseWeights, WeightArrays, type Sessions } from '../measure/streamed-run.js';
import type { Feed, TensorSession } from '../runtime/tensor-session.js';

/** Rows per session run: [1024, dMlp] float32 is 26 MB at GPT2-XL's 6400. */
const CHUNK_ROWS = 1024;

/** [layer] per-sample values of each probe output. */
export type ProbeValues = Array<Record<ProbeOutput, Float32Array>>;

/**
 * inputFor(layer) is that layer's [rows, dModel] input (the same array may serve every layer).
 * Returns every layer's per-sample values; refuses NaN or Inf, naming the layer and output.
 */
export async function runProbes(
  session: TensorSession,
  spec: TransformerSpec,
  rows: number,
  inputFor: (layer: number) => Float32Array,
  label: string,
): Promise<ProbeValues> {
  const { nLayers, dModel } = spec.dims;
  const result: ProbeValues = Array.from({ length: nLayers }, () => ({
    mlp_norm: new Float32Array(rows),
    mlp_active: new Float32Array(rows),
    ov_norm: new Float32Array(rows),
  }));
  const names = Array.from({ length: nLayers }, (_, layer) => PROBE_OUTPUTS.map((output) => probeOutputName(layer, output))).flat();
  for (let first = 0; first < rows; first += CHUNK_ROWS) {
    const count = Math.min(CHUNK_ROWS, rows - first);
    const feeds = Object.fromEntries(
      Array.from({ length: nLayers }, (_, layer) => [
        probeInputName(layer),
        { type: 'float32' as const, data: inputFor(layer).subarray(first * dModel, (first + count) * dModel), dims: [count, dModel] },
      ]),
    );
    const outputs = await session.run(feeds, names);
    for (let layer = 0; layer < nLayers; layer += 1) {
      for (const output of PROBE_OUTPUTS) {
        const values = outputs.get(probeOutputName(layer, output))!.data;
        const bad = values.findIndex((value) => !Number.isFinite(value));
        if (bad >= 0)
          throw new NumericalError(`${output} of layer ${layer} is ${values[bad]} for ${label} sample ${first + bad}; the model's weights overflow float32`);
        result[layer]![output].set(values, first);
      }
    }
  }
  return result;
}

/** One set of probe inputs: `rows` vectors per layer, inputFor(layer) [rows, dModel]. */
export interface ProbeSource {
  rows: number;
  inputFor: (layer: number) => Float32Array;
  label: string;
}

/**
 * The probes one layer at a time, for a model run under a memory budget: each layer's graph
 * (probe-graph.ts buildLayerProbeGraph) with its weights as inputs, read once for every source,
 * so only one layer's weights exist as float32. Returns each source's values, as runProbes does.
 */
export async function runProbesByLayer(
  spec: TransformerSpec,
  sources: readonly ProbeSource[],
  sessions: Sessions,
  signal?: AbortSignal,
): Promise<ProbeValues[]> {
  const { nLayers, dModel } = spec.dims;
  const results: ProbeValues[] = sources.map((source) =>
    Array.from({ length: nLayers }, () => ({
      mlp_norm: new Float32Array(source.rows),
      mlp_active: new Float32Array(source.rows),
      ov_norm: new Float32Array(source.rows),
    })),
  );
  const arrays = new WeightArrays();
  const names = PROBE_OUTPUTS.map((output) => probeOutputName(0, output));
  for (let layer = 0; layer < nLayers; layer += 1) {
    stopIfInterrupted(signal, 'while probing');
    const graph = buildLayerProbeGraph(spec, layer);
    const session = await sessions.get(graph.bytes);
    const weights = await readWeights(graph.weightInputs, arrays);
    try {
      for (const [s, source] of sources.entries()) {
        for (let first = 0; first < source.rows; first += CHUNK_ROWS) {
          const count = Math.min(CHUNK_ROWS, source.rows - first);
          const x: Feed = { type: 'float32', data: source.inputFor(layer).subarray(first * dModel, (first + count) * dModel), dims: [count, dModel] };
          const outputs = await session.run({ ...weights, [probeInputName(0)]: x }, names);
          for (const output of PROBE_OUTPUTS) {
            const values = outputs.get(probeOutputName(0, output))!.data;
            const bad = values.findIndex((value) => !Number.isFinite(value));
            if (bad >= 0)
              throw new NumericalError(
                `${output} of layer ${layer} is ${values[bad]} for ${source.label} sample ${first + bad}; the model's weights overflow float32`,
              );
            results[s]![layer]![output].set(values, first);
          }
        }
      }
    } finally {
      releaseWeights(weights, arrays);
    }
  }
  return results;
}
