/**
 * Figure 5: all positions of all prompts across layers, coloured by position. Aggregated per
 * position and layer (mean over the prompts long enough to have that position), and long
 * contexts grouped into at most MAX_POSITION_LINES runs of consecutive positions, so the
 * figure has at most ~100 lines whatever the number of tokens. Excluded tokens (position 0,
 * special tokens, appended EOS) keep one dotted line per reason: their shape across layers is
 * the point of this figure.
 */
import type { Measurement } from '../results/schema.js';
import type { HookName } from '../vocabulary/hooks.js';
import { EXCLUSION_CODE } from '../store/result-tables.js';
import { exclusionGroupLabel, figureTitle, metricPhrase, normAxisTitle } from './figure-text.js';
import type { FigureOutcome, ModelFigure, PlotSubject } from './figure-types.js';
import { logScaleAxis } from './log-axis.js';
import { chosenHook, layerAxis, missingHookReason, primaryMetric, roundValue } from './plot-data.js';
import { positionLineLayers } from './position-layers.js';
import type { PositionView } from './token-view-types.js';
import type { PositionChannel } from './spec-types.js';
import { finishSpec } from './theme.js';

export const MAX_POSITION_LINES = 100;

export interface PositionRow {
  layer: number;
  /** First position of the group. */
  position: number;
  /** Mean norm over every token of the group at this layer. */
  norm: number;
}

export interface PositionMeans {
  rows: PositionRow[];
  special: Array<PositionRow & { label: string }>;
  /** Positions per line (1 unless the context is long). */
  groupSize: number;
}

/** Mean norm per (group of positions, layer) of the included tokens, and per layer of each group of excluded tokens. */
export function positionMeans(measurement: Measurement, view: PositionView, maxLines = MAX_POSITION_LINES): PositionMeans {
  const { nLayers } = measurement.model;
  const { length } = view;
  const hasTokens = (position: number) => view.counts.subarray(position * nLayers, (position + 1) * nLayers).some((count) => count > 0);
  const ordinary = Array.from({ length }, (_, position) => position).filter(hasTokens);
  const groupSize = Math.max(1, Math.ceil(ordinary.length / maxLines));
  const lineCount = Math.ceil(ordinary.length / groupSize);
  const lineOf = new Int32Array(length).fill(-1);
  ordinary.forEach((position, index) => (lineOf[position] = Math.floor(index / groupSize)));
  const sums = new Float64Array(nLayers * lineCount); // [layer, line]
  const counts = new Float64Array(nLayers * lineCount);
  for (const position of ordinary) {
    for (let layer = 0; layer < nLayers; layer += 1) {
      const cell = layer * lineCount + lineOf[position]!;
      sums[cell]! += view.sums[position * nLayers + layer]!;
      counts[cell]! += view.counts[position * nLayers + layer]!;
    }
  }
  const rows: PositionRow[] = [];
  for (let line = 0; line < lineCount; line += 1) {
    for (let layer = 0; layer < nLayers; layer += 1) {
      const cell = layer * lineCount + line;
      if (counts[cell] === 0 || !(sums[cell]! > 0)) continue;
      rows.push({ layer, position: ordinary[line * groupSize]!, norm: roundValue(sums[cell]! / counts[cell]!) });
    }
  }
  // Excluded tokens: one line per reason; a negative "position" keeps the lines apart.
  const special: PositionMeans['special'] = [];
  for (const [reason, group] of view.special) {
    for (let layer = 0; layer < nLayers; layer += 1) {
      if (group.counts[layer] === 0 || !(group.sums[layer]! > 0)) continue;
      special.push({
        layer,
        position: -EXCLUSION_CODE[reason],
        norm: roundValue(group.sums[layer]! / group.counts[layer]!),
        label: exclusionGroupLabel(measurement, reason),
      });
    }
  }
  return { rows, special, groupSize };
}

function buildPositions({ measurement, views }: PlotSubject, hook: HookName): FigureOutcome {
  const missing = missingHookReason(measurement, hook);
  if (missing !== undefined) return { drawn: false, reason: missing };
  const view = views?.hook === hook ? views.positions : undefined;
  if (view === undefined) return { drawn: false, reason: `the per-position means of ${hook} were not gathered` };
  const { rows, special, groupSize } = positionMeans(measurement, view);
  if (rows.length + special.length === 0) return { drawn: false, reason: `${measurement.model.id} has no ${hook} norms` };
  const metric = primaryMetric(measurement);
  const x = layerAxis(measurement.model.nLayers);
  const y: PositionChannel = {
    field: 'norm',
    type: 'quantitative',
    title: `mean ${normAxisTitle(hook, metric)}`,
    ...logScaleAxis([...rows, ...special].map((row) => row.norm)),
  };
  const lastLayer = measurement.model.nLayers - 1;
  const lines = groupSize === 1 ? 'one line per position' : `one line per ${groupSize} consecutive positions`;
  return {
    drawn: true,
    spec: finishSpec({
      title: figureTitle(measurement, `‖${hook}‖₂ of every position, coloured by position`, [
        `${lines}, mean over the prompts that reach it · dotted: ${[...new Set(special.map((row) => row.label))].join(', ') || 'none'}`,
        metricPhrase(metric),
      ]),
      layer: positionLineLayers(rows, special, { x, y, colorTitle: groupSize === 1 ? 'position' : 'first position', lastLayer }),
    }),
  };
}

export const positionsFigure: ModelFigure = {
  scope: 'model',
  summary: 'every position of every prompt across layers, coloured by position (excluded tokens dotted, one line per reason)',
  fitHooks: () => [],
  tokenView: 'positions',
  build: (subject, options) => buildPositions(subject, chosenHook(options)),
};
