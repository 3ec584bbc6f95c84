"""figures/one_step_collapse.{png,svg}: one panel per seed of one-step A2C on
CartPole-v1 with its moving training return, its sampled evaluation returns, and the
notebook's own printed evaluation run drawn on top."""

import math

import pandas as pd
from figure_style import NOTEBOOK_COLOUR, finish_figure, start_figure, variant_colours
from robust_stats import trailing_mean


def main(snakemake) -> None:
    log, plt, sns, p = start_figure(snakemake)
    episodes = pd.read_csv(snakemake.input.episodes)
    runs = episodes[(episodes["env_id"] == p.env) & (episodes["variant"] == p.variant)]
    seeds = sorted(runs["seed"].unique())
    ncols = min(5, len(seeds))
    nrows = math.ceil(len(seeds) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.2 * ncols, 2.6 * nrows + 0.8), sharex=True, sharey=True, squeeze=False
    )
    train_colour = variant_colours(list(p.variants))[p.variant]
    eval_colour = sns.color_palette("colorblind")[3]
    nb_x, nb_y = p.notebook_eval["episodes"], p.notebook_eval["returns"]
    for ax, seed in zip(axes.flat, seeds):
        run = runs[runs["seed"] == seed]
        moving = trailing_mean(run["return"].to_numpy(), p.window)
        ax.plot(run["episode"], moving, color=train_colour, lw=1.2, label=f"training return, {p.window}-episode moving mean")
        ev = run.dropna(subset=["eval_return"])
        ax.plot(ev["episode"], ev["eval_return"], "o", color=eval_colour, ms=4, label="evaluation return (sampled policy, 1 episode)")
        ax.plot(nb_x, nb_y, "--x", color=NOTEBOOK_COLOUR, lw=1, ms=5, label="notebook's printed evaluation run")
        ax.set_title(f"seed {seed}", fontsize=10)
    for ax in axes.flat[len(seeds):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("episode")
    for ax in axes[:, 0]:
        ax.set_ylabel("return")
    finish_figure(
        fig, axes, f"{p.label} on {p.env}: every seed (n={len(seeds)}) against the notebook's run",
        3, snakemake, log, bottom=0.05,
    )  # fmt: skip


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
