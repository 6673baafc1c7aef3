#!/usr/bin/env bash
# A one-node Slurm cluster in a folder of its own, for the tests of examples/slurm/
# (test/cluster/*.test.ts) and for trying the recipes by hand:
#
#   scripts/slurm-test-cluster.sh start [folder]   # prints SLURM_CONF=<folder>/slurm.conf; then
#   SLURM_CONF=<folder>/slurm.conf sbatch …        # any Slurm client command, against this cluster
#   scripts/slurm-test-cluster.sh stop <folder>    # cancels its jobs, stops its daemons, removes the folder
#
# It runs munged, slurmctld and slurmd as root (Debian's munge and slurm-wlm), with a munge key,
# socket, state, spool, logs and pid files inside the folder and free TCP ports chosen by the
# kernel, so several clusters (two test runs side by side) never meet, and nothing of the host's
# own /etc/slurm, /etc/munge or /run is used. No cgroup plugin (proctrack/linuxproc, task/none),
# so it starts in a container too. Every wait is bounded; `stop` ends only the processes this
# cluster started (found by the folder's path in their environment) and leaves everything else.
set -euo pipefail

WAIT_SECONDS=${SLURM_TEST_CLUSTER_WAIT:-30}

die() { echo "slurm-test-cluster: $*" >&2; exit 1; }

