"""The committed results are what the committed code produces, and what the configs ask for.

Every committed training job left a record (`records/seeds-<seeds>.<key>.json`) holding its
run's identity: engine version, variant, env, seeds, episodes, every hyperparameter. For every
record of the fast engine, every one of its seeds is retrained for a few episodes and must give
the committed CSV's first rows byte for byte (a seed's CSV for N episodes is the first N rows
of its CSV for more: nothing in a run depends on the episode budget; and a seed's bits do not
depend on the group it is trained in, so all seeds of one configuration train in one call).
The notebook engine's runs are PyTorch's, reproducible on one CPU only: they are checked for
their record, not their bits. And each experiment's config, read by the workflow, must find
every training job up to date: no committed run was made with other settings.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from pipeline_helpers import REPO, copy_workflow, digests, snakemake
from test_pipeline_e2e import job_counts

from a2c_repro import apply_overrides, default_config, train
from a2c_repro.run_key import ENGINE_VERSION, run_key

EPISODES = 3
RUNS = REPO / "results" / "runs"
RECORDS = sorted(RUNS.rglob("records/*.json"))
EXPERIMENTS = ["main", "collapse_study", "fidelity"]


def _identity(record: Path) -> dict:
    return json.loads(record.read_text())["identity"]


def _fast_groups():
    """{(variant, env, episodes-independent config) : (CSV dir, [seeds])} over all records."""
    groups = defaultdict(list)
    for record in RECORDS:
        ident = _identity(record)
        if ident.get("implementation", "fast") != "fast":
            continue
        key = (str(record.parent.parent), ident["variant"], ident["env_id"],
               json.dumps(ident["config"], sort_keys=True))  # fmt: skip
        groups[key].extend(ident["seeds"])
    for (csv_dir, variant, env_id, config), seeds in sorted(groups.items()):
        name = str(Path(csv_dir).relative_to(RUNS))
        yield pytest.param(Path(csv_dir), variant, env_id, json.loads(config), sorted(seeds),
                           id=name)  # fmt: skip


def test_every_committed_run_has_a_record_and_every_record_its_key():
    assert RECORDS, "no committed records"
    recorded = set()
    for record in RECORDS:
        ident = _identity(record)
        assert record.name.endswith(f".{run_key(ident)}.json"), record
        if ident.get("implementation", "fast") == "fast":
            assert ident["engine_version"] == ENGINE_VERSION, record
        recorded |= {record.parent.parent / f"seed{s}.csv" for s in ident["seeds"]}
    committed = set(RUNS.rglob("seed*.csv"))
    assert committed == recorded, sorted(committed ^ recorded)[:5]


@pytest.mark.parametrize("csv_dir,variant,env_id,config,seeds", list(_fast_groups()))
def test_committed_runs_are_reproduced_by_the_engine(tmp_path, csv_dir, variant, env_id,
                                                     config, seeds):  # fmt: skip
    cfg = apply_overrides(default_config(variant), config)
    train(variant, env_id, seeds, EPISODES, cfg, tmp_path)
    for seed in seeds:
        fresh = (tmp_path / env_id / f"seed{seed}.csv").read_text().splitlines()
        committed = (csv_dir / f"seed{seed}.csv").read_text().splitlines()
        assert committed[: EPISODES + 1] == fresh, f"{csv_dir.relative_to(RUNS)} seed {seed}"


def test_the_config_runs_every_committed_experiment():
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    assert cfg["run"] == EXPERIMENTS


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_each_experiment_finds_its_committed_training_up_to_date(name):
    """The workflow's dry run of each experiment plans no training job: every committed
    record's run key is the one the config gives (and no CSV is missing)."""
    plan = snakemake(REPO, name, "-n", "--quiet", "rules")
    assert plan.returncode == 0, plan.stderr[-2000:]
    out = plan.stdout + plan.stderr
    if "Nothing to be done" in out:
        return
    trained = [rule for rule in job_counts(plan.stdout) if rule.startswith("train_")]
    assert trained == [], f"{name}: committed runs out of date: {trained[:5]}"


# Every rule after training: what each experiment draws and computes from its runs.
ANALYSIS_RULES = {
    "main": ["aggregate_main"],
    "collapse_study": ["aggregate_ablations_collapse_study", "collapse_rollouts_collapse_study"],
    "fidelity": ["fidelity_table_fidelity"],
}  # fmt: skip


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_committed_figures_and_tables_are_what_the_code_draws_from_the_committed_runs(
    tmp_path, name
):
    """Every committed aggregate, statistic and figure is redrawn from the committed runs by
    the committed code (its analysis rules forced to rerun, and everything after them) and
    must come out byte for byte: no figure or table may be left over from older code."""
    root = copy_workflow(tmp_path)
    shutil.copytree(REPO / "results", root / "results",
                    ignore=shutil.ignore_patterns("logs", "benchmarks", "provenance*.json"))  # fmt: skip
    shutil.copytree(REPO / "figures", root / "figures")
    suffixes = (".csv", ".png", ".svg", ".gif", ".json", ".md")
    before = {**digests(root / "results", suffixes), **digests(root / "figures", suffixes)}
    done = snakemake(root, "--cores", "2", name, "--forcerun", *ANALYSIS_RULES[name])
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rule train" not in done.stdout + done.stderr  # nothing retrained
    after = {**digests(root / "results", suffixes), **digests(root / "figures", suffixes)}
    changed = sorted(k for k in before if after.get(k) != before[k])
    assert changed == [], f"{name}: redrawn differently from the committed files: {changed}"
