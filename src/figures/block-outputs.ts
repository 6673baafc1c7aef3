/**
 * Figure 7: what each block writes: mean ‖attn_out‖ and ‖mlp_out‖ per layer (log y), each
 * with its own fitted exponential and rate, in the series' colour.
 */
import type { HookName } from '../vocabulary/hooks.js';
import { describePhasesBriefly, exclusionPhrase, figureTitle, metricPhrase } from './figure-text.js';
import type { FigureOutcome, ModelFigure, PlotSubject } from './figure-types.js';
import { annotationLayers, fitPhasePoints } from './fit-layers.js';
import { hoverLayer, legendPick, pickedOpacity, tooltipOf, xZoom } from './interaction.js';
import { logScaleAxis } from './log-axis.js';
import { hookSummaries, layerAxis, missingHookReason, primaryMetric, roundValue } from './plot-data.js';
import type { ColorChannel, PositionChannel } from './spec-types.js';
import { FIT_DASH, OKABE_ITO, finishSpec } from './theme.js';

const OUTPUTS: ReadonlyArray<{ hook: HookName; color: string }> = [
  { hook: 'attn_out', color: OKABE_ITO.blue },
  { hook: 'mlp_out', color: OKABE_ITO.vermillion },
];

function buildBlockOutputs({ measurement, fits }: PlotSubject): FigureOutcome {
  const drawn = OUTPUTS.filter(({ hook }) => measurement.hooks.includes(hook));
  if (drawn.length === 0) return { drawn: false, reason: OUTPUTS.map(({ hook }) => missingHookReason(measurement, hook)).join('; ') };
  const metric = primaryMetric(measurement);
  const rows = drawn.flatMap(({ hook }) =>
    hookSummaries(measurement, hook)
      .filter((summary) => summary.count > 0 && summary.mean > 0)
      .map((summary) => ({ layer: summary.layer, norm: roundValue(summary.mean), series: hook })),
  );
  const fitted = drawn.flatMap(({ hook, color }) => (fits[hook] === undefined ? [] : [{ fit: fits[hook], label: hook, color }]));
  const fitPoints = fitted.flatMap(({ fit, label }) => fitPhasePoints(fit, label));
  const x = layerAxis(measurement.model.nLayers);
  const y: PositionChannel = {
    field: 'norm',
    type: 'quantitative',
    title: `mean ${drawn.map(({ hook }) => `‖${hook}‖₂`).join(', ')} (${metric})`,
    ...logScaleAxis([...rows, ...fitPoints].map((row) => row.norm)),
  };
  const color: ColorChannel = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: { domain: drawn.map(({ hook }) => hook), range: drawn.map(({ color: hue }) => hue) },
    legend: { orient: 'bottom-right', fillColor: 'white', padding: 6 },
  };
  const missing = OUTPUTS.filter((output) => !drawn.includes(output)).map(({ hook }) => missingHookReason(measurement, hook));
  return {
    drawn: true,
    spec: finishSpec({
      title: figureTitle(measurement, 'norms of what attention and the MLP write, per layer', [
        `solid: mean over tokens (${exclusionPhrase(measurement)})${fitted.length > 0 ? ' · dashed: fitted exponentials' : ''} · ${metricPhrase(metric)}`,
      ]),
      layer: [
        {
          data: { values: fitPoints },
          // The first layer with the legend owns its selection: Vega-Lite merges legends keeping the first one's encoding.
          params: [legendPick('pick', 'series')],
          mark: { type: 'line', strokeDash: FIT_DASH, strokeWidth: 3 },
          encoding: { x, y, color, detail: { field: 'phase', type: 'ordinal' }, opacity: pickedOpacity('pick') },
        },
        {
          data: { values: rows },
          layer: [
            { mark: { type: 'line', strokeWidth: 1.5, point: { size: 18 } }, encoding: { x, y, color, opacity: pickedOpacity('pick') } },
            hoverLayer(
              'means',
              {
                x,
                y,
                tooltip: tooltipOf([
                  { field: 'series', title: 'hook', type: 'nominal' },
                  { field: 'layer', title: 'layer' },
                  { field: 'norm', title: `mean norm (${metric})` },
                ]),
              },
              { params: [xZoom('zoom')] },
            ),
          ],
        },
        ...annotationLayers(fitted.map(({ fit, label, color: hue }) => ({ text: `fit ${describePhasesBriefly(fit, label)} per layer`, color: hue }))),
      ],
    }),
    ...(missing.length > 0 ? { note: missing.join('; ') } : {}),
  };
}

export const blockOutputsFigure: ModelFigure = {
  scope: 'model',
  summary: 'attn_out and mlp_out mean norms per layer, each with its own fitted rate',
  fitHooks: () => OUTPUTS.map(({ hook }) => hook),
  build: (subject) => buildBlockOutputs(subject),
};
