/**
 * The hook norms of a graph: at each hooked tap of the block recipe, the two per-token norms
 * (raw and centered) as graph outputs [batch, pos], each value reduced once (resid_post of block
 * l is resid_pre of block l + 1: both hook entries name one output). Reductions made since the
 * last norm layer are waited for by the next one (GraphContext.zeroAfter), so they run, and free
 * their inputs, in place. The whole model's graph (transformer-graph.ts) and a streamed run's
 * one-block graphs (block-graph.ts) record their hooks here.
 */
import type { HookName, NormMetric } from '../vocabulary/hooks.js';
import type { BlockObserver, BlockTap } from './block-recipe.js';
import { hookOutputName } from './hook-output-names.js';
import type { GraphContext } from './graph-context.js';
import { ElementType } from './onnx-builder.js';

/** One (layer, hook, metric) and the graph output carrying it; two entries may share an output. */
export interface HookOutput {
  name: string;
  layer: number;
  hook: HookName;
  metric: NormMetric;
}

/** The block tap each hook reads (TransformerLens's hook points are taps of the block recipe). */
export const HOOK_TAPS: Record<HookName, BlockTap> = {
  resid_pre: 'resid_pre',
  attn_out: 'attn_out',
  resid_mid: 'resid_mid',
  mlp_out: 'mlp_out',
  resid_post: 'resid_post',
};

export class HookNorms {
  readonly outputs: HookOutput[] = [];
  private readonly reduced = new Map<string, Record<NormMetric, string>>();
  private readonly hooksAt: Map<BlockTap, HookName>;
  /** Values computed since the last norm layer: the next one waits for them. */
  private pending: string[] = [];

  /**
   * @param tokenShape int64 [2] = [batch, pos], to output [batch·pos] norms as [batch, pos]
   * @param wantedLayers only these layers' hooks (all when absent)
   */
  constructor(
    private readonly ctx: GraphContext,
    hooks: readonly HookName[],
    private readonly dModel: number,
    private readonly tokenShape: string,
    private readonly wantedLayers?: ReadonlySet<number>,
  ) {
    this.hooksAt = new Map(hooks.map((hook) => [HOOK_TAPS[hook], hook]));
  }

  /** A scalar zero the norm `name` must wait for (undefined when nothing is pending); clears the pending values. */
  readonly beforeNorm = (name: string): string | undefined => {
    const after = this.pending.length > 0 ? this.ctx.zeroAfter(this.pending, name) : undefined;
    this.pending = [];
    return after;
  };

  /** Values the next norm must wait for (diagnostics computed beside the norms). */
  wait(values: readonly string[]): void {
    this.pending.push(...values);
  }

  /** The observer of block `layer` (as the graph numbers it): records its hooked taps. */
  observer(layer: number): Required<BlockObserver> {
    return {
      beforeNorm: this.beforeNorm,
      tap: (tap, value) => {
        const hook = this.hooksAt.get(tap);
        if (hook !== undefined) this.record(layer, hook, value);
      },
    };
  }

  /** Output both norms of `value` as hook `hook` of block `layer` (once per value). */
  record(layer: number, hook: HookName, value: string): void {
    if (this.wantedLayers && !this.wantedLayers.has(layer)) return;
    const g = this.ctx.g;
    let norms = this.reduced.get(value);
    if (norms === undefined) {
      const names = { raw: hookOutputName(layer, hook, 'raw'), centered: hookOutputName(layer, hook, 'centered') };
      const perToken = (norm: string, name: string) => g.node('Reshape', [norm, this.tokenShape], {}, name); // [batch·pos] → [batch, pos]
      const flat = this.ctx.tokenNorms(value, this.dModel, { raw: `${names.raw}.flat`, centered: `${names.centered}.flat` });
      norms = { raw: perToken(flat.raw, names.raw), centered: perToken(flat.centered, names.centered) };
      for (const metric of ['raw', 'centered'] as const) g.addOutput(norms[metric], ElementType.float, ['batch', 'pos']);
      this.pending.push(norms.raw, norms.centered);
      this.reduced.set(value, norms);
    }
    for (const metric of ['raw', 'centered'] as const) this.outputs.push({ name: norms[metric], layer, hook, metric });
  }

  /** The graph's distinct norm outputs, in order. */
  get outputNames(): string[] {
    return [...new Set(this.outputs.map((output) => output.name))];
  }
}
