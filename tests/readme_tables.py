"""The tables of README.md and docs/collapse-study.md, rendered from the committed CSVs.

`tests/test_readme_numbers.py` checks that every row rendered here appears in those files, so
no number a reader sees is typed by hand. After regenerating results, print the tables with
`python tests/readme_tables.py` and paste them in.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _p(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.2g}" if x >= 0.001 else "<0.001"


def _num(x: float, fmt: str = ".0f") -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


def claim_rows() -> list[str]:
    claims = pd.read_csv(ROOT / "results/claims.csv")
    return [f"| {r.claim_id} | {r.claim} | {r.statistic} | **{r.verdict}** |"
            for r in claims.itertuples()]  # fmt: skip


def fidelity_rows() -> list[str]:
    fid = pd.read_csv(ROOT / "results/fidelity.csv")
    rows = []
    for r in fid.itertuples():
        fmt = ".2f" if r.statistic == "rate" else ".0f"
        rows.append(
            f"| {r.label} | {r.measure} | {r.n_engine} / {r.n_notebook} | "
            f"{_num(r.engine_value, fmt)} / {_num(r.notebook_value, fmt)} | "
            f"{_num(r.effect, fmt)} [{_num(r.ci_low, fmt)}, {_num(r.ci_high, fmt)}] | "
            f"±{_num(r.margin, fmt)} | {_p(r.p_holm)} | {r.verdict} |"
        )
    return rows


def ablation_rows() -> list[str]:
    abl = pd.read_csv(ROOT / "results/aggregated/ablations.csv")
    rows = []
    for r in abl.itertuples():
        rows.append(
            f"| {r.label} | {r.n_collapsed}/{r.n_seeds} "
            f"({r.collapse_rate_ci_low:.2f}–{r.collapse_rate_ci_high:.2f}) | "
            f"{r.n_never_learned} | {r.final_return_iqm:.0f} [{r.final_return_iqm_ci_low:.0f}, "
            f"{r.final_return_iqm_ci_high:.0f}] | {_p(r.collapse_fisher_p_holm)} | "
            f"{_p(r.final_return_mannwhitney_p_holm)} | {_num(r.median_onset_episode, 'g')} |"
        )
    return rows


def survival_rows() -> list[str]:
    surv = pd.read_csv(ROOT / "results/aggregated/collapse_survival.csv")
    return [
        f"| {r.label} | {r.n_collapsed} / {r.n_censored} | "
        f"{_num(r.median_episodes_to_collapse, 'g')} | {r.survival:.2f} "
        f"[{r.survival_ci_low:.2f}, {r.survival_ci_high:.2f}] | {_p(r.logrank_p_holm)} |"
        for r in surv.itertuples()
    ]


TABLES = {
    "README.md": {"claims": claim_rows, "fidelity": fidelity_rows},
    "docs/collapse-study.md": {"ablations": ablation_rows, "survival": survival_rows},
}

if __name__ == "__main__":
    for doc, tables in TABLES.items():
        for name, rows in tables.items():
            print(f"\n<!-- {doc}: {name} -->")
            print("\n".join(rows()))
