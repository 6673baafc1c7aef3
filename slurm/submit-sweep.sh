#!/usr/bin/env bash
# A sweep over many models or checkpoints on many nodes: `sweep --prepare` here (the plan, and a
# dataset of prompts downloaded once), a Slurm job array of one `sweep --member i` per member,
# and `sweep --collect` once they have all ended. Run on a login node that can reach the Hub;
# $OUT and the Hugging Face cache must be on a filesystem every node shares.
#
#   MODELS=pythia-160m REVISIONS=pythia-log PROMPTS=hf://datasets/NeelNanda/pile-10k \
#     SWEEP_FLAGS="--sample 500" EVICT=1 OUT=$HOME/sweeps/pythia-160m slurm/submit-sweep.sh
#
# MODELS     comma-separated models: aliases, owner/name[@revision] or folders (required)
# REVISIONS  revisions of every model, or pythia-all / pythia-log (default: none)
# PROMPTS    prompt file, table or hf://datasets/… (default: the built-in prompts)
# OUT        the sweep folder (required): sweep-plan.json, members/, logs/, sweep.json, figures/
# SWEEP_FLAGS    flags of the plan, the same for --prepare and every member, split on spaces
#                (e.g. "--sample 500 --max-tokens 512 --batch-size 16")
# EVICT          non-empty: each task deletes its member's weights from the cache once measured
# COLLECT_FLAGS  flags of --collect only (e.g. "--hook resid_post --bootstrap 2000")
# TASKS          only these members, e.g. 7,12 to retry the ones that failed (default: all)
# CPUS_PER_TASK, SBATCH_FLAGS, SBATCH_* and RESID_NORMS: as in submit-measure.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=common.sh
. "$here/common.sh"

[ -n "${MODELS:-}" ] || die "MODELS: set the models (comma-separated aliases, owner/name[@revision] or folders)"
prepare_out
find_command
absolute_if_local PROMPTS
models=()
for model in ${MODELS//,/ }; do
  absolute_if_local model
  models+=("$model")
done
MODELS=$(IFS=,; echo "${models[*]}")
export RESID_NORMS MODELS REVISIONS PROMPTS OUT SWEEP_FLAGS EVICT COLLECT_FLAGS

# The plan and the prompts, once, here; the members of the plan say how many tasks to submit.
# shellcheck disable=SC2086
"$RESID_NORMS" sweep --models "$MODELS" ${REVISIONS:+--revisions "$REVISIONS"} ${PROMPTS:+--prompts "$PROMPTS"} ${SWEEP_FLAGS:-} -o "$OUT" --prepare
members=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).members.length)' "$OUT/sweep-plan.json")
tasks=$(array_tasks "$members")

# shellcheck disable=SC2086
array=$(job_id "$(sbatch --parsable --job-name=resid-norms-sweep --array="$tasks" --chdir="$OUT" \
  --output="$OUT/logs/%x-%A_%a.out" ${CPUS_PER_TASK:+--cpus-per-task="$CPUS_PER_TASK"} ${SBATCH_FLAGS:-} "$here/sweep-member.sbatch")")
# shellcheck disable=SC2086
collect=$(job_id "$(sbatch --parsable --job-name=resid-norms-collect --dependency=afterany:"$array" --chdir="$OUT" \
  --output="$OUT/logs/%x-%j.out" ${SBATCH_FLAGS:-} "$here/sweep-collect.sbatch")")
echo "array job $array: members $tasks of $members into $OUT/members/ (logs in $OUT/logs/)"
echo "collect job $collect: $OUT/sweep.json and $OUT/figures/ once every task has ended"
