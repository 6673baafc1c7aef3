/**
 * Figure 9: where the growth comes from. Per layer, the norms of the weights that write to the
 * residual stream next to the mean norms of what the blocks write (from a results file of the
 * same model): two panels, attention | MLP, log y; one line per quantity — weights solid, biases
 * dashed, attn_out / mlp_out thick — W_OV of every head as faint dots behind the layer's W_OV,
 * and each line's fitted growth per layer in the legend. On a log axis slopes are growth rates,
 * so they compare directly whatever each quantity's scale.
 */
import type { HookName } from '../vocabulary/hooks.js';
import type { WeightSeriesName, WeightVariant, WeightsFile } from '../results/weights-schema.js';
import { exclusionPhrase, metricPhrase, promptsLine, shorten } from './figure-text.js';
import { formatGrowth } from '../messages/numbers.js';
import type { FigureOptions, FigureOutcome, FitLine, WeightFitLine, WeightsFigure, WeightsSubject } from './figure-types.js';
import { hoverLayer, legendPick, pickedOpacity, tooltipOf, xZoom } from './interaction.js';
import { logScaleAxis } from './log-axis.js';
import { layerAxis, roundValue } from './plot-data.js';
import type { Channels, Layer, LayerMember, LegendProperties, PositionChannel, Unit } from './spec-types.js';
import { OKABE_ITO, PLOT_HEIGHT, finishSpec } from './theme.js';
import { writingWeightsData, type WritingPanel, type WritingWeightsRow } from './writing-weights-data.js';

const PANEL_WIDTH = 340;
const BIAS_DASH = [6, 4];
const SOLID: number[] = [];
/** Widths of weight and bias lines, and of the measured block outputs drawn under them. */
const LINE_WIDTH = 2;
const OUTPUT_WIDTH = 4.5;

const LEGEND_TITLE = 'growth per layer';

const PANELS: ReadonlyArray<{ panel: WritingPanel; title: string }> = [
  { panel: 'attention', title: 'attention: what the heads write' },
  { panel: 'mlp', title: 'MLP: what the MLP writes' },
];

/** Okabe–Ito: the block outputs in their figure-7 colours, the writing weights orange, biases green. */
const COLORS: Record<string, string> = {
  attn_out: OKABE_ITO.blue,
  mlp_out: OKABE_ITO.vermillion,
  W_OV: OKABE_ITO.orange,
  W_out: OKABE_ITO.orange,
  W_in: OKABE_ITO.skyBlue,
  b_O: OKABE_ITO.green,
  b_out: OKABE_ITO.green,
};

function quantityName(row: Pick<WritingWeightsRow, 'quantity' | 'kind'>): string {
  if (row.kind === 'activation') return `mean ‖${row.quantity}‖₂`;
  const name = row.quantity.replace(/^([Wb]_in)W_out$/, '$1·W_out'); // W_inW_out → W_in·W_out
  return row.kind === 'bias' ? `‖${name}‖₂` : `‖${name}‖_F`;
}

/** "‖W_OV‖_F ×1.021", with the layers when the fit does not span them all. */
function seriesLabel(name: string, fit: Pick<FitLine, 'growth' | 'fromLayer' | 'toLayer'> | undefined, nLayers: number): string {
  if (fit === undefined) return `${name} (no fit)`;
  const range = fit.fromLayer === 0 && fit.toLayer === nLayers - 1 ? '' : ` (layers ${fit.fromLayer}–${fit.toLayer})`;
  return `${name} ${formatGrowth(fit.growth)}${range}`;
}

function variantPhrase(weights: WeightsFile, variant: WeightVariant): string {
  if (variant === 'raw') return 'raw weights, as stored in the checkpoint';
  const { processing } = weights.options;
  const steps = [
    processing.foldNormGains ? 'norms folded in' : '',
    processing.centerWritingWeights ? 'writing weights centered' : '',
    processing.foldValueBiases ? 'value biases folded into b_O' : '',
  ].filter((step) => step !== '');
  return `processed weights (TransformerLens's default processing: ${steps.join(', ') || 'nothing to fold or center'})`;
}

/** Notes are said in full: split into lines at spaces rather than shortened. */
function wrapLines(text: string, width = 100): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return line === '' ? lines : [...lines, line];
}

interface SeriesStyle {
  label: string;
  color: string;
  dash: number[];
  width: number;
}

