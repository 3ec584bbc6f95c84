"""The statistics behind summary.csv and the figures."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from pipeline_helpers import REPO

sys.path.insert(0, str(REPO / "workflow/scripts"))
from robust_stats import bootstrap_ci, full_window_mean, iqm, trailing_mean, wilson_interval


def test_iqm_trims_a_quarter_from_each_end():
    x = np.array([100.0, 1, 2, 3, 4, 5, 6, 7, -50, 8])  # n=10: drop 2 lowest, 2 highest
    assert iqm(x) == pytest.approx(np.mean([2, 3, 4, 5, 6, 7]))
    assert iqm(np.array([[1.0, 2, 3, 4], [4, 3, 2, 1]]), axis=1) == pytest.approx([2.5, 2.5])


def test_bootstrap_ci_is_reproducible_and_covers_the_statistic():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(30, 10))
    a = bootstrap_ci(m, "iqm", 500, 0.95, seed=7)
    b = bootstrap_ci(m, "iqm", 500, 0.95, seed=7)
    c = bootstrap_ci(m, "iqm", 500, 0.95, seed=8)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    assert (a[0] < iqm(m, axis=1)).all() and (iqm(m, axis=1) < a[1]).all()
    const = bootstrap_ci(np.full((3, 5), 2.0), "mean", 200, 0.95, seed=1)
    assert np.allclose(const, 2.0)


def test_wilson_interval_matches_known_values():
    lo, hi = wilson_interval(5, 20, 0.95)  # textbook: 0.112 .. 0.469
    assert lo == pytest.approx(0.1119, abs=1e-3) and hi == pytest.approx(0.4687, abs=1e-3)
    assert wilson_interval(0, 20)[0] == 0.0
    assert wilson_interval(20, 20)[1] == 1.0


def test_moving_means():
    x = np.arange(6, dtype=float)
    assert trailing_mean(x, 3) == pytest.approx([0, 0.5, 1, 2, 3, 4])
    full = full_window_mean(x, 3)
    assert np.isnan(full[:2]).all() and full[2:] == pytest.approx([1, 2, 3, 4])
    assert full_window_mean(x[:2], 3)[-1] == pytest.approx(0.5)
