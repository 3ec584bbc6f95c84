"""figures/collapse_survival.{png,svg}: Kaplan-Meier curves of P(not collapsed by episode t |
learned) per arm (with confidence bands), each arm in its own panel over its reference arm.

Only runs that learned enter (collapse_survival.py): a never-learned run is no success, and
an arm in which no run learned has no curve, only its count. Arms are grouped by their
reference arm, one row of panels per group, each group on its own episode axis (its
budget), so 2 000-episode arms do not squash the 501-episode ones. A long arm's panel also
shows, dashed, the 501-episode arm it extends (param `counterpart`, optional).
"""

import math

import pandas as pd
from collapse_survival import km_fit, survival_data
from deterministic_io import save_and_close
from figure_style import start_figure


def groups(tests: pd.DataFrame, labels: dict) -> dict[str, list[str]]:
    """reference arm -> the arms compared with it, in the labels' order."""
    out: dict[str, list[str]] = {}
    for arm in labels:
        if arm in tests.index and tests.loc[arm, "reference"] != arm:
            out.setdefault(tests.loc[arm, "reference"], []).append(arm)
    return out


def main(snakemake) -> None:
    log, plt, sns, p = start_figure(snakemake)
    collapse = pd.read_csv(snakemake.input.collapse)
    data = survival_data(collapse)
    tests = pd.read_csv(snakemake.input.survival).set_index("arm")
    counterpart = dict(getattr(p, "counterpart", None) or {})
    by_ref = groups(tests, p.labels)
    palette = sns.color_palette("colorblind")
    ncols = min(4, max(len(a) for a in by_ref.values()))
    rows = [(ref, arms[i : i + ncols]) for ref, arms in by_ref.items()
            for i in range(0, len(arms), ncols)]  # fmt: skip
    fig, axes = plt.subplots(len(rows), ncols, figsize=(3.6 * ncols, 2.9 * len(rows) + 0.8),
                             sharey=True, squeeze=False)  # fmt: skip
    for (ref_arm, arms), row_axes in zip(rows, axes):
        budget = float(tests.loc[[ref_arm, *arms], "at_episode"].max())
        ref_data = data[data["arm"] == ref_arm]
        for ax, arm in zip(row_axes, arms):
            if len(ref_data):
                km_fit(ref_data, f"{p.labels[ref_arm]} ({len(ref_data)} learned)", p.confidence
                       ).plot_survival_function(ax=ax, color="black", ci_show=True, ci_alpha=0.15)  # fmt: skip
            short = counterpart.get(arm)
            part = data[data["arm"] == short] if short else data.iloc[:0]
            if len(part):
                km_fit(part, f"{p.labels.get(short, short)} ({len(part)} learned)", p.confidence
                       ).plot_survival_function(ax=ax, color=palette[0], ci_show=False, ls="--")  # fmt: skip
            row = tests.loc[arm]
            part = data[data["arm"] == arm]
            if len(part):
                km_fit(part, f"{p.labels[arm]} ({len(part)} learned)", p.confidence
                       ).plot_survival_function(ax=ax, color=palette[3], ci_show=True, ci_alpha=0.25)  # fmt: skip
                test = (f"log-rank p = {row['logrank_p']:.2g} (Holm {row['logrank_p_holm']:.2g})"
                        if not math.isnan(row["logrank_p"]) else "no test")  # fmt: skip
            else:
                ax.text(0.5, 0.5, "no run learned:\nno time to collapse", ha="center",
                        va="center", transform=ax.transAxes, fontsize=8)  # fmt: skip
                test = "untestable"
            ax.set_title(f"{p.labels[arm]}: {int(row['n_learned'])} of {int(row['n_seeds'])} "
                         f"learned\n{test}", fontsize=8)  # fmt: skip
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=6, loc="lower left")
            ax.set_xlabel("episode", fontsize=8)
            ax.set_xlim(0, budget)
            ax.set_ylim(-0.02, 1.02)
        for ax in row_axes[len(arms) :]:
            ax.set_visible(False)
        row_axes[0].set_ylabel("P(not collapsed | learned)", fontsize=8)
    fig.suptitle(f"Time to collapse on {p.env} among runs that learned: Kaplan-Meier, "
                 f"{int(p.confidence * 100)}% bands; survivors censored at their last episode; "
                 "never-learned runs excluded", fontsize=9)  # fmt: skip
    fig.tight_layout()
    save_and_close(fig, list(snakemake.output), log)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
