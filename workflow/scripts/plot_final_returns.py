"""figures/final_returns.{png,svg}: per env, every seed's final return (mean of the
last episodes, see final.csv) of each variant, as box plot plus points."""

import numpy as np
import pandas as pd
from deterministic_io import save_and_close
from figure_style import start_figure, variant_colours


def main(snakemake) -> None:
    log, plt, sns, p = start_figure(snakemake)
    final = pd.read_csv(snakemake.input.final)
    envs = [e for e in p.envs if e in set(final["env_id"])]
    variants = [v for v in p.variants if v in set(final["variant"])]
    colours = variant_colours(list(p.variants))
    fig, axes = plt.subplots(1, len(envs), figsize=(3.6 * len(envs), 4.2), squeeze=False)
    for ax, env in zip(axes[0], envs):
        data = final[final["env_id"] == env]
        kwargs = {"data": data, "x": "variant", "y": "final_return", "hue": "variant",
                  "order": variants, "hue_order": variants, "palette": colours, "ax": ax,
                  "legend": False}
        sns.boxplot(**kwargs, showfliers=False, width=0.5, boxprops={"alpha": 0.5})
        np.random.seed(p.jitter_seed)  # seaborn draws the strip jitter from numpy's global RNG
        sns.stripplot(**kwargs, size=5, jitter=0.12, edgecolor="black", linewidth=0.5)
        n = data.groupby("variant")["seed"].nunique()
        ax.set_xticks(range(len(variants)))
        ax.set_xticklabels([f"{p.labels[v]}\n(n={n.get(v, 0)})" for v in variants])
        ax.set_xlabel("")
        ax.set_title(env)
        ax.set_ylabel("final return" if ax is axes[0][0] else "")
    fig.suptitle(f"Final return per seed: mean of the last {p.final_fraction:.0%} of training episodes")
    fig.tight_layout()
    save_and_close(fig, list(snakemake.output), log)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
