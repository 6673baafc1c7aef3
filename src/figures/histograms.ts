/**
 * Figure 1: per-layer histograms of log10 ‖x‖ over all prompts and positions (excluded
 * positions left out), for every 5th layer, on shared bins, as percentages of tokens.
 * Binned here, so Vega draws one step line per layer whatever the number of tokens.
 */
import type { HookName } from '../vocabulary/hooks.js';
import { exclusionPhrase, figureTitle, metricPhrase, normAxisTitle } from './figure-text.js';
import type { FigureOutcome, ModelFigure, PlotSubject } from './figure-types.js';
import { hoverLayer, legendPick, pickedOpacity, tooltipOf, xZoom } from './interaction.js';
import { chosenHook, everyNthLayer, missingHookReason, primaryMetric, roundValue } from './plot-data.js';
import type { ColorChannel, PositionChannel } from './spec-types.js';
import { SEQUENTIAL_SCHEME, finishSpec } from './theme.js';
import type { HistogramView } from './token-view-types.js';

export interface HistogramRow {
  layer: number;
  /** Left edge of the bin, log10 ‖x‖. */
  log10Norm: number;
  /** Share of the layer's tokens in the bin, in percent. */
  percent: number;
  /** Drawing order along the step line. */
  step: number;
}

/**
 * Step-line points of one histogram per layer on shared bins: for each layer, from the baseline
 * up at its first non-empty bin, along the bin tops, and back down after its last one.
 */
export function histogramRows(view: HistogramView): { rows: HistogramRow[]; binWidth: number } {
  const { binWidth, start } = view;
  const edge = (bin: number): number => roundValue(start + bin * binWidth);
  const rows: HistogramRow[] = [];
  for (const [layer, counts] of view.counts) {
    const total = counts.reduce((a, b) => a + b, 0);
    if (total === 0) continue;
    const first = counts.findIndex((count) => count > 0);
    const last = counts.length - 1 - [...counts].reverse().findIndex((count) => count > 0);
    let step = 0;
    rows.push({ layer, log10Norm: edge(first), percent: 0, step: step++ });
    for (let bin = first; bin <= last; bin += 1) {
      rows.push({ layer, log10Norm: edge(bin), percent: roundValue((100 * counts[bin]!) / total), step: step++ });
    }
    rows.push({ layer, log10Norm: edge(last + 1), percent: 0, step: step++ });
  }
  return { rows, binWidth };
}

function buildHistograms({ measurement, views }: PlotSubject, hook: HookName): FigureOutcome {
  const missing = missingHookReason(measurement, hook);
  if (missing !== undefined) return { drawn: false, reason: missing };
  const layers = everyNthLayer(measurement.model.nLayers);
  const view = views?.hook === hook ? views.histogram : undefined;
  if (view === undefined) return { drawn: false, reason: `the histograms of ${hook} were not gathered` };
  const { rows, binWidth } = histogramRows(view);
  if (rows.length === 0) return { drawn: false, reason: `${measurement.model.id} has no ${hook} norms outside the excluded tokens` };
  const metric = primaryMetric(measurement);
  const stride = layers.length > 1 ? layers[1]! - layers[0]! : 1;
  const x: PositionChannel = { field: 'log10Norm', type: 'quantitative', title: `log10 ${normAxisTitle(hook, metric)}`, scale: { zero: false } };
  const y: PositionChannel = { field: 'percent', type: 'quantitative', title: '% of tokens in bin' };
  const color: ColorChannel = { field: 'layer', type: 'ordinal', title: 'layer', scale: { scheme: SEQUENTIAL_SCHEME } };
  return {
    drawn: true,
    spec: finishSpec({
      title: figureTitle(measurement, `distribution of ‖${hook}‖₂ per layer`, [
        `${everyPhrase(stride)} · shared bins ${binWidth} wide in log10 · ${exclusionPhrase(measurement)} · ${metricPhrase(metric)}`,
      ]),
      data: { values: rows },
      layer: [
        {
          params: [legendPick('pick', 'layer')],
          mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.6 },
          encoding: { x, y, color, order: { field: 'step', type: 'quantitative' }, opacity: pickedOpacity('pick') },
        },
        hoverLayer(
          'bins',
          {
            x,
            y,
            tooltip: tooltipOf([
              { field: 'layer', title: 'layer' },
              { field: 'log10Norm', title: `bin from log10 ${normAxisTitle(hook, metric)}` },
              { field: 'percent', title: '% of tokens in bin', format: '.3~f' },
            ]),
          },
          { params: [xZoom('zoom')] },
        ),
      ],
    }),
  };
}

function everyPhrase(stride: number): string {
  if (stride === 1) return 'every layer';
  const suffix = stride === 2 ? 'nd' : stride === 3 ? 'rd' : 'th';
  return `every ${stride}${suffix} layer`;
}

export const histogramsFigure: ModelFigure = {
  scope: 'model',
  summary: 'histograms of log10 norm per layer (every 5th layer, shared bins, % of tokens)',
  fitHooks: () => [],
  tokenView: 'histogram',
  build: (subject, options) => buildHistograms(subject, chosenHook(options)),
};
