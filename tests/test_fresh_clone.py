"""Reruns follow changes in a fresh clone, where git has set every file time anew and no
Snakemake metadata exists: the state every user starts from.

A throw-away repository holds the workflow and the committed results of the tiny config;
each test works in a new `git clone` of it and checks one promise of docs/pipeline.md:
nothing changed ⇒ nothing runs and the tree stays clean; one arm's hyperparameter
changed ⇒ exactly that arm's training jobs (and what depends on them) rerun; a deleted
per-seed CSV ⇒ regenerated, byte-identical; Snakemake killed mid-run ⇒ a plain rerun
completes with byte-identical outputs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pipeline_helpers import TINY, TINY_OVERLAY, copy_workflow, digests, planned, snakemake
from test_pipeline_e2e import job_counts

from a2c_repro.checkpoints import KILL_HOOK_ENV

# A development check: it needs git and make (not in the runtime Docker image).
pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or shutil.which("make") is None,
    reason="needs git and make (a development checkout)",
)
OUTPUTS = (".csv", ".png", ".svg", ".json", ".tsv")


def git(cwd, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip
    done = subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True)  # fmt: skip
    return done.stdout


@pytest.fixture(scope="module")
def origin(tmp_path_factory):
    """A repository with the workflow and the tiny config's results committed."""
    repo = copy_workflow(tmp_path_factory.mktemp("origin"))
    shutil.copy2(Path(__file__).resolve().parents[1] / "Makefile", repo / "Makefile")
    first = snakemake(repo, "--cores", "2", "--configfile", *TINY)
    assert first.returncode == 0, first.stderr[-4000:]
    git(repo, "init", "-q")
    (repo / ".gitignore").write_text(".snakemake/\nresults/logs/\n.test/results/logs/\n")
    git(repo, "add", "-A")
    git(repo, "add", "-f", ".test/results", ".test/figures")
    git(repo, "commit", "-qm", "tiny results")
    return repo


@pytest.fixture
def clone(origin, tmp_path):
    git(tmp_path, "clone", "-q", str(origin), "clone")
    return tmp_path / "clone"


def tree(clone) -> dict[str, str]:
    return digests(clone / ".test", OUTPUTS)


def test_fresh_clone_has_nothing_to_do_and_stays_clean(clone):
    plan = snakemake(clone, "-n", "--configfile", *TINY)
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert "Nothing to be done" in plan.stdout + plan.stderr
    run = snakemake(clone, "--configfile", *TINY)
    assert run.returncode == 0, run.stderr[-3000:]
    assert git(clone, "status", "--porcelain") == ""


def test_a_changed_hyperparameter_retrains_exactly_that_arm(clone):
    cfg = yaml.safe_load((clone / TINY_OVERLAY).read_text())
    cfg["experiments"]["main"]["arms"]["episodic"]["set"]["gamma"] = 0.9
    (clone / TINY_OVERLAY).write_text(yaml.safe_dump(cfg, sort_keys=False))
    plan = snakemake(clone, "-n", "--configfile", *TINY)
    assert plan.returncode == 0, plan.stderr[-3000:]
    trained = {r for r in job_counts(plan.stdout) if r.startswith("train_")}
    # the main experiment's episodic arm on each env, nothing else
    want = {j.name for j in planned(clone).jobs if (j.experiment, j.arm) == ("main", "episodic")}
    assert want and trained == want, trained
    before = tree(clone)
    run = snakemake(clone, "--cores", "2", "--configfile", *TINY)
    assert run.returncode == 0, run.stderr[-4000:]
    after = tree(clone)
    changed = {k for k in before if before[k] != after.get(k)}
    assert any("/main/episodic/" in k and k.endswith(".csv") for k in changed)
    assert not any("/one_step/" in k and k.endswith(".csv") for k in changed), changed
    # the provenance record now describes the new config, which made the new results
    assert "results/provenance.json" in changed
    again = snakemake(clone, "-n", "--configfile", *TINY)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_a_deleted_csv_is_regenerated_byte_for_byte(clone):
    csv = next((clone / ".test/results/runs/main/one_step").rglob("seed1.csv"))
    want = csv.read_bytes()
    csv.unlink()
    run = snakemake(clone, "--cores", "2", "--configfile", *TINY)
    assert run.returncode == 0, run.stderr[-4000:]
    assert csv.read_bytes() == want
    assert git(clone, "status", "--porcelain", "--", "*.csv") == ""


def test_snakemake_killed_mid_run_then_a_plain_rerun_completes_identically(clone):
    before = tree(clone)
    env = {**os.environ, KILL_HOOK_ENV: "5:group"}  # a training job kills its process group
    killed = snakemake(clone, "--cores", "1", "--configfile", *TINY, "--forceall",
                       env=env, new_session=True)  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    rerun = snakemake(clone, "--cores", "2", "--configfile", *TINY)
    assert rerun.returncode == 0, rerun.stderr[-4000:]
    assert "Removed the lock of a Snakemake run that was killed" in rerun.stderr
    after = tree(clone)
    csvs = [k for k in before if k.endswith((".csv", ".png", ".svg"))]
    assert [k for k in csvs if before[k] != after.get(k)] == []


def make_reproduce(clone) -> str:
    """`make reproduce` on the tiny configuration, with this interpreter's installed venv."""
    venv = Path(sys.executable).parents[1]
    done = subprocess.run(
        ["make", "reproduce", f"CONFIG={TINY_OVERLAY}", f"VENV={venv}", "CORES=2",
         "-o", f"{venv}/.a2c-repro-installed"],
        cwd=clone, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_make_reproduce_says_what_it_does(clone):
    assert "reproduce: nothing to do, the results are up to date" in make_reproduce(clone)
    assert git(clone, "status", "--porcelain") == ""
    cfg = yaml.safe_load((clone / TINY_OVERLAY).read_text())
    cfg["experiments"]["collapse_study"]["arms"]["entropy_01"]["set"]["entropy_coef"] = 0.2
    (clone / TINY_OVERLAY).write_text(yaml.safe_dump(cfg, sort_keys=False))
    out = make_reproduce(clone)
    # the plan before the run: per experiment, its training jobs and their estimated cost
    assert "Training to run" in out, out
    assert "  collapse_study: 1 training job(s), ~" in out, out
    assert "  main: 0 training job(s)" in out, out
