/**
 * A tiny GPT-2 whose writing weights grow with depth, shaped like the figures' tiny results
 * fixture (id tiny-gpt2: 6 layers, dModel 32, 4 heads), so a weights file of it pairs with that
 * fixture and figure 9 has slopes to show. Layer l's attention output projection is scaled by
 * ATTN_GROWTH^l and the MLP's output projection by MLP_GROWTH^l (weights and biases): processing is linear in them, so processed ‖W_O‖, ‖b_O‖, ‖W_out‖, ‖b_out‖
 * grow by exactly those factors, and ‖W_OV‖ about as fast (W_V is random in every layer).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSafetensors } from './safetensors-writer.js';
import { tinyGpt2Weights } from './tiny-gpt2.js';

export const ATTN_GROWTH = 1.15;
export const MLP_GROWTH = 1.08;
export const GROWING_DIMS = { nLayers: 6, dModel: 32, nHeads: 4, nCtx: 16 } as const;

/** Write the model to `parent`/tiny-gpt2 (the folder name is the model id); returns the folder. */
export async function writeGrowingTinyGpt2(parent: string): Promise<string> {
  const dir = join(parent, 'tiny-gpt2');
  const { config, tensors } = tinyGpt2Weights({ ...GROWING_DIMS, seed: 91 });
  for (const tensor of tensors) {
    const match = /^h\.(\d+)\.(attn|mlp)\.c_proj\./.exec(tensor.name);
    if (match === null) continue;
    const factor = (match[2] === 'attn' ? ATTN_GROWTH : MLP_GROWTH) ** Number(match[1]);
    for (let i = 0; i < tensor.data.length; i += 1) tensor.data[i] = tensor.data[i]! * factor;
  }
  await mkdir(dir, { recursive: true });
  await writeSafetensors(
    join(dir, 'model.safetensors'),
    tensors.map((tensor) => ({ ...tensor, name: `transformer.${tensor.name}` })),
  );
  await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}
