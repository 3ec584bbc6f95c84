"""The collapse study's statistics against cases worked out by hand: run metrics, the
learned / collapsed / never_learned classification, Wilson interval, Fisher and
Mann-Whitney with Holm, Kaplan-Meier and log-rank, the like-for-like C1, and the
deterministic retrain behind the rollouts animation."""

from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd
import pytest
from pipeline_helpers import REPO

sys.path.insert(0, str(REPO / "workflow/scripts"))
from collapse_study import ablation_table, classify, compare_with_reference, run_collapse_metrics
from collapse_survival import survival_table
from evaluate_claims import claim_peak
from robust_stats import holm, iqm_middle_count, wilson_interval
from run_metrics import run_metrics

RULE = {
    "learned_threshold": 100,
    "window": 5,
    "return_threshold": 15,
    "majority_action_threshold": 0.9,
    "onset_window": 3,
}


def make_run(returns, majority) -> pd.DataFrame:
    returns = np.asarray(returns, dtype=float)
    n = len(returns)
    return pd.DataFrame({
        "episode": np.arange(n),
        "return": returns,
        "length": returns.astype(int),
        "env_steps": np.cumsum(returns.astype(int)),
        "entropy": np.full(n, 0.1),
        "top_prob_gt_099": np.full(n, 1.0),
        "majority_action_frac": np.full(n, majority),
    })


def test_run_metrics_final_return_and_peak():
    r = np.arange(1.0, 11.0)  # episodes 0..9 with returns 1..10
    m = run_metrics(r, np.arange(10), np.cumsum(r), final_fraction=0.2, peak_window=3)
    assert m["final_return"] == pytest.approx(9.5)  # mean of the last 2 episodes
    assert m["final_n_episodes"] == 2
    assert m["peak_mean_return"] == pytest.approx(9.0) and m["peak_episode"] == 9
    assert m["total_env_steps"] == 55
    hump = [0, 0, 30, 60, 90, 0, 0, 0, 0, 0.0]  # best 3-window is episodes 2-4, ends at 4
    m = run_metrics(hump, np.arange(10), np.arange(10), final_fraction=0.1, peak_window=3)
    assert m["peak_mean_return"] == pytest.approx(60.0) and m["peak_episode"] == 4
    # a run shorter than the window: the whole run is the window
    m = run_metrics([4.0, 8.0], np.arange(2), np.arange(2), 0.1, peak_window=50)
    assert m["peak_mean_return"] == pytest.approx(6.0) and m["peak_window"] == 2


def test_never_learned_is_not_collapsed():
    assert classify(150.0, 9.0, 1.0, RULE) == "collapsed"
    assert classify(100.0, 9.0, 1.0, RULE) == "collapsed"  # the threshold itself counts
    assert classify(12.5, 9.0, 1.0, RULE) == "never_learned"  # one-way end, never learned
    assert classify(99.9, 200.0, 0.5, RULE) == "never_learned"
    assert classify(150.0, 200.0, 0.5, RULE) == "survived"
    assert classify(150.0, 9.0, 0.6, RULE) == "survived"  # short episodes but not one-way


def test_run_collapse_metrics_onset_only_for_learned_then_collapsed_runs():
    learned = make_run([20, 150, 150, 150, 150, 150, 9, 9, 9, 9, 9, 9], majority=1.0)
    m = run_collapse_metrics(learned, RULE, final_fraction=0.1, peak_window=3)
    assert m["outcome"] == "collapsed" and m["collapsed"] and not m["never_learned"]
    assert m["peak_mean_return"] == pytest.approx(150.0) and m["peak_episode"] == 3
    # 3-episode trailing means after the peak: 150, 150, 103, 56, 9 -> first <= 15 at episode 8
    assert m["onset_episode"] == 8
    never = make_run([10, 12, 14, 12, 9, 9, 9, 9, 9, 9, 9, 9], majority=1.0)
    m = run_collapse_metrics(never, RULE, final_fraction=0.1, peak_window=3)
    assert m["outcome"] == "never_learned" and not m["collapsed"] and m["never_learned"]
    assert math.isnan(m["onset_episode"])


def test_wilson_interval_by_hand():
    # p = 0.9, n = 20, z = 1.959964: centre (p + z^2/2n) / (1 + z^2/n) = 0.835551,
    # half-width z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n) = 0.136584
    low, high = wilson_interval(18, 20, 0.95)
    assert low == pytest.approx(0.698967, abs=5e-6) and high == pytest.approx(0.972135, abs=5e-6)
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


