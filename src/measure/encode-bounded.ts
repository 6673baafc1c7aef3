/**
 * Encoding one prompt in bounded time and memory, whatever its length: shared by the main thread
 * (sequences.ts) and the tokenizer's worker thread (tokenize-worker.ts).
 */
import type { TextTokenizer } from '../models/tokenizer-files.js';

/** Characters per token assumed at first when cutting a long prompt before tokenizing (grown ×4 when too few). */
const CHARS_PER_TOKEN = 16;

/**
 * Encode at most about `budget` tokens' worth of `text`: a prompt of megabytes is cut to a
 * prefix before tokenizing (the tokens past the limit would be dropped anyway), so time and
 * memory stay bounded by --max-tokens, not by the file. The prefix grows until it yields more
 * than `budget` tokens or is the whole text. Returns the text actually tokenized.
 */
export function encodeBounded(tokenizer: TextTokenizer, text: string, budget: number): { ids: number[]; tokens: string[]; text: string } {
  for (let limit = Math.max(budget, 1) * CHARS_PER_TOKEN; ; limit *= 4) {
    if (text.length <= limit) return { ...tokenizer.encode(text), text };
    let end = limit;
    const last = text.charCodeAt(end - 1);
    if (last >= 0xd800 && last <= 0xdbff) end -= 1; // never split a surrogate pair
    const prefix = text.slice(0, end);
    const encoded = tokenizer.encode(prefix);
    if (encoded.ids.length > budget) return { ...encoded, text: prefix };
  }
}
