"""Every number of the README's and the collapse study's tables quotes the committed CSVs:
each row `readme_tables.py` renders from results/ appears in its document exactly."""

from __future__ import annotations

import pytest
from readme_tables import ROOT, TABLES


def _cases():
    for doc, tables in TABLES.items():
        for name, rows in tables.items():
            yield pytest.param(doc, rows, id=f"{doc}:{name}")


@pytest.mark.parametrize("doc,rows", list(_cases()))
def test_document_quotes_the_committed_csvs(doc, rows):
    text = (ROOT / doc).read_text()
    rendered = rows()
    assert rendered, f"{doc}: nothing to check"
    missing = [row for row in rendered if row not in text]
    assert not missing, f"{doc} lacks (or misquotes) {len(missing)} row(s), e.g. {missing[0]}"


def test_readme_is_a_landing_page():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 150, len(lines)
