/**
 * The logit lens, next to the growth phases: when predictions form. On one axis of residual
 * streams (0: the embeddings, l + 1: the output of block l, the last: the model's own output),
 * the entropy of the next-token distribution through the final norm and unembedding (median,
 * 25–75 % and 5–95 % bands, up to the uniform distribution's ln dVocab), the share of next
 * tokens that are the top prediction and among the top 10, and below them the norm of the fitted
 * hook with its fitted phases; the fit's breakpoints cross all three panels.
 */
import { LENS_COLUMNS } from '../results/diagnostics.js';
import type { LayerSummary } from '../results/schema.js';
import type { HookName } from '../vocabulary/hooks.js';
import { describePhasesBriefly, exclusionPhrase, figureTitle, normAxisTitle } from './figure-text.js';
import type { FigureOutcome, FitLine, ModelFigure, PlotSubject } from './figure-types.js';
import { fitPhasePoints } from './fit-layers.js';
import { hoverLayer, tooltipOf } from './interaction.js';
import { logScaleAxis } from './log-axis.js';
import { diagnosticsOf } from './diagnostic-data.js';
import { chosenHook, hookSummaries, layerAxis, missingHookReason, primaryMetric, roundValue } from './plot-data.js';
import type { Layer, PositionChannel, Unit } from './spec-types.js';
import { FIT_COLOR, FIT_DASH, OKABE_ITO, PLOT_WIDTH, finishSpec } from './theme.js';

const AXIS_TITLE = 'residual stream after n blocks (0: embeddings; n = l + 1: output of block l)';
const BREAKPOINT_COLOR = '#777777';

/**
 * Where a hook's layer l sits on the lens's axis of streams: resid_pre of block l is the stream
 * after l blocks, resid_post after l + 1; the writes and resid_mid are inside block l.
 */
export function streamOf(hook: HookName, layer: number): number {
  if (hook === 'resid_pre') return layer;
  if (hook === 'resid_post') return layer + 1;
  return layer + 0.5;
}

/** The fit's breakpoints on the lens's axis: between one phase's last layer and the next one's first. */
export function breakpointsOf(fit: Pick<FitLine, 'phases' | 'hook'>): number[] {
  return fit.phases.slice(1).map((phase, k) => (streamOf(fit.hook, fit.phases[k]!.toLayer) + streamOf(fit.hook, phase.fromLayer)) / 2);
}

