"""Statistics over seeds: interquartile mean, percentile bootstrap, Wilson interval,
Holm adjustment (the standard ones from statsmodels).

Used by the aggregation scripts and imported by the tests. No hyperparameter lives
here: windows, resample counts and RNG seeds come from the config.
"""

from __future__ import annotations

import math

import numpy as np
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint


def iqm(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """Interquartile mean: mean of the values left after trimming
    floor(25% of n) from each end (as scipy.stats.trim_mean(x, 0.25) and rliable)."""
    values = np.sort(np.asarray(values, dtype=float), axis=axis)
    n = values.shape[axis]
    cut = int(0.25 * n)
    kept = np.take(values, np.arange(cut, n - cut), axis=axis)
    return kept.mean(axis=axis)


STATISTICS = {
    "mean": lambda x: np.mean(x, axis=-1),
    "iqm": iqm,
    "median": lambda x: np.median(x, axis=-1),
}


def bootstrap_ci(
    matrix: np.ndarray,
    statistic: str,
    n_resamples: int,
    confidence: float,
    seed: int,
    chunk: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap CI over the last axis (seeds), for every row of `matrix`.

    The same resampled seed sets are used for every row (so a band is smooth across
    episodes) and they are drawn from a generator seeded with `seed`: the CI is
    bit-for-bit reproducible.
    """
    matrix = np.atleast_2d(np.asarray(matrix, dtype=float))
    n_rows, n = matrix.shape
    index = np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))
    stat = STATISTICS[statistic]
    alpha = (1.0 - confidence) / 2.0
    low = np.empty(n_rows)
    high = np.empty(n_rows)
    for start in range(0, n_rows, chunk):
        block = matrix[start : start + chunk]  # rows x n
        resampled = stat(block[:, index])  # rows x n_resamples
        low[start : start + chunk] = np.quantile(resampled, alpha, axis=1)
        high[start : start + chunk] = np.quantile(resampled, 1.0 - alpha, axis=1)
    return low, high


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (statsmodels)."""
    if n == 0:
        return (math.nan, math.nan)
    low, high = proportion_confint(successes, n, alpha=1.0 - confidence, method="wilson")
    return (float(low), float(high))


def holm(p_values) -> np.ndarray:
    """Holm-adjusted p-values (statsmodels); NaN entries (no test) stay NaN and do not count."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    tested = ~np.isnan(p)
    if tested.any():
        out[tested] = multipletests(p[tested], method="holm")[1]
    return out


def iqm_middle_count(n: int) -> int:
    """How many of n values the IQM averages (n - 2 floor(n/4)): 6 of 10, 20 of 40."""
    return n - 2 * int(0.25 * n)


def trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last `window` values at each position (fewer at the start)."""
    values = np.asarray(values, dtype=float)
    csum = np.concatenate([[0.0], np.cumsum(values)])
    idx = np.arange(1, len(values) + 1)
    start = np.maximum(0, idx - window)
    return (csum[idx] - csum[start]) / (idx - start)


def full_window_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of each complete window of `window` values, indexed by the window's last
    position (NaN before the first complete window). If the run is shorter than the
    window, the window is the whole run so far (documented in config/README.md)."""
    values = np.asarray(values, dtype=float)
    window = min(window, len(values))
    out = trailing_mean(values, window)
    out[: window - 1] = np.nan
    return out
