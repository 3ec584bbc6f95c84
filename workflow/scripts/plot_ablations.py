"""figures/ablations.{png,svg}: per arm of the collapse study, P(learned) and
P(collapse | learned) with their Wilson intervals, and the final-return IQM with its
bootstrap CI over seeds (points = seeds).
The IQM of n seeds averages the middle n - 2 floor(n/4) of them (6 of 10, 20 of 40)."""

import numpy as np
import pandas as pd
from deterministic_io import save_and_close
from figure_style import start_figure


def error_bars(centre, low, high):
    """Asymmetric error-bar lengths (never negative: a percentile CI may exclude its point)."""
    return [(centre - low).clip(lower=0), (high - centre).clip(lower=0)]


def main(snakemake) -> None:
    log, plt, sns, p = start_figure(snakemake)
    arms = pd.read_csv(snakemake.input.ablations)
    runs = pd.read_csv(snakemake.input.collapse)
    palette = sns.color_palette("colorblind")
    y = np.arange(len(arms))[::-1]
    fig, (learn, left, right) = plt.subplots(
        1, 3, figsize=(15, 0.45 * len(arms) + 1.8), sharey=True,
        gridspec_kw={"width_ratios": [1, 1, 1.4]},
    )  # fmt: skip
    # Learners are compared with learners: P(learned) first, then P(collapse | learned) among
    # the runs that learned (an arm where none learned has no point there).
    for ax, col, ci, n_num, n_den, colour, xlabel in (
        (learn, "learned_rate", "learned_rate", "n_learned", "n_seeds", palette[2],
         "P(learned): the peak 50-episode mean\nreached the learned threshold"),
        (left, "collapse_given_learned_rate", "collapse_given_learned", "n_collapsed", "n_learned",
         palette[3],
         "P(collapse | learned): among runs that\nlearned, the one-way state for good"),
    ):  # fmt: skip
        rate = arms[col]
        ax.errorbar(rate, y, xerr=error_bars(rate, arms[f"{ci}_ci_low"], arms[f"{ci}_ci_high"]),
                    fmt="o", color=colour, ecolor=colour, capsize=3)
        for yi, (_, arm) in zip(y, arms.iterrows()):
            ax.annotate(f"{arm[n_num]}/{arm[n_den]}", (1.02, yi), va="center", fontsize=8,
                        xycoords=("axes fraction", "data"))
        ax.set_xlim(-0.02, 1.02)
        ax.set_xlabel(f"{xlabel}\n({int(p.confidence * 100)}% Wilson interval)", fontsize=9)
    learn.set_yticks(y)
    learn.set_yticklabels([f"{lab} (n={n})" for lab, n in zip(arms["label"], arms["n_seeds"])])
    rng = np.random.default_rng(p.jitter_seed)
    for yi, (_, arm) in zip(y, arms.iterrows()):
        seeds = runs[runs["arm"] == arm["arm"]]
        jitter = rng.uniform(-0.15, 0.15, len(seeds))
        outcome_colour = {"collapsed": palette[3], "survived": palette[0], "never_learned": palette[7]}
        colours = [outcome_colour[o] for o in seeds["outcome"]]
        right.scatter(seeds["final_return"], yi + jitter, s=14, c=colours, alpha=0.7, lw=0)
    iqm_ = arms["final_return_iqm"]
    right.errorbar(iqm_, y, xerr=error_bars(iqm_, arms["final_return_iqm_ci_low"], arms["final_return_iqm_ci_high"]),
                   fmt="D", color="black", capsize=3,
                   label="IQM over seeds (mean of the middle half), bootstrap CI")
    right.set_xlabel(f"final return (mean of the last {p.final_fraction:.0%} of episodes); seeds:\n"
                     "red collapsed, blue survived, grey never learned", fontsize=9)
    right.legend(loc="best", fontsize=8)
    fig.suptitle(f"Ablations of one-step A2C on {p.env}")
    fig.tight_layout()
    save_and_close(fig, list(snakemake.output), log)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
