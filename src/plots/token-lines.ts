/**
 * Figure 2: the norm of every position of one prompt across layers, one line per token,
 * log y. Excluded positions (BOS) are drawn dashed in their own colour and labelled, so the
 * ~100× larger, flat BOS line is never mistaken for a token.
 */
import type { HookName } from '../results/schema.js';
import { sequenceTable } from '../analysis/norm-statistics.js';
import { figureTitle, metricPhrase, normAxisTitle, positionName, shorten } from './figure-text.js';
import type { FigureOutcome, ModelFigure, PlotSubject } from './figure-types.js';
import { logScaleAxis } from './log-axis.js';
import { chosenHook, layerAxis, missingHookReason, primaryMetric, roundValue } from './plot-data.js';
import { positionLineLayers } from './position-layers.js';
import { finishSpec } from './theme.js';

interface TokenRow {
  layer: number;
  position: number;
  norm: number;
  /** The token's text, for the interactive report's tooltip. */
  token: string;
}

function buildTokenLines({ measurement }: PlotSubject, hook: HookName, prompt: number): FigureOutcome {
  const missing = missingHookReason(measurement, hook);
  if (missing !== undefined) return { drawn: false, reason: missing };
  const sequence = measurement.sequences[prompt];
  if (sequence === undefined) {
    // The command checks --prompt against every file first; this guards direct callers.
    return { drawn: false, reason: `${measurement.model.id} has no prompt ${prompt} (it has ${measurement.sequences.length})` };
  }
  const metric = primaryMetric(measurement);
  const table = sequenceTable(sequence, hook, metric)!; // [layer][position]
  const excluded = new Set(measurement.options.excludePositions);
  const tokens: TokenRow[] = [];
  const special: Array<TokenRow & { label: string }> = [];
  table.forEach((row, layer) =>
    row.forEach((norm, position) => {
      if (!(norm > 0)) return; // a log axis cannot show 0
      const point = { layer, position, norm: roundValue(norm), token: sequence.tokens[position] ?? '' };
      if (excluded.has(position)) special.push({ ...point, label: positionName(measurement, position) });
      else tokens.push(point);
    }),
  );
  const lastLayer = table.length - 1;
  const text = sequence.text ?? sequence.tokens.join('');
  const y = { field: 'norm', type: 'quantitative', title: normAxisTitle(hook, metric), ...logScaleAxis([...tokens, ...special].map((row) => row.norm)) };
  const x = layerAxis(measurement.model.nLayers);
  return {
    drawn: true,
    spec: finishSpec({
      title: figureTitle(measurement, `‖${hook}‖₂ of each token of prompt ${prompt}`, [
        `“${shorten(text, 80)}” · ${sequence.ids.length} tokens`,
        `one line per token, coloured by position · dotted: ${[...excluded].map((p) => positionName(measurement, p)).join(', ') || 'none'} · ${metricPhrase(metric)}`,
      ]),
      layer: positionLineLayers(tokens, special, { x, y, colorTitle: 'position', lastLayer, prompt }),
    }),
  };
}

export const tokenLinesFigure: ModelFigure = {
  scope: 'model',
  summary: 'norm of each token of one prompt (--prompt N) across layers, BOS dotted',
  fitHooks: () => [],
  build: (subject, options) => buildTokenLines(subject, chosenHook(options), options.prompt),
};
