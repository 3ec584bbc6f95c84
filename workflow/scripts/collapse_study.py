"""The collapse study of one-step A2C on CartPole: per-run collapse metrics
(collapse.csv), per-arm ablation statistics with tests against the reference arm
(ablations.csv) and the reference arm's episodes aligned on the collapse onset
(collapse_episodes.csv).

Run by Snakemake (rule aggregate_ablations); the collapse definition is collapse_event.py's.
"""

import math

import numpy as np
import pandas as pd
from collapse_event import OUTCOMES, RULE_KEYS, check_rule, frame_event
from deterministic_io import log_to, write_csv
from robust_stats import bootstrap_ci, holm, iqm, iqm_middle_count, wilson_interval
from run_metrics import final_window_means, frame_metrics
from scipy.stats import fisher_exact, mannwhitneyu

__all__ = ["OUTCOMES", "ablation_table", "collapse_rule", "collapse_table", "compare_with_reference"]


def load_arms(paths: list[str], arm_of_path: dict[str, str]) -> pd.DataFrame:
    frames = []
    for path in paths:
        frame = pd.read_csv(path)
        frame.insert(0, "arm", arm_of_path[path])
        frames.append(frame)
    runs = pd.concat(frames, ignore_index=True)
    return runs.sort_values(["arm", "seed", "episode"], kind="stable").reset_index(drop=True)


def collapse_rule(collapse: dict, peak_window: int) -> dict:
    """The collapse rule (collapse_event.py) from the config's `collapse` section and the
    analysis peak window."""
    return check_rule({**{k: collapse[k] for k in RULE_KEYS if k in collapse}, "peak_window": peak_window})


def run_collapse_metrics(run: pd.DataFrame, rule: dict, final_fraction: float) -> dict:
    """Collapse metrics of one run (one arm, one seed): the event (collapse_event.py) and
    the end-of-run diagnostics over its last `rule['window']` episodes."""
    metrics = frame_metrics(run, final_fraction, rule["peak_window"])
    event = frame_event(run, rule)
    n = len(run)
    last = slice(n - min(rule["window"], n), n)
    final_mean, majority = final_window_means(run, rule["window"])
    onset = event["onset_episode"]
    longest_before_onset = math.nan
    if event["outcome"] == "collapsed":
        at = int(np.flatnonzero(run["episode"].to_numpy() == onset)[0])
        # did a long (e.g. time-limit-truncated) episode come just before the collapse?
        before = run["length"].to_numpy()[max(0, at - 2 * rule["window"]) : at]
        longest_before_onset = int(before.max()) if before.size else math.nan
    outcome = event["outcome"]
    return {
        "n_episodes": n,
        "peak_mean_return": metrics["peak_mean_return"],
        "peak_episode": metrics["peak_episode"],
        "learned_episode": event["learned_episode"],
        "final_mean_return": final_mean,
        "final_return": metrics["final_return"],
        "final_entropy": run["entropy"].to_numpy(dtype=float)[last].mean(),
        "final_majority_action_frac": majority,
        "final_top_prob_gt_099": run["top_prob_gt_099"].to_numpy(dtype=float)[last].mean(),
        "onset_episode": onset,
        "n_dips": event["n_dips"],
        "longest_episode_before_onset": longest_before_onset,
        "outcome": outcome,
        "learned": outcome != "never_learned",
        "collapsed": outcome == "collapsed",
        "never_learned": outcome == "never_learned",
        "total_env_steps": metrics["total_env_steps"],
    }


def collapse_table(runs: pd.DataFrame, rule: dict, final_fraction: float, arms: list[str]) -> pd.DataFrame:
    rows = []
    for (arm, seed), run in runs.groupby(["arm", "seed"], sort=True):
        rows.append({"arm": arm, "env_id": run["env_id"].iloc[0], "variant": run["variant"].iloc[0],
                     "seed": seed, **run_collapse_metrics(run, rule, final_fraction)})
    table = pd.DataFrame(rows)
    table["arm"] = pd.Categorical(table["arm"], categories=arms, ordered=True)
    table = table.sort_values(["arm", "seed"]).reset_index(drop=True)
    table["arm"] = table["arm"].astype(str)
    for column in ("learned_episode", "onset_episode", "longest_episode_before_onset"):
        table[column] = table[column].astype("Int64")
    return table


