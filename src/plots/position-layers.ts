/**
 * Lines of positions coloured by position, and the excluded positions (BOS) drawn apart:
 * black, dotted, thicker, labelled at the last layer. Shared by the per-prompt and the
 * all-positions figures.
 */
import { SEQUENTIAL_SCHEME, SPECIAL_POSITION_COLOR, SPECIAL_POSITION_DASH } from './theme.js';

type Encoding = Record<string, unknown>;

export interface PositionLine {
  layer: number;
  position: number;
  norm: number;
}

export function positionLineLayers(
  rows: readonly PositionLine[],
  special: ReadonlyArray<PositionLine & { label: string }>,
  axes: { x: Encoding; y: Encoding; colorTitle: string; lastLayer: number },
): Record<string, unknown>[] {
  const { x, y, colorTitle, lastLayer } = axes;
  const detail = { field: 'position', type: 'quantitative' };
  return [
    {
      data: { values: rows },
      mark: { type: 'line', strokeWidth: 1.2, opacity: 0.85 },
      encoding: {
        x,
        y,
        detail,
        color: { field: 'position', type: 'quantitative', title: colorTitle, scale: { scheme: SEQUENTIAL_SCHEME }, legend: { tickCount: 5 } },
      },
    },
    {
      data: { values: special },
      layer: [
        {
          mark: { type: 'line', strokeWidth: 2.4, strokeDash: SPECIAL_POSITION_DASH, color: SPECIAL_POSITION_COLOR },
          encoding: { x, y, detail },
        },
        {
          transform: [{ filter: `datum.layer === ${lastLayer}` }],
          mark: { type: 'text', align: 'right', dy: -9, fontWeight: 'bold', color: SPECIAL_POSITION_COLOR },
          encoding: { x, y, text: { field: 'label' } },
        },
      ],
    },
  ];
}
