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


def variant_colours(variants: list[str]) -> dict[str, tuple]:
    import seaborn as sns

    palette = sns.color_palette("colorblind", n_colors=max(10, len(variants)))
    return {v: palette[i] for i, v in enumerate(variants)}


NOTEBOOK_COLOUR = "black"
