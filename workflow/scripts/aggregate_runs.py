"""Aggregate per-seed training CSVs of the main experiment into
results/aggregated/{episodes,summary,summary_env_steps,final}.csv.

Run by Snakemake (rule aggregate); the pure functions are imported by the tests.
"""


import numpy as np
import pandas as pd
from deterministic_io import log_to, write_csv
from robust_stats import bootstrap_ci, iqm, trailing_mean
from run_metrics import frame_metrics

KEYS = ["env_id", "variant", "seed", "episode"]
ENV_STEP_GRID_POINTS = 200


def load_runs(paths: list[str], variant_of_path: dict[str, str]) -> pd.DataFrame:
    """Concatenate seed CSVs; `variant` becomes the config variant name and the
    engine's own variant name is kept as `engine`."""
    frames = []
    for path in paths:
        frame = pd.read_csv(path)
        frame.insert(1, "engine", frame["variant"])
        frame["variant"] = variant_of_path[path]
        frames.append(frame)
    episodes = pd.concat(frames, ignore_index=True)
    return episodes.sort_values(KEYS, kind="stable").reset_index(drop=True)


def add_smoothed(episodes: pd.DataFrame, window: int) -> pd.DataFrame:
    out = episodes.copy()
    out["return_smoothed"] = np.nan
    for idx in out.groupby(["env_id", "variant", "seed"], sort=True).groups.values():
        out.loc[idx, "return_smoothed"] = trailing_mean(out.loc[idx, "return"].to_numpy(), window)
    return out


def describe_over_seeds(matrix: np.ndarray, boot: dict) -> dict[str, np.ndarray]:
    """Rows = x positions, columns = seeds -> mean, IQM, median, bootstrap CIs."""
    stats = {
        "n_seeds": np.full(matrix.shape[0], matrix.shape[1]),
        "mean": matrix.mean(axis=1),
        "iqm": iqm(matrix, axis=1),
        "median": np.median(matrix, axis=1),
    }
    for statistic in ("iqm", "mean"):
        low, high = bootstrap_ci(
            matrix, statistic, boot["n_resamples"], boot["confidence"], boot["seed"]
        )
        stats[f"{statistic}_ci_low"] = low
        stats[f"{statistic}_ci_high"] = high
    return stats


def summarise_by_episode(smoothed: pd.DataFrame, boot: dict) -> pd.DataFrame:
    parts = []
    for (env_id, variant), group in smoothed.groupby(["env_id", "variant"], sort=True):
        wide = group.pivot(index="episode", columns="seed", values="return_smoothed")
        steps = group.pivot(index="episode", columns="seed", values="env_steps")
        wide = wide.dropna()  # episodes every seed reached
        part = pd.DataFrame({"env_id": env_id, "variant": variant, "episode": wide.index})
        part["env_steps_mean"] = steps.loc[wide.index].mean(axis=1).to_numpy()
        for key, values in describe_over_seeds(wide.to_numpy(), boot).items():
            part[key] = values
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def summarise_by_env_steps(smoothed: pd.DataFrame, boot: dict) -> pd.DataFrame:
    """Each seed's smoothed return interpolated on a common env-step grid that stops
    where the shortest seed stops (so every grid point has every seed)."""
    parts = []
    for (env_id, variant), group in smoothed.groupby(["env_id", "variant"], sort=True):
        seeds = sorted(group["seed"].unique())
        last = min(group.loc[group["seed"] == s, "env_steps"].max() for s in seeds)
        grid = np.linspace(0, last, ENV_STEP_GRID_POINTS).round().astype(np.int64)
        grid = np.unique(grid)
        columns = []
        for s in seeds:
            run = group[group["seed"] == s]
            columns.append(np.interp(grid, run["env_steps"], run["return_smoothed"]))
        matrix = np.column_stack(columns)
        part = pd.DataFrame({"env_id": env_id, "variant": variant, "env_steps": grid})
        for key, values in describe_over_seeds(matrix, boot).items():
            part[key] = values
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def final_returns(episodes: pd.DataFrame, final_fraction: float, peak_window: int) -> pd.DataFrame:
    rows = [
        {"env_id": env_id, "variant": variant, "seed": seed,
         **frame_metrics(run, final_fraction, peak_window)}
        for (env_id, variant, seed), run in episodes.groupby(["env_id", "variant", "seed"], sort=True)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def main(snakemake) -> None:
    log = log_to(snakemake.log[0])
    analysis = snakemake.params.analysis
    boot = analysis["bootstrap"]
    episodes = load_runs(list(snakemake.input.csvs), snakemake.params.variant_of_path)
    log.info("loaded %d episodes from %d runs", len(episodes), len(snakemake.input.csvs))
    write_csv(episodes, snakemake.output.episodes)
    smoothed = add_smoothed(episodes, analysis["smoothing_window"])
    write_csv(summarise_by_episode(smoothed, boot), snakemake.output.summary)
    write_csv(summarise_by_env_steps(smoothed, boot), snakemake.output.summary_env_steps)
    final = final_returns(episodes, analysis["final_fraction"], analysis["peak_window"])
    write_csv(final, snakemake.output.final)
    log.info("wrote %s", ", ".join(snakemake.output))


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
