/**
 * What the interactive report adds to a figure's spec, as plain Vega-Lite JSON: invisible
 * points that carry tooltips (a line mark's tooltip would show its first point, not the one
 * under the pointer), legend clicks that fade the other series, and drag/shift+wheel zoom on
 * the x axis. Static rendering (src/rendering/render.ts) leaves them out with staticSpec: they do
 * nothing in a picture. Legend selections sit on the layer that owns the legend; zoom on a
 * hover layer.
 */
import type { ChannelDef, PositionChannel, Selection, SpecData, SpecTransform, TooltipChannel, Unit } from './spec-types.js';

/** Unit specs named with this prefix are hover layers; render.ts recognises them by it. */
export const HOVER_PREFIX = 'hover_';

/** Opacity of the series not picked in the legend: faint, so the picked ones stand out. */
export const FADED_OPACITY = 0.08;

export interface TooltipField {
  field: string;
  title: string;
  type?: 'quantitative' | 'nominal' | 'ordinal';
  /** d3-format of numbers. */
  format?: string;
}

/** Tooltip channel of the given fields, numbers to 4 significant digits unless told. */
export function tooltipOf(fields: readonly TooltipField[]): TooltipChannel[] {
  return fields.map(({ field, title, type = 'quantitative', format }) => ({
    field,
    title,
    type,
    ...(type === 'quantitative' ? { format: format ?? '.4~g' } : {}),
  }));
}

/** Legend selection of the series in `field`: click one (shift-click more) to fade the others. */
export function legendPick(name: string, field: string): Selection {
  return { name, select: { type: 'point', fields: [field] }, bind: 'legend' };
}

/** Opacity channel of a mark whose series can be picked in the legend. */
export function pickedOpacity(param: string, opacity = 1): ChannelDef<'opacity'> {
  return { condition: { param, value: opacity, empty: true }, value: FADED_OPACITY };
}

/**
 * Zoom and pan on the x axis, bound to the scale: drag to pan, shift+wheel to zoom (a plain
 * wheel keeps scrolling the page), double-click to reset.
 */
export function xZoom(name: string): Selection {
  return { name, select: { type: 'interval', encodings: ['x'], zoom: 'wheel![event.shiftKey]' }, bind: 'scales' };
}

/**
 * An invisible point on every row, large enough to find with the pointer, with a tooltip;
 * `params` takes the figure's zoom, so the static figure has none.
 */
export function hoverLayer(
  name: string,
  channels: { x: PositionChannel; y: PositionChannel; tooltip: TooltipChannel[] },
  options: { data?: SpecData; transform?: SpecTransform[]; params?: Selection[] } = {},
): Unit {
  return {
    name: `${HOVER_PREFIX}${name}`,
    ...(options.data === undefined ? {} : { data: options.data }),
    ...(options.transform === undefined || options.transform.length === 0 ? {} : { transform: options.transform }),
    ...(options.params === undefined || options.params.length === 0 ? {} : { params: options.params }),
    mark: { type: 'point', filled: true, size: 110, opacity: 0, clip: true },
    encoding: { x: channels.x, y: channels.y, tooltip: channels.tooltip },
  };
}

/**
 * The spec for a picture: without hover layers, selections, and channels that depend on a
 * selection, so static SVGs have no invisible marks and look exactly as before the report
 * became interactive. Pure: returns a copy.
 */
export function staticSpec<T>(spec: T): T {
  const isHover = (node: unknown): boolean => typeof node === 'object' && node !== null && String((node as { name?: unknown }).name).startsWith(HOVER_PREFIX);
  const dependsOnSelection = (channel: unknown): boolean =>
    typeof channel === 'object' && channel !== null && typeof (channel as { condition?: { param?: unknown } }).condition?.param === 'string';
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (typeof node !== 'object' || node === null) return node;
    const copy: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === 'layer') copy[key] = (value as unknown[]).filter((child) => !isHover(child)).map(visit);
      else if (key === 'hconcat' || key === 'vconcat') copy[key] = visit(value);
      else if (key === 'encoding')
        copy[key] = Object.fromEntries(Object.entries(value as Record<string, unknown>).filter(([, channel]) => !dependsOnSelection(channel)));
      else if (key !== 'params') copy[key] = value;
    }
    return copy;
  };
  return visit(spec) as T;
}
