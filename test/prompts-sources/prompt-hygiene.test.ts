/**
 * Issue 16, class 9: prompt files as people save them. A UTF-8 byte-order mark is not part of
 * the first prompt (text or JSONL); invalid UTF-8 is refused with its line; a line of megabytes
 * is cut before tokenizing, so time and the stored text are bounded by --max-tokens.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError } from '../../src/errors.js';
import { decodeUtf8, readPromptFile } from '../../src/prompts-sources/prompt-file.js';
import { encodeBounded } from '../../src/measure/encode-bounded.js';
import { tokenizePrompts } from '../../src/measure/sequences.js';
import type { TextTokenizer } from '../../src/models/tokenizer-files.js';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** One token per character (ids = UTF-16 code units), counting how many characters it was given. */
function charTokenizer(): TextTokenizer & { seen: number } {
  const tokenizer = {
    seen: 0,
    encode(text: string) {
      tokenizer.seen += text.length;
      const ids = [...text].map((char) => char.charCodeAt(0) % 250);
      return { ids, tokens: [...text] };
    },
    decodeToken: (id: number) => String.fromCharCode(id),
    specialIds: new Set<number>([256]),
    tokenToId: () => undefined,
  };
  return tokenizer;
}

describe('prompt file hygiene', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-hygiene-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('drops a BOM before the first text prompt', async () => {
    await writeFile(join(dir, 'bom.txt'), Buffer.concat([BOM, Buffer.from('first\nsecond\n')]));
    const { prompts } = await readPromptFile(join(dir, 'bom.txt'));
    assert.deepEqual(prompts, [
      { line: 1, text: 'first' },
      { line: 2, text: 'second' },
    ]);
  });

  it('reads JSONL that starts with a BOM', async () => {
    await writeFile(join(dir, 'bom.jsonl'), Buffer.concat([BOM, Buffer.from('{"text": "first"}\n{"ids": [1, 2]}\n')]));
    const { prompts } = await readPromptFile(join(dir, 'bom.jsonl'));
    assert.deepEqual(prompts, [
      { line: 1, text: 'first' },
      { line: 2, ids: [1, 2] },
    ]);
  });

  it('keeps a BOM that is not at the start (it is text then)', () => {
    assert.equal(decodeUtf8(Buffer.from('a\n\uFEFFb'), 'p.txt'), 'a\n\uFEFFb');
  });

  for (const [name, bytes, line] of [
    ['a lone continuation byte on line 1', Buffer.from([0x80, 0x41]), 1],
    ['a truncated sequence at the end of line 2', Buffer.concat([Buffer.from('ok\nbad '), Buffer.from([0xe2, 0x82]), Buffer.from('\nok\n')]), 2],
    ['an overlong encoding on line 4', Buffer.concat([Buffer.from('1\n2\n3\n'), Buffer.from([0xc0, 0xaf]), Buffer.from('\n')]), 4],
    ['a UTF-16 surrogate encoded in UTF-8 on line 1', Buffer.from([0xed, 0xa0, 0x80]), 1],
  ] as const) {
    it(`refuses ${name}, naming the line`, () => {
      assert.throws(
        () => decodeUtf8(bytes, 'p.txt'),
        (error: unknown) => error instanceof InputError && error.message === `prompt file "p.txt" is not valid UTF-8 at line ${line}; save it as UTF-8`,
      );
    });
  }

  it('cuts a 5 MB line to a bounded prefix before tokenizing, and stores only what was tokenized', () => {
    const tokenizer = charTokenizer();
    const text = 'lorem ipsum '.repeat(450_000); // ~5.4 MB, one line
    const [sequence] = tokenizePrompts([{ line: 1, text }], tokenizer, { prependBos: true, bosTokenId: 256, maxTokens: 256, dVocab: 257 });
    assert.ok(tokenizer.seen <= 256 * 16, `tokenized ${tokenizer.seen} characters`);
    assert.equal(sequence!.ids.length, 256);
    assert.equal(sequence!.truncated, true);
    assert.ok(sequence!.text!.length <= 256 * 16 && text.startsWith(sequence!.text!), `stored ${sequence!.text!.length} characters`);
  });

  it('grows the prefix when its tokens are long, until it has enough or is the whole text', () => {
    // A tokenizer of 100 characters per token: the first prefix (16 per token) is too short.
    const tokenizer: TextTokenizer = {
      encode: (text) => {
        const ids = Array.from({ length: Math.ceil(text.length / 100) }, (_, i) => i % 200);
        return { ids, tokens: ids.map(String) };
      },
      decodeToken: String,
      specialIds: new Set(),
      tokenToId: () => undefined,
    };
    const long = encodeBounded(tokenizer, 'x'.repeat(1_000_000), 10);
    assert.ok(long.ids.length > 10 && long.text.length < 1_000_000, `${long.ids.length} ids from ${long.text.length} characters`);
    const short = encodeBounded(tokenizer, 'x'.repeat(500), 10);
    assert.equal(short.text.length, 500, 'a text shorter than the budget is tokenized whole');
  });

  it('never cuts between the halves of a surrogate pair', () => {
    const tokenizer = charTokenizer();
    const text = `${'a'.repeat(15)}😀${'b'.repeat(100)}`; // the emoji spans characters 15 and 16
    const { text: cut } = encodeBounded(tokenizer, text, 1);
    assert.equal(cut, 'a'.repeat(15));
  });
});
