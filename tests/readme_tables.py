"""The tables of README.md and docs/collapse-study.md, rendered from the committed CSVs.

`tests/test_readme_numbers.py` checks that every row rendered here appears in those files, so
no number a reader sees is typed by hand. After regenerating results, print the tables with
`python tests/readme_tables.py` and paste them in.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _p(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.2g}" if x >= 0.001 else "<0.001"


def _num(x: float, fmt: str = ".0f") -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


class Table:
    """A document's table: one row per line of a committed CSV, rendered by ``row``."""

    def __init__(self, csv: str, row: Callable[[tuple], str]) -> None:
        self.csv, self.row = csv, row

    def __call__(self) -> list[str]:
        return [self.row(r) for r in pd.read_csv(ROOT / self.csv).itertuples()]


def claim_row(r) -> str:
    return f"| {r.claim_id} | {r.claim} | {r.statistic} | {r.rule} | **{r.verdict}** |"


def fidelity_row(r) -> str:
    fmt = ".2f" if r.statistic == "rate" else ".0f"
    return (
        f"| {r.label} | {r.measure} | {r.n_engine} / {r.n_notebook} | "
        f"{_num(r.engine_value, fmt)} / {_num(r.notebook_value, fmt)} | "
        f"{_num(r.effect, fmt)} [{_num(r.ci_low, fmt)}, {_num(r.ci_high, fmt)}] | "
        f"±{_num(r.margin, fmt)} | {_p(r.p_holm)} | {r.verdict} |"
    )


def _rate(k: int, n: int, low: float, high: float) -> str:
    return "–" if n == 0 else f"{k}/{n} ({low:.2f}–{high:.2f})"


def ablation_row(r) -> str:
    """Learners compared with learners: P(learned), then P(collapse | learned)."""
    return (
        f"| {r.label} | {r.n_episodes} | {r.reference} | "
        f"{_rate(r.n_learned, r.n_seeds, r.learned_rate_ci_low, r.learned_rate_ci_high)} | "
        f"{_p(r.learned_fisher_p_holm)} | "
        f"{_rate(r.n_collapsed, r.n_learned, r.collapse_given_learned_ci_low, r.collapse_given_learned_ci_high)} | "
        f"{_p(r.collapse_given_learned_fisher_p_holm)} | {r.final_return_iqm:.0f} | "
        f"{_num(r.median_onset_episode, 'g')} | {r.reading} |"
    )


def survival_row(r) -> str:
    """Kaplan-Meier among learners; an arm where no run learned has no curve."""
    if r.n_learned == 0:
        at_end = "no run learned"
    else:
        at_end = f"{r.survival:.2f} [{r.survival_ci_low:.2f}, {r.survival_ci_high:.2f}]"
    return (
        f"| {r.label} | {r.reference} | {r.n_learned} of {r.n_seeds} | {r.n_collapsed} / {r.n_censored} | "
        f"{_num(r.median_episodes_to_collapse, 'g')} | {r.at_episode} | {at_end} | {_p(r.logrank_p_holm)} |"
    )


class Grouped(Table):
    """A table with one row per group of a committed CSV's rows, rendered by ``row``."""

    def __init__(self, csv: str, by: str, row: Callable) -> None:
        super().__init__(csv, row)
        self.by = by

    def __call__(self) -> list[str]:
        frame = pd.read_csv(ROOT / self.csv)
        return [self.row(key, group) for key, group in frame.groupby(self.by, sort=False)]


def sensitivity_row(arm: str, g: pd.DataFrame) -> str:
    """How much of the headline is the definition: the rule's rates, then their range over the
    grid of thresholds."""
    rule = g[g["is_rule"]].iloc[0]

    def span(col: str) -> str:
        return f"{g[col].min():.2f}–{g[col].max():.2f}"

    return (
        f"| {arm} | {len(g)} | {rule.n_collapsed}/{rule.n_seeds} = {rule.collapse_rate:.2f} | "
        f"{span('collapse_rate')} | {rule.never_learned_rate:.2f} | {span('never_learned_rate')} | "
        f"{rule.collapse_given_learned_rate:.2f} | {span('collapse_given_learned_rate')} |"
    )


TABLES = {
    "README.md": {
        "claims": Table("results/claims.csv", claim_row),
        "fidelity": Table("results/fidelity.csv", fidelity_row),
        "sensitivity": Grouped("results/aggregated/collapse_sensitivity.csv", "arm", sensitivity_row),
    },
    "docs/collapse-study.md": {
        "ablations": Table("results/aggregated/ablations.csv", ablation_row),
        "survival": Table("results/aggregated/collapse_survival.csv", survival_row),
    },
}

if __name__ == "__main__":
    for doc, tables in TABLES.items():
        for name, rows in tables.items():
            print(f"\n<!-- {doc}: {name} -->")
            print("\n".join(rows()))
