"""CITATION.cff is valid Citation File Format 1.2.0 and agrees with pyproject.toml.

The schema is vendored (tests/cff_schema_1.2.0.json): it is the file
cffconvert/schemas/1.2.0/schema.json of the cffconvert 2.0.0 wheel on PyPI, itself the
schema.json of citation-file-format/citation-file-format release 1.2.0. cffconvert cannot
be installed next to the lock (it requires jsonschema<4), so the check uses jsonschema.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SCHEMA = Path(__file__).with_name("cff_schema_1.2.0.json")
# sha256 of the schema as shipped in cffconvert-2.0.0-py3-none-any.whl: an edit to the
# vendored copy would make the check test something other than the standard.
SCHEMA_SHA256 = "0b8d22140da702d766df318dcff3a91af2f39521298dcf36d76315fd99cc169b"


def cff_errors(data: dict) -> list[str]:
    """Every schema violation of a parsed CITATION.cff, one line each."""
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
            for e in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path)))]  # fmt: skip


def load_cff() -> dict:
    # CFF is YAML 1.2; BaseLoader keeps every scalar a string as the schema expects
    # (a bare 0.1.0 or 2026-01-01 would otherwise become another type).
    return yaml.load((REPO / "CITATION.cff").read_text(), Loader=yaml.BaseLoader)


def test_vendored_schema_is_the_published_one():
    digest = hashlib.sha256(SCHEMA.read_bytes()).hexdigest()
    assert digest == SCHEMA_SHA256, f"tests/cff_schema_1.2.0.json changed: sha256 {digest}"


def test_citation_cff_is_valid():
    errors = cff_errors(load_cff())
    assert not errors, f"CITATION.cff: {errors[0]} (and {len(errors) - 1} more)"


def test_citation_agrees_with_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    cff = load_cff()
    assert cff["version"] == project["version"], f"CITATION.cff version {cff['version']} != pyproject {project['version']}"
    assert cff["license"] == project["license"], f"CITATION.cff license {cff['license']} != pyproject {project['license']}"


@pytest.mark.parametrize("broken", [
    {"drop": "authors"},
    {"set": ("cff-version", "1.3.0")},
    {"set": ("license", "MIT License")},
    {"set": ("date-released", "5 December 2026")},
])  # fmt: skip
def test_check_rejects_an_invalid_citation(broken):
    """The check can fail: a missing required key, a wrong version, a licence that is not
    an SPDX identifier, a date not in ISO form."""
    data = load_cff()
    if "drop" in broken:
        del data[broken["drop"]]
    else:
        key, value = broken["set"]
        data[key] = value
    assert cff_errors(data), f"accepted: {broken}"
