"""A third-party backend, end to end: install it, find it, run it, gate it.

``fixtures/example_backend/`` is a small library as its author would ship it:
its own ``pyproject.toml`` (distribution ``ipc-conformance-example-backend``),
an adapter class registered under the entry-point group
``ipc_conformance.backends`` as ``example``, and an expectations file for the
clauses on which it knowingly deviates (it builds on Python's ``os`` module).

The test installs a copy into a fresh virtual environment that sees this
suite's packages (created ``--without-pip``: the suite's own pip, run by the
environment's interpreter, installs into it), then drives the command line
there exactly as a library's CI job would.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import site
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "example_backend"
EXPECTATIONS = FIXTURE / "expectations.toml"
#: the clauses -k dup selects on which os-module semantics differ from the system calls
DEVIATIONS = {"fd.dup.cloexec-not-shared", "fd.dup3.flags", "fd.dup3.same-fd-einval", "fd.fcntl.dupfd-cloexec"}


def _can_build_wheels() -> bool:
    if importlib.util.find_spec("wheel") is not None:
        return True
    import setuptools

    return tuple(int(p) for p in setuptools.__version__.split(".")[:2]) >= (70, 1)


pytestmark = pytest.mark.skipif(
    not _can_build_wheels(),
    reason="building the example library without build isolation needs 'wheel' (or setuptools>=70.1): "
           "pip install -e '.[test]'")


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A virtual environment with the example library installed; its python."""
    base = tmp_path_factory.mktemp("example-backend")
    source = shutil.copytree(FIXTURE, base / "src")  # pip builds in the tree: keep the checkout clean
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(base / "venv")], check=True, timeout=60)
    python = base / "venv" / "bin" / "python"
    # --system-site-packages shows the base interpreter's packages, but the
    # suite may itself run in a virtual environment: a .pth file adds ours
    # (with their own .pth files, such as an editable install's).
    site_packages = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                   capture_output=True, text=True, check=True).stdout.strip()
    ours = [p for p in site.getsitepackages() if Path(p).is_dir()]
    Path(site_packages, "ipc_conformance_suite.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in ours))
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                           "--disable-pip-version-check", str(source)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return python


def suite(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``ipc-conformance ARGS`` with the environment's interpreter."""
    return subprocess.run([str(python), "-m", "conformance.cli", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def test_entry_point_discovery(venv, tmp_path):
    listing = suite(venv, "backends", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    example = next(line for line in listing.stdout.splitlines() if line.startswith("example "))
    assert "fd, pipe, fifo" in example
    assert "registered by ipc-conformance-example-backend" in example
    assert "example_ipc.conformance_backend:ExampleProcessOps" in example
    outside = subprocess.run([sys.executable, "-m", "conformance.cli", "backends"], capture_output=True,
                             text=True, timeout=60)
    assert "example " not in outside.stdout  # installed in the environment only


def test_run_then_gate_with_and_without_the_expectations(venv, tmp_path):
    report = tmp_path / "report"
    run = suite(venv, "run", "--backend", "example", "--profile", "quick", "--report-dir", str(report),
                "-k", "dup", "-q", cwd=tmp_path)
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]  # the deviations fail
    results = json.loads((report / "results.json").read_text())
    assert results["provenance"]["backend"] == "example"
    failed = {c["id"] for c in results["clauses"] if c["outcome"] == "failed"}
    assert failed == DEVIATIONS
    assert all(c["outcome"] == "passed" for c in results["clauses"] if c["id"] not in DEVIATIONS)

    gated = suite(venv, "gate", str(report / "results.json"), "--expectations", str(EXPECTATIONS), cwd=tmp_path)
    assert gated.returncode == 0, gated.stdout + gated.stderr
    assert "4 known failures (failed)" in gated.stdout

    ungated = suite(venv, "gate", str(report / "results.json"), cwd=tmp_path)
    assert ungated.returncode == 1
    regressions = [line.split()[1] for line in ungated.stdout.splitlines() if line.startswith("regression:")]
    assert set(regressions) == DEVIATIONS


def test_run_with_the_expectations_marks_the_deviations_xfail(venv, tmp_path):
    report = tmp_path / "report"
    run = suite(venv, "run", "--backend", "example", "--profile", "quick", "--report-dir", str(report),
                "--expectations", str(EXPECTATIONS), "-k", "dup", "-q", cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads((report / "results.json").read_text())
    expected = {c["id"]: c["reason"] for c in results["clauses"] if c["outcome"] == "expected-fail"}
    assert set(expected) == DEVIATIONS
    assert expected["fd.dup.cloexec-not-shared"].startswith("os.dup() makes the copy non-inheritable")
    messages = [s.get("message") for s in ET.parse(report / "junit.xml").iter("skipped")
                if s.get("type") == "pytest.xfail"]
    assert any(m.startswith("os has no dup3") for m in messages)
    gated = suite(venv, "gate", str(report / "results.json"), "--expectations", str(EXPECTATIONS), cwd=tmp_path)
    assert gated.returncode == 0, gated.stdout
