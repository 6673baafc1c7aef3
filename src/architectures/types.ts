/**
 * What an architecture adapter produces: a TransformerSpec, a plain description of one model
 * (dimensions, which tensor plays which role, which variant of each part). Differences between
 * families live in this data; the graph builder reads it and never asks which family it has.
 */
import type { TensorInfo, WeightIndex } from '../models/index.js';

export interface ModelDims {
  nLayers: number;
  dModel: number;
  nHeads: number;
  /** Key/value heads (grouped-query attention); equals nHeads otherwise. */
  nKvHeads: number;
  dHead: number;
  /** Hidden size of the MLP. */
  dMlp: number;
  dVocab: number;
  nCtx: number;
}

/** GPT-2's Conv1D stores [in, out]; torch nn.Linear stores [out, in]. */
export type WeightLayout = 'in_out' | 'out_in';

export interface LinearWeights {
  weight: TensorInfo;
  layout: WeightLayout;
  bias?: TensorInfo;
}

export interface NormWeights {
  kind: 'layernorm' | 'rmsnorm';
  weight: TensorInfo;
  bias?: TensorInfo;
  eps: number;
}

export type QkvProjection =
  /** One projection whose output is [q | k | v] (GPT-2 c_attn). */
  | { kind: 'fused'; linear: LinearWeights }
  /** One projection whose output is grouped by head: [q₀ k₀ v₀ | q₁ k₁ v₁ | …] (GPT-NeoX). */
  | { kind: 'fused-per-head'; linear: LinearWeights }
  | { kind: 'separate'; q: LinearWeights; k: LinearWeights; v: LinearWeights };

/** How a RoPE variant rescales the inverse frequencies base^(−2i/rotaryDims). */
export type RopeScaling =
  /** Every frequency divided by factor (positions interpolated). */
  | { kind: 'linear'; factor: number }
  /** Llama 3.1: long wavelengths divided by factor, short ones kept, a smooth ramp between. */
  | { kind: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalContext: number };

export interface RotarySpec {
  /** Leading dimensions of each head that are rotated (partial rotary when < dHead). */
  rotaryDims: number;
  base: number;
  scaling?: RopeScaling;
}

export interface AttentionSpec {
  qkv: QkvProjection;
  out: LinearWeights;
  /** Factor applied to q·k (1/√dHead usually; 1 for GPT-Neo). */
  scale: number;
  /** Local attention: a token attends to itself and at most window − 1 tokens before it. */
  window?: number;
  rotary?: RotarySpec;
}

export type Activation = 'gelu_new' | 'gelu' | 'relu' | 'silu';

export type MlpSpec =
  | { kind: 'dense'; in: LinearWeights; out: LinearWeights; activation: Activation }
  | { kind: 'gated'; gate: LinearWeights; up: LinearWeights; down: LinearWeights; activation: Activation };

export interface BlockSpec {
  /** Norm before attention. */
  norm1: NormWeights;
  /** Norm before the MLP; for parallel residual it is applied to the block input. */
  norm2: NormWeights;
  attention: AttentionSpec;
  mlp: MlpSpec;
}

/**
 * The model's own output head, which the logit lens reads (`measure --diagnostics lens`):
 * logits = finalNorm(x) · W_Uᵀ. No family here has a bias on W_U.
 */
export interface OutputHead {
  /** ln_f, model.norm, final_layer_norm; absent when the model applies none (OPT with _remove_final_layer_norm). */
  finalNorm?: NormWeights;
  /** W_U, [dVocab, dModel] as nn.Linear stores it: the token embedding itself when tied. */
  unembedding: TensorInfo;
  /** Whether W_U is the token embedding (tie_word_embeddings, or a Llama checkpoint without lm_head). */
  tied: boolean;
}

export interface TransformerSpec {
  /** Registry name of the adapter that described the model. */
  architecture: string;
  dims: ModelDims;
  /** [dVocab, dModel] */
  tokenEmbedding: TensorInfo;
  /** Learned absolute positions [nCtx + offset, dModel]; OPT's table starts at offset 2. */
  positionEmbedding?: { weight: TensorInfo; offset: number };
  normalization: 'layernorm' | 'rmsnorm';
  /** attn and MLP both read the block input and add to it (GPT-NeoX, GPT-J): no resid_mid. */
  parallelResidual: boolean;
  blocks: BlockSpec[];
  /**
   * The final norm and unembedding, or why the model's files do not give them. Only the logit
   * lens reads them, so a model without them (or with misshapen ones) still measures norms.
   */
  outputHead: OutputHead | { unavailable: string };
  bosTokenId: number | null;
  /** config.json's eos_token_id (the first, when it lists several). */
  eosTokenId: number | null;
  /** Every BOS, EOS and padding id config.json names: special tokens that summaries leave out. */
  specialTokenIds: number[];
  /** dtype of the stored weights (F32, F16, BF16). */
  weightDtype: string;
}

/** A Hugging Face config.json, as parsed JSON. */
export type HfConfig = Record<string, unknown>;

export interface ArchitectureAdapter {
  /** The `model_type` this adapter reads (also its registry key). */
  name: string;
  /** Human name of the family, for listings and messages. */
  family: string;
  /** `architectures` values of config.json that this adapter accepts. */
  architectures: readonly string[];
  /** Translate and validate the config (no weights needed). */
  readDims(config: HfConfig, configPath: string): ModelDims;
  /** Map the model's tensors to their roles, checking names and shapes. */
  describe(config: HfConfig, configPath: string, weights: WeightIndex): TransformerSpec;
}
