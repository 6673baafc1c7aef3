/**
 * Figure 3: the mean (or, for a median fit, the median) norm per layer on a log axis, the
 * spread of tokens around it, and the fitted exponential growth: each phase of the fit as a
 * dashed line, its rate and interval written on the chart.
 */
import type { LayerSummary } from '../results/schema.js';
import { HEADLINE_HOOK, headlineHook, type HookName } from '../vocabulary/hooks.js';
import { describePhase, exclusionPhrase, figureTitle, metricPhrase, normAxisTitle, shapeVerdict } from './figure-text.js';
import type { FigureOptions, FigureOutcome, ModelFigure, PlotSubject } from './figure-types.js';
import { annotationLayers, fitPhasePoints } from './fit-layers.js';
import { hoverLayer, tooltipOf, xZoom } from './interaction.js';
import { logScaleAxis } from './log-axis.js';
import { hookSummaries, layerAxis, missingHookReason, primaryMetric, roundValue } from './plot-data.js';
import type { LayerMember } from './spec-types.js';
import { FIT_COLOR, FIT_DASH, OKABE_ITO, finishSpec } from './theme.js';

function buildMeanGrowth({ measurement, fits }: PlotSubject, hook: HookName): FigureOutcome {
  const missing = missingHookReason(measurement, hook);
  if (missing !== undefined) return { drawn: false, reason: missing };
  const metric = primaryMetric(measurement);
  const fit = fits[hook];
  const stat = fit?.stat ?? 'mean';
  // The summary has the mean and the median; other statistics come from the fit, over its range.
  const statisticOf = (summary: LayerSummary): number =>
    stat === 'geomean'
      ? fit !== undefined && summary.layer >= fit.fromLayer && summary.layer <= fit.toLayer
        ? (fit.values?.[summary.layer - fit.fromLayer] ?? Number.NaN)
        : Number.NaN
      : summary[stat];
  const rows = hookSummaries(measurement, hook)
    .filter((summary) => summary.count > 0 && statisticOf(summary) > 0)
    .map((summary) => ({ layer: summary.layer, value: roundValue(statisticOf(summary)), q25: roundValue(summary.q25), q75: roundValue(summary.q75) }));
  if (rows.length === 0) return { drawn: false, reason: `${measurement.model.id} has no ${hook} norms outside the excluded tokens` };
  const fitPoints = fit === undefined ? [] : fitPhasePoints(fit, 'fit');
  const scaleAxis = logScaleAxis([...rows.flatMap((row) => [row.q25, row.q75, row.value]), ...fitPoints.map((point) => point.norm)]);
  const x = layerAxis(measurement.model.nLayers);
  // Fit under the data line and wider, so both stay visible where they coincide.
  const fitLayers: LayerMember[] =
    fit === undefined
      ? []
      : [
          {
            data: { values: fitPoints },
            mark: { type: 'line', color: FIT_COLOR, strokeDash: FIT_DASH, strokeWidth: 3.5 },
            encoding: { x, y: { field: 'norm', type: 'quantitative' }, detail: { field: 'phase', type: 'ordinal' } },
          },
          ...annotationLayers([
            ...fit.phases.map((phase) => ({ text: `fit ${describePhase(phase)}`, color: FIT_COLOR })),
            // The verdict on the chart, under the rates it qualifies: a figure travels without its subtitle.
            ...(fit.shape?.oneExponential === false ? [{ text: `not one exponential: ${shapeVerdict(fit)}`, color: OKABE_ITO.black, bold: true }] : []),
          ]),
        ];
  return {
    drawn: true,
    spec: finishSpec({
      title: figureTitle(measurement, `${stat} ‖${hook}‖₂ per layer${fit === undefined ? '' : ' and its exponential fit'}`, [
        `line: ${stat} over tokens (${exclusionPhrase(measurement)}) · band: middle 50% of tokens` +
          (fit === undefined ? '' : ` · dashed: fit, ${fit.phases.length === 1 ? 'one phase' : `${fit.phases.length} phases`}`) +
          (fit?.shape?.oneExponential === false ? ` · not one exponential${fit.phases.length > 1 ? ': quote the phases' : ''}` : ''),
        metricPhrase(metric),
      ]),
      data: { values: rows },
      layer: [
        {
          mark: { type: 'area', color: OKABE_ITO.blue, opacity: 0.18 },
          encoding: { x, y: { field: 'q25', type: 'quantitative', title: normAxisTitle(hook, metric), ...scaleAxis }, y2: { field: 'q75' } },
        },
        ...fitLayers,
        {
          mark: { type: 'line', color: OKABE_ITO.blue, strokeWidth: 1.5, point: { size: 18, color: OKABE_ITO.blue } },
          encoding: { x, y: { field: 'value', type: 'quantitative' } },
        },
        hoverLayer(
          'means',
          {
            x,
            y: { field: 'value', type: 'quantitative' },
            tooltip: tooltipOf([
              { field: 'layer', title: 'layer' },
              { field: 'value', title: `${stat} ${normAxisTitle(hook, metric)}` },
              { field: 'q25', title: 'lower quartile' },
              { field: 'q75', title: 'upper quartile' },
            ]),
          },
          { params: [xZoom('zoom')] },
        ),
      ],
    }),
    ...(fit === undefined ? { note: `no growth fit of ${hook} to draw` } : {}),
  };
}

/** The growth figure draws the headline (resid_post, else resid_pre) unless --hook names another. */
const growthHooks = (options: FigureOptions): HookName[] => (options.hook !== undefined ? [options.hook] : [HEADLINE_HOOK, 'resid_pre']);

export const meanGrowthFigure: ModelFigure = {
  scope: 'model',
  summary: 'mean norm per layer (log y) with the fitted exponential growth and its rate, flagged when it is not one exponential',
  fitHooks: growthHooks,
  build: (subject, options) => buildMeanGrowth(subject, options.hook ?? headlineHook(subject.measurement.hooks)),
};
