/**
 * Every figure the tool draws, by the name used on the command line. The one place a figure
 * is registered: add a builder file and one entry here (e.g. `weights` once that command
 * exists), and `plot`, `report`, --help and the docs' checks pick it up.
 */
import { UsageError, quote } from '../errors.js';
import { blockOutputsFigure } from './block-outputs.js';
import { compareModelsFigure } from './compare-models.js';
import type { FigureBuilder } from './figure-types.js';
import { growthRatioFigure } from './growth-ratio.js';
import { histogramsFigure } from './histograms.js';
import { meanGrowthFigure } from './mean-growth.js';
import { positionsFigure } from './positions.js';
import { residMidFigure } from './resid-mid.js';
import { tokenLinesFigure } from './token-lines.js';

/** In the order of the reference analysis; plot and report draw them in this order. */
export const FIGURES = {
  histograms: histogramsFigure,
  tokens: tokenLinesFigure,
  growth: meanGrowthFigure,
  ratio: growthRatioFigure,
  positions: positionsFigure,
  'resid-mid': residMidFigure,
  'block-outputs': blockOutputsFigure,
  compare: compareModelsFigure,
} satisfies Record<string, FigureBuilder>;

export type FigureName = keyof typeof FIGURES;
export const FIGURE_NAMES = Object.keys(FIGURES) as FigureName[];

export function figureBuilder(name: FigureName): FigureBuilder {
  return FIGURES[name];
}

/** "growth,histograms" → names in registry order; unknown names are a UsageError listing the valid ones. */
export function parseFigureNames(list: string): FigureName[] {
  const requested = list
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  const unknown = requested.filter((name) => !(FIGURE_NAMES as string[]).includes(name));
  if (unknown.length > 0) {
    throw new UsageError(`unknown figure${unknown.length === 1 ? '' : 's'} ${unknown.map((name) => quote(name)).join(', ')}; valid: ${FIGURE_NAMES.join(', ')}`);
  }
  if (requested.length === 0) throw new UsageError(`--figures is empty; give one or more of: ${FIGURE_NAMES.join(', ')}`);
  return FIGURE_NAMES.filter((name) => requested.includes(name));
}
