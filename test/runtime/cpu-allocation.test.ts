import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { allocatedCpus, cgroupCpuQuota, tasksOnThisNode, type CpuSystem } from '../../src/runtime/cpu-allocation.js';

/** A machine with `affinity` CPUs and these /proc and /sys files. */
function system(affinity: number, files: Record<string, string> = {}): CpuSystem {
  return { affinity: () => affinity, readText: (path) => files[path] };
}

const V2_MOUNTS = '30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n';
const V1_MOUNTS = [
  '31 25 0:27 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  // A container: its own group is the mount's root, and the path has a comma and an escaped space.
  '32 25 0:28 /docker/abc /sys/fs/cgroup/cpu,cpuacct\\040x rw,relatime - cgroup cgroup rw,cpu,cpuacct',
].join('\n');

describe('the CPUs this process may use (default of --threads)', () => {
  it('is the CPU affinity when nothing else limits it', () => {
    assert.deepEqual(allocatedCpus({}, system(6)), { count: 6, source: 'the CPU affinity' });
  });

  it("takes Slurm's SLURM_CPUS_PER_TASK, but never more than the affinity allows", () => {
    assert.deepEqual(allocatedCpus({ SLURM_CPUS_PER_TASK: '3', SLURM_JOB_ID: '7' }, system(8)), { count: 3, source: 'SLURM_CPUS_PER_TASK' });
    assert.deepEqual(allocatedCpus({ SLURM_CPUS_PER_TASK: '16' }, system(8)), { count: 8, source: 'the CPU affinity' });
  });

  it('without --cpus-per-task, shares SLURM_CPUS_ON_NODE between the tasks of this node (inside a job only)', () => {
    // A batch script of a job given one CPU on a 2-core node bound to nothing (task/none): one thread, not two.
    assert.deepEqual(allocatedCpus({ SLURM_JOB_ID: '7', SLURM_CPUS_ON_NODE: '1', SLURM_TASKS_PER_NODE: '1' }, system(2)), {
      count: 1,
      source: 'SLURM_CPUS_ON_NODE',
    });
    const step = { SLURM_JOB_ID: '7', SLURM_CPUS_ON_NODE: '8', SLURM_STEP_TASKS_PER_NODE: '4(x2),2', SLURM_TASKS_PER_NODE: '1', SLURM_NODEID: '2' };
    assert.deepEqual(allocatedCpus(step, system(16)), { count: 4, source: 'SLURM_CPUS_ON_NODE over 2 tasks' });
    assert.deepEqual(allocatedCpus({ ...step, SLURM_NODEID: '0' }, system(16)), { count: 2, source: 'SLURM_CPUS_ON_NODE over 4 tasks' });
    assert.equal(allocatedCpus({ SLURM_CPUS_ON_NODE: '1' }, system(4)).count, 4, 'not in a job: a stray variable is ignored');
  });

  it('ignores Slurm variables that are not positive whole numbers', () => {
    for (const value of ['', '0', '-2', 'two', '1.5', '9999999']) {
      assert.equal(allocatedCpus({ SLURM_CPUS_PER_TASK: value, SLURM_JOB_ID: '1', SLURM_CPUS_ON_NODE: value }, system(4)).count, 4, JSON.stringify(value));
    }
  });

  it('reads the tasks of one node from lists like "2(x3),1"', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((node) => tasksOnThisNode('2(x3),1', node)),
      [2, 2, 2, 1, 1],
    );
    assert.equal(tasksOnThisNode('5', 0), 5);
    assert.equal(tasksOnThisNode(undefined, 0), 1);
    assert.equal(tasksOnThisNode('garbage', 0), 1);
  });

  it("takes the cgroup v2 quota of the process's group or any ancestor, rounded down to whole CPUs", () => {
    const files = {
      '/proc/self/cgroup': '0::/user.slice/job.scope\n',
      '/proc/self/mountinfo': V2_MOUNTS,
      '/sys/fs/cgroup/user.slice/job.scope/cpu.max': 'max 100000\n',
      '/sys/fs/cgroup/user.slice/cpu.max': '250000 100000\n',
    };
    assert.equal(cgroupCpuQuota(system(8, files)), 2);
    assert.deepEqual(allocatedCpus({}, system(8, files)), { count: 2, source: "the cgroup's CPU quota" });
    assert.equal(cgroupCpuQuota(system(8, { ...files, '/sys/fs/cgroup/user.slice/job.scope/cpu.max': '50000 100000' })), 1, 'half a CPU is still one thread');
    assert.equal(cgroupCpuQuota(system(8, { ...files, '/sys/fs/cgroup/user.slice/cpu.max': 'max 100000' })), undefined);
  });

  it("takes the cgroup v1 cpu quota, through a mount whose root is the container's group", () => {
    const files = {
      '/proc/self/cgroup': '5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n',
      '/proc/self/mountinfo': V1_MOUNTS,
      '/sys/fs/cgroup/cpu,cpuacct x/cpu.cfs_quota_us': '300000\n',
      '/sys/fs/cgroup/cpu,cpuacct x/cpu.cfs_period_us': '100000\n',
    };
    assert.equal(cgroupCpuQuota(system(8, files)), 3);
    assert.equal(cgroupCpuQuota(system(8, { ...files, '/sys/fs/cgroup/cpu,cpuacct x/cpu.cfs_quota_us': '-1\n' })), undefined);
  });

  it('is no limit when /proc cannot be read or says nothing usable', () => {
    assert.equal(cgroupCpuQuota(system(4)), undefined);
    assert.equal(cgroupCpuQuota(system(4, { '/proc/self/cgroup': 'nonsense', '/proc/self/mountinfo': 'nonsense' })), undefined);
    assert.equal(cgroupCpuQuota(system(4, { '/proc/self/cgroup': '0::/a', '/proc/self/mountinfo': V2_MOUNTS, '/sys/fs/cgroup/a/cpu.max': '0 0' })), undefined);
  });

  it('on this machine, is at least one and at most the affinity', () => {
    const { count } = allocatedCpus({});
    assert.ok(count >= 1 && count <= availableParallelism(), `${count}`);
  });
});
