"""Collapse as an event: the one definition every collapse table, figure and claim uses.

A run's outcome is one of

- ``never_learned``: its best complete ``peak_window``-episode moving mean of the training
  return never reached ``learned_threshold``. It cannot collapse from a policy it never had,
  and it is never counted as a success either: it is left out of every "given learned"
  statistic and out of the survival curves.
- ``collapsed``: it learned, and after the episode at which it first learned (the end of the
  first ``peak_window``-episode window whose mean reached ``learned_threshold``) it entered
  the *one-way state* and stayed there for at least ``persistence`` episodes, or until its
  last episode. The one-way state at episode t: over the ``window`` episodes ending at t
  (all after the learning episode), the mean training return is at most
  ``return_threshold`` AND the mean majority-action fraction (share of an episode's actions
  that are its most frequent action) is at least ``majority_action_threshold``. The onset
  is the first episode of that lasting one-way stretch.
- ``survived``: it learned and did not collapse; as survival data it is censored at its
  last episode.

One-way stretches after learning that end (the policy recovers) before lasting
``persistence`` episodes and before the end of the run are *dips*: counted per run
(``n_dips``), never as collapses. A late collapse (a one-way stretch that reaches the last
episode) is a collapse whatever its length; because the state is judged on a trailing
``window``, a stretch reaching the end already holds ``window`` low-return episodes.

The return alone cannot tell a collapsed policy from one that has not learned; the
majority-action fraction is the direct evidence of the one-way failure (a good CartPole
policy is confident too, but alternates, so its majority-action fraction stays near 1/2).
"""

from __future__ import annotations

import math

import numpy as np
from robust_stats import full_window_mean, trailing_mean

RULE_KEYS = (
    "learned_threshold",
    "peak_window",
    "window",
    "return_threshold",
    "majority_action_threshold",
    "persistence",
)
OUTCOMES = ("collapsed", "survived", "never_learned")


def check_rule(rule: dict) -> dict:
    """The rule's keys, checked; a one-line error names a missing or bad value."""
    missing = [k for k in RULE_KEYS if k not in rule]
    if missing:
        raise ValueError(f"collapse rule: missing key(s) {', '.join(missing)} (got {sorted(rule)})")
    for key in ("peak_window", "window", "persistence"):
        value = rule[key]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"collapse rule: {key} must be an integer >= 1, got {value!r}")
    if not 0.0 < float(rule["majority_action_threshold"]) <= 1.0:
        raise ValueError(
            "collapse rule: majority_action_threshold must be in (0, 1], got "
            f"{rule['majority_action_threshold']!r}"
        )
    if not float(rule["return_threshold"]) < float(rule["learned_threshold"]):
        raise ValueError(
            f"collapse rule: return_threshold ({rule['return_threshold']!r}) must be below "
            f"learned_threshold ({rule['learned_threshold']!r})"
        )
    return rule


def _stretches(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the runs of True in a boolean array (stop exclusive)."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))


def collapse_event(returns, majority, episodes, rule: dict) -> dict:
    """The outcome of one run under `rule` (see the module docstring).

    Returns outcome, learned_episode, onset_episode (NaN unless collapsed), duration (onset,
    or the last episode for a censored run; NaN for never_learned), event (1 = collapsed),
    n_dips and peak_mean_return/peak_episode as used for `learned`."""
    returns = np.asarray(returns, dtype=float)
    majority = np.asarray(majority, dtype=float)
    episodes = np.asarray(episodes)
    n = len(returns)
    if n == 0 or len(majority) != n or len(episodes) != n:
        raise ValueError(
            f"collapse_event: returns, majority and episodes need the same non-zero length, got "
            f"{n}, {len(majority)}, {len(episodes)}"
        )
    peak_curve = full_window_mean(returns, rule["peak_window"])
    peak_at = int(np.nanargmax(peak_curve))
    out = {
        "peak_mean_return": float(peak_curve[peak_at]),
        "peak_episode": int(episodes[peak_at]),
        "learned_episode": math.nan,
        "onset_episode": math.nan,
        "duration": math.nan,
        "event": 0,
        "n_dips": 0,
        "outcome": "never_learned",
    }
    reached = np.flatnonzero(peak_curve >= rule["learned_threshold"])
    if reached.size == 0:
        return out
    learned_at = int(reached[0])
    out["learned_episode"] = int(episodes[learned_at])
    w = min(rule["window"], n)
    one_way = (trailing_mean(returns, w) <= rule["return_threshold"]) & (
        trailing_mean(majority, w) >= rule["majority_action_threshold"]
    )
    # judged only on windows that lie wholly after the learning episode
    one_way[: learned_at + w] = False
    for start, stop in _stretches(one_way):
        if stop - start >= rule["persistence"] or stop == n:
            out.update(outcome="collapsed", event=1, onset_episode=int(episodes[start]),
                       duration=float(episodes[start]))  # fmt: skip
            return out
        out["n_dips"] += 1
    out.update(outcome="survived", duration=float(episodes[-1]))
    return out


def frame_event(run, rule: dict) -> dict:
    """collapse_event of one run's per-episode DataFrame (sorted by episode)."""
    return collapse_event(
        run["return"].to_numpy(dtype=float),
        run["majority_action_frac"].to_numpy(dtype=float),
        run["episode"].to_numpy(),
        rule,
    )
