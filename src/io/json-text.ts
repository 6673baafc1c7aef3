/**
 * JSON.parse with a bound on nesting. V8 parses `[[[[…]]]]` a million levels deep without
 * complaint, but everything that then walks the value recursively — JSON.stringify in a message,
 * a schema check, a tokenizer's config — overflows the call stack, long after the file was
 * read. Every JSON file the tool reads (results, fit, sweep and checkpoint files, model configs,
 * tokenizers, safetensors headers) goes through here: deeper than MAX_JSON_DEPTH is refused
 * before it is parsed (no file of ours, or of the Hugging Face formats, nests past a dozen).
 */

export const MAX_JSON_DEPTH = 100;

/** Thrown for text nested deeper than the bound; a SyntaxError, so "not JSON" handlers take it too. */
export class JsonTooDeepError extends SyntaxError {
  constructor(readonly maxDepth: number) {
    super(`it nests arrays or objects more than ${maxDepth} levels deep`);
  }
}

/** The deepest nesting of arrays and objects in `text` (strings skipped), stopping once past `limit`. */
function nestingDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i += 1; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth += 1;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth -= 1;
  }
  return deepest;
}

/** JSON.parse, refusing (JsonTooDeepError) text nested deeper than `maxDepth`. */
export function parseJson(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  if (nestingDepth(text, maxDepth) > maxDepth) throw new JsonTooDeepError(maxDepth);
  return JSON.parse(text) as unknown;
}
