"""The expectations files shipped with the project are valid and name clauses that exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.gating.expectations import load_expectations
from conformance.gating.known import check_backend_names, check_clause_names

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted((ROOT / "expectations").glob("*.toml")) + [ROOT / "fixtures" / "example_backend" / "expectations.toml"]


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_expectations_file_is_valid(path):
    expectations = load_expectations([path])
    check_clause_names(expectations)  # against the registry of every spec module
    check_backend_names(expectations, also=["example"])
    assert all(entry.reason for entry in expectations.entries)
