/**
 * Outputs must never land on the command's own inputs. `measure --prompts p.txt --out p.txt`,
 * `--out <model>/model.safetensors` or `fit r.json --out r.json` would replace an input with
 * a result; so every command compares what it will write with what it reads, by identity
 * (device + inode for files that exist, the real path through every symlink for files that do
 * not yet), however the paths are spelled. Also: an output must be a writable place, found out
 * before any work is done.
 */
import { constants } from 'node:fs';
import { access, mkdtemp, readdir, realpath, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError, UsageError, quote } from '../errors.js';

/** One file a command reads, named for messages ("the prompt file", "a file of the model folder"). */
export interface InputFile {
  path: string;
  what: string;
}

/** A file a command writes, or a folder it writes into with the names it may write there. */
export type OutputTarget = { flag: string; path: string } | { flag: string; folder: string; writes: (name: string) => boolean };

export interface Identity {
  /** dev:ino when the file exists. */
  inode?: string;
  /** The absolute path with every existing symlink resolved. */
  real: string;
}

/** The real path of `path`: symlinks of its nearest existing ancestor resolved, the rest appended. */
async function realPathOf(path: string): Promise<string> {
  const absolute = resolve(path);
  try {
    return await realpath(absolute);
  } catch {
    const parent = dirname(absolute);
    if (parent === absolute) return absolute;
    return join(await realPathOf(parent), basename(absolute));
  }
}

/** Who a path is: its device and inode when it exists, and its real path. */
export async function identifyPath(path: string): Promise<Identity> {
  const info = await stat(path).catch(() => undefined);
  return { real: await realPathOf(path), ...(info ? { inode: `${info.dev}:${info.ino}` } : {}) };
}

function sameFile(a: Identity, b: Identity): boolean {
  return (a.inode !== undefined && a.inode === b.inode) || a.real === b.real;
}

/**
 * Refuse (UsageError, exit 2) when any output is one of the inputs. Folder outputs clash with
 * an input inside that folder whose name the command may write.
 */
export async function refuseOutputOverInput(outputs: readonly OutputTarget[], inputs: readonly InputFile[]): Promise<void> {
  const known = await Promise.all(inputs.map(async (input) => ({ input, id: await identifyPath(input.path) })));
  for (const output of outputs) {
    if ('path' in output) {
      const id = await identifyPath(output.path);
      const clash = known.find((entry) => sameFile(id, entry.id));
      if (clash) throw clashError(`${output.flag} ${quote(output.path)}`, clash.input);
      continue;
    }
    const folder = await realPathOf(output.folder);
    const clash = known.find((entry) => dirname(entry.id.real) === folder && output.writes(basename(entry.id.real)));
    if (clash) throw clashError(`${output.flag} ${quote(output.folder)} would overwrite ${quote(basename(clash.id.real))}, which`, clash.input);
  }
}

function clashError(what: string, input: InputFile): UsageError {
  return new UsageError(`${what} is ${input.what} ${quote(input.path)}; an output may not replace an input of the same command; choose another output path`);
}

const WRITE_REASONS: Record<string, string> = {
  ENOENT: 'nothing can be created there',
  ENOTDIR: 'a file is in the way',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
};

/**
 * Refuse (UsageError) an output file that cannot be written, before any work: a folder in its
 * place, a file where a parent folder should be, or a parent that is not writable. Parents that
 * do not exist yet are fine when the nearest existing one is a writable folder.
 */
export async function checkOutputFile(path: string): Promise<void> {
  const fail = (why: string) => new UsageError(`cannot write ${quote(path)}: ${why}; choose another output path`);
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) throw fail('it is a folder');
  // Outputs are written to a temp file and renamed over the target: that would replace a FIFO
  // or a device node (as root, /dev/null itself) instead of writing into it.
  if (info !== undefined && !info.isFile()) throw fail(`it is ${describeSpecial(info)}, and outputs replace their target file`);
  if (/[/\\]$/.test(path)) throw fail('it ends with a slash, so it names a folder; give a file path');
  await checkWritableFolder(dirname(resolve(path)), fail);
}

/** Refuse an output folder that cannot be created or written. */
export async function checkOutputFolder(folder: string, flag: string): Promise<void> {
  const fail = (why: string) => new UsageError(`cannot create output folder ${quote(folder)}: ${why}; give ${flag} a folder that can be created`);
  const info = await stat(folder).catch(() => undefined);
  if (info !== undefined && !info.isDirectory()) throw fail('a file is in the way');
  await checkWritableFolder(resolve(folder), fail);
}

async function checkWritableFolder(folder: string, fail: (why: string) => UsageError): Promise<void> {
  let current = folder;
  for (;;) {
    const info = await stat(current).catch((error: NodeJS.ErrnoException) => error);
    if (!(info instanceof Error)) {
      if (!info.isDirectory()) throw fail('a file is in the way');
      try {
        await access(current, constants.W_OK | constants.X_OK);
        // access() says yes to root even where nothing can be created (read-only or special
        // file systems): make and remove an empty folder to be sure.
        await rmdir(await mkdtemp(join(current, '.resid-norms-probe-')));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
        throw fail(`${quote(current)} is not writable (${WRITE_REASONS[code] ?? code})`);
      }
      return;
    }
    if (info.code === 'ENOTDIR') throw fail('a file is in the way');
    const parent = dirname(current);
    if (parent === current) return;
    current = parent;
  }
}

/**
 * Refuse inputs that are not regular files (a FIFO, socket or device would block or never end).
 * Missing files and folders are left to the readers, which say so in their own words.
 */
export async function refuseSpecialInputs(inputs: readonly InputFile[]): Promise<void> {
  for (const input of inputs) {
    const info = await stat(input.path).catch(() => undefined);
    if (info === undefined || info.isFile() || info.isDirectory()) continue;
    throw new InputError(`cannot read ${input.what} ${quote(input.path)}: it is ${describeSpecial(info)}, not a regular file; give a file`);
  }
}

export function describeSpecial(info: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  return 'not a file';
}

/**
 * Every file of a model folder, and the names a loader would read there even when absent
 * (writing one would change the model), as inputs.
 */
export async function modelFolderInputs(dir: string, loaderNames: readonly string[]): Promise<InputFile[]> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  const names = [...new Set([...entries, ...loaderNames])];
  return names.map((name) => ({ path: join(dir, name), what: 'the model file' }));
}

/**
 * The checks of a command that turns files into files (fit, merge, plot, report), before it
 * reads anything: inputs that are FIFOs or devices refused, outputs that cannot be written or
 * that are inputs refused.
 */
export async function guardFileCommand(inputs: readonly InputFile[], outputs: readonly OutputTarget[]): Promise<void> {
  await refuseSpecialInputs(inputs);
  for (const output of outputs) {
    if ('path' in output) await checkOutputFile(output.path);
    else await checkOutputFolder(output.folder, output.flag);
  }
  await refuseOutputOverInput(outputs, inputs);
}

/** Input files of a command, each named "the input file". */
export function inputFiles(paths: readonly string[], what = 'the input file'): InputFile[] {
  return paths.map((path) => ({ path, what }));
}