def _fisher(k: int, n: int, k_ref: int, n_ref: int) -> float:
    """Two-sided Fisher exact p of k/n against k_ref/n_ref (NaN when a side is empty)."""
    if n == 0 or n_ref == 0:
        return math.nan
    return float(fisher_exact([[k, n - k], [k_ref, n_ref - k_ref]]).pvalue)


def reading(row: dict, ref: dict, alpha: float) -> str:
    """What an arm shows against its reference, from Holm-adjusted tests only. An arm
    'prevents the collapse' only if it learns at least as often as the reference (its
    learned rate is not lower, or not significantly lower) and collapses less among the runs
    that learned (Holm p < alpha)."""
    if row["n_learned"] == 0:
        return "never learns: collapse among learners untestable"
    learns_less = row["learned_fisher_p_holm"] < alpha and row["learned_rate"] < ref["learned_rate"]
    cgl_p = row["collapse_given_learned_fisher_p_holm"]
    lower = row["collapse_given_learned_rate"] < ref["collapse_given_learned_rate"]
    if learns_less:
        return "learns less often than the reference"
    if cgl_p < alpha and lower:
        return f"collapses less among learners within {row['n_episodes']} episodes"
    if cgl_p < alpha:
        return "collapses more among learners"
    return "no difference shown"


def compare_with_reference(
    collapse: pd.DataFrame, arms: list[str], reference: str, reference_of: dict | None = None
) -> pd.DataFrame:
    """Per arm vs its reference arm (`reference_of[arm]`, else `reference`), two-sided:
    Fisher's exact test on P(learned) over all seeds, on P(collapse | learned) over the runs
    that learned, and on the overall collapse rate; Mann-Whitney U on the final return.
    Each family of p-values is Holm-adjusted over the arms tested (a reference arm, and an
    arm or reference with no learner for the given-learned test, gets no test)."""
    reference_of = reference_of or {}
    rows = []
    for arm in arms:
        ref_name = reference_of.get(arm, reference)
        runs, ref = collapse[collapse["arm"] == arm], collapse[collapse["arm"] == ref_name]
        row = {"arm": arm, "reference": ref_name}
        tested = arm != ref_name and len(runs) and len(ref)
        lr, lref = runs[runs["learned"].astype(bool)], ref[ref["learned"].astype(bool)]
        row["learned_fisher_p"] = _fisher(len(lr), len(runs), len(lref), len(ref)) if tested else math.nan
        row["collapse_given_learned_fisher_p"] = (
            _fisher(int(lr["collapsed"].sum()), len(lr), int(lref["collapsed"].sum()), len(lref))
            if tested else math.nan
        )  # fmt: skip
        row["collapse_fisher_p"] = (
            _fisher(int(runs["collapsed"].sum()), len(runs), int(ref["collapsed"].sum()), len(ref))
            if tested else math.nan
        )  # fmt: skip
        row["final_return_mannwhitney_p"] = (
            float(mannwhitneyu(runs["final_return"].to_numpy(dtype=float),
                               ref["final_return"].to_numpy(dtype=float),
                               alternative="two-sided").pvalue)
            if tested else math.nan
        )  # fmt: skip
        rows.append(row)
    table = pd.DataFrame(rows)
    for col in ("learned_fisher_p", "collapse_given_learned_fisher_p", "collapse_fisher_p",
                "final_return_mannwhitney_p"):  # fmt: skip
        table[f"{col}_holm"] = holm(table[col])
    return table


