/**
 * The one module that runs Vega: compile a Vega-Lite spec, render it headless to SVG, and
 * rasterize SVG to PNG. The builders in src/figures/ make plain JSON specs.
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { staticSpec } from '../figures/interaction.js';
import { estimateTextWidth, isBold } from './text-metrics.js';

interface TextItem {
  fontSize?: number;
  fontWeight?: unknown;
  /** Maximum width; Vega shortens longer text with "…". */
  limit?: number;
}

// Vega's hook for text measurement (vega-scenegraph's textMetrics; not in vega's typings).
const textMetrics = (vega as unknown as { textMetrics: { width: (item: TextItem, text: unknown) => number } }).textMetrics;
textMetrics.width = (item, text) => {
  const width = estimateTextWidth(text == null ? '' : String(text).trim(), item.fontSize ?? 11, isBold(item.fontWeight));
  return item.limit !== undefined && item.limit > 0 ? Math.min(width, item.limit) : width;
};

export interface RenderedSvg {
  svg: string;
  /** What Vega-Lite or Vega warned about while compiling or rendering (a spec bug if any). */
  warnings: string[];
}

/** A logger for vega and vega-lite that keeps warnings and errors instead of printing them. */
function createCollectingLogger(warnings: string[]): vega.LoggerInterface {
  let level = vega.Warn;
  const keep = (...args: readonly unknown[]): void => void warnings.push(args.map(String).join(' '));
  const logger: vega.LoggerInterface = {
    level(value?: number) {
      if (value === undefined) return level;
      level = value;
      return logger;
    },
    error: (...args: readonly unknown[]) => {
      keep(...args);
      return logger;
    },
    warn: (...args: readonly unknown[]) => {
      keep(...args);
      return logger;
    },
    info: () => logger,
    debug: () => logger,
  } as vega.LoggerInterface;
  return logger;
}

/**
 * Render a spec to an SVG document, without the points that only carry tooltips. `idPrefix` names the SVG's internal ids (clip paths,
 * gradients): Vega numbers them from process-wide counters, which would make the output depend
 * on what was rendered before and clash when several SVGs are inlined in one HTML page.
 */
export async function renderSvg(spec: TopLevelSpec, idPrefix: string): Promise<RenderedSvg> {
  const warnings: string[] = [];
  const logger = createCollectingLogger(warnings);
  const compiled = compile(staticSpec(spec), { logger: logger as never }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logger, logLevel: vega.Warn });
  try {
    const svg = await view.toSVG();
    return { svg: renameSvgIds(svg, idPrefix), warnings };
  } finally {
    view.finalize();
  }
}

/** Rename every id in order of first appearance to `${prefix}-1`, `${prefix}-2`…, with its references. */
export function renameSvgIds(svg: string, prefix: string): string {
  const names = new Map<string, string>();
  const rename = (id: string): string => {
    let name = names.get(id);
    if (name === undefined) {
      name = `${prefix}-${names.size + 1}`;
      names.set(id, name);
    }
    return name;
  };
  // Only inside tags: text content may contain anything a prompt does, but never an unescaped '>'.
  return svg.replace(/<[^>]+>/g, (tag) =>
    tag
      .replace(/(\sid=")([^"]+)"/g, (_, head: string, id: string) => `${head}${rename(id)}"`)
      .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${rename(id)})`)
      .replace(/(href=")#([^"]+)"/g, (_, head: string, id: string) => `${head}#${rename(id)}"`),
  );
}

/** Rasterize an SVG at `scale` × its size, on white, with the system's fonts. */
export function rasterizeSvg(svg: string, scale = 2): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}
