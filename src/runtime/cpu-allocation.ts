/**
 * How many CPUs this process may use: the default of --threads when neither the flag nor
 * RESID_NORMS_THREADS is given. Node's availableParallelism() sees the CPU affinity (a taskset,
 * Slurm's task/affinity or task/cgroup cpuset) but neither a cgroup's CPU quota (docker --cpus,
 * systemd CPUQuota) nor a Slurm allocation that binds nothing (task/none): a task given one CPU
 * there would otherwise run a thread per core of the node. The smallest of these limits wins.
 * Reading never throws: a file or variable that cannot be read or parsed is no limit.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { posix } from 'node:path';

export interface CpuAllocation {
  count: number;
  /** What set it, for messages: "SLURM_CPUS_PER_TASK", "the CPU affinity", "the cgroup's CPU quota", "the machine's cores". */
  source: string;
}

/** What the limits are read from; tests give their own. */
export interface CpuSystem {
  /** CPUs the process may run on (its affinity mask). */
  affinity(): number;
  /** The text of a /proc or /sys file, or undefined when it cannot be read. */
  readText(path: string): string | undefined;
}

const LINUX: CpuSystem = {
  affinity: () => availableParallelism(),
  readText: (path) => {
    try {
      return readFileSync(path, 'utf8').slice(0, 1 << 16); // /proc and /sys files are small; a bound all the same
    } catch {
      return undefined;
    }
  },
};

export function allocatedCpus(env: NodeJS.ProcessEnv, system: CpuSystem = LINUX): CpuAllocation {
  const limits: CpuAllocation[] = [{ count: Math.max(1, system.affinity()), source: 'the CPU affinity' }];
  const slurm = slurmCpus(env);
  if (slurm) limits.push(slurm);
  const quota = cgroupCpuQuota(system);
  if (quota !== undefined) limits.push({ count: quota, source: "the cgroup's CPU quota" });
  return limits.reduce((low, limit) => (limit.count < low.count ? limit : low));
}

function positiveInt(text: string | undefined): number | undefined {
  if (text === undefined || !/^\s*\d{1,6}\s*$/.test(text)) return undefined;
  const value = Number(text);
  return value > 0 ? value : undefined;
}

/**
 * Slurm's allocation: SLURM_CPUS_PER_TASK when the job asked for --cpus-per-task; else, in a
 * job, SLURM_CPUS_ON_NODE shared by the tasks this node runs (one for a batch script).
 */
function slurmCpus(env: NodeJS.ProcessEnv): CpuAllocation | undefined {
  const perTask = positiveInt(env.SLURM_CPUS_PER_TASK);
  if (perTask !== undefined) return { count: perTask, source: 'SLURM_CPUS_PER_TASK' };
  const onNode = positiveInt(env.SLURM_CPUS_ON_NODE);
  if (onNode === undefined || env.SLURM_JOB_ID === undefined) return undefined;
  const tasks = tasksOnThisNode(env.SLURM_STEP_TASKS_PER_NODE ?? env.SLURM_TASKS_PER_NODE, positiveInt(env.SLURM_NODEID) ?? 0);
  return { count: Math.max(1, Math.floor(onNode / tasks)), source: tasks > 1 ? `SLURM_CPUS_ON_NODE over ${tasks} tasks` : 'SLURM_CPUS_ON_NODE' };
}

/** The tasks of node `nodeIndex` in Slurm's per-node list, e.g. "2(x3),1" (nodes 0–2 run 2, node 3 runs 1). */
export function tasksOnThisNode(list: string | undefined, nodeIndex: number): number {
  let node = 0;
  for (const part of (list ?? '').split(',')) {
    const match = /^(\d+)(?:\(x(\d+)\))?$/.exec(part.trim());
    if (!match) return 1;
    node += Number(match[2] ?? 1);
    if (nodeIndex < node) return Math.max(1, Number(match[1]));
  }
  return 1;
}

