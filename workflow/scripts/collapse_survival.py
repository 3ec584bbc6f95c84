"""results/aggregated/collapse_survival.csv: time to collapse among the runs that learned.

Only runs that learned enter (collapse_event.py): a never-learned run had no policy to
lose, so it is neither an event nor a survivor, and it never shows as a success. A learned
run's duration is its collapse onset (event) or its last episode (survived: right-censored
at its own episode budget, so arms with different budgets sit in one table). Per arm:
the Kaplan-Meier estimate of P(not collapsed by episode t | learned) with its confidence
interval at the arm's own budget and at `common_episode` (the same episode for every
arm), and a log-rank test against the arm's reference arm, Holm-adjusted over the arms
(lifelines, statsmodels). Every run is followed to its budget, so the estimate equals the
share of learners not yet collapsed at t.

Run by Snakemake (rule collapse_survival); figures/collapse_survival.* uses the same fits.
"""

import math

import numpy as np
import pandas as pd
from deterministic_io import log_to, write_csv
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test
from robust_stats import holm


def survival_data(collapse: pd.DataFrame) -> pd.DataFrame:
    """collapse.csv rows of the runs that learned -> arm, seed, duration (episode), event
    (1 = collapsed), budget (the run's last episode)."""
    learned = collapse[collapse["outcome"] != "never_learned"]
    collapsed = (learned["outcome"] == "collapsed").to_numpy()
    last = (learned["n_episodes"] - 1).to_numpy(dtype=float)
    onset = learned["onset_episode"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(onset[collapsed]).any():
        bad = learned.loc[collapsed & np.isnan(onset), ["arm", "seed"]].to_records(index=False)
        raise ValueError(f"collapse_survival: collapsed runs without an onset episode: {list(bad)}")
    return pd.DataFrame({
        "arm": learned["arm"].to_numpy(),
        "seed": learned["seed"].to_numpy(),
        "duration": np.where(collapsed, onset, last),
        "event": collapsed.astype(int),
        "budget": last,
    })  # fmt: skip


def km_fit(data: pd.DataFrame, label: str, confidence: float) -> KaplanMeierFitter:
    """Kaplan-Meier estimate of P(not collapsed by episode t | learned), Greenwood
    log(-log) CI."""
    return KaplanMeierFitter(alpha=1.0 - confidence).fit(
        data["duration"], event_observed=data["event"], label=label
    )


def survival_at(km: KaplanMeierFitter, episode: float) -> tuple[float, float, float]:
    """The KM estimate and its CI at `episode` (the step function's value there)."""
    at = km.survival_function_.index.searchsorted(episode, side="right") - 1
    ci = km.confidence_interval_survival_function_
    return (float(km.survival_function_.iloc[at, 0]), float(ci.iloc[at, 0]), float(ci.iloc[at, 1]))


def survival_table(
    collapse: pd.DataFrame, labels: dict, reference: str, confidence: float,
    reference_of: dict | None = None, common_episode: int | None = None,
) -> pd.DataFrame:  # fmt: skip
    """One row per arm in `labels` that has runs; `common_episode` defaults to the shortest
    arm's last episode."""
    reference_of = reference_of or {}
    data = survival_data(collapse)
    present = [a for a in labels if (collapse["arm"] == a).any()]
    if common_episode is None:
        common_episode = int(collapse.loc[collapse["arm"].isin(present), "n_episodes"].min() - 1)
    rows = []
    for arm in present:
        label = labels[arm]
        ref_name = reference_of.get(arm, reference)
        part, ref = data[data["arm"] == arm], data[data["arm"] == ref_name]
        n_seeds = int((collapse["arm"] == arm).sum())
        row = {
            "arm": arm, "label": label, "reference": ref_name, "n_seeds": n_seeds,
            "n_learned": len(part), "n_never_learned": n_seeds - len(part),
            "n_collapsed": int(part["event"].sum()), "n_censored": int((part["event"] == 0).sum()),
            "at_episode": int(collapse.loc[collapse["arm"] == arm, "n_episodes"].max() - 1),
            "median_episodes_to_collapse": math.nan,
            "survival": math.nan, "survival_ci_low": math.nan, "survival_ci_high": math.nan,
            "common_episode": common_episode, "survival_common": math.nan,
            "survival_common_ci_low": math.nan, "survival_common_ci_high": math.nan,
            "logrank_chi2": math.nan, "logrank_p": math.nan,
        }  # fmt: skip
        if len(part):
            km = km_fit(part, label, confidence)
            median = km.median_survival_time_
            row["median_episodes_to_collapse"] = float(median) if np.isfinite(median) else math.nan
            row["survival"], row["survival_ci_low"], row["survival_ci_high"] = survival_at(
                km, row["at_episode"]
            )
            if common_episode <= row["at_episode"]:
                s = survival_at(km, common_episode)
                row["survival_common"], row["survival_common_ci_low"], row["survival_common_ci_high"] = s
            if arm != ref_name and len(ref):
                test = logrank_test(part["duration"], ref["duration"],
                                    event_observed_A=part["event"], event_observed_B=ref["event"])
                row["logrank_chi2"], row["logrank_p"] = float(test.test_statistic), float(test.p_value)
        rows.append(row)
    table = pd.DataFrame(rows)
    table["logrank_p_holm"] = holm(table["logrank_p"])
    return table


def main(snakemake) -> None:
    log = log_to(snakemake.log[0])
    p = snakemake.params
    collapse = pd.read_csv(snakemake.input.collapse)
    table = survival_table(collapse, p.labels, p.reference_arm, p.confidence,
                           getattr(p, "reference_of", None) or {},
                           getattr(p, "common_episode", None))  # fmt: skip
    write_csv(table, snakemake.output[0])
    log.info("wrote %s", snakemake.output[0])


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
