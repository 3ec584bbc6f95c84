"""The README's collapse-study tables quote the committed pipeline outputs, not typed numbers:
every arm of results/aggregated/ablations.csv and every claim of results/claims.csv appears
in README.md exactly as these formatters render it."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def ablation_row(r: pd.Series) -> str:
    onset = "–" if math.isnan(r.median_onset_episode) else f"{r.median_onset_episode:g}"
    return (
        f"| {r.label} | {r.n_collapsed}/{r.n_seeds} "
        f"({r.collapse_rate_ci_low:.2f}–{r.collapse_rate_ci_high:.2f}) | "
        f"{r.final_return_iqm:.0f} [{r.final_return_iqm_ci_low:.0f}, "
        f"{r.final_return_iqm_ci_high:.0f}] | {r.peak_mean_return_iqm:.0f} | {onset} |"
    )


def claim_row(r: pd.Series) -> str:
    return f"| {r.claim_id} | {r.claim} | {r.statistic} | {r.verdict} |"


ABLATIONS = pd.read_csv(ROOT / "results/aggregated/ablations.csv")
CLAIMS = pd.read_csv(ROOT / "results/claims.csv")


@pytest.mark.parametrize("arm", ABLATIONS["arm"].tolist())
def test_readme_ablation_table_quotes_ablations_csv(arm):
    row = ABLATIONS.set_index("arm").loc[arm]
    assert ablation_row(row) in README, f"README's row for arm {arm!r} differs from ablations.csv"


@pytest.mark.parametrize("claim_id", CLAIMS["claim_id"].tolist())
def test_readme_claims_table_quotes_claims_csv(claim_id):
    row = CLAIMS.set_index("claim_id").loc[claim_id]
    row["claim_id"] = claim_id
    assert claim_row(row) in README, f"README's row for claim {claim_id} differs from claims.csv"