def test_holm_by_hand_and_nan_is_not_a_test():
    # sorted 0.01, 0.03, 0.04 times 3, 2, 1 = 0.03, 0.06, 0.04 -> running max 0.03, 0.06, 0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    out = holm([math.nan, 0.01, 0.04])
    assert math.isnan(out[0]) and out[1:] == pytest.approx([0.02, 0.04])


def collapse_rows(arm: str, collapsed: list[bool], finals: list[float]) -> list[dict]:
    return [
        {"arm": arm, "variant": "one_step", "seed": i, "collapsed": c, "never_learned": False,
         "outcome": "collapsed" if c else "survived", "final_return": f,
         "peak_mean_return": 150.0, "onset_episode": 300 if c else pd.NA, "n_episodes": 501,
         "final_top_prob_gt_099": 1.0, "final_majority_action_frac": 1.0, "final_entropy": 0.0,
         "total_env_steps": 1000}
        for i, (c, f) in enumerate(zip(collapsed, finals))
    ]  # fmt: skip


def test_fisher_and_mann_whitney_against_the_reference_arm_by_hand():
    ref = collapse_rows("ref", [True] * 4, [1.0, 3.0, 5.0, 7.0])
    a = collapse_rows("a", [False] * 4, [10.0, 11.0, 12.0, 13.0])
    b = collapse_rows("b", [True] * 4, [1.0, 3.0, 5.0, 7.0])
    collapse = pd.DataFrame(ref + a + b)
    t = compare_with_reference(collapse, ["ref", "a", "b"], "ref").set_index("arm")
    # Fisher [[0, 4], [4, 0]]: each extreme table has probability 1 / C(8, 4) = 1/70
    assert t.loc["a", "collapse_fisher_p"] == pytest.approx(2 / 70)
    assert t.loc["b", "collapse_fisher_p"] == pytest.approx(1.0)
    # Mann-Whitney, all 4 above all 4, no ties: exact two-sided p = 2 / C(8, 4)
    assert t.loc["a", "final_return_mannwhitney_p"] == pytest.approx(2 / 70)
    assert t.loc["b", "final_return_mannwhitney_p"] == pytest.approx(1.0)
    # Holm over the 2 compared arms: 2/70 * 2, and 1
    assert t.loc["a", "collapse_fisher_p_holm"] == pytest.approx(4 / 70)
    assert t.loc["a", "final_return_mannwhitney_p_holm"] == pytest.approx(4 / 70)
    assert t.loc["b", "collapse_fisher_p_holm"] == pytest.approx(1.0)
    assert t.loc["ref"].isna().all()  # the reference arm is not tested against itself
    boot = {"n_resamples": 100, "confidence": 0.95, "seed": 0}
    table = ablation_table(collapse, {"ref": "R", "a": "A", "b": "B"}, boot, "ref").set_index("arm")
    assert table.loc["a", "collapse_fisher_p_holm"] == pytest.approx(4 / 70)
    assert table.loc["a", "n_collapsed"] == 0 and table.loc["ref", "n_collapsed"] == 4
    assert table.loc["ref", "iqm_n_averaged"] == 2  # IQM of 4 seeds averages the middle 2
    assert [iqm_middle_count(n) for n in (4, 10, 40, 100)] == [2, 6, 20, 50]


def survival_rows(arm: str, durations: list[int], events: list[int]) -> list[dict]:
    """collapse.csv rows: an event at `d` is an onset at episode d; a censored run ends at d."""
    return [
        {"arm": arm, "seed": i, "collapsed": bool(e), "onset_episode": d if e else pd.NA,
         "n_episodes": 501 if e else d + 1}
        for i, (d, e) in enumerate(zip(durations, events))
    ]  # fmt: skip


def test_kaplan_meier_on_a_tiny_censored_set_by_hand():
    # times 2, 3, 3+, 5, 6+: S = 4/5 after 2, x 3/4 after 3 (the run censored at 3 is still at
    # risk then), x 1/2 after 5 (at risk: 5 and 6+) -> 0.8, 0.6, 0.3; median = 5
    collapse = pd.DataFrame(survival_rows("ref", [2, 3, 3, 5, 6], [1, 1, 0, 1, 0]))
    t = survival_table(collapse, {"ref": "R"}, "ref", 0.95).set_index("arm")
    assert t.loc["ref", "n_collapsed"] == 3 and t.loc["ref", "n_censored"] == 2
    assert t.loc["ref", "at_episode"] == 500  # the budget of the collapsed runs (501 episodes)
    assert t.loc["ref", "survival"] == pytest.approx(0.3)
    assert t.loc["ref", "survival_ci_low"] < 0.3 < t.loc["ref", "survival_ci_high"]
    assert t.loc["ref", "median_episodes_to_collapse"] == 5
    assert math.isnan(t.loc["ref", "logrank_p"])


