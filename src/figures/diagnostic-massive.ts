/**
 * Massive activations: which residual dimensions hold a token's largest |x_i| at which layer,
 * for included tokens and for position 0 (share of tokens, the most frequent dimensions per
 * layer); and the growth of ‖resid_post‖ with and without the dimensions given to
 * `--massive-dims`, next to the mean largest |x_i|.
 */
import { massiveColumn } from '../results/diagnostics.js';
import { exclusionPhrase, figureTitle } from './figure-text.js';
import type { FigureOutcome, ModelFigure, PlotSubject } from './figure-types.js';
import { hoverLayer, legendPick, pickedOpacity, tooltipOf } from './interaction.js';
import { logScaleAxis } from './log-axis.js';
import { diagnosticsOf } from './diagnostic-data.js';
import { layerAxis, roundValue } from './plot-data.js';
import type { ColorChannel, PositionChannel } from './spec-types.js';
import { OKABE_ITO, PLOT_WIDTH, SEQUENTIAL_SCHEME, finishSpec } from './theme.js';

function buildMassiveDims({ measurement }: PlotSubject): FigureOutcome {
  const found = diagnosticsOf(measurement, 'massive');
  if ('reason' in found) return { drawn: false, reason: found.reason };
  const dims = found.diagnostics.summaries.massiveDims;
  if (dims === undefined) return { drawn: false, reason: `${measurement.model.id}'s results file has no massive-dimension counts` };
  const groups = [
    { where: `tokens (${exclusionPhrase(measurement)})`, byLayer: dims.included },
    { where: 'position 0', byLayer: dims.positionZero },
  ];
  const rows = groups.flatMap(({ where, byLayer }) =>
    byLayer.flatMap((entries, layer) => entries.map(({ dim, share }) => ({ where, layer, dim, share: roundValue(share) }))),
  );
  const order = [...new Set(rows.map((row) => row.dim))].sort((a, b) => a - b);
  return {
    drawn: true,
    spec: finishSpec({
      title: figureTitle(measurement, 'massive activations: where the largest |x_i| of resid_post sits', [
        'colour: share of tokens whose largest |x_i| is in that dimension (the 5 most frequent per layer)',
        'one dimension holding it at every layer and token: a privileged (massive) dimension',
      ]),
      data: { values: rows },
      facet: { row: { field: 'where', type: 'nominal', title: null, sort: groups.map(({ where }) => where) } },
      spec: {
        width: PLOT_WIDTH,
        height: Math.max(60, 14 * order.length),
        mark: { type: 'rect' },
        encoding: {
          x: { field: 'layer', type: 'ordinal', title: 'layer' },
          y: { field: 'dim', type: 'ordinal', title: 'dimension', sort: order },
          color: { field: 'share', type: 'quantitative', title: 'share of tokens', scale: { ...SEQUENTIAL_SCHEME, domain: [0, 1] } },
          tooltip: tooltipOf([
            { field: 'layer', title: 'layer', type: 'ordinal' },
            { field: 'dim', title: 'dimension', type: 'ordinal' },
            { field: 'share', title: 'share of tokens', format: '.1%' },
          ]),
        },
      },
    }),
  };
}

function buildMassiveGrowth({ measurement }: PlotSubject): FigureOutcome {
  const found = diagnosticsOf(measurement, 'massive');
  if ('reason' in found) return { drawn: false, reason: found.reason };
  const { perLayer } = found.diagnostics.summaries;
  const without = perLayer[massiveColumn('norm_without')];
  if (without === undefined)
    return { drawn: false, reason: `${measurement.model.id} was measured without --massive-dims, so there is no norm without the massive dimensions` };
  const full = measurement.summaries.raw.resid_post;
  const label = `‖resid_post‖ without dimensions ${(found.diagnostics.massiveDims ?? []).join(', ')}`;
  const series = [
    ...(full ? [{ name: '‖resid_post‖', summaries: full, color: OKABE_ITO.black }] : []),
    { name: label, summaries: without, color: OKABE_ITO.blue },
    { name: 'largest |x_i|', summaries: perLayer[massiveColumn('max')] ?? [], color: OKABE_ITO.vermillion },
  ];
  const rows = series.flatMap(({ name, summaries }) =>
    summaries.filter((s) => s.count > 0 && s.mean > 0).map((s) => ({ series: name, layer: s.layer, value: roundValue(s.mean) })),
  );
  const x = layerAxis(measurement.model.nLayers);
  const y: PositionChannel = { field: 'value', type: 'quantitative', title: 'mean over tokens (raw)', ...logScaleAxis(rows.map((row) => row.value)) };
  const color: ColorChannel = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: { domain: series.map(({ name }) => name), range: series.map(({ color: hue }) => hue) },
    legend: { orient: 'bottom-right', fillColor: 'white', padding: 6 },
  };
  return {
    drawn: true,
    spec: finishSpec({
      title: figureTitle(measurement, 'growth of the residual stream with and without its massive dimensions', [
        `mean over tokens (${exclusionPhrase(measurement)}) of the raw norm of resid_post, with the --massive-dims dimensions and without, and of its largest |x_i|`,
      ]),
      data: { values: rows },
      layer: [
        { params: [legendPick('pick', 'series')], mark: { type: 'line', point: { size: 16 } }, encoding: { x, y, color, opacity: pickedOpacity('pick') } },
        hoverLayer('massive-growth', {
          x,
          y,
          tooltip: tooltipOf([
            { field: 'series', title: 'series', type: 'nominal' },
            { field: 'layer', title: 'layer', type: 'ordinal' },
            { field: 'value', title: 'mean' },
          ]),
        }),
      ],
    }),
  };
}

export const massiveDimsFigure: ModelFigure = {
  scope: 'model',
  summary: 'massive activations: which dimensions hold the largest |x_i| per layer, tokens vs position 0 (needs --diagnostics massive)',
  diagnostic: 'massive',
  fitHooks: () => [],
  build: buildMassiveDims,
};

export const massiveGrowthFigure: ModelFigure = {
  scope: 'model',
  summary: 'growth of ‖resid_post‖ with and without the --massive-dims dimensions (needs --diagnostics massive --massive-dims …)',
  diagnostic: 'massive',
  fitHooks: () => [],
  build: buildMassiveGrowth,
};
