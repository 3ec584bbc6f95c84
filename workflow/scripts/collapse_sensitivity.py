"""results/aggregated/collapse_sensitivity.csv: how much of the headline "N of M runs
collapse" is the definition. The collapse rule (collapse_event.py) is applied to the same
runs over a full grid of its thresholds (learned threshold, one-way window, persistence,
return threshold, majority-action threshold); one row per arm and grid point with the
collapse rate over all seeds, the never-learned rate and P(collapse | learned).

Run by Snakemake (rule collapse_sensitivity); figures/collapse_sensitivity.* draws it.
"""


import itertools

import numpy as np
import pandas as pd
from collapse_event import RULE_KEYS, check_rule, collapse_event
from deterministic_io import log_to, write_csv

GRID_KEYS = ("learned_threshold", "window", "persistence", "return_threshold",
             "majority_action_threshold")  # fmt: skip


def check_grid(grid: dict, base: dict) -> dict:
    """Every grid key is a rule key with a non-empty list that contains the base value (so
    the headline row is one of the grid's)."""
    unknown = sorted(set(grid) - set(GRID_KEYS))
    if unknown:
        raise ValueError(f"collapse sensitivity grid: unknown key(s) {unknown}; known: {list(GRID_KEYS)}")
    for key, values in grid.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"collapse sensitivity grid: {key} needs a non-empty list, got {values!r}")
        if base[key] not in values:
            raise ValueError(f"collapse sensitivity grid: {key} = {list(values)} lacks the rule's value {base[key]!r}")
    return grid


def sensitivity_table(runs: pd.DataFrame, base: dict, grid: dict) -> pd.DataFrame:
    """runs: per-episode rows with arm, seed, episode, return, majority_action_frac.
    One row per arm and point of the full grid (keys not in `grid` stay at `base`)."""
    check_rule(base)
    check_grid(grid, base)
    keys = [k for k in GRID_KEYS if k in grid]
    series = [
        (arm, seed, run["return"].to_numpy(dtype=float),
         run["majority_action_frac"].to_numpy(dtype=float), run["episode"].to_numpy())
        for (arm, seed), run in runs.sort_values(["arm", "seed", "episode"]).groupby(["arm", "seed"], sort=False)
    ]  # fmt: skip
    rows = []
    for values in itertools.product(*(grid[k] for k in keys)):
        rule = {**base, **dict(zip(keys, values))}
        if not rule["return_threshold"] < rule["learned_threshold"]:
            continue
        outcomes: dict[str, list[str]] = {}
        for arm, _seed, r, m, e in series:
            outcomes.setdefault(arm, []).append(collapse_event(r, m, e, rule)["outcome"])
        for arm, outs in outcomes.items():
            outs_ = np.asarray(outs)
            n, k = len(outs_), int((outs_ == "collapsed").sum())
            never = int((outs_ == "never_learned").sum())
            rows.append({
                "arm": arm, **{key: rule[key] for key in keys}, "n_seeds": n,
                "n_collapsed": k, "n_never_learned": never, "n_survived": n - k - never,
                "collapse_rate": k / n, "never_learned_rate": never / n,
                "collapse_given_learned_rate": k / (n - never) if n > never else np.nan,
                "is_rule": all(rule[key] == base[key] for key in keys),
            })  # fmt: skip
    return pd.DataFrame(rows)


def main(snakemake) -> None:
    log = log_to(snakemake.log[0])
    p = snakemake.params
    frames = []
    for path in snakemake.input.csvs:
        frame = pd.read_csv(path, usecols=["seed", "episode", "return", "majority_action_frac"])
        frame.insert(0, "arm", p.arm_of_path[path])
        frames.append(frame)
    runs = pd.concat(frames, ignore_index=True)
    base = check_rule({**{k: p.collapse[k] for k in RULE_KEYS if k in p.collapse},
                       "peak_window": p.peak_window})  # fmt: skip
    table = sensitivity_table(runs, base, dict(p.grid))
    write_csv(table, snakemake.output[0])
    log.info("wrote %s (%d rows)", snakemake.output[0], len(table))


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
