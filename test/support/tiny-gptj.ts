/**
 * Tiny random GPT-J models in the exact Hugging Face layout: the config.json keys of
 * EleutherAI/gpt-j-6b (n_embd, n_head, n_layer, n_positions, rotary_dim, n_inner null, the
 * summary_* keys of the sequence head, rotary, scale_attn_weights), GPTJForCausalLM keys
 * (`transformer.` prefix, the attn.bias / attn.masked_bias buffers the released checkpoint
 * carries, `lm_head.weight` and `lm_head.bias`) or GPTJModel keys (bare, no head).
 */
import type { TensorToWrite, WrittenDtype } from './safetensors-writer.js';
import { createTensorMaker, torchDtypeName, writeModelFolder, type GeneratedTensor, type TinyModel } from './tiny-model.js';
import { bytesTokenizerJson, tokenizerConfigJson } from './tokenizers.js';

export interface TinyGptjOptions {
  nLayers?: number;
  dModel?: number;
  nHeads?: number;
  nCtx?: number;
  /** rotary_dim (default 8; null is written as null). */
  rotaryDim?: number | null;
  /** n_inner (null: 4 · n_embd, as the released config). */
  nInner?: number | null;
  keys?: 'causal-lm' | 'base-model';
  dtype?: WrittenDtype;
  seed?: number;
  scale?: number;
}

/** The byte tokenizer's 257 ids, padded as GPT-J pads 50257 to 50400. */
const VOCAB = 264;
const END_OF_TEXT_ID = 256;

export function tinyGptjConfig(options: TinyGptjOptions = {}): Record<string, unknown> {
  const { nLayers = 2, dModel = 32, nHeads = 4, nCtx = 64 } = options;
  return {
    activation_function: 'gelu_new',
    architectures: [options.keys === 'base-model' ? 'GPTJModel' : 'GPTJForCausalLM'],
    attn_pdrop: 0.0,
    bos_token_id: END_OF_TEXT_ID,
    embd_pdrop: 0.0,
    eos_token_id: END_OF_TEXT_ID,
    gradient_checkpointing: false,
    initializer_range: 0.02,
    layer_norm_epsilon: 1e-5,
    model_type: 'gptj',
    n_embd: dModel,
    n_head: nHeads,
    n_inner: options.nInner === undefined ? null : options.nInner,
    n_layer: nLayers,
    n_positions: nCtx,
    resid_pdrop: 0.0,
    rotary: true,
    rotary_dim: options.rotaryDim === undefined ? 8 : options.rotaryDim,
    scale_attn_weights: true,
    summary_activation: null,
    summary_first_dropout: 0.1,
    summary_proj_to_labels: true,
    summary_type: 'cls_index',
    summary_use_proj: true,
    tie_word_embeddings: false,
    tokenizer_class: 'GPT2Tokenizer',
    torch_dtype: torchDtypeName(options.dtype),
    transformers_version: '4.18.0.dev0',
    use_cache: true,
    vocab_size: VOCAB,
  };
}

export async function writeTinyGptj(dir: string, options: TinyGptjOptions = {}): Promise<TinyModel> {
  const config = tinyGptjConfig(options);
  const { nLayers = 2, dModel = 32, nCtx = 64, seed = 7, scale = 0.2 } = options;
  const dMlp = options.nInner ?? 4 * dModel;
  const { tensors, add } = createTensorMaker(seed, scale);
  add('wte.weight', [VOCAB, dModel], 0, 1);
  for (let layer = 0; layer < nLayers; layer += 1) {
    const p = `h.${layer}`;
    add(`${p}.ln_1.weight`, [dModel], 1, 0.1);
    add(`${p}.ln_1.bias`, [dModel], 0, 0.1);
    for (const projection of ['k_proj', 'v_proj', 'q_proj', 'out_proj']) add(`${p}.attn.${projection}.weight`, [dModel, dModel]);
    add(`${p}.mlp.fc_in.weight`, [dMlp, dModel]);
    add(`${p}.mlp.fc_in.bias`, [dMlp], 0, 0.1);
    add(`${p}.mlp.fc_out.weight`, [dModel, dMlp]);
    add(`${p}.mlp.fc_out.bias`, [dModel], 0, 0.1);
  }
  add('ln_f.weight', [dModel], 1, 0.1);
  add('ln_f.bias', [dModel], 0, 0.1);

  const extra: TensorToWrite[] = [];
  const topLevel: GeneratedTensor[] = [];
  if (options.keys !== 'base-model') {
    const causal = new Float32Array(nCtx * nCtx).map((_, i) => (i % nCtx <= Math.floor(i / nCtx) ? 1 : 0));
    for (let layer = 0; layer < nLayers; layer += 1) {
      extra.push({ name: `transformer.h.${layer}.attn.bias`, shape: [1, 1, nCtx, nCtx], data: causal, dtype: 'BOOL' });
      extra.push({ name: `transformer.h.${layer}.attn.masked_bias`, shape: [], data: new Float32Array([-1e9]) });
    }
    const head = createTensorMaker(seed + 7919, 3 / Math.sqrt(dModel));
    head.add('lm_head.weight', [VOCAB, dModel]);
    head.add('lm_head.bias', [VOCAB], 0, 0.5);
    topLevel.push(...head.tensors);
  }
  const prefix = options.keys === 'base-model' ? '' : 'transformer.';
  const files = { 'tokenizer.json': JSON.stringify(bytesTokenizerJson()), 'tokenizer_config.json': JSON.stringify(tokenizerConfigJson(nCtx)) };
  return writeModelFolder(dir, { config, tensors, prefix, extra, topLevel, files, ...(options.dtype ? { dtype: options.dtype } : {}) });
}
