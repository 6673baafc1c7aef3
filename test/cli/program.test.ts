/** The command catalog and lazy loading: each run loads the command it names, and only what that command uses. */
import assert from 'node:assert/strict';
import { Command, Help } from 'commander';
import { describe, it } from 'node:test';
import { processIo } from '../../src/cli/cli-io.js';
import { COMMANDS } from '../../src/cli/command-catalog.js';
import { namedCommand } from '../../src/cli/program.js';
import { packagesOf, runRecordingLoads } from '../support/loaded-modules.js';

const HEAVY = ['vega', 'vega-lite', 'onnxruntime-node', '@resvg/resvg-js', '@duckdb/node-api', 'zod', '@huggingface/hub', '@huggingface/tokenizers'];

describe('the command catalog', () => {
  for (const entry of COMMANDS) {
    it(`lists ${entry.name} with the help term its definition gives`, async () => {
      const created = new Command('resid-norms').command(entry.name);
      const command = (await entry.load()).define(created, processIo());
      assert.equal(command, created, 'define adds to the command it is given');
      assert.equal(new Help().subcommandTerm(command), entry.term);
    });
  }

  it('finds the command an argument list names, past global flags and through help', () => {
    assert.equal(namedCommand(['fit', 'a.json']), 'fit');
    assert.equal(namedCommand(['--quiet', '--debug', 'measure', '--model', 'gpt2']), 'measure');
    assert.equal(namedCommand(['help', 'plot']), 'plot');
    assert.equal(namedCommand(['--help']), undefined);
    assert.equal(namedCommand([]), undefined);
  });
});

describe('lazy loading', () => {
  for (const args of [['--version'], ['--help'], ['help']]) {
    it(`${args.join(' ')} loads no package but commander, and no command`, () => {
      const run = runRecordingLoads(args);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual([...packagesOf(run.modules)], ['commander']);
      assert.deepEqual(
        run.modules.filter((module) => module.startsWith('dist/src/commands/') || module.endsWith('-command.js')),
        [],
      );
    });
  }

  it('measure --help loads its own flags, not the measurement (no ONNX Runtime, DuckDB, vega, Hub client)', () => {
    const run = runRecordingLoads(['measure', '--help']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /--diagnostics/);
    const loaded = packagesOf(run.modules);
    assert.deepEqual(
      HEAVY.filter((name) => name !== 'zod' && loaded.has(name)),
      [],
    );
  });

  it('measure refusing its --model has not loaded DuckDB (prompt tables, the printed fit) nor the Hub client (Hub models)', () => {
    const run = runRecordingLoads(['measure', '--model', 'no-such-model-folder/', '--quiet']);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /no-such-model-folder/);
    const loaded = packagesOf(run.modules);
    assert.ok(loaded.has('onnxruntime-node'), 'the recorder sees what measure does load');
    assert.deepEqual(
      ['@duckdb/node-api', 'vega', 'vega-lite', '@resvg/resvg-js'].filter((name) => loaded.has(name)),
      [],
    );
    assert.deepEqual(
      run.modules.filter((module) => module.startsWith('dist/src/models/hub/') && !module.endsWith('/hub-settings.js')),
      [],
      'the Hub client is not loaded (its settings are read)',
    );
  });

  it('fit on a results file loads neither vega nor ONNX Runtime nor resvg', () => {
    const run = runRecordingLoads(['fit', 'examples/demo-gpt2.json', '--bootstrap', '0']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /resid_post/, 'the headline hook, by default');
    const loaded = packagesOf(run.modules);
    assert.ok(loaded.has('@duckdb/node-api'), 'the recorder sees the packages fit does use');
    assert.deepEqual(
      ['vega', 'vega-lite', 'onnxruntime-node', '@resvg/resvg-js'].filter((name) => loaded.has(name)),
      [],
    );
  });
});
