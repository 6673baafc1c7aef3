/**
 * Start-up of the installed command: wall time of `--version`, `--help` and two commands' help,
 * fastest of several runs each, next to a bare `node -e 0` on the same machine in the same
 * rounds (the ratio is the figure to trust on a shared machine).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../bin/resid-norms.js', import.meta.url));

const COMMAND_LINES: ReadonlyArray<{ label: string; args: string[]; target?: number }> = [
  { label: '--version', args: ['--version'], target: 0.25 },
  { label: '--help', args: ['--help'], target: 0.25 },
  { label: 'fit --help', args: ['fit', '--help'] },
  { label: 'measure --help', args: ['measure', '--help'] },
];

function wallSeconds(args: string[]): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${result.status}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

export interface StartupRow {
  figure: string;
  value: number;
  target: string;
  met: boolean;
}

export function cliStartupRows(rounds = 7): StartupRow[] {
  const fastest = new Map<string, number>();
  const keep = (label: string, seconds: number) => fastest.set(label, Math.min(fastest.get(label) ?? Infinity, seconds));
  for (let round = 0; round < rounds; round += 1) {
    keep('node', wallSeconds(['-e', '0']));
    for (const { label, args } of COMMAND_LINES) keep(label, wallSeconds([CLI, ...args]));
  }
  const bare = fastest.get('node')!;
  return [
    { figure: 'start-up: bare `node -e 0` (s)', value: bare, target: '—', met: true },
    ...COMMAND_LINES.flatMap(({ label, target }) => {
      const seconds = fastest.get(label)!;
      return [
        {
          figure: `start-up: ${label} (s)`,
          value: seconds,
          target: target === undefined ? '—' : `≤ ${target}`,
          met: target === undefined || seconds <= target,
        },
        { figure: `start-up: ${label} ÷ bare node`, value: seconds / bare, target: '—', met: true },
      ];
    }),
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const row of cliStartupRows()) process.stdout.write(`${row.figure.padEnd(40)} ${row.value.toFixed(3).padStart(8)}  ${row.target}\n`);
}
