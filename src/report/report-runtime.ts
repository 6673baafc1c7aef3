/**
 * The scripts the interactive report inlines: the minified builds of vega, vega-lite and
 * vega-embed from node_modules (their versions pinned exactly in package.json), so the page
 * draws every figure offline, from file://, without asking any host for anything.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';

export interface RuntimeScript {
  name: string;
  version: string;
  code: string;
}

/** In load order: vega-embed finds vega and vega-lite as globals. */
const RUNTIME_FILES: ReadonlyArray<{ name: string; file: string }> = [
  { name: 'vega', file: 'build/vega.min.js' },
  { name: 'vega-lite', file: 'build/vega-lite.min.js' },
  { name: 'vega-embed', file: 'build/vega-embed.min.js' },
];

const require = createRequire(import.meta.url);

/** The folder of an installed package: its exports hide build/*.min.js, so walk up from the entry point. */
function packageFolder(name: string): string {
  let folder = dirname(require.resolve(name));
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as { name?: string };
      if (manifest.name === name) return folder;
    } catch {
      // no package.json here: keep walking up
    }
    const parent = dirname(folder);
    if (parent === folder) throw new Error(`cannot find the folder of the installed package ${name}`);
    folder = parent;
  }
}

let cached: Promise<RuntimeScript[]> | undefined;

export function readRuntimeScripts(): Promise<RuntimeScript[]> {
  cached ??= Promise.all(
    RUNTIME_FILES.map(async ({ name, file }) => {
      const folder = packageFolder(name);
      const { version } = JSON.parse(await readFile(join(folder, 'package.json'), 'utf8')) as { version: string };
      const code = await readFile(join(folder, file), 'utf8');
      // Inlined inside <script>: a closing tag or comment opener in the code would end it early.
      if (/<\/script|<!--/i.test(code)) throw new Error(`${name}/${file} contains "</script" or "<!--" and cannot be inlined`);
      return { name, version, code };
    }),
  );
  return cached;
}