interface PanelData {
  title: string;
  lines: Array<{ layer: number; norm: number; series: string; width: number }>;
  heads: Array<{ layer: number; norm: number; head: number }>;
  /** In drawing order: block outputs first, under the thinner weight lines. */
  series: SeriesStyle[];
}

function styleOf(row: WritingWeightsRow, label: string): SeriesStyle {
  return {
    label,
    color: COLORS[row.quantity] ?? OKABE_ITO.black,
    dash: row.kind === 'bias' ? BIAS_DASH : SOLID,
    width: row.kind === 'activation' ? OUTPUT_WIDTH : LINE_WIDTH,
  };
}

function panelData(title: string, rows: readonly WritingWeightsRow[], labelOf: (row: WritingWeightsRow) => string): PanelData {
  const quantities = [...rows.filter((row) => row.kind === 'activation'), ...rows.filter((row) => row.kind === 'weight' || row.kind === 'bias')];
  const styles = new Map<string, SeriesStyle>();
  for (const row of quantities) if (!styles.has(row.quantity)) styles.set(row.quantity, styleOf(row, labelOf(row)));
  return {
    title,
    lines: quantities.map((row) => {
      const { label, width } = styles.get(row.quantity)!;
      return { layer: row.layer, norm: roundValue(row.value), series: label, width };
    }),
    heads: rows.filter((row) => row.kind === 'head').map((row) => ({ layer: row.layer, norm: roundValue(row.value), head: row.head! })),
    series: [...styles.values()],
  };
}

/** Rows a log axis can show; the others named in a note. */
function positiveRows(rows: readonly WritingWeightsRow[], notes: string[]): WritingWeightsRow[] {
  const zero = new Map<string, number[]>();
  for (const row of rows) {
    if (row.value > 0) continue;
    const name = row.kind === 'head' ? `W_OV of head ${row.head}` : row.quantity;
    zero.set(name, [...(zero.get(name) ?? []), row.layer]);
  }
  for (const [name, layers] of zero) notes.push(`${name} is 0 at layer${layers.length === 1 ? '' : 's'} ${layers.join(', ')}, which a log axis cannot show`);
  return rows.filter((row) => row.value > 0);
}

function buildWritingWeights(subject: WeightsSubject, options: FigureOptions): FigureOutcome {
  const { weights, measurement: paired, fits } = subject;
  const measurement = paired?.measurement;
  const variant = options.variant ?? weights.options.primaryVariant;
  const data = writingWeightsData(weights, measurement, variant);
  const nLayers = weights.model.nLayers;
  const notes = [...(subject.pairingNote === undefined ? [] : [subject.pairingNote]), ...data.notes];
  const rows = positiveRows(data.rows, notes);

  const fitOf = (row: WritingWeightsRow): Pick<FitLine, 'growth' | 'fromLayer' | 'toLayer'> | undefined => {
    if (row.kind === 'activation') return paired?.fits[row.quantity as HookName];
    const fit: WeightFitLine | undefined = fits[row.quantity as WeightSeriesName];
    return fit?.variant === variant ? fit : undefined;
  };
  const labelOf = (row: WritingWeightsRow): string => seriesLabel(quantityName(row), fitOf(row), nLayers);
  const panels = PANELS.map(({ panel, title }) =>
    panelData(
      title,
      rows.filter((row) => row.panel === panel),
      labelOf,
    ),
  );
  const values = panels.flatMap((panel) => [...panel.lines, ...panel.heads].map((row) => row.norm));
  if (values.length === 0) return { drawn: false, reason: `${weights.model.id} has no positive writing-weight norms to draw on a log axis` };

  const scaleAxis = logScaleAxis(values);
  const yTitle = `‖W‖_F, ‖b‖₂ (${variant})${data.metric === undefined ? '' : ` · mean ‖x‖₂ (${data.metric})`}`;
  const layerX = layerAxis(nLayers);
  // A little room at both ends, so the heads' dots of the first and last layer are whole.
  const x: PositionChannel = { ...layerX, scale: { ...layerX.scale, padding: 8 } };
  const hasFits = rows.some((row) => row.kind !== 'head' && fitOf(row) !== undefined);
  const details = [
    ...wrapLines(variantPhrase(weights, variant)),
    `solid: weights (Frobenius norm) · dashed: biases (L2 norm) · dots: W_OV of each head`,
    ...(measurement === undefined
      ? []
      : wrapLines(`thick: mean ‖attn_out‖₂ and ‖mlp_out‖₂ over tokens (${exclusionPhrase(measurement)}) · ${metricPhrase(data.metric!)}`)),
    ...(hasFits ? ['×: growth per layer, least-squares line of ln(norm) on layer over all layers unless said'] : []),
    ...(measurement === undefined ? [] : [promptsLine(measurement)]),
    ...notes.flatMap((note) => wrapLines(`note: ${note}`)),
  ];
  return {
    drawn: true,
    spec: finishSpec({
      title: {
        text: shorten(
          `${weights.model.id} — weights that write to the residual stream${measurement === undefined ? '' : ', and what the blocks write'}, per layer`,
        ),
        subtitle: details,
      },
      hconcat: panels.map((panel, index) =>
        panelSpec(panel, index, x, { field: 'norm', type: 'quantitative', title: index === 0 ? yTitle : null, ...scaleAxis }),
      ),
      resolve: {
        scale: { color: 'independent', strokeDash: 'independent' },
        legend: { color: 'independent', strokeDash: 'independent' },
      },
    }),
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
  };
}

