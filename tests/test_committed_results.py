"""The committed results are what the committed code produces.

A seed's CSV for N episodes is the first N rows of its CSV for more episodes (nothing in a
run depends on the episode budget), so re-training the first seed of every committed run of
the default experiment for a few episodes, with the hyperparameters that config/config.yaml
gives it, must reproduce the committed rows byte for byte. The same holds for every arm of
the collapse study (config/collapse_study.yaml): its own runs, and the seeds it adds to the
main runs it reuses.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from a2c_repro import apply_overrides, default_config, train

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
STUDY = yaml.safe_load((ROOT / "config" / "collapse_study.yaml").read_text())["ablations"]
EPISODES = 12


def _main_runs():
    exp = CONFIG["experiment"]
    for name in exp["variants"]:
        for env_id in exp["envs"]:
            yield name, env_id


@pytest.mark.parametrize("name,env_id", list(_main_runs()))
def test_committed_run_is_reproduced_by_the_engine(tmp_path, name, env_id):
    variant = CONFIG["variants"][name]
    engine = variant["engine"]
    seed = CONFIG["experiment"]["seeds"]["first"]
    committed = (
        ROOT / CONFIG["results_dir"] / "runs" / "main" / name / env_id / engine / f"seed{seed}.csv"
    )
    assert committed.exists(), f"{committed.relative_to(ROOT)} is not committed"
    cfg = apply_overrides(default_config(engine), variant["hyperparameters"])
    train(engine, env_id, [seed], EPISODES, cfg, tmp_path)
    fresh = (tmp_path / env_id / engine / f"seed{seed}.csv").read_text().splitlines()
    assert committed.read_text().splitlines()[: EPISODES + 1] == fresh


def _study_arms():
    """(arm, committed CSV of one seed it trained, engine, hyperparameters) per arm."""
    seeds = STUDY["seeds"]
    main_seeds = CONFIG["experiment"]["seeds"]
    runs = ROOT / CONFIG["results_dir"] / "runs"
    env_id = STUDY["env"]
    for arm, spec in STUDY["arms"].items():
        variant = CONFIG["variants"][spec["variant"]]
        engine = variant["engine"]
        params = {**variant["hyperparameters"], **spec.get("set", {})}
        reuses_main = (
            not spec.get("set")
            and spec["variant"] in CONFIG["experiment"]["variants"]
            and spec.get("episodes", STUDY["episodes"])
            == CONFIG["experiment"]["envs"][env_id]["episodes"]
        )
        if not reuses_main:
            path = runs / "ablations" / arm / env_id / engine / f"seed{seeds['first']}.csv"
        else:  # reuses the main runs; the study adds the seeds after the main ones
            seed = main_seeds["first"] + main_seeds["count"]
            path = runs / "main" / spec["variant"] / env_id / engine / f"seed{seed}.csv"
        yield pytest.param(arm, path, engine, params, id=arm)


@pytest.mark.parametrize("arm,committed,engine,params", list(_study_arms()))
def test_committed_ablation_run_is_reproduced_by_the_engine(
    tmp_path, arm, committed, engine, params
):
    assert committed.exists(), f"{committed.relative_to(ROOT)} ({arm}) is not committed"
    seed = int(committed.stem.removeprefix("seed"))
    cfg = apply_overrides(default_config(engine), params)
    train(engine, STUDY["env"], [seed], EPISODES, cfg, tmp_path)
    fresh = (tmp_path / STUDY["env"] / engine / f"seed{seed}.csv").read_text().splitlines()
    assert committed.read_text().splitlines()[: EPISODES + 1] == fresh
