/**
 * A real one-node Slurm cluster for the tests of the shipped recipes (slurm/): the one .ci/run
 * started (RESID_NORMS_TEST_SLURM_CONF names its slurm.conf), else one of this test file's own,
 * started and stopped with scripts/slurm-test-cluster.sh. Where none can start (not root,
 * Debian's slurm-wlm and munge not installed) the tests skip and say why, except when CI is
 * set: then they fail, as the browser tests do.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../../src/package-paths.js';

const run = promisify(execFile);
export const CLUSTER_SCRIPT = join(PACKAGE_ROOT, 'scripts', 'slurm-test-cluster.sh');
/** The shipped recipes, submitted verbatim. */
export const RECIPES = join(PACKAGE_ROOT, 'slurm');
const SLURM_PATH = `/usr/bin:/usr/sbin:/bin:/sbin:${process.env.PATH ?? ''}`;

export interface JobState {
  id: string;
  task: string | undefined;
  state: string;
  exitCode: string;
  restarts: number;
}

export class SlurmCluster {
  private constructor(
    readonly conf: string,
    private readonly owned: boolean,
  ) {}

  /** The cluster, or why there is none here (a skip reason); throws instead when CI is set. */
  static async start(): Promise<SlurmCluster | string> {
    const given = process.env.RESID_NORMS_TEST_SLURM_CONF;
    if (given !== undefined && given !== '') {
      const cluster = new SlurmCluster(given, false);
      await cluster.slurm('scontrol', ['ping']).catch((error: Error) => {
        throw new Error(`RESID_NORMS_TEST_SLURM_CONF=${given}: that cluster does not answer (${error.message.trim()})`);
      });
      return cluster;
    }
    const reason = await startFailure();
    if (typeof reason === 'string') {
      if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false')
        throw new Error(`${reason}; CI is set, so the Slurm tests may not skip (.ci/run starts the cluster)`);
      return reason;
    }
    return new SlurmCluster(reason.conf, true);
  }

  async stop(): Promise<void> {
    if (this.owned) await run(CLUSTER_SCRIPT, ['stop', dirname(this.conf)], { env: { ...process.env, PATH: SLURM_PATH }, timeout: 60_000 });
  }

  /** The environment of a Slurm command against this cluster, on top of `extra`. */
  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    // The test runner's RESID_NORMS_THREADS would hide the thread count the allocation gives.
    const { RESID_NORMS_THREADS: _threads, ...inherited } = process.env;
    return { ...inherited, ...extra, PATH: SLURM_PATH, SLURM_CONF: this.conf };
  }

  /** Run a Slurm command (or a submit script) and return its stdout; a failure names its stderr. */
  async slurm(command: string, args: string[], extra: NodeJS.ProcessEnv = {}, cwd?: string): Promise<string> {
    try {
      const { stdout } = await run(command, args, { env: this.env(extra), timeout: 60_000, ...(cwd !== undefined ? { cwd } : {}) });
      return stdout;
    } catch (error) {
      throw new Error(`${command} ${args.join(' ')} failed: ${(error as { stderr?: string }).stderr ?? String(error)}`);
    }
  }

  /** Every job (or array task) of `id`, as scontrol shows it. */
  async jobs(id: string): Promise<JobState[]> {
    const text = await this.slurm('scontrol', ['show', 'job', '--oneliner', id]);
    return text
      .split('\n')
      .filter((line) => line.startsWith('JobId='))
      .map((line) => {
        const field = (name: string) => new RegExp(`(?:^| )${name}=(\\S*)`).exec(line)?.[1];
        return {
          id: field('JobId')!,
          task: field('ArrayTaskId'),
          state: field('JobState') ?? '?',
          exitCode: field('ExitCode') ?? '?',
          restarts: Number(field('Restarts') ?? 0),
        };
      });
  }

  /** Poll (every 50 ms, at most `timeoutMs`) until every job of `id` has ended; their states then. */
  async waitForEnd(id: string, timeoutMs = 90_000): Promise<JobState[]> {
    return this.waitFor(id, (jobs) => jobs.length > 0 && jobs.every((job) => ENDED.has(job.state)), 'end', timeoutMs);
  }

  async waitFor(id: string, done: (jobs: JobState[]) => boolean, what: string, timeoutMs = 90_000): Promise<JobState[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const jobs = await this.jobs(id);
      if (done(jobs)) return jobs;
      if (Date.now() > deadline)
        throw new Error(`job ${id} did not ${what} within ${timeoutMs / 1000} s: ${JSON.stringify(jobs)}\n${await this.log('slurmctld').catch(() => '')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** The tail of a daemon's log, for failure messages. */
  async log(daemon: 'slurmctld' | 'slurmd'): Promise<string> {
    return (await readFile(`${dirname(this.conf)}/log/${daemon}.log`, 'utf8')).split('\n').slice(-15).join('\n');
  }
}

const ENDED = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'PREEMPTED', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE']);

/** Start a cluster of this test file's own, or say why it cannot start here. */
async function startFailure(): Promise<{ conf: string } | string> {
  if (process.platform !== 'linux') return 'the Slurm tests need Linux';
  if (process.getuid?.() !== 0) return 'the Slurm tests need root (they start munged, slurmctld and slurmd; CI runs .ci/run as root)';
  if (!existsSync('/usr/sbin/slurmctld') || !existsSync('/usr/sbin/munged')) return 'Slurm is not installed (Debian: apt-get install slurm-wlm munge)';
  try {
    const { stdout } = await run(CLUSTER_SCRIPT, ['start'], { env: { ...process.env, PATH: SLURM_PATH }, timeout: 60_000 });
    const conf = /^SLURM_CONF=(.+)$/m.exec(stdout)?.[1];
    if (conf === undefined) return `scripts/slurm-test-cluster.sh start printed no SLURM_CONF: ${stdout}`;
    return { conf };
  } catch (error) {
    return `the test cluster did not start: ${((error as { stderr?: string }).stderr ?? String(error)).trim()}`;
  }
}
