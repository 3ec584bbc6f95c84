"""figures/collapse_survival.{png,svg}: Kaplan-Meier curves of 'not yet collapsed' per
arm (with confidence bands), each arm in its own panel over the reference arm."""

import math

import pandas as pd
from collapse_survival import km_fit, survival_data
from deterministic_io import save_and_close
from figure_style import start_figure


def main(snakemake) -> None:
    log, plt, sns, p = start_figure(snakemake)
    collapse = pd.read_csv(snakemake.input.collapse)
    data = survival_data(collapse)
    never = collapse.groupby("arm")["never_learned"].sum()
    tests = pd.read_csv(snakemake.input.survival).set_index("arm")
    arms = [a for a in p.labels if a in tests.index and a != p.reference_arm]
    palette = sns.color_palette("colorblind")
    ncols = min(4, max(1, len(arms)))
    nrows = max(1, math.ceil(len(arms) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 2.8 * nrows + 0.8),
                             sharey=True, squeeze=False)
    ref = km_fit(data[data["arm"] == p.reference_arm], p.labels[p.reference_arm], p.confidence)
    for ax, arm in zip(axes.flat, arms):
        ref.plot_survival_function(ax=ax, color="black", ci_show=True, ci_alpha=0.15)
        km_fit(data[data["arm"] == arm], p.labels[arm], p.confidence).plot_survival_function(
            ax=ax, color=palette[3], ci_show=True, ci_alpha=0.25)
        row = tests.loc[arm]
        ax.set_title(f"{p.labels[arm]} ({int(never[arm])} of {int(row['n_seeds'])} never learned)\n"
                     f"log-rank p = {row['logrank_p']:.2g} (Holm {row['logrank_p_holm']:.2g})",
                     fontsize=8)
        ax.legend(fontsize=6, loc="lower left")
        ax.set_xlabel("episode", fontsize=8)
        ax.set_ylim(-0.02, 1.02)
    for ax in axes.flat[len(arms):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("P(not collapsed)")
    fig.suptitle(f"Time to collapse on {p.env}: Kaplan-Meier, {int(p.confidence * 100)}% bands; "
                 "runs without a collapse are censored at their last episode", fontsize=9)
    fig.tight_layout()
    save_and_close(fig, list(snakemake.output), log)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
