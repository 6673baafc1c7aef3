/**
 * The repos of the reference analysis as the Hub really lays them out, with tiny models inside,
 * for the fake Hub (test/support/fake-hub.ts) to serve. The file lists are those of the real
 * repos (looked up from public listings for issue 25); the weights are tiny random models of
 * the same family, the other frameworks' files are stand-in bytes that must never be fetched:
 *   - facebook/opt-125m: pytorch_model.bin only (plus flax/tf), vocab.json + merges.txt, no tokenizer.json;
 *   - EleutherAI/pythia-12b: pytorch_model-0000{1..3}-of-00003.bin + pytorch_model.bin.index.json on
 *     main and on the checkpoint branch step3000 (other weights);
 *   - EleutherAI/pythia-1.4b: model.safetensors (F16) on main, two F32 safetensors shards + index on step3000;
 *   - openai-community/gpt2: model.safetensors beside pytorch_model.bin, tf, flax, rust, tflite and onnx files.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TensorInfo } from '../../src/models/safetensors.js';
import { readTensorValues, readWeightIndex } from '../../src/models/weight-index.js';
import { fakeSha, snapshotFromFolder, type FakeRepo, type FakeSnapshot } from './fake-hub.js';
import { writeSafetensors, type TensorToWrite } from './safetensors-writer.js';
import { writeTinyGpt2 } from './tiny-gpt2.js';
import { writeTinyGptNeox } from './tiny-gpt-neox.js';
import type { TinyModel } from './tiny-model.js';
import { byteVocabFiles } from './tiny-model.js';
import { writeTinyOpt } from './tiny-opt.js';
import { convertToPytorch } from './torch-model-folder.js';
import { END_OF_TEXT } from './tokenizers.js';

export const OPT_REPO = 'facebook/opt-125m';
export const PYTHIA_12B_REPO = 'EleutherAI/pythia-12b';
export const PYTHIA_1_4B_REPO = 'EleutherAI/pythia-1.4b';
export const GPT2_REPO = 'openai-community/gpt2';
export const CHECKPOINT_BRANCH = 'step3000';

/** Files of the real repos that hold no weights this tool reads (other frameworks, docs): stand-in bytes. */
const OTHER_FILES: Record<string, string[]> = {
  [OPT_REPO]: ['.gitattributes', 'LICENSE.md', 'README.md', 'flax_model.msgpack', 'generation_config.json', 'tf_model.h5'],
  [PYTHIA_12B_REPO]: ['.gitattributes', 'README.md'],
  [PYTHIA_1_4B_REPO]: ['.gitattributes', 'README.md'],
  [GPT2_REPO]: [
    '.gitattributes',
    '64-8bits.tflite',
    '64-fp16.tflite',
    '64.tflite',
    'README.md',
    'flax_model.msgpack',
    'generation_config.json',
    'rust_model.ot',
    'tf_model.h5',
    'onnx/decoder_model.onnx',
    'onnx/config.json',
  ],
};

export interface SeedRepos {
  repos: Map<string, FakeRepo>;
  /** The tiny model behind each repo and revision (`repo@revision`), for the references. */
  models: Map<string, TinyModel>;
}

async function withOtherFiles(repo: string, snapshot: FakeSnapshot): Promise<FakeSnapshot> {
  for (const name of OTHER_FILES[repo] ?? []) snapshot.files.set(name, Buffer.from(`stand-in for ${repo}/${name}; never downloaded\n`));
  return snapshot;
}

/** Bytes of a stored tensor as float32 data for the safetensors writer (boolean and byte buffers as 0/1 values). */
async function tensorData(info: TensorInfo): Promise<Float32Array> {
  if (['F32', 'F16', 'BF16'].includes(info.dtype)) return readTensorValues(info);
  const { open } = await import('node:fs/promises');
  const bytes = Buffer.alloc(info.byteLength);
  const handle = await open(info.file, 'r');
  await handle.read(bytes, 0, info.byteLength, info.byteOffset).finally(() => handle.close());
  return Float32Array.from(bytes);
}