/**
 * The tightest CPU quota of this process's cgroup and its ancestors, in whole CPUs (at least
 * one; rounded down, since a thread past the quota only gets the group throttled), or
 * undefined when none is set. cgroup v2's cpu.max ("max 100000" or "150000 100000") and v1's
 * cpu.cfs_quota_us / cpu.cfs_period_us, found through /proc/self/cgroup and mountinfo.
 */
export function cgroupCpuQuota(system: CpuSystem): number | undefined {
  let lowest: number | undefined;
  for (const { version, folder } of cgroupFolders(system, 'cpu')) {
    const quota = version === 2 ? readCpuMax(system, folder) : readCfsQuota(system, folder);
    if (quota !== undefined) lowest = Math.min(lowest ?? Infinity, quota);
  }
  return lowest === undefined ? undefined : Math.max(1, Math.floor(lowest));
}

/**
 * The folders of this process's cgroup and its ancestors up to each mount of the hierarchy
 * holding `controller` (cgroup v2, or v1's mount of that controller), found through
 * /proc/self/cgroup and mountinfo; none when they cannot be read.
 */
export function cgroupFolders(system: Pick<CpuSystem, 'readText'>, controller: 'cpu' | 'memory'): Array<{ version: 1 | 2; folder: string }> {
  const membership = system.readText('/proc/self/cgroup');
  const mounts = system.readText('/proc/self/mountinfo');
  if (membership === undefined || mounts === undefined) return [];
  const folders: Array<{ version: 1 | 2; folder: string }> = [];
  for (const mount of cgroupMounts(mounts, controller)) {
    const line = membership.split('\n').find((entry) => {
      const [id, controllers] = entry.split(':');
      return mount.version === 2 ? id === '0' && controllers === '' : (controllers ?? '').split(',').includes(controller);
    });
    const path = line?.split(':').slice(2).join(':');
    if (path === undefined || !path.startsWith('/')) continue;
    // The mount shows the hierarchy from `root` on (a container sees its own group as /).
    const inside = path === mount.root || path.startsWith(`${mount.root.replace(/\/$/, '')}/`) ? posix.relative(mount.root, path) : path.slice(1);
    for (let folder = posix.join(mount.point, inside); ; folder = posix.dirname(folder)) {
      folders.push({ version: mount.version, folder });
      if (folder === mount.point || folder === '/' || !folder.startsWith(mount.point)) break;
    }
  }
  return folders;
}

function readCpuMax(system: CpuSystem, folder: string): number | undefined {
  const [quota, period] = (system.readText(posix.join(folder, 'cpu.max')) ?? '').trim().split(/\s+/);
  return quotaInCpus(quota, period);
}

function readCfsQuota(system: CpuSystem, folder: string): number | undefined {
  return quotaInCpus(system.readText(posix.join(folder, 'cpu.cfs_quota_us'))?.trim(), system.readText(posix.join(folder, 'cpu.cfs_period_us'))?.trim());
}

function quotaInCpus(quota: string | undefined, period: string | undefined): number | undefined {
  const q = Number(quota);
  const p = Number(period);
  if (quota === undefined || !/^\d+$/.test(quota) || !Number.isFinite(p) || p <= 0 || q <= 0) return undefined; // "max", -1 or nothing: no quota
  return q / p;
}

interface CgroupMount {
  version: 1 | 2;
  root: string;
  point: string;
}

/** cgroup2 mounts and v1 mounts of `controller`, from /proc/self/mountinfo. */
function cgroupMounts(mountinfo: string, controller: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    if (before === undefined || after === undefined) continue;
    const fields = before.split(' ');
    const [type, , options] = after.split(' ');
    const root = unescapeMountPath(fields[3]);
    const point = unescapeMountPath(fields[4]);
    if (root === undefined || point === undefined) continue;
    if (type === 'cgroup2') mounts.push({ version: 2, root, point });
    else if (type === 'cgroup' && (options ?? '').split(',').includes(controller)) mounts.push({ version: 1, root, point });
  }
  return mounts;
}

/** mountinfo writes space, tab, newline and backslash as octal escapes (\040). */
function unescapeMountPath(field: string | undefined): string | undefined {
  return field?.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}
