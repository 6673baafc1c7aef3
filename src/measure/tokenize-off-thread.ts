/**
 * Tokenize text prompts in a worker thread (./tokenize-worker.ts) with a deadline per prompt, so
 * that a tokenizer.json whose pre-tokenizer regex backtracks catastrophically stops with a
 * message naming the prompt instead of running forever, and SIGINT/SIGTERM still stop the run
 * (the main thread stays free to take them). The deadline is RESID_NORMS_TOKENIZE_TIMEOUT_MS
 * (default 30 s) per prompt, the tokenizer's loading included; ordinary prompts take
 * milliseconds, cut to about 16 characters per token of --max-tokens first.
 */
import { Worker } from 'node:worker_threads';
import { InputError, InterruptedError, UsageError, quote } from '../errors.js';
import { stopReason } from '../io/interrupt.js';
import type { TokenizeJob, TokenizeMessage } from './tokenize-worker.js';

export const DEFAULT_TOKENIZE_TIMEOUT_MS = 30_000;

export interface Encoded {
  ids: number[];
  tokens: string[];
  /** The text tokenized: the prompt, or the prefix it was cut to. */
  text: string;
}

export interface OffThreadOptions {
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Names prompt i of `texts` in messages ("prompt 3 (line 7)"). */
  describe: (index: number) => string;
}

export function tokenizeTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.RESID_NORMS_TOKENIZE_TIMEOUT_MS;
  if (text === undefined || text === '') return DEFAULT_TOKENIZE_TIMEOUT_MS;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1 || value > 86_400_000)
    throw new UsageError(`RESID_NORMS_TOKENIZE_TIMEOUT_MS is ${quote(text)}; give milliseconds from 1 to 86400000`);
  return value;
}

/** The encoding of each of `texts` by the tokenizer of `dir`, at most `budget` tokens each. */
export function encodeOffThread(dir: string, texts: readonly string[], budget: number, options: OffThreadOptions): Promise<Encoded[]> {
  if (texts.length === 0) return Promise.resolve([]);
  const timeoutMs = tokenizeTimeoutMs(options.env);
  const job: TokenizeJob = { dir, texts: [...texts], budget };
  return new Promise<Encoded[]>((resolve, reject) => {
    const results: Encoded[] = new Array(texts.length);
    let next = 0; // the prompt being tokenized now
    let settled = false;
    const worker = new Worker(new URL('./tokenize-worker.js', import.meta.url), { workerData: job });
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      if (error) reject(error);
      else resolve(results);
    };
    const onTimeout = () =>
      finish(
        new InputError(
          next === 0 && results[0] === undefined && !ready
            ? `loading the tokenizer of ${quote(dir)} took more than ${timeoutMs / 1000} s; raise RESID_NORMS_TOKENIZE_TIMEOUT_MS if it is that slow`
            : `tokenizing ${options.describe(next)} took more than ${timeoutMs / 1000} s, so it was stopped: the tokenizer's pre-tokenizer (a regular expression of tokenizer.json) likely backtracks catastrophically on it; fix the tokenizer or the prompt, or raise RESID_NORMS_TOKENIZE_TIMEOUT_MS`,
        ),
      );
    let timer = setTimeout(onTimeout, timeoutMs);
    let ready = false;
    const onAbort = () =>
      finish(
        new InterruptedError(
          `${stopReason(options.signal!)} while tokenizing the prompts, before any batch ran; nothing was measured or saved: run the same command again`,
        ),
      );
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (message: TokenizeMessage) => {
      clearTimeout(timer);
      timer = setTimeout(onTimeout, timeoutMs);
      if (message.kind === 'ready') ready = true;
      else if (message.kind === 'failed') finish(new InputError(`cannot tokenize the prompts with the tokenizer of ${quote(dir)}: ${message.message}`));
      else {
        results[message.index] = { ids: message.ids, tokens: message.tokens, text: message.text ?? texts[message.index]! };
        next = message.index + 1;
        if (next === texts.length) finish();
      }
    });
    worker.on('error', (error) => finish(error));
    worker.on('exit', (code) => finish(new Error(`the tokenizer's worker thread ended (code ${code}) before every prompt was tokenized`)));
  });
}
