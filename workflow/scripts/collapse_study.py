"""The collapse study of one-step A2C on CartPole: per-run collapse metrics
(collapse.csv), per-arm ablation statistics with tests against the reference arm
(ablations.csv) and the reference arm's episodes aligned on the collapse onset
(collapse_episodes.csv).

Run by Snakemake (rule aggregate_ablations); definitions are in config/README.md.
"""

import math

import numpy as np
import pandas as pd
from deterministic_io import log_to, write_csv
from robust_stats import bootstrap_ci, holm, iqm, iqm_middle_count, trailing_mean, wilson_interval
from run_metrics import classify, final_window_means, frame_metrics
from scipy.stats import fisher_exact, mannwhitneyu

OUTCOMES = ("collapsed", "survived", "never_learned")


def load_arms(paths: list[str], arm_of_path: dict[str, str]) -> pd.DataFrame:
    frames = []
    for path in paths:
        frame = pd.read_csv(path)
        frame.insert(0, "arm", arm_of_path[path])
        frames.append(frame)
    runs = pd.concat(frames, ignore_index=True)
    return runs.sort_values(["arm", "seed", "episode"], kind="stable").reset_index(drop=True)


def run_collapse_metrics(run: pd.DataFrame, c: dict, final_fraction: float, peak_window: int) -> dict:
    """Collapse metrics of one run (one arm, one seed); see config/README.md."""
    metrics = frame_metrics(run, final_fraction, peak_window)
    returns = run["return"].to_numpy(dtype=float)
    episodes = run["episode"].to_numpy()
    n = len(returns)
    last = slice(n - min(c["window"], n), n)
    final_mean, majority = final_window_means(run, c["window"])
    outcome = classify(metrics["peak_mean_return"], final_mean, majority, c)
    onset = math.nan
    longest_before_onset = math.nan
    if outcome == "collapsed":
        peak_at = int(np.flatnonzero(episodes == metrics["peak_episode"])[0])
        moving = trailing_mean(returns, c["onset_window"])
        below = np.flatnonzero(moving[peak_at + 1 :] <= c["return_threshold"])
        if below.size:
            at = peak_at + 1 + below[0]
            onset = int(episodes[at])
            # did a long (e.g. time-limit-truncated) episode come just before the collapse?
            before = run["length"].to_numpy()[max(0, at - 2 * c["onset_window"]) : at]
            longest_before_onset = int(before.max()) if before.size else math.nan
    return {
        "n_episodes": n,
        "peak_mean_return": metrics["peak_mean_return"],
        "peak_episode": metrics["peak_episode"],
        "final_mean_return": final_mean,
        "final_return": metrics["final_return"],
        "final_entropy": run["entropy"].to_numpy(dtype=float)[last].mean(),
        "final_majority_action_frac": majority,
        "final_top_prob_gt_099": run["top_prob_gt_099"].to_numpy(dtype=float)[last].mean(),
        "onset_episode": onset,
        "longest_episode_before_onset": longest_before_onset,
        "outcome": outcome,
        "collapsed": outcome == "collapsed",
        "never_learned": outcome == "never_learned",
        "total_env_steps": metrics["total_env_steps"],
    }


def collapse_table(
    runs: pd.DataFrame, c: dict, final_fraction: float, arms: list[str], peak_window: int
) -> pd.DataFrame:
    rows = []
    for (arm, seed), run in runs.groupby(["arm", "seed"], sort=True):
        rows.append({"arm": arm, "env_id": run["env_id"].iloc[0], "variant": run["variant"].iloc[0],
                     "seed": seed, **run_collapse_metrics(run, c, final_fraction, peak_window)})
    table = pd.DataFrame(rows)
    table["arm"] = pd.Categorical(table["arm"], categories=arms, ordered=True)
    table = table.sort_values(["arm", "seed"]).reset_index(drop=True)
    table["arm"] = table["arm"].astype(str)
    for column in ("onset_episode", "longest_episode_before_onset"):
        table[column] = table[column].astype("Int64")
    return table


def compare_with_reference(collapse: pd.DataFrame, arms: list[str], reference: str) -> pd.DataFrame:
    """Per arm vs the reference arm: Fisher's exact test (two-sided) on the collapse
    rate and Mann-Whitney U (two-sided) on the final return; each family of p-values
    Holm-adjusted over the arms compared (the reference arm itself gets no test)."""
    ref = collapse[collapse["arm"] == reference]
    k_ref, n_ref = int(ref["collapsed"].sum()), len(ref)
    rows = []
    for arm in arms:
        runs = collapse[collapse["arm"] == arm]
        fisher_p = mw_p = math.nan
        if arm != reference and len(runs) and n_ref:
            k, n = int(runs["collapsed"].sum()), len(runs)
            fisher_p = float(fisher_exact([[k, n - k], [k_ref, n_ref - k_ref]]).pvalue)
            mw_p = float(mannwhitneyu(runs["final_return"].to_numpy(dtype=float),
                                      ref["final_return"].to_numpy(dtype=float),
                                      alternative="two-sided").pvalue)
        rows.append({"arm": arm, "collapse_fisher_p": fisher_p, "final_return_mannwhitney_p": mw_p})
    table = pd.DataFrame(rows)
    table.insert(2, "collapse_fisher_p_holm", holm(table["collapse_fisher_p"]))
    table["final_return_mannwhitney_p_holm"] = holm(table["final_return_mannwhitney_p"])
    return table


def ablation_table(collapse: pd.DataFrame, labels: dict, boot: dict, reference: str) -> pd.DataFrame:
    rows = []
    for arm, label in labels.items():
        arm_runs = collapse[collapse["arm"] == arm]
        if arm_runs.empty:
            continue
        n = len(arm_runs)
        k = int(arm_runs["collapsed"].sum())
        never = int(arm_runs["never_learned"].sum())
        low, high = wilson_interval(k, n, boot["confidence"])
        final = arm_runs["final_return"].to_numpy(dtype=float)
        ci = bootstrap_ci(final[None, :], "iqm", boot["n_resamples"], boot["confidence"], boot["seed"])
        rows.append({
            "arm": arm,
            "label": label,
            "variant": arm_runs["variant"].iloc[0],
            "n_seeds": n,
            "n_collapsed": k,
            "n_never_learned": never,
            "n_survived": n - k - never,
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
            "median_onset_episode": float(arm_runs["onset_episode"].dropna().median())
            if arm_runs["onset_episode"].notna().any() else math.nan,
            "final_top_prob_gt_099_mean": arm_runs["final_top_prob_gt_099"].mean(),
            "final_majority_action_frac_mean": arm_runs["final_majority_action_frac"].mean(),
            "final_entropy_mean": arm_runs["final_entropy"].mean(),
            "median_total_env_steps": float(arm_runs["total_env_steps"].median()),
        })
    table = pd.DataFrame(rows)
    tests = compare_with_reference(collapse, list(table["arm"]), reference)
    return table.merge(tests, on="arm", how="left", validate="one_to_one")


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
    collapse = collapse_table(runs, p.collapse, p.final_fraction, list(p.labels), p.peak_window)
    write_csv(collapse, snakemake.output.collapse)
    ablations = ablation_table(collapse, p.labels, p.bootstrap, p.collapse["reference_arm"])
    write_csv(ablations, snakemake.output.ablations)
    write_csv(aligned_episodes(runs, collapse, p.collapse["reference_arm"]), snakemake.output.aligned)
    log.info("wrote %s", ", ".join(snakemake.output))


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
