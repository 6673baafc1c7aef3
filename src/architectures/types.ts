/**
 * What an architecture adapter produces: a TransformerSpec, a plain description of one model
 * (its shape, which tensor plays which role, which variant of each part, and what the model
 * does to a tensor or a value before use). Differences between families live in this data; the
 * graph (src/graph/block-recipe.ts) and the weight analysis (src/weights/) read it and never ask
 * which family they have.
 */
import type { TensorInfo, WeightIndex } from '../models/index.js';
import type { WeightProcessing } from '../results/weights-schema.js';
import type { NormMetric } from '../vocabulary/hooks.js';

export interface ModelDims {
  nLayers: number;
  dModel: number;
  nHeads: number;
  /** Key/value heads (grouped-query attention); equals nHeads otherwise. */
  nKvHeads: number;
  /** Width of one head; Llama and Gemma configs may set it apart from dModel / nHeads. */
  dHead: number;
  /** Hidden size of the MLP. */
  dMlp: number;
  dVocab: number;
  nCtx: number;
}

/**
 * A stored tensor and what the model does to it before use: every value becomes
 * (stored + offset) · scale, in float32. Elementwise, so it commutes with any row or column
 * selection (an embedding lookup, the v part of a fused q/k/v): a reader may select first.
 * Read through one function in the graph (GraphContext.weight) and one in the weight analysis
 * (readTensorRef in src/weights/block-values.ts), so no reader can see the stored values by mistake.
 */
export interface TensorRef {
  tensor: TensorInfo;
  /** Added to every stored value (Gemma's RMSNorm gain is 1 + w). Absent: 0. */
  offset?: number;
  /** Multiplies every value, after the offset (Gemma's embeddings × √d_model). Absent: 1. */
  scale?: number;
  /**
   * Only rows start … start + count − 1 of the stored tensor's first axis are this tensor: one
   * part of a fused tensor (Phi-3's gate_up_proj holds the gate's rows, then the up projection's).
   * Absent: the whole stored tensor.
   */
  rows?: TensorRows;
}

export interface TensorRows {
  start: number;
  count: number;
}

/** GPT-2's Conv1D stores [in, out]; torch nn.Linear stores [out, in]. */
export type WeightLayout = 'in_out' | 'out_in';

export interface LinearWeights {
  weight: TensorRef;
  layout: WeightLayout;
  bias?: TensorRef;
}

export type NormKind = 'layernorm' | 'rmsnorm';

export interface NormWeights {
  kind: NormKind;
  /**
   * The gain as the model applies it (an offset in the reference for Gemma's 1 + w); absent for
   * a norm without parameters (OLMo's LayerNorm has neither weight nor bias): a gain of 1.
   */
  weight?: TensorRef;
  bias?: TensorRef;
  eps: number;
}

/**
 * A norm of the queries and of the keys, applied after their projections (and after qkvClip)
 * and before rotary. 'per-head': over each head's dHead features, one gain of [dHead] shared by
 * every head (Qwen3, Gemma 3); 'projection': over the whole projection, gains of [nHeads·dHead]
 * and [nKvHeads·dHead] (OLMo-2).
 */
