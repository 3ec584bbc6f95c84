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
from collapse_event import check_rule, collapse_event
from collapse_study import ablation_table, compare_with_reference, run_collapse_metrics
from collapse_survival import survival_table
from evaluate_claims import claim_one_way, claim_peak
from robust_stats import holm, iqm_middle_count, wilson_interval
from run_metrics import run_metrics

RULE = {
    "learned_threshold": 100,
    "peak_window": 3,
    "window": 2,
    "return_threshold": 15,
    "majority_action_threshold": 0.9,
    "persistence": 4,
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


def event(returns, majority=1.0, **changes):
    returns = np.asarray(returns, dtype=float)
    majority = np.broadcast_to(np.asarray(majority, dtype=float), returns.shape)
    return collapse_event(returns, majority, np.arange(len(returns)), {**RULE, **changes})


def test_collapse_is_a_lasting_one_way_state_after_learning():
    # learned at episode 2 (first 3-window mean >= 100: (20 + 150 + 150) / 3), then one-way
    # from episode 7 on (2-episode trailing means: 79.5 at 6, 9 from 7), 6 episodes >= 4
    e = event([20, 150, 150, 150, 150, 150, 9, 9, 9, 9, 9, 9, 9])
    assert e["outcome"] == "collapsed" and e["event"] == 1
    assert e["learned_episode"] == 2 and e["onset_episode"] == 7 and e["duration"] == 7
    # the same low returns without the one-way evidence (actions alternate) are no collapse
    assert event([20, 150, 150, 150, 150, 150, 9, 9, 9, 9, 9, 9, 9], majority=0.6)["outcome"] == "survived"
    # the learned threshold itself counts; a run whose best 3-window is 99.9 never learned,
    # even if it ends one-way: it is never a collapse and never a survivor
    assert event([100, 100, 100, 9, 9, 9, 9, 9, 9, 9])["outcome"] == "collapsed"
    never = event([99.9, 99.9, 99.9, 9, 9, 9, 9, 9, 9, 9])
    assert never["outcome"] == "never_learned" and math.isnan(never["duration"])
    assert math.isnan(never["onset_episode"]) and never["event"] == 0


def test_a_dip_that_recovers_is_not_a_collapse_but_a_late_collapse_is():
    up = [150.0] * 5
    # a one-way dip of 3 episodes (trailing-2 one-way at 2 positions < persistence 4), recovered
    dip = event(up + [9, 9, 9] + up * 2)
    assert dip["outcome"] == "survived" and dip["n_dips"] == 1
    assert dip["duration"] == len(up) * 3 + 3 - 1  # censored at the last episode
    # the same dip at the very end of the run: the policy never recovered -> collapse
    late = event(up * 3 + [9, 9, 9])
    assert late["outcome"] == "collapsed" and late["onset_episode"] == 16 and late["n_dips"] == 0
    # a dip, then a lasting collapse: onset at the lasting one, the dip counted apart
    both = event(up + [9, 9, 9] + up + [9] * 8)
    assert both["outcome"] == "collapsed" and both["n_dips"] == 1 and both["onset_episode"] == 14
    # a longer persistence turns the lasting stretch of 7 trailing windows into a dip only if
    # it does not reach the end: here it reaches the end, so it is still a collapse
    assert event(up + [9] * 8, persistence=50)["outcome"] == "collapsed"
    assert event(up + [9] * 8 + up, persistence=50)["outcome"] == "survived"


def test_one_way_windows_before_learning_do_not_count():
    # one-way start (as many runs do), then learning, then no fall: survived, no dip
    e = event([9, 9, 9, 9, 150, 150, 150, 150, 150, 150])
    assert e["outcome"] == "survived" and e["n_dips"] == 0 and e["learned_episode"] == 5


def test_bad_rule_values_are_named_in_one_line():
    with pytest.raises(ValueError, match="persistence must be an integer >= 1, got 0"):
        check_rule({**RULE, "persistence": 0})
    with pytest.raises(ValueError, match="missing key.*window"):
        check_rule({k: v for k, v in RULE.items() if k != "window"})
    with pytest.raises(ValueError, match="return_threshold .*must be below learned_threshold"):
        check_rule({**RULE, "return_threshold": 100})


def test_run_collapse_metrics_onset_only_for_learned_then_collapsed_runs():
    learned = make_run([20, 150, 150, 150, 150, 150, 9, 9, 9, 9, 9, 9], majority=1.0)
    m = run_collapse_metrics(learned, RULE, final_fraction=0.1)
    assert m["outcome"] == "collapsed" and m["collapsed"] and m["learned"] and not m["never_learned"]
    assert m["peak_mean_return"] == pytest.approx(150.0) and m["peak_episode"] == 3
    assert m["onset_episode"] == 7
    never = make_run([10, 12, 14, 12, 9, 9, 9, 9, 9, 9, 9, 9], majority=1.0)
    m = run_collapse_metrics(never, RULE, final_fraction=0.1)
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
         "learned": True, "n_dips": 0, "outcome": "collapsed" if c else "survived", "final_return": f,
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
    # the reference arm is not tested against itself
    assert t.loc["ref"].drop("reference").isna().all()
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
         "outcome": "collapsed" if e else "survived", "n_episodes": 501 if e else d + 1}
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


