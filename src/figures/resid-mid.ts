/**
 * Figure 6: resid_mid interleaved with resid_post, in forward-pass order: on an axis of depth
 * in blocks, resid_pre of block l sits at l, resid_mid at l + ½ and resid_post at l + 1 (which
 * is resid_pre of block l + 1). The zig-zag shows how much attention (pre → mid) and the MLP
 * (mid → post) each add. Parallel-residual models have no resid_mid: the figure says so.
 */
import type { HookName } from '../vocabulary/hooks.js';
import { exclusionPhrase, figureTitle, metricPhrase, normAxisTitle } from './figure-text.js';
import type { FigureOutcome, ModelFigure, PlotSubject } from './figure-types.js';
import { hoverLayer, legendPick, pickedOpacity, tooltipOf, xZoom } from './interaction.js';
import { logScaleAxis } from './log-axis.js';
import { hookSummaries, missingHookReason, primaryMetric, roundValue } from './plot-data.js';
import type { ColorChannel, PositionChannel } from './spec-types.js';
import { OKABE_ITO, finishSpec } from './theme.js';

/** Where each hook of block l sits on the depth axis, and how it is drawn. */
const PLACES: ReadonlyArray<{ hook: HookName; label: string; offset: number; color: string; onlyLayer0?: boolean }> = [
  { hook: 'resid_pre', label: 'embedding (resid_pre of block 0)', offset: 0, color: OKABE_ITO.black, onlyLayer0: true },
  { hook: 'resid_mid', label: 'resid_mid (after attention)', offset: 0.5, color: OKABE_ITO.orange },
  { hook: 'resid_post', label: 'resid_post (after the MLP)', offset: 1, color: OKABE_ITO.blue },
];

function buildResidMid({ measurement }: PlotSubject): FigureOutcome {
  for (const hook of ['resid_mid', 'resid_post'] as const) {
    const missing = missingHookReason(measurement, hook);
    if (missing !== undefined) return { drawn: false, reason: missing };
  }
  const metric = primaryMetric(measurement);
  const drawn = PLACES.filter(({ hook }) => measurement.hooks.includes(hook));
  const rows = drawn.flatMap(({ hook, label, offset, onlyLayer0 }) =>
    hookSummaries(measurement, hook)
      .filter((summary) => summary.count > 0 && summary.mean > 0 && (onlyLayer0 !== true || summary.layer === 0))
      .map((summary) => ({ depth: summary.layer + offset, mean: roundValue(summary.mean), series: label })),
  );
  const x: PositionChannel = {
    field: 'depth',
    type: 'quantitative',
    title: 'depth in blocks (block l: resid_mid at l + ½, resid_post at l + 1)',
    scale: { domain: [0, measurement.model.nLayers], nice: false },
    axis: { tickMinStep: 1, format: 'd' },
  };
  const yTitle = `mean ${normAxisTitle('x', metric)}`;
  const y: PositionChannel = { field: 'mean', type: 'quantitative', title: yTitle, ...logScaleAxis(rows.map((row) => row.mean)) };
  const color: ColorChannel = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: { domain: drawn.map((place) => place.label), range: drawn.map((place) => place.color) },
    legend: { orient: 'bottom-right', fillColor: 'white', padding: 6 },
  };
  return {
    drawn: true,
    spec: finishSpec({
      title: figureTitle(measurement, 'resid_mid interleaved with resid_post', [
        `mean over tokens (${exclusionPhrase(measurement)}), in forward-pass order · ${metricPhrase(metric)}`,
      ]),
      data: { values: rows },
      layer: [
        { mark: { type: 'line', color: '#9a9a9a', strokeWidth: 1.2 }, encoding: { x, y, order: { field: 'depth', type: 'quantitative' } } },
        {
          params: [legendPick('pick', 'series')],
          mark: { type: 'point', filled: true, size: 46, opacity: 1 },
          encoding: {
            x,
            y,
            color,
            shape: {
              field: 'series',
              type: 'nominal',
              scale: { domain: drawn.map((place) => place.label), range: ['square', 'triangle-up', 'circle'].slice(3 - drawn.length) },
            },
            opacity: pickedOpacity('pick'),
          },
        },
        hoverLayer(
          'means',
          {
            x,
            y,
            tooltip: tooltipOf([
              { field: 'series', title: 'hook', type: 'nominal' },
              { field: 'depth', title: 'depth in blocks' },
              { field: 'mean', title: yTitle },
            ]),
          },
          { params: [xZoom('zoom')] },
        ),
      ],
    }),
  };
}

export const residMidFigure: ModelFigure = {
  scope: 'model',
  summary: 'resid_mid (at l + ½) interleaved with resid_post (at l + 1), mean norms in forward-pass order',
  fitHooks: () => [],
  build: (subject) => buildResidMid(subject),
};
