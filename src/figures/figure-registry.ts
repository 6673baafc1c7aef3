/**
 * Every figure the tool draws, by the name used on the command line. The one place a figure
 * is registered: add a builder file and one entry here, and `plot`, `report`, --figures and
 * --help pick it up.
 */
import { additionBandFigure } from './addition-band.js';
import { blockBoundFigure } from './block-bound.js';
import { blockOutputsFigure } from './block-outputs.js';
import { compareModelsFigure } from './compare-models.js';
import { cosinesFigure } from './diagnostic-cosines.js';
import { headWritesFigure } from './diagnostic-head-writes.js';
import { lensFigure } from './diagnostic-lens.js';
import { massiveDimsFigure, massiveGrowthFigure } from './diagnostic-massive.js';
import { massiveProfileFigure } from './diagnostic-massive-profile.js';
import { sinksFigure } from './diagnostic-sinks.js';
import type { FigureBuilder } from './figure-types.js';
import { growthRatioFigure } from './growth-ratio.js';
import { histogramsFigure } from './histograms.js';
import { meanGrowthFigure } from './mean-growth.js';
import { activationRateFigure, attentionRandomFigure, mlpRandomFigure } from './mechanisms.js';
import { positionsFigure } from './positions.js';
import { residMidFigure } from './resid-mid.js';
import { tokenLinesFigure } from './token-lines.js';
import { writingWeightsFigure } from './writing-weights.js';

/** In the order of the reference analysis; plot and report draw them in this order. */
export const FIGURES = {
  histograms: histogramsFigure,
  tokens: tokenLinesFigure,
  growth: meanGrowthFigure,
  ratio: growthRatioFigure,
  positions: positionsFigure,
  'resid-mid': residMidFigure,
  'block-outputs': blockOutputsFigure,
  addition: additionBandFigure,
  bound: blockBoundFigure,
  compare: compareModelsFigure,
  weights: writingWeightsFigure,
  'mlp-random': mlpRandomFigure,
  'attn-random': attentionRandomFigure,
  'activation-rate': activationRateFigure,
  // Drawn from `measure --diagnostics` (by default only for results files that have them).
  cosines: cosinesFigure,
  'massive-dims': massiveDimsFigure,
  'massive-growth': massiveGrowthFigure,
  'massive-profile': massiveProfileFigure,
  sinks: sinksFigure,
  'head-writes': headWritesFigure,
  lens: lensFigure,
} satisfies Record<string, FigureBuilder>;

export type FigureName = keyof typeof FIGURES;
export const FIGURE_NAMES = Object.keys(FIGURES) as FigureName[];
