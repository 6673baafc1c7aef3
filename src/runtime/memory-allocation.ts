/**
 * How much anonymous memory a run may take: the default of --max-memory when neither the flag
 * nor RESID_NORMS_MAX_MEMORY is given. A safe share of the room this process has:
 *   - half of the machine's MemAvailable (/proc/meminfo: free memory plus the page cache the
 *     kernel can reclaim): other processes share the machine and may grow;
 *   - 80 % of the room in this process's memory cgroup and its ancestors (limit minus their
 *     anonymous memory; cgroup v2 memory.max, v1 memory.limit_in_bytes): a container's or a
 *     Slurm job's own allocation, which only this job uses;
 *   - 80 % of a Slurm job's SLURM_MEM_PER_NODE (megabytes), for clusters that do not enforce it
 *     with cgroups.
 * The smallest wins. Reading never throws: what cannot be read or parsed is no limit.
 * Also the parser of sizes (4GB, 1.5GiB, 512M), for the flag and the variable.
 */
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { cgroupFolders } from './cpu-allocation.js';

export interface MemoryAllocation {
  bytes: number;
  /** What set it, for messages: "half of MemAvailable", "80 % of the cgroup's room", "80 % of SLURM_MEM_PER_NODE". */
  source: string;
}

export interface MemorySystem {
  /** The text of a /proc or /sys file, or undefined when it cannot be read. */
  readText(path: string): string | undefined;
}

const LINUX: MemorySystem = {
  readText: (path) => {
    try {
      return readFileSync(path, 'utf8').slice(0, 1 << 16);
    } catch {
      return undefined;
    }
  },
};

/** Shares of each kind of room the default takes. */
const MACHINE_SHARE = 0.5;
const ALLOCATION_SHARE = 0.8;
/** When nothing can be read (not Linux): a budget that runs most models whole and streams the rest. */
const FALLBACK_BYTES = 4 * 2 ** 30;

export function allocatedMemory(env: NodeJS.ProcessEnv, system: MemorySystem = LINUX): MemoryAllocation {
  const limits: MemoryAllocation[] = [];
  const available = meminfoField(system.readText('/proc/meminfo'), 'MemAvailable');
  if (available !== undefined) limits.push({ bytes: Math.floor(MACHINE_SHARE * available), source: 'half of MemAvailable' });
  const room = cgroupMemoryRoom(system);
  if (room !== undefined) limits.push({ bytes: Math.floor(ALLOCATION_SHARE * room), source: "80 % of the memory cgroup's room" });
  const slurm = /^\s*(\d{1,12})\s*$/.exec(env.SLURM_MEM_PER_NODE ?? '');
  if (slurm && env.SLURM_JOB_ID !== undefined && Number(slurm[1]) > 0)
    limits.push({ bytes: Math.floor(ALLOCATION_SHARE * Number(slurm[1]) * 2 ** 20), source: '80 % of SLURM_MEM_PER_NODE' });
  if (limits.length === 0) return { bytes: FALLBACK_BYTES, source: 'a fixed 4 GiB (no memory figures could be read)' };
  return limits.reduce((low, limit) => (limit.bytes < low.bytes ? limit : low));
}

function meminfoField(text: string | undefined, field: string): number | undefined {
  const match = text === undefined ? null : new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return match ? Number(match[1]) * 1024 : undefined;
}

/** A cgroup's limits at or above this are "no limit" (v1 writes 2^63 − 4096 for none). */
const NO_LIMIT = 2 ** 60;

/** The least room (limit − anonymous memory in use) of this process's memory cgroup and its ancestors; undefined without a limit. */
export function cgroupMemoryRoom(system: MemorySystem): number | undefined {
  let least: number | undefined;
  for (const { version, folder } of cgroupFolders(system, 'memory')) {
    const limitText = system.readText(posix.join(folder, version === 2 ? 'memory.max' : 'memory.limit_in_bytes'))?.trim();
    if (limitText === undefined || !/^\d+$/.test(limitText)) continue; // "max", or unreadable: no limit here
    const limit = Number(limitText);
    if (limit >= NO_LIMIT) continue;
    const stat = system.readText(posix.join(folder, 'memory.stat')) ?? '';
    const anon = statField(stat, version === 2 ? 'anon' : 'total_rss') ?? statField(stat, 'rss') ?? 0;
    least = Math.min(least ?? Infinity, Math.max(0, limit - anon));
  }
  return least;
}

function statField(text: string, field: string): number | undefined {
  const match = new RegExp(`^${field} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};
/** The largest size accepted (1 PiB): beyond any machine, and exact as a double. */
export const MAX_MEMORY_BYTES = 2 ** 50;

/**
 * A size: a number and a unit, e.g. 4GB (10^9 bytes), 1.5GiB (2^30), 512M (M, G… are binary, as
 * in Slurm's --mem and docker's -m), or a plain number of bytes. Undefined when not one.
 */
export function parseMemorySize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$/i.exec(text);
  if (!match) return undefined;
  const unit = UNITS[(match[2] ?? '').toLowerCase() || 'b'];
  if (unit === undefined) return undefined;
  const bytes = Math.floor(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) && bytes > 0 && bytes <= MAX_MEMORY_BYTES ? bytes : undefined;
}

/**
 * A size for messages: GB, MB or kB with 3 significant digits (decimal units, as the flag's GB);
 * rounded up with 'up' (a budget named as enough must be enough).
 */
export function formatMemorySize(bytes: number, rounding: 'nearest' | 'up' = 'nearest'): string {
  const [unit, name] = bytes >= 1e9 ? [1e9, 'GB'] : bytes >= 1e6 ? [1e6, 'MB'] : [1e3, 'kB'];
  const scaled = bytes / unit;
  const step = 10 ** (Math.floor(Math.log10(Math.max(scaled, 1))) - 2);
  const rounded = rounding === 'up' ? Math.ceil(scaled / step - 1e-9) * step : Math.round(scaled / step) * step;
  return `${Number(rounded.toPrecision(3))} ${name}`;
}
