import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSilentReporter } from '../../src/messages/reporter.js';
import { analyzeWeights } from '../../src/commands/weights.js';
import { InputError } from '../../src/errors.js';
import { readWeightsFile } from '../../src/results/read-weights.js';
import type { WeightsFile } from '../../src/results/weights-schema.js';
import { syntheticMeasurement } from '../support/synthetic-measurement.js';
import { writeTinyGpt2 } from '../support/tiny-gpt2.js';

describe('reading weights files', () => {
  let dir: string;
  let valid: WeightsFile;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-read-weights-'));
    const tiny = await writeTinyGpt2(join(dir, 'tiny'), { nLayers: 2, dModel: 8, nHeads: 2, nCtx: 8 });
    valid = (await analyzeWeights({ model: tiny.dir, outPath: join(dir, 'valid.json'), refresh: false }, createSilentReporter())).weights;
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const write = async (name: string, content: unknown): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
  const refuses = async (path: string, pattern: RegExp): Promise<void> => {
    await assert.rejects(readWeightsFile(path), (error: Error) => error instanceof InputError && pattern.test(error.message) && !error.message.includes('\n'));
  };

  it('reads back what weights wrote', async () => {
    assert.deepEqual(await readWeightsFile(join(dir, 'valid.json')), JSON.parse(JSON.stringify(valid)));
  });

  it('refuses every kind of bad file with one line', async () => {
    const copy = (): WeightsFile => JSON.parse(JSON.stringify(valid)) as WeightsFile;
    await refuses(join(dir, 'none.json'), /cannot read weights file ".*none\.json": no such file/);
    await refuses(await write('text.json', 'layer 0'), /is not JSON; give a weights file written by `resid-norms weights`/);
    await refuses(
      await write('measurement.json', syntheticMeasurement({ nLayers: 2 })),
      /is not a resid-norms weights file \(format "resid-norms\/measurement"; expected format "resid-norms\/weights"\)/,
    );
    await refuses(await write('v9.json', { ...copy(), version: 9 }), /has weights version 9, which this resid-norms does not know; supported: 1/);
    const negative = copy();
    negative.layers[1]!.processed.W_OV = -1;
    await refuses(await write('negative.json', negative), /not a valid weights file: layers\[1\]\.processed\.W_OV: /);
    const short = copy();
    short.layers.pop();
    await refuses(await write('short.json', short), /"layers" has 1 entries; the model has 2 layers/);
    const heads = copy();
    heads.layers[0]!.heads.raw.W_OV.push(1);
    await refuses(await write('heads.json', heads), /layers\[0\]\.heads\.raw\.W_OV has 3 values; expected 2 \(one per head\)/);
  });
});
