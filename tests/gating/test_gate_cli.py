"""``ipc-conformance gate`` and ``run --expectations`` on the command line: exit 0, 1 or 2.

Bad input is one line on stderr, naming the file and the problem, with exit
status 2 — a CI log shows at once what to fix.
"""

from __future__ import annotations

import json

import pytest

from tests.report.samples import clause, results_for, sample_results, write_json
from tests.test_cli import assert_one_line_error, cli

KNOWN = ('[[expect]]\nclause = "fd.fork.shared-offset"\noutcome = "failed"\nreason = "known bug #1"\n'
         '[[expect]]\nclause = "pipe.read.*"\noutcome = "broken"\nreason = "flaky harness"\n'
         '[[expect]]\nclause = "fifo.mkfifo.exists"\noutcome = "expected-fail"\nreason = "sandbox"\n')


@pytest.fixture
def results(tmp_path):
    return write_json(tmp_path / "results.json", sample_results())


@pytest.fixture
def known(tmp_path):
    path = tmp_path / "known.toml"
    path.write_text(KNOWN)
    return path


def test_gate_passes_when_every_outcome_is_expected(results, known):
    proc = cli("gate", str(results), "--expectations", str(known))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith(f"gate: passed: 8 clauses of {results}")
    assert proc.stderr == ""


def test_gate_fails_listing_regressions_and_stale_entries(tmp_path, results):
    data = sample_results()
    data["clauses"][2]["outcome"] = "passed"   # fd.fork.shared-offset: fixed
    data["clauses"][2]["counterexample"] = None
    data["clauses"][0]["outcome"] = "failed"   # fd.dup.same-description: new failure
    changed = write_json(tmp_path / "changed.json", results_for(data["clauses"]))
    known = tmp_path / "known.toml"
    known.write_text(KNOWN)
    proc = cli("gate", str(changed), "--expectations", str(known))
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("regression: fd.dup.same-description failed")
    assert lines[1].startswith(f"stale: fd.fork.shared-offset passed, but {known}: entry 1")
    assert lines[-1].startswith("gate: failed: 1 regression and 1 stale expectation")


def test_gate_without_expectations_fails_on_any_failure(results):
    proc = cli("gate", str(results))
    assert proc.returncode == 1
    assert "regression: fd.fork.shared-offset failed" in proc.stdout


def test_gate_refuses_a_run_that_recorded_no_clauses(tmp_path):
    empty = write_json(tmp_path / "empty.json", results_for([]))
    proc = cli("gate", str(empty))
    assert_one_line_error(proc, "recorded no clauses")


def test_later_files_refine_earlier_ones(tmp_path, results, known):
    override = tmp_path / "local.toml"
    override.write_text('[[expect]]\nclause = "pipe.read.*"\noutcome = "failed"\nreason = "here it fails"\n')
    proc = cli("gate", str(results), "--expectations", str(known), "--expectations", str(override))
    assert proc.returncode == 1
    assert f"pipe.read.blocks-when-empty broken, expected failed by {override}: entry 1" in proc.stdout


# -- bad input: one line, exit 2 ------------------------------------------------------------
def test_corrupt_results(tmp_path, known):
    bad = tmp_path / "results.json"
    bad.write_text('{"schema_version": 1, "run_id": }')
    assert_one_line_error(cli("gate", str(bad), "--expectations", str(known)), str(bad), "not valid JSON")


def test_truncated_results(tmp_path, known):
    whole = json.dumps(sample_results(), indent=2)
    bad = tmp_path / "results.json"
    bad.write_text(whole[: len(whole) // 2])
    assert_one_line_error(cli("gate", str(bad), "--expectations", str(known)), str(bad), "truncated")


def test_results_of_another_schema_version(tmp_path, known):
    data = sample_results()
    data["schema_version"] = 2
    bad = write_json(tmp_path / "results.json", data)
    assert_one_line_error(cli("gate", str(bad), "--expectations", str(known)), str(bad),
                          "schema version 2", "reads 1")


def test_missing_results(tmp_path):
    assert_one_line_error(cli("gate", str(tmp_path / "nope.json")), "nope.json", "no such file")


def test_malformed_toml(tmp_path, results):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[expect]]\nclause = "fd.fork.shared-offset"\noutcome = failed\n')
    assert_one_line_error(cli("gate", str(results), "--expectations", str(bad)), str(bad),
                          "not valid TOML", "line 3")


def test_invalid_entry(tmp_path, results):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[expect]]\nclause = "fd.fork.shared-offset"\noutcome = "failed"\n')
    assert_one_line_error(cli("gate", str(results), "--expectations", str(bad)),
                          f"{bad}: entry 1 (fd.fork.shared-offset): reason is required")


def test_expectation_naming_no_known_clause(tmp_path, results):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[expect]]\nclause = "fd.fork.shared-ofset"\noutcome = "failed"\nreason = "typo"\n')
    assert_one_line_error(cli("gate", str(results), "--expectations", str(bad)),
                          f"{bad}: entry 1 (fd.fork.shared-ofset): names no known clause")


def test_a_registered_clause_the_results_lack_is_known(tmp_path):
    """A project-wide file names clauses a ``-k`` subset did not run: that is not an error."""
    only = write_json(tmp_path / "results.json", results_for([clause("fd.dup.lowest-free")]))
    wide = tmp_path / "wide.toml"
    wide.write_text('[[expect]]\nclause = "pipe.read.blocks-when-empty"\noutcome = "failed"\nreason = "r"\n')
    proc = cli("gate", str(only), "--expectations", str(wide))
    assert proc.returncode == 0, proc.stderr


def test_expectation_naming_an_unknown_backend(tmp_path, results):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[expect]]\nclause = "fd.fork.shared-offset"\noutcome = "failed"\nreason = "r"\n'
                   'backend = "kernal"\n')
    assert_one_line_error(cli("gate", str(results), "--expectations", str(bad)),
                          str(bad), "unknown backend 'kernal'", "installed backends")


def test_run_checks_expectations_before_it_starts(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[expect]]\nclause = "fd.dup.no-such-clause"\noutcome = "failed"\nreason = "r"\n')
    report = tmp_path / "report"
    assert_one_line_error(cli("run", "--expectations", str(bad), "--report-dir", str(report)),
                          str(bad), "names no known clause")
    assert not (report / "results.json").exists()


def test_run_with_an_unknown_backend(tmp_path, known):
    assert_one_line_error(cli("run", "--backend", "nosuch", "--expectations", str(known),
                              "--report-dir", str(tmp_path)), "unknown backend 'nosuch'")
