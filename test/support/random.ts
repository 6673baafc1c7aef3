/** Small seeded random numbers for reproducible test data (mulberry32 + Box–Muller). */
import { createUniform } from '../../src/analysis/seeded-random.js';

export interface Random {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Standard normal. */
  normal(): number;
  /** Integer in [0, n). */
  integer(n: number): number;
}

export function createRandom(seed: number): Random {
  const uniform = createUniform(seed);
  const normal = (): number => {
    const u = Math.max(uniform(), Number.MIN_VALUE);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
  return { uniform, normal, integer: (n) => Math.floor(uniform() * n) };
}
