/**
 * The per-token bound behind "blocks overshadow rather than cancel": by the triangle
 * inequality ‖resid_post‖ ≤ ‖resid_pre‖ + ‖attn_out‖ + ‖mlp_out‖, so for every token and layer
 * (‖attn_out‖ + ‖mlp_out‖) / ‖resid_pre‖ ≥ g − 1, with g = ‖resid_post‖ / ‖resid_pre‖ its
 * growth in that block. Drawn per layer as medians with their middle 50%: how much a block
 * writes, against how much the stream grows. A written share far above g − 1 means the writes
 * mostly do not add along the stream; the figure also counts tokens breaking the bound (none
 * should, beyond float32 rounding).
 */
import { exclusionPhrase, figureTitle, metricPhrase } from './figure-text.js';
import type { FigureOutcome, ModelFigure, PlotSubject } from './figure-types.js';
import { hoverLayer, tooltipOf } from './interaction.js';
import { logScaleAxis } from './log-axis.js';
import { layerAxis, primaryMetric, roundValue } from './plot-data.js';
import type { ColorChannel, PositionChannel } from './spec-types.js';
import { OKABE_ITO, finishSpec } from './theme.js';
import { BOUND_HOOKS, type BoundView } from './token-view-types.js';

export interface BoundRow {
  layer: number;
  series: string;
  median: number;
  q25: number;
  q75: number;
}

const WRITTEN = '(‖attn_out‖ + ‖mlp_out‖) / ‖resid_pre‖';
const GROWN = 'g − 1 = ‖resid_post‖ / ‖resid_pre‖ − 1';

/** Per layer and series, the quartiles the figure draws (a log axis: layers with a median ≤ 0 are left out). */
export function boundRows(view: BoundView): BoundRow[] {
  return [
    { series: WRITTEN, summaries: view.written },
    { series: GROWN, summaries: view.growth },
  ].flatMap(({ series, summaries }) =>
    summaries
      .filter((summary) => summary.count > 0 && summary.median > 0)
      // Tokens whose norm shrinks have g − 1 < 0, which a log axis cannot show: the band stops at 1% of the median.
      .map((summary) => ({
        layer: summary.layer,
        series,
        median: roundValue(summary.median),
        q25: roundValue(Math.max(summary.q25, summary.median / 100)),
        q75: roundValue(summary.q75),
      })),
  );
}

function buildBlockBound({ measurement, views }: PlotSubject): FigureOutcome {
  const missing = BOUND_HOOKS.filter((hook) => !measurement.hooks.includes(hook));
  if (missing.length > 0)
    return { drawn: false, reason: `${measurement.model.id} was measured without ${missing.join(', ')}; the bound needs ${BOUND_HOOKS.join(', ')}` };
  const view = views?.bound;
  if (view === undefined) return { drawn: false, reason: 'the per-token bound was not gathered' };
  const rows = boundRows(view);
  if (rows.length === 0) return { drawn: false, reason: `${measurement.model.id} has no tokens outside the excluded ones` };
  const metric = primaryMetric(measurement);
  const x = layerAxis(measurement.model.nLayers);
  const y: PositionChannel = {
    field: 'median',
    type: 'quantitative',
    title: 'per token (median, middle 50%)',
    ...logScaleAxis(rows.flatMap((row) => [row.q25, row.q75, row.median])),
  };
  const color: ColorChannel = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: { domain: [WRITTEN, GROWN], range: [OKABE_ITO.blue, OKABE_ITO.vermillion] },
    legend: { orient: 'bottom' },
  };
  const holds =
    view.violations === 0
      ? `the bound holds for all ${view.checked.toLocaleString('en-US')} token-layers`
      : `the bound fails for ${view.violations} of ${view.checked.toLocaleString('en-US')} token-layers (beyond float32 rounding: a measurement problem)`;
  return {
    drawn: true,
    spec: finishSpec({
      title: figureTitle(measurement, 'what each block writes against how much the stream grows, per token', [
        `the written share ≥ g − 1 for every token and layer (triangle inequality)`,
        holds,
        `tokens: ${exclusionPhrase(measurement)} · ${metricPhrase(metric)}`,
      ]),
      data: { values: rows },
      layer: [
        { mark: { type: 'area', opacity: 0.2 }, encoding: { x, y: { ...y, field: 'q25' }, y2: { field: 'q75' }, color } },
        { mark: { type: 'line', point: { size: 16 } }, encoding: { x, y, color } },
        hoverLayer('bound', {
          x,
          y,
          tooltip: tooltipOf([
            { field: 'series', title: 'series', type: 'nominal' },
            { field: 'layer', title: 'layer' },
            { field: 'median', title: 'median' },
            { field: 'q25', title: 'q25' },
            { field: 'q75', title: 'q75' },
          ]),
        }),
      ],
    }),
  };
}

export const blockBoundFigure: ModelFigure = {
  scope: 'model',
  summary: 'per token and layer, (‖attn_out‖ + ‖mlp_out‖)/‖resid_pre‖ against the growth g − 1 it bounds (triangle inequality)',
  fitHooks: () => [],
  tokenView: 'bound',
  build: (subject) => buildBlockBound(subject),
};
