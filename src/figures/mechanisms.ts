/**
 * The reference analysis's evidence for why the norm grows, from a mechanisms file (one figure
 * each): what each layer's MLP, and its attention's Σ_h W_OV^h, make of normalised random inputs
 * next to what the blocks write on real prompts; and the MLP's activation rate on real, random
 * and resampled inputs. Pure: a mechanisms file in, a Vega-Lite spec out.
 */
import type { MechanismLayer, MechanismsFile, SampleMean, TokenMean } from '../results/mechanisms-schema.js';
import { shorten } from './figure-text.js';
import type { FigureOutcome, MechanismsFigure, MechanismsSubject } from './figure-types.js';
import { hoverLayer, legendPick, pickedOpacity, tooltipOf } from './interaction.js';
import { logScaleAxis } from './log-axis.js';
import { layerAxis, roundValue } from './plot-data.js';
import type { ChannelDef, ColorChannel, PositionChannel } from './spec-types.js';
import { OKABE_ITO, finishSpec } from './theme.js';

interface Series {
  name: string;
  color: string;
  /** Real-prompt targets are drawn solid and thick; probes thinner. */
  target: boolean;
  value(layer: MechanismLayer): SampleMean | TokenMean;
}

interface Row {
  layer: number;
  value: number;
  /** ±2 standard errors (errorOf), where there is one. */
  low?: number;
  high?: number;
  series: string;
}

/**
 * The error a band shows: for real prompts' tokens the prompts' cluster-robust error (the error
 * of a claim about the model, not about these prompts; the token-sampling error when there is a
 * single prompt), for random inputs the independent samples' one; none when it is 0 or unknown.
 */
function errorOf(v: SampleMean | TokenMean): number | undefined {
  const error = 'promptStderr' in v && v.promptStderr !== null ? v.promptStderr : v.stderr;
  return error === null || error === 0 ? undefined : error;
}

function rowsOf(file: MechanismsFile, series: readonly Series[]): Row[] {
  return series.flatMap(({ name, value }) =>
    file.layers.flatMap((layer): Row[] => {
      const v = value(layer);
      if (!(v.mean > 0)) return [];
      const error = errorOf(v);
      if (error === undefined) return [{ layer: layer.layer, value: roundValue(v.mean), series: name }];
      return [
        {
          layer: layer.layer,
          value: roundValue(v.mean),
          low: roundValue(Math.max(v.mean - 2 * error, v.mean / 10)),
          high: roundValue(v.mean + 2 * error),
          series: name,
        },
      ];
    }),
  );
}

function subtitleLines(file: MechanismsFile, details: string[]): string[] {
  const { options, tokens, prompts } = file;
  const clusters = file.layers[0]?.measured.mlp_out.prompts;
  const bands =
    clusters === null || clusters === undefined
      ? 'bands: ±2 s.e. (a version-1 file: tokens taken as independent; none for the real prompts)'
      : `bands: ±2 s.e.: random inputs' (ddof 1); real tokens' with the ${clusters} prompts as clusters`;
  const specials = (options.excludeTokens ?? []).length;
  const excluded = `without position${options.excludePositions.length === 1 ? '' : 's'} ${options.excludePositions.join(', ')}${specials > 0 ? ` and ${specials} special token${specials === 1 ? '' : 's'}` : ''}`;
  return [
    ...details,
    `random: ${options.samples} inputs x ~ N(0, I) (seed ${options.seed}) through the block's ${file.model.normalization === 'rmsnorm' ? 'RMSNorm' : 'LayerNorm'}`,
    bands,
    `real: ${tokens.included} tokens of ${prompts.count} prompts (${prompts.source}), ${excluded}`,
    `resampled: the ${options.mlpInput} of ${tokens.resampled} of those tokens · ${options.metric} norms`,
  ].map((line) => shorten(line));
}

