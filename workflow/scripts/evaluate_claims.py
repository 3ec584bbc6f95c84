"""results/claims.csv: what the notebooks claim or show, the statistic measured here,
the test applied and a verdict (SUPPORTED / PARTLY / NOT SUPPORTED). Tolerances come
from the config's `claims` section."""

import math

import numpy as np
import pandas as pd
from deterministic_io import log_to, write_csv
from robust_stats import bootstrap_ci, iqm, wilson_interval


def verdict(n_passed: int, n_tests: int) -> str:
    if n_passed == n_tests:
        return "SUPPORTED"
    return "PARTLY" if n_passed > 0 else "NOT SUPPORTED"


def claim_peak(ref: pd.DataFrame, cfg: dict, boot: dict) -> dict:
    peaks = ref["peak_mean_return"].to_numpy(dtype=float)
    value = float(iqm(peaks))
    low, high = bootstrap_ci(peaks[None, :], "iqm", boot["n_resamples"], boot["confidence"], boot["seed"])
    episode = float(ref["peak_episode"].median())
    lo_r, hi_r = cfg["return"] * (1 - cfg["return_tolerance"]), cfg["return"] * (1 + cfg["return_tolerance"])
    lo_e, hi_e = cfg["episode"] - cfg["episode_tolerance"], cfg["episode"] + cfg["episode_tolerance"]
    passed = int(lo_r <= value <= hi_r) + int(lo_e <= episode <= hi_e)
    return {
        "claim": f"one-step A2C on CartPole reaches ~{cfg['return']} around episode {cfg['episode']}",
        "statistic": f"IQM over seeds of the peak {int(ref['peak_window'].iloc[0])}-episode mean training return "
                     f"= {value:.1f} [{low[0]:.1f}, {high[0]:.1f}]; median peak episode = {episode:.0f}",
        "test": f"IQM peak in [{lo_r:.0f}, {hi_r:.0f}] and median peak episode in [{lo_e}, {hi_e}] "
                f"({passed} of 2 hold)",
        "verdict": verdict(passed, 2),
        "value": value,
        "n_seeds": len(ref),
    }


def claim_collapse(ref: pd.DataFrame, episodes: pd.DataFrame, cfg: dict, threshold: float, boot: dict) -> dict:
    n, k = len(ref), int(ref["collapsed"].sum())
    low, high = wilson_interval(k, n, boot["confidence"])
    window = episodes[episodes["episode"].between(cfg["first_episode"], cfg["last_episode"])]
    late = window.groupby("seed")["return"].mean()
    median_late = float(late.median())
    rate = k / n
    if rate >= cfg["supported_rate"] and median_late <= threshold:
        result = "SUPPORTED"
    elif rate >= cfg["partly_rate"]:
        result = "PARTLY"
    else:
        result = "NOT SUPPORTED"
    return {
        "claim": f"one-step A2C on CartPole then collapses to ~{cfg['return']} by episodes "
                 f"{cfg['first_episode']}-{cfg['last_episode']}",
        "statistic": f"collapse rate {k}/{n} = {rate:.2f} (Wilson {low:.2f}-{high:.2f}); median over seeds of "
                     f"the mean training return in episodes {cfg['first_episode']}-{cfg['last_episode']} "
                     f"= {median_late:.1f}",
        "test": f"SUPPORTED if rate >= {cfg['supported_rate']} and that median <= {threshold}; "
                f"PARTLY if rate >= {cfg['partly_rate']}",
        "verdict": result,
        "value": rate,
        "n_seeds": n,
    }


def claim_one_way(ref: pd.DataFrame, majority_threshold: float) -> dict:
    collapsed = ref[ref["collapsed"]]
    if collapsed.empty:
        return {
            "claim": "a collapsed policy pushes one way every step",
            "statistic": "no run collapsed",
            "test": "needs collapsed runs",
            "verdict": "NOT SUPPORTED",
            "value": math.nan,
            "n_seeds": 0,
        }
    majority = float(collapsed["final_majority_action_frac"].median())
    top = float(collapsed["final_top_prob_gt_099"].median())
    passed = int(majority >= 0.95) + int(top >= 0.5)
    return {
        "claim": "a collapsed policy pushes one way every step",
        "statistic": f"collapsed runs: median final majority-action fraction = {majority:.3f}, "
                     f"median fraction of states with top action prob > 0.99 = {top:.3f}",
        "test": f"majority-action fraction >= 0.95 and top-prob>0.99 fraction >= 0.5 ({passed} of 2 hold); "
                f"collapse itself requires majority >= {majority_threshold}",
        "verdict": verdict(passed, 2),
        "value": majority,
        "n_seeds": len(collapsed),
    }


def claim_improvement(episodes: pd.DataFrame, cfg: dict, boot: dict) -> dict:
    runs = episodes[(episodes["env_id"] == cfg["env"]) & (episodes["variant"] == cfg["variant"])]
    w = cfg["window"]
    diffs = []
    for _, run in runs.groupby("seed", sort=True):
        r = run.sort_values("episode")["return"].to_numpy(dtype=float)
        diffs.append(r[-w:].mean() - r[:w].mean())
    diffs = np.array(diffs)
    value = float(iqm(diffs))
    low, high = bootstrap_ci(diffs[None, :], "iqm", boot["n_resamples"], boot["confidence"], boot["seed"])
    improved = int((diffs > 0).sum())
    if low[0] > 0:
        result = "SUPPORTED"
    elif value > 0:
        result = "PARTLY"
    else:
        result = "NOT SUPPORTED"
    n_episodes = int(runs["episode"].max()) + 1 if len(runs) else 0
    return {
        "claim": f"{cfg['variant']} A2C improves on {cfg['env']} over {n_episodes} episodes",
        "statistic": f"IQM over seeds of (mean return of the last {w} episodes - first {w}) = {value:.1f} "
                     f"[{low[0]:.1f}, {high[0]:.1f}]; {improved}/{len(diffs)} seeds improved",
        "test": "SUPPORTED if the CI lies above 0; PARTLY if only the IQM does",
        "verdict": result,
        "value": value,
        "n_seeds": len(diffs),
    }


def main(snakemake) -> None:
    log = log_to(snakemake.log[0])
    p = snakemake.params
    collapse = pd.read_csv(snakemake.input.collapse)
    ref = collapse[collapse["arm"] == p.collapse["reference_arm"]].copy()
    ref["peak_window"] = min(p.collapse["window"], int(ref["n_episodes"].min()))
    ref_episodes = pd.read_csv(snakemake.input.aligned)
    main_episodes = pd.concat([pd.read_csv(f) for f in snakemake.input.improvement_runs], ignore_index=True)
    main_episodes["variant"] = p.claims["improvement"]["variant"]  # the config's name
    claims = [
        claim_peak(ref, p.claims["peak"], p.bootstrap),
        claim_collapse(ref, ref_episodes, p.claims["collapse"], p.collapse["return_threshold"], p.bootstrap),
        claim_one_way(ref, p.collapse["majority_action_threshold"]),
        claim_improvement(main_episodes, p.claims["improvement"], p.bootstrap),
    ]
    table = pd.DataFrame(claims)
    table.insert(0, "claim_id", [f"C{i + 1}" for i in range(len(table))])
    table.insert(2, "source", ["one_step_a2c_cartpole (printed evaluation run)"] * 3
                 + ["episodic_a2c_lunarlander (learning-curve plot)"])
    write_csv(table, snakemake.output[0])
    log.info("wrote %s", snakemake.output[0])


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
