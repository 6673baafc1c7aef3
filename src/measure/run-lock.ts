/**
 * `<out>.lock`: one writer per --out (two would interleave their checkpoints), also between
 * the nodes of a cluster that share the output folder. The lock says who holds it: host, pid,
 * the process's start time (a pid the kernel has handed to another process since is not the
 * holder), boot and pid-namespace ids (a rebooted machine or another container with the same
 * host name is not "this machine"), and the Slurm job. A holder on this machine is checked: gone
 * or replaced by an unrelated process → its lock is stale and taken over. A holder on another
 * host cannot be checked from here, so it is refused with whose it is and how to take over
 * (`--take-over-lock`, or deleting the file), except when it is an earlier run of this very
 * Slurm job (a requeued task restarted on another node: Slurm never runs a job twice at once).
 *
 * The file appears whole: written to a temp file first and hard-linked to its name, which fails
 * when anything is there already, symlinks and FIFOs included (the classic NFS-safe lock). It is
 * read only when it is a regular file, opened without following links and without blocking.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  linkSync,
  lstatSync,
  openSync,
  readFileSync,
  readSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { hostname } from 'node:os';
import { UsageError, quote } from '../errors.js';
import { describeSpecial } from '../io/output-guard.js';
import { isProcessAlive } from '../io/process-alive.js';
import { describeWriteFailure } from '../io/output-file.js';

export const LOCK_FORMAT = 'resid-norms/lock';
/** A lock file is a few hundred bytes; anything longer is not one of ours. */
const MAX_LOCK_BYTES = 4096;
/** A lock younger than this that cannot be parsed may still be being written (filesystems without hard links). */
const FRESH_MS = 10_000;

/** What a lock file holds. */
export interface LockHolder {
  format: typeof LOCK_FORMAT;
  host: string;
  pid: number;
  /** Start time of the process in clock ticks after boot (/proc/<pid>/stat); null where there is no /proc. */
  startTicks: number | null;
  bootId: string | null;
  pidNamespace: string | null;
  /** `<cluster>:<job id>` of the Slurm job (each array task has its own), and how often it was requeued. */
  slurmJob: string | null;
  slurmRestarts: number;
  command: string;
  since: string;
}

export interface LockOptions {
  /** Take over a lock held on another host, which cannot be checked from here (--take-over-lock). */
  takeOver?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Told when a lock is taken over (whose it was, and why). */
  warn?: (message: string) => void;
  /** The command holding the lock, for the next one's message. */
  command?: string;
}

/** This machine's facts about a process: undefined members where /proc does not say. */
function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').slice(0, MAX_LOCK_BYTES);
  } catch {
    return undefined;
  }
}

/** The start time of a process in clock ticks after boot, or null where /proc does not say (not Linux, gone). */
export function processStartTicks(pid: number): number | null {
  const stat = readText(`/proc/${pid}/stat`);
  return stat === undefined ? null : startTicksFromStat(stat);
}

/** Field 22 of a /proc/<pid>/stat line, counted after the command name, which may hold spaces and parentheses. */
export function startTicksFromStat(stat: string): number | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const field = stat.slice(close + 2).split(' ')[19]; // field 3 (the state) is the first after the name
  return field !== undefined && /^\d+$/.test(field) ? Number(field) : null;
}

function bootId(): string | null {
  return readText('/proc/sys/kernel/random/boot_id')?.trim() || null;
}

function pidNamespace(): string | null {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return null;
  }
}

function slurmJob(env: NodeJS.ProcessEnv): { slurmJob: string | null; slurmRestarts: number } {
  const job = env.SLURM_JOB_ID;
  const restarts = Number(env.SLURM_RESTART_COUNT ?? 0);
  return { slurmJob: job ? `${env.SLURM_CLUSTER_NAME ?? ''}:${job}` : null, slurmRestarts: Number.isSafeInteger(restarts) ? restarts : 0 };
}

export function currentHolder(options: LockOptions = {}): LockHolder {
  return {
    format: LOCK_FORMAT,
    host: hostname(),
    pid: process.pid,
    startTicks: processStartTicks(process.pid),
    bootId: bootId(),
    pidNamespace: pidNamespace(),
    ...slurmJob(options.env ?? process.env),
    command: options.command ?? 'measure',
    since: new Date().toISOString(),
  };
}

