/**
 * Figure 5: all positions of all prompts across layers, coloured by position. Aggregated per
 * position and layer (mean over the prompts long enough to have that position), and long
 * contexts grouped into at most MAX_POSITION_LINES runs of consecutive positions, so the
 * figure has at most ~100 lines whatever the number of tokens. Excluded positions (BOS) keep
 * their own dotted line: their shape across layers is the point of this figure.
 */
import type { HookName, Measurement } from '../results/schema.js';
import { figureTitle, metricPhrase, normAxisTitle, positionName } from './figure-text.js';
import type { FigureOutcome, ModelFigure, PlotSubject } from './figure-types.js';
import { logScaleAxis } from './log-axis.js';
import { chosenHook, layerAxis, missingHookReason, primaryMetric, roundValue } from './plot-data.js';
import { positionLineLayers } from './position-layers.js';
import type { PositionView } from './token-views.js';
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

/** Mean norm per (group of positions, layer), from the per-position sums gathered from the tokens. */
export function positionMeans(measurement: Measurement, view: PositionView, maxLines = MAX_POSITION_LINES): PositionMeans {
  const { nLayers } = measurement.model;
  const { length, excluded } = view;
  const ordinary = Array.from({ length }, (_, position) => position).filter((position) => !excluded.has(position));
  const groupSize = Math.max(1, Math.ceil(ordinary.length / maxLines));
  // Line index of each position: ordinary groups first, then one line per excluded position.
  const specialPositions = [...excluded].filter((position) => position < length).sort((a, b) => a - b);
  const lineOf = new Int32Array(length);
  ordinary.forEach((position, index) => (lineOf[position] = Math.floor(index / groupSize)));
  const ordinaryLines = Math.ceil(ordinary.length / groupSize);
  specialPositions.forEach((position, index) => (lineOf[position] = ordinaryLines + index));
  const lineCount = ordinaryLines + specialPositions.length;
  const sums = new Float64Array(nLayers * lineCount); // [layer, line]
  const counts = new Float64Array(nLayers * lineCount);
  for (let position = 0; position < length; position += 1) {
    for (let layer = 0; layer < nLayers; layer += 1) {
      const cell = layer * lineCount + lineOf[position]!;
      sums[cell]! += view.sums[position * nLayers + layer]!;
      counts[cell]! += view.counts[position * nLayers + layer]!;
    }
  }
  const firstPosition = (line: number): number => (line < ordinaryLines ? ordinary[line * groupSize]! : specialPositions[line - ordinaryLines]!);
  const rows: PositionRow[] = [];
  const special: PositionMeans['special'] = [];
  for (let line = 0; line < lineCount; line += 1) {
    for (let layer = 0; layer < nLayers; layer += 1) {
      const cell = layer * lineCount + line;
      if (counts[cell] === 0 || !(sums[cell]! > 0)) continue;
      const row = { layer, position: firstPosition(line), norm: roundValue(sums[cell]! / counts[cell]!) };
      if (line < ordinaryLines) rows.push(row);
      else special.push({ ...row, label: positionName(measurement, row.position) });
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
  const y = { field: 'norm', type: 'quantitative', title: `mean ${normAxisTitle(hook, metric)}`, ...logScaleAxis([...rows, ...special].map((row) => row.norm)) };
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
  summary: 'every position of every prompt across layers, coloured by position (BOS dotted)',
  fitHooks: () => [],
  tokenView: 'positions',
  build: (subject, options) => buildPositions(subject, chosenHook(options)),
};
