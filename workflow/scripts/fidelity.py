"""The fidelity experiment's statistics: per-run measures of the engine's and the notebook
code's runs (aggregated/fidelity_runs.csv) and, per measure, a two-sample test, an effect
size with a bootstrap interval and a verdict against the config's equivalence margin
(fidelity.csv).

Run by Snakemake (rule fidelity_table); definitions are in config/README.md.
"""


import math

import numpy as np
import pandas as pd
from collapse_event import RULE_KEYS, check_rule, frame_event
from deterministic_io import log_to, write_csv
from run_metrics import frame_metrics
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep

# measure -> how its per-run values are summarised and tested. collapse_given_learned_rate
# is over the runs that learned only (NaN for a run that never learned).
RATES = ("collapse_rate", "never_learned_rate", "collapse_given_learned_rate")
MEASURES = (*RATES, "peak_mean", "peak_episode", "total_env_steps", "mean_return", "final_mean",
            "eval_return")  # fmt: skip
RUN_COLUMN = {"collapse_rate": "collapsed", "never_learned_rate": "never_learned",
              "collapse_given_learned_rate": "collapsed_given_learned"}  # fmt: skip
VERDICTS = ("equivalent", "differs", "inconclusive")


def run_measures(run: pd.DataFrame, comp: dict, peak_window: int, final_window: int) -> dict:
    """The measures of one run (one side, one seed); `run` is its CSV, in episode order.
    Peak, final mean and the collapse outcome are the collapse study's own definitions
    (run_metrics.py, collapse_event.py), with this experiment's windows. mean_return (the
    mean training return over the whole run) is not bimodal on one-step CartPole, where the
    final mean is (collapsed runs ~9, survivors up to 500)."""
    m = frame_metrics(run, 1.0, peak_window, final_episodes=final_window)
    out = {
        "n_episodes": m["n_episodes"],
        "peak_mean": m["peak_mean_return"],
        "peak_episode": m["peak_episode"],
        "total_env_steps": m["total_env_steps"],
        "mean_return": float(run["return"].to_numpy(dtype=float).mean()),
        "final_mean": m["final_return"],
    }
    if "eval_episode" in comp:
        ev = run.loc[run["episode"] == comp["eval_episode"], "eval_return"]
        out["eval_return"] = float(ev.iloc[0]) if len(ev) else math.nan
    c = comp.get("collapse")
    if c:
        rule = check_rule({**{k: c[k] for k in RULE_KEYS if k in c}, "peak_window": peak_window})
        outcome = frame_event(run, rule)["outcome"]
        out["collapsed"] = int(outcome == "collapsed")
        out["never_learned"] = int(outcome == "never_learned")
        out["collapsed_given_learned"] = math.nan if outcome == "never_learned" else out["collapsed"]
    return out


def runs_table(paths: list[str], side_of_path: dict, fid: dict) -> pd.DataFrame:
    rows = []
    for path in paths:
        name, side = side_of_path[path]
        comp = fid["comparisons"][name]
        run = pd.read_csv(path).sort_values("episode", kind="stable")
        m = run_measures(run, comp, fid["peak_window"], fid["final_window"])
        rows.append({"comparison": name, "env": comp["env"], "side": side,
                     "seed": int(run["seed"].iloc[0]), **m})  # fmt: skip
    frame = pd.DataFrame(rows)
    return frame.sort_values(["comparison", "side", "seed"], kind="stable").reset_index(drop=True)


def _median_difference(x, y, axis=-1):
    return np.median(x, axis=axis) - np.median(y, axis=axis)


def compare(engine: np.ndarray, notebook: np.ndarray, rate: bool, bootstrap: dict) -> dict:
    """Two-sample test and effect (engine − notebook) with its confidence interval.

    Rates (0/1 per run): Fisher's exact test; effect = difference of the rates with Newcombe's
    hybrid score interval (a bootstrap interval of a rate difference collapses to a point
    when both sides have 0 or all runs, e.g. no run that never learned).
    Other measures: two-sided Mann–Whitney U test; effect = difference of the medians with a
    percentile bootstrap interval (seeds resampled within each side, fixed RNG seed). The
    two-sample Kolmogorov–Smirnov p-value is reported beside it (shape, not only location)."""
    x, y = np.asarray(engine, dtype=float), np.asarray(notebook, dtype=float)
    if rate:
        k1, k2 = int(x.sum()), int(y.sum())
        p = stats.fisher_exact([[k1, len(x) - k1], [k2, len(y) - k2]]).pvalue
        low, high = confint_proportions_2indep(
            k1, len(x), k2, len(y), method="newcomb", compare="diff",
            alpha=1 - bootstrap["confidence"],
        )  # fmt: skip
        test, ci_method, ks_p = "fisher_exact", "newcombe", math.nan
        e_val, n_val = x.mean(), y.mean()
        effect = e_val - n_val
    else:
        p = stats.mannwhitneyu(x, y, alternative="two-sided").pvalue
        ks_p = stats.ks_2samp(x, y).pvalue
        ci = stats.bootstrap(
            (x, y), _median_difference, n_resamples=bootstrap["n_resamples"],
            confidence_level=bootstrap["confidence"], method="percentile", vectorized=True,
            paired=False, rng=np.random.default_rng(bootstrap["seed"]),
        ).confidence_interval  # fmt: skip
        low, high = ci.low, ci.high
        test, ci_method = "mann_whitney_u", "bootstrap_percentile"
        e_val, n_val = np.median(x), np.median(y)
        effect = _median_difference(x, y)
    return {
        "engine_value": float(e_val), "notebook_value": float(n_val), "effect": float(effect),
        "ci_low": float(low), "ci_high": float(high), "ci_method": ci_method, "test": test,
        "p_value": float(p), "ks_p_value": float(ks_p),
    }  # fmt: skip


