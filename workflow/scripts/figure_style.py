"""What every figure script shares: its opening (log file, reproducible matplotlib
settings), the colours (colour-blind palette) and the placement of legends and long labels."""

from __future__ import annotations

import textwrap

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
    fig.suptitle(title)
    fig.tight_layout(rect=(0, bottom, 1, 1))
    legend_below_figure(fig, handles, labels, ncol)
    save_and_close(fig, list(snakemake.output), log)


def legend_below_figure(fig, handles, labels, ncol: int):
    """A figure legend just under the lowest row of visible axes (tick and axis labels
    included), so it can sit on no panel's data or labels whatever the figure's height;
    the tight bounding box of the save takes it in."""
    fig.canvas.draw()  # the tick labels' extents are known only once drawn
    renderer = fig.canvas.get_renderer()
    low = min(ax.get_tightbbox(renderer).y0 for ax in fig.axes if ax.get_visible())
    y = fig.transFigure.inverted().transform((0, low))[1]
    return fig.legend(handles, labels, loc="upper center", ncol=ncol, frameon=False,
                      bbox_to_anchor=(0.5, y - 0.01))  # fmt: skip


def legend_below_axes(ax, ncol: int = 1):
    """The axes' legend under its x-axis label, outside the data area: a `loc="best"`
    legend sits on the data or the y label once there are long labels or many lines."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    low = ax.get_tightbbox(renderer).y0
    y = ax.transAxes.inverted().transform((0, low))[1]
    return ax.legend(loc="upper center", bbox_to_anchor=(0.5, y - 0.02), ncol=ncol, frameon=False)


def wrap(label: str, width: int) -> str:
    """A long tick label on several lines, broken between words."""
    return "\n".join(textwrap.wrap(label, width)) or label


def variant_colours(variants: list[str]) -> dict[str, tuple]:
    import seaborn as sns

    palette = sns.color_palette("colorblind", n_colors=max(10, len(variants)))
    return {v: palette[i] for i, v in enumerate(variants)}


NOTEBOOK_COLOUR = "black"


def outcome_colours() -> dict[str, tuple]:
    """A run's outcome in the collapse figures: red = collapsed, blue = survived,
    grey = never learned (as in the ablations figure)."""
    import seaborn as sns

    palette = sns.color_palette("colorblind")
    return {"collapsed": palette[3], "survived": palette[0], "never_learned": palette[7]}
