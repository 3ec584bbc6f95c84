"""figures/fidelity.{png,svg}: engine vs the notebooks' own code, one row per comparison and
one panel per measure: ECDFs of the per-run values, or for rates the two rates with their
Wilson intervals; each panel's title carries the verdict and the Holm-adjusted p-value.

Run by Snakemake (rule fidelity_figure); the numbers are results/fidelity.csv's.
"""


import numpy as np
import pandas as pd
from deterministic_io import log_to, save_and_close, setup_matplotlib
from fidelity import RUN_COLUMN
from figure_style import NOTEBOOK_COLOUR, variant_colours
from robust_stats import wilson_interval


def titles(p, name: str) -> dict[str, str]:
    return {
        "collapse_rate": "collapsed / all runs",
        "collapse_given_learned_rate": "collapsed / runs that learned",
        "never_learned_rate": "never learned",
        "mean_return": "mean training return over the run",
        "peak_mean": f"peak {p.peak_window}-episode mean return",
        "peak_episode": "episode of the peak",
        "total_env_steps": "total env steps",
        "final_mean": f"final {p.final_window}-episode mean return",
        "eval_return": f"evaluation return at episode {p.eval_episodes.get(name)}",
    }


SIDES = ("engine", "notebook")


def main(snakemake) -> None:
    log = log_to(snakemake.log[0])
    setup_matplotlib()
    import matplotlib.pyplot as plt

    runs = pd.read_csv(snakemake.input.runs)
    table = pd.read_csv(snakemake.input.table)
    labels = snakemake.params.labels
    comparisons = list(dict.fromkeys(table["variant"]))
    ncols = int(table.groupby("variant").size().max())
    colours = {"engine": variant_colours(["engine"])["engine"], "notebook": NOTEBOOK_COLOUR}
    fig = plt.figure(figsize=(3.2 * ncols, 3.6 * len(comparisons)), layout="constrained")
    subfigs = np.atleast_1d(fig.subfigures(len(comparisons), 1))
    for sub, name in zip(subfigs, comparisons):
        rows = table[table["variant"] == name]
        mine = runs[runs["comparison"] == name]
        sub.suptitle(labels.get(name, name), fontweight="bold", fontsize=11)
        axes = sub.subplots(1, ncols, squeeze=False)[0]
        title = titles(snakemake.params, name)
        for ax, r in zip(axes, rows.itertuples()):
            col = RUN_COLUMN.get(r.measure, r.measure)
            for k, side in enumerate(SIDES):
                values = mine.loc[mine["side"] == side, col].dropna().to_numpy(dtype=float)
                label = f"{side} (n={len(values)})"
                if r.measure in RUN_COLUMN:
                    lo, hi = wilson_interval(int(values.sum()), len(values))
                    rate = values.mean()
                    ax.bar(k, rate, color=colours[side], alpha=0.8, label=label)
                    # max(0, ·): Wilson's bound can miss a rate of 0 or 1 by a rounding error
                    err = [[max(0.0, rate - lo)], [max(0.0, hi - rate)]]
                    ax.errorbar(k, rate, yerr=err, color="0.3", capsize=4)
                else:
                    ax.ecdf(np.sort(values), color=colours[side], label=label)
            if r.measure in RUN_COLUMN:
                ax.set_xticks([0, 1], SIDES)
                ax.set_ylim(0, 1)
                ax.set_ylabel("fraction of runs (Wilson CI)", fontsize=9)
            elif ax is axes[0]:
                ax.set_ylabel("fraction of runs ≤ x (ECDF)", fontsize=9)
            ax.set_title(
                f"{title.get(r.measure, r.measure)}\n{r.verdict} (margin ±{r.margin:g}), "
                f"Holm p = {r.p_holm:.2g}",
                fontsize=9,
            )
            ax.tick_params(labelsize=8)
        axes[0].legend(fontsize=7)
        for ax in axes[len(rows) :]:
            ax.set_visible(False)
    fig.suptitle(
        "Engine vs the notebooks' own code (same configuration, independent seeds)"
    )
    save_and_close(fig, list(snakemake.output), log)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
