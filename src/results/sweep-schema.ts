/**
 * The sweep summary file (`sweep.json`) and the members it lists: its types, which the sweep
 * builds (src/sweep/sweep-summary.ts) and the sweep figures read (src/figures/sweep-figures.ts).
 */
import type { HookName, NormMetric } from '../vocabulary/hooks.js';

export interface SweepMember {
  /** 1-based, the member's number for `--member i` (a job array's task id). */
  index: number;
  /** What `measure --model` is given: alias, owner/name[@revision] or folder. */
  spec: string;
  /** Its results file, relative to the sweep folder. */
  file: string;
  /** Training step of a checkpoint revision (Pythia's `stepN`, OLMo's `stepN-tokensMB`, OLMo-2's `stage1-stepN-tokensMB`), else null. */
  step: number | null;
}

/** A member left out of a sweep because its weight files have the same content hashes as another member's. */
export interface SameWeightsMember {
  spec: string;
  /** The member measured instead. */
  sameAs: string;
}

/** The prompt set every member of a sweep measured. */
export interface SweepPrompts {
  source: string;
  sha256: string;
  count: number;
}

export const SWEEP_FILE = 'sweep.json';
export const SWEEP_FORMAT = 'resid-norms/sweep';

export type MemberStatus = 'measured' | 'failed' | 'missing';

export interface MemberSummary extends SweepMember {
  status: MemberStatus;
  /** Why a failed member failed (its one-line message) and its exit code. */
  error?: { message: string; exitCode: number };
  /** The results' model id and commit sha (null for local folders). */
  id?: string;
  commit?: string | null;
  nLayers?: number;
  dModel?: number;
  /** Parameters as recorded, else ≈ 12 · nLayers · dModel² (non-embedding). */
  parameters?: number;
  parametersEstimated?: boolean;
  metric?: NormMetric;
  tokens?: number;
  growth?: { factor: number; ciLow: number; ciHigh: number; ciMethod: string; fromLayer: number; toLayer: number; r2: number };
  /** Mean norm per layer over the included tokens (primary metric). */
  profile?: number[];
  /** Mean norm per layer at position 0 (BOS when prepended) over the prompts. */
  position0?: number[];
}

export interface SweepSummary {
  format: typeof SWEEP_FORMAT;
  version: 1;
  createdBy: { tool: string; version: string };
  hook: HookName;
  prompts: SweepPrompts;
  counts: Record<MemberStatus, number>;
  members: MemberSummary[];
  /** Members left out of the plan: the same weights as a member measured (e.g. pythia-2.8b's re-uploaded branches). */
  sameWeights?: SameWeightsMember[];
}
