/**
 * Tiny random GPT-Neo models in the exact Hugging Face layout: config.json as GPTNeoConfig
 * saves it (attention_types and its expansion attention_layers), nn.Linear weights [out, in],
 * q/k/v without bias, in both key variants (`transformer.`-prefixed GPTNeoForCausalLM, with the
 * mask buffers old checkpoints carry, or bare GPTNeoModel), and the tokenizer as the EleutherAI
 * repos ship it: vocab.json + merges.txt + tokenizer_config.json + special_tokens_map.json
 * (bytes, then <|endoftext|> = 256).
 */
import type { WrittenDtype } from './safetensors-writer.js';
import { byteVocabFiles, createTensorMaker, torchDtypeName, writeModelFolder, type TinyModel } from './tiny-model.js';

export const NEO_END_OF_TEXT = '<|endoftext|>';

export interface TinyGptNeoOptions {
  dModel?: number;
  nHeads?: number;
  nCtx?: number;
  /** e.g. [[["global", "local"], 2]] (4 layers); decides the number of layers. */
  attentionTypes?: Array<[string[], number]>;
  windowSize?: number;
  /** intermediate_size; null means 4 · dModel, as in the released models. */
  dMlp?: number | null;
  keys?: 'causal-lm' | 'base-model';
  activation?: string;
  dtype?: WrittenDtype;
  seed?: number;
  scale?: number;
}

export function expandTypes(attentionTypes: Array<[string[], number]>): string[] {
  return attentionTypes.flatMap(([kinds, repeat]) => Array.from({ length: repeat }, () => kinds).flat());
}

export async function writeTinyGptNeo(dir: string, options: TinyGptNeoOptions = {}): Promise<TinyModel> {
  const { dModel = 32, nHeads = 4, nCtx = 64, windowSize = 5, dMlp = null, activation = 'gelu_new', seed = 7, scale = 0.2 } = options;
  const attentionTypes = options.attentionTypes ?? [[['global', 'local'], 2]];
  const layers = expandTypes(attentionTypes);
  const hidden = dMlp ?? 4 * dModel;
  const { vocabJson, mergesTxt, ids } = byteVocabFiles([], [NEO_END_OF_TEXT]);
  const dVocab = 257;
  const eot = ids[NEO_END_OF_TEXT]!;

  const { tensors, add } = createTensorMaker(seed, scale);
  add('wte.weight', [dVocab, dModel]);
  add('wpe.weight', [nCtx, dModel], 0, scale / 2);
  layers.forEach((_, layer) => {
    const p = `h.${layer}`;
    add(`${p}.ln_1.weight`, [dModel], 1, 0.1);
    add(`${p}.ln_1.bias`, [dModel], 0, 0.1);
    for (const proj of ['k_proj', 'v_proj', 'q_proj']) add(`${p}.attn.attention.${proj}.weight`, [dModel, dModel]);
    add(`${p}.attn.attention.out_proj.weight`, [dModel, dModel]);
    add(`${p}.attn.attention.out_proj.bias`, [dModel], 0, 0.1);
    add(`${p}.ln_2.weight`, [dModel], 1, 0.1);
    add(`${p}.ln_2.bias`, [dModel], 0, 0.1);
    add(`${p}.mlp.c_fc.weight`, [hidden, dModel]);
    add(`${p}.mlp.c_fc.bias`, [hidden], 0, 0.1);
    add(`${p}.mlp.c_proj.weight`, [dModel, hidden]);
    add(`${p}.mlp.c_proj.bias`, [dModel], 0, 0.1);
  });
  add('ln_f.weight', [dModel], 1, 0.1);
  add('ln_f.bias', [dModel], 0, 0.1);

  const causalLm = options.keys !== 'base-model';
  const config = {
    activation_function: activation,
    architectures: [causalLm ? 'GPTNeoForCausalLM' : 'GPTNeoModel'],
    attention_dropout: 0,
    attention_layers: layers,
    attention_types: attentionTypes,
    bos_token_id: eot,
    embed_dropout: 0,
    eos_token_id: eot,
    gradient_checkpointing: false,
    hidden_size: dModel,
    initializer_range: 0.02,
    intermediate_size: dMlp,
    layer_norm_epsilon: 1e-5,
    max_position_embeddings: nCtx,
    model_type: 'gpt_neo',
    num_heads: nHeads,
    num_layers: layers.length,
    resid_dropout: 0,
    summary_activation: null,
    summary_first_dropout: 0.1,
    summary_proj_to_labels: true,
    summary_type: 'cls_index',
    summary_use_proj: true,
    tokenizer_class: 'GPT2Tokenizer',
    torch_dtype: torchDtypeName(options.dtype),
    transformers_version: '4.8.2',
    use_cache: true,
    vocab_size: dVocab,
    window_size: windowSize,
  };
  // Old GPTNeoForCausalLM checkpoints saved the attention masks as buffers (uint8, 1 = visible).
  const extra = causalLm
    ? layers.flatMap((kind, layer) => {
        const mask = new Float32Array(nCtx * nCtx);
        for (let i = 0; i < nCtx; i += 1) for (let j = 0; j <= i; j += 1) mask[i * nCtx + j] = kind === 'local' && j <= i - windowSize ? 0 : 1;
        return [
          { name: `transformer.h.${layer}.attn.attention.bias`, shape: [1, 1, nCtx, nCtx], data: mask, dtype: 'U8' as const },
          { name: `transformer.h.${layer}.attn.attention.masked_bias`, shape: [], data: new Float32Array([-1e9]) },
        ];
      })
    : [];
  const special = { bos_token: NEO_END_OF_TEXT, eos_token: NEO_END_OF_TEXT, unk_token: NEO_END_OF_TEXT };
  return writeModelFolder(dir, {
    config,
    tensors,
    prefix: causalLm ? 'transformer.' : '',
    ...(options.dtype ? { dtype: options.dtype } : {}),
    extra,
    files: {
      'vocab.json': vocabJson,
      'merges.txt': mergesTxt,
      'tokenizer_config.json': JSON.stringify({
        ...special,
        add_prefix_space: false,
        errors: 'replace',
        model_max_length: nCtx,
        tokenizer_class: 'GPT2Tokenizer',
      }),
      'special_tokens_map.json': JSON.stringify(special),
    },
  });
}
