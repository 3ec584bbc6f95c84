"""figures/one_step_collapse.{png,svg}: one panel per seed of one-step A2C on
CartPole-v1 with its moving training return, its sampled evaluation returns, and the
notebook's own printed evaluation run drawn on top.

The y axis is logarithmic: a collapsed policy's returns (8-10 steps on CartPole) sit on
the bottom of a linear 0-500 axis, where 9 cannot be told from 0. With the optional
params `collapse` (learned_threshold, window, return_threshold, majority_action_threshold:
the collapse study's definition) and `peak_window`, each panel's title says whether the
seed collapsed, survived or never learned (collapse_event.py, as in collapse.csv)."""

import math

import pandas as pd
from collapse_event import RULE_KEYS, check_rule, frame_event
from figure_style import (
    NOTEBOOK_COLOUR,
    finish_figure,
    outcome_colours,
    start_figure,
    variant_colours,
)
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter
from robust_stats import trailing_mean

Y_TICKS = [5, 10, 20, 50, 100, 200, 500]


def outcome_of(run: pd.DataFrame, c: dict, peak_window: int) -> str:
    """collapsed / survived / never_learned by the collapse study's definition."""
    rule = check_rule({**{k: c[k] for k in RULE_KEYS if k in c}, "peak_window": peak_window})
    return frame_event(run, rule)["outcome"]


def main(snakemake) -> None:
    log, plt, sns, p = start_figure(snakemake)
    episodes = pd.read_csv(snakemake.input.episodes)
    runs = episodes[(episodes["env_id"] == p.env) & (episodes["variant"] == p.variant)]
    seeds = sorted(runs["seed"].unique())
    ncols = min(5, len(seeds))
    nrows = math.ceil(len(seeds) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.2 * ncols, 2.7 * nrows + 0.8), sharex=True, sharey=True, squeeze=False
    )
    train_colour = variant_colours(list(p.variants))[p.variant]
    eval_colour = sns.color_palette("colorblind")[4]  # [3] is the red of "collapsed"
    nb_x, nb_y = p.notebook_eval["episodes"], p.notebook_eval["returns"]
    collapse = getattr(p, "collapse", None)
    if collapse is None:
        log.warning("params.collapse not given: panels are not labelled collapsed/survived")
    outcomes = {}
    for ax, seed in zip(axes.flat, seeds):
        run = runs[runs["seed"] == seed].sort_values("episode")
        moving = trailing_mean(run["return"].to_numpy(), p.window)
        ax.plot(run["episode"], moving, color=train_colour, lw=1.2, label=f"training return, {p.window}-episode moving mean")
        ev = run.dropna(subset=["eval_return"])
        ax.plot(ev["episode"], ev["eval_return"], "o", color=eval_colour, ms=4, label="evaluation return (sampled policy, 1 episode)")
        ax.plot(nb_x, nb_y, "--x", color=NOTEBOOK_COLOUR, lw=1, ms=5, label="notebook's printed evaluation run")
        if collapse is None:
            ax.set_title(f"seed {seed}", fontsize=10)
            continue
        outcome = outcome_of(run, collapse, p.peak_window)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        ax.set_title(f"seed {seed}: {outcome.replace('_', ' ')}", fontsize=10,
                     color=outcome_colours()[outcome], fontweight="bold")  # fmt: skip
    for ax in axes.flat[len(seeds):]:
        ax.set_visible(False)
    ax = axes.flat[0]  # shared y: one axis to set
    ax.set_yscale("log")
    low = min(Y_TICKS[0], float(runs["return"].min()), min(nb_y)) * 0.8
    ax.set_ylim(low, 600)
    ax.yaxis.set_major_locator(FixedLocator(Y_TICKS))
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_locator(NullLocator())
    for a in axes[-1]:
        a.set_xlabel("episode")
    for a in axes[:, 0]:
        a.set_ylabel("return (log scale)")
    tally = ", ".join(f"{k} {o.replace('_', ' ')}" for o, k in sorted(outcomes.items()))
    finish_figure(
        fig, axes, f"{p.label} on {p.env}: every seed (n={len(seeds)}) against the notebook's run"
        + (f" ({tally})" if tally else ""),
        3, snakemake, log, bottom=0.0,
    )  # fmt: skip


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
