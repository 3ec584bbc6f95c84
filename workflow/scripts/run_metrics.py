"""Per-run summary numbers shared by every script: final return, peak and its episode.

One definition, so results/aggregated/final.csv, collapse.csv and the claims agree. Whether
a run learned, collapsed or survived is collapse_event.py's (one definition as well).
"""

from __future__ import annotations

import math

import numpy as np
from robust_stats import full_window_mean


def run_metrics(
    returns: np.ndarray,
    episodes: np.ndarray,
    env_steps: np.ndarray,
    final_fraction: float,
    peak_window: int,
    final_episodes: int | None = None,
) -> dict:
    """Final return (mean of the last `final_fraction` of episodes, or of the last
    `final_episodes` when given), peak (the best complete `peak_window`-episode moving mean
    of the training return, or the whole run's mean when it is shorter) and the episode that
    ends the peak window."""
    returns = np.asarray(returns, dtype=float)
    n = len(returns)
    if n == 0:
        raise ValueError("run_metrics: a run with 0 episodes has no final return or peak")
    n_final = max(1, math.ceil(final_fraction * n)) if final_episodes is None else min(
        final_episodes, n
    )
    peak_curve = full_window_mean(returns, peak_window)
    peak_at = int(np.nanargmax(peak_curve))
    return {
        "n_episodes": n,
        "final_return": float(returns[-n_final:].mean()),
        "final_n_episodes": n_final,
        "peak_mean_return": float(peak_curve[peak_at]),
        "peak_episode": int(np.asarray(episodes)[peak_at]),
        "peak_window": min(peak_window, n),
        "total_env_steps": int(np.asarray(env_steps)[-1]),
    }


def frame_metrics(run, final_fraction: float, peak_window: int, final_episodes=None) -> dict:
    """run_metrics of one run's per-episode DataFrame (sorted by episode)."""
    return run_metrics(
        run["return"].to_numpy(dtype=float),
        run["episode"].to_numpy(),
        run["env_steps"].to_numpy(),
        final_fraction,
        peak_window,
        final_episodes,
    )


def final_window_means(run, window: int) -> tuple[float, float]:
    """Mean return and mean majority-action fraction of a run's last `window` episodes."""
    n = len(run)
    last = slice(n - min(window, n), n)
    returns = run["return"].to_numpy(dtype=float)[last]
    return float(returns.mean()), float(run["majority_action_frac"].to_numpy(dtype=float)[last].mean())
