"""The committed results are what the committed code produces.

A seed's CSV for N episodes is the first N rows of its CSV for more episodes (nothing in a
run depends on the episode budget), so re-training the first seed of every committed run of
the default experiment for a few episodes, with the hyperparameters that config/config.yaml
gives it, must reproduce the committed rows byte for byte.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from a2c_repro import apply_overrides, default_config, train

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
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
