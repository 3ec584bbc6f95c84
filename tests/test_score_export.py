"""workflow/scripts/export_scores.py against rliable's documented input contract: a dict of
arm -> np.ndarray of shape (num_runs, num_tasks), the same num_tasks for every arm, as its
`get_interval_estimates(score_dict, func, reps)` and `aggregate_iqm` take. rliable cannot be
installed beside the locked pandas, so its IQM (scipy.stats.trim_mean(scores, 0.25,
axis=None)) is written out here, and the module docstring's usage example is executed.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import trim_mean

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))

import export_scores
from robust_stats import iqm

FINAL_FRACTION = 0.1  # config analysis.final_fraction, the fraction behind final.csv


def main_runs() -> dict[str, tuple[str, str]]:
    """The committed main-experiment runs: results/runs/main/<arm>/<env>/[...]/seed<N>.csv
    (the CSV's own `variant` column is the update rule, which two arms may share), only
    those of the default experiment's table final.csv: the folder also holds the extra seeds
    the collapse study's claims train on some envs."""
    root = REPO / "results" / "runs" / "main"
    final = pd.read_csv(REPO / "results" / "aggregated" / "final.csv")
    runs = set(zip(final["variant"], final["env_id"], final["seed"]))
    mapping = {}
    for csv in sorted(root.rglob("seed*.csv")):
        arm, env = csv.relative_to(root).parts[:2]
        if (arm, env, int(csv.stem.removeprefix("seed"))) in runs:
            mapping[str(csv)] = (arm, env)
    assert mapping, "no committed runs under results/runs/main"
    return mapping


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("scores")
    mapping = main_runs()
    envs = ["CartPole-v1", "LunarLander-v3", "Acrobot-v1"]
    sm = types.SimpleNamespace(
        input=types.SimpleNamespace(csvs=list(mapping)),
        output=types.SimpleNamespace(npz=str(out / "main.npz"), csv=str(out / "main.csv")),
        params=types.SimpleNamespace(arm_env_of_csv={k: list(v) for k, v in mapping.items()},
                                     envs=envs, final_fraction=FINAL_FRACTION),
        log=[str(out / "export.log")],
    )  # fmt: skip
    export_scores.main(sm)
    return {"out": out, "sm": sm, "envs": envs}


def rliable_score_dict(npz_path) -> dict[str, np.ndarray]:
    data = np.load(npz_path)
    return {k: data[k] for k in data.files if not k.startswith("_")}


def test_npz_is_an_rliable_score_dict(exported):
    data = np.load(exported["out"] / "main.npz")
    tasks = list(data["_tasks"])
    assert tasks == exported["envs"], f"task order {tasks}"
    scores = rliable_score_dict(exported["out"] / "main.npz")
    assert sorted(scores) == ["episodic", "episodic_notebook", "one_step"], sorted(scores)
    for arm, s in scores.items():
        assert isinstance(s, np.ndarray) and s.ndim == 2, f"{arm}: {type(s)} ndim {getattr(s, 'ndim', '?')}"
        assert s.shape[1] == len(tasks), f"{arm}: shape {s.shape}, {len(tasks)} tasks"
        assert s.dtype == np.float64 and np.isfinite(s).all(), f"{arm}: dtype {s.dtype} or non-finite scores"
        assert len(data[f"_seeds_{arm}"]) == s.shape[0], f"{arm}: {len(data[f'_seeds_{arm}'])} seeds, {s.shape[0]} rows"


def test_scores_are_final_csv_final_returns(exported):
    """One definition: each exported score is final.csv's final_return of that run, and the
    npz holds the same numbers as the tidy CSV, in row = seed, column = task order."""
    tidy = pd.read_csv(exported["out"] / "main.csv")
    assert list(tidy.columns) == ["arm", "env", "seed", "score"], list(tidy.columns)
    final = pd.read_csv(REPO / "results" / "aggregated" / "final.csv")
    both = tidy.merge(final, left_on=["arm", "env", "seed"], right_on=["variant", "env_id", "seed"])
    assert len(both) == len(tidy) == len(final), f"{len(tidy)} exported, {len(final)} in final.csv, {len(both)} matched"
    worst = np.abs(both["score"] - both["final_return"]).max()
    assert worst < 1e-6, f"exported scores differ from final.csv by up to {worst}"
    data = np.load(exported["out"] / "main.npz")
    for (arm, env), runs in tidy.groupby(["arm", "env"]):
        column = data[arm][:, exported["envs"].index(env)]
        assert list(data[f"_seeds_{arm}"]) == sorted(runs["seed"]), arm
        np.testing.assert_allclose(column, runs.sort_values("seed")["score"], err_msg=f"{arm} {env}")


def test_docstring_example_runs_and_gives_rliable_iqm(exported, monkeypatch):
    """The usage example in export_scores' docstring, run on the exported file: its IQM per
    arm is rliable's aggregate_iqm (trim_mean, 25% each side, over all runs and tasks); on
    one task it equals the project's own IQM (robust_stats.iqm)."""
    doc = export_scores.__doc__
    block = re.search(r"Usage:\n\n((?:    .*\n)+)", doc)
    assert block, "no indented usage example in export_scores' docstring"
    code = "\n".join(line[4:] for line in block.group(1).splitlines())
    assert len(code.splitlines()) <= 5, f"usage example has {len(code.splitlines())} lines"
    monkeypatch.chdir(exported["out"])
    code = code.replace("results/scores/collapse_study.npz", "main.npz")
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 -- the docstring example is the code under test
    scores = rliable_score_dict(exported["out"] / "main.npz")
    for arm, s in scores.items():
        assert namespace["iqm"][arm] == pytest.approx(trim_mean(s.ravel(), 0.25)), arm
        assert trim_mean(s[:, 0], 0.25) == pytest.approx(iqm(s[:, 0])), arm


def test_export_is_byte_reproducible(exported, tmp_path):
    sm = exported["sm"]
    again = types.SimpleNamespace(**{**vars(sm), "output": types.SimpleNamespace(
        npz=str(tmp_path / "main.npz"), csv=str(tmp_path / "main.csv")), "log": [str(tmp_path / "log")]})  # fmt: skip
    export_scores.main(again)
    for name in ("main.npz", "main.csv"):
        assert (tmp_path / name).read_bytes() == (exported["out"] / name).read_bytes(), name


def _run_csv(path: Path, seed: int, returns: list[float]) -> str:
    pd.DataFrame({"seed": seed, "episode": range(len(returns)), "return": returns,
                  "env_steps": np.cumsum([10] * len(returns))}).to_csv(path, index=False)  # fmt: skip
    return str(path)


def test_an_arm_missing_a_seed_on_one_env_is_refused(tmp_path):
    """rliable needs a full (runs x tasks) array: a seed run on one env only is an error
    naming the arm and the seed, not a NaN in the array."""
    mapping = {_run_csv(tmp_path / "a0.csv", 0, [1, 2]): ("a", "E1"),
               _run_csv(tmp_path / "a1.csv", 1, [1, 2]): ("a", "E1"),
               _run_csv(tmp_path / "b0.csv", 0, [3, 4]): ("a", "E2")}  # fmt: skip
    table = export_scores.score_table(mapping, 0.5)
    assert list(table["score"]) == [2.0, 2.0, 4.0], list(table["score"])
    with pytest.raises(ValueError, match=r"arm a: seeds \[1\]"):
        export_scores.score_arrays(table, ["E1", "E2"])
    with pytest.raises(ValueError, match="not in the task order"):
        export_scores.score_arrays(table, ["E1"])