export interface QkNorm {
  kind: 'per-head' | 'projection';
  q: NormWeights;
  k: NormWeights;
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
  | { kind: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalContext: number }
  /**
   * LongRoPE (Phi-3/3.5/4 long-context models) in its short regime: frequency i divided by
   * shortFactors[i], and cos and sin times attentionFactor. transformers switches to its long
   * factors once a batch passes originalContext tokens, so a model with it runs at most that many.
   */
  | { kind: 'longrope'; shortFactors: number[]; attentionFactor: number; originalContext: number };

export interface RotarySpec {
  /** Leading dimensions of each head that are rotated (partial rotary when < dHead). */
  rotaryDims: number;
  base: number;
  scaling?: RopeScaling;
  /**
   * Which features turn together by the angle of frequency i: absent, feature i with feature
   * i + rotaryDims/2 (rotate_half: GPT-NeoX, Llama and most families); 'interleaved', feature 2i
   * with feature 2i + 1 (GPT-J's rotate_every_two).
   */
  pairing?: 'interleaved';
}

export interface AttentionSpec {
  qkv: QkvProjection;
  out: LinearWeights;
  /** Factor applied to q·k (1/√dHead usually; 1 for GPT-Neo; 1/√query_pre_attn_scalar for Gemma 2). */
  scale: number;
  /**
   * Soft-cap of the scaled scores before the mask: cap · tanh(score / cap) (Gemma 2's
   * attn_logit_softcapping). Absent: none.
   */
  scoreSoftCap?: number;
  /** Local attention: a window of W lets a token see W keys, itself included (i − W < j ≤ i). */
  window?: number;
  /** Queries, keys and values clamped to [−clip, clip] right after their projections (OLMo's clip_qkv). Absent: none. */
  qkvClip?: number;
  /** Norms of the queries and keys before rotary (Qwen3, Gemma 3, OLMo-2). Absent: none. */
  qkNorm?: QkNorm;
  rotary?: RotarySpec;
}

export type Activation = 'gelu_new' | 'gelu' | 'relu' | 'silu';

export interface DenseMlpSpec {
  kind: 'dense';
  in: LinearWeights;
  out: LinearWeights;
  activation: Activation;
}

export interface GatedMlpSpec {
  kind: 'gated';
  gate: LinearWeights;
  up: LinearWeights;
  down: LinearWeights;
  activation: Activation;
}

/** An MLP one expert of a mixture is. */
export type ExpertMlpSpec = DenseMlpSpec | GatedMlpSpec;

/**
 * A sparse mixture of experts (Mixtral's block_sparse_moe): the router's logits x·W_routerᵀ give
 * each token its topK experts, and the MLP's output is Σ over them of weight · expert(x). The
 * weights are softmax(logits) at those experts, renormalised to sum to 1 over them when
 * normalizeTopK (Mixtral: the softmax of the top-k logits), as they are otherwise. Exact
 * whatever the graph computes: an expert no token chose contributes nothing.
 */
export interface MoeMlpSpec {
  kind: 'moe';
  /** [nExperts, dModel] as nn.Linear stores it (Mixtral's block_sparse_moe.gate). */
  router: LinearWeights;
  experts: ExpertMlpSpec[];
  /** Experts per token (num_experts_per_tok). */
  topK: number;
  /** Renormalise the top k's softmax weights to sum to 1 (Mixtral; Qwen2-MoE's norm_topk_prob). */
  normalizeTopK: boolean;
}

export type MlpSpec = DenseMlpSpec | GatedMlpSpec | MoeMlpSpec;

/**
 * One block. Which norms exist follows the model's norm placement (ModelShape.normPlacement):
 * 'pre' has norm1 and norm2, 'sandwich' all four, 'post' only norm1Post and norm2Post.
 */
export interface BlockSpec {
  /** Norm of the residual before attention (TransformerLens's ln1); absent with post-only norms. */
  norm1?: NormWeights;
  /** Norm of the residual before the MLP (ln2); for parallel residual it reads the block input. */
  norm2?: NormWeights;
  /** Norm of attention's output before the residual add (Gemma 2's post_attention_layernorm; TransformerLens's ln1_post). */
  norm1Post?: NormWeights;
  /** Norm of the MLP's output before the residual add (post_feedforward_layernorm; ln2_post). */
  norm2Post?: NormWeights;
  attention: AttentionSpec;
  mlp: MlpSpec;
}

/**
 * The model's own output head, which the logit lens reads (`measure --diagnostics lens`):
 * logits = softCap(finalNorm(x) · W_Uᵀ + b_U).
 */
export interface OutputHead {
  /** ln_f, model.norm, final_layer_norm; absent when the model applies none (OPT with _remove_final_layer_norm). */
  finalNorm?: NormWeights;
  /** W_U, [dVocab, dModel] as nn.Linear stores it: the token embedding itself when tied. */
  unembedding: TensorRef;
  /** Whether W_U is the token embedding (tie_word_embeddings, or a Llama checkpoint without lm_head). */
  tied: boolean;
  /** b_U [dVocab], added to every logit (Phi's and GPT-J's lm_head.bias). Absent: none. */
  bias?: TensorRef;
  /** cap · tanh(logit / cap) on every logit (Gemma 2's final_logit_softcapping). Absent: none. */
  logitSoftCap?: number;
}

/**
 * Where a block's norms sit: 'pre' before each sub-block (GPT-2, Llama), 'sandwich' before it and
 * on its output before the residual add (Gemma 2), 'post' only on its output (OLMo-2).
 */
export type NormPlacement = 'pre' | 'sandwich' | 'post';

/**
 * How TransformerLens processes this model by default, and so which norm the reference analysis
 * measured: decided once per model (src/architectures/conventions.ts) and read by measure,
 * mechanisms and weights, never decided again.
 */
export interface NormConvention {
  /** The norm comparable to the reference analysis: measure's primary metric and the metric of mechanisms. */
  metric: NormMetric;
  /** Why (a results file's options.primaryMetricReason). */
  reason: string;
  /** The same rule, said of what blocks write (a mechanisms file's options.metricReason). */
  mechanismsReason: string;
  /** The normalisation random and resampled vectors pass through (a mechanisms file's options.normalization). */
  mechanismsNormalization: string;
  /** TransformerLens's default weight processing (a weights file's `processed` variant). */
  weightProcessing: WeightProcessing;
  /** Why `processed` is the primary variant (a weights file's options.primaryVariantReason). */
  weightsReason: string;
}

/**
 * What config.json alone says of a model: enough to check every flag (hooks, diagnostics,
 * token ids, lengths) before a weight is downloaded. A TransformerSpec is this plus tensors.
 */
export interface ModelShape {
  /** Registry name of the adapter that described the model. */
  architecture: string;
  dims: ModelDims;
  /** The kind of every norm of the model. */
  normalization: NormKind;
  normPlacement: NormPlacement;
  /** attn and MLP both read the block input and add to it (GPT-NeoX, GPT-J): no resid_mid. */
  parallelResidual: boolean;
  convention: NormConvention;
  bosTokenId: number | null;
  /** config.json's eos_token_id (the first, when it lists several). */
  eosTokenId: number | null;
  /** Every BOS, EOS and padding id config.json names: special tokens that summaries leave out. */
  specialTokenIds: number[];
}

export interface TransformerSpec extends ModelShape {
  /** [dVocab, dModel], with what the model does to a looked-up row (Gemma: × √d_model); resid_pre of block 0 is that. */
  tokenEmbedding: TensorRef;
  /** Learned absolute positions [nCtx + offset, dModel]; OPT's table starts at offset 2. */
  positionEmbedding?: { weight: TensorRef; offset: number };
  blocks: BlockSpec[];
  /**
   * The final norm and unembedding, or why the model's files do not give them. Only the logit
   * lens reads them, so a model without them (or with misshapen ones) still measures norms.
   */
  outputHead: OutputHead | { unavailable: string };
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
  /** Translate and validate the config alone (no weights needed): what every flag is checked against. */
  readShape(config: HfConfig, configPath: string): ModelShape;
  /** Map the model's tensors to their roles, checking names and shapes; its shape equals readShape's. */
  describe(config: HfConfig, configPath: string, weights: WeightIndex): TransformerSpec;
}
