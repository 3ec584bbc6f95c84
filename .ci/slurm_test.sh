#!/usr/bin/env bash
# Live SLURM test of workflow/profiles/slurm, no mock:
#   1. installs slurm-wlm slurmdbd munge mariadb-server from Debian if missing,
#   2. starts a one-node SLURM with accounting on localhost (.ci/slurm/cluster.sh),
#   3. runs the tiny pipeline (.test/config/config.yaml) once locally and once
#      through `--profile workflow/profiles/slurm`, in two copies of the repo,
#   4. asserts that every pipeline job went through SLURM (sacct lists it,
#      COMPLETED, under this run's ID) and that every CSV under .test/results is
#      byte-identical between the two runs,
#   5. stops every daemon it started, by PID, on any exit.
# Needs root on Debian bookworm and the project's Python environment (snakemake,
# snakemake-executor-plugin-slurm, the a2c-repro console script). Python: $PYTHON,
# else <repo>/.venv/bin/python if it exists, else python3 on PATH.
# Usage: bash .ci/slurm_test.sh   (5-8 minutes on 2 cores, plus the apt-get install)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
# shellcheck source=slurm/cluster.sh
source "$HERE/slurm/cluster.sh"
ci_init slurm-test

TINY=.test/config/config.yaml
CONFIG=("$TINY") # the tiny configuration: an overlay merged onto config/config.yaml
RESULTS=.test/results

WORK=$(mktemp -d /tmp/a2c-slurm.XXXXXX)
ci_on_exit cluster_down "cluster: $WORK/cluster/logs"

# --------------------------------------------------------------------------
step "SLURM, munge and MariaDB from Debian"
cluster_install
echo "slurm: $(sinfo --version 2>/dev/null || slurmctld -V)"

step "Python environment"
if [[ -z ${PYTHON:-} ]]; then
    if [[ -x $REPO/.venv/bin/python ]]; then PYTHON=$REPO/.venv/bin/python; else PYTHON=$(command -v python3); fi
fi
# The SLURM jobs inherit this PATH (sbatch --export=ALL) and run the same Python.
PYBIN=$(dirname "$PYTHON")
export PATH=$PYBIN:$PATH
"$PYTHON" - <<'PY' || fail "the Python environment lacks snakemake or snakemake-executor-plugin-slurm (pip install -r requirements.lock, or the 'slurm' extra)"
import importlib.metadata as md, sys
for dist in ("snakemake", "snakemake-executor-plugin-slurm", "snakemake-executor-plugin-slurm-jobstep"):
    print(f"{dist} {md.version(dist)}")
print("python", sys.executable)
PY
command -v a2c-repro >/dev/null || fail "the a2c-repro console script is not on PATH (pip install -e . in $PYBIN's environment)"
[[ -f $REPO/Snakefile && -f $REPO/$TINY ]] || fail "no Snakefile or $TINY in $REPO"

