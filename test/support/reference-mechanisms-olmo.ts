/**
 * The blocks of OLMo and OLMo-2 for reference-mechanisms.ts (its ReferenceBlockFns), read by
 * Hugging Face names from a tiny model's weights, written from transformers' modeling_olmo and
 * modeling_olmo2: OLMo's parameter-free LayerNorms before each sub-block and v clamped by
 * clip_qkv; OLMo-2's RMSNorms on each sub-block's output and none before it (the q/k norms sit
 * on the query-key path, which no probe reads). Nothing shared with the graph builder.
 */
import type { ReferenceBlockFns, ReferenceModel } from './reference-mechanisms.js';
import { olmoLayerNorm } from './reference-olmo.js';
import { activation, linear, mapValues, rmsNorm, type Vectors } from './reference-ops.js';

export function olmoReference(weights: Map<string, Float32Array>, config: Record<string, unknown>, olmo2: boolean): ReferenceModel {
  const w = (name: string) => {
    const value = weights.get(name);
    if (!value) throw new Error(`reference: missing ${name}`);
    return value;
  };
  const d = config.hidden_size as number;
  const nHeads = config.num_attention_heads as number;
  const nKvHeads = (config.num_key_value_heads as number | undefined) ?? nHeads;
  const dHead = d / nHeads;
  const dMlp = config.intermediate_size as number;
  const eps = (config.rms_norm_eps as number | undefined) ?? 1e-5;
  const clip = olmo2 ? undefined : ((config.clip_qkv as number | null | undefined) ?? undefined);
  const groups = nHeads / nKvHeads;
  const ones = new Float32Array(d).fill(1);
  const norm = (x: Vectors) => (olmo2 ? x : olmoLayerNorm(x));
  const blocks: ReferenceBlockFns[] = [];
  for (let layer = 0; layer < (config.num_hidden_layers as number); layer += 1) {
    const p = `layers.${layer}`;
    const project = (x: Vectors, name: string, dOut: number, withBias = true) =>
      linear(x, w(`${name}.weight`), 'out_in', dOut, withBias ? weights.get(`${name}.bias`) : undefined);
    blocks.push({
      gain1: ones,
      gain2: ones,
      mlpLinear: (h) => project(project(h, `${p}.mlp.up_proj`, dMlp, false), `${p}.mlp.down_proj`, d, false),
      bInWOut: () => undefined,
      norm1: norm,
      norm2: norm,
      mlp: (h) => {
        const pre = project(h, `${p}.mlp.gate_proj`, dMlp);
        const up = project(h, `${p}.mlp.up_proj`, dMlp);
        return {
          pre,
          out: project(
            pre.map((row, t) => row.map((v, i) => activation('silu', v) * up[t]![i]!)),
            `${p}.mlp.down_proj`,
            d,
          ),
        };
      },
      ov: (h) => {
        const v = mapValues(project(h, `${p}.self_attn.v_proj`, nKvHeads * dHead, false), (value) =>
          clip === undefined ? value : Math.min(clip, Math.max(-clip, value)),
        );
        // query head h reads kv head ⌊h / groups⌋
        const z = v.map((row) =>
          Float64Array.from({ length: nHeads * dHead }, (_, i) => row[Math.floor(Math.floor(i / dHead) / groups) * dHead + (i % dHead)]!),
        );
        return project(z, `${p}.self_attn.o_proj`, d, false);
      },
      ...(olmo2
        ? {
            post1: (x: Vectors) => rmsNorm(x, w(`${p}.post_attention_layernorm.weight`), eps),
            post2: (x: Vectors) => rmsNorm(x, w(`${p}.post_feedforward_layernorm.weight`), eps),
          }
        : {}),
    });
  }
  return { normalization: olmo2 ? 'rmsnorm' : 'layernorm', d, blocks, parallel: false };
}