function buildLens({ measurement, fits }: PlotSubject, hook: HookName): FigureOutcome {
  const found = diagnosticsOf(measurement, 'lens');
  if ('reason' in found) return { drawn: false, reason: found.reason };
  const { summaries } = found.diagnostics;
  const lens = summaries.lens;
  const entropy = summaries.perLayer[LENS_COLUMNS.entropy];
  if (lens === undefined || entropy === undefined) return { drawn: false, reason: `${measurement.model.id}'s results file has no logit-lens summaries` };
  if (lens.tokens === 0) return { drawn: false, reason: `${measurement.model.id} has no included token with a next token to draw the logit lens of` };
  const { nLayers, dVocab } = measurement.model;
  const x = layerAxis(nLayers + 1, AXIS_TITLE);
  const xUntitled = { ...x, title: null }; // the panels share the axis: its title once, at the bottom
  const band = (s: LayerSummary) => ({
    layer: s.layer,
    median: roundValue(s.median),
    q05: roundValue(s.q05),
    q25: roundValue(s.q25),
    q75: roundValue(s.q75),
    q95: roundValue(s.q95),
  });
  const entropyRows = entropy.filter((s) => s.count > 0).map(band);
  const shareRows = (['top1', 'top10'] as const).flatMap((key) =>
    lens[key].flatMap((share, layer) =>
      share === null ? [] : [{ layer, series: key === 'top1' ? 'next token is the top prediction' : 'next token in the top 10', share: roundValue(share) }],
    ),
  );

  // The growth of the fitted hook on the same axis, and the fit's breakpoints across the panels.
  const fit = fits[hook];
  const missing = missingHookReason(measurement, hook);
  const metric = primaryMetric(measurement);
  const normRows =
    missing !== undefined
      ? []
      : hookSummaries(measurement, hook)
          .filter((s) => s.count > 0 && s.mean > 0)
          .map((s) => ({ layer: streamOf(hook, s.layer), norm: roundValue(s.mean) }));
  const fitPoints =
    fit === undefined || missing !== undefined ? [] : fitPhasePoints(fit, 'fit').map((point) => ({ ...point, layer: streamOf(hook, point.layer) }));
  const breaks = fit === undefined || missing !== undefined ? [] : breakpointsOf(fit).map((layer, k) => ({ layer, label: `phase ${k + 2}` }));
  const breakpointLayer = (withLabels: boolean): Unit[] =>
    breaks.length === 0
      ? []
      : [
          {
            data: { values: breaks },
            mark: { type: 'rule', color: BREAKPOINT_COLOR, strokeDash: [4, 3] },
            encoding: { x: { field: 'layer', type: 'quantitative' } },
          } satisfies Unit,
          ...(withLabels
            ? [
                {
                  data: { values: breaks },
                  mark: { type: 'text', color: BREAKPOINT_COLOR, align: 'left', dx: 3, y: 4, baseline: 'top', fontSize: 10 },
                  encoding: { x: { field: 'layer', type: 'quantitative' }, text: { field: 'label' } },
                } satisfies Unit,
              ]
            : []),
        ];

  // The uniform distribution's entropy bounds the axis (files without dVocab: the data do).
  const ceiling = dVocab === undefined ? undefined : roundValue(Math.log(dVocab));
  const entropyY = (field: string): PositionChannel => ({
    field,
    type: 'quantitative',
    title: 'entropy (nats)',
    ...(ceiling === undefined ? {} : { scale: { domain: [0, ceiling] } }),
  });
  const entropyPanel: Layer & { width: number; height: number } = {
    width: PLOT_WIDTH,
    height: 200,
    layer: [
      ...(ceiling === undefined
        ? []
        : [
            {
              data: { values: [{ ceiling }] },
              mark: { type: 'rule', color: '#999999', strokeDash: [2, 2] },
              encoding: { y: { field: 'ceiling', type: 'quantitative' } },
            } satisfies Unit,
          ]),
      ...breakpointLayer(true),
      {
        data: { values: entropyRows },
        mark: { type: 'area', color: OKABE_ITO.blue, opacity: 0.18 },
        encoding: { x: xUntitled, y: entropyY('q05'), y2: { field: 'q95' } },
      },
      {
        data: { values: entropyRows },
        mark: { type: 'area', color: OKABE_ITO.blue, opacity: 0.35 },
        encoding: { x: xUntitled, y: entropyY('q25'), y2: { field: 'q75' } },
      },
      { data: { values: entropyRows }, mark: { type: 'line', color: OKABE_ITO.blue, point: { size: 16 } }, encoding: { x: xUntitled, y: entropyY('median') } },
      hoverLayer(
        'lens-entropy',
        {
          x: xUntitled,
          y: entropyY('median'),
          tooltip: tooltipOf([
            { field: 'layer', title: 'blocks applied', type: 'ordinal' },
            { field: 'median', title: 'median entropy (nats)' },
            { field: 'q25', title: '25 %' },
            { field: 'q75', title: '75 %' },
          ]),
        },
        { data: { values: entropyRows } },
      ),
    ],
  };
  const sharePanel: Layer & { width: number; height: number } = {
    width: PLOT_WIDTH,
    height: 160,
    layer: [
      ...breakpointLayer(false),
      {
        data: { values: shareRows },
        mark: { type: 'line', point: { size: 16 } },
        encoding: {
          x: xUntitled,
          y: { field: 'share', type: 'quantitative', title: 'share of tokens', scale: { domain: [0, 1] }, axis: { format: '.0%' } },
          color: {
            field: 'series',
            type: 'nominal',
            title: null,
            scale: { domain: ['next token is the top prediction', 'next token in the top 10'], range: [OKABE_ITO.vermillion, OKABE_ITO.orange] },
            legend: { orient: 'top', direction: 'horizontal' },
          },
        },
      },
      hoverLayer(
        'lens-shares',
        {
          x: xUntitled,
          y: { field: 'share', type: 'quantitative' },
          tooltip: tooltipOf([
            { field: 'series', title: 'share', type: 'nominal' },
            { field: 'layer', title: 'blocks applied', type: 'ordinal' },
            { field: 'share', title: 'of tokens', format: '.1%' },
          ]),
        },
        { data: { values: shareRows } },
      ),
    ],
  };
  const normY: PositionChannel = {
    field: 'norm',
    type: 'quantitative',
    title: normAxisTitle(hook, metric),
    ...logScaleAxis([...normRows.map((row) => row.norm), ...fitPoints.map((point) => point.norm)]),
  };
  const normPanel: Layer & { width: number; height: number } = {
    width: PLOT_WIDTH,
    height: 160,
    layer: [
      ...breakpointLayer(false),
      ...(fitPoints.length === 0
        ? []
        : [
            {
              data: { values: fitPoints },
              mark: { type: 'line', color: FIT_COLOR, strokeDash: FIT_DASH, strokeWidth: 3 },
              encoding: { x, y: normY, detail: { field: 'phase', type: 'ordinal' } },
            } satisfies Unit,
          ]),
      { data: { values: normRows }, mark: { type: 'line', color: OKABE_ITO.black, point: { size: 16, color: OKABE_ITO.black } }, encoding: { x, y: normY } },
      hoverLayer(
        'lens-norms',
        {
          x,
          y: normY,
          tooltip: tooltipOf([
            { field: 'layer', title: 'blocks applied' },
            { field: 'norm', title: `mean ${normAxisTitle(hook, metric)}` },
          ]),
        },
        { data: { values: normRows } },
      ),
    ],
  };
  const growth =
    missing !== undefined
      ? `no norm panel: ${missing}`
      : fit === undefined
        ? `below: mean ${normAxisTitle(hook, metric)} (no growth fit to draw)`
        : `below: mean ${normAxisTitle(hook, metric)}, fit ${describePhasesBriefly(fit, fit.phases.length === 1 ? 'one phase' : `${fit.phases.length} phases`)}`;
  return {
    drawn: true,
    spec: finishSpec({
      title: figureTitle(measurement, 'logit lens: when predictions form, next to the growth phases', [
        'top: entropy of the next token through the final norm and unembedding (median, 25–75 %, 5–95 %)',
        `${dVocab === undefined ? '' : `dotted: ln ${dVocab.toLocaleString('en-US')} (uniform) · `}middle: share of next tokens ranked first / in the top 10`,
        `${lens.tokens.toLocaleString('en-US')} tokens with a next token (${exclusionPhrase(measurement)})`,
        growth,
      ]),
      vconcat: missing !== undefined ? [entropyPanel, sharePanel] : [entropyPanel, sharePanel, normPanel],
      resolve: { scale: { color: 'independent' } },
    }),
    ...(fit === undefined && missing === undefined ? { note: `no growth fit of ${hook} to mark the phases of` } : {}),
  };
}

export const lensFigure: ModelFigure = {
  scope: 'model',
  summary: 'logit lens: entropy and top-1 / top-10 share of the next token per layer, next to the norm growth and its phases (needs --diagnostics lens)',
  diagnostic: 'lens',
  fitHooks: (options) => [chosenHook(options)],
  build: (subject, options) => buildLens(subject, chosenHook(options)),
};