# Processes whose environment names this cluster's folder: its daemons (started with
# RESID_NORMS_TEST_CLUSTER=<folder>), their slurmstepd and the jobs (submitted with SLURM_CONF=<folder>/…).
cluster_pids() {
  local folder=$1 pid
  for pid in /proc/[0-9]*; do
    pid=${pid#/proc/}
    [ "$pid" != $$ ] || continue
    if { tr '\0' '\n' < "/proc/$pid/environ"; } 2>/dev/null | grep -qxF -e "RESID_NORMS_TEST_CLUSTER=$folder" -e "SLURM_CONF=$folder/slurm.conf"; then
      echo "$pid"
    fi
  done
}

# Wait (polling, at most WAIT_SECONDS) until "$@" succeeds.
wait_for() {
  local what=$1 deadline=$((SECONDS + WAIT_SECONDS))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}

node_is_idle() { [ "$(sinfo --noheader --nodes="$NODE" --format=%t 2>/dev/null)" = idle ]; }

start() {
  [ "$(id -u)" = 0 ] || die "needs root (munged, slurmctld and slurmd run as root here)"
  local bin
  for bin in munged mungekey slurmctld slurmd sbatch scontrol sinfo node; do
    command -v "$bin" >/dev/null || [ -x "/usr/sbin/$bin" ] || die "$bin is not installed (Debian: apt-get install munge slurm-wlm)"
  done
  export PATH="$PATH:/usr/sbin"
  local folder=${1:-}
  if [ -z "$folder" ]; then folder=$(mktemp -d "${TMPDIR:-/tmp}/slurm-test-cluster.XXXXXX"); else mkdir -p "$folder"; fi
  folder=$(cd "$folder" && pwd -P)
  [ -z "$(ls -A "$folder")" ] || die "$folder is not empty"
  chmod 700 "$folder"
  mkdir -m 700 "$folder/munge" "$folder/state" "$folder/spool" "$folder/log"
  export RESID_NORMS_TEST_CLUSTER=$folder SLURM_CONF=$folder/slurm.conf
  NODE=$(hostname -s)

  # Two free ports from the kernel (slurmctld's and slurmd's).
  local ports
  ports=$(node -e '
    const net = require("node:net");
    const servers = [net.createServer(), net.createServer()];
    let left = servers.length;
    for (const server of servers) server.listen(0, "127.0.0.1", () => { if (--left === 0) { console.log(servers.map((s) => s.address().port).join(" ")); servers.forEach((s) => s.close()); } });
  ')
  local ctld_port=${ports% *} slurmd_port=${ports#* }

  mungekey --create --keyfile="$folder/munge/munge.key" >/dev/null
  munged --socket="$folder/munge/socket" --key-file="$folder/munge/munge.key" --pid-file="$folder/munge/munged.pid" \
    --seed-file="$folder/munge/seed" --log-file="$folder/log/munged.log" --force 2>>"$folder/log/munged.log" ||
    die "munged did not start: $(tail -3 "$folder/log/munged.log")"

  local cpus memory
  # More task slots than cores (config_overrides): the tests' tasks are small and mostly wait,
  # and each still gets one allocated CPU (SLURM_CPUS_ON_NODE=1).
  cpus=${SLURM_TEST_CLUSTER_CPUS:-8}
  memory=$(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024 / 2))
  cat > "$folder/slurm.conf" <<EOF
# written by scripts/slurm-test-cluster.sh: a one-node test cluster in $folder
ClusterName=resid-norms-test
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire: how long a requeued job waits before it may start again (120 s by default)
AuthInfo=socket=$folder/munge/socket,cred_expire=5
StateSaveLocation=$folder/state
SlurmdSpoolDir=$folder/spool
SlurmctldPidFile=$folder/slurmctld.pid
SlurmdPidFile=$folder/slurmd.pid
SlurmctldLogFile=$folder/log/slurmctld.log
SlurmdLogFile=$folder/log/slurmd.log
MailProg=/bin/true
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,sched_min_interval=100000,batch_sched_delay=0
ReturnToService=2
SlurmdParameters=config_overrides
KillWait=30
MinJobAge=600
PlugStackConfig=$folder/plugstack.conf
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=test Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
  : > "$folder/plugstack.conf"

  slurmctld -f "$folder/slurm.conf" -i 2>>"$folder/log/slurmctld.log" || die "slurmctld did not start: $(tail -3 "$folder/log/slurmctld.log")"
  wait_for slurmctld scontrol ping || die "slurmctld did not answer in ${WAIT_SECONDS}s: $(tail -3 "$folder/log/slurmctld.log")"
  slurmd -f "$folder/slurm.conf" -N "$NODE" 2>>"$folder/log/slurmd.log" || die "slurmd did not start: $(tail -3 "$folder/log/slurmd.log")"
  wait_for slurmd node_is_idle || die "the node did not become idle in ${WAIT_SECONDS}s: $(tail -3 "$folder/log/slurmd.log")"
  echo "SLURM_CONF=$folder/slurm.conf"
}

stop() {
  local folder=${1:-}
  [ -n "$folder" ] && [ -f "$folder/slurm.conf" ] || die "usage: $0 stop <folder of a cluster this script started>"
  folder=$(cd "$folder" && pwd -P)
  grep -q '^# written by scripts/slurm-test-cluster.sh' "$folder/slurm.conf" || die "$folder/slurm.conf was not written by this script"
  export PATH="$PATH:/usr/sbin" SLURM_CONF=$folder/slurm.conf
  scancel --quiet --full --user="$(id -un)" 2>/dev/null || true
  local pids deadline=$((SECONDS + WAIT_SECONDS))
  pids=$(cluster_pids "$folder")
  [ -z "$pids" ] || kill -TERM $pids 2>/dev/null || true
  while pids=$(cluster_pids "$folder"); [ -n "$pids" ]; do
    if [ $SECONDS -ge $deadline ]; then kill -KILL $pids 2>/dev/null || true; break; fi
    sleep 0.1
  done
  # munged does not inherit the marker (it is started before it is set? no: it is, but be sure)
  local pidfile
  for pidfile in "$folder/munge/munged.pid" "$folder/slurmctld.pid" "$folder/slurmd.pid"; do
    [ -f "$pidfile" ] && kill -TERM "$(cat "$pidfile")" 2>/dev/null || true
  done
  rm -rf "$folder"
}

case ${1:-} in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) die "usage: $0 start [folder] | stop <folder>" ;;
esac