def test_log_rank_against_the_reference_arm_by_hand():
    # ref collapses at 1 and 2; the arm is censored at 3 (2 runs). At t=1: 4 at risk, 2 of
    # them ref, 1 event: E = 1/2, V = 1/4. At t=2: 3 at risk, 1 ref, 1 event: E = 1/3,
    # V = (1/3)(2/3) = 2/9. chi2 = (2 - 5/6)^2 / (1/4 + 2/9) = 49/17.
    rows = survival_rows("ref", [1, 2], [1, 1]) + survival_rows("arm", [3, 3], [0, 0])
    t = survival_table(pd.DataFrame(rows), {"ref": "R", "arm": "A"}, "ref", 0.95).set_index("arm")
    chi2 = 49 / 17
    assert t.loc["arm", "logrank_chi2"] == pytest.approx(chi2)
    assert t.loc["arm", "logrank_p"] == pytest.approx(math.erfc(math.sqrt(chi2 / 2)))
    assert t.loc["arm", "logrank_p_holm"] == pytest.approx(t.loc["arm", "logrank_p"])
    assert t.loc["arm", "survival"] == 1.0 and t.loc["arm", "n_collapsed"] == 0


def test_c1_places_the_single_evaluation_among_the_seeds_evaluations():
    seeds = 5
    evals = [10.0, 20.0, 30.0, 40.0, 200.0]
    episodes = pd.DataFrame([
        {"seed": s, "episode": e, "return": 100.0 + s, "eval_return": evals[s] if e == 4 else np.nan}
        for s in range(seeds) for e in range(8)
    ])  # fmt: skip
    ref = pd.DataFrame({"peak_mean_return": [150.0] * seeds, "peak_episode": [6] * seeds,
                        "peak_window": [4] * seeds})  # fmt: skip
    cfg = {"return": 175, "return_tolerance": 0.5, "episode": 4, "coverage": 0.95, "centred_window": 4}
    boot = {"n_resamples": 100, "confidence": 0.95, "seed": 0}
    row = claim_peak(ref, episodes, cfg, boot)
    # central 95% of [10, 20, 30, 40, 200] (linear quantiles): [11, 184] holds 175, which is
    # above 4 of the 5; the training means over episodes 2-5 are 100..104 (median 102), inside
    # 175 +- 50%
    assert "[11, 184]" in row["statistic"] and "percentile 80" in row["statistic"]
    assert row["verdict"] == "SUPPORTED" and row["value"] == 30.0 and row["n_seeds"] == 5
    cfg_far = {**cfg, "return": 500}
    assert claim_peak(ref, episodes, cfg_far, boot)["verdict"] == "NOT SUPPORTED"


def test_agent_states_at_replays_the_trained_run(tmp_path):
    from a2c_repro.config import default_config
    from a2c_repro.train import agent_states_at, train

    cfg = default_config("one_step")
    (csv,) = train("one_step", "CartPole-v1", [3], 12, cfg, tmp_path)
    states, rows = agent_states_at("one_step", "CartPole-v1", 3, cfg, [4, 11])
    assert csv.read_text().splitlines()[1:] == rows
    assert sorted(states) == [4, 11]
    assert not np.array_equal(states[4]["actor"]["P"], states[11]["actor"]["P"])


def test_rollout_frames_are_deterministic(tmp_path):
    from plot_collapse_rollouts import rollout

    from a2c_repro.config import default_config
    from a2c_repro.train import agent_states_at

    cfg = default_config("one_step")
    states, _ = agent_states_at("one_step", "CartPole-v1", 0, cfg, [1])
    frames_a, ret_a = rollout("CartPole-v1", states[1], cfg, rollout_seed=5, stride=1)
    frames_b, ret_b = rollout("CartPole-v1", states[1], cfg, rollout_seed=5, stride=1)
    assert ret_a == ret_b and len(frames_a) == ret_a + 1  # one frame per step plus the start
    assert all(np.array_equal(a, b) for a, b in zip(frames_a, frames_b))
    assert frames_a[0].ndim == 3 and frames_a[0].shape[2] == 3