def ablation_table(
    collapse: pd.DataFrame, labels: dict, boot: dict, reference: str,
    reference_of: dict | None = None, alpha: float = 0.05,
) -> pd.DataFrame:  # fmt: skip
    """Per arm: outcomes, P(learned) and P(collapse | learned) with Wilson intervals, the
    overall collapse rate, the final return's IQM, tests against the reference arm and the
    `reading` they allow (see `reading`)."""
    rows = []
    conf = boot["confidence"]
    for arm, label in labels.items():
        arm_runs = collapse[collapse["arm"] == arm]
        if arm_runs.empty:
            continue
        n = len(arm_runs)
        k = int(arm_runs["collapsed"].sum())
        never = int(arm_runs["never_learned"].sum())
        learned = n - never
        low, high = wilson_interval(k, n, conf)
        l_low, l_high = wilson_interval(learned, n, conf)
        c_low, c_high = wilson_interval(k, learned, conf)
        final = arm_runs["final_return"].to_numpy(dtype=float)
        ci = bootstrap_ci(final[None, :], "iqm", boot["n_resamples"], conf, boot["seed"])
        onsets = arm_runs["onset_episode"].dropna()
        rows.append({
            "arm": arm,
            "label": label,
            "variant": arm_runs["variant"].iloc[0],
            "n_episodes": int(arm_runs["n_episodes"].max()),
            "n_seeds": n,
            "n_learned": learned,
            "n_collapsed": k,
            "n_never_learned": never,
            "n_survived": n - k - never,
            "n_runs_with_dips": int((arm_runs["n_dips"] > 0).sum()),
            "learned_rate": learned / n,
            "learned_rate_ci_low": l_low,
            "learned_rate_ci_high": l_high,
            "collapse_given_learned_rate": k / learned if learned else math.nan,
            "collapse_given_learned_ci_low": c_low,
            "collapse_given_learned_ci_high": c_high,
            "collapse_rate": k / n,
            "collapse_rate_ci_low": low,
            "collapse_rate_ci_high": high,
            "never_learned_rate": never / n,
            "final_return_median": float(np.median(final)),
            "final_return_iqm": float(iqm(final)),
            "final_return_iqm_ci_low": float(ci[0][0]),
            "final_return_iqm_ci_high": float(ci[1][0]),
            "iqm_n_averaged": iqm_middle_count(n),
            "peak_mean_return_iqm": float(iqm(arm_runs["peak_mean_return"].to_numpy(dtype=float))),
            "median_onset_episode": float(onsets.median()) if len(onsets) else math.nan,
            "final_top_prob_gt_099_mean": arm_runs["final_top_prob_gt_099"].mean(),
            "final_majority_action_frac_mean": arm_runs["final_majority_action_frac"].mean(),
            "final_entropy_mean": arm_runs["final_entropy"].mean(),
            "median_total_env_steps": float(arm_runs["total_env_steps"].median()),
        })  # fmt: skip
    table = pd.DataFrame(rows)
    tests = compare_with_reference(collapse, list(table["arm"]), reference, reference_of)
    table = table.merge(tests, on="arm", how="left", validate="one_to_one")
    by_arm = table.set_index("arm").to_dict("index")
    table["reading"] = [
        "reference" if r["arm"] == r["reference"] else reading(r, by_arm[r["reference"]], alpha)
        for r in table.to_dict("records")
    ]
    return table


def aligned_episodes(runs: pd.DataFrame, collapse: pd.DataFrame, arm: str) -> pd.DataFrame:
    """The reference arm's episodes with `relative_episode` = episode − onset for
    collapsing runs and episode − peak episode for the others."""
    ref = runs[runs["arm"] == arm].copy()
    meta = collapse[collapse["arm"] == arm].set_index("seed")
    anchor = meta["onset_episode"].astype("Float64").fillna(meta["peak_episode"].astype("Float64"))
    ref["collapsed"] = ref["seed"].map(meta["collapsed"])
    ref["outcome"] = ref["seed"].map(meta["outcome"])
    ref["anchor_episode"] = ref["seed"].map(anchor).astype(int)
    ref["relative_episode"] = ref["episode"] - ref["anchor_episode"]
    return ref


def main(snakemake) -> None:
    log = log_to(snakemake.log[0])
    p = snakemake.params
    runs = load_arms(list(snakemake.input.csvs), p.arm_of_path)
    log.info("loaded %d episodes of %d arms", len(runs), runs["arm"].nunique())
    rule = collapse_rule(p.collapse, p.peak_window)
    collapse = collapse_table(runs, rule, p.final_fraction, list(p.labels))
    write_csv(collapse, snakemake.output.collapse)
    ablations = ablation_table(collapse, p.labels, p.bootstrap, p.collapse["reference_arm"],
                               p.collapse.get("reference_of", {}), p.collapse.get("alpha", 0.05))
    write_csv(ablations, snakemake.output.ablations)
    write_csv(aligned_episodes(runs, collapse, p.collapse["reference_arm"]), snakemake.output.aligned)
    log.info("wrote %s", ", ".join(snakemake.output))


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
