"""Whole training runs: grouping invariance, determinism, resume after SIGKILL, learning."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from a2c_repro import default_config, train
from a2c_repro.checkpoints import KILL_HOOK_ENV
from a2c_repro.seed_run import COLUMNS


def _csv(out: Path, env: str, seed: int) -> bytes:
    return (out / env / f"seed{seed}.csv").read_bytes()


@pytest.mark.parametrize(
    "variant,env,episodes",
    [("one_step", "CartPole-v1", 100), ("episodic", "CartPole-v1", 100),
     ("episodic", "LunarLander-v3", 12), ("n_step", "CartPole-v1", 100)],
)  # fmt: skip
def test_seed_output_is_independent_of_its_group(tmp_path, variant, env, episodes):
    """Seed 3 alone, inside 0–7 and inside [11, 3]: byte-identical CSVs. The other seeds
    finish at different steps, so seeds leaving the group mid-run are covered too."""
    cfg = default_config(variant)
    outs = {}
    for name, seeds in {"alone": [3], "in0-7": list(range(8)), "in11,3": [11, 3]}.items():
        train(variant, env, seeds, episodes, cfg, tmp_path / name)
        outs[name] = _csv(tmp_path / name, env, 3)
    assert outs["alone"] == outs["in0-7"] == outs["in11,3"]
    df = pd.read_csv(tmp_path / "alone" / env / "seed3.csv")
    assert len(df) == episodes and list(df.columns) == list(COLUMNS)
    assert (df["diverged"] == 0).all()  # the notebooks' settings never trip the flag


def test_same_arguments_give_byte_identical_csvs_and_seeds_differ(tmp_path):
    cfg = default_config("one_step")
    for d in ("a", "b"):
        train("one_step", "Acrobot-v1", [0, 1], 2, cfg, tmp_path / d)
    for s in (0, 1):
        assert _csv(tmp_path / "a", "Acrobot-v1", s) == _csv(
            tmp_path / "b", "Acrobot-v1", s
        )
    assert _csv(tmp_path / "a", "Acrobot-v1", 0) != _csv(
        tmp_path / "a", "Acrobot-v1", 1
    )


def test_log_columns_and_evaluation_schedule(tmp_path):
    train("one_step", "CartPole-v1", [0], 101, default_config("one_step"), tmp_path)
    df = pd.read_csv(tmp_path / "CartPole-v1" / "seed0.csv")
    assert df["episode"].tolist() == list(range(101))
    # a sampled evaluation after episodes 0, 50, 100 — and nowhere else
    assert df.loc[df.eval_return.notna(), "episode"].tolist() == [0, 50, 100]
    assert (df["env_steps"] == df["length"].cumsum()).all()
    assert (df["return"] == df["length"]).all()  # CartPole pays 1 per step
    assert df["entropy"].between(0, np.log(2) + 1e-6).all()
    assert (
        df["top_prob_gt_099"].between(0, 1).all()
        and df["majority_action_frac"].between(0.5, 1).all()
    )
    timing = json.loads(
        next((tmp_path / "CartPole-v1" / "timings").glob("*.json")).read_text()
    )
    assert timing["agent_steps_this_process"] == df["env_steps"].iloc[-1]


def _train_cmd(out: Path, seeds: str, episodes: int, variant="one_step") -> list[str]:
    return [sys.executable, "-m", "a2c_repro.cli", "train", "--variant", variant, "--env",
            "CartPole-v1", "--seeds", seeds, "--episodes", str(episodes), "--out", str(out),
            "--no-progress", "--checkpoint-every", "0"]  # fmt: skip


def _killed_at(episode: int, mode: str = "self") -> dict[str, str]:
    """Environment that makes the engine SIGKILL itself after its `episode`-th episode (a
    point the test chooses, not a moment in time: the same on any machine)."""
    return {**os.environ, KILL_HOOK_ENV: f"{episode}:{mode}"}


@pytest.mark.parametrize(("variant", "episodes"), [("one_step", 60), ("episodic", 80)])
def test_resume_after_sigkill_gives_identical_csvs(tmp_path, variant, episodes):
    """A run killed (SIGKILL) in the middle, then started again with the same arguments,
    resumes from its checkpoint and writes the same bytes as an uninterrupted run."""
    ref = tmp_path / "ref"
    subprocess.run(_train_cmd(ref, "0-1", episodes, variant), check=True)
    out = tmp_path / "killed"
    run_dir = out / "CartPole-v1"
    done = subprocess.run(_train_cmd(out, "0-1", episodes, variant), env=_killed_at(episodes), check=False)
    assert done.returncode == -signal.SIGKILL
    assert not list(run_dir.glob("seed*.csv")), "a killed run must leave no CSV"
    assert list(run_dir.glob(".checkpoint-*.pkl")), "the killed run left its checkpoint"
    subprocess.run(_train_cmd(out, "0-1", episodes, variant), check=True)
    timing = json.loads(next((run_dir / "timings").glob("*.json")).read_text())
    assert timing["resumed"] is True and timing["resumed_at_episodes"] > 0
    for s in range(2):
        assert _csv(out, "CartPole-v1", s) == _csv(ref, "CartPole-v1", s)
    assert not list(run_dir.glob(".checkpoint-*")), "checkpoint removed after completion"


def test_kill_during_a_checkpoint_write_leaves_nothing_behind_after_the_rerun(tmp_path):
    """SIGKILL while the checkpoint's temp file is half written: the next start removes the
    dead process's temp file, and the run completes with the uninterrupted run's bytes."""
    ref, out = tmp_path / "ref", tmp_path / "out"
    subprocess.run(_train_cmd(ref, "0", 30), check=True)
    run_dir = out / "CartPole-v1"
    done = subprocess.run(_train_cmd(out, "0", 30), env=_killed_at(10, "checkpoint"), check=False)
    assert done.returncode == -signal.SIGKILL
    assert list(run_dir.glob(".*.tmp")), "the kill left a half-written temp file"
    rerun = subprocess.run(_train_cmd(out, "0", 30), check=True, capture_output=True, text=True)
    assert "removed 1 temp file(s) of a killed run" in rerun.stderr
    assert not list(run_dir.glob(".*.tmp"))
    assert _csv(out, "CartPole-v1", 0) == _csv(ref, "CartPole-v1", 0)


@pytest.mark.parametrize(
    "damage", [b"", b"garbage, not a pickle", None], ids=["empty", "garbage", "truncated"]
)
def test_a_damaged_checkpoint_is_moved_aside_and_the_run_restarts(tmp_path, damage):
    ref, out = tmp_path / "ref", tmp_path / "out"
    subprocess.run(_train_cmd(ref, "0", 30), check=True)
    run_dir = out / "CartPole-v1"
    done = subprocess.run(_train_cmd(out, "0", 30), env=_killed_at(10), check=False)
    assert done.returncode == -signal.SIGKILL
    (ckpt,) = run_dir.glob(".checkpoint-*.pkl")
    data = ckpt.read_bytes()
    ckpt.write_bytes(data[: len(data) // 2] if damage is None else damage)
    rerun = subprocess.run(_train_cmd(out, "0", 30), capture_output=True, text=True, check=False)
    assert rerun.returncode == 0, rerun.stderr
    warning = [ln for ln in rerun.stderr.splitlines() if "warning" in ln]
    assert len(warning) == 1 and "is unreadable" in warning[0] and "training from scratch" in warning[0]
    assert "Traceback" not in rerun.stderr
    assert (run_dir / (ckpt.name + ".corrupt")).exists()
    timing = json.loads(next((run_dir / "timings").glob("*.json")).read_text())
    assert timing["resumed"] is False
    assert _csv(out, "CartPole-v1", 0) == _csv(ref, "CartPole-v1", 0)


def test_a_diverging_run_is_flagged_in_its_csv_and_on_stderr(tmp_path):
    cmd = [*_train_cmd(tmp_path, "0", 20), "--set", "actor_lr=100", "--set", "critic_lr=100"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    df = pd.read_csv(tmp_path / "CartPole-v1" / "seed0.csv")
    assert df["diverged"].isin([0, 1]).all() and df["diverged"].iloc[0] == 1
    assert df.loc[df["diverged"] == 1, "critic_loss"].abs().min() > 1e12
    assert done.stderr.count("diverged at episode 0") == 1  # once per seed


def test_one_step_learns_cartpole_on_most_seeds(tmp_path):
    """The notebook's algorithm learns CartPole quickly before it (often) collapses. Bar:
    the best 20-episode mean return within 150 episodes exceeds 60 (a uniform random policy
    averages ~22) on at least 4 of 6 seeds. How it was chosen: in a 10-seed run of this
    engine, that statistic was 208, 113, 116, 62, 123, 16, 153, 245, 111, 56 — above 60 on
    8 of 10 seeds (and above 100 on only 7, too tight a bar for 6 seeds)."""
    seeds = list(range(6))
    train("one_step", "CartPole-v1", seeds, 150, default_config("one_step"), tmp_path)
    best = []
    for s in seeds:
        df = pd.read_csv(tmp_path / "CartPole-v1" / f"seed{s}.csv")
        best.append(df["return"].rolling(20).mean().max())
    assert sum(b > 60 for b in best) >= 4, best
