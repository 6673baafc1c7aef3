/**
 * `node dist/scripts/phase-detection.js [runs]`: the phase-detection table of docs/fit.md —
 * for synthetic profiles with known breakpoints at 8, 12, 24 and 48 layers, how often the fit
 * splits the range, finds the breakpoint, and calls the range "not one exponential".
 */
import { NOISE_LEVELS, PROFILES, detectionRates, type NoiseLevel, type ProfileName } from '../test/support/phase-detection.js';

const runs = Number(process.argv[2] ?? 200);
const percent = (count: number) => `${((100 * count) / runs).toFixed(0)}%`;
const lines = [
  '| layers | profile | noise (walk σ) | split into phases | breakpoint within 1 layer | "not one exponential" |',
  '| ---: | --- | --- | ---: | ---: | ---: |',
];
for (const nLayers of [8, 12, 24, 48]) {
  for (const profile of Object.keys(PROFILES) as ProfileName[]) {
    for (const noise of Object.keys(NOISE_LEVELS) as NoiseLevel[]) {
      const rates = detectionRates(nLayers, profile, noise, runs);
      const phases = PROFILES[profile](nLayers);
      const shown = phases.map((phase) => `×${phase.growth}${phase.fromLayer > 0 ? ` from ${phase.fromLayer}` : ''}`).join(', ');
      lines.push(
        `| ${nLayers} | ${profile}: ${shown} | ${noise} (${NOISE_LEVELS[noise]}) | ${percent(rates.split)} | ${phases.length > 1 ? percent(rates.breakpointFound) : '—'} | ${percent(rates.notOneExponential)} |`,
      );
    }
  }
}
process.stdout.write(`${lines.join('\n')}\n\n${runs} seeded runs per row.\n`);
