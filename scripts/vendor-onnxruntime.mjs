#!/usr/bin/env node
/**
 * Vendors onnxruntime-node into vendor/onnxruntime-node/ for the package (`npm pack`, and a
 * `npm i -g <git url>`, both run `prepare`): its files as installed in node_modules, hard-linked
 * (no copy of its 290 MB), with its install script taken out of its package.json.
 *
 * Why: onnxruntime-node's postinstall fetches CUDA libraries from a host outside the npm registry
 * whenever nothing tells it not to (linux/x64). A package cannot tell it: npm runs a dependency's
 * install script in a global install whatever the installed package says (its allowScripts and
 * overrides are ignored there, a bundled dependency's script runs too: tested with npm 11.19),
 * and its only switches are the user's environment or npm config. So the installed package has
 * no onnxruntime-node dependency at all: the runtime loads this copy (src/runtime/onnxruntime.ts),
 * the CPU libraries it ships for every platform are there, and nothing is fetched. Its
 * dependencies (onnxruntime-common; adm-zip and global-agent for its install script, which the
 * README's CUDA recipe runs by hand) are resid-norms's own.
 *
 *   node scripts/vendor-onnxruntime.mjs [packageRoot] [--platforms=linux/x64,…] [--from=folder]
 * --platforms links only those platforms' libraries and --from takes onnxruntime-node from that
 * folder (the install test, which stages a package elsewhere, to keep it cheap).
 */
import { cpSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the vendored package keeps of the installed one (its tests and sources are not in the npm package anyway). */
const KEPT = ['package.json', 'README.md', 'LICENSE', 'dist', 'lib', 'bin', 'script'];

/** Hard-links every file of `from` into `to` (a copy where the file system refuses links), skipping what `skip` names. */
function linkTree(from, to, skip) {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (skip(source)) continue;
    if (entry.isDirectory()) linkTree(source, target, skip);
    else if (entry.isFile()) {
      try {
        linkSync(source, target);
      } catch {
        cpSync(source, target);
      }
    }
  }
}

/**
 * @param root the package folder (vendor/ goes there)
 * @param options.installed onnxruntime-node's folder; default: the one `root` resolves
 * @param options.platforms `os/arch` names whose libraries to keep; default: all
 */
export function vendorOnnxRuntime(
  root,
  { platforms, installed = dirname(createRequire(join(root, 'package.json')).resolve('onnxruntime-node/package.json')) } = {},
) {
  const out = join(root, 'vendor', 'onnxruntime-node');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const binaries = join(installed, 'bin', 'napi-v6');
  const skipPlatform = (path) => {
    if (platforms === undefined || !path.startsWith(binaries) || path === binaries) return false;
    const [os, arch] = relative(binaries, path).split(/[\\/]/);
    return arch !== undefined && !platforms.includes(`${os}/${arch}`);
  };
  for (const name of KEPT) {
    const source = join(installed, name);
    if (!existsSync(source) || name === 'package.json') continue;
    if (statSync(source).isDirectory()) linkTree(source, join(out, name), skipPlatform);
    else linkSync(source, join(out, name));
  }
  // Its package.json without the scripts (the postinstall above all) and without its devDependencies.
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
  delete manifest.scripts;
  delete manifest.devDependencies;
  manifest.residNormsVendored = 'vendored by resid-norms (scripts/vendor-onnxruntime.mjs): install script removed; see the README, Install';
  writeFileSync(join(out, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { out, version: manifest.version };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const root = resolve(args.find((arg) => !arg.startsWith('--')) ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  const platforms = args
    .find((arg) => arg.startsWith('--platforms='))
    ?.slice('--platforms='.length)
    .split(',');
  const from = args.find((arg) => arg.startsWith('--from='))?.slice('--from='.length);
  const { out, version } = vendorOnnxRuntime(root, { platforms, ...(from !== undefined ? { installed: resolve(from) } : {}) });
  process.stdout.write(
    `vendored onnxruntime-node ${version} into ${relative(process.cwd(), out) || out}${platforms ? ` (${platforms.join(', ')} only)` : ''}\n`,
  );
}
