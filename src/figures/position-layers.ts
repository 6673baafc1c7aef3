/**
 * Lines of positions coloured by position, and the excluded tokens drawn apart:
 * black, dotted, thicker, labelled at the last layer. Shared by the per-prompt and the
 * all-positions figures.
 */
import { hoverLayer, tooltipOf, xZoom, type TooltipField } from './interaction.js';
import { SEQUENTIAL_SCHEME, SPECIAL_POSITION_COLOR, SPECIAL_POSITION_DASH } from './theme.js';
import type { ChannelDef, Layer, PositionChannel } from './spec-types.js';

export interface PositionLine {
  layer: number;
  position: number;
  norm: number;
  /** Token text, when the lines are the tokens of one prompt. */
  token?: string;
}

export function positionLineLayers(
  rows: readonly PositionLine[],
  special: ReadonlyArray<PositionLine & { label: string }>,
  axes: { x: PositionChannel; y: PositionChannel; colorTitle: string; lastLayer: number; prompt?: number },
): Layer[] {
  const { x, y, colorTitle, lastLayer, prompt } = axes;
  const detail: ChannelDef<'detail'> = { field: 'position', type: 'quantitative' };
  // Tooltips: the token and its prompt when the lines are one prompt's tokens, else the position's mean.
  const norm: TooltipField = { field: 'norm', title: prompt === undefined ? `mean ${String(y.title)}` : String(y.title) };
  const where: TooltipField[] = [
    { field: 'position', title: colorTitle },
    { field: 'layer', title: 'layer' },
  ];
  const tokenFields: TooltipField[] =
    prompt === undefined
      ? []
      : [
          { field: 'token', title: 'token', type: 'nominal' },
          { field: 'prompt', title: 'prompt' },
        ];
  const promptColumn = prompt === undefined ? [] : [{ calculate: String(prompt), as: 'prompt' }];
  return [
    {
      data: { values: rows },
      layer: [
        {
          mark: { type: 'line', strokeWidth: 1.2, opacity: 0.85 },
          encoding: {
            x,
            y,
            detail,
            color: { field: 'position', type: 'quantitative', title: colorTitle, scale: { scheme: SEQUENTIAL_SCHEME }, legend: { tickCount: 5 } },
          },
        },
        hoverLayer('positions', { x, y, tooltip: tooltipOf([...tokenFields, ...where, norm]) }, { transform: promptColumn, params: [xZoom('zoom')] }),
      ],
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
        hoverLayer('special', { x, y, tooltip: tooltipOf([{ field: 'label', title: 'position', type: 'nominal' }, ...tokenFields, ...where.slice(1), norm]) }),
      ],
      ...(promptColumn.length === 0 ? {} : { transform: promptColumn }),
    },
  ];
}
