"""What every figure script shares: its opening (log file, reproducible matplotlib
settings) and the colours (colour-blind palette)."""

from __future__ import annotations

from deterministic_io import log_to, setup_matplotlib


def start_figure(snakemake):
    """Log to the rule's log file and set up matplotlib for byte-reproducible output;
    returns (log, pyplot, seaborn, the rule's params)."""
    log = log_to(snakemake.log[0])
    setup_matplotlib()
    import matplotlib.pyplot as plt
    import seaborn as sns

    return log, plt, sns, snakemake.params


def finish_figure(fig, axes, title: str, ncol: int, snakemake, log, bottom: float) -> None:
    """The shared ending of a multi-panel figure: one legend (from the first panel) under the
    panels, the title, the layout, and the byte-reproducible save of every output."""
    from deterministic_io import save_and_close

    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False,
               bbox_to_anchor=(0.5, -bottom / 2 - 0.005))  # fmt: skip
    fig.suptitle(title)
    fig.tight_layout(rect=(0, bottom, 1, 1))
    save_and_close(fig, list(snakemake.output), log)


def variant_colours(variants: list[str]) -> dict[str, tuple]:
    import seaborn as sns

    palette = sns.color_palette("colorblind", n_colors=max(10, len(variants)))
    return {v: palette[i] for i, v in enumerate(variants)}


NOTEBOOK_COLOUR = "black"
