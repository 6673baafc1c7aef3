/**
 * Inputs that mix file kinds (`fit results/*.json`, `report results/*.json`): each command keeps
 * the files it reads, uses a fit file among them as its --fit where it draws fits, and says in
 * one line which others it left and why. A file that is not readable as one of ours (not JSON, a
 * truncated file, a newer format) is kept, so the command's reader names what is wrong with it;
 * a command left with nothing to read gets every file back, for its readers to refuse.
 */
import { quote } from '../errors.js';
import { KIND_NAMES, peekDocumentKind, type DocumentKindName } from '../results/document-kinds.js';
import type { Reporter } from '../messages/reporter.js';

export interface SortedInputs {
  files: string[];
  /** The one fit file among the inputs, when the command takes fits and no --fit was given. */
  fitFile?: string;
}

export interface SortOptions {
  /** The command, for messages. */
  command: string;
  /** Kinds it reads (unknown files are always kept). */
  takes: readonly DocumentKindName[];
  /** Whether it draws fits from a fit file (plot, report), and the --fit it was given. */
  fits?: { given: string | undefined };
}

export async function sortInputs(paths: readonly string[], options: SortOptions, reporter: Reporter): Promise<SortedInputs> {
  const kinds = await Promise.all(paths.map(peekDocumentKind));
  const files: string[] = [];
  const fitFiles: string[] = [];
  const left: string[] = [];
  paths.forEach((path, index) => {
    const kind = kinds[index]!;
    if (kind === 'unknown' || options.takes.includes(kind)) files.push(path);
    else if (kind === 'fit' && options.fits !== undefined && options.fits.given === undefined) fitFiles.push(path);
    else left.push(`${quote(path)} (${KIND_NAMES[kind]}${kind === 'fit' && options.fits?.given !== undefined ? ', and --fit names one' : ''})`);
  });
  let fitFile: string | undefined;
  if (fitFiles.length === 1) {
    fitFile = fitFiles[0]!;
    reporter.info(`${options.command}: drawing the fits of ${quote(fitFile)}, the fit file among the inputs (as --fit would)`);
  } else if (fitFiles.length > 1) {
    for (const path of fitFiles) left.push(`${quote(path)} (a fit file; there are ${fitFiles.length}: name one with --fit)`);
  }
  const names = options.takes.map((kind) => KIND_NAMES[kind].replace(/^an? /, '').replace(/ file$/, ''));
  const takes = names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names.join('');
  if (left.length > 0) {
    const what = `${options.command} reads ${takes} files`;
    // Nothing left to read: the readers refuse the files, each with its own words (exit 3).
    if (files.length === 0 && fitFile === undefined) return { files: [...paths] };
    reporter.info(`${options.command}: skipped ${left.length} file${left.length === 1 ? '' : 's'} it does not read: ${left.join(', ')} (${what})`);
  }
  return { files, ...(fitFile !== undefined ? { fitFile } : {}) };
}
