/**
 * The reference's test of how a block's write adds to the stream: if attn_out were
 * uncorrelated with resid_pre, ‖resid_mid‖ ≈ √(‖resid_pre‖² + ‖attn_out‖²); if aligned with it,
 * ‖resid_mid‖ ≈ ‖resid_pre‖ + ‖attn_out‖ (the triangle inequality's bound); a measured norm
 * below the uncorrelated line means the write partly cancels the stream. The same for the MLP
 * (resid_mid + mlp_out → resid_post), or for the whole block in parallel-residual models.
 * Like the reference, it works on the per-layer means of the norms. The second row divides
 * everything by growth^layer (the fitted rate), so the band stays readable over many layers.
 */
import { fitLine } from '../analysis/least-squares.js';
import type { Measurement } from '../results/schema.js';
import type { HookName } from '../vocabulary/hooks.js';
import { exclusionPhrase, figureTitle, metricPhrase } from './figure-text.js';
import { formatFactor } from '../messages/numbers.js';
import type { FigureOutcome, ModelFigure, PlotSubject } from './figure-types.js';
import { hoverLayer, tooltipOf } from './interaction.js';
import { logScaleAxis } from './log-axis.js';
import { hookSummaries, layerAxis, primaryMetric, roundValue } from './plot-data.js';
import type { ColorChannel, Layer, PositionChannel } from './spec-types.js';
import { OKABE_ITO, finishSpec } from './theme.js';

export interface AdditionStep {
  name: string;
  /** The stream before the step, the writes added, and the stream after it. */
  before: HookName;
  writes: HookName[];
  after: HookName;
}

export interface AdditionRow {
  step: string;
  layer: number;
  measured: number;
  uncorrelated: number;
  aligned: number;
}

/** The steps a model's hooks describe: attention then MLP, or one parallel block. */
export function additionSteps(measurement: Measurement): AdditionStep[] {
  const parallel = measurement.model.parallelResidual === true || !measurement.hooks.includes('resid_mid');
  const steps: AdditionStep[] = parallel
    ? [{ name: 'block (parallel attention + MLP)', before: 'resid_pre', writes: ['attn_out', 'mlp_out'], after: 'resid_post' }]
    : [
        { name: 'attention: resid_pre + attn_out → resid_mid', before: 'resid_pre', writes: ['attn_out'], after: 'resid_mid' },
        { name: 'MLP: resid_mid + mlp_out → resid_post', before: 'resid_mid', writes: ['mlp_out'], after: 'resid_post' },
      ];
  return steps.filter((step) => [step.before, step.after, ...step.writes].every((hook) => measurement.hooks.includes(hook)));
}

/** Per step and layer: the measured mean norm after the step, and the two predictions from the means before it. */
export function additionRows(measurement: Measurement): AdditionRow[] {
  const mean = (hook: HookName) => hookSummaries(measurement, hook).map((summary) => summary.mean);
  return additionSteps(measurement).flatMap((step) => {
    const before = mean(step.before);
    const writes = step.writes.map(mean);
    const after = mean(step.after);
    return after.flatMap((measured, layer) => {
      const parts = [before[layer]!, ...writes.map((write) => write[layer]!)];
      if (!parts.every((value) => value > 0) || !(measured > 0)) return [];
      return [
        {
          step: step.name,
          layer,
          measured,
          uncorrelated: Math.sqrt(parts.reduce((sum, value) => sum + value * value, 0)),
          aligned: parts.reduce((a, b) => a + b, 0),
        },
      ];
    });
  });
}

/** The growth used to detrend: the subject's fit of resid_post or resid_pre, else least squares of ln mean resid_post on layer. */
export function detrendGrowth({ measurement, fits }: Pick<PlotSubject, 'measurement' | 'fits'>): number {
  const fitted = fits.resid_post ?? fits.resid_pre;
  if (fitted !== undefined) return fitted.growth;
  const rows = hookSummaries(measurement, measurement.hooks.includes('resid_post') ? 'resid_post' : 'resid_pre').filter((row) => row.mean > 0);
  return rows.length >= 2
    ? Math.exp(
        fitLine(
          rows.map((row) => row.layer),
          rows.map((row) => Math.log(row.mean)),
        ).slope,
      )
    : 1;
}

