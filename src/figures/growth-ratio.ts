/**
 * Figure 4: the per-token growth ratio ‖x_l‖ / ‖x_{l−1}‖ across layers. Ratios of every token
 * are reduced to per-layer quantiles here (median line, 50% and 90% bands), so the figure
 * stays small for any number of tokens; excluded tokens get a dashed line per reason.
 */
import type { Measurement } from '../results/schema.js';
import type { HookName } from '../vocabulary/hooks.js';
import { describePhasesBriefly, exclusionGroupLabel, exclusionPhrase, figureTitle, metricPhrase } from './figure-text.js';
import type { FigureOutcome, FitLine, ModelFigure, PlotSubject } from './figure-types.js';
import { logScaleAxis } from './log-axis.js';
import { chosenHook, layerAxis, missingHookReason, primaryMetric, roundValue } from './plot-data.js';
import { annotationLayers } from './fit-layers.js';
import type { RatioView } from './token-view-types.js';
import { hoverLayer, tooltipOf, xZoom, type TooltipField } from './interaction.js';
import type { LayerMember, PositionChannel, Unit } from './spec-types.js';
import { FIT_COLOR, FIT_DASH, OKABE_ITO, SPECIAL_POSITION_COLOR, SPECIAL_POSITION_DASH, finishSpec } from './theme.js';

export interface RatioRow {
  layer: number;
  q05: number;
  q25: number;
  median: number;
  q75: number;
  q95: number;
}

export interface SpecialRatioRow {
  layer: number;
  label: string;
  median: number;
}

/** Ratios of consecutive layers, as the figure draws them: per-layer quantiles, and medians per reason of exclusion. */
export function growthRatios(measurement: Measurement, view: RatioView): { tokens: RatioRow[]; special: SpecialRatioRow[] } {
  const tokens: RatioRow[] = view.tokens.map(({ layer, q05, q25, median, q75, q95 }) => ({
    layer,
    q05: roundValue(q05),
    q25: roundValue(q25),
    median: roundValue(median),
    q75: roundValue(q75),
    q95: roundValue(q95),
  }));
  const special: SpecialRatioRow[] = [];
  for (let layer = 1; layer < measurement.model.nLayers; layer += 1) {
    for (const [reason, medians] of view.special) {
      const found = medians.find((row) => row.layer === layer);
      if (found !== undefined) special.push({ layer, label: exclusionGroupLabel(measurement, reason), median: roundValue(found.median) });
    }
  }
  return { tokens, special };
}

/**
 * Each phase's growth factor as a horizontal dashed segment over the ratios it predicts: a
 * phase over layers a…b covers the steps into layers a + 1…b.
 */
function fitLayers(fit: FitLine | undefined, x: PositionChannel): LayerMember[] {
  if (fit === undefined) return [];
  return [
    {
      data: { values: fit.phases.map((phase) => ({ layer: phase.fromLayer + 1, layerEnd: phase.toLayer, growth: roundValue(phase.growth) })) },
      mark: { type: 'rule', color: FIT_COLOR, strokeDash: FIT_DASH, strokeWidth: 2.5 },
      encoding: { x, x2: { field: 'layerEnd' }, y: { field: 'growth', type: 'quantitative' } },
    },
    ...annotationLayers([{ text: `fit ${describePhasesBriefly(fit, fit.hook)} per layer`, color: FIT_COLOR }]),
  ];
}

