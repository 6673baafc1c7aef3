/**
 * Random Llama-family models with real shapes (TinyLlama-1.1B, Llama-3-8B) in BF16 and the
 * Hugging Face layout (sharded like the Hub's, with model.safetensors.index.json), generated
 * once into a folder of the caller's choice: the streamed-run bench measures speed and memory,
 * not accuracy. Values are written a slab at a time, so generating 16 GB needs ~100 MB.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSafetensorsStreaming, type StreamedTensor } from '../test/support/safetensors-writer.js';

export interface LlamaShape {
  name: string;
  nLayers: number;
  dModel: number;
  nHeads: number;
  nKvHeads: number;
  dMlp: number;
  dVocab: number;
  nCtx: number;
  ropeTheta: number;
  bosTokenId: number;
}

export const LLAMA_SHAPES: Record<string, LlamaShape> = {
  'tinyllama-1.1b': {
    name: 'tinyllama-1.1b',
    nLayers: 22,
    dModel: 2048,
    nHeads: 32,
    nKvHeads: 4,
    dMlp: 5632,
    dVocab: 32000,
    nCtx: 2048,
    ropeTheta: 10000,
    bosTokenId: 1,
  },
  'llama-3-8b': {
    name: 'llama-3-8b',
    nLayers: 32,
    dModel: 4096,
    nHeads: 32,
    nKvHeads: 8,
    dMlp: 14336,
    dVocab: 128256,
    nCtx: 8192,
    ropeTheta: 500000,
    bosTokenId: 128000,
  },
};

/** Parameters of the shape (embedding, blocks, final norm, untied head). */
export function llamaParameters(shape: LlamaShape): number {
  const { nLayers, dModel: d, nHeads, nKvHeads, dMlp, dVocab } = shape;
  const dHead = d / nHeads;
  const block = 2 * d + d * nHeads * dHead * 2 + 2 * d * nKvHeads * dHead + 3 * d * dMlp;
  return 2 * dVocab * d + nLayers * block + d;
}

/** Seeded uniform noise of the given standard deviation, continuing across calls (xorshift32). */
function noise(seed: number, std: number, mean = 0): (values: Float32Array) => void {
  let state = seed >>> 0 || 1;
  const scale = (std * Math.sqrt(12)) / 4294967296;
  return (values) => {
    for (let i = 0; i < values.length; i += 1) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      values[i] = mean + ((state >>> 0) - 2147483648) * scale;
    }
  };
}

function shardTensors(shape: LlamaShape): StreamedTensor[][] {
  const { nLayers, dModel: d, nHeads, nKvHeads, dMlp, dVocab } = shape;
  const dHead = d / nHeads;
  let seed = 1;
  const t = (name: string, dims: number[], std = 0.02, mean = 0): StreamedTensor => ({ name, shape: dims, fill: noise(seed++, std, mean) });
  const shards: StreamedTensor[][] = [[t('model.embed_tokens.weight', [dVocab, d], 1)]];
  // About 4 GB of BF16 per shard, as the Hub's checkpoints are split.
  const perShard = Math.max(1, Math.floor(2e9 / (d * (2 * nHeads * dHead + 2 * nKvHeads * dHead + 3 * dMlp))));
  for (let layer = 0; layer < nLayers; layer += 1) {
    if (layer % perShard === 0 && layer > 0) shards.push([]);
    const p = `model.layers.${layer}`;
    shards
      .at(-1)!
      .push(
        t(`${p}.input_layernorm.weight`, [d], 0.05, 1),
        t(`${p}.self_attn.q_proj.weight`, [nHeads * dHead, d]),
        t(`${p}.self_attn.k_proj.weight`, [nKvHeads * dHead, d]),
        t(`${p}.self_attn.v_proj.weight`, [nKvHeads * dHead, d]),
        t(`${p}.self_attn.o_proj.weight`, [d, nHeads * dHead]),
        t(`${p}.post_attention_layernorm.weight`, [d], 0.05, 1),
        t(`${p}.mlp.gate_proj.weight`, [dMlp, d]),
        t(`${p}.mlp.up_proj.weight`, [dMlp, d]),
        t(`${p}.mlp.down_proj.weight`, [d, dMlp]),
      );
  }
  shards.at(-1)!.push(t('model.norm.weight', [d], 0.05, 1), t('lm_head.weight', [dVocab, d]));
  return shards;
}

/** The model folder of a shape under `root`, generated on first use. Returns its path. */
export async function ensureLlamaModel(shape: LlamaShape, root: string, log: (message: string) => void): Promise<string> {
  const dir = join(root, `${shape.name}-bf16`);
  if (existsSync(join(dir, 'config.json'))) return dir;
  log(`generating a random ${shape.name}-shaped BF16 model in ${dir} (once, ${((2 * llamaParameters(shape)) / 1e9).toFixed(1)} GB)…`);
  const partial = `${dir}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  const shards = shardTensors(shape);
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  for (const [index, tensors] of shards.entries()) {
    const file = `model-${String(index + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
    totalSize += await writeSafetensorsStreaming(join(partial, file), tensors, { dtype: 'BF16', slabElements: 1 << 24 });
    for (const tensor of tensors) weightMap[tensor.name] = file;
  }
  await writeFile(join(partial, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2));
  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_act: 'silu',
    attention_bias: false,
    mlp_bias: false,
    hidden_size: shape.dModel,
    intermediate_size: shape.dMlp,
    num_attention_heads: shape.nHeads,
    num_key_value_heads: shape.nKvHeads,
    num_hidden_layers: shape.nLayers,
    max_position_embeddings: shape.nCtx,
    rms_norm_eps: 1e-5,
    rope_theta: shape.ropeTheta,
    rope_scaling: null,
    vocab_size: shape.dVocab,
    bos_token_id: shape.bosTokenId,
    eos_token_id: shape.bosTokenId + 1,
    tie_word_embeddings: false,
    torch_dtype: 'bfloat16',
  };
  await writeFile(join(partial, 'config.json'), JSON.stringify(config, null, 2));
  await rm(dir, { recursive: true, force: true });
  await rename(partial, dir);
  return dir;
}
