/** The short table `mechanisms` prints: per layer, random-input norms next to the measured ones, and activation rates. */
import type { MechanismsFile } from '../results/mechanisms-schema.js';
import { formatTextTable } from './text-table.js';

export function formatMechanismsTable(file: MechanismsFile): string {
  const header = ['layer', 'mlp_out', 'MLP(rand)', 'attn_out', 'ΣW_OV(rand)', 'rate(real)', 'rate(rand)', 'rate(same)', 'rate(other)', 'from'];
  const rows = file.layers.map((entry) => [
    String(entry.layer),
    entry.measured.mlp_out.mean.toPrecision(5),
    entry.random.mlp_out.mean.toPrecision(5),
    entry.measured.attn_out.mean.toPrecision(5),
    entry.random.ov.mean.toPrecision(5),
    entry.measured.activationRate.mean.toFixed(4),
    entry.random.activationRate.mean.toFixed(4),
    entry.sameLayer.activationRate.mean.toFixed(4),
    entry.randomLayer.activationRate.mean.toFixed(4),
    String(entry.randomLayer.sourceLayer),
  ]);
  const { options, tokens } = file;
  const title =
    `${options.metric} norms; rand = mean over ${options.samples} normalised N(0, I) inputs; real = all ${tokens.included} included prompt tokens (no sampling error); ` +
    `same / other = ${tokens.resampled} resampled ${options.mlpInput} vectors of the same layer / of layer "from"; standard errors (prompts as clusters) in the file`;
  const table = formatTextTable(
    header.map((name) => ({ title: name, align: 'right' as const })),
    rows,
  );
  return `${[title, ...table].join('\n')}\n`;
}
