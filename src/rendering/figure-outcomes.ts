/**
 * What `plot`, `report` and `sweep` share once figures are planned: saying which could not be
 * drawn and why, and rendering a drawable one to SVG with vega's warnings passed on.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { Reporter } from '../messages/reporter.js';
import type { PlannedFigure } from '../figures/figure-plan.js';
import { renderSvg } from './render.js';

/** Say what could not be drawn (figures with the same reason on one line) and notes about what was. */
export function reportOutcomes(plan: readonly PlannedFigure[], reporter: Reporter): void {
  const notDrawn = new Map<string, string[]>();
  for (const { figure, source, outcome } of plan) {
    const where = source === undefined ? figure : `${figure} of ${source.path}`;
    if (!outcome.drawn) notDrawn.set(outcome.reason, [...(notDrawn.get(outcome.reason) ?? []), where]);
    else if (outcome.note !== undefined) reporter.info(`${where}: ${outcome.note}`);
  }
  for (const [reason, figures] of notDrawn) reporter.warn(`${figures.join(', ')} not drawn: ${reason}`);
}

/** A planned figure's SVG, with vega's warnings passed on. */
export async function renderFigure(spec: TopLevelSpec, stem: string, reporter: Reporter): Promise<string> {
  const { svg, warnings } = await renderSvg(spec, stem);
  for (const warning of warnings) reporter.warn(`${stem}: vega: ${warning}`);
  return svg;
}
