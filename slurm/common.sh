# Shared by submit-measure.sh and submit-sweep.sh (sourced, not run): checks made on the login
# node before anything is submitted, so a mistake is one line now, not a failed array later.

die() {
  echo "$(basename "$0"): $*" >&2
  exit 2
}

# The command every job runs: RESID_NORMS, else resid-norms on the PATH. Made absolute, so the
# jobs run the same file whatever their PATH and working folder.
find_command() {
  local given=${RESID_NORMS:-resid-norms} found
  found=$(command -v "$given" 2>/dev/null) || die "RESID_NORMS: no command \"$given\" (install resid-norms, e.g. npm install -g <checkout or package>, or set RESID_NORMS=<checkout>/bin/resid-norms.js)"
  case $found in /*) ;; *) found=$(cd "$(dirname "$found")" && pwd -P)/$(basename "$found") ;; esac
  [ -x "$found" ] || die "RESID_NORMS: $found is not executable"
  node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null || die "Node.js >= 20 is needed on the PATH (found: $(node --version 2>/dev/null || echo 'no node')); the jobs need it too (e.g. module load nodejs in ~/.bashrc)"
  "$found" --version >/dev/null 2>&1 || die "RESID_NORMS: $found --version failed (Node.js >= 20 on the PATH? $(node --version 2>/dev/null || echo 'no node'))"
  RESID_NORMS=$found
}

# A local path (a prompt file, a model folder) made absolute: the jobs run in $OUT, not here.
absolute_if_local() {
  local name=$1 value=${!1:-}
  if [ -n "$value" ] && [ -e "$value" ]; then printf -v "$name" '%s' "$(cd "$(dirname "$value")" && pwd -P)/$(basename "$value")"; fi
}

# OUT: required, made absolute, never inside the checkout these recipes came from (its results/
# and examples/ are the project's, and `npm test` checks them), with logs/ created (Slurm does
# not create the folder of --output, and a job whose log cannot be opened fails silently).
prepare_out() {
  [ -n "${OUT:-}" ] || die "OUT: set the output folder, on a filesystem every node shares (e.g. OUT=\$HOME/runs/gpt2-xl)"
  OUT=$(realpath -m -- "$OUT")
  local checkout
  checkout=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
  if [ -f "$checkout/package.json" ] && grep -q '"name": "resid-norms"' "$checkout/package.json"; then
    case $OUT/ in "$checkout"/*) die "OUT: $OUT is inside the resid-norms checkout ($checkout); choose a folder outside it" ;; esac
  fi
  mkdir -p "$OUT/logs" || die "OUT: cannot create $OUT/logs"
}

# TASKS: which array tasks to submit (default: all of 1-$1); e.g. TASKS=3,7 submits those again.
array_tasks() {
  local count=$1 tasks=${TASKS:-1-$1} part
  for part in ${tasks//,/ }; do
    [[ $part =~ ^([0-9]+)(-([0-9]+))?$ ]] || die "TASKS: \"$tasks\" is not a list like 1-8 or 3,7"
    local low=${BASH_REMATCH[1]} high=${BASH_REMATCH[3]:-${BASH_REMATCH[1]}}
    [ "$low" -ge 1 ] && [ "$high" -le "$count" ] && [ "$low" -le "$high" ] || die "TASKS: \"$part\" is outside 1-$count"
  done
  echo "$tasks"
}

# The job id sbatch --parsable printed ("<id>" or "<id>;<cluster>").
job_id() {
  echo "${1%%;*}"
}
