"""Choosing the Debian package and the cache entry for "6.1" or "6.12"."""

from __future__ import annotations

import pytest

from conformance.kernels import KernelError, cache, debian

from .fakes import entry

KNOWN = [
    "linux-image-6.1.0-9-amd64", "linux-image-6.1.0-56-amd64", "linux-image-6.1.0-55-amd64",
    "linux-image-6.1.0-56-amd64-unsigned", "linux-image-6.1.0-56-cloud-amd64", "linux-image-6.1.0-56-rt-amd64",
    "linux-image-6.1.0-56-amd64-dbg", "linux-image-amd64",
    "linux-image-6.12-amd64", "linux-image-6.12.117+deb12-amd64", "linux-image-6.12.9+deb12-amd64",
    "linux-image-6.12.117+deb12-cloud-amd64",
]


@pytest.mark.parametrize("series, expected", [
    ("6.1", "linux-image-6.1.0-56-amd64"),
    ("6.12", "linux-image-6.12.117+deb12-amd64"),
])
def test_the_newest_generic_package_wins(series, expected):
    assert debian.choose_package(series, KNOWN, lambda name: "1.0") == (expected, "1.0")


def test_a_package_apt_cannot_install_is_skipped():
    candidates = {"linux-image-6.1.0-56-amd64": None, "linux-image-6.1.0-55-amd64": "6.1.191-1"}
    chosen = debian.choose_package("6.1", KNOWN, lambda name: candidates.get(name))
    assert chosen == ("linux-image-6.1.0-55-amd64", "6.1.191-1")


def test_numbers_compare_as_numbers():
    assert debian.choose_package("6.1", ["linux-image-6.1.0-9-amd64", "linux-image-6.1.0-10-amd64"],
                                 lambda name: "v")[0] == "linux-image-6.1.0-10-amd64"


def test_6_1_does_not_match_6_12():
    assert debian.choose_package("6.1", ["linux-image-6.12.117+deb12-amd64"], lambda name: "v") is None


@pytest.mark.parametrize("spec, words", [
    ("linux-image-6.1.0-56-cloud-amd64", "no 9p"),
    ("latest", "neither a kernel series"),
])
def test_specs_refused_before_asking_apt(spec, words):
    with pytest.raises(KernelError, match=words):
        debian.resolve(spec, print)


def test_the_cache_finds_by_series_newest_first(tmp_path):
    entry(tmp_path / "6.1.0-9-amd64", "6.1.0-9-amd64", "6.1.27-1")
    entry(tmp_path / "6.1.0-56-amd64", "6.1.0-56-amd64", "6.1.192-2")
    entry(tmp_path / "6.12.1+deb12-amd64", "6.12.1+deb12-amd64", "6.12.1-1~deb12u1")
    assert cache.find("6.1", tmp_path).release == "6.1.0-56-amd64"
    assert cache.find("6.12", tmp_path).release == "6.12.1+deb12-amd64"
    assert cache.find("6.1.0-9-amd64", tmp_path).release == "6.1.0-9-amd64"


def test_a_kernel_not_in_the_cache_says_how_to_fetch_it(tmp_path):
    with pytest.raises(KernelError, match="kernels fetch 6.6"):
        cache.find("6.6", tmp_path)


@pytest.mark.parametrize("release, series", [("6.1.0-56-amd64", "6.1"), ("6.12.117+deb12-amd64", "6.12")])
def test_series(release, series):
    assert cache.series_of(release) == series
