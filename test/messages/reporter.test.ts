/** Progress that fits the terminal: one line, never wider than the terminal, redrawn in place; messages on lines of their own; a resumed run's counts. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createConsoleReporter, formatProgressLine } from '../../src/messages/reporter.js';
import { describeRun } from '../../src/cli/measure-command.js';

/** A terminal of `columns`: what was written, and the screen's lines as a terminal would show them (\r returns, ESC[K erases the rest). */
function terminal(columns: number) {
  let written = '';
  return {
    stream: { isTTY: true, columns, write: (text: string) => (written += text) },
    get written() {
      return written;
    },
    /** The lines on screen: each \r starts the line again, ESC[K clears what followed. */
    screen(): string[] {
      const lines: string[] = [''];
      for (const part of written.split(/(\r|\n|\x1b\[K)/)) {
        if (part === '\r' || part === '\x1b[K') {
          if (part === '\r') lines[lines.length - 1] = '';
        } else if (part === '\n') lines.push('');
        else lines[lines.length - 1] += part;
      }
      return lines;
    },
    /** Every state the current line was drawn in: the text between carriage returns. */
    draws(): string[] {
      return written
        .split(/\r|\n/)
        .map((part) => part.replaceAll('\x1b[K', ''))
        .filter((part) => part !== '');
    },
  };
}

const width = (text: string) => [...text].length;

describe('progress line', () => {
  it('never takes more than the terminal width less one column, whatever the label and counts', () => {
    const label = 'openai-community/gpt2-xl/model-00001-of-00002.safetensors';
    for (let columns = 10; columns <= 200; columns += 7) {
      for (const [current, total] of [
        [0, 6_431_878_936],
        [3_000_000_000, 6_431_878_936],
        [405_200, 405_200],
      ] as const) {
        const line = formatProgressLine(label, current, total, 'bytes', 8_456, columns);
        assert.ok(width(line) <= columns - 1, `${columns} columns: ${JSON.stringify(line)} is ${width(line)} wide`);
      }
    }
    assert.match(formatProgressLine('measuring (tokens)', 50, 100, 'items', 3, 80), /^measuring \(tokens\) █{12}░{12} 50\/100 eta 3s$/);
    // Narrow: the bar goes first, then the label is cut; the counts stay.
    assert.equal(formatProgressLine('measuring (tokens)', 50, 100, 'items', 3, 30), 'measuring (tok… 50/100 eta 3s');
    assert.equal(formatProgressLine('measuring (tokens)', 50, 100, 'items', 3, 33), 'measuring (tokens) 50/100 eta 3s');
    assert.equal(formatProgressLine('downloading a-very-long-name', 5, 10, 'items', undefined, 20), 'downloading a… 5/10');
  });

  it('shows where the work is after the label (a streamed run: chunk and block), each note replacing the last', () => {
    const screen = terminal(100);
    const reporter = createConsoleReporter({ quiet: false, stream: screen.stream });
    const progress = reporter.progress('measuring (tokens × blocks)', 1000, 'items');
    progress.note?.('chunk 1/2, block 3/22');
    progress.tick(500);
    progress.note?.('chunk 2/2, block 1/22');
    progress.done();
    const draws = screen.draws();
    assert.ok(
      draws.some((line) => line.startsWith('measuring (tokens × blocks), chunk 1/2, block 3/22 ')),
      draws.join('\n'),
    );
    assert.match(draws.at(-1)!, /^measuring \(tokens × blocks\), chunk 2\/2, block 1\/22 .* 500\/1000/);
  });

  it('redraws in place on a terminal: one line on screen while it runs, each state within the width', () => {
    const screen = terminal(60);
    const reporter = createConsoleReporter({ quiet: false, stream: screen.stream });
    const progress = reporter.progress('openai-community/gpt2-xl/model.safetensors', 6_431_878_936, 'bytes');
    for (let i = 0; i < 5; i += 1) {
      progress.tick(1_000_000_000);
      progress.carry?.(0);
    }
    assert.equal(screen.written.includes('\n'), false, 'no new line while it runs');
    progress.done();
    assert.deepEqual(screen.screen().length, 2, 'one line, then the end of it');
    for (const state of screen.draws()) assert.ok(width(state) <= 59, `${JSON.stringify(state)} fits 60 columns`);
  });

  it('puts a warning or a message on its own line and draws the progress again below it', () => {
    const screen = terminal(80);
    const reporter = createConsoleReporter({ quiet: false, stream: screen.stream });
    const progress = reporter.progress('measuring (tokens)', 100, 'items');
    progress.tick(40);
    reporter.warn('SIGINT: finishing the current batch, then stopping (send it again to stop at once)');
    reporter.info('resuming: 2 of 5 batches are done');
    const lines = screen.screen();
    assert.deepEqual(lines.slice(0, 2), [
      'warning: SIGINT: finishing the current batch, then stopping (send it again to stop at once)',
      'resuming: 2 of 5 batches are done',
    ]);
    assert.match(lines[2]!, /^measuring \(tokens\) .* 40\/100/, 'the progress line is below the messages, redrawn');
    progress.done();
    reporter.warn('after the progress');
    assert.equal(screen.screen().at(-2), 'warning: after the progress', 'once done, a message does not redraw it');
  });

  it('counts a resumed run’s saved work on the bar, from the start', () => {
    const screen = terminal(80);
    const progress = createConsoleReporter({ quiet: false, stream: screen.stream }).progress('measuring (tokens)', 405_200, 'items');
    progress.carry?.(43_010);
    progress.tick(362_190);
    progress.done();
    assert.match(screen.draws().at(-1)!, / 405200\/405200$/);
  });

  it('stays silent without a terminal and with --quiet, but warnings still show', () => {
    for (const [quiet, isTTY] of [
      [false, false],
      [true, true],
    ] as const) {
      let written = '';
      const reporter = createConsoleReporter({ quiet, stream: { isTTY, columns: 80, write: (text: string) => (written += text) } });
      const progress = reporter.progress('x', 10, 'items');
      progress.tick(5);
      progress.done();
      reporter.warn('w');
      assert.equal(written, 'warning: w\n');
    }
  });
});

describe('the final line of measure', () => {
  it('counts the whole run, saying how much came from the checkpoint of an interrupted one', () => {
    const tables = { tokens: { name: 'r.tokens.parquet', rows: 405_200 }, prompts: { name: 'r.prompts.parquet', rows: 500 } };
    assert.equal(
      describeRun({ tables, runtime: { device: 'cpu', threads: 2, seconds: 10, tokens: 405_200, tokensPerSecond: 40_520, resumedBatches: 0 } }),
      '500 prompts, 405200 tokens, 40520 tokens/s',
    );
    assert.equal(
      describeRun({ tables, runtime: { device: 'cpu', threads: 2, seconds: 10, tokens: 362_190, tokensPerSecond: 36_219, resumedBatches: 5 } }),
      '500 prompts, 405200 tokens (43010 of them from 5 batches saved before), 36219 tokens/s',
    );
  });
});
