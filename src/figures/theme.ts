/**
 * The look shared by every figure: sizes, fonts, colour-blind-safe palettes, and the spec
 * wrapper that puts them on a figure. One place, so all figures of a report match.
 */
import type { Config } from 'vega-lite/types_unstable/config.js';
import type { ColorScheme, TopLevelSpec } from './spec-types.js';

export const SCHEMA_URL = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Okabe & Ito (2008), distinguishable with every common colour-vision deficiency. */
export const OKABE_ITO = {
  black: '#000000',
  orange: '#E69F00',
  skyBlue: '#56B4E9',
  green: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  purple: '#CC79A7',
} as const;

/** Paul Tol's "muted" scheme: nine colour-blind-safe categories (one panel of the comparison). */
export const CATEGORY_COLORS = ['#332288', '#88CCEE', '#44AA99', '#117733', '#999933', '#DDCC77', '#CC6677', '#882255', '#AA4499'];

/** Viridis, without its palest yellow (invisible on white), for ordered things: layers, positions. */
export const SEQUENTIAL_SCHEME: ColorScheme = { name: 'viridis', extent: [0, 0.88] };

/** Excluded tokens (position 0, special tokens, appended EOS): black and dotted, apart from tokens (viridis) and fits. */
export const SPECIAL_POSITION_COLOR = OKABE_ITO.black;
export const SPECIAL_POSITION_DASH = [3, 3];
/** Fitted exponentials: long dashes. */
export const FIT_COLOR = OKABE_ITO.vermillion;
export const FIT_DASH = [8, 4];

export const PLOT_WIDTH = 560;
export const PLOT_HEIGHT = 340;

const CONFIG: Config = {
  background: 'white',
  padding: 12,
  font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
  view: { continuousWidth: PLOT_WIDTH, continuousHeight: PLOT_HEIGHT },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#e6e6e6', titlePadding: 8 },
  legend: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 'normal', labelLimit: 260, symbolStrokeWidth: 2 },
  title: { fontSize: 15, subtitleFontSize: 11, subtitleColor: '#444444', anchor: 'start', offset: 12, subtitlePadding: 4 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  line: { strokeWidth: 1.8 },
};

/** Complete a figure: schema, shared config and a white background. */
export function finishSpec(spec: TopLevelSpec): TopLevelSpec {
  return { $schema: SCHEMA_URL, config: CONFIG, ...spec };
}
