/**
 * A sweep folder as the input of `report`: its measured members' results files (in plan order)
 * and its sweep figures, drawn from sweep.json. `report <sweep folder>` then shows the
 * comparison of every member, the fit table and the sweep figures in one page.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, quote } from '../errors.js';
import { readRegularFile } from '../io/read-regular-file.js';
import type { FigureOptions, FigureOutcome } from '../figures/figure-types.js';
import { buildSweepFigure, SWEEP_FIGURE_SUMMARIES, SWEEP_FIGURES, type SweepFigureName } from '../figures/sweep-figures.js';
import { readPlan } from './sweep-plan.js';
import { SWEEP_FILE, SWEEP_FORMAT, type SweepSummary } from '../results/sweep-schema.js';
import { parseJson } from '../io/json-text.js';

export interface SweepFigure {
  figure: SweepFigureName;
  stem: string;
  summary: string;
  subject: string;
  outcome: FigureOutcome;
}

export interface ExpandedInputs {
  files: string[];
  /** Sweep folders found among the inputs. */
  sweeps: string[];
}

/** Replace each sweep folder among `inputs` by its measured members' results files. */
export async function expandSweepFolders(inputs: readonly string[]): Promise<ExpandedInputs> {
  const files: string[] = [];
  const sweeps: string[] = [];
  for (const input of inputs) {
    if (
      !(await stat(input).then(
        (info) => info.isDirectory(),
        () => false,
      ))
    ) {
      files.push(input);
      continue;
    }
    const plan = await readPlan(input);
    if (plan === undefined)
      throw new InputError(
        `${quote(input)} is a folder without a sweep (no sweep-plan.json); give results files, or a folder written by \`resid-norms sweep\``,
      );
    const summary = await readSweepSummary(input);
    const measured = new Set(summary.members.filter((member) => member.status === 'measured').map((member) => member.file));
    if (measured.size === 0) throw new InputError(`sweep ${quote(input)} has no measured member yet; run \`resid-norms sweep\` (or --collect) first`);
    for (const member of plan.members) if (measured.has(member.file)) files.push(join(input, member.file)); // up to 10,000 members: no spread into push
    sweeps.push(input);
  }
  return { files, sweeps };
}

export async function readSweepSummary(dir: string): Promise<SweepSummary> {
  const path = join(dir, SWEEP_FILE);
  let data: Partial<SweepSummary>;
  try {
    data = parseJson((await readRegularFile(path)).toString('utf8')) as Partial<SweepSummary>;
  } catch (error) {
    throw new InputError(
      `cannot read ${quote(path)} (${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'not JSON'}); run \`resid-norms sweep --collect --out ${dir}\` to write it`,
    );
  }
  if (data.format !== SWEEP_FORMAT || data.version !== 1 || !Array.isArray(data.members)) {
    throw new InputError(`${quote(path)} is not a sweep summary of this version; run \`resid-norms sweep --collect --out ${dir}\` to write it again`);
  }
  return data as SweepSummary;
}

/** The sweep figures of each folder, for the report. */
export async function sweepFigures(sweeps: readonly string[], options: Pick<FigureOptions, 'rescale' | 'x'>): Promise<SweepFigure[]> {
  const figures: SweepFigure[] = [];
  for (const dir of sweeps) {
    const summary = await readSweepSummary(dir);
    for (const name of SWEEP_FIGURES) {
      figures.push({
        figure: name,
        stem: sweeps.length === 1 ? `sweep-${name}` : `sweep-${figures.length}-${name}`,
        summary: SWEEP_FIGURE_SUMMARIES[name],
        subject: `sweep ${dir}`,
        outcome: buildSweepFigure(name, summary, options),
      });
    }
  }
  return figures;
}
