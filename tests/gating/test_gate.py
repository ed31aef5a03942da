"""The gate's judgement: regressions, stale expectations, and what is accepted by default."""

from __future__ import annotations

import pytest

from conformance.gating.expectations import Expectations, parse_expectations
from conformance.gating.gate import gate
from tests.report.samples import clause, results_for


def expectations(toml: str = "") -> Expectations:
    return Expectations(tuple(parse_expectations(toml, "e.toml")))


def entry(cid: str, outcome: str, **extra: str) -> str:
    lines = [f'clause = "{cid}"', f'outcome = "{outcome}"', 'reason = "known"']
    lines += [f"{key} = {value}" for key, value in extra.items()]
    return "[[expect]]\n" + "\n".join(lines) + "\n"


def kinds(results, toml: str = "") -> dict[str, str]:
    return {f.clause: f.kind for f in gate(results, expectations(toml)).findings}


def test_without_expectations_passed_and_unsupported_are_accepted():
    results = results_for([clause("fd.a.ok"), clause("fd.a.needs-root", "unsupported")])
    verdict = gate(results, expectations())
    assert verdict.exit_status == 0
    assert verdict.lines()[-1].startswith("gate: passed: 2 clauses of results")


@pytest.mark.parametrize("outcome", ["failed", "broken", "expected-fail"])
def test_without_expectations_any_failure_is_a_regression(outcome):
    results = results_for([clause("fd.a.x", outcome, reason="boom")])
    verdict = gate(results, expectations())
    assert verdict.exit_status == 1
    assert verdict.lines()[0] == (f"regression: fd.a.x {outcome}, expected passed or unsupported "
                                  "(no expectation): boom")


@pytest.mark.parametrize(("expected", "actual", "kind"), [
    ("failed", "failed", "ok"),
    ("failed", "expected-fail", "ok"),        # the same, marked xfail by run --expectations
    ("failed", "unsupported", "ok"),          # could not run here: neither confirmed nor refuted
    ("failed", "passed", "stale"),
    ("failed", "broken", "regression"),       # a different failure
    ("broken", "failed", "regression"),
    ("expected-fail", "broken", "ok"),
    ("expected-fail", "passed", "stale"),
    ("unsupported", "passed", "stale"),
    ("unsupported", "failed", "regression"),
    ("passed", "unsupported", "regression"),  # an entry can insist that a clause runs
    ("passed", "passed", "ok"),
])
def test_each_expected_outcome(expected, actual, kind):
    results = results_for([clause("fd.a.x", actual)])
    assert kinds(results, entry("fd.a.x", expected)) == {"fd.a.x": kind}


def test_intermittent_accepts_passing_too():
    toml = entry("fd.a.*", "failed", intermittent="true")
    results = results_for([clause("fd.a.x", "passed"), clause("fd.a.y", "failed")])
    assert kinds(results, toml) == {"fd.a.x": "ok", "fd.a.y": "ok"}


def test_conditions_are_read_from_the_provenance():
    results = results_for([clause("fd.a.x", "failed")])  # kernel 6.1.0-18-amd64, root, Python 3.11.2
    assert kinds(results, entry("fd.a.x", "failed", kernel='">=6.1,<6.2"')) == {"fd.a.x": "ok"}
    assert kinds(results, entry("fd.a.x", "failed", kernel='">=6.2"')) == {"fd.a.x": "regression"}
    assert kinds(results, entry("fd.a.x", "failed", root="false")) == {"fd.a.x": "regression"}
    assert kinds(results, entry("fd.a.x", "failed", backend='"kernel"')) == {"fd.a.x": "ok"}
    assert kinds(results, entry("fd.a.x", "failed", python='"<3.11"')) == {"fd.a.x": "regression"}


def test_the_report_lists_regressions_then_stale_entries_then_a_summary():
    results = results_for([clause("fd.a.new", "failed", reason="got 1, expected 0"),
                           clause("fd.a.fixed", "passed"), clause("fd.a.known", "failed"),
                           clause("fd.a.fine")])
    verdict = gate(results, expectations(entry("fd.a.fixed", "failed") + entry("fd.a.known", "failed")))
    lines = verdict.lines()
    assert verdict.exit_status == 1
    assert lines[0].startswith("regression: fd.a.new failed, expected passed or unsupported")
    assert lines[1] == ("stale: fd.a.fixed passed, but e.toml: entry 1 (fd.a.fixed) expects failed (known); "
                        "remove the entry, or mark it intermittent = true")
    assert lines[2].startswith("gate: failed: 1 regression and 1 stale expectation in results "
                               "(Linux 6.1.0-18-amd64, backend kernel, Python 3.11.2); 2 clauses as expected")
    assert lines[2].endswith("(1 known failure (failed), 1 passed)")
    assert len(lines) == 3
