/**
 * The hook vocabulary: TransformerLens's hook points and the two norm metrics. These words name
 * graph outputs, file fields, table columns and flag values alike, so they are defined once, here,
 * in a module that imports nothing (the CLI reads them to build its flags without loading zod).
 */

/** TransformerLens hook points, in forward-pass order within a block. */
export const HOOK_NAMES = ['resid_pre', 'attn_out', 'resid_mid', 'mlp_out', 'resid_post'] as const;
export type HookName = (typeof HOOK_NAMES)[number];

/** `centered` = ‖x − mean(x)‖₂ (TransformerLens-comparable for LayerNorm models); `raw` = ‖x‖₂. */
export const NORM_METRICS = ['centered', 'raw'] as const;
export type NormMetric = (typeof NORM_METRICS)[number];

/**
 * The headline: the reference analysis's number is the growth of resid_post (its primary metric,
 * mean over tokens), so that is what `measure` prints, `fit` fits by default, `sweep` summarizes,
 * the growth figure draws and the report opens with. A file measured without resid_post falls
 * back on resid_pre, then on its first hook.
 */
export const HEADLINE_HOOK: HookName = 'resid_post';

export function headlineHook(hooks: readonly HookName[]): HookName {
  return hooks.includes(HEADLINE_HOOK) ? HEADLINE_HOOK : hooks.includes('resid_pre') ? 'resid_pre' : (hooks[0] ?? HEADLINE_HOOK);
}
