import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError } from '../../src/errors.js';
import { parseJsonLines, parseTextLines, readPromptFile } from '../../src/prompts-sources/prompt-file.js';

describe('prompt files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-prompts-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('reads one prompt per line, skipping blank lines and # comments, keeping line numbers', () => {
    const prompts = parseTextLines('# header\nfirst prompt  \n\n   \nsecond prompt\n#another\nthird\n');
    assert.deepEqual(prompts, [
      { line: 2, text: 'first prompt' },
      { line: 5, text: 'second prompt' },
      { line: 7, text: 'third' },
    ]);
  });

  it('reads JSONL with text or ids', () => {
    const prompts = parseJsonLines('{"text": "hello"}\n\n{"ids": [1, 2, 3]}\n', 'p.jsonl');
    assert.deepEqual(prompts, [
      { line: 1, text: 'hello' },
      { line: 3, ids: [1, 2, 3] },
    ]);
  });

  it('names every bad JSONL line', () => {
    assert.throws(
      () => parseJsonLines('{"text": "ok"}\nnot json\n{"ids": [-1]}\n', 'p.jsonl'),
      (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.match(error.message, /line 2 is not JSON; line 3 is .*expected \{"text"/);
        return true;
      },
    );
  });

  it('hashes the file bytes and picks the format from the extension', async () => {
    const path = join(dir, 'p.jsonl');
    const content = '{"text": "a"}\n{"text": "b"}\n';
    await writeFile(path, content);
    const set = await readPromptFile(path);
    assert.equal(set.prompts.length, 2);
    assert.equal(set.sha256, createHash('sha256').update(content).digest('hex'));
  });

  it('refuses a prompt file with no prompts', async () => {
    const path = join(dir, 'empty.txt');
    await writeFile(path, '# only a comment\n\n');
    await assert.rejects(readPromptFile(path), /has no prompts/);
  });

  it('refuses a missing prompt file', async () => {
    await assert.rejects(readPromptFile(join(dir, 'nope.txt')), /cannot read prompt file .*no such file/);
  });
});
