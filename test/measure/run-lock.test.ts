import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { acquireRunLock, currentHolder, processStartTicks, startTicksFromStat, type LockHolder } from '../../src/measure/run-lock.js';

const linux = existsSync('/proc/self/stat');

/** A process that stays alive (and is not resid-norms) until the test ends. */
function sleeper(): ChildProcess {
  return spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
}

describe('<out>.lock (run-lock)', () => {
  let dir: string;
  let child: ChildProcess;
  let count = 0;
  const lockPath = () => join(dir, `run-${(count += 1)}.json.lock`);
  const writeHolder = (path: string, holder: Partial<LockHolder>) => writeFileSync(path, `${JSON.stringify({ ...currentHolder(), ...holder })}\n`);
  const refusal = (run: () => unknown): string => {
    try {
      run();
    } catch (error) {
      assert.ok(error instanceof UsageError, String(error));
      assert.equal(error.exitCode, 2);
      assert.doesNotMatch(error.message, /\n/);
      return error.message;
    }
    assert.fail('the lock was not refused');
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rn-run-lock-'));
    child = sleeper();
    await new Promise((resolve) => child.once('spawn', resolve));
  });
  after(async () => {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('writes who holds it (host, pid, start time, Slurm job) and removes it on release', () => {
    const path = lockPath();
    const release = acquireRunLock(path, { env: { SLURM_JOB_ID: '88', SLURM_CLUSTER_NAME: 'c', SLURM_RESTART_COUNT: '2' } });
    const holder = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    assert.equal(holder.host, hostname());
    assert.equal(holder.pid, process.pid);
    assert.equal(holder.slurmJob, 'c:88');
    assert.equal(holder.slurmRestarts, 2);
    if (linux) assert.equal(holder.startTicks, processStartTicks(process.pid));
    assert.ok(lstatSync(path).isFile());
    assert.deepEqual(
      readdirSync(dir).filter((name) => name.endsWith('.tmp')),
      [],
      'no temp file left',
    );
    release();
    assert.equal(existsSync(path), false);
  });

  it('refuses while a live process of this machine holds it, naming it', () => {
    const path = lockPath();
    const release = acquireRunLock(path);
    try {
      const message = refusal(() => acquireRunLock(path));
      assert.match(
        message,
        new RegExp(
          `^another resid-norms process \\(pid ${process.pid} on host .+ \\(measure, since \\d{4}-.*\\)\\) is measuring into the same --out \\(".*run-\\d+\\.json\\.lock"\\); wait for it, or choose another --out$`,
        ),
      );
    } finally {
      release();
    }
  });

  it('takes over the lock of a process that is gone, and says whose it was', () => {
    const path = lockPath();
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    writeHolder(path, { pid: gone, startTicks: 1 });
    const warnings: string[] = [];
    acquireRunLock(path, { warn: (message) => warnings.push(message) })();
    assert.match(warnings.join('\n'), new RegExp(`taking over .* from pid ${gone} on host .*: that process is gone`));
  });

  it('takes over a lock whose pid now belongs to an unrelated live process (a reused pid), not "another resid-norms process"', {
    skip: !linux && 'needs /proc',
  }, () => {
    const warnings: string[] = [];
    // Written by a process that started at another time than the one now holding that pid.
    const reused = lockPath();
    writeHolder(reused, { pid: child.pid!, startTicks: processStartTicks(child.pid!)! + 1 });
    acquireRunLock(reused, { warn: (message) => warnings.push(message) })();
    assert.match(warnings.pop()!, new RegExp(`pid ${child.pid} is now another process$`));
    // An older version's lock (the pid alone) naming a live process that is not resid-norms.
    const legacy = lockPath();
    writeFileSync(legacy, `${child.pid}\n`);
    acquireRunLock(legacy, { warn: (message) => warnings.push(message) })();
    assert.match(warnings.pop()!, /is now another process \(not resid-norms\)$/);
  });

  it('refuses a holder on another host, saying whose it is and how to take over; --take-over-lock takes it', () => {
    const path = lockPath();
    writeHolder(path, { host: 'node17', pid: 4242, slurmJob: 'c:901', since: '2026-12-08T01:00:00.000Z' });
    const message = refusal(() => acquireRunLock(path));
    assert.equal(
      message,
      `"${path}" is held by pid 4242 on host node17 (Slurm job 901, measure, since 2026-12-08T01:00:00.000Z), which cannot be checked from this host (${hostname()}): if that process is gone, rerun with --take-over-lock (or delete the file); otherwise wait for it, or choose another --out`,
    );
    assert.match(readFileSync(path, 'utf8'), /node17/, 'a refusal leaves the lock alone');
    const warnings: string[] = [];
    const release = acquireRunLock(path, { takeOver: true, warn: (text) => warnings.push(text) });
    assert.match(warnings.join(''), /--take-over-lock: taking over .* from pid 4242 on host node17/);
    assert.equal((JSON.parse(readFileSync(path, 'utf8')) as LockHolder).pid, process.pid);
    release();
  });

  it('--take-over-lock never takes a lock from a live process of this machine', () => {
    const path = lockPath();
    const release = acquireRunLock(path);
    try {
      assert.match(
        refusal(() => acquireRunLock(path, { takeOver: true })),
        /^another resid-norms process/,
      );
    } finally {
      release();
    }
  });

  it('takes over from an earlier run of the same Slurm job on another node (a requeued task), not from a live step of it', () => {
    const path = lockPath();
    writeHolder(path, { host: 'node17', slurmJob: 'c:901', slurmRestarts: 0 });
    const sameRun = { SLURM_CLUSTER_NAME: 'c', SLURM_JOB_ID: '901' };
    assert.match(
      refusal(() => acquireRunLock(path, { env: sameRun })),
      /cannot be checked from this host/,
    );
    assert.match(
      refusal(() => acquireRunLock(path, { env: { ...sameRun, SLURM_JOB_ID: '902', SLURM_RESTART_COUNT: '1' } })),
      /cannot be checked/,
      'another job',
    );
    const warnings: string[] = [];
    acquireRunLock(path, { env: { ...sameRun, SLURM_RESTART_COUNT: '1' }, warn: (text) => warnings.push(text) })();
    assert.match(warnings.join(''), /an earlier run of this Slurm job \(requeued 1 time\), which Slurm has ended$/);
  });

  it("takes over a lock of this host written before the machine's last restart", { skip: !linux && 'needs /proc' }, () => {
    const path = lockPath();
    writeHolder(path, { pid: child.pid!, startTicks: processStartTicks(child.pid!)!, bootId: 'another-boot' });
    const warnings: string[] = [];
    acquireRunLock(path, { warn: (text) => warnings.push(text) })();
    assert.match(warnings.join(''), /this machine has restarted since$/);
    // The same holder on this boot is live.
    const live = lockPath();
    writeHolder(live, { pid: child.pid!, startTicks: processStartTicks(child.pid!)! });
    assert.match(
      refusal(() => acquireRunLock(live)),
      new RegExp(`pid ${child.pid} on host`),
    );
  });

  it('refuses a FIFO, a symlink or a folder at its name at once, without opening or removing it', { skip: process.platform === 'win32' }, () => {
    const fifo = lockPath();
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    assert.match(
      refusal(() => acquireRunLock(fifo)),
      /^".*" is a FIFO \(named pipe\), not a lock file resid-norms wrote; remove it, or choose another --out$/,
    );
    assert.ok(lstatSync(fifo).isFIFO());
    const target = join(dir, 'precious.txt');
    writeFileSync(target, 'keep me');
    const link = lockPath();
    symlinkSync(target, link);
    assert.match(
      refusal(() => acquireRunLock(link)),
      /is a symbolic link, not a lock file/,
    );
    const dangling = lockPath();
    symlinkSync(join(dir, 'nowhere'), dangling);
    assert.match(
      refusal(() => acquireRunLock(dangling)),
      /is a symbolic link/,
    );
    assert.equal(existsSync(join(dir, 'nowhere')), false, 'nothing created through the link');
    const folder = lockPath();
    mkdirSync(folder);
    assert.match(
      refusal(() => acquireRunLock(folder)),
      /is a folder, not a lock file/,
    );
    assert.equal(readFileSync(target, 'utf8'), 'keep me');
  });

  it('takes over an old file it cannot read as a lock; refuses one that may still be being written', () => {
    const path = lockPath();
    writeFileSync(path, 'garbage');
    assert.match(
      refusal(() => acquireRunLock(path)),
      /is being taken by another process right now/,
    );
    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    const warnings: string[] = [];
    acquireRunLock(path, { warn: (text) => warnings.push(text) })();
    assert.match(warnings.join(''), /held no lock this resid-norms understands; taking it over/);
  });

  it('release leaves a lock that another process has taken over since', () => {
    const path = lockPath();
    const release = acquireRunLock(path);
    writeHolder(path, { host: 'node17' }); // rewritten in place would keep the inode: replace it as a take-over does
    const replaced = `${path}.new`;
    writeHolder(replaced, { host: 'node17' });
    spawnSync('mv', ['-f', replaced, path]);
    release();
    assert.match(readFileSync(path, 'utf8'), /node17/);
  });

  it('reads the start time from a /proc/<pid>/stat line whose command name holds spaces and parentheses', () => {
    const rest = 'S 1 2 3 0 -1 4194304 100 0 0 0 0 0 0 0 20 0 1 0 148737 3133440 412';
    assert.equal(startTicksFromStat(`2542 (cat) ${rest}`), 148737);
    assert.equal(startTicksFromStat(`2542 (a) b (c) ) ${rest}`), 148737);
    assert.equal(startTicksFromStat('garbage'), null);
    assert.equal(startTicksFromStat('1 (x) S 1 2'), null);
  });
});