/** Rewrite a folder's model.safetensors as `shards` shards + model.safetensors.index.json, as save_pretrained shards them. */
async function shardSafetensors(dir: string, shards: number): Promise<void> {
  const index = await readWeightIndex(dir);
  const tensors: TensorToWrite[] = [];
  for (const [name, info] of index.tensors)
    tensors.push({ name, shape: [...info.shape], data: await tensorData(info), dtype: info.dtype as TensorToWrite['dtype'] });
  await rm(join(dir, 'model.safetensors'));
  const perShard = Math.ceil(tensors.length / shards);
  const weightMap: Record<string, string> = {};
  for (let shard = 0; shard < shards; shard += 1) {
    const name = `model-${String(shard + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const part = tensors.slice(shard * perShard, (shard + 1) * perShard);
    await writeSafetensors(join(dir, name), part);
    for (const tensor of part) weightMap[tensor.name] = name;
  }
  await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: index.totalBytes }, weight_map: weightMap }, null, 2));
}

/** Pythia's tokenizer files besides tokenizer.json. */
async function pythiaTokenizerFiles(dir: string): Promise<void> {
  await writeFile(join(dir, 'special_tokens_map.json'), JSON.stringify({ bos_token: END_OF_TEXT, eos_token: END_OF_TEXT, unk_token: END_OF_TEXT }));
}

/** Write every seed repo's tiny model under `root` and return the repos for the fake Hub. */
export async function writeSeedRepos(root: string): Promise<SeedRepos> {
  const repos = new Map<string, FakeRepo>();
  const models = new Map<string, TinyModel>();
  const folder = async (label: string, write: (dir: string) => Promise<TinyModel>, layout: (dir: string) => Promise<void>): Promise<FakeSnapshot> => {
    const dir = join(root, label.replace(/\W+/g, '-'));
    await mkdir(dir, { recursive: true });
    const tiny = await write(dir);
    await layout(dir);
    models.set(label, tiny);
    const [repo] = label.split('@') as [string];
    return withOtherFiles(repo, await snapshotFromFolder(dir, fakeSha(label)));
  };

  // facebook/opt-125m: OPTForCausalLM weights in the zip format, the GPT2Tokenizer files.
  const opt = await folder(
    `${OPT_REPO}@main`,
    (dir) => writeTinyOpt(dir, { nLayers: 2, dModel: 32, nHeads: 4, seed: 21 }),
    (dir) => convertToPytorch(dir).then(() => undefined),
  );
  repos.set(OPT_REPO, { sha: opt.sha, files: opt.files });

  // EleutherAI/pythia-12b: three .bin shards + index on main and on step3000, trained further apart.
  const pythia12 = (seed: number) => (dir: string) => writeTinyGptNeox(dir, { nLayers: 2, dModel: 32, nHeads: 4, dtype: 'F16', seed });
  const shardBins = async (dir: string) => {
    await convertToPytorch(dir, { shards: 3 });
    await pythiaTokenizerFiles(dir);
  };
  const main12 = await folder(`${PYTHIA_12B_REPO}@main`, pythia12(31), shardBins);
  const step12 = await folder(`${PYTHIA_12B_REPO}@${CHECKPOINT_BRANCH}`, pythia12(32), shardBins);
  repos.set(PYTHIA_12B_REPO, { sha: main12.sha, files: main12.files, revisions: { [CHECKPOINT_BRANCH]: step12 } });

  // EleutherAI/pythia-1.4b: one F16 model.safetensors on main, two F32 shards on step3000.
  const main14 = await folder(
    `${PYTHIA_1_4B_REPO}@main`,
    (dir) => writeTinyGptNeox(dir, { nLayers: 2, dModel: 32, nHeads: 4, dtype: 'F16', seed: 41 }),
    pythiaTokenizerFiles,
  );
  const step14 = await folder(
    `${PYTHIA_1_4B_REPO}@${CHECKPOINT_BRANCH}`,
    (dir) => writeTinyGptNeox(dir, { nLayers: 2, dModel: 32, nHeads: 4, seed: 42 }),
    async (dir) => {
      await shardSafetensors(dir, 2);
      await pythiaTokenizerFiles(dir);
    },
  );
  repos.set(PYTHIA_1_4B_REPO, { sha: main14.sha, files: main14.files, revisions: { [CHECKPOINT_BRANCH]: step14 } });

  // openai-community/gpt2: safetensors and a legacy pytorch_model.bin of the same weights, tokenizer.json and vocab.json + merges.txt.
  const gpt2 = await folder(
    `${GPT2_REPO}@main`,
    (dir) => writeTinyGpt2(dir, { nLayers: 2, dModel: 32, nHeads: 4, seed: 51 }),
    async (dir) => {
      await convertToPytorch(dir, { format: 'legacy', keepSafetensors: true });
      const { vocabJson, mergesTxt } = byteVocabFiles([], [END_OF_TEXT]);
      await writeFile(join(dir, 'vocab.json'), vocabJson);
      await writeFile(join(dir, 'merges.txt'), mergesTxt);
    },
  );
  repos.set(GPT2_REPO, { sha: gpt2.sha, files: gpt2.files });
  return { repos, models };
}

/** The files of a seed repo the tool must download (and no others), for a test to compare with the Hub's log. */
export async function expectedDownloads(root: string, label: string): Promise<string[]> {
  const names = await readdir(join(root, label.replace(/\W+/g, '-')));
  const weights = names.some((name) => name.endsWith('.safetensors'))
    ? names.filter((name) => name.includes('.safetensors'))
    : names.filter((name) => name.startsWith('pytorch_model'));
  const tokenizer = ['tokenizer.json', 'tokenizer_config.json', 'vocab.json', 'merges.txt', 'special_tokens_map.json'].filter((name) => names.includes(name));
  return ['config.json', ...tokenizer, ...weights].sort();
}
