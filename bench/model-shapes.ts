/**
 * Random GPT-2 models with real GPT-2 shapes, in Hugging Face layout, generated once into a
 * temp folder and reused: the benchmark measures speed and memory, not accuracy.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSafetensorsStreaming, type StreamedTensor } from '../test/support/safetensors-writer.js';

export interface ModelShape {
  name: string;
  nLayers: number;
  dModel: number;
  nHeads: number;
  dVocab: number;
  nCtx: number;
}

export const SHAPES: Record<string, ModelShape> = {
  'gpt2-small': { name: 'gpt2-small', nLayers: 12, dModel: 768, nHeads: 12, dVocab: 50257, nCtx: 1024 },
  'gpt2-xl': { name: 'gpt2-xl', nLayers: 48, dModel: 1600, nHeads: 25, dVocab: 50257, nCtx: 1024 },
};

/** Fast seeded uniform noise with the given standard deviation (xorshift32). */
function noise(seed: number, std: number, mean = 0): (values: Float32Array) => void {
  return (values) => {
    let state = seed >>> 0 || 1;
    const scale = (std * Math.sqrt(12)) / 4294967296;
    for (let i = 0; i < values.length; i += 1) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      values[i] = mean + ((state >>> 0) - 2147483648) * scale;
    }
  };
}

function tensors(shape: ModelShape): StreamedTensor[] {
  const { nLayers, dModel: d, dVocab, nCtx } = shape;
  let seed = 1;
  const t = (name: string, dims: number[], std = 0.02, mean = 0): StreamedTensor => ({
    name: `transformer.${name}`,
    shape: dims,
    fill: noise(seed++, std, mean),
  });
  const list = [t('wte.weight', [dVocab, d]), t('wpe.weight', [nCtx, d], 0.01)];
  for (let layer = 0; layer < nLayers; layer += 1) {
    const p = `h.${layer}`;
    list.push(
      t(`${p}.ln_1.weight`, [d], 0.05, 1),
      t(`${p}.ln_1.bias`, [d], 0.01),
      t(`${p}.attn.c_attn.weight`, [d, 3 * d]),
      t(`${p}.attn.c_attn.bias`, [3 * d], 0.01),
      t(`${p}.attn.c_proj.weight`, [d, d]),
      t(`${p}.attn.c_proj.bias`, [d], 0.01),
      t(`${p}.ln_2.weight`, [d], 0.05, 1),
      t(`${p}.ln_2.bias`, [d], 0.01),
      t(`${p}.mlp.c_fc.weight`, [d, 4 * d]),
      t(`${p}.mlp.c_fc.bias`, [4 * d], 0.01),
      t(`${p}.mlp.c_proj.weight`, [4 * d, d]),
      t(`${p}.mlp.c_proj.bias`, [d], 0.01),
    );
  }
  list.push(t('ln_f.weight', [d], 0.05, 1), t('ln_f.bias', [d], 0.01)); // the output head (tied to wte) that the logit lens reads
  return list;
}

/** The model folder for a shape, generated on first use. Returns its path. */
export async function ensureBenchModel(shape: ModelShape, log: (message: string) => void): Promise<string> {
  // v2: with ln_f, which the logit lens needs (folders of the first version lack it).
  const dir = join(tmpdir(), 'resid-norms-bench', `${shape.name}-v2`);
  if (existsSync(join(dir, 'config.json'))) return dir;
  log(`generating a random ${shape.name}-shaped model in ${dir} (once)…`);
  const partial = `${dir}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  await writeSafetensorsStreaming(join(partial, 'model.safetensors'), tensors(shape));
  const config = {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    activation_function: 'gelu_new',
    n_embd: shape.dModel,
    n_layer: shape.nLayers,
    n_head: shape.nHeads,
    n_positions: shape.nCtx,
    n_ctx: shape.nCtx,
    n_inner: null,
    vocab_size: shape.dVocab,
    layer_norm_epsilon: 1e-5,
    bos_token_id: 50256,
    eos_token_id: 50256,
  };
  await writeFile(join(partial, 'config.json'), JSON.stringify(config, null, 2));
  await rm(dir, { recursive: true, force: true });
  await rename(partial, dir);
  return dir;
}
