"""The fidelity experiment's statistics against hand-computed cases, and its rule graph."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from pipeline_helpers import REPO, copy_workflow, planned, snakemake

sys.path.insert(0, str(REPO / "workflow/scripts"))
from fidelity import compare, fidelity_table, margin_of, run_measures, runs_table, verdict

BOOT = {"n_resamples": 2000, "confidence": 0.95, "seed": 3}
COLLAPSE = {"window": 4, "learned_threshold": 100, "return_threshold": 15,
            "majority_action_threshold": 0.9, "persistence": 3}  # fmt: skip
COMP = {"env": "CartPole-v1", "eval_episode": 2, "collapse": COLLAPSE}


def _run(returns, majority, evals=None, seed=0):
    n = len(returns)
    return pd.DataFrame({
        "seed": seed, "episode": np.arange(n), "return": np.asarray(returns, float),
        "length": np.asarray(returns, int), "env_steps": np.cumsum(np.asarray(returns, int)),
        "majority_action_frac": majority,
        "eval_return": evals if evals is not None else [np.nan] * n,
    })  # fmt: skip


def test_run_measures_of_a_run_that_learned_then_collapsed():
    returns = [20, 100, 200, 300, 200, 100, 10, 9, 9, 10]
    evals = [np.nan, np.nan, 175.0] + [np.nan] * 7
    m = run_measures(_run(returns, [0.5] * 6 + [0.95] * 4, evals), COMP, 4, 3)
    # best 4-episode windows: episodes 1-4 and 2-5, both 800/4 = 200; the first one counts
    # and a window is dated by its last episode
    assert m["peak_mean"] == 200 and m["peak_episode"] == 4
    assert m["total_env_steps"] == sum(returns)
    assert m["final_mean"] == pytest.approx((9 + 9 + 10) / 3)
    assert m["eval_return"] == 175.0
    # learned (first 4-window 155 >= 100, at episode 3); the 4 episodes ending at 9: mean 9.5
    # <= 15, majority 0.95 >= 0.9, one-way to the end of the run -> collapsed
    assert m["collapsed"] == 1 and m["never_learned"] == 0 and m["collapsed_given_learned"] == 1
    assert m["mean_return"] == pytest.approx(sum(returns) / 10)


def test_run_that_never_learned_is_not_counted_as_collapsed():
    m = run_measures(_run([12, 10, 9, 9, 10, 9], [0.95] * 6), COMP, 4, 3)
    assert m["never_learned"] == 1 and m["collapsed"] == 0
    assert np.isnan(m["collapsed_given_learned"])  # not a learner: no part of that rate
    # learned and still balancing: not collapsed either
    m = run_measures(_run([50, 150, 150, 150, 150, 150], [0.6] * 6), COMP, 4, 3)
    assert m["never_learned"] == 0 and m["collapsed"] == 0


def test_fisher_on_rates_and_rate_difference():
    # engine 3/4 vs notebook 0/4: P(X=3) = P(X=0) = C(4,3)/C(8,3) = 4/56, two-sided 8/56
    r = compare(np.array([1, 1, 1, 0]), np.array([0, 0, 0, 0]), rate=True, bootstrap=BOOT)
    assert r["test"] == "fisher_exact" and r["p_value"] == pytest.approx(1 / 7)
    assert r["engine_value"] == 0.75 and r["notebook_value"] == 0 and r["effect"] == 0.75
    assert 0 < r["ci_low"] < 0.75 < r["ci_high"] <= 1
    # Newcombe: 0/4 vs 0/4 gives ±(Wilson upper bound of 0/4) = ±z²/(4 + z²), z = 1.95996
    r = compare(np.zeros(4), np.zeros(4), rate=True, bootstrap=BOOT)
    z2 = 1.959963985**2
    assert r["p_value"] == 1 and r["effect"] == 0
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((-z2 / (4 + z2), z2 / (4 + z2)))


def test_mann_whitney_median_difference_and_reproducible_bootstrap():
    # no overlap, n=3 each: U = 0, exact two-sided p = 2 / C(6,3) = 0.1
    x, y = np.array([1.0, 2, 3]), np.array([4.0, 5, 6])
    r = compare(x, y, rate=False, bootstrap=BOOT)
    assert r["test"] == "mann_whitney_u" and r["p_value"] == pytest.approx(0.1)
    assert r["effect"] == -3 and r["engine_value"] == 2 and r["notebook_value"] == 5
    # the difference of resampled medians lies between 1-6 and 3-4
    assert -5 <= r["ci_low"] <= -3 <= r["ci_high"] <= -1
    assert compare(x, y, rate=False, bootstrap=BOOT) == r
    # KS: the two ECDFs are 1 apart at x=3 -> statistic 1, exact p = 2 / C(6,3) = 0.1
    assert r["ks_p_value"] == pytest.approx(0.1)


def test_margins_and_verdicts():
    assert margin_of({"absolute": 25}) == 25
    # a margin from a sample (a fraction of a side's median) is refused, named in one line
    with pytest.raises(ValueError, match=r"margins.total_env_steps: needs exactly \{absolute"):
        margin_of({"relative": 0.2}, "comparisons.x.margins.total_env_steps")
    with pytest.raises(ValueError, match="absolute must be a number > 0, got -1"):
        margin_of({"absolute": -1})
    assert verdict(-1, 2, 3, 0.5, 0.05) == "equivalent"
    assert verdict(4, 6, 3, 0.01, 0.05) == "differs"
    assert verdict(-1, 5, 3, 0.2, 0.05) == "inconclusive"
    assert verdict(-1, 5, 3, 0.05, 0.05) == "inconclusive"  # p must be below alpha


def test_table_holm_adjusts_over_every_measure(tmp_path):
    fid = {"alpha": 0.05, "bootstrap": BOOT, "peak_window": 2, "final_window": 2,
           "comparisons": {"cp": {"env": "CartPole-v1", "label": "cp",
                                  "margins": {"peak_mean": {"absolute": 5},
                                              "final_mean": {"absolute": 5},
                                              "total_env_steps": {"absolute": 10}}}}}  # fmt: skip
    side_of_path, paths = {}, []
    for side, base in (("engine", 30), ("notebook", 60)):
        for seed in range(4):
            p = tmp_path / f"{side}{seed}.csv"
            _run([base + 2 * seed, base + 2 * seed, 20, 30], [0.5] * 4, seed=seed).to_csv(p, index=False)
            side_of_path[str(p)] = ["cp", side]
            paths.append(str(p))
    runs = runs_table(paths, side_of_path, fid)
    assert list(runs.groupby("side").size()) == [4, 4]
    table = fidelity_table(runs, fid)
    assert list(table["measure"]) == ["peak_mean", "total_env_steps", "final_mean"]
    # Holm by hand: sort p ascending, multiply the k-th smallest by (m - k + 1), running max
    p = table["p_value"].to_numpy()
    order = np.argsort(p)
    adjusted = np.maximum.accumulate([(3 - k) * p[i] for k, i in enumerate(order)])
    expected = np.empty(3)
    expected[order] = np.minimum(adjusted, 1)
    assert table["p_holm"].to_numpy() == pytest.approx(expected)
    final = table.set_index("measure").loc["final_mean"]
    assert final["effect"] == 0 and final["verdict"] == "equivalent"  # same last episodes
    # peaks (2-episode windows): the first episodes' base + 2 * seed, i.e. engine 30, 32, 34,
    # 36 (median 33) and notebook 60 ... 66 (median 63)
    peak = table.set_index("measure").loc["peak_mean"]
    assert peak["effect"] == -30 and peak["ci_high"] < -5
    # no overlap, 4 vs 4, no ties: exact p = 2 / C(8,4) = 1/35 < 0.05, but Holm over the 3
    # measures makes it 3/35 (env steps have the same p), so the verdict is not 'different'
    assert peak["p_value"] == pytest.approx(1 / 35) and peak["p_holm"] == pytest.approx(3 / 35)
    assert peak["verdict"] == "inconclusive"
    assert {"env", "variant", "measure", "n_engine", "n_notebook", "engine_value",
            "notebook_value", "test", "p_value", "verdict", "ci_low", "ci_high", "p_holm",
            "margin"} <= set(table.columns)  # fmt: skip


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("fidelity"))


def _jobs(stdout):
    jobs = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            jobs[parts[0]] = int(parts[1])
    return jobs


def test_fidelity_config_plans_both_sides(workdir):
    plan_ = planned(REPO, ())
    exp = plan_.experiments["fidelity"]
    plan = snakemake(workdir, "fidelity", "-n", "--forceall", "--quiet", "rules")
    assert plan.returncode == 0, plan.stderr[-3000:]
    jobs = _jobs(plan.stdout)
    for comp in exp.analyses["fidelity"]["comparisons"].values():
        for side in ("fast", "notebook"):
            arm = exp.arms[comp[side]]
            assert arm.implementation == side and len(arm.seeds) >= 20
            # every seed of the side is trained by a job of the plan (its own or shared)
            csvs = set(arm.csvs[comp["env"]].values())
            assert csvs <= {c for j in plan_.jobs_for(["fidelity"]) for c in j.csvs}
    assert {j.name for j in plan_.jobs_for(["fidelity"])} == {k for k in jobs if k.startswith("train_")}
    assert jobs["fidelity_table_fidelity"] == jobs["fidelity_figure_fidelity"] == 1
    # the notebook side runs the notebook's code
    target = "results/runs/fidelity/one_step_notebook/CartPole-v1/seed0.csv"
    plan = snakemake(workdir, target, "-n", "-p", "--forceall")
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert "a2c-repro train --implementation notebook --variant one_step" in plan.stdout


def test_fidelity_config_the_notebook_cannot_run_is_rejected(workdir, tmp_path):
    bad = tmp_path / "bad.yaml"
    arms = {"one_step_fast": {"set": {"actor_lr": 0.0003}},
            "one_step_notebook": {"set": {"actor_lr": 0.0003}}}  # fmt: skip
    bad.write_text(yaml.safe_dump({"experiments": {"fidelity": {"arms": arms}}}))
    plan = snakemake(workdir, "-n", "--configfile", str(bad))
    out = plan.stdout + plan.stderr
    assert plan.returncode != 0
    assert "Invalid config: experiments.fidelity.arms.one_step_notebook.set" in out
    assert "actor_lr" in out


def test_collapse_given_learned_counts_learners_only_and_unknown_measures_are_named(tmp_path):
    comp = {"env": "CartPole-v1", "label": "cp", "collapse": COLLAPSE,
            "margins": {"collapse_given_learned_rate": {"absolute": 0.2},
                        "never_learned_rate": {"absolute": 0.05}}}  # fmt: skip
    fid = {"alpha": 0.05, "bootstrap": BOOT, "peak_window": 4, "final_window": 3,
           "comparisons": {"cp": comp}}  # fmt: skip
    learned_collapsed = [20, 100, 200, 300, 200, 100, 10, 9, 9, 10]
    never = [12, 10, 9, 9, 10, 9, 9, 9, 9, 9]
    side_of_path, paths = {}, []
    # engine: 2 collapse, 2 never learned; notebook: 2 collapse. Among learners both are 2/2.
    for side, series in (("engine", [learned_collapsed] * 2 + [never] * 2),
                         ("notebook", [learned_collapsed] * 2)):  # fmt: skip
        for seed, returns in enumerate(series):
            path = tmp_path / f"{side}{seed}.csv"
            _run(returns, [0.95] * 10, seed=seed).to_csv(path, index=False)
            side_of_path[str(path)] = ["cp", side]
            paths.append(str(path))
    runs = runs_table(paths, side_of_path, fid)
    table = fidelity_table(runs, fid).set_index("measure")
    cgl = table.loc["collapse_given_learned_rate"]
    assert (cgl["n_engine"], cgl["n_notebook"]) == (2, 2) and cgl["effect"] == 0
    assert table.loc["never_learned_rate", "engine_value"] == 0.5
    assert set(table["verdict"]) <= {"equivalent", "differs", "inconclusive"}
    fid["comparisons"]["cp"]["margins"]["final_return"] = {"absolute": 5}
    with pytest.raises(ValueError, match=r"cp.margins: unknown measure\(s\) \['final_return'\]"):
        fidelity_table(runs, fid)
