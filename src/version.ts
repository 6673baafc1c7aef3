/** The package's own version, read once from package.json (two levels above dist/src). */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function toolVersion(): string {
  if (cached === undefined) {
    const packageJson = new URL('../../package.json', import.meta.url);
    cached = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
  }
  return cached;
}
