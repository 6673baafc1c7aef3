/**
 * Pieces that draw a growth fit on a chart of norms against layers: each phase of the fit as
 * a straight dashed line on the log axis (its two end points are exact), and the rates written
 * on the chart below the x axis, where they can never cover data.
 */
import type { FitLine } from './figure-types.js';
import { roundValue } from './plot-data.js';
import type { Unit } from './spec-types.js';
import { PLOT_HEIGHT } from './theme.js';

export interface FitPoint {
  layer: number;
  norm: number;
  series: string;
  /** Index of the phase: phases are separate lines. */
  phase: number;
}

/** End points of every phase: value = exp(intercept + ln(growth) · layer). */
export function fitPhasePoints(fit: Pick<FitLine, 'phases'>, series: string): FitPoint[] {
  return fit.phases.flatMap((phase, index) =>
    [phase.fromLayer, phase.toLayer].map((layer) => ({
      layer,
      norm: roundValue(Math.exp(phase.intercept + Math.log(phase.growth) * layer)),
      series,
      phase: index,
    })),
  );
}

/** Below the x axis's labels and title, in pixels from the top of the plot. */
const ANNOTATION_TOP = PLOT_HEIGHT + 56;

/** Lines of text under the plot, left-aligned, each in its own colour. */
export function annotationLayers(lines: ReadonlyArray<{ text: string; color: string; bold?: boolean }>): Unit[] {
  return lines.map(({ text, color, bold }, index) => ({
    data: { values: [{}] },
    // Never clipped: they sit outside the plot, and zoomable views clip their marks by default.
    mark: {
      type: 'text',
      text,
      x: 0,
      y: ANNOTATION_TOP + 18 * index,
      align: 'left',
      baseline: 'middle',
      fontSize: 12,
      color,
      clip: false,
      ...(bold ? { fontWeight: 'bold' as const } : {}),
    },
  }));
}