function buildGrowthRatio({ measurement, fits, views }: PlotSubject, hook: HookName): FigureOutcome {
  const missing = missingHookReason(measurement, hook);
  if (missing !== undefined) return { drawn: false, reason: missing };
  if (measurement.model.nLayers < 2) return { drawn: false, reason: `${measurement.model.id} has one layer, so no ratio between layers` };
  const view = views?.hook === hook ? views.ratios : undefined;
  if (view === undefined) return { drawn: false, reason: `the growth ratios of ${hook} were not gathered` };
  const { tokens, special } = growthRatios(measurement, view);
  if (tokens.length === 0) return { drawn: false, reason: `${measurement.model.id} has no ${hook} norms outside the excluded tokens` };
  const fit = fits[hook];
  // The scale follows the tokens: position-0 ratios can reach ×50 and would flatten everything else.
  const scaleAxis = logScaleAxis([...tokens.flatMap((row) => [row.q05, row.q95]), 1, ...(fit === undefined ? [] : [fit.growth])]);
  const [low, high] = scaleAxis.scale.domain;
  const offScale = special.some((row) => row.median < low || row.median > high);
  const x = layerAxis(measurement.model.nLayers, 'layer l');
  const band = (lower: string, upper: string, opacity: number): Unit => ({
    mark: { type: 'area', color: OKABE_ITO.blue, opacity },
    encoding: { x, y: { field: lower, type: 'quantitative' }, y2: { field: upper } },
  });
  const layerField: TooltipField = { field: 'layer', title: 'layer l' };
  const specialNames = [...new Set(special.map((row) => row.label))].join(', ');
  return {
    drawn: true,
    spec: finishSpec({
      title: figureTitle(measurement, `per-token growth ratio ‖${hook}(l)‖ / ‖${hook}(l − 1)‖`, [
        `line: median over tokens (${exclusionPhrase(measurement)}) · bands: middle 50% and 90% of tokens` +
          (special.length > 0 ? ` · dotted: ${specialNames}${offScale ? ' (clipped where off scale)' : ''}` : ''),
        metricPhrase(primaryMetric(measurement)),
      ]),
      layer: [
        {
          data: { values: [{ one: 1 }] },
          mark: { type: 'rule', color: '#888888', strokeWidth: 1 },
          encoding: { y: { field: 'one', type: 'quantitative', title: 'growth ratio ‖x(l)‖₂ / ‖x(l − 1)‖₂', ...scaleAxis } },
        },
        { data: { values: tokens }, layer: [band('q05', 'q95', 0.12), band('q25', 'q75', 0.22)] },
        {
          data: { values: tokens },
          mark: { type: 'line', color: OKABE_ITO.blue, point: { size: 16, color: OKABE_ITO.blue } },
          encoding: { x, y: { field: 'median', type: 'quantitative' } },
        },
        {
          data: { values: special },
          mark: { type: 'line', color: SPECIAL_POSITION_COLOR, strokeDash: SPECIAL_POSITION_DASH, strokeWidth: 2, clip: true },
          encoding: { x, y: { field: 'median', type: 'quantitative' }, detail: { field: 'label' } },
        },
        ...fitLayers(fit, x),
        hoverLayer(
          'special',
          {
            x,
            y: { field: 'median', type: 'quantitative' },
            tooltip: tooltipOf([{ field: 'label', title: 'position', type: 'nominal' }, layerField, { field: 'median', title: 'median ratio' }]),
          },
          { data: { values: special } },
        ),
        hoverLayer(
          'ratios',
          {
            x,
            y: { field: 'median', type: 'quantitative' },
            tooltip: tooltipOf([
              layerField,
              { field: 'median', title: 'median ratio' },
              { field: 'q25', title: '25th percentile' },
              { field: 'q75', title: '75th percentile' },
              { field: 'q05', title: '5th percentile' },
              { field: 'q95', title: '95th percentile' },
            ]),
          },
          { data: { values: tokens }, params: [xZoom('zoom')] },
        ),
      ],
    }),
  };
}

export const growthRatioFigure: ModelFigure = {
  scope: 'model',
  summary: 'per-token growth ratio ‖x(l)‖ / ‖x(l − 1)‖ across layers (median and bands)',
  fitHooks: (options) => [chosenHook(options)],
  tokenView: 'ratios',
  build: (subject, options) => buildGrowthRatio(subject, chosenHook(options)),
};