def margin_of(spec: dict, where: str = "margin") -> float:
    """A fixed margin in the measure's units (`absolute`). Margins are stated before the data
    (a fraction of a side's sample median would move with the sample), so `relative` is
    refused."""
    if set(spec) != {"absolute"}:
        raise ValueError(f"fidelity {where}: needs exactly {{absolute: <value>}}, got {spec!r}")
    value = spec["absolute"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"fidelity {where}: absolute must be a number > 0, got {value!r}")
    return float(value)


def verdict(ci_low: float, ci_high: float, margin: float, p_holm: float, alpha: float) -> str:
    """'equivalent' if the (unadjusted) interval lies inside ±margin; else 'differs' if the
    Holm-adjusted p-value is below alpha; else 'inconclusive'."""
    if -margin < ci_low and ci_high < margin:
        return "equivalent"
    if p_holm < alpha:
        return "differs"
    return "inconclusive"


def fidelity_table(runs: pd.DataFrame, fid: dict) -> pd.DataFrame:
    rows = []
    for name, comp in fid["comparisons"].items():
        mine = runs[runs["comparison"] == name]
        unknown = sorted(set(comp["margins"]) - set(MEASURES))
        if unknown:
            raise ValueError(f"fidelity.comparisons.{name}.margins: unknown measure(s) {unknown}; "
                             f"known: {list(MEASURES)}")  # fmt: skip
        for measure in MEASURES:
            if measure not in comp["margins"]:
                continue
            col = RUN_COLUMN.get(measure, measure)
            sides = {s: mine.loc[mine["side"] == s, col].dropna().to_numpy() for s in
                     ("engine", "notebook")}  # fmt: skip
            if min(len(v) for v in sides.values()) < 2:  # e.g. no evaluation at that episode
                raise ValueError(
                    f"fidelity.comparisons.{name}: {measure} has fewer than 2 runs with a value "
                    f"on a side ({', '.join(f'{k}: {len(v)}' for k, v in sides.items())})"
                )
            res = compare(sides["engine"], sides["notebook"], measure in RATES, fid["bootstrap"])
            rows.append({
                "env": comp["env"], "variant": name, "label": comp.get("label", name),
                "measure": measure, "n_engine": len(sides["engine"]),
                "n_notebook": len(sides["notebook"]),
                "statistic": "rate" if measure in RATES else "median", **res,
                "margin": margin_of(comp["margins"][measure], f"comparisons.{name}.margins.{measure}"),
            })  # fmt: skip
    table = pd.DataFrame(rows)
    table["p_holm"] = multipletests(table["p_value"], alpha=fid["alpha"], method="holm")[1]
    table["verdict"] = [
        verdict(r.ci_low, r.ci_high, r.margin, r.p_holm, fid["alpha"]) for r in table.itertuples()
    ]
    cols = ["env", "variant", "label", "measure", "n_engine", "n_notebook", "statistic",
            "engine_value", "notebook_value", "effect", "ci_low", "ci_high", "ci_method", "margin", "test",
            "p_value", "p_holm", "ks_p_value", "verdict"]  # fmt: skip
    return table[cols]


def main(snakemake) -> None:
    log = log_to(snakemake.log[0])
    fid = snakemake.params.fidelity
    runs = runs_table(list(snakemake.input.csvs), snakemake.params.side_of_path, fid)
    log.info("measured %d runs", len(runs))
    write_csv(runs, snakemake.output.runs)
    write_csv(fidelity_table(runs, fid), snakemake.output.table)
    log.info("wrote %s", ", ".join(snakemake.output))


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
