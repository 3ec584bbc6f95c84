"""``a2c-repro train --implementation notebook``: the notebooks' own code written as the pipeline's
per-episode CSVs. Same seed => same CSV; the CSV is what reference.py's loops produce; the
schema is the fast engine's; overrides the notebook's code cannot honour are refused."""

from __future__ import annotations

import csv
import io

import pytest

from a2c_repro import reference
from a2c_repro.cli import main
from a2c_repro.config import ConfigError
from a2c_repro.notebook_engine import (
    NOTEBOOK_CONFIGS,
    notebook_config,
    notebook_seeds,
    train_notebook,
)
from a2c_repro.seed_run import COLUMNS

EMPTY = ("entropy", "abs_advantage", "value_mean", "actor_grad_norm", "critic_grad_norm",
         "top_prob_gt_099")  # fmt: skip


def _rows(path):
    return list(csv.DictReader(io.StringIO(path.read_text())))


def _train(tmp_path, variant, env_id, seeds, episodes, name="a"):
    cfg = NOTEBOOK_CONFIGS[variant]
    return train_notebook(variant, env_id, seeds, episodes, cfg, tmp_path / name)


def test_same_seed_same_csv_whatever_the_group(tmp_path):
    a = _train(tmp_path, "one_step", "CartPole-v1", [3, 4], 6, "a")
    b = _train(tmp_path, "one_step", "CartPole-v1", [4], 6, "b")
    c = _train(tmp_path, "one_step", "CartPole-v1", [3, 4], 6, "c")
    assert a[1].read_bytes() == b[0].read_bytes() == c[1].read_bytes()
    assert a[0].read_bytes() == c[0].read_bytes()
    assert a[0].read_bytes() != a[1].read_bytes()  # different seeds, different runs
    assert a[1] == tmp_path / "a" / "CartPole-v1" / "seed4.csv"
    assert (tmp_path / "a" / "CartPole-v1" / "timings" / "seeds-3-4.json").exists()


def test_one_step_csv_is_reference_loop_output(tmp_path):
    (path,) = _train(tmp_path, "one_step", "CartPole-v1", [2], 52)
    rows = _rows(path)
    assert list(rows[0]) == list(COLUMNS)
    ref = list(reference.one_step_notebook_episodes("CartPole-v1", 52, *notebook_seeds(2)))
    assert [float(r["return"]) for r in rows] == [e.ret for e in ref]
    assert [int(r["length"]) for r in rows] == [e.length for e in ref]
    assert int(rows[-1]["env_steps"]) == sum(e.length for e in ref)
    # the notebook evaluates one sampled episode after episodes 0 and 50, on its own env
    evals = {int(r["episode"]): float(r["eval_return"]) for r in rows if r["eval_return"]}
    assert sorted(evals) == [0, 50] and all(v >= 8 for v in evals.values())
    for r in rows:
        assert r["variant"] == "one_step" and r["seed"] == "2"
        assert float(r["return"]) == int(r["length"])  # CartPole: +1 per step
        assert 0.5 <= float(r["majority_action_frac"]) <= 1.0
        assert all(r[c] == "" for c in EMPTY)


def test_reference_run_function_is_the_same_loop():
    """reference.run_one_step_notebook (the benchmark's baseline) seeds torch and env with
    the seed and its evaluation env with seed+1; the engine's loop with those seeds matches."""
    steps = reference.run_one_step_notebook("CartPole-v1", 5, 7)
    episodes = list(reference.one_step_notebook_episodes("CartPole-v1", 5, 7, 7, 8))
    assert steps == sum(e.length for e in episodes)
    steps = reference.run_episodic_notebook("LunarLander-v3", 2, 7)
    assert steps == sum(
        e.length for e in reference.episodic_notebook_episodes("LunarLander-v3", 2, 7, 7)
    )


def test_episodic_notebook_has_no_evaluation_and_same_seed_same_csv(tmp_path):
    a = _train(tmp_path, "episodic", "LunarLander-v3", [0], 3, "a")
    b = _train(tmp_path, "episodic", "LunarLander-v3", [0], 3, "b")
    assert a[0].read_bytes() == b[0].read_bytes()
    rows = _rows(a[0])
    ref = list(reference.episodic_notebook_episodes("LunarLander-v3", 3, *notebook_seeds(0)[:2]))
    assert [float(r["return"]) for r in rows] == [e.ret for e in ref]
    assert all(r["eval_return"] == "" and r["variant"] == "episodic" for r in rows)


def test_cli_writes_the_layout(tmp_path, capsys):
    rc = main(["train", "--engine", "notebook", "--variant", "one_step", "--env", "CartPole-v1",
               "--seeds", "0", "--episodes", "2", "--no-progress", "--out", str(tmp_path)])  # fmt: skip
    assert rc == 0
    assert len(_rows(tmp_path / "CartPole-v1" / "seed0.csv")) == 2


@pytest.mark.parametrize(
    "variant,sets,needle",
    [
        ("one_step", ["actor_lr=0.0003"], "--set actor_lr=0.0003"),
        ("one_step", ["entropy_coef=0.01"], "--set entropy_coef=0.01"),
        ("one_step", ["eval_interval=10"], "--set eval_interval=10"),
        ("one_step", ["actor_hidden=64,64"], "--set actor_hidden=64,64"),
        ("episodic", ["actor_loss=sum"], "--set actor_loss=sum"),
        ("episodic", ["max_grad_norm=0.5"], "--set max_grad_norm=0.5"),
        ("episodic", ["eval_interval=50"], "--set eval_interval=50"),
        ("n_step", [], "--variant n_step"),
    ],
)
def test_cli_rejects_what_the_notebook_cannot_do(tmp_path, capsys, variant, sets, needle):
    args = ["train", "--implementation", "notebook", "--variant", variant, "--env", "CartPole-v1",
            "--seeds", "0", "--episodes", "2", "--no-progress", "--out", str(tmp_path / "o")]  # fmt: skip
    for s in sets:
        args += ["--set", s]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err
    assert not list((tmp_path / "o").rglob("*.csv"))


def test_honoured_overrides_reach_the_notebook_code():
    assert notebook_config("one_step", ["gamma=0.9", "max_grad_norm=0.5"]).max_grad_norm == 0.5
    assert (
        notebook_config("episodic", {"gamma": 0.99, "actor_loss": "notebook_broadcast"}).gamma
        == 0.99
    )
    with pytest.raises(ConfigError, match="gamma=2.0"):
        notebook_config("episodic", ["gamma=2"])
    a = list(reference.one_step_notebook_episodes("CartPole-v1", 4, 1, 1, 2, gamma=0.99))
    b = list(reference.one_step_notebook_episodes("CartPole-v1", 4, 1, 1, 2, gamma=0.5))
    assert [e.actor_loss for e in a] != [e.actor_loss for e in b]