/** Who holds the lock, in words: "pid 41 on host node7 (Slurm job 8812, measure, since 2026-…)". */
export function describeHolder(holder: LockHolder): string {
  const job = holder.slurmJob ? `Slurm job ${holder.slurmJob.split(':').pop()}, ` : '';
  return `pid ${holder.pid} on host ${holder.host} (${job}${holder.command}, since ${holder.since})`;
}

type Verdict = { live: true; note?: string } | { live: false; why: string } | { live: 'unknown'; why: string };

/** Whether the holder is still running, as far as this process can tell. */
export function judgeHolder(holder: LockHolder, me: LockHolder): Verdict {
  if (holder.slurmJob !== null && holder.slurmJob === me.slurmJob && holder.slurmRestarts < me.slurmRestarts) {
    return {
      live: false,
      why: `an earlier run of this Slurm job (requeued ${me.slurmRestarts} time${me.slurmRestarts === 1 ? '' : 's'}), which Slurm has ended`,
    };
  }
  if (holder.host !== me.host) return { live: 'unknown', why: `this host (${me.host})` };
  if (holder.pidNamespace !== me.pidNamespace)
    return { live: 'unknown', why: `this pid namespace (the same host name, but another container, or this one restarted)` };
  if (holder.bootId !== null && me.bootId !== null && holder.bootId !== me.bootId) return { live: false, why: 'this machine has restarted since' };
  if (!isProcessAlive(holder.pid)) return { live: false, why: 'that process is gone' };
  const started = processStartTicks(holder.pid);
  if (holder.startTicks !== null && started !== null) {
    return started === holder.startTicks ? { live: true } : { live: false, why: `pid ${holder.pid} is now another process` };
  }
  // No start time (a lock of an older version): a pid whose command line names no resid-norms is not the holder.
  const command = readText(`/proc/${holder.pid}/cmdline`);
  if (command !== undefined && !command.includes('resid-norms')) return { live: false, why: `pid ${holder.pid} is now another process (not resid-norms)` };
  return {
    live: true,
    note: command === undefined ? ` (pid ${holder.pid} is running; this system cannot tell whether it is the process that took the lock)` : '',
  };
}

/** A lock file of an older version held the pid alone: read as a holder on this machine without a start time. */
function parseHolder(text: string, me: LockHolder): LockHolder | undefined {
  if (/^\d{1,9}\n?$/.test(text))
    return { ...me, pid: Number(text), startTicks: null, slurmJob: null, slurmRestarts: 0, command: 'measure', since: 'unknown (a lock of an older version)' };
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (value.format !== LOCK_FORMAT || typeof value.host !== 'string' || !Number.isSafeInteger(value.pid) || value.pid! <= 0) return undefined;
    return {
      format: LOCK_FORMAT,
      host: value.host,
      pid: value.pid!,
      startTicks: Number.isSafeInteger(value.startTicks) ? value.startTicks! : null,
      bootId: typeof value.bootId === 'string' ? value.bootId : null,
      pidNamespace: typeof value.pidNamespace === 'string' ? value.pidNamespace : null,
      slurmJob: typeof value.slurmJob === 'string' ? value.slurmJob : null,
      slurmRestarts: Number.isSafeInteger(value.slurmRestarts) ? value.slurmRestarts! : 0,
      command: typeof value.command === 'string' ? value.command.slice(0, 40) : 'measure',
      since: typeof value.since === 'string' ? value.since.slice(0, 40) : 'unknown',
    };
  } catch {
    return undefined;
  }
}

interface ExistingLock {
  /** undefined: not a lock this tool could have written (garbage, or an older file torn by a kill). */
  holder: LockHolder | undefined;
  inode: number;
  ageMs: number;
}

