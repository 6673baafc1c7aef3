import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allocatedMemory, cgroupMemoryRoom, formatMemorySize, type MemorySystem } from '../../src/runtime/memory-allocation.js';

function system(files: Record<string, string>): MemorySystem {
  return { readText: (path) => files[path] };
}

const MEMINFO = 'MemTotal:       24683772 kB\nMemFree:         8000000 kB\nMemAvailable:   20000000 kB\n';
const V2 = {
  '/proc/meminfo': MEMINFO,
  '/proc/self/cgroup': '0::/job/step\n',
  '/proc/self/mountinfo': '30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n',
};
const V1 = {
  '/proc/meminfo': MEMINFO,
  '/proc/self/cgroup': '4:memory:/process_api/abc\n1:cpu:/\n',
  '/proc/self/mountinfo': '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n',
};

describe('the memory a run may take (default of --max-memory)', () => {
  it('is half of MemAvailable on a machine without limits', () => {
    assert.deepEqual(allocatedMemory({}, system({ '/proc/meminfo': MEMINFO })), { bytes: 10_240_000_000, source: 'half of MemAvailable' });
  });

  it("takes 80 % of a cgroup v2 group's room (limit less its anonymous memory), the tightest of the group and its ancestors", () => {
    const files = {
      ...V2,
      '/sys/fs/cgroup/job/step/memory.max': 'max\n',
      '/sys/fs/cgroup/job/memory.max': `${4 * 2 ** 30}\n`,
      '/sys/fs/cgroup/job/memory.stat': `anon ${2 ** 30}\nfile ${3 * 2 ** 30}\n`,
    };
    assert.equal(cgroupMemoryRoom(system(files)), 3 * 2 ** 30, 'the page cache is not counted against the room');
    assert.deepEqual(allocatedMemory({}, system(files)), { bytes: Math.floor(0.8 * 3 * 2 ** 30), source: "80 % of the memory cgroup's room" });
  });

  it('reads cgroup v1, where "no limit" is written as a huge number', () => {
    const unlimited = { ...V1, '/sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes': '9223372036854771712\n' };
    assert.equal(cgroupMemoryRoom(system(unlimited)), undefined);
    const limited = {
      ...unlimited,
      '/sys/fs/cgroup/memory/process_api/memory.limit_in_bytes': '2000000000\n',
      '/sys/fs/cgroup/memory/process_api/memory.stat': 'cache 5\nrss 100\ntotal_rss 500000000\n',
    };
    assert.equal(cgroupMemoryRoom(system(limited)), 1_500_000_000);
  });

  it("takes 80 % of a Slurm job's SLURM_MEM_PER_NODE (megabytes), inside a job only", () => {
    const files = system({ '/proc/meminfo': MEMINFO });
    assert.deepEqual(allocatedMemory({ SLURM_JOB_ID: '9', SLURM_MEM_PER_NODE: '4000' }, files), {
      bytes: Math.floor(0.8 * 4000 * 2 ** 20),
      source: '80 % of SLURM_MEM_PER_NODE',
    });
    assert.equal(allocatedMemory({ SLURM_MEM_PER_NODE: '4000' }, files).source, 'half of MemAvailable');
    assert.equal(allocatedMemory({ SLURM_JOB_ID: '9', SLURM_MEM_PER_NODE: 'lots' }, files).source, 'half of MemAvailable');
  });

  it('falls back to a fixed 4 GiB when nothing can be read', () => {
    assert.equal(allocatedMemory({}, system({})).bytes, 4 * 2 ** 30);
  });

  it('names sizes in decimal units to 3 digits, rounded up when a budget must be enough', () => {
    assert.equal(formatMemorySize(1_234_567_890), '1.23 GB');
    assert.equal(formatMemorySize(1_234_567_890, 'up'), '1.24 GB');
    assert.equal(formatMemorySize(167_000_001, 'up'), '168 MB');
    assert.equal(formatMemorySize(999_999_999, 'up'), '1000 MB');
    assert.equal(formatMemorySize(31_000), '31 kB');
  });
});
