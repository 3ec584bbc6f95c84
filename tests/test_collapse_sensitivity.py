"""The collapse definition's sensitivity table: the rule's own row is the collapse table's
count, a threshold change moves exactly the runs it should, and a bad grid is named."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from pipeline_helpers import REPO

sys.path.insert(0, str(REPO / "workflow/scripts"))
from collapse_sensitivity import sensitivity_table

BASE = {"learned_threshold": 100, "peak_window": 3, "window": 2, "return_threshold": 15,
        "majority_action_threshold": 0.9, "persistence": 4}  # fmt: skip


def runs() -> pd.DataFrame:
    up, down = [150.0] * 6, [9.0] * 8
    series = {
        0: (up + down, 1.0),  # learned at 150, collapsed for good
        1: ([120.0] * 6 + down, 1.0),  # peak 120: learned at threshold 100, not at 150
        2: (up + up, 0.5),  # survived
        3: ([9.0] * 14, 1.0),  # never learned, one-way from the start
        4: (up + [9.0] * 3 + up, 1.0),  # a 3-episode dip (2 one-way windows), recovered
    }
    rows = []
    for seed, (returns, majority) in series.items():
        for episode, r in enumerate(returns):
            rows.append({"arm": "ref", "seed": seed, "episode": episode, "return": r,
                         "majority_action_frac": majority})  # fmt: skip
    return pd.DataFrame(rows)


def test_rule_row_and_threshold_moves():
    grid = {"learned_threshold": [100, 150], "persistence": [2, 4]}
    t = sensitivity_table(runs(), BASE, grid)
    assert len(t) == 4 and t["is_rule"].sum() == 1
    rule = t[t["is_rule"]].iloc[0]
    assert (rule["n_collapsed"], rule["n_never_learned"], rule["n_survived"]) == (2, 1, 2)
    # a learned threshold of 150: seed 1 (peak 120) becomes never learned, not collapsed
    strict = t[(t["learned_threshold"] == 150) & (t["persistence"] == 4)].iloc[0]
    assert (strict["n_collapsed"], strict["n_never_learned"]) == (1, 2)
    assert strict["collapse_given_learned_rate"] == pytest.approx(1 / 3)
    # persistence 2: the recovered dip of seed 4 (2 one-way windows) now lasts long enough
    short = t[(t["learned_threshold"] == 100) & (t["persistence"] == 2)].iloc[0]
    assert short["n_collapsed"] == 3
    assert np.isclose(t["collapse_rate"] + t["never_learned_rate"] + t["n_survived"] / 5, 1).all()


def test_bad_grids_are_named():
    with pytest.raises(ValueError, match=r"learned_threshold = \[150\] lacks the rule's value 100"):
        sensitivity_table(runs(), BASE, {"learned_threshold": [150]})
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['gamma'\]"):
        sensitivity_table(runs(), BASE, {"gamma": [0.9]})
    with pytest.raises(ValueError, match="persistence needs a non-empty list"):
        sensitivity_table(runs(), BASE, {"persistence": []})
