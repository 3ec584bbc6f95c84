"""The planner (a2c_repro.experiments) as plain Python: what a config edit plans, without
Snakemake. The workflow's own behaviour is checked in test_pipeline_config.py."""

from __future__ import annotations

import copy
import math

import pytest
from pipeline_helpers import REPO, SCHEMA, merged_config

from a2c_repro.experiments import (
    PlanError,
    estimate_cpu_seconds,
    load_and_plan,
    seed_groups,
    summary,
    targets,
)

DEFAULT = merged_config(REPO, ())


def plan_of(cfg):
    return load_and_plan(copy.deepcopy(cfg), REPO / SCHEMA)


def test_seed_groups_split_runs_of_consecutive_seeds():
    assert seed_groups([0, 1, 2, 3, 4], 2) == [[0, 1], [2, 3], [4]]
    assert seed_groups([0, 1, 5, 6, 7], 10) == [[0, 1], [5, 6, 7]]
    assert seed_groups([], 3) == []


def test_identical_runs_are_planned_once_and_shared():
    """The collapse study's notebook arm is the main experiment's one_step arm on CartPole:
    its seeds 0-9 are read from there, the others trained under its own name."""
    plan = plan_of(DEFAULT)
    notebook = plan.experiments["collapse_study"].arms["notebook"].csvs["CartPole-v1"]
    main = plan.experiments["main"].arms["one_step"].csvs["CartPole-v1"]
    assert all(notebook[s] == main[s] for s in range(10))
    assert all(notebook[s].startswith("results/runs/collapse_study/notebook/") for s in range(10, 100))
    every_csv = [c for j in plan.jobs for c in j.csvs]
    assert len(every_csv) == len(set(every_csv)), "a CSV written by two jobs"
    # the fidelity experiment's fast side reads the same runs and trains only the seeds
    # beyond them under its own name
    fast = plan.experiments["fidelity"].arms["one_step_fast"].csvs["CartPole-v1"]
    assert all(fast[s] == notebook[s] for s in fast if s in notebook)
    assert all(fast[s].startswith("results/runs/fidelity/one_step_fast/") for s in fast if s not in notebook)


def test_an_edit_to_one_arm_changes_only_that_arms_run_keys():
    before = {j.name: j.key for j in plan_of(DEFAULT).jobs}
    cfg = copy.deepcopy(DEFAULT)
    cfg["experiments"]["collapse_study"]["arms"]["entropy_01"]["set"]["entropy_coef"] = 0.2
    after = {j.name: j.key for j in plan_of(cfg).jobs}
    assert before.keys() == after.keys()
    changed = {n for n in before if before[n] != after[n]}
    assert changed and all(n.startswith("train_collapse_study_entropy_01_") for n in changed)


def test_a_user_config_adds_an_experiment_without_restating_the_others():
    cfg = copy.deepcopy(DEFAULT)
    cfg["experiments"]["long_notebook"] = {
        "extends": "collapse_study",
        "results_dir": "mine/results",
        "figures_dir": "mine/figures",
        "only_arms": ["notebook", "actor_lr_1e4"],
        "arms": {"notebook": {"seeds": {"first": 0, "count": 5}}},
        "envs": {"CartPole-v1": {"episodes": 2000}},
        "analyses": {"claims": {"improvement": {"experiment": "main"},
                                "improvement_notebook_loss": {"experiment": "main"}}},
    }  # fmt: skip
    cfg["run"] = ["main", "long_notebook"]
    exp = plan_of(cfg).experiments["long_notebook"]
    assert list(exp.arms) == ["notebook", "actor_lr_1e4"]
    assert exp.arms["notebook"].seeds == [0, 1, 2, 3, 4]
    assert exp.arms["actor_lr_1e4"].overrides == {"actor_lr": 0.0001}  # from collapse_study
    assert exp.envs["CartPole-v1"]["seeds_per_job"] == 10  # kept where not overridden
    assert exp.provenance == "provenance_long_notebook.json"
    assert all(c.startswith("mine/results/runs/long_notebook/") for c in exp.csvs())


def test_a_notebook_arm_must_be_one_the_notebook_code_can_run():
    cfg = copy.deepcopy(DEFAULT)
    cfg["experiments"]["fidelity"]["arms"]["one_step_notebook"]["set"] = {"entropy_coef": 0.1}
    with pytest.raises(PlanError, match=r"experiments\.fidelity\.arms\.one_step_notebook\.set"):
        plan_of(cfg)


def test_targets_hold_outputs_provenance_and_the_runs_read():
    plan = plan_of(DEFAULT)
    study = targets(plan, "collapse_study")
    assert "results/aggregated/collapse.csv" in study and "figures/collapse_rollouts.gif" in study
    assert "results/provenance_collapse_study.json" in study
    # claims C4/C5 read the main experiment's LunarLander runs: they are the study's inputs
    assert "results/runs/main/episodic/LunarLander-v3/seed0.csv" in study
    assert not any(t.startswith("results/runs/fidelity/") for t in study)


def test_estimates_come_from_benchmarks_own_then_same_arm(tmp_path):
    plan = plan_of(DEFAULT)
    jobs = [j for j in plan.jobs if j.experiment == "collapse_study" and j.arm == "entropy_05"]
    first, rest = jobs[0], jobs[1:]
    bench = tmp_path / first.benchmark
    bench.parent.mkdir(parents=True)
    bench.write_text("s\tcpu_time\n9.0\t120.0\n")
    est = estimate_cpu_seconds(jobs, tmp_path)
    assert est[first.name] == 120.0
    per_seed_episode = 120.0 / (len(first.seeds) * first.episodes)
    for j in rest:
        assert est[j.name] == pytest.approx(per_seed_episode * len(j.seeds) * j.episodes)
    others = [j for j in plan.jobs if j.variant == "episodic"][:1]
    assert math.isnan(estimate_cpu_seconds(others, tmp_path)[others[0].name])
    lines = summary(plan, [j.name for j in jobs], cores=2, root=tmp_path)
    assert lines[1] == f"  collapse_study: {len(jobs)} training job(s), ~{120 * len(jobs) / 60:.0f} CPU-min"
    assert lines[-1].endswith("min on 2 core(s)")
