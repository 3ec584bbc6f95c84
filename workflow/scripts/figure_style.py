"""Colours and labels shared by the figure scripts (colour-blind palette)."""

from __future__ import annotations


def variant_colours(variants: list[str]) -> dict[str, tuple]:
    import seaborn as sns

    palette = sns.color_palette("colorblind", n_colors=max(10, len(variants)))
    return {v: palette[i] for i, v in enumerate(variants)}


NOTEBOOK_COLOUR = "black"
