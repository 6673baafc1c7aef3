/**
 * Figure 8: many models side by side: mean norm per layer (log y), one panel per family, one
 * line per model, optionally rescaled by 1/√dModel (the RMS of a coordinate) and against
 * relative depth, so models of different widths and depths line up.
 */
import type { Measurement } from '../results/schema.js';
import type { HookName, NormMetric } from '../vocabulary/hooks.js';
import { exclusionPhrase, promptsLine, shorten } from './figure-text.js';
import type { FigureOptions, FigureOutcome, ModelsFigure, PlotSubject } from './figure-types.js';
import { hoverLayer, legendPick, pickedOpacity, tooltipOf, xZoom } from './interaction.js';
import { logScaleAxis } from './log-axis.js';
import { comparePanels, modelFamily, modelSize } from './model-family.js';
import { chosenHook, hookSummaries, missingHookReason, primaryMetric, roundValue } from './plot-data.js';
import type { ColorChannel, Layer, PositionChannel } from './spec-types.js';
import { CATEGORY_COLORS, finishSpec } from './theme.js';

/** Hook of the comparison when --hook is not given (the reference analysis compares resid_post). */
export const COMPARE_DEFAULT_HOOK: HookName = 'resid_post';

/** Where a hook of block l sits in depth, in blocks (as in the resid_mid figure). */
const DEPTH_OFFSET: Record<HookName, number> = { resid_pre: 0, attn_out: 0.5, resid_mid: 0.5, mlp_out: 1, resid_post: 1 };

/** Past nine models in a panel, colours repeat with another dash pattern. */
const DASHES = [
  [1, 0],
  [6, 3],
  [2, 2],
];
const PANEL_WIDTH = 340;

interface CompareRow {
  model: string;
  x: number;
  norm: number;
}

interface Line {
  label: string;
  panel: string;
  size: number;
  rows: CompareRow[];
}

function lineOf(measurement: Measurement, hook: HookName, options: FigureOptions, label: string): Line {
  const { nLayers, dModel } = measurement.model;
  const scale = options.rescale === 'sqrt-d' ? 1 / Math.sqrt(dModel) : 1;
  const rows = hookSummaries(measurement, hook)
    .filter((summary) => summary.count > 0 && summary.mean > 0)
    .map((summary) => ({
      model: label,
      x: options.x === 'relative-depth' ? roundValue((summary.layer + DEPTH_OFFSET[hook]) / nLayers) : summary.layer,
      norm: roundValue(summary.mean * scale),
    }));
  return { label, panel: modelFamily(measurement.model), size: modelSize(measurement.model), rows };
}

/** Model ids, with the file name added where two files have the same model. */
function lineLabels(subjects: readonly PlotSubject[]): string[] {
  const ids = subjects.map(({ measurement }) => measurement.model.id);
  return subjects.map(({ path }, index) => (ids.indexOf(ids[index]!) !== ids.lastIndexOf(ids[index]!) ? `${ids[index]} (${path})` : ids[index]!));
}

function yTitle(hook: HookName, metrics: ReadonlySet<NormMetric>, options: FigureOptions): string {
  const metric = metrics.size === 1 ? [...metrics][0]! : 'centered; raw for RMSNorm models';
  return `mean ‖${hook}‖₂${options.rescale === 'sqrt-d' ? ' / √d_model' : ''} (${metric})`;
}

function promptsSubtitle(subjects: readonly PlotSubject[]): string {
  const hashes = new Set(subjects.map(({ measurement }) => measurement.prompts.sha256));
  if (hashes.size === 1) return promptsLine(subjects[0]!.measurement);
  return `${hashes.size} different prompt sets (${shorten([...new Set(subjects.map(({ measurement }) => measurement.prompts.source))].join(', '), 60)}): compare with care`;
}

