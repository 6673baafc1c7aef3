/**
 * A few rows of the phase-detection table in docs/fit.md, rerun with fewer seeds: the bounds
 * sit well inside what 30 runs of the published rates give (a broken criterion misses them by far).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectionRates } from '../support/phase-detection.js';

const RUNS = 30;

describe('phase detection on synthetic profiles (docs/fit.md)', () => {
  it('48 layers, ×1.3 then ×1.05 from layer 12: found and called not one exponential', () => {
    const rates = detectionRates(48, 'strong', 'typical', RUNS);
    assert.ok(rates.notOneExponential >= 27, `not one exponential in ${rates.notOneExponential} of ${RUNS}`);
    assert.ok(rates.breakpointFound >= 24, `breakpoint found in ${rates.breakpointFound} of ${RUNS}`);
  });

  it('12 layers, ×1.08 then ×1.04 from layer 6: called not one exponential', () => {
    const rates = detectionRates(12, 'moderate', 'typical', RUNS);
    assert.ok(rates.notOneExponential >= 24, `not one exponential in ${rates.notOneExponential} of ${RUNS}`);
  });

  it('24 layers of one exponential: rarely called anything else', () => {
    const rates = detectionRates(24, 'straight', 'high', RUNS);
    assert.ok(rates.notOneExponential <= 3, `not one exponential in ${rates.notOneExponential} of ${RUNS}`);
  });
});
