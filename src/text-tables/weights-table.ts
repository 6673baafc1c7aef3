/** The short table `weights` prints: per layer, the writing weights of figure 9 and the norms' gains. */
import type { WeightsFile } from '../results/weights-schema.js';
import { formatTextTable } from './text-table.js';

function formatNorm(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : value.toPrecision(5);
}

export function formatWeightsTable(file: WeightsFile): string {
  const gated = file.model.mlp === 'gated';
  const columns = ['W_OV', 'b_O', 'W_in', ...(gated ? ['W_gate'] : []), 'W_out', 'b_out', 'W_inW_out', 'b_inW_out', 'ln1.w', 'ln2.w'] as const;
  const variant = file.options.primaryVariant;
  const rows = file.layers.map((layer) => {
    const values = { ...layer[variant], 'ln1.w': layer.raw['ln1.w'], 'ln2.w': layer.raw['ln2.w'] } as Record<string, number | null | undefined>;
    return [String(layer.layer), ...columns.map((column) => formatNorm(values[column]))];
  });
  const title = `${variant} weights: Frobenius / L2 norms; W_OV over all heads = √Σ_h ‖W_V^h W_O^h‖²; ln gains unfolded, as the model applies them; — = no such tensor`;
  const table = formatTextTable(
    ['layer', ...columns].map((name) => ({ title: name, align: 'right' as const })),
    rows,
  );
  return `${[title, ...table].join('\n')}\n`;
}
