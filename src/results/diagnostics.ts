/**
 * In-graph diagnostics of where the growth lives (`measure --diagnostics`): which exist, the
 * token-table (and prompts-table) columns each one adds (diagnostics-info.ts: how the results file records them). Column
 * names, kinds and order are decided here, once, for the graph, the packing, the tables, the
 * summaries and the figures: they spell a name only through the functions below. Each diagnostic's
 * parts are keyed by its name (its columns here, its graph part in graph/diagnostics-graph.ts), so
 * a diagnostic added to DIAGNOSTICS without them does not compile.
 *
 *   cosines  per token and layer, cosine of each block output with the stream it is added to
 *   massive  per token and layer, the largest |x_i| of resid_post and how much of ‖x‖ it holds
 *   massive-median  per token and layer, the largest |x_i| ÷ the median |x_i| of the token's own
 *           d_model channels (a selection over d_model per token and layer: it costs more, so it is apart)
 *   massive-sequence  per sequence and layer, Sun et al.'s massive activations (2024, main_llm.py
 *           exp2): the 3 largest |x| of resid_post over all tokens × channels of the sequence, the
 *           median |x| over the same, and how many pass their thresholds (in the prompts table)
 *   sinks    per token, layer and head, the attention the query puts on position 0, and on the
 *           first k positions (Xiao et al.'s attention sinks, k = 4 by default)
 *   heads    per token, layer and head, the norm of the head's write (TransformerLens's hook_result,
 *           value biases folded into b_O as from_pretrained does, unless asked otherwise)
 *   lens     per token and stream (embeddings, then after each block), the logit lens: entropy of
 *           the next-token distribution through the final norm and the unembedding, and the
 *           rank of the actual next token (an unembedding per layer: it costs the most)
 */

export const DIAGNOSTICS = ['cosines', 'massive', 'massive-median', 'massive-sequence', 'sinks', 'heads', 'lens'] as const;
export type Diagnostic = (typeof DIAGNOSTICS)[number];

/** The shape of a model that decides which columns exist and how long their lists are. */
export interface DiagnosticShape {
  nLayers: number;
  nHeads: number;
  dModel: number;
  parallelResidual: boolean;
}

/**
 * How head writes treat the value biases (b_V, and after fold_ln the bias of ln1 through W_V):
 * 'folded' moves them into b_O, as TransformerLens's from_pretrained does by default
 * (fold_value_biases), so a head's write is z'_h·W_O,h with z' computed without them; 'unfolded'
 * keeps them in z (the module's own z, TransformerLens's fold_value_biases=False).
 */
export const HEAD_VALUE_BIASES = ['folded', 'unfolded'] as const;
export type HeadValueBiases = (typeof HEAD_VALUE_BIASES)[number];

/** Xiao et al. (StreamingLLM, 2023) keep the first 4 tokens as attention sinks. */
export const DEFAULT_SINK_TOKENS = 4;

export interface DiagnosticSelection {
  diagnostics: readonly Diagnostic[];
  /** Residual dimensions left out of `massive_norm_without` (only with `massive`). */
  massiveDims?: readonly number[];
  /** With `sinks`: the first k positions whose attention `sink_mass_first_<k>` sums (none when k = 1: sink_mass is position 0). */
  sinkTokens?: number;
  /** With `heads`: where the value biases go (absent: 'folded'). */
  headValueBiases?: HeadValueBiases;
}

/** Which block output is compared with which stream. */
export type CosinePair = 'attn_resid_pre' | 'mlp_resid_mid' | 'block_resid_pre';

/**
 * Sun et al.'s thresholds ("Massive Activations in Large Language Models", 2024, §2): an
 * activation is massive when its magnitude exceeds 100 and is about 1,000 times the median
 * magnitude of its hidden state; counted here as |x| > 100 and |x| ≥ 1,000 × the sequence's median.
 */
export const SUN_THRESHOLDS = { magnitude: 100, timesMedian: 1000 } as const;

/** Sun et al.'s per-sequence statistics, in column order (prompts table: massive_seq_<statistic>). */
export const SEQUENCE_MASSIVE_STATISTICS = ['top1', 'top2', 'top3', 'median', 'ratio', 'count'] as const;
export type SequenceMassiveStatistic = (typeof SEQUENCE_MASSIVE_STATISTICS)[number];

