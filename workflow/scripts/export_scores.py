"""results/scores/<experiment>.{npz,csv}: every run's score of one experiment, in the shapes
rliable's aggregate functions take, and as a tidy table.

Score of a run: its final return, the mean training return over the last `final_fraction`
of its episodes (run_metrics.run_metrics, the definition behind final.csv and collapse.csv).

- `<name>.npz`: one float64 array per arm, shape (num_runs, num_tasks): rows are the arm's
  seeds in increasing order, columns the tasks (envs) in the order of `_tasks`. This is the
  `score_dict` rliable's `get_interval_estimates` and `aggregate_*` functions take
  (arm -> np.ndarray of shape (num_runs, num_tasks)). Keys starting with "_" are not arms:
  `_tasks` (the env ids, column order) and `_seeds_<arm>` (the seed of each row).
- `<name>.csv`: one row per run: arm, env, seed, score.

Scores are raw returns: normalise each task's column (e.g. by a random and a reference
policy's return) before aggregating across tasks of different scales. Usage:

    import numpy as np
    from scipy.stats import trim_mean
    data = np.load("results/scores/collapse_study.npz")
    scores = {arm: data[arm] for arm in data.files if not arm.startswith("_")}
    iqm = {arm: trim_mean(s, 0.25, axis=None) for arm, s in scores.items()}  # rliable's IQM

With rliable installed, `rliable.library.get_interval_estimates(scores, func, reps)` takes
`scores` as it is. Run by Snakemake: input.csvs (the per-seed CSVs), params.arm_env_of_csv
(csv path -> [arm, env]), params.envs (task order), params.final_fraction; outputs npz, csv.
"""


import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from deterministic_io import log_to, write_csv
from run_metrics import frame_metrics

# The zip entries' time stamp: fixed, so the same scores give the same bytes (np.savez would
# stamp the time of writing).
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def score_table(arm_env_of_csv: dict[str, tuple[str, str]], final_fraction: float) -> pd.DataFrame:
    """One row per run (arm, env, seed, score), sorted by arm, env, seed."""
    rows = []
    for path, (arm, env) in arm_env_of_csv.items():
        run = pd.read_csv(path).sort_values("episode", kind="stable")
        seeds = run["seed"].unique()
        if len(seeds) != 1:
            raise ValueError(f"{path}: one run per CSV expected, found seeds {sorted(seeds)}")
        # peak_window does not enter the final return; 1 keeps frame_metrics' peak cheap.
        score = frame_metrics(run, final_fraction, peak_window=1)["final_return"]
        rows.append({"arm": arm, "env": env, "seed": int(seeds[0]), "score": score})
    table = pd.DataFrame(rows, columns=["arm", "env", "seed", "score"])
    duplicated = table[table.duplicated(["arm", "env", "seed"], keep=False)]
    if len(duplicated):
        first = duplicated.iloc[0]
        raise ValueError(f"two CSVs for arm {first['arm']}, env {first['env']}, seed {first['seed']}")
    return table.sort_values(["arm", "env", "seed"], kind="stable").reset_index(drop=True)


def score_arrays(table: pd.DataFrame, envs: list[str]) -> dict[str, np.ndarray]:
    """rliable's score dict (arm -> (num_runs, num_tasks) array, columns in `envs` order) and,
    under keys starting with "_", the column names and each arm's seeds."""
    unknown = sorted(set(table["env"]) - set(envs))
    if unknown:
        raise ValueError(f"envs {unknown} have runs but are not in the task order {envs}")
    arrays = {"_tasks": np.array(envs, dtype=str)}
    for arm, runs in table.groupby("arm", sort=True):
        if arm.startswith("_"):
            raise ValueError(f"arm {arm!r}: names starting with '_' are reserved for metadata")
        wide = runs.pivot(index="seed", columns="env", values="score")
        missing = [e for e in envs if e not in wide.columns]
        if missing:
            raise ValueError(f"arm {arm}: no runs on {missing}")
        wide = wide[envs]
        holes = wide.isna().any(axis=1)
        if holes.any():
            raise ValueError(f"arm {arm}: seeds {list(wide.index[holes])} are missing on some env "
                             "(an arm needs the same seeds on every env)")  # fmt: skip
        arrays[arm] = wide.to_numpy(dtype=np.float64)
        arrays[f"_seeds_{arm}"] = wide.index.to_numpy(dtype=np.int64)
    return arrays


def write_npz(arrays: dict[str, np.ndarray], path: str | os.PathLike) -> None:
    """np.load-able .npz (one .npy entry per key, keys sorted), byte-reproducible; temp + rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for key in sorted(arrays):
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.asarray(arrays[key]), allow_pickle=False)
                info = zipfile.ZipInfo(f"{key}.npy", date_time=ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, buffer.getvalue())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def main(snakemake) -> None:
    log = log_to(snakemake.log[0])
    p = snakemake.params
    arm_env = {str(csv): tuple(arm_env) for csv, arm_env in p.arm_env_of_csv.items()}
    missing = sorted(set(map(str, snakemake.input.csvs)) - set(arm_env))
    if missing:
        raise ValueError(f"params.arm_env_of_csv has no arm/env for {missing[:3]}")
    table = score_table({csv: arm_env[csv] for csv in map(str, snakemake.input.csvs)}, p.final_fraction)
    envs = list(p.envs) if getattr(p, "envs", None) else sorted(table["env"].unique())
    write_npz(score_arrays(table, envs), snakemake.output.npz)
    write_csv(table, snakemake.output.csv)
    log.info("wrote %s, %s: %d runs, arms %s, tasks %s", snakemake.output.npz, snakemake.output.csv,
             len(table), sorted(table["arm"].unique()), envs)  # fmt: skip


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
