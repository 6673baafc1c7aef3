/**
 * Sun et al.'s layer profile of massive activations ("Massive Activations in Large Language
 * Models", 2024, Fig. 2; their lib/plot_utils_llm.py plot_layer_ax): per layer, the mean over
 * sequences of the three largest |x| of resid_post over all of a sequence's tokens × channels,
 * and of its median |x|, on a linear axis as theirs. A rule marks their threshold of 100 when
 * the magnitudes reach it; the tooltip gives the share of sequences with a massive activation
 * (|x| > 100 and ≥ 1,000 × the median). Drawn from `measure --diagnostics massive-sequence`.
 */
import { sequenceMassiveColumn, SUN_THRESHOLDS } from '../results/diagnostics.js';
import { figureTitle } from './figure-text.js';
import type { FigureOutcome, ModelFigure, PlotSubject } from './figure-types.js';
import { hoverLayer, legendPick, pickedOpacity, tooltipOf } from './interaction.js';
import { diagnosticsOf } from './diagnostic-data.js';
import { layerAxis, roundValue } from './plot-data.js';
import type { ColorChannel, PositionChannel } from './spec-types.js';
import { OKABE_ITO, finishSpec } from './theme.js';

const SERIES = [
  { name: 'top 1', column: sequenceMassiveColumn('top1'), color: OKABE_ITO.blue },
  { name: 'top 2', column: sequenceMassiveColumn('top2'), color: OKABE_ITO.green },
  { name: 'top 3', column: sequenceMassiveColumn('top3'), color: OKABE_ITO.purple },
  { name: 'median', column: sequenceMassiveColumn('median'), color: OKABE_ITO.black },
] as const;

function buildMassiveProfile({ measurement }: PlotSubject): FigureOutcome {
  const found = diagnosticsOf(measurement, 'massive-sequence');
  if ('reason' in found) return { drawn: false, reason: found.reason };
  const sequences = found.diagnostics.summaries.sequences;
  if (sequences === undefined || sequences.sequences === 0)
    return { drawn: false, reason: `${measurement.model.id}'s results file has no per-sequence summaries` };
  const shares = sequences.withMassive;
  const rows = SERIES.flatMap(({ name, column }) =>
    (sequences.perLayer[column] ?? [])
      .filter((s) => s.count > 0 && Number.isFinite(s.mean))
      .map((s) => ({ series: name, layer: s.layer, value: roundValue(s.mean), massive: shares[s.layer] ?? null })),
  );
  const largest = rows.reduce((most, row) => Math.max(most, row.value), 0);
  const thresholds = found.diagnostics.massiveThresholds ?? SUN_THRESHOLDS;
  const x = layerAxis(measurement.model.nLayers, 'layer (resid_post of block l)');
  const y: PositionChannel = { field: 'value', type: 'quantitative', title: 'magnitude |x| (mean over sequences)' };
  const color: ColorChannel = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: { domain: SERIES.map(({ name }) => name), range: SERIES.map(({ color: hue }) => hue) },
    legend: { orient: 'top-left', fillColor: 'white', padding: 6 },
  };
  const rule =
    largest >= thresholds.magnitude
      ? [
          {
            data: { values: [{ threshold: thresholds.magnitude }] },
            mark: { type: 'rule' as const, strokeDash: [4, 4], color: OKABE_ITO.vermillion },
            encoding: { y: { field: 'threshold', type: 'quantitative' as const } },
          },
        ]
      : [];
  return {
    drawn: true,
    spec: finishSpec({
      title: figureTitle(measurement, "massive activations (Sun et al.): each sequence's top-3 |x| and median", [
        `mean over ${sequences.sequences.toLocaleString('en-US')} sequences; each statistic over all tokens × channels of resid_post`,
        `massive: |x| > ${thresholds.magnitude} and ≥ ${thresholds.timesMedian.toLocaleString('en-US')} × the median${rule.length > 0 ? ` (dashed: ${thresholds.magnitude})` : ''} · tooltip: share of sequences with one`,
      ]),
      data: { values: rows },
      layer: [
        { params: [legendPick('pick', 'series')], mark: { type: 'line', point: { size: 16 } }, encoding: { x, y, color, opacity: pickedOpacity('pick') } },
        ...rule,
        hoverLayer('massive-profile', {
          x,
          y,
          tooltip: tooltipOf([
            { field: 'series', title: 'series', type: 'nominal' },
            { field: 'layer', title: 'layer', type: 'ordinal' },
            { field: 'value', title: 'mean |x|' },
            { field: 'massive', title: 'sequences with a massive activation', format: '.1%' },
          ]),
        }),
      ],
    }),
  };
}

export const massiveProfileFigure: ModelFigure = {
  scope: 'model',
  summary: "Sun et al.'s layer profile: per layer, the mean top-3 |x| and median |x| of each sequence's hidden state (needs --diagnostics massive-sequence)",
  diagnostic: 'massive-sequence',
  fitHooks: () => [],
  build: buildMassiveProfile,
};
