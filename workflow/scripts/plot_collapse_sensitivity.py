"""figures/collapse_sensitivity.{png,svg}: the headline rates against each threshold of the
collapse definition. One panel per threshold: the collapse rate over all seeds, the
never-learned rate and P(collapse | learned) with the other thresholds at the rule's values
(lines), and the range of the collapse rate over every combination of the other thresholds
(band). The rule's value is marked. One row per arm. Numbers: collapse_sensitivity.csv."""

import pandas as pd
from collapse_sensitivity import GRID_KEYS
from deterministic_io import save_and_close
from figure_style import start_figure

MEASURES = {
    "collapse_rate": "collapsed / all seeds",
    "collapse_given_learned_rate": "collapsed / learned",
    "never_learned_rate": "never learned / all seeds",
}
NAMES = {
    "learned_threshold": "learned threshold (peak mean return)",
    "window": "one-way window (episodes)",
    "persistence": "persistence (episodes)",
    "return_threshold": "return threshold",
    "majority_action_threshold": "majority-action threshold",
}


def main(snakemake) -> None:
    log, plt, sns, p = start_figure(snakemake)
    table = pd.read_csv(snakemake.input[0])
    keys = [k for k in GRID_KEYS if k in table.columns]
    arms = [a for a in p.labels if a in set(table["arm"])]
    colours = dict(zip(MEASURES, sns.color_palette("colorblind", 3)))
    fig, axes = plt.subplots(len(arms), len(keys), figsize=(3.0 * len(keys), 2.6 * len(arms) + 0.9),
                             sharey=True, squeeze=False)  # fmt: skip
    for row_axes, arm in zip(axes, arms):
        mine = table[table["arm"] == arm]
        rule = mine[mine["is_rule"]].iloc[0]
        for ax, key in zip(row_axes, keys):
            others = [k for k in keys if k != key]
            at_rule = mine[(mine[others] == rule[others]).all(axis=1)].sort_values(key)
            band = mine.groupby(key)["collapse_rate"].agg(["min", "max"])
            ax.fill_between(band.index, band["min"], band["max"], color=colours["collapse_rate"],
                            alpha=0.15, lw=0, label="collapsed / all: range over the other thresholds")  # fmt: skip
            for measure, label in MEASURES.items():
                ax.plot(at_rule[key], at_rule[measure], marker="o", ms=3,
                        color=colours[measure], label=label)  # fmt: skip
            ax.axvline(rule[key], color="0.4", ls=":", lw=1)
            ax.set_xlabel(NAMES.get(key, key), fontsize=8)
            ax.set_ylim(-0.02, 1.02)
            ax.tick_params(labelsize=7)
        row_axes[0].set_ylabel(f"{p.labels[arm]}\n(n = {int(rule['n_seeds'])})", fontsize=8)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, frameon=False, fontsize=8)
    fig.suptitle(f"How the collapse rate on {p.env} depends on the definition's thresholds "
                 "(dotted: the rule's value)", fontsize=9)  # fmt: skip
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    save_and_close(fig, list(snakemake.output), log)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
