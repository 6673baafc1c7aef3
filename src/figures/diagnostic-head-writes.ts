/**
 * Per-head writes: each head's mean write into the residual over tokens, ‖z_h·W_O,h‖ (the norm
 * of TransformerLens's hook_result), against the Frobenius norm of its W_OV,h from a weights
 * file of the same model: heads above the trend write more than their weights alone suggest.
 * Processed weights (W_O centered) pair with centered writes, raw with raw; W_OV has no bias, so
 * it pairs with writes whose value biases are folded into b_O (the default, as TransformerLens
 * processes them), and the figure says so when they were not.
 */
import { headWriteColumn } from '../results/diagnostics.js';
import { figureTitle } from './figure-text.js';
import type { FigureOptions, FigureOutcome, WeightsFigure, WeightsSubject } from './figure-types.js';
import { tooltipOf } from './interaction.js';
import { logScaleAxis } from './log-axis.js';
import { diagnosticsOf } from './diagnostic-data.js';
import { roundValue } from './plot-data.js';
import { PLOT_HEIGHT, PLOT_WIDTH, SEQUENTIAL_SCHEME, finishSpec } from './theme.js';

function buildHeadWrites({ weights, measurement: subject }: WeightsSubject, options: FigureOptions): FigureOutcome {
  if (subject === undefined) return { drawn: false, reason: `no results file of ${weights.model.id} was given next to its weights file` };
  const { measurement } = subject;
  const found = diagnosticsOf(measurement, 'heads');
  if ('reason' in found) return { drawn: false, reason: found.reason };
  const variant = options.variant ?? weights.options.primaryVariant;
  const centered = variant === 'processed' && weights.options.processing.centerWritingWeights;
  const column = headWriteColumn(centered ? 'centered' : 'raw');
  const means = found.diagnostics.summaries.perHeadMeans[column] ?? [];
  const folded = found.diagnostics.headValueBiases === 'folded';
  const { nHeads } = measurement.model;
  if (weights.model.nHeads !== nHeads || weights.layers.length !== measurement.model.nLayers) {
    return {
      drawn: false,
      reason: `the weights file (${weights.layers.length} layers × ${weights.model.nHeads} heads) does not match the results file (${measurement.model.nLayers} × ${nHeads})`,
    };
  }
  const rows = weights.layers.flatMap((layer) =>
    layer.heads[variant].W_OV.flatMap((wov, head) => {
      const write = means[layer.layer * nHeads + head];
      return write === undefined || write === null || write <= 0 || wov <= 0
        ? []
        : [{ layer: layer.layer, head, wov: roundValue(wov), write: roundValue(write) }];
    }),
  );
  return {
    drawn: true,
    spec: finishSpec({
      title: figureTitle(measurement, "each head's write into the residual against its ‖W_OV‖", [
        `y: mean ‖z_h·W_O,h‖₂ over included tokens (${centered ? 'centered, as TransformerLens centers W_O' : 'raw'}) · one point per head`,
        folded
          ? 'value biases folded into b_O (TransformerLens’s fold_value_biases), as in W_OV, which has none'
          : 'value biases kept in z (--no-fold-value-biases, or an older file): W_OV has none, so the sides differ by b_V·W_O',
        `x: ‖W_OV,h‖_F of the ${variant} weights`,
      ]),
      data: { values: rows },
      width: PLOT_WIDTH,
      height: PLOT_HEIGHT,
      mark: { type: 'point', filled: true, size: 40, opacity: 0.8 },
      encoding: {
        x: { field: 'wov', type: 'quantitative', title: `‖W_OV,h‖_F (${variant})`, ...logScaleAxis(rows.map((row) => row.wov)) },
        y: {
          field: 'write',
          type: 'quantitative',
          title: `mean ‖head write‖₂ (${centered ? 'centered' : 'raw'}, value biases ${folded ? 'folded' : 'in z'})`,
          ...logScaleAxis(rows.map((row) => row.write)),
        },
        color: { field: 'layer', type: 'quantitative', title: 'layer', scale: { scheme: SEQUENTIAL_SCHEME } },
        tooltip: tooltipOf([
          { field: 'layer', title: 'layer', type: 'ordinal' },
          { field: 'head', title: 'head', type: 'ordinal' },
          { field: 'wov', title: '‖W_OV‖' },
          { field: 'write', title: 'mean write' },
        ]),
      },
    }),
  };
}

export const headWritesFigure: WeightsFigure = {
  scope: 'weights',
  summary: "each head's mean write vs its ‖W_OV‖ (needs a weights file and a results file measured with --diagnostics heads)",
  diagnostic: 'heads',
  fitHooks: () => [],
  build: buildHeadWrites,
};
