"""figures/final_returns.{png,svg}: per env, every seed's final return (mean of the
last episodes, see final.csv) of each variant, as box plot plus points."""

import numpy as np
import pandas as pd
from deterministic_io import save_and_close
from figure_style import legend_below_figure, start_figure, variant_colours, wrap
from matplotlib.patches import Patch

# Characters per line of a variant's x tick label: three long labels side by side in a
# 4.2-inch panel overprint each other unless broken into lines about this long.
TICK_CHARS = 13


def main(snakemake) -> None:
    log, plt, sns, p = start_figure(snakemake)
    final = pd.read_csv(snakemake.input.final)
    envs = [e for e in p.envs if e in set(final["env_id"])]
    variants = [v for v in p.variants if v in set(final["variant"])]
    colours = variant_colours(list(p.variants))
    fig, axes = plt.subplots(1, len(envs), figsize=(4.2 * len(envs), 4.6), squeeze=False)
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
        ax.set_xticklabels([f"{wrap(p.labels[v], TICK_CHARS)}\n(n={n.get(v, 0)})" for v in variants],
                           fontsize=9)  # fmt: skip
        ax.set_xlabel("")
        ax.set_title(env)
        ax.set_ylabel("final return" if ax is axes[0][0] else "")
    fig.suptitle(f"Final return per seed: mean of the last {p.final_fraction:.0%} of training "
                 "episodes (box: quartiles, points: seeds)")  # fmt: skip
    fig.tight_layout()
    # The colours' key once for all panels (the tick labels name the boxes too, but a reader
    # scanning for a colour finds it here).
    handles = [Patch(facecolor=colours[v], edgecolor="black", alpha=0.7) for v in variants]
    legend_below_figure(fig, handles, [p.labels[v] for v in variants], ncol=len(variants))
    save_and_close(fig, list(snakemake.output), log)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
