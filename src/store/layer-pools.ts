/**
 * The per-layer values a growth fit and its bootstrap need, read from a results file's token
 * source: per-prompt sums, sums of logs and counts (from the prompts table: enough for the mean
 * and the geometric mean), and for the median every included value with its prompt, sorted —
 * streamed once through the chosen column (12 bytes per token and layer in range once sorted).
 */
import type { LayerPool, LayerStatistic } from '../analysis/layer-statistic.js';
import type { HookName, NormMetric } from '../vocabulary/hooks.js';
import type { TokenSource } from './token-source.js';

/** Owners fit beside a float32's bits in a float64's 53-bit integer range: 2^21 prompts. */
const OWNER_BITS = 21;

export async function loadLayerPools(
  source: TokenSource,
  hook: HookName,
  metric: NormMetric,
  layers: readonly number[],
  stat: LayerStatistic,
): Promise<LayerPool[]> {
  const { nLayers } = source;
  const sums = await source.promptSums(hook, metric);
  const n = sums.prompts.length;
  const pools: LayerPool[] = layers.map((layer) => ({
    layer,
    sums: Float64Array.from({ length: n }, (_, row) => sums.sums[row * nLayers + layer]!),
    logSums: Float64Array.from({ length: n }, (_, row) => sums.sumLogs[row * nLayers + layer]!),
    counts: Float64Array.from(sums.included),
    sortedValues: new Float32Array(0),
    sortedSequence: new Int32Array(0),
  }));
  if (stat !== 'median') return pools;

  const rowOf = new Map<number, number>();
  sums.prompts.forEach((prompt, row) => rowOf.set(prompt, row));
  const total = sums.included.reduce((a, b) => a + b, 0);
  // float32 as measured (version 2), 4 bytes a value; version-1 decimals need float64.
  let values: Array<Float32Array | Float64Array> | undefined;
  const owners = layers.map(() => new Int32Array(total));
  let next = 0;
  for await (const chunk of source.columnChunks(hook, metric)) {
    values ??= layers.map(() => (chunk.values instanceof Float32Array ? new Float32Array(total) : new Float64Array(total)));
    for (let i = 0; i < chunk.rows; i += 1) {
      if (chunk.excluded[i]) continue;
      const owner = rowOf.get(chunk.prompt[i]!)!;
      layers.forEach((layer, k) => {
        values![k]![next] = chunk.values[i * nLayers + layer]!;
        owners[k]![next] = owner;
      });
      next += 1;
    }
  }
  layers.forEach((_, k) => {
    if (values === undefined) return;
    const [sortedValues, sortedSequence] = sortWithOwners(values[k]!.subarray(0, next), owners[k]!.subarray(0, next), n);
    pools[k]!.sortedValues = sortedValues;
    pools[k]!.sortedSequence = sortedSequence;
    values[k] = new Float32Array(0); // let the unsorted copy go before the next layer is sorted
    owners[k] = new Int32Array(0);
  });
  return pools;
}

/**
 * Non-negative float32 values sorted ascending, each with its owner. For up to 2^21 owners the
 * pair is packed into one exact float64 (the float32's bits, which order like its value when it
 * is ≥ 0, times 2^21, plus the owner) and sorted natively, which is much faster than sorting
 * indices with a comparator.
 */
export function sortWithOwners(values: Float32Array | Float64Array, owners: Int32Array, ownerCount: number): [Float32Array | Float64Array, Int32Array] {
  const count = values.length;
  // Version-1 files hold decimals that are not float32: those (and negative values) take the slow path.
  if (ownerCount > 2 ** OWNER_BITS || values.some((value) => !(value >= 0) || Math.fround(value) !== value)) {
    const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => values[a]! - values[b]! || owners[a]! - owners[b]!);
    return [Float64Array.from(order, (i) => values[i]!), Int32Array.from(order, (i) => owners[i]!)];
  }
  const bits = new Uint32Array((values instanceof Float32Array ? values.slice() : Float32Array.from(values)).buffer);
  const keys = new Float64Array(count);
  for (let i = 0; i < count; i += 1) keys[i] = bits[i]! * 2 ** OWNER_BITS + owners[i]!;
  keys.sort();
  const sortedBits = new Uint32Array(count);
  const sortedOwners = new Int32Array(count);
  for (let i = 0; i < count; i += 1) {
    const high = Math.floor(keys[i]! / 2 ** OWNER_BITS);
    sortedBits[i] = high;
    sortedOwners[i] = keys[i]! - high * 2 ** OWNER_BITS;
  }
  return [new Float32Array(sortedBits.buffer), sortedOwners];
}
