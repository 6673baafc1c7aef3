/**
 * Tiny random OPT models in the exact Hugging Face layout: config.json as OPTConfig saves it,
 * nn.Linear weights [out, in] with biases, a position table of nCtx + 2 rows, keys under
 * `model.decoder.` (OPTForCausalLM) or `decoder.` (OPTModel), and the tokenizer as facebook/opt-*
 * ship it: vocab.json + merges.txt + tokenizer_config.json (add_bos_token, BOS = </s>) +
 * special_tokens_map.json. Vocabulary: <s> 0, <pad> 1, </s> 2, <unk> 3, then the 256 bytes;
 * the embedding is padded to 264 rows, as OPT pads 50265 tokens to 50272.
 */
import type { WrittenDtype } from './safetensors-writer.js';
import { byteVocabFiles, createTensorMaker, torchDtypeName, writeModelFolder, type TinyModel } from './tiny-model.js';

export const OPT_BOS = '</s>';
export const OPT_BOS_ID = 2;
/** Token id of byte b in the tiny OPT vocabulary. */
export const optByteId = (byte: number): number => byte + 4;

export interface TinyOptOptions {
  nLayers?: number;
  dModel?: number;
  nHeads?: number;
  nCtx?: number;
  dMlp?: number;
  keys?: 'causal-lm' | 'base-model';
  enableBias?: boolean;
  activation?: string;
  dtype?: WrittenDtype;
  seed?: number;
  scale?: number;
}

export async function writeTinyOpt(dir: string, options: TinyOptOptions = {}): Promise<TinyModel> {
  const { nLayers = 2, dModel = 32, nHeads = 4, nCtx = 64, activation = 'relu', enableBias = true, seed = 7, scale = 0.2 } = options;
  const dMlp = options.dMlp ?? 4 * dModel;
  const { vocabJson, mergesTxt } = byteVocabFiles(['<s>', '<pad>', OPT_BOS, '<unk>'], []);
  const dVocab = 264;

  const { tensors, add } = createTensorMaker(seed, scale);
  add('embed_tokens.weight', [dVocab, dModel]);
  add('embed_positions.weight', [nCtx + 2, dModel], 0, scale / 2);
  const linear = (name: string, dIn: number, dOut: number) => {
    add(`${name}.weight`, [dOut, dIn]);
    if (enableBias) add(`${name}.bias`, [dOut], 0, 0.1);
  };
  for (let layer = 0; layer < nLayers; layer += 1) {
    const p = `layers.${layer}`;
    for (const proj of ['k_proj', 'v_proj', 'q_proj', 'out_proj']) linear(`${p}.self_attn.${proj}`, dModel, dModel);
    add(`${p}.self_attn_layer_norm.weight`, [dModel], 1, 0.1);
    add(`${p}.self_attn_layer_norm.bias`, [dModel], 0, 0.1);
    linear(`${p}.fc1`, dModel, dMlp);
    linear(`${p}.fc2`, dMlp, dModel);
    add(`${p}.final_layer_norm.weight`, [dModel], 1, 0.1);
    add(`${p}.final_layer_norm.bias`, [dModel], 0, 0.1);
  }
  add('final_layer_norm.weight', [dModel], 1, 0.1);
  add('final_layer_norm.bias', [dModel], 0, 0.1);

  const causalLm = options.keys !== 'base-model';
  const config = {
    _remove_final_layer_norm: false,
    activation_dropout: 0.0,
    activation_function: activation,
    architectures: [causalLm ? 'OPTForCausalLM' : 'OPTModel'],
    attention_dropout: 0.0,
    bos_token_id: 2,
    do_layer_norm_before: true,
    dropout: 0.1,
    enable_bias: enableBias,
    eos_token_id: 2,
    ffn_dim: dMlp,
    hidden_size: dModel,
    init_std: 0.02,
    layer_norm_elementwise_affine: true,
    layerdrop: 0.0,
    max_position_embeddings: nCtx,
    model_type: 'opt',
    num_attention_heads: nHeads,
    num_hidden_layers: nLayers,
    pad_token_id: 1,
    prefix: '</s>',
    torch_dtype: torchDtypeName(options.dtype),
    transformers_version: '4.21.0.dev0',
    use_cache: true,
    vocab_size: dVocab,
    word_embed_proj_dim: dModel,
  };
  const added = (content: string) => ({ __type: 'AddedToken', content, lstrip: false, normalized: true, rstrip: false, single_word: false });
  return writeModelFolder(dir, {
    config,
    tensors,
    prefix: causalLm ? 'model.decoder.' : 'decoder.',
    ...(options.dtype ? { dtype: options.dtype } : {}),
    files: {
      'vocab.json': vocabJson,
      'merges.txt': mergesTxt,
      'tokenizer_config.json': JSON.stringify({
        add_bos_token: true,
        add_prefix_space: false,
        bos_token: added(OPT_BOS),
        eos_token: added(OPT_BOS),
        errors: 'replace',
        pad_token: added('<pad>'),
        special_tokens_map_file: null,
        tokenizer_class: 'GPT2Tokenizer',
        unk_token: added(OPT_BOS),
      }),
      'special_tokens_map.json': JSON.stringify({ bos_token: OPT_BOS, eos_token: OPT_BOS, pad_token: '<pad>', unk_token: OPT_BOS }),
    },
  });
}
