#!/usr/bin/env bash
# Measure one model over many nodes: a Slurm job array of `resid-norms measure --shard i/n`
# tasks, and a merge into $OUT/results.json (+ its two tables) once they have all ended.
# Run on a login node; everything goes to $OUT, which every node must see (a shared filesystem).
#
#   MODEL=gpt2-xl PROMPTS=$HOME/pile.jsonl OUT=$HOME/runs/gpt2-xl SHARDS=8 slurm/submit-measure.sh
#
# MODEL     alias, owner/name[@revision] or model folder (required)
# PROMPTS   prompt file, table or hf://datasets/… (default: the built-in prompts)
# OUT       output folder (required): shards/, logs/, results.json
# SHARDS    shards = array tasks (default 8, at most 10000)
# TASKS     only these tasks, e.g. 3,7 to finish the ones that did not (default: 1-$SHARDS)
# MEASURE_FLAGS   more `measure` flags, split on spaces, e.g. "--batch-size 16 --max-tokens 512"
# CPUS_PER_TASK   --cpus-per-task of each task (the tool runs as many threads)
# RESID_NORMS     the command (default: resid-norms on the PATH; or <checkout>/bin/resid-norms.js)
# Partition, account, time limit …: sbatch's own variables (SBATCH_PARTITION, SBATCH_ACCOUNT,
# SBATCH_TIMELIMIT …) or flags in SBATCH_FLAGS (split on spaces).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=common.sh
. "$here/common.sh"

[ -n "${MODEL:-}" ] || die "MODEL: set the model (an alias, owner/name[@revision] or a folder)"
SHARDS=${SHARDS:-8}
[[ $SHARDS =~ ^[0-9]+$ ]] && [ "$SHARDS" -ge 1 ] && [ "$SHARDS" -le 10000 ] || die "SHARDS: \"$SHARDS\" is not a number from 1 to 10000"
tasks=$(array_tasks "$SHARDS")
prepare_out
mkdir -p "$OUT/shards"
find_command
absolute_if_local MODEL
absolute_if_local PROMPTS
export RESID_NORMS MODEL PROMPTS OUT SHARDS MEASURE_FLAGS

# shellcheck disable=SC2086
array=$(job_id "$(sbatch --parsable --job-name=resid-norms-measure --array="$tasks" --chdir="$OUT" \
  --output="$OUT/logs/%x-%A_%a.out" ${CPUS_PER_TASK:+--cpus-per-task="$CPUS_PER_TASK"} ${SBATCH_FLAGS:-} "$here/measure-shard.sbatch")")
# shellcheck disable=SC2086
merge=$(job_id "$(sbatch --parsable --export=ALL,ARRAY_JOB="$array" --job-name=resid-norms-merge \
  --dependency=afterany:"$array" --chdir="$OUT" --output="$OUT/logs/%x-%j.out" ${SBATCH_FLAGS:-} "$here/merge-shards.sbatch")")
echo "array job $array: tasks $tasks of $SHARDS shards of $MODEL into $OUT/shards/ (logs in $OUT/logs/)"
echo "merge job $merge: $OUT/results.json once every task has ended"