const SERIES = [
  { key: 'measured', label: 'measured', color: OKABE_ITO.black },
  { key: 'uncorrelated', label: 'uncorrelated: √(Σ‖·‖²)', color: OKABE_ITO.blue },
  { key: 'aligned', label: 'aligned: Σ‖·‖', color: OKABE_ITO.vermillion },
] as const;

function buildAdditionBand(subject: PlotSubject): FigureOutcome {
  const { measurement } = subject;
  const rows = additionRows(measurement);
  if (rows.length === 0)
    return {
      drawn: false,
      reason: `${measurement.model.id} lacks the hooks of a block's addition (resid_pre, attn_out, mlp_out, resid_post; resid_mid unless parallel)`,
    };
  const growth = detrendGrowth(subject);
  const metric = primaryMetric(measurement);
  const long = rows.flatMap((row) =>
    SERIES.map(({ key, label }) => ({
      step: row.step,
      layer: row.layer,
      series: label,
      norm: roundValue(row[key]),
      detrended: roundValue(row[key] / growth ** row.layer),
    })),
  );
  const band = rows.map((row) => ({
    step: row.step,
    layer: row.layer,
    low: roundValue(row.uncorrelated),
    high: roundValue(row.aligned),
    lowDetrended: roundValue(row.uncorrelated / growth ** row.layer),
    highDetrended: roundValue(row.aligned / growth ** row.layer),
  }));
  const x = layerAxis(measurement.model.nLayers);
  const color: ColorChannel = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: { domain: SERIES.map((s) => s.label), range: SERIES.map((s) => s.color) },
    legend: { orient: 'bottom' },
  };
  const steps = [...new Set(rows.map((row) => row.step))];
  const panel = (step: string, field: 'norm' | 'detrended', title: string): Layer => {
    const [low, high] = field === 'norm' ? (['low', 'high'] as const) : (['lowDetrended', 'highDetrended'] as const);
    const values = long.filter((row) => row.step === step).map((row) => row[field]);
    const y: PositionChannel = { field, type: 'quantitative', title, ...logScaleAxis(values) };
    return {
      title: { text: step, fontSize: 12 },
      width: 300,
      height: 220,
      layer: [
        {
          data: { values: band.filter((row) => row.step === step) },
          mark: { type: 'area', color: '#bbbbbb', opacity: 0.35 },
          encoding: { x, y: { ...y, field: low }, y2: { field: high } },
        },
        { data: { values: long.filter((row) => row.step === step) }, mark: { type: 'line', point: { size: 14 } }, encoding: { x, y, color } },
        hoverLayer(
          `${field}-${steps.indexOf(step)}`,
          {
            x,
            y,
            tooltip: tooltipOf([
              { field: 'series', title: 'series', type: 'nominal' },
              { field: 'layer', title: 'layer' },
              { field, title },
            ]),
          },
          { data: { values: long.filter((row) => row.step === step) } },
        ),
      ],
    };
  };
  return {
    drawn: true,
    spec: finishSpec({
      title: figureTitle(measurement, "how each block's write adds to the stream: aligned, uncorrelated or cancelling", [
        `mean norms over tokens (${exclusionPhrase(measurement)}) · ${metricPhrase(metric)}`,
        `band: between uncorrelated and aligned addition · bottom row: divided by fitted growth ${formatFactor(growth)}^layer`,
      ]),
      vconcat: [
        { hconcat: steps.map((step) => panel(step, 'norm', 'mean ‖x‖₂')) },
        { hconcat: steps.map((step) => panel(step, 'detrended', `mean ‖x‖₂ / ${formatFactor(growth)}^layer`)) },
      ],
      resolve: { scale: { color: 'shared' } },
    }),
  };
}

export const additionBandFigure: ModelFigure = {
  scope: 'model',
  summary: 'measured norm after attention and after the MLP against uncorrelated (√ of the sum of squares) and aligned (sum) addition, raw and detrended',
  fitHooks: () => ['resid_post'],
  build: (subject) => buildAdditionBand(subject),
};