function panelSpec(panel: string, index: number, lines: readonly Line[], x: PositionChannel, y: PositionChannel): Layer {
  const domain = lines.map((line) => line.label);
  const colors = domain.map((_, line) => CATEGORY_COLORS[line % CATEGORY_COLORS.length]!);
  const dashes = domain.map((_, line) => DASHES[Math.floor(line / CATEGORY_COLORS.length) % DASHES.length]!);
  // The domain orders the legend; no `sort` list: Vega-Lite turns one into a nested ternary per entry, which overflows Vega's expression parser past about a thousand models.
  const color: ColorChannel = {
    field: 'model',
    type: 'nominal',
    title: 'model (small → large)',
    scale: { domain, range: colors },
    legend: { symbolType: 'stroke', symbolSize: 300 },
  };
  // Selections are per panel (each has its own legend and x scale), so their names are too.
  const pick = `pick_${index}`;
  return {
    title: { text: panel, fontSize: 13, anchor: 'start' },
    width: PANEL_WIDTH,
    data: { values: lines.flatMap((line) => line.rows) },
    layer: [
      {
        params: [legendPick(pick, 'model')],
        mark: { type: 'line', strokeWidth: 2 },
        encoding: {
          x,
          y,
          color,
          strokeDash: { field: 'model', type: 'nominal', title: 'model (small → large)', scale: { domain, range: dashes } },
          opacity: pickedOpacity(pick),
        },
      },
      hoverLayer(
        `models_${index}`,
        {
          x,
          y,
          tooltip: tooltipOf([
            { field: 'model', title: 'model', type: 'nominal' },
            { field: 'x', title: String(x.title) },
            { field: 'norm', title: String(y.title) },
          ]),
        },
        { params: [xZoom(`zoom_${index}`)] },
      ),
    ],
  };
}

function buildCompare(subjects: readonly PlotSubject[], options: FigureOptions): FigureOutcome {
  const hook = chosenHook(options, COMPARE_DEFAULT_HOOK);
  const usable = subjects.filter(({ measurement }) => missingHookReason(measurement, hook) === undefined);
  const skipped = subjects.filter((subject) => !usable.includes(subject)).map(({ measurement }) => missingHookReason(measurement, hook)!);
  if (usable.length === 0) return { drawn: false, reason: skipped.join('; ') || 'no results files given' };
  const labels = lineLabels(usable);
  const lines = usable.map(({ measurement }, index) => lineOf(measurement, hook, options, labels[index]!));
  const panels = [...new Set(lines.map((line) => line.panel))].sort(comparePanels).map((panel) => ({
    panel,
    lines: lines.filter((line) => line.panel === panel).sort((a, b) => a.size - b.size || a.label.localeCompare(b.label)),
  }));
  const relative = options.x === 'relative-depth';
  const x: PositionChannel = {
    field: 'x',
    type: 'quantitative',
    title: relative ? 'relative depth (blocks done / nLayers)' : 'layer',
    scale: relative ? { domain: [0, 1], nice: false } : { nice: false },
    axis: relative ? { format: '.1f' } : { tickMinStep: 1, format: 'd' },
  };
  const metrics = new Set(usable.map(({ measurement }) => primaryMetric(measurement)));
  const y: PositionChannel = {
    field: 'norm',
    type: 'quantitative',
    title: yTitle(hook, metrics, options),
    ...logScaleAxis(lines.flatMap((line) => line.rows.map((row) => row.norm))),
  };
  const notes = [...(usable.length === 1 ? ['one model only: give several results files to compare models'] : []), ...skipped];
  const first = usable[0]!.measurement;
  return {
    drawn: true,
    spec: finishSpec({
      title: {
        text: `mean ‖${hook}‖₂ per layer across ${usable.length} model${usable.length === 1 ? '' : 's'}`,
        subtitle: [
          `one panel per family · mean over tokens (${exclusionPhrase(first)})` +
            (options.rescale === 'sqrt-d' ? ' · divided by √d_model' : '') +
            (relative ? ' · x: relative depth' : ''),
          promptsSubtitle(usable),
        ],
      },
      hconcat: panels.map(({ panel, lines: panelLines }, index) => panelSpec(panel, index, panelLines, x, y)),
      resolve: { scale: { color: 'independent', strokeDash: 'independent' }, legend: { color: 'independent', strokeDash: 'independent' } },
    }),
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
  };
}

export const compareModelsFigure: ModelsFigure = {
  scope: 'models',
  summary: 'mean norm per layer of many models, one panel per family (--rescale sqrt-d, --x relative-depth)',
  fitHooks: () => [],
  build: buildCompare,
};
