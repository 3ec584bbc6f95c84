# The plan: the config checked (schema, then the engine's own checks of every arm's
# hyperparameters and env) and turned into training jobs by a2c_repro.experiments. It runs
# when the workflow is parsed, before any job starts: a bad config stops the run with a
# one-line message naming the key, and nothing is written.
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

try:
    from a2c_repro import checkout
    from a2c_repro.envs import env_dims
    from a2c_repro.experiments import PlanError, analysis_outputs, load_and_plan
    from a2c_repro.experiments import claim_csvs, collapse_definition, summary, targets
    from a2c_repro.layout import out_dir_of
except ImportError as exc:
    raise WorkflowError(
        f"cannot import the a2c-repro engine ({exc}); run Snakemake from the project's "
        "environment (`make install`, the Docker image or environment.yml)"
    ) from None

try:
    PLAN = load_and_plan(
        config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml", env_dims
    )
except PlanError as exc:
    raise WorkflowError(str(exc)) from None

if workflow.is_main_process:
    checkout.remove_stale_locks()
    checkout.equalize_checkout_times(
        sorted(
            {e.results_dir for e in PLAN.experiments.values()}
            | {e.figures_dir for e in PLAN.experiments.values()}
        )
    )
    # Before a long run, say how long. Snakemake settles its targets and --forceall only
    # after parsing, so these are read from the command line: the training jobs of the named
    # experiments (all by default) whose outputs are missing, or all with --forceall.
    _args = sys.argv[1:]
    _jobs = PLAN.jobs_for(set(_args) & set(PLAN.experiments) or PLAN.experiments)
    if not {"-F", "--forceall"} & set(_args):
        _jobs = [
            j for j in _jobs if not all(Path(f).exists() for f in (*j.csvs, j.record))
        ]
    if _jobs:
        print(
            "Training to run (CPU time estimated from results/benchmarks):",
            *summary(PLAN, [j.name for j in _jobs], workflow.cores or 1),
            sep="\n",
            file=sys.stderr,
        )


def engine_out_dir(wildcards, output):
    """The job's `a2c-repro train --out`, from its outputs (Snakemake wants a path prefix of
    the outputs derived from them, not a string, for runs without a shared filesystem).
    """
    return str(out_dir_of(output.csvs[0]))
