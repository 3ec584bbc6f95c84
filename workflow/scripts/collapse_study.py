"""The collapse study of one-step A2C on CartPole: per-run collapse metrics
(collapse.csv), per-arm ablation statistics (ablations.csv) and the reference arm's
episodes aligned on the collapse onset (collapse_episodes.csv).

Run by Snakemake (rule aggregate_ablations); definitions are in config/README.md.
"""

import math

import numpy as np
import pandas as pd
from deterministic_io import log_to, write_csv
from robust_stats import bootstrap_ci, full_window_mean, iqm, trailing_mean, wilson_interval


def load_arms(paths: list[str], arm_of_path: dict[str, str]) -> pd.DataFrame:
    frames = []
    for path in paths:
        frame = pd.read_csv(path)
        frame.insert(0, "arm", arm_of_path[path])
        frames.append(frame)
    runs = pd.concat(frames, ignore_index=True)
    return runs.sort_values(["arm", "seed", "episode"], kind="stable").reset_index(drop=True)


def run_collapse_metrics(run: pd.DataFrame, c: dict, final_fraction: float) -> dict:
    """Collapse metrics of one run (one arm, one seed); see config/README.md."""
    returns = run["return"].to_numpy(dtype=float)
    episodes = run["episode"].to_numpy()
    n = len(returns)
    w = min(c["window"], n)
    peak_curve = full_window_mean(returns, w)
    peak_at = int(np.nanargmax(peak_curve))
    last = slice(n - w, n)
    final_mean = returns[last].mean()
    majority = run["majority_action_frac"].to_numpy(dtype=float)[last].mean()
    collapsed = bool(final_mean <= c["return_threshold"] and majority >= c["majority_action_threshold"])
    onset = math.nan
    longest_before_onset = math.nan
    if collapsed:
        moving = trailing_mean(returns, c["onset_window"])
        below = np.flatnonzero(moving[peak_at + 1 :] <= c["return_threshold"])
        if below.size:
            at = peak_at + 1 + below[0]
            onset = int(episodes[at])
            # did a long (e.g. time-limit-truncated) episode come just before the collapse?
            before = run["length"].to_numpy()[max(0, at - 2 * c["onset_window"]) : at]
            longest_before_onset = int(before.max()) if before.size else math.nan
    n_final = max(1, math.ceil(final_fraction * n))
    return {
        "n_episodes": n,
        "peak_mean_return": peak_curve[peak_at],
        "peak_episode": int(episodes[peak_at]),
        "final_mean_return": final_mean,
        "final_return": returns[-n_final:].mean(),
        "final_entropy": run["entropy"].to_numpy(dtype=float)[last].mean(),
        "final_majority_action_frac": majority,
        "final_top_prob_gt_099": run["top_prob_gt_099"].to_numpy(dtype=float)[last].mean(),
        "onset_episode": onset,
        "longest_episode_before_onset": longest_before_onset,
        "collapsed": collapsed,
        "total_env_steps": int(run["env_steps"].iloc[-1]),
    }


def collapse_table(runs: pd.DataFrame, c: dict, final_fraction: float, arms: list[str]) -> pd.DataFrame:
    rows = []
    for (arm, seed), run in runs.groupby(["arm", "seed"], sort=True):
        rows.append({"arm": arm, "env_id": run["env_id"].iloc[0], "variant": run["variant"].iloc[0],
                     "seed": seed, **run_collapse_metrics(run, c, final_fraction)})
    table = pd.DataFrame(rows)
    table["arm"] = pd.Categorical(table["arm"], categories=arms, ordered=True)
    table = table.sort_values(["arm", "seed"]).reset_index(drop=True)
    table["arm"] = table["arm"].astype(str)
    for column in ("onset_episode", "longest_episode_before_onset"):
        table[column] = table[column].astype("Int64")
    return table


def ablation_table(collapse: pd.DataFrame, labels: dict, boot: dict) -> pd.DataFrame:
    rows = []
    for arm, label in labels.items():
        arm_runs = collapse[collapse["arm"] == arm]
        if arm_runs.empty:
            continue
        n = len(arm_runs)
        k = int(arm_runs["collapsed"].sum())
        low, high = wilson_interval(k, n, boot["confidence"])
        final = arm_runs["final_return"].to_numpy(dtype=float)
        ci = bootstrap_ci(final[None, :], "iqm", boot["n_resamples"], boot["confidence"], boot["seed"])
        rows.append({
            "arm": arm,
            "label": label,
            "variant": arm_runs["variant"].iloc[0],
            "n_seeds": n,
            "n_collapsed": k,
            "collapse_rate": k / n,
            "collapse_rate_ci_low": low,
            "collapse_rate_ci_high": high,
            "final_return_iqm": float(iqm(final)),
            "final_return_iqm_ci_low": float(ci[0][0]),
            "final_return_iqm_ci_high": float(ci[1][0]),
            "peak_mean_return_iqm": float(iqm(arm_runs["peak_mean_return"].to_numpy(dtype=float))),
            "median_onset_episode": float(arm_runs["onset_episode"].dropna().median())
            if arm_runs["onset_episode"].notna().any() else math.nan,
            "final_top_prob_gt_099_mean": arm_runs["final_top_prob_gt_099"].mean(),
            "final_majority_action_frac_mean": arm_runs["final_majority_action_frac"].mean(),
            "final_entropy_mean": arm_runs["final_entropy"].mean(),
            "median_total_env_steps": float(arm_runs["total_env_steps"].median()),
        })
    return pd.DataFrame(rows)


def aligned_episodes(runs: pd.DataFrame, collapse: pd.DataFrame, arm: str) -> pd.DataFrame:
    """The reference arm's episodes with `relative_episode` = episode − onset for
    collapsing runs and episode − peak episode for surviving runs."""
    ref = runs[runs["arm"] == arm].copy()
    meta = collapse[collapse["arm"] == arm].set_index("seed")
    anchor = meta["onset_episode"].astype("Float64").fillna(meta["peak_episode"].astype("Float64"))
    ref["collapsed"] = ref["seed"].map(meta["collapsed"])
    ref["anchor_episode"] = ref["seed"].map(anchor).astype(int)
    ref["relative_episode"] = ref["episode"] - ref["anchor_episode"]
    return ref


def main(snakemake) -> None:
    log = log_to(snakemake.log[0])
    p = snakemake.params
    runs = load_arms(list(snakemake.input.csvs), p.arm_of_path)
    log.info("loaded %d episodes of %d arms", len(runs), runs["arm"].nunique())
    collapse = collapse_table(runs, p.collapse, p.final_fraction, list(p.labels))
    write_csv(collapse, snakemake.output.collapse)
    write_csv(ablation_table(collapse, p.labels, p.bootstrap), snakemake.output.ablations)
    write_csv(aligned_episodes(runs, collapse, p.collapse["reference_arm"]), snakemake.output.aligned)
    log.info("wrote %s", ", ".join(snakemake.output))


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
