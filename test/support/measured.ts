/**
 * Test helpers over results files of both versions: the per-token values of a version-2 file
 * read back from its tables into the inline shape of version 1 (so tests compare values by
 * prompt, hook, layer and position), and plot subjects with every per-token view gathered.
 */
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { fitGrowth, fitLayers, type FitGrowthOptions, type GrowthFit } from '../../src/analysis/growth-fit.js';
import { buildLayerPool } from '../../src/analysis/layer-statistic.js';
import type { FigureOptions, FitLine, PlotSubject } from '../../src/figures/figure-types.js';
import { everyNthLayer } from '../../src/figures/plot-data.js';
import { gatherTokenViews } from '../../src/figure-inputs/token-views.js';
import { TOKEN_VIEWS } from '../../src/figures/token-view-types.js';
import type { Measurement, MeasurementV1, SequenceResult } from '../../src/results/schema.js';
import type { HookName } from '../../src/vocabulary/hooks.js';
import { measurementFile, readMeasurementFile, type MeasurementFile } from '../../src/store/open-results.js';
import { normColumns, tablePaths } from '../../src/store/result-tables.js';

export type MeasuredFile = Measurement & { sequences: SequenceResult[] };

/** A results file with its sequences read back from the tables, in prompt order. */
export async function readMeasured(path: string): Promise<MeasuredFile> {
  const file = await readMeasurementFile(path);
  return { ...file.measurement, sequences: await sequencesOf(file) };
}

export async function sequencesOf(file: MeasurementFile): Promise<SequenceResult[]> {
  const { hooks, model } = file.measurement;
  const { nLayers } = model;
  const columns = normColumns(hooks);
  const sequences: SequenceResult[] = [];
  for await (const sequence of (await file.tokens()).sequences(hooks)) {
    const length = sequence.ids.length;
    const result: SequenceResult = {
      ...(sequence.text !== undefined ? { text: sequence.text } : {}),
      ids: [...sequence.ids],
      tokens: [...sequence.tokens],
      norms: {},
      rawNorms: {},
      ...(sequence.truncated ? { truncated: true } : {}),
    };
    columns.forEach(({ hook, metric }, c) => {
      const table = Array.from({ length: nLayers }, (_, layer) => {
        const slot = sequence.slots[c * nLayers + layer]!;
        return Array.from(sequence.values.subarray(slot * length, (slot + 1) * length));
      });
      (metric === 'centered' ? result.norms : result.rawNorms)[hook as HookName] = table;
    });
    sequences.push(result);
  }
  return sequences;
}

/** Every row of a results file's tokens table, read by hyparquet (not the code that wrote it). */
export async function readTokenRows(file: MeasurementFile): Promise<Array<Record<string, unknown>>> {
  return parquetReadObjects({ file: await asyncBufferFromFile(tablePaths(file.path).tokens) });
}

/** An in-memory version-1 document as a results file. */
export function fileOf(document: MeasurementV1 | Measurement, path = 'synthetic.json'): MeasurementFile {
  return measurementFile(document, path);
}

/** A plot subject with every per-token view gathered for the options' hook and prompt. */
export async function subjectOf(
  input: MeasurementFile | MeasurementV1,
  fits: PlotSubject['fits'] = {},
  options: Pick<FigureOptions, 'hook' | 'prompt'> = { hook: undefined, prompt: 0 },
  path = 'subject.json',
): Promise<PlotSubject> {
  const file = 'tokens' in input && typeof input.tokens === 'function' ? (input as MeasurementFile) : fileOf(input as MeasurementV1, path);
  const { measurement } = file;
  const views = await gatherTokenViews(await file.tokens(), measurement, {
    kinds: new Set(TOKEN_VIEWS),
    hook: options.hook ?? 'resid_pre',
    prompt: options.prompt,
    histogramLayers: everyNthLayer(measurement.model.nLayers),
  });
  return { path: file.path, measurement, fits: fits as Partial<Record<HookName, FitLine>>, views };
}

/**
 * fitGrowth on an in-memory version-1 document, its pools built from the inline sequences by
 * the analysis module's own builder (src/store/layer-pools.ts reads the same from tables; a
 * test checks the two agree). A document without sequences is fitted from its summary.
 */
export function fitV1(document: MeasurementV1, options: FitGrowthOptions): GrowthFit {
  if (document.sequences.length === 0) return fitGrowth(fileOf(document).measurement, options);
  // The pools replace the summaries, which a document with sequences would otherwise sort
  // every layer of every hook for (the coverage tests fit hundreds of documents).
  const { measurement } = fileOf({ ...document, sequences: [] });
  const layers = fitLayers(measurement, options);
  const metric = options.metric ?? measurement.options.primaryMetric;
  const pools = layers.map((layer) => buildLayerPool(document.sequences, options.hook, metric, layer, document.options.excludePositions));
  return fitGrowth(measurement, options, pools);
}
