/**
 * Attention sinks: per layer and head, the mean attention that queries put on position 0
 * (included tokens) and, below, on the first k positions together (Xiao et al.'s sinks; over
 * included tokens from position k on), above the norm of position 0's residual stream next to
 * the mean over tokens: a sink is a head that parks its attention on a position whose stream
 * is unusual.
 */
import { exclusionPhrase, figureTitle } from './figure-text.js';
import type { FigureOutcome, ModelFigure, PlotSubject } from './figure-types.js';
import { tooltipOf } from './interaction.js';
import { logScaleAxis } from './log-axis.js';
import { diagnosticsOf } from './diagnostic-data.js';
import { hookSummaries, layerAxis, primaryMetric, roundValue } from './plot-data.js';
import type { FramedUnit } from './spec-types.js';
import { OKABE_ITO, PLOT_WIDTH, SEQUENTIAL_SCHEME, finishSpec } from './theme.js';
import { normColumn } from '../store/result-tables.js';
import { sinkPrefixColumn } from '../results/diagnostics.js';

function buildSinks({ measurement }: PlotSubject): FigureOutcome {
  const found = diagnosticsOf(measurement, 'sinks');
  if ('reason' in found) return { drawn: false, reason: found.reason };
  const { nLayers, nHeads } = measurement.model;
  const k = found.diagnostics.sinkTokens ?? 1;
  const cellsOf = (means: ReadonlyArray<number | null>) =>
    means.flatMap((mass, i) => (mass === null ? [] : [{ layer: Math.floor(i / nHeads), head: i % nHeads, mass: roundValue(mass) }]));
  const cells = cellsOf(found.diagnostics.summaries.perHeadMeans.sink_mass ?? []);
  const firstK = k > 1 ? found.diagnostics.summaries.perHeadMeans[sinkPrefixColumn(k)] : undefined;
  const metric = primaryMetric(measurement);
  const zero = found.diagnostics.summaries.positionZeroNorms[normColumn('resid_pre', metric)];
  const norms = [
    ...(zero ?? []).flatMap((value, layer) => (value === null || value <= 0 ? [] : [{ series: 'position 0', layer, norm: roundValue(value) }])),
    ...(zero === undefined
      ? []
      : hookSummaries(measurement, 'resid_pre')
          .filter((s) => s.count > 0 && s.mean > 0)
          .map((s) => ({ series: 'mean over tokens', layer: s.layer, norm: roundValue(s.mean) }))),
  ];
  const heatmap = (values: ReturnType<typeof cellsOf>, what: string): FramedUnit => ({
    width: PLOT_WIDTH,
    height: Math.max(80, 16 * nHeads),
    data: { values },
    mark: { type: 'rect' },
    encoding: {
      x: { field: 'layer', type: 'ordinal', title: 'layer' },
      y: { field: 'head', type: 'ordinal', title: 'head' },
      color: { field: 'mass', type: 'quantitative', title: `attention on ${what}`, scale: { scheme: SEQUENTIAL_SCHEME, domain: [0, 1] } },
      tooltip: tooltipOf([
        { field: 'layer', title: 'layer', type: 'ordinal' },
        { field: 'head', title: 'head', type: 'ordinal' },
        { field: 'mass', title: `mean attention on ${what}`, format: '.3f' },
      ]),
    },
  });
  const heatmaps = [heatmap(cells, 'position 0'), ...(firstK ? [heatmap(cellsOf(firstK), `positions 0…${k - 1}`)] : [])];
  const normPanel: FramedUnit = {
    width: PLOT_WIDTH,
    height: 160,
    data: { values: norms },
    mark: { type: 'line', point: { size: 16 } },
    encoding: {
      x: layerAxis(nLayers),
      y: { field: 'norm', type: 'quantitative', title: `‖resid_pre‖₂ (${metric})`, ...logScaleAxis(norms.map((row) => row.norm)) },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        scale: { domain: ['position 0', 'mean over tokens'], range: [OKABE_ITO.black, OKABE_ITO.blue] },
        legend: { orient: 'bottom-right', fillColor: 'white', padding: 6 },
      },
      tooltip: tooltipOf([
        { field: 'series', title: 'series', type: 'nominal' },
        { field: 'layer', title: 'layer', type: 'ordinal' },
        { field: 'norm', title: 'norm' },
      ]),
    },
  };
  return {
    drawn: true,
    spec: finishSpec({
      title: figureTitle(measurement, `attention sinks: attention on position 0${firstK ? ` and on the first ${k} positions` : ''} per layer and head`, [
        `mean over queries (${exclusionPhrase(measurement)})${zero === undefined ? '' : ' · below: the norm of position 0 next to the mean over tokens'}`,
        ...(firstK ? [`second map: positions 0…${k - 1} together (Xiao et al.'s sinks), over queries from position ${k} on`] : []),
      ]),
      vconcat: [...heatmaps, ...(zero === undefined ? [] : [normPanel])],
      resolve: { scale: { color: 'independent' } },
    }),
  };
}

export const sinksFigure: ModelFigure = {
  scope: 'model',
  summary:
    'attention sinks: mean attention on position 0 and on the first k positions per layer and head, next to position 0’s norm (needs --diagnostics sinks)',
  diagnostic: 'sinks',
  fitHooks: () => [],
  build: buildSinks,
};
