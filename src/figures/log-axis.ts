/**
 * Tick values for log axes. Vega's default log axis draws a grid line at every 1…9 × 10^k and
 * labels some of them, which is busy; here the axis gets a handful of round values (10^k, or
 * 1-2-5 steps, or finer steps for narrow ranges such as growth ratios) and a tight domain.
 */
import type { AxisProperties, ScaleProperties } from './spec-types.js';

export interface LogAxis {
  /** Ascending tick values, all > 0. */
  values: number[];
  domain: [number, number];
}

const MULTIPLIER_LEVELS = [[1], [1, 2, 5], [1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9]];
/** Where a domain may end: close to the data, on a round number. */
const BOUND_MULTIPLIERS = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9];
/** Fewest labelled ticks a level must give before a finer level is tried. */
const MIN_TICKS = 3;

/** Round away float noise (0.30000000000000004 → 0.3) so labels and golden files stay clean. */
function clean(value: number): number {
  return Number(value.toPrecision(12));
}

function candidatesOf(multipliers: number[], low: number, high: number): number[] {
  const values: number[] = [];
  for (let exponent = Math.floor(Math.log10(low)) - 1; exponent <= Math.ceil(Math.log10(high)); exponent += 1) {
    for (const multiplier of multipliers) values.push(clean(multiplier * 10 ** exponent));
  }
  return values;
}

/** Less than this ratio between the ends, a log axis is almost linear: use linear round ticks. */
const NARROW_RATIO = 4;

/** Evenly spaced round ticks (1, 2 or 5 × 10^k apart) inside a domain rounded to 10^k around [low, high]. */
function linearAxis(low: number, high: number): LogAxis {
  const raw = Math.max(high - low, high * 1e-3) / 6;
  const unit = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * unit).find((s) => s >= raw)!;
  const domain: [number, number] = [clean(Math.floor(low / unit + 1e-9) * unit), clean(Math.ceil(high / unit - 1e-9) * unit)];
  const values: number[] = [];
  for (let index = Math.ceil(domain[0] / step - 1e-9); index * step <= domain[1] * (1 + 1e-12); index += 1) values.push(clean(index * step));
  if (!(domain[0] > 0)) domain[0] = clean(low / 2);
  return { values: values.filter((value) => value > 0), domain };
}

/**
 * Ticks and domain for positive data between `low` and `high`. The domain ends on the nearest
 * round number outside the data (tight); ticks are the coarsest round values that give enough
 * labels inside it. Ranges narrower than NARROW_RATIO get linear round ticks.
 */
export function chooseLogAxis(low: number, high: number): LogAxis {
  // Infinity would make the candidate loops below endless; beyond 1e300 the domain's rounding overflows.
  if (!(low > 0) || !(high >= low) || !(high <= 1e300)) return { values: [1, 10], domain: [1, 10] };
  if (high === low) return linearAxis(low * 0.9, high * 1.1);
  if (high / low < NARROW_RATIO) return linearAxis(low, high);
  const bounds = candidatesOf(BOUND_MULTIPLIERS, low, high);
  const domain: [number, number] = [bounds.filter((value) => value <= low).at(-1)!, bounds.find((value) => value >= high)!];
  const inside = (value: number): boolean => value >= domain[0] && value <= domain[1];
  for (const [index, multipliers] of MULTIPLIER_LEVELS.entries()) {
    const values = candidatesOf(multipliers, low, high).filter(inside);
    const enough = index === MULTIPLIER_LEVELS.length - 1 ? MIN_TICKS + 1 : MIN_TICKS;
    if (values.length >= enough) return { values, domain };
  }
  return linearAxis(low, high);
}

/** Vega-Lite scale and axis properties of a log axis (spread into an x or y channel). */
export interface LogScaleAxis {
  scale: ScaleProperties & { domain: [number, number] };
  axis: AxisProperties;
}

/** Vega-Lite scale and axis properties of a log axis for the given positive values. */
export function logScaleAxis(values: Iterable<number>): LogScaleAxis {
  let low = Infinity;
  let high = -Infinity;
  for (const value of values) {
    if (!(value > 0) || value === Infinity) continue;
    low = Math.min(low, value);
    high = Math.max(high, value);
  }
  const { values: ticks, domain } = chooseLogAxis(low, high);
  // A few pixels of padding keep extreme points off the frame.
  return { scale: { type: 'log', domain, nice: false, padding: 6 }, axis: { values: ticks, format: ',~g' } };
}