step "Two copies of the repository (tracked and unignored files): local/ and slurm/"
mkdir -p "$WORK/local"
(cd "$REPO" && git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do
        # skip deleted files and the outputs of full runs (not needed by the tiny run)
        if [[ -e $f && $f != results/* && $f != figures/* && $f != sweep/* ]]; then printf '%s\0' "$f"; fi
    done \
    | tar --null -T - -cf -) | tar -xf - -C "$WORK/local"
rm -rf "$WORK/local/.test/results" "$WORK/local/.test/figures"
cp -a "$WORK/local" "$WORK/slurm"   # one snapshot, so both runs see the same files
echo "copied $(cd "$WORK/local" && find . -type f | wc -l) files into each of $WORK/{local,slurm}"

# Each run imports the engine from its own copy (src/ before any installed
# a2c_repro), so the two runs use the very same code even if the working tree
# changes while the test runs. The SLURM jobs inherit PYTHONPATH.
engine_from() {
    PYTHONPATH=$WORK/$1/src${PYTHONPATH:+:$PYTHONPATH} "$PYTHON" -c \
        'import a2c_repro, os; print(os.path.dirname(a2c_repro.__file__))'
}
[[ $(engine_from local) == "$WORK/local/src/a2c_repro" ]] \
    || fail "a2c_repro is not imported from the copy's src/ (got $(engine_from local))"
echo "each run imports a2c_repro from its own copy's src/"

step "Start the one-node cluster"
cluster_up "$WORK/cluster"

step "srun hostname through SLURM"
host=$(srun -N1 -n1 -t 1 hostname) || fail "srun hostname failed"
[[ -n $host ]] || fail "srun hostname printed nothing"
echo "srun ran on: $host"

# --------------------------------------------------------------------------
step "Tiny pipeline, local run (--cores 2)"
(cd "$WORK/local" && export PYTHONPATH=$WORK/local/src${PYTHONPATH:+:$PYTHONPATH} \
    && "$PYTHON" -m snakemake --cores 2 --configfile "${CONFIG[@]}" --quiet progress) \
    >"$WORK/local.log" 2>&1 || { tail -n 40 "$WORK/local.log" >&2; fail "local pipeline run failed"; }
tail -n 3 "$WORK/local.log"

step "Jobs the SLURM run must submit (dry run)"
(cd "$WORK/slurm" && "$PYTHON" -m snakemake -n --cores 2 --configfile "${CONFIG[@]}" --quiet rules) \
    >"$WORK/dryrun.log" 2>&1 || { cat "$WORK/dryrun.log" >&2; fail "dry run failed"; }
# First "Job stats" table: "<rule> <count>" rows; the target rules (`all` and one per
# experiment) run no command and are never submitted.
awk '/^job +count/{t=1; next} t && $1 == "total" {exit} t && NF==2 && $2 ~ /^[0-9]+$/ && $1 !~ /^(total|all|main|collapse_study|fidelity)$/ {print $1, $2}' \
    "$WORK/dryrun.log" | sort >"$WORK/expected_rules.txt"
expected_jobs=$(awk '{s += $2} END {print s + 0}' "$WORK/expected_rules.txt")
((expected_jobs > 0)) || { cat "$WORK/dryrun.log" >&2; fail "the dry run lists no job to submit"; }
echo "$expected_jobs jobs over $(wc -l <"$WORK/expected_rules.txt") rules"

step "Tiny pipeline through SLURM (--profile workflow/profiles/slurm)"
# SBATCH_ACCOUNT/SBATCH_PARTITION are what a user exports; the profile maps
# them to slurm_account/slurm_partition. --jobs 2: the node has 2 CPUs.
# First status check 2 s after a submission (profile: 20 s): the jobs are short.
# --retries 0: a job that fails fails the test (the profile retries once).
(cd "$WORK/slurm" && export PYTHONPATH=$WORK/slurm/src${PYTHONPATH:+:$PYTHONPATH} \
    && SBATCH_ACCOUNT=$SLURM_TEST_ACCOUNT SBATCH_PARTITION=$SLURM_PARTITION_NAME \
    "$PYTHON" -m snakemake --profile workflow/profiles/slurm --configfile "${CONFIG[@]}" \
    --jobs 2 --retries 0 --slurm-init-seconds-before-status-checks 2 --slurm-keep-successful-logs) \
    >"$WORK/slurm.log" 2>&1 || {
    tail -n 60 "$WORK/slurm.log" >&2
    for f in $(sed -n 's/.*log: \(.*\) (check log file.*/\1/p' "$WORK/slurm.log" | sort -u); do
        [[ $f == /* ]] || f=$WORK/slurm/$f
        [[ -f $f ]] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }
    done
    fail "pipeline run through SLURM failed"
}
tail -n 3 "$WORK/slurm.log"
run_id=$(sed -n 's/.*SLURM run ID: \([0-9a-f-]*\).*/\1/p' "$WORK/slurm.log" | head -n 1)
[[ -n $run_id ]] || fail "no 'SLURM run ID' in the Snakemake log: did the slurm executor run?"
echo "SLURM run ID (sbatch --job-name): $run_id"

# --------------------------------------------------------------------------
step "sacct lists every pipeline job, COMPLETED, under this run ID"
sacct -X -P -n --name "$run_id" -S now-1days -o JobID,JobName,Account,Partition,AllocCPUS,ReqMem,Timelimit,Elapsed,State,ExitCode,Comment \
    >"$WORK/sacct.txt" || fail "sacct failed"
echo "JobID|JobName|Account|Partition|AllocCPUS|ReqMem|Timelimit|Elapsed|State|ExitCode|Comment"
cat "$WORK/sacct.txt"
submitted=$(grep -c 'has been submitted with SLURM jobid' "$WORK/slurm.log" || true)
n_sacct=$(wc -l <"$WORK/sacct.txt")
((n_sacct == submitted)) || fail "Snakemake submitted $submitted jobs but sacct lists $n_sacct"
bad=$(awk -F'|' '$9 != "COMPLETED" || $10 != "0:0"' "$WORK/sacct.txt")
[[ -z $bad ]] || fail "jobs not COMPLETED with exit 0:0:"$'\n'"$bad"
# Rule names from the comment the plugin sets: rule_<name>[_wildcards_<values>].
awk -F'|' '{sub(/^rule_/, "", $11); sub(/_wildcards_.*/, "", $11); n[$11]++} END {for (r in n) print r, n[r]}' \
    "$WORK/sacct.txt" | sort >"$WORK/sacct_rules.txt"
if ! diff "$WORK/expected_rules.txt" "$WORK/sacct_rules.txt" >"$WORK/rules.diff"; then
    cat "$WORK/rules.diff" >&2
    fail "the jobs in sacct (>) differ from the jobs of the dry run (<)"
fi
echo "OK: all $expected_jobs pipeline jobs ran as SLURM jobs, as sacct records them"

step "CSV outputs byte-identical between the local and the SLURM run"
(cd "$WORK/local" && find "$RESULTS" -type f -name '*.csv' | sort) >"$WORK/csv_local.txt"
(cd "$WORK/slurm" && find "$RESULTS" -type f -name '*.csv' | sort) >"$WORK/csv_slurm.txt"
n_csv=$(wc -l <"$WORK/csv_local.txt")
((n_csv > 0)) || fail "the local run wrote no CSV under $RESULTS"
diff "$WORK/csv_local.txt" "$WORK/csv_slurm.txt" >&2 || fail "the two runs wrote different sets of CSVs"
differ=0
while IFS= read -r f; do
    cmp -s "$WORK/local/$f" "$WORK/slurm/$f" || { echo "DIFFERS: $f" >&2; differ=$((differ + 1)); }
done <"$WORK/csv_local.txt"
((differ == 0)) || fail "$differ of $n_csv CSVs differ between the local and the SLURM run"
echo "OK: $n_csv CSVs byte-identical"
# Figures are not asserted (the byte-identity promise is for CSVs); say how they compare.
same=0 total=0
while IFS= read -r f; do
    total=$((total + 1)); cmp -s "$WORK/local/$f" "$WORK/slurm/$f" && same=$((same + 1))
done < <(cd "$WORK/local" && find .test/figures -type f 2>/dev/null | sort)
echo "(for information: $same of $total figure files are byte-identical too)"