const SEQUENCE_MASSIVE_TEXT: Record<SequenceMassiveStatistic, string> = {
  top1: 'largest |x| of resid_post over every token × channel of the sequence (Sun et al.)',
  top2: 'second largest |x| over the same',
  top3: 'third largest |x| over the same',
  median: "median |x| over the same (torch.median: the lower middle value, as Sun et al.'s code takes it)",
  ratio: 'top1 ÷ median: the ratio Sun et al. call about 1,000 for a massive activation',
  count: `activations with |x| > ${SUN_THRESHOLDS.magnitude} and |x| ≥ ${SUN_THRESHOLDS.timesMedian} × the median (Sun et al.'s massive activations)`,
};

/** One token-table column of a diagnostic: a list of `length` values per token. */
export interface DiagnosticColumn {
  name: string;
  diagnostic: Diagnostic;
  kind: 'float32-list' | 'int32-list';
  /**
   * nLayers, or nLayers × nHeads (layer-major: layer l, head h at l × nHeads + h), or for the
   * lens nLayers + 1 (index i: the stream after i blocks, see LENS_COLUMNS).
   */
  length: number;
  /** Values per layer: 1, or nHeads. */
  perLayer: number;
  description: string;
  /**
   * The summaries count a token only from this position on (sink_mass_first_<k>: k, since a
   * query below k sees only the first k positions and puts all its attention there). Absent: 0.
   */
  summarizedFrom?: number;
}

/** Massive-activation statistics in column order (`massive_norm_without` follows when dims are given). */
export const MASSIVE_STATISTICS = ['max', 'dim', 'top1_share', 'top10_share'] as const;
export type MassiveStatistic = (typeof MASSIVE_STATISTICS)[number] | 'norm_without';

/**
 * The logit lens's columns. Index i of their lists is the residual stream after i blocks:
 * i = 0 the embeddings (resid_pre of block 0), i = l + 1 resid_post of block l, and the last
 * (i = nLayers) the model's own output. `lens_next_rank` is LENS_NO_NEXT where the token has no
 * next token in its sequence (the last one).
 */
export const LENS_COLUMNS = { entropy: 'lens_entropy', rank: 'lens_next_rank' } as const;
/** `lens_next_rank` of a token with no next token (the last of its sequence). */
export const LENS_NO_NEXT = -1;

/** The column of each massive-activation statistic, e.g. massive_max. */
export function massiveColumn(statistic: MassiveStatistic): string {
  return `massive_${statistic}`;
}

/** The largest |x_i| ÷ the median |x_i| of a token's own channels (massive-median). */
export const MASSIVE_MEDIAN_COLUMN = 'massive_median_ratio';

/** The prompts-table column of each of Sun et al.'s per-sequence statistics, e.g. massive_seq_count. */
export function sequenceMassiveColumn(statistic: SequenceMassiveStatistic): string {
  return `massive_seq_${statistic}`;
}

/** The attention of a query on position 0, per head (sinks). */
export const SINK_MASS_COLUMN = 'sink_mass';

/** The norm of a head's write into the residual, per head (heads). */
export function headWriteColumn(metric: 'raw' | 'centered'): string {
  return `head_write_${metric}`;
}

/** The column of the attention on the first k positions (k > 1), e.g. sink_mass_first_4. */
export function sinkPrefixColumn(sinkTokens: number): string {
  return `sink_mass_first_${sinkTokens}`;
}

/** Cosine pairs of a model: parallel blocks add attn_out + mlp_out to resid_pre together. */
export function cosinePairs(parallelResidual: boolean): CosinePair[] {
  return parallelResidual ? ['attn_resid_pre', 'block_resid_pre'] : ['attn_resid_pre', 'mlp_resid_mid'];
}

export function cosineColumn(pair: CosinePair, metric: 'raw' | 'centered'): string {
  return `cos_${pair}_${metric}`;
}

const COSINE_TEXT: Record<CosinePair, string> = {
  attn_resid_pre: 'cosine of attn_out with resid_pre',
  mlp_resid_mid: 'cosine of mlp_out with resid_mid',
  block_resid_pre: 'cosine of attn_out + mlp_out with resid_pre (parallel blocks)',
};

const MASSIVE_TEXT: Record<MassiveStatistic, string> = {
  max: 'largest |x_i| of resid_post',
  dim: 'its dimension i (0-based)',
  top1_share: 'share of ‖x‖² held by the largest dimension',
  top10_share: 'share of ‖x‖² held by the 10 largest dimensions',
  norm_without: '‖x‖ (raw) with the --massive-dims dimensions set to 0',
};