/** The lock file at `path`, read only if it is a regular file; undefined when it vanished meanwhile. */
function readExisting(path: string, me: LockHolder): ExistingLock | undefined {
  let info: Stats;
  try {
    info = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`cannot read ${quote(path)}: ${(error as NodeJS.ErrnoException).code ?? String(error)}; choose another --out`);
  }
  if (!info.isFile()) {
    const what = info.isSymbolicLink() ? 'a symbolic link' : info.isDirectory() ? 'a folder' : describeSpecial(info);
    throw new UsageError(`${quote(path)} is ${what}, not a lock file resid-norms wrote; remove it, or choose another --out`);
  }
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`cannot read ${quote(path)}: ${(error as NodeJS.ErrnoException).code ?? String(error)}; remove it, or choose another --out`);
  }
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile() || opened.ino !== info.ino) return undefined; // replaced between the two looks: try again
    const bytes = Buffer.alloc(MAX_LOCK_BYTES + 1);
    let length = 0;
    for (let n = 1; n > 0 && length < bytes.length; length += n) n = readSync(fd, bytes, length, bytes.length - length, length);
    const text = length > MAX_LOCK_BYTES ? '' : bytes.subarray(0, length).toString('utf8');
    return { holder: parseHolder(text, me), inode: opened.ino, ageMs: Date.now() - opened.mtimeMs };
  } finally {
    closeSync(fd);
  }
}

/** Create the lock whole, or return false when something is at its name. */
function createLock(path: string, holder: LockHolder): boolean {
  const content = `${JSON.stringify(holder)}\n`;
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temp, path);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EMLINK') throw error;
    }
    // A filesystem without hard links: create the name itself, exclusively (readers allow for a moment of emptiness).
    const fd2 = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    try {
      writeSync(fd2, content);
    } finally {
      closeSync(fd2);
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new UsageError(`cannot write ${quote(path)}: ${describeWriteFailure((error as NodeJS.ErrnoException).code ?? String(error))}; choose another --out`);
  } finally {
    rmSync(temp, { force: true });
  }
}

/**
 * Remove the lock if it is still the file that was judged stale (by inode): moved aside first,
 * so a lock another process made meanwhile is never the one deleted.
 */
function removeStale(path: string, inode: number): void {
  const aside = `${path}.${randomBytes(6).toString('hex')}.stale`;
  try {
    renameSync(path, aside);
  } catch {
    return; // gone already: another process took it over first
  }
  if (lstatSync(aside).ino === inode) {
    rmSync(aside, { force: true });
    return;
  }
  try {
    linkSync(aside, path); // not the one judged: put it back
  } catch {
    // a third process made a lock meanwhile: that one stands
  } finally {
    rmSync(aside, { force: true });
  }
}

/**
 * Take `<out>.lock` for this process; returns the function that releases it. Refuses, in one
 * line naming the holder, when a live process holds it or when its holder is on another host.
 */
export function acquireRunLock(path: string, options: LockOptions = {}): () => void {
  const me = currentHolder(options);
  for (let attempt = 0; attempt < 4; attempt += 1) {
    if (createLock(path, me)) return releaseFor(path);
    const existing = readExisting(path, me);
    if (existing === undefined) continue; // released meanwhile
    const { holder } = existing;
    if (holder === undefined) {
      if (existing.ageMs < FRESH_MS) throw new UsageError(`${quote(path)} is being taken by another process right now; wait for it, or choose another --out`);
      options.warn?.(`${path} held no lock this resid-norms understands; taking it over`);
      removeStale(path, existing.inode);
      continue;
    }
    const verdict = judgeHolder(holder, me);
    if (verdict.live === true) {
      throw new UsageError(
        `another resid-norms process (${describeHolder(holder)}) is ${holder.command === 'measure' ? 'measuring into' : 'writing'} the same --out (${quote(path)})${verdict.note ?? ''}; wait for it, or choose another --out`,
      );
    }
    if (verdict.live === 'unknown') {
      if (!options.takeOver) {
        throw new UsageError(
          `${quote(path)} is held by ${describeHolder(holder)}, which cannot be checked from ${verdict.why}: if that process is gone, rerun with --take-over-lock (or delete the file); otherwise wait for it, or choose another --out`,
        );
      }
      options.warn?.(`--take-over-lock: taking over ${path} from ${describeHolder(holder)}`);
    } else {
      options.warn?.(`taking over ${path} from ${describeHolder(holder)}: ${verdict.why}`);
    }
    removeStale(path, existing.inode);
  }
  throw new UsageError(`cannot take ${quote(path)}: other processes keep taking it; wait for them, or choose another --out`);
}

/** Remove the lock only while it is still this process's (a --take-over-lock elsewhere made it theirs). */
function releaseFor(path: string): () => void {
  const inode = lstatSync(path).ino;
  return () => {
    try {
      if (lstatSync(path).ino === inode) rmSync(path, { force: true });
    } catch {
      // already gone
    }
  };
}
