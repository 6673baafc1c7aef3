#!/usr/bin/env bash
# Installs what the tests of the Slurm recipes (test/slurm) need: Debian's slurm-wlm and munge,
# from which scripts/slurm-test-cluster.sh starts a one-node cluster. Does nothing when they are
# installed already. Needs root (or sudo) to install; CI runs it as root from .ci/run.
set -euo pipefail

if [[ -x /usr/sbin/slurmctld && -x /usr/sbin/slurmd && -x /usr/sbin/munged ]] && command -v sbatch >/dev/null 2>&1; then
  echo "install-slurm: $(/usr/sbin/slurmctld -V) and munge are installed"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-slurm: no Slurm and no apt-get; install slurm-wlm and munge" >&2
  exit 1
fi
sudo=""
if [[ "$(id -u)" -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-slurm: installing Slurm needs root (or sudo)" >&2
    exit 1
  fi
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# The packages' own services stay off in a container; slurm-test-cluster.sh starts its own daemons.
$sudo apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
echo "install-slurm: installed $(/usr/sbin/slurmctld -V)"
