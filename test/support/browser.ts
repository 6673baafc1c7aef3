/**
 * Headless Chromium for the report's browser tests: the system's chromium (Debian's package,
 * installed by scripts/install-browser.sh), driven by puppeteer-core, which never downloads a
 * browser of its own.
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

const NAMES = ['chromium', 'chromium-browser'];

/** CHROMIUM_PATH, else the first chromium on the PATH; undefined when there is none. */
export function findChromium(): string | undefined {
  const given = process.env.CHROMIUM_PATH;
  if (given !== undefined && given !== '') return existsSync(given) ? given : undefined;
  for (const folder of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of NAMES) {
      const path = join(folder, name);
      if (folder !== '' && existsSync(path)) return path;
    }
  }
  return undefined;
}

/**
 * Why the browser tests cannot run here, or undefined when they can. In CI a missing chromium
 * is a failure, not a skip: .ci/run installs it with scripts/install-browser.sh.
 */
export function browserSkipReason(): string | undefined {
  if (findChromium() !== undefined) return undefined;
  const message = 'no chromium found (run scripts/install-browser.sh, or set CHROMIUM_PATH)';
  if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false')
    throw new Error(`${message}; CI is set, so the browser tests may not skip`);
  return message;
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium();
  if (executablePath === undefined) throw new Error('no chromium found (run scripts/install-browser.sh, or set CHROMIUM_PATH)');
  return puppeteer.launch({
    executablePath,
    headless: true,
    // Chromium's sandbox refuses to run as root, which CI containers are.
    args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-gpu', '--font-render-hinting=none'],
  });
}
