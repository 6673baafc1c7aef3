/**
 * The weights of a mixture of experts (Mixtral), as `weights` reports them: every expert's MLP
 * norms in `experts` (like the heads' in `heads`), and the layer's value of each the norm of all
 * experts together, √(Σ_e ‖·^e‖²), as a per-head quantity's is of all heads: the Frobenius norm of
 * the stacked [nExperts, …] matrices. A bias no expert has stays null (absent: absent).
 */
import type { ExpertNorms } from '../results/weights-schema.js';

type Value = number | null | undefined;
type Norms = Partial<Record<keyof ExpertNorms, Value>>;

/** The layer's value of each quantity: √(Σ_e v_e²) over the experts (null if every expert's is null). */
export function combineExperts<T extends Norms>(each: readonly T[]): T {
  const combined: Record<string, Value> = {};
  for (const key of Object.keys(each[0] ?? {})) {
    const values = each.map((norms) => norms[key as keyof T] as Value);
    if (values.every((value) => value === undefined)) continue;
    combined[key] = values.every((value) => value === null || value === undefined)
      ? null
      : Math.sqrt(values.reduce<number>((sum, value) => sum + (value ?? 0) ** 2, 0));
  }
  return combined as T;
}

/** Each quantity as a list over the experts, in expert order (the file's `experts`). */
export function listExperts(each: readonly Norms[]): ExpertNorms {
  const lists: Record<string, Value[]> = {};
  for (const key of Object.keys(each[0] ?? {})) {
    const values = each.map((norms) => norms[key as keyof Norms]);
    if (values.every((value) => value === undefined)) continue;
    lists[key] = values.map((value) => value ?? null);
  }
  return lists as unknown as ExpertNorms;
}
