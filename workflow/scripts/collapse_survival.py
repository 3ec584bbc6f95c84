"""results/aggregated/collapse_survival.csv: time to collapse as survival data.

A run's duration is its collapse onset episode (event) or, when it did not collapse
(it survived or never learned), its last episode (right-censored at the episode budget).
Per arm: Kaplan-Meier estimates with confidence intervals and a log-rank test against
the reference arm, Holm-adjusted over the arms (lifelines, statsmodels).

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
    """collapse.csv rows -> arm, seed, duration (episode), event (1 = collapsed)."""
    collapsed = collapse["collapsed"].astype(bool)
    onset = collapse["onset_episode"].astype("Float64")
    last = (collapse["n_episodes"] - 1).astype(float)
    # a collapsed run with no onset found fell before the onset window filled: use its end
    duration = np.where(collapsed, onset.fillna(last).to_numpy(dtype=float), last)
    return pd.DataFrame({
        "arm": collapse["arm"].to_numpy(),
        "seed": collapse["seed"].to_numpy(),
        "duration": duration,
        "event": collapsed.astype(int).to_numpy(),
        "budget": last,
    })


def km_fit(data: pd.DataFrame, label: str, confidence: float) -> KaplanMeierFitter:
    """Kaplan-Meier estimate of P(not collapsed by episode t), Greenwood log(-log) CI."""
    return KaplanMeierFitter(alpha=1.0 - confidence).fit(
        data["duration"], event_observed=data["event"], label=label
    )


def survival_at(km: KaplanMeierFitter, episode: float) -> tuple[float, float, float]:
    """The KM estimate and its CI at `episode` (the step function's value there)."""
    at = km.survival_function_.index.searchsorted(episode, side="right") - 1
    ci = km.confidence_interval_survival_function_
    return (float(km.survival_function_.iloc[at, 0]), float(ci.iloc[at, 0]), float(ci.iloc[at, 1]))


def survival_table(collapse: pd.DataFrame, labels: dict, reference: str, confidence: float) -> pd.DataFrame:
    data = survival_data(collapse)
    ref = data[data["arm"] == reference]
    rows = []
    for arm, label in labels.items():
        part = data[data["arm"] == arm]
        if part.empty:
            continue
        km = km_fit(part, label, confidence)
        budget = float(part["budget"].max())
        s, low, high = survival_at(km, budget)
        median = km.median_survival_time_
        chi2 = p = math.nan
        if arm != reference and not ref.empty:
            test = logrank_test(part["duration"], ref["duration"],
                                event_observed_A=part["event"], event_observed_B=ref["event"])
            chi2, p = float(test.test_statistic), float(test.p_value)
        rows.append({
            "arm": arm,
            "label": label,
            "n_seeds": len(part),
            "n_collapsed": int(part["event"].sum()),
            "n_censored": int((part["event"] == 0).sum()),
            "median_episodes_to_collapse": float(median) if np.isfinite(median) else math.nan,
            "at_episode": int(budget),
            "survival": s,
            "survival_ci_low": low,
            "survival_ci_high": high,
            "logrank_chi2": chi2,
            "logrank_p": p,
        })
    table = pd.DataFrame(rows)
    table["logrank_p_holm"] = holm(table["logrank_p"])
    return table


def main(snakemake) -> None:
    log = log_to(snakemake.log[0])
    p = snakemake.params
    collapse = pd.read_csv(snakemake.input.collapse)
    table = survival_table(collapse, p.labels, p.reference_arm, p.confidence)
    write_csv(table, snakemake.output[0])
    log.info("wrote %s", snakemake.output[0])


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
