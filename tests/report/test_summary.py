"""Outcome counts and the terminal summary."""

from __future__ import annotations

from conformance.report.build import summarise
from conformance.report.console import family_summary_lines

from .samples import clause, sample_clauses, sample_results


def test_summarise_counts_every_outcome_in_family_order():
    summary = summarise(sample_clauses())
    assert summary["totals"] == {"passed": 4, "failed": 1, "broken": 1, "unsupported": 1, "expected-fail": 1}
    assert list(summary["by_family"]) == ["fd", "pipe", "fifo", "sysv.ipc", "sysv.shm"]
    assert summary["by_family"]["fd"] == {"passed": 3, "failed": 1, "broken": 0, "unsupported": 0,
                                          "expected-fail": 0}


def test_summarise_orders_families_canonically_whatever_the_input_order():
    clauses = [clause("posix.shm.a.b"), clause("sysv.msg.a.b", "failed"), clause("fd.a.b")]
    assert list(summarise(clauses)["by_family"]) == ["fd", "sysv.msg", "posix.shm"]


def test_summarise_nothing():
    assert summarise([]) == {"totals": dict.fromkeys(
        ("passed", "failed", "broken", "unsupported", "expected-fail"), 0), "by_family": {}}


def test_family_summary_lines():
    assert family_summary_lines(sample_results()) == [
        "family    clauses  passed  failed  broken  unsupported  expected-fail",
        "fd              4       3       1       .            .              .",
        "pipe            1       .       .       1            .              .",
        "fifo            1       .       .       .            .              1",
        "sysv.ipc        1       .       .       .            1              .",
        "sysv.shm        1       1       .       .            .              .",
        "total           8       4       1       1            1              1",
    ]
