"""``--ipc-expectations``: listed failures run as xfail; the clause is ``expected-fail``.

A small spec module is run by pytest in a child process (as in
``tests/test_plugin.py``) with an expectations file, then gated.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.test_cli import cli

SPEC = textwrap.dedent('''
    import os
    from conformance.clauses import spec
    from conformance.outcome import Value

    def fails(scenario):
        a = scenario.spawn("a")
        scenario.expect(a.do("open", "nothing-here", os.O_RDONLY), Value(3), "no such file")

    def passes(scenario):
        a = scenario.spawn("a")
        scenario.expect(a.do("close", 99), a.do("close", 98))

    @spec("fd.xselftest.known", "Fails, and is listed.", source=("t", "q"))
    def test_known(scenario):
        fails(scenario)

    @spec("fd.xselftest.fixed", "Passes, but is listed.", source=("t", "q"))
    def test_fixed(scenario):
        passes(scenario)

    @spec("fd.xselftest.flaky", "Fails, listed as intermittent.", source=("t", "q"))
    def test_flaky(scenario):
        fails(scenario)

    @spec("fd.xselftest.elsewhere", "Fails; listed for another backend.", source=("t", "q"))
    def test_elsewhere(scenario):
        fails(scenario)

    @spec("fd.xselftest.fine", "Passes, not listed.", source=("t", "q"))
    def test_fine(scenario):
        passes(scenario)
''')

EXPECTATIONS = textwrap.dedent('''
    [[expect]]
    clause = "fd.xselftest.known"
    outcome = "failed"
    reason = "bug 17: open() of a missing file"
    link = "https://example.org/bugs/17"

    [[expect]]
    clause = "fd.xselftest.fixed"
    outcome = "failed"
    reason = "was bug 18"

    [[expect]]
    clause = "fd.xselftest.flaky"
    outcome = "failed"
    reason = "comes and goes"
    intermittent = true

    [[expect]]
    clause = "fd.xselftest.elsewhere"
    outcome = "failed"
    reason = "only on the model"
    backend = "model"
''')


def test_listed_failures_run_as_xfail_and_gate(tmp_path: Path):
    (tmp_path / "test_xselftest_spec.py").write_text(SPEC)
    expectations = tmp_path / "known.toml"
    expectations.write_text(EXPECTATIONS)
    report = tmp_path / "report"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "test_xselftest_spec.py", "--ipc-report-dir", str(report),
         "--ipc-expectations", str(expectations), f"--junitxml={report / 'junit.xml'}",
         "-p", "no:cacheprovider", "-q"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 1, proc.stdout[-2000:]  # fd.xselftest.elsewhere really failed
    results = json.loads((report / "results.json").read_text())
    by_id = {c["id"]: c for c in results["clauses"]}
    assert {cid: c["outcome"] for cid, c in by_id.items()} == {
        "fd.xselftest.known": "expected-fail",
        "fd.xselftest.fixed": "passed",       # xpass: the clause passed; the gate calls the entry stale
        "fd.xselftest.flaky": "expected-fail",
        "fd.xselftest.elsewhere": "failed",   # the entry is for the model backend
        "fd.xselftest.fine": "passed",
    }
    reason = by_id["fd.xselftest.known"]["reason"]
    assert reason.startswith("bug 17: open() of a missing file <https://example.org/bugs/17>")
    assert f"{expectations}: entry 1 (fd.xselftest.known)" in reason

    skipped = {case.get("name"): case.find("skipped") for case in ET.parse(report / "junit.xml").iter("testcase")}
    assert skipped["test_known"] is not None and skipped["test_known"].get("type") == "pytest.xfail"
    assert skipped["test_known"].get("message").startswith("bug 17: open() of a missing file")
    assert skipped["test_fine"] is None

    gated = cli("gate", str(report / "results.json"), "--expectations", str(expectations))
    assert gated.returncode == 1
    problems = gated.stdout.splitlines()[:-1]
    assert [line.split(":")[0] + ": " + line.split()[1] for line in problems] == [
        "regression: fd.xselftest.elsewhere",
        "stale: fd.xselftest.fixed",
    ]


def test_a_bad_expectations_file_stops_pytest(tmp_path: Path):
    (tmp_path / "test_xselftest_spec.py").write_text(SPEC)
    bad = tmp_path / "bad.toml"
    bad.write_text('[[expect]]\nclause = "fd.xselftest.known"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "test_xselftest_spec.py", "--ipc-expectations", str(bad),
         "-p", "no:cacheprovider", "-q"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 4  # pytest's usage error
    assert f"{bad}: entry 1 (fd.xselftest.known): outcome is required" in proc.stderr