/** Every column the selection adds to the tokens table, in table order. */
export function diagnosticColumns(selection: DiagnosticSelection, shape: DiagnosticShape): DiagnosticColumn[] {
  const { nLayers, nHeads } = shape;
  const perLayer = (name: string, diagnostic: Diagnostic, description: string, kind: DiagnosticColumn['kind'] = 'float32-list'): DiagnosticColumn => ({
    name,
    diagnostic,
    kind,
    length: nLayers,
    perLayer: 1,
    description,
  });
  const perHead = (name: string, diagnostic: Diagnostic, description: string): DiagnosticColumn => ({
    name,
    diagnostic,
    kind: 'float32-list',
    length: nLayers * nHeads,
    perLayer: nHeads,
    description,
  });
  // Each diagnostic's token-table columns, keyed by its name: one left out does not compile.
  const columnsOf: Record<Diagnostic, () => DiagnosticColumn[]> = {
    cosines: () =>
      cosinePairs(shape.parallelResidual).flatMap((pair) =>
        (['raw', 'centered'] as const).map((metric) => perLayer(cosineColumn(pair, metric), 'cosines', `${COSINE_TEXT[pair]} (${metric})`)),
      ),
    massive: () => {
      const statistics: MassiveStatistic[] = [
        ...MASSIVE_STATISTICS,
        ...(selection.massiveDims && selection.massiveDims.length > 0 ? (['norm_without'] as const) : []),
      ];
      return statistics.map((statistic) =>
        perLayer(massiveColumn(statistic), 'massive', MASSIVE_TEXT[statistic], statistic === 'dim' ? 'int32-list' : 'float32-list'),
      );
    },
    'massive-median': () => [perLayer(MASSIVE_MEDIAN_COLUMN, 'massive-median', 'largest |x_i| ÷ median |x_i| of resid_post')],
    'massive-sequence': () => [], // per sequence: the prompts table's (sequenceDiagnosticColumns)
    sinks: () => {
      const k = selection.sinkTokens ?? DEFAULT_SINK_TOKENS;
      const first = perHead(SINK_MASS_COLUMN, 'sinks', "attention of the token's query on position 0, per head");
      if (k === 1) return [first];
      return [
        first,
        {
          ...perHead(
            sinkPrefixColumn(k),
            'sinks',
            `attention of the token's query on positions 0…${k - 1} together, per head (0 on keys outside a local window)`,
          ),
          summarizedFrom: k,
        },
      ];
    },
    heads: () => {
      const biases = (selection.headValueBiases ?? 'folded') === 'folded' ? 'value biases folded into b_O, as TransformerLens does' : 'value biases kept in z';
      return [
        perHead(headWriteColumn('raw'), 'heads', `‖z_h·W_O,h‖, the head's write into the residual (no b_O; ${biases})`),
        perHead(headWriteColumn('centered'), 'heads', `the same write, centered (as TransformerLens centers W_O; ${biases})`),
      ];
    },
    lens: () => {
      const perStream = (name: string, kind: DiagnosticColumn['kind'], description: string): DiagnosticColumn => ({
        name,
        diagnostic: 'lens',
        kind,
        length: nLayers + 1,
        perLayer: 1,
        description,
      });
      return [
        perStream(
          LENS_COLUMNS.entropy,
          'float32-list',
          'entropy (nats) of the next-token distribution through the final norm and the unembedding, after 0…nLayers blocks',
        ),
        perStream(
          LENS_COLUMNS.rank,
          'int32-list',
          `rank of the actual next token among the logits (0 = top; logits strictly greater counted), ${LENS_NO_NEXT} for the last token`,
        ),
      ];
    },
  };
  return DIAGNOSTICS.filter((d) => selection.diagnostics.includes(d)).flatMap((diagnostic) => columnsOf[diagnostic]());
}

/**
 * The columns the selection adds to the prompts table: values per sequence (one list per
 * column, `length` values: one per layer), computed over every measured token of the sequence
 * (position 0 and special tokens included; the padding of a batch never).
 */
export function sequenceDiagnosticColumns(selection: DiagnosticSelection, shape: Pick<DiagnosticShape, 'nLayers'>): DiagnosticColumn[] {
  if (!selection.diagnostics.includes('massive-sequence')) return [];
  return SEQUENCE_MASSIVE_STATISTICS.map((statistic) => ({
    name: sequenceMassiveColumn(statistic),
    diagnostic: 'massive-sequence' as const,
    kind: statistic === 'count' ? ('int32-list' as const) : ('float32-list' as const),
    length: shape.nLayers,
    perLayer: 1,
    description: SEQUENCE_MASSIVE_TEXT[statistic],
  }));
}
