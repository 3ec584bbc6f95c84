"""figures/learning_curves_<env>.{png,svg} (x = episode) and
figures/learning_curves_<env>_env_steps.{png,svg} (x = environment steps):
IQM over seeds of the smoothed training return with its bootstrap CI band, and one
thin line per seed."""

import pandas as pd
from deterministic_io import save_and_close
from figure_style import legend_below_axes, start_figure, variant_colours
from robust_stats import iqm_middle_count, trailing_mean


def draw(ax, episodes, summary, x, variants, labels, colours):
    for variant in variants:
        colour = colours[variant]
        runs = episodes[episodes["variant"] == variant]
        for _, run in runs.groupby("seed", sort=True):
            ax.plot(run[x], run["return_smoothed"], color=colour, lw=0.5, alpha=0.3)
        agg = summary[summary["variant"] == variant]
        n = int(agg["n_seeds"].iloc[0])
        ax.fill_between(agg[x], agg["iqm_ci_low"], agg["iqm_ci_high"], color=colour, alpha=0.25, lw=0)
        ax.plot(agg[x], agg["iqm"], color=colour, lw=2, label=f"{labels[variant]}: IQM = mean of the middle {iqm_middle_count(n)} of {n} seeds")


def main(snakemake) -> None:
    log, plt, _, p = start_figure(snakemake)
    env = p.env
    episodes = pd.read_csv(snakemake.input.episodes)
    episodes = episodes[episodes["env_id"] == env].copy()
    variants = [v for v in p.variants if v in set(episodes["variant"])]
    colours = variant_colours(list(p.variants))
    window = p.smoothing_window
    episodes["return_smoothed"] = (
        episodes.groupby(["variant", "seed"], sort=True)["return"]
        .transform(lambda r: trailing_mean(r.to_numpy(), window))
    )
    for x, table, out, xlabel in (
        ("episode", snakemake.input.summary, snakemake.output.by_episode, "training episode"),
        ("env_steps", snakemake.input.summary_env_steps, snakemake.output.by_env_steps, "environment steps"),
    ):
        summary = pd.read_csv(table)
        summary = summary[summary["env_id"] == env]
        fig, ax = plt.subplots(figsize=(8, 4.8))
        draw(ax, episodes, summary, x, variants, p.labels, colours)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"training return ({window}-episode moving mean)")
        ax.set_title(f"{env}: IQM over seeds (thick), {int(p.confidence * 100)}% bootstrap CI (band), "
                     "seeds (thin)", fontsize=11)  # fmt: skip
        legend_below_axes(ax)
        save_and_close(fig, list(out), log)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
