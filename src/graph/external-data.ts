/**
 * ONNX Runtime reads external initializers relative to one folder and refuses paths that
 * escape it after resolving symlinks. Hugging Face cache snapshots are symlinks into
 * `blobs/`, so we point ONNX Runtime at the real files: the folder is the deepest common
 * ancestor of their real paths, and each location is relative to it.
 */
import { realpath } from 'node:fs/promises';
import { dirname, relative, sep } from 'node:path';

export interface ExternalDataLayout {
  folder: string;
  /** Location (relative to `folder`) of a weight file, by the path the weight index uses. */
  locationOf(file: string): string;
}

function commonAncestor(paths: string[]): string {
  const split = paths.map((path) => dirname(path).split(sep));
  const first = split[0] ?? [];
  let length = first.length;
  for (const parts of split) {
    let i = 0;
    while (i < length && parts[i] === first[i]) i += 1;
    length = i;
  }
  return first.slice(0, length).join(sep) || sep;
}

export async function planExternalData(files: readonly string[]): Promise<ExternalDataLayout> {
  const real = new Map<string, string>();
  for (const file of files) real.set(file, await realpath(file));
  const folder = commonAncestor([...real.values()]);
  return {
    folder,
    locationOf: (file) => {
      const resolved = real.get(file);
      if (resolved === undefined) throw new Error(`weight file ${file} was not planned for external data`);
      return relative(folder, resolved);
    },
  };
}
