/**
 * The worker thread that tokenizes text prompts (./tokenize-off-thread.ts starts it): a
 * tokenizer's pre-tokenizer is a regular expression from tokenizer.json, and one that
 * backtracks catastrophically would otherwise hold the main thread — and with it every signal
 * handler — for as long as it runs. Here it runs beside the main thread, which keeps a deadline
 * per prompt and stops this thread when it passes or when the run is stopped.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadTokenizer } from '../models/tokenizer-files.js';
import { encodeBounded } from './encode-bounded.js';

export interface TokenizeJob {
  dir: string;
  texts: string[];
  /** Most tokens kept of each prompt (see encodeBounded). */
  budget: number;
}

export type TokenizeMessage =
  | { kind: 'ready' }
  | { kind: 'encoded'; index: number; ids: number[]; tokens: string[]; text?: string }
  | { kind: 'failed'; message: string };

const post = (message: TokenizeMessage) => parentPort!.postMessage(message);

try {
  const { dir, texts, budget } = workerData as TokenizeJob;
  const tokenizer = await loadTokenizer(dir);
  if (tokenizer === undefined) throw new Error(`${dir} has no tokenizer`);
  post({ kind: 'ready' });
  texts.forEach((text, index) => {
    const encoded = encodeBounded(tokenizer, text, budget);
    post({ kind: 'encoded', index, ids: encoded.ids, tokens: encoded.tokens, ...(encoded.text === text ? {} : { text: encoded.text }) });
  });
} catch (error) {
  post({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
}