def learner_rows(arm: str, n_never: int, n_collapsed: int, n_survived: int, n_episodes=501):
    rows = []
    for outcome, k in (("never_learned", n_never), ("collapsed", n_collapsed), ("survived", n_survived)):
        for _ in range(k):
            rows.append({
                "arm": arm, "variant": "one_step", "seed": len(rows), "outcome": outcome,
                "learned": outcome != "never_learned", "collapsed": outcome == "collapsed",
                "never_learned": outcome == "never_learned", "n_dips": 0,
                "final_return": 9.0 if outcome != "survived" else 300.0, "peak_mean_return": 150.0,
                "onset_episode": 300 if outcome == "collapsed" else pd.NA, "n_episodes": n_episodes,
                "final_top_prob_gt_099": 1.0, "final_majority_action_frac": 1.0,
                "final_entropy": 0.0, "total_env_steps": 1000,
            })  # fmt: skip
    return rows


def test_never_learned_runs_are_not_successes_and_learners_are_compared_with_learners():
    # ref: 10 runs, all learn, 8 collapse. "clip": 10 runs, none learns -> 0 collapsed, which the
    # overall rate calls a significant improvement; among learners it is untestable.
    # "slow": 10 runs, 6 learn, 0 of them collapse (Fisher [[0, 6], [8, 2]], two-sided
    # p = 2 C(8,0) C(8,6) / C(16,6) = 56 / 8008 = 0.006993: this table and its mirror, 6 of 6)
    rows = learner_rows("ref", 0, 8, 2) + learner_rows("clip", 10, 0, 0) + learner_rows("slow", 4, 0, 6)
    collapse = pd.DataFrame(rows)
    boot = {"n_resamples": 100, "confidence": 0.95, "seed": 0}
    t = ablation_table(collapse, {"ref": "R", "clip": "C", "slow": "S"}, boot, "ref").set_index("arm")
    assert t.loc["clip", "collapse_fisher_p"] < 0.001  # what the old table reported
    assert t.loc["clip", "n_learned"] == 0 and math.isnan(t.loc["clip", "collapse_given_learned_rate"])
    assert math.isnan(t.loc["clip", "collapse_given_learned_fisher_p"])
    assert t.loc["clip", "reading"].startswith("never learns")
    assert t.loc["slow", "collapse_given_learned_rate"] == 0.0 and t.loc["slow", "learned_rate"] == 0.6
    assert t.loc["slow", "collapse_given_learned_fisher_p"] == pytest.approx(0.006993, abs=1e-5)
    # one arm tested among learners: Holm over 1 leaves p as is; learned-rate Holm over 2
    assert t.loc["slow", "collapse_given_learned_fisher_p_holm"] == pytest.approx(0.006993, abs=1e-5)
    assert t.loc["slow", "learned_fisher_p"] == pytest.approx(0.08668, abs=1e-4)  # [[6,4],[10,0]]
    # learns less often is not significant at 0.05 after Holm, collapses less among learners
    assert t.loc["slow", "reading"] == "collapses less among learners within 501 episodes"
    lo, hi = t.loc["slow", ["collapse_given_learned_ci_low", "collapse_given_learned_ci_high"]]
    assert lo == pytest.approx(0.0, abs=1e-12) and hi == pytest.approx(wilson_interval(0, 6)[1])
    # survival: never-learned runs are absent, so the never-learning arm has no curve at all
    s = survival_table(collapse, {"ref": "R", "clip": "C", "slow": "S"}, "ref", 0.95).set_index("arm")
    assert s.loc["clip", "n_learned"] == 0 and math.isnan(s.loc["clip", "survival"])
    assert s.loc["slow", "n_learned"] == 6 and s.loc["slow", "n_censored"] == 6
    assert s.loc["ref", "survival"] == pytest.approx(0.2)  # 2 of 10 learners survived