function lineFigure(subject: MechanismsSubject, headline: string, details: string[], yTitle: string, series: readonly Series[]): FigureOutcome {
  const file = subject.mechanisms;
  const rows = rowsOf(file, series);
  if (rows.length === 0) return { drawn: false, reason: `${file.model.id}: every value is 0, which a log axis cannot show` };
  const dropped = file.layers.length * series.length - rows.length;
  const x = layerAxis(file.model.nLayers);
  const y: PositionChannel = {
    field: 'value',
    type: 'quantitative',
    title: yTitle,
    ...logScaleAxis(rows.flatMap((row) => [row.value, row.low ?? row.value, row.high ?? row.value])),
  };
  const color: ColorChannel = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: { domain: series.map(({ name }) => name), range: series.map(({ color: hue }) => hue) },
    legend: { orient: 'bottom', direction: 'vertical', columns: 2, symbolType: 'stroke', symbolOpacity: 1, symbolStrokeWidth: 3 },
  };
  const strokeWidth: ChannelDef<'strokeWidth'> = {
    condition: { test: { field: 'series', oneOf: series.filter((s) => s.target).map((s) => s.name) }, value: 3 },
    value: 1.5,
  };
  return {
    drawn: true,
    ...(dropped > 0 ? { note: `${dropped} value(s) of 0 are not drawn (a log axis cannot show them)` } : {}),
    spec: finishSpec({
      title: { text: shorten(`${file.model.id} — ${headline}`), subtitle: subtitleLines(file, details) },
      data: { values: rows },
      layer: [
        { mark: { type: 'area', opacity: 0.15 }, encoding: { x, y: { ...y, field: 'low' }, y2: { field: 'high' }, color } },
        {
          params: [legendPick('pick', 'series')],
          mark: { type: 'line', point: { size: 16 } },
          encoding: { x, y, color, strokeWidth, opacity: pickedOpacity('pick') },
        },
        hoverLayer('values', {
          x,
          y,
          tooltip: tooltipOf([
            { field: 'series', title: 'series', type: 'nominal' },
            { field: 'layer', title: 'layer' },
            { field: 'value', title: 'value' },
          ]),
        }),
      ],
    }),
  };
}

export const mlpRandomFigure: MechanismsFigure = {
  scope: 'mechanisms',
  summary: "each layer's MLP on normalised random and resampled inputs vs the mlp_out norm of real prompts (mechanisms file)",
  fitHooks: () => [],
  build: (subject) =>
    lineFigure(
      subject,
      'MLP output norm for normalised inputs vs mlp_out',
      ['mean ‖MLP(norm(x))‖ per layer, next to mean ‖mlp_out‖ of the prompts'],
      'mean ‖MLP output‖₂',
      [
        { name: 'mlp_out (real prompts)', color: OKABE_ITO.black, target: true, value: (layer) => layer.measured.mlp_out },
        { name: 'random input', color: OKABE_ITO.blue, target: false, value: (layer) => layer.random.mlp_out },
        { name: 'resampled, same layer', color: OKABE_ITO.vermillion, target: false, value: (layer) => layer.sameLayer.mlp_out },
        { name: 'resampled, random layer', color: OKABE_ITO.green, target: false, value: (layer) => layer.randomLayer.mlp_out },
      ],
    ),
};

export const attentionRandomFigure: MechanismsFigure = {
  scope: 'mechanisms',
  summary: '‖Σ_h W_OV^h x‖ for normalised random x vs the attn_out norm of real prompts (mechanisms file)',
  fitHooks: () => [],
  build: (subject) =>
    lineFigure(
      subject,
      'attention: ‖Σ_h W_OV^h x‖ for normalised random x vs attn_out',
      ['Σ_h W_OV^h without biases (every head attending to x alone) · mean ‖attn_out‖ of the prompts'],
      'mean ‖·‖₂',
      [
        { name: 'attn_out (real prompts)', color: OKABE_ITO.black, target: true, value: (layer) => layer.measured.attn_out },
        { name: 'Σ_h W_OV^h x, random x', color: OKABE_ITO.blue, target: false, value: (layer) => layer.random.ov },
      ],
    ),
};

export const activationRateFigure: MechanismsFigure = {
  scope: 'mechanisms',
  summary: 'fraction of MLP pre-activations > 0 per layer: real prompts, random inputs, resampled MLP inputs (mechanisms file)',
  fitHooks: () => [],
  build: (subject) =>
    lineFigure(
      subject,
      'MLP activation rate',
      [
        subject.mechanisms.model.mlp === 'gated'
          ? 'fraction of the gate pre-activations x·W_gate > 0, per layer'
          : 'fraction of the pre-activations x·W_in + b_in > 0 (hook_pre > 0), per layer',
      ],
      'activation rate',
      [
        { name: 'real prompts', color: OKABE_ITO.black, target: true, value: (layer) => layer.measured.activationRate },
        { name: 'random input', color: OKABE_ITO.blue, target: false, value: (layer) => layer.random.activationRate },
        { name: 'resampled, same layer', color: OKABE_ITO.vermillion, target: false, value: (layer) => layer.sameLayer.activationRate },
        { name: 'resampled, random layer', color: OKABE_ITO.green, target: false, value: (layer) => layer.randomLayer.activationRate },
      ],
    ),
};