function panelSpec(panel: PanelData, index: number, x: PositionChannel, y: PositionChannel): Layer {
  // Selections are per panel (each has its own legend), so their names are too.
  const pick = `pick_${index}`;
  const domain = panel.series.map((entry) => entry.label);
  const thick = panel.series.filter((entry) => entry.width === OUTPUT_WIDTH).map((entry) => entry.label);
  const legend: LegendProperties = {
    orient: 'bottom',
    direction: 'vertical',
    symbolType: 'stroke',
    symbolSize: 400,
    labelOffset: 10,
    gridAlign: 'all',
    labelLimit: PANEL_WIDTH,
    // Legend lines as thick as the chart's (datum.value: the entry's label).
    encoding: { symbols: { strokeWidth: { value: { expr: `indexof(${JSON.stringify(thick)}, datum.value) >= 0 ? ${OUTPUT_WIDTH} : ${LINE_WIDTH}` } } } },
  };
  // Same field and title on colour and dash, so Vega-Lite merges them into one legend.
  const encoding: Channels = {
    x,
    y,
    color: { field: 'series', type: 'nominal', title: LEGEND_TITLE, sort: domain, scale: { domain, range: panel.series.map((entry) => entry.color) }, legend },
    strokeDash: { field: 'series', type: 'nominal', title: LEGEND_TITLE, sort: domain, scale: { domain, range: panel.series.map((entry) => entry.dash) } },
    // Line widths as given (Vega-Lite draws a line's width from `size`); no legend of its own, which would show dots.
    size: { field: 'width', type: 'quantitative', scale: null, legend: null },
    opacity: pickedOpacity(pick),
  };
  const headDots: Unit[] =
    panel.heads.length === 0
      ? []
      : [{ data: { values: panel.heads }, mark: { type: 'point', filled: true, size: 22, opacity: 0.4, color: COLORS.W_OV }, encoding: { x, y } }];
  const headHovers: Unit[] =
    panel.heads.length === 0
      ? []
      : [
          hoverLayer(
            `heads_${index}`,
            {
              x,
              y,
              tooltip: tooltipOf([
                { field: 'head', title: 'head' },
                { field: 'layer', title: 'layer' },
                { field: 'norm', title: '‖W_OV‖_F of the head' },
              ]),
            },
            { data: { values: panel.heads } },
          ),
        ];
  const layers: LayerMember[] = [
    ...headDots,
    // One line per series, drawn in the legend's order: block outputs first, so the thinner weight lines stay visible on top.
    { data: { values: panel.lines }, params: [legendPick(pick, 'series')], mark: { type: 'line' }, encoding },
    ...headHovers,
    hoverLayer(
      `series_${index}`,
      {
        x,
        y,
        tooltip: tooltipOf([
          { field: 'series', title: 'series', type: 'nominal' },
          { field: 'layer', title: 'layer' },
          { field: 'norm', title: 'norm' },
        ]),
      },
      { data: { values: panel.lines }, params: [xZoom(`zoom_${index}`)] },
    ),
  ];
  return { title: { text: panel.title, fontSize: 13, anchor: 'start' }, width: PANEL_WIDTH, height: PLOT_HEIGHT, layer: layers };
}

export const writingWeightsFigure: WeightsFigure = {
  scope: 'weights',
  summary: 'writing weights per layer (W_OV per head, b_O, W_in, W_out, b_out) next to attn_out and mlp_out, with fitted rates',
  fitHooks: () => ['attn_out', 'mlp_out'],
  build: buildWritingWeights,
};