def test_arms_with_different_budgets_share_one_survival_table():
    # long ref: 2000 episodes, all collapse at 300 or 1500; long arm: 4 learners, 1 collapses at
    # 1500, the rest censored at 1999. Compared with its own reference, read at its own budget
    # and at the common episode 500.
    ref = learner_rows("ref", 0, 4, 0)
    longref = learner_rows("ref_long", 0, 4, 0, n_episodes=2000)
    for r, onset in zip(longref, (300, 300, 1500, 1500)):
        r["onset_episode"] = onset
    arm = learner_rows("arm_long", 0, 1, 3, n_episodes=2000)
    arm[0]["onset_episode"] = 1500
    collapse = pd.DataFrame(ref + longref + arm)
    labels = {"ref": "R", "ref_long": "RL", "arm_long": "AL"}
    s = survival_table(collapse, labels, "ref", 0.95, reference_of={"ref_long": "ref_long",
                       "arm_long": "ref_long"}).set_index("arm")  # fmt: skip
    assert s.loc["arm_long", "reference"] == "ref_long" and math.isnan(s.loc["ref_long", "logrank_p"])
    assert s.loc["arm_long", "at_episode"] == 1999 and s.loc["ref", "at_episode"] == 500
    assert s.loc["arm_long", "survival"] == pytest.approx(0.75)
    assert s.loc["ref_long", "survival"] == 0.0 and s.loc["ref_long", "survival_common"] == 0.5
    assert (s["common_episode"] == 500).all() and s.loc["arm_long", "survival_common"] == 1.0


def test_c1_can_fail_the_median_evaluations_ci_against_the_band():
    seeds = 20
    evals = np.arange(100.0, 300.0, 10.0)  # 100, 110, ..., 290: median 195
    episodes = pd.DataFrame([
        {"seed": s, "episode": e, "return": 100.0 + s, "eval_return": evals[s] if e == 4 else np.nan}
        for s in range(seeds) for e in range(8)
    ])  # fmt: skip
    ref = pd.DataFrame({"peak_mean_return": [150.0] * seeds, "peak_episode": [6] * seeds,
                        "peak_window": [4] * seeds})  # fmt: skip
    cfg = {"return": 175, "return_tolerance": 0.5, "episode": 4, "centred_window": 4,
           "power_simulations": 200}  # fmt: skip
    boot = {"n_resamples": 100, "confidence": 0.95, "seed": 0}
    row = claim_peak(ref, episodes, cfg, boot)
    # exact median CI for n = 20: the 6th and 15th order statistics (P(Bin(20, 1/2) <= 5) =
    # 0.0207 per tail, coverage 0.959) = [150, 240], inside [87.5, 262.5]
    assert "95% CI [150, 240]" in row["statistic"] and row["verdict"] == "SUPPORTED"
    assert row["value"] == 195.0 and row["n_seeds"] == 20 and "[87.5, 262.5]" in row["rule"]
    # the same spread 100 lower: CI [50, 140] straddles 87.5 -> PARTLY; 200 lower: outside
    assert claim_peak(ref, episodes.assign(eval_return=episodes["eval_return"] - 100), cfg, boot)[
        "verdict"] == "PARTLY"  # fmt: skip
    far = claim_peak(ref, episodes.assign(eval_return=episodes["eval_return"] - 200), cfg, boot)
    assert far["verdict"] == "NOT SUPPORTED"
    # the power statement is written into the test column
    assert "Power at 20 seeds" in row["test"] and "with probability" in row["test"]


def test_c3_selects_by_return_alone():
    # four learned runs end low; two of them alternate (majority 0.5): C3 must see them, since
    # they were selected by return, not by the majority action it measures
    ref = pd.DataFrame({
        "learned": [True] * 5 + [False],
        "final_mean_return": [9.0, 9.0, 9.0, 9.0, 300.0, 9.0],
        "final_majority_action_frac": [1.0, 1.0, 0.5, 0.5, 0.5, 1.0],
        "final_top_prob_gt_099": [1.0, 1.0, 0.0, 0.0, 0.9, 1.0],
    })  # fmt: skip
    row = claim_one_way(ref, return_threshold=15)
    assert row["n_seeds"] == 4 and row["value"] == pytest.approx(0.75)
    assert row["verdict"] == "PARTLY"  # median majority 0.75 < 0.95; median top-prob 0.5 >= 0.5
    assert claim_one_way(ref.iloc[[0, 1, 4, 5]], return_threshold=15)["verdict"] == "SUPPORTED"


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
    frames_a, ret_a, actions_a = rollout("CartPole-v1", states[1], cfg, rollout_seed=5, stride=1)
    frames_b, ret_b, actions_b = rollout("CartPole-v1", states[1], cfg, rollout_seed=5, stride=1)
    assert ret_a == ret_b and actions_a == actions_b and len(actions_a) == ret_a
    assert len(frames_a) == ret_a + 1  # one frame per step plus the start
    # frames are (image, step) pairs
    assert [t for _, t in frames_a] == list(range(int(ret_a) + 1))
    assert all(np.array_equal(a, b) and s == t for (a, s), (b, t) in zip(frames_a, frames_b))
    assert frames_a[0][0].ndim == 3 and frames_a[0][0].shape[2] == 3
