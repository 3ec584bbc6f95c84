"""figures/collapse_diagnostics.{png,svg}: the reference arm's per-episode diagnostics
lined up on the collapse onset (collapsing seeds) or on the peak (surviving seeds):
median over seeds with the interquartile range, and thin per-seed lines."""

import numpy as np
import pandas as pd
from figure_style import finish_figure, start_figure

PANELS = [
    ("return", "training return"),
    ("entropy", "policy entropy (nats)"),
    ("majority_action_frac", "majority-action fraction"),
    ("top_prob_gt_099", "states with top prob > 0.99"),
    ("abs_advantage", "mean |advantage|"),
    ("value_mean", "mean critic V(s)"),
    ("actor_grad_norm", "actor grad norm (pre-clip)"),
    ("critic_grad_norm", "critic grad norm (pre-clip)"),
]


def main(snakemake) -> None:
    log, plt, sns, p = start_figure(snakemake)
    data = pd.read_csv(snakemake.input.aligned)
    data = data[data["relative_episode"].between(-p.span, p.span)]
    palette = sns.color_palette("colorblind")
    groups = [(True, "collapsing seeds (x = episode − onset)", palette[3]),
              (False, "surviving seeds (x = episode − peak)", palette[0])]
    fig, axes = plt.subplots(2, 4, figsize=(16, 7), sharex=True)
    for ax, (column, title) in zip(axes.flat, PANELS):
        for collapsed, label, colour in groups:
            part = data[data["collapsed"] == collapsed]
            if part.empty:
                continue
            n = part["seed"].nunique()
            for _, run in part.groupby("seed", sort=True):
                ax.plot(run["relative_episode"], run[column], color=colour, lw=0.4, alpha=0.25)
            q = part.groupby("relative_episode")[column].quantile([0.25, 0.5, 0.75]).unstack()
            ax.fill_between(q.index, q[0.25], q[0.75], color=colour, alpha=0.25, lw=0)
            ax.plot(q.index, q[0.5], color=colour, lw=1.8, label=f"{label}, median, n={n}")
        ax.axvline(0, color="black", lw=0.8, ls=":")
        ax.set_title(title, fontsize=10)
        if column in ("abs_advantage", "actor_grad_norm", "critic_grad_norm") and (data[column] > 0).all():
            ax.set_yscale("log")
    for ax in axes[-1]:
        ax.set_xlabel("episodes relative to onset / peak")
    finish_figure(
        fig, axes, f"{p.label} on {p.env}: diagnostics around the collapse "
        "(band: interquartile range over seeds)", 2, snakemake, log, bottom=0.04,
    )  # fmt: skip


if __name__ == "__main__" and "snakemake" in globals():
    np.seterr(all="ignore")
    main(snakemake)  # noqa: F821
