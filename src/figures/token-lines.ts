/**
 * Figure 2: the norm of every position of one prompt across layers, one line per token,
 * log y. Excluded positions (BOS) are drawn dashed in their own colour and labelled, so the
 * ~100× larger, flat BOS line is never mistaken for a token.
 */
import type { HookName } from '../vocabulary/hooks.js';
import { excludedTokenLabel, figureTitle, metricPhrase, normAxisTitle, shorten } from './figure-text.js';
import { exclusionReason } from '../store/result-tables.js';
import type { FigureOutcome, ModelFigure, PlotSubject } from './figure-types.js';
import { logScaleAxis } from './log-axis.js';
import { chosenHook, layerAxis, missingHookReason, primaryMetric, roundValue } from './plot-data.js';
import { positionLineLayers } from './position-layers.js';
import type { PositionChannel } from './spec-types.js';
import { finishSpec } from './theme.js';

interface TokenRow {
  layer: number;
  position: number;
  norm: number;
  /** The token's text, for the interactive report's tooltip. */
  token: string;
}

function buildTokenLines({ measurement, views }: PlotSubject, hook: HookName, prompt: number): FigureOutcome {
  const missing = missingHookReason(measurement, hook);
  if (missing !== undefined) return { drawn: false, reason: missing };
  if (views?.hook !== hook || views.promptIndex !== prompt) return { drawn: false, reason: `prompt ${prompt}'s ${hook} norms were not gathered` };
  const sequence = views.prompt;
  if (sequence === undefined) {
    // The command checks --prompt against every file first; this guards direct callers.
    return { drawn: false, reason: `${measurement.model.id} has no prompt ${prompt}` };
  }
  const metric = primaryMetric(measurement);
  const { nLayers } = measurement.model;
  const tokens: TokenRow[] = [];
  const special: Array<TokenRow & { label: string }> = [];
  for (let layer = 0; layer < nLayers; layer += 1) {
    sequence.ids.forEach((_, position) => {
      const norm = sequence.values[position * nLayers + layer]!;
      if (!(norm > 0)) return; // a log axis cannot show 0
      const point = { layer, position, norm: roundValue(norm), token: sequence.tokens[position] ?? '' };
      const reason = exclusionReason(sequence.excluded[position] ?? 0);
      if (reason !== null) special.push({ ...point, label: excludedTokenLabel(reason, point.token, position) });
      else tokens.push(point);
    });
  }
  const lastLayer = nLayers - 1;
  const text = sequence.text ?? sequence.tokens.join('');
  const y: PositionChannel = {
    field: 'norm',
    type: 'quantitative',
    title: normAxisTitle(hook, metric),
    ...logScaleAxis([...tokens, ...special].map((row) => row.norm)),
  };
  const x = layerAxis(measurement.model.nLayers);
  return {
    drawn: true,
    spec: finishSpec({
      title: figureTitle(measurement, `‖${hook}‖₂ of each token of prompt ${prompt}`, [
        `“${shorten(text, 80)}” · ${sequence.ids.length} tokens`,
        `one line per token, coloured by position · dotted: ${shorten([...new Set(special.map((row) => row.label))].join(', '), 60) || 'none'} · ${metricPhrase(metric)}`,
      ]),
      layer: positionLineLayers(tokens, special, { x, y, colorTitle: 'position', lastLayer, prompt }),
    }),
  };
}

export const tokenLinesFigure: ModelFigure = {
  scope: 'model',
  summary: 'norm of each token of one prompt (--prompt N) across layers, excluded tokens dotted',
  fitHooks: () => [],
  tokenView: 'prompt',
  build: (subject, options) => buildTokenLines(subject, chosenHook(options), options.prompt),
};
