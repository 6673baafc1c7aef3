/**
 * Overshadow or cancel: per layer, the distribution over included tokens of the cosine between
 * what a block writes and the stream it writes into (median line, 25–75 % and 5–95 % bands), one
 * panel per pair. Near 0: the write is orthogonal and the norm grows (overshadowing); negative:
 * it cancels what is there. Primary metric (centered for LayerNorm models, raw for RMSNorm).
 */
import { cosineColumn, cosinePairs, type CosinePair } from '../results/diagnostics.js';
import { exclusionPhrase, figureTitle } from './figure-text.js';
import type { FigureOutcome, ModelFigure, PlotSubject } from './figure-types.js';
import { hoverLayer, tooltipOf } from './interaction.js';
import { diagnosticsOf } from './diagnostic-data.js';
import { layerAxis, primaryMetric, roundValue } from './plot-data.js';
import type { PositionChannel } from './spec-types.js';
import { OKABE_ITO, PLOT_HEIGHT, PLOT_WIDTH, finishSpec } from './theme.js';

const PAIR_TITLES: Record<CosinePair, string> = {
  attn_resid_pre: 'cos(attn_out, resid_pre)',
  mlp_resid_mid: 'cos(mlp_out, resid_mid)',
  block_resid_pre: 'cos(attn_out + mlp_out, resid_pre)',
};

function buildCosines({ measurement }: PlotSubject): FigureOutcome {
  const found = diagnosticsOf(measurement, 'cosines');
  if ('reason' in found) return { drawn: false, reason: found.reason };
  const metric = primaryMetric(measurement);
  const pairs = cosinePairs(measurement.model.parallelResidual === true);
  const rows = pairs.flatMap((pair) =>
    (found.diagnostics.summaries.perLayer[cosineColumn(pair, metric)] ?? [])
      .filter((summary) => summary.count > 0)
      .map((s) => ({
        pair: PAIR_TITLES[pair],
        layer: s.layer,
        q05: roundValue(s.q05),
        q25: roundValue(s.q25),
        median: roundValue(s.median),
        q75: roundValue(s.q75),
        q95: roundValue(s.q95),
      })),
  );
  const x = layerAxis(measurement.model.nLayers);
  const y = (field: string): PositionChannel => ({ field, type: 'quantitative', title: `cosine (${metric})`, scale: { domain: [-1, 1] } });
  return {
    drawn: true,
    spec: finishSpec({
      title: figureTitle(measurement, 'overshadow or cancel: cosine of each write with the stream it joins', [
        `line: median over tokens (${exclusionPhrase(measurement)}) · bands: 25–75 % and 5–95 % · ${metric} vectors`,
        'near 0: the write is orthogonal to the stream and adds to its norm (overshadows) · below 0: it cancels',
      ]),
      data: { values: rows },
      facet: { column: { field: 'pair', type: 'nominal', title: null, sort: pairs.map((pair) => PAIR_TITLES[pair]) } },
      spec: {
        width: Math.round(PLOT_WIDTH / pairs.length) + 60,
        height: PLOT_HEIGHT,
        layer: [
          { mark: { type: 'rule', color: '#999999', strokeDash: [2, 2] }, encoding: { y: { datum: 0, type: 'quantitative' } } },
          { mark: { type: 'area', color: OKABE_ITO.blue, opacity: 0.18 }, encoding: { x, y: y('q05'), y2: { field: 'q95' } } },
          { mark: { type: 'area', color: OKABE_ITO.blue, opacity: 0.35 }, encoding: { x, y: y('q25'), y2: { field: 'q75' } } },
          { mark: { type: 'line', color: OKABE_ITO.blue, point: { size: 16 } }, encoding: { x, y: y('median') } },
          hoverLayer('cosines', {
            x,
            y: y('median'),
            tooltip: tooltipOf([
              { field: 'pair', title: 'pair', type: 'nominal' },
              { field: 'layer', title: 'layer', type: 'ordinal' },
              { field: 'median', title: 'median' },
              { field: 'q25', title: '25 %' },
              { field: 'q75', title: '75 %' },
            ]),
          }),
        ],
      },
    }),
  };
}

export const cosinesFigure: ModelFigure = {
  scope: 'model',
  summary: 'overshadow or cancel: cosine of attn_out / mlp_out with the stream they join, per layer (needs --diagnostics cosines)',
  diagnostic: 'cosines',
  fitHooks: () => [],
  build: buildCosines,
};
