/**
 * Words on the figures: titles that name the model, hook and prompt set; axis titles with
 * the norm's kind; rates written as everywhere else (src/messages/numbers.ts).
 */
import type { Measurement } from '../results/schema.js';
import type { NormMetric } from '../vocabulary/hooks.js';
import type { ExclusionReason } from '../store/result-tables.js';
import type { GrowthPhase } from '../results/fit-schema.js';
import type { FitLine } from './figure-types.js';
import { formatGrowth, formatInterval, formatPhases, formatR2 } from '../messages/numbers.js';
import { R2_THRESHOLD } from '../analysis/fit-shape.js';

/** Longest title or subtitle line, in characters, before it is shortened with "…". */
const MAX_LINE = 100;

export function shorten(text: string, maxLength = MAX_LINE): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > maxLength ? `${oneLine.slice(0, maxLength - 1)}…` : oneLine;
}

export function metricPhrase(metric: NormMetric): string {
  return metric === 'centered' ? 'centered norm ‖x − mean(x)‖₂' : 'raw norm ‖x‖₂';
}

/** "‖resid_pre‖₂ (centered)": the y axis of norm figures. */
export function normAxisTitle(name: string, metric: NormMetric): string {
  return `‖${name}‖₂ (${metric})`;
}

/** "prompts: pile-10k.txt · 100 prompts, 12,345 tokens · sha256 0123abcd…" */
export function promptsLine(measurement: Measurement): string {
  const { prompts } = measurement;
  const count = `${prompts.count.toLocaleString('en-US')} prompt${prompts.count === 1 ? '' : 's'}`;
  const tokens = `${measurement.tokens.measured.toLocaleString('en-US')} tokens`;
  return `prompts: ${shorten(prompts.source, 50)} · ${count}, ${tokens} · sha256 ${prompts.sha256.slice(0, 12)}…`;
}

/** The reasons of exclusion a run applied, from its options (measure writes excludePositions as [0] or []). */
function exclusionsInForce({ options }: Measurement): ExclusionReason[] {
  return [
    ...(options.excludePositions.includes(0) ? (['position 0'] as const) : []),
    ...((options.excludeTokens ?? []).length > 0 ? (['special token'] as const) : []),
    ...((options.appendEos ?? 0) > 0 ? (['appended EOS'] as const) : []),
  ];
}

/** What summaries leave out, e.g. "position 0 and special tokens (<|endoftext|>) excluded". */
export function exclusionPhrase(measurement: Measurement): string {
  const parts = exclusionsInForce(measurement).map((reason) => exclusionGroupLabel(measurement, reason));
  if (parts.length === 0) return 'all tokens';
  return `${parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)!}` : parts[0]!} excluded`;
}

/** "60 excluded: position 0 60, special tokens (<|endoftext|>) 0": each rule in force with its count. */
export function excludedCounts(measurement: Measurement): string {
  const { excluded, excludedBy } = measurement.tokens;
  const total = `${excluded.toLocaleString('en-US')} excluded`;
  if (excludedBy === undefined) return total; // written before the reasons were counted
  const inForce = exclusionsInForce(measurement);
  if (inForce.length === 0) return total;
  return `${total}: ${inForce.map((reason) => `${exclusionGroupLabel(measurement, reason)} ${excludedBy[reason].toLocaleString('en-US')}`).join(', ')}`;
}

/** The line of a group of excluded tokens: "position 0", "special tokens (<|endoftext|>)", "appended EOS (×8)". */
export function exclusionGroupLabel(measurement: Measurement, reason: ExclusionReason): string {
  if (reason === 'position 0') return 'position 0';
  if (reason === 'appended EOS') return `appended EOS (×${measurement.options.appendEos ?? 0})`;
  const names = (measurement.options.excludeTokens ?? []).map((token) => token.token || `id ${token.id}`);
  return names.length === 0 ? 'special tokens' : shorten(`special tokens (${names.join(' ')})`, 40);
}

/** One excluded token of one prompt: "position 0 (<|endoftext|>)", "<|endoftext|> at 12", "appended <|endoftext|> at 40". */
export function excludedTokenLabel(reason: ExclusionReason, token: string, position: number): string {
  if (token === '') return reason === 'position 0' ? 'position 0' : `${reason} at ${position}`; // a model without a tokenizer
  if (reason === 'position 0') return `position 0 (${shorten(token, 16)})`;
  return `${reason === 'appended EOS' ? 'appended ' : ''}${shorten(token, 16)} at ${position}`;
}

export interface FigureTitle {
  text: string;
  subtitle: string[];
}

/** Title naming the model and what is drawn; subtitle lines name hook, metric and prompt set. */
export function figureTitle(measurement: Measurement, headline: string, details: string[]): FigureTitle {
  return {
    text: shorten(`${measurement.model.id} — ${headline}`),
    subtitle: [...details.map((line) => shorten(line)), promptsLine(measurement)],
  };
}

/** "layers 5–41: ×1.0450 per layer (95% CI 1.0431–1.0469, bootstrap), R² 0.9981" */
export function describePhase(phase: GrowthPhase): string {
  return (
    `layers ${phase.fromLayer}–${phase.toLayer}: ${formatGrowth(phase.growth)} per layer ` +
    `(95% CI ${formatInterval(phase.ciLow, phase.ciHigh)}, ${phase.ciMethod}), R² ${formatR2(phase.r2)}`
  );
}

/** Why a fit is not one exponential, in a few words: "R² 0.6926 < 0.95", "2 phases with different rates", or both. */
export function shapeVerdict(fit: Pick<FitLine, 'r2' | 'phases'>): string {
  const parts = [
    ...(fit.r2 < R2_THRESHOLD ? [`R² ${formatR2(fit.r2)} < ${R2_THRESHOLD}`] : []),
    ...(fit.phases.length > 1 ? [`${fit.phases.length} phases with different rates`] : []),
  ];
  return parts.length > 0 ? parts.join('; ') : 'neighbouring phases with different rates';
}

/** "attn_out: layers 0–4 ×1.3021 · 5–47 ×1.0450", every phase of a fit on one line. */
export function describePhasesBriefly(fit: Pick<FitLine, 'phases'>, label: string): string {
  return `${label}: layers ${formatPhases(fit.phases, ' · ')}`;
}
