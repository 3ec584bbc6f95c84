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
    return f"| {r.claim_id} | {r.claim} | {r.statistic} | **{r.verdict}** |"


def fidelity_row(r) -> str:
    fmt = ".2f" if r.statistic == "rate" else ".0f"
    return (
        f"| {r.label} | {r.measure} | {r.n_engine} / {r.n_notebook} | "
        f"{_num(r.engine_value, fmt)} / {_num(r.notebook_value, fmt)} | "
        f"{_num(r.effect, fmt)} [{_num(r.ci_low, fmt)}, {_num(r.ci_high, fmt)}] | "
        f"±{_num(r.margin, fmt)} | {_p(r.p_holm)} | {r.verdict} |"
    )


def ablation_row(r) -> str:
    return (
        f"| {r.label} | {r.n_collapsed}/{r.n_seeds} "
        f"({r.collapse_rate_ci_low:.2f}–{r.collapse_rate_ci_high:.2f}) | "
        f"{r.n_never_learned} | {r.final_return_iqm:.0f} [{r.final_return_iqm_ci_low:.0f}, "
        f"{r.final_return_iqm_ci_high:.0f}] | {_p(r.collapse_fisher_p_holm)} | "
        f"{_p(r.final_return_mannwhitney_p_holm)} | {_num(r.median_onset_episode, 'g')} |"
    )


def survival_row(r) -> str:
    return (
        f"| {r.label} | {r.n_collapsed} / {r.n_censored} | "
        f"{_num(r.median_episodes_to_collapse, 'g')} | {r.survival:.2f} "
        f"[{r.survival_ci_low:.2f}, {r.survival_ci_high:.2f}] | {_p(r.logrank_p_holm)} |"
    )


TABLES = {
    "README.md": {
        "claims": Table("results/claims.csv", claim_row),
        "fidelity": Table("results/fidelity.csv", fidelity_row),
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
