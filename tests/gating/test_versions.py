"""Version ranges: how kernel releases and Python versions are compared."""

from __future__ import annotations

import pytest

from conformance.gating.versions import VersionRange, VersionRangeError, version_tuple


@pytest.mark.parametrize(("text", "expected"), [
    ("6.1.0-18-amd64", (6, 1, 0)),
    ("6.18.44-fc-v669", (6, 18, 44)),
    ("5.15.0-1034-azure", (5, 15, 0)),
    ("3.11.7", (3, 11, 7)),
    ("3.13.0rc1", (3, 13, 0)),
    ("6.8", (6, 8)),
    ("rolling", ()),
])
def test_version_tuple_reads_the_leading_numbers(text, expected):
    assert version_tuple(text) == expected


@pytest.mark.parametrize(("spec", "version", "inside"), [
    (">=6.1,<6.12", "6.1.0-18-amd64", True),
    (">=6.1,<6.12", "6.6.13", True),
    (">=6.1,<6.12", "6.12.0", False),
    (">=6.1,<6.12", "6.0.9", False),
    (">=6.1, <6.12", "6.11.99", True),
    ("==6.1", "6.1.0", True),
    ("==6.1", "6.1.76", False),
    ("!=3.12", "3.12.0", False),
    (">3.11", "3.11.7", True),
    ("<=3.11", "3.11.0", True),
    (">=6.1", "rolling", False),
])
def test_range_contains(spec, version, inside):
    assert VersionRange.parse(spec).contains(version) is inside


@pytest.mark.parametrize("spec", ["6.1", ">=6.1,", "~=6.1", ">= six", "", ">=6.1;<7"])
def test_bad_ranges_say_what_is_wrong(spec):
    with pytest.raises(VersionRangeError, match="is not a version range"):
        VersionRange.parse(spec)
