"""Expectations applied at collection: listed failures run as ``xfail``.

``ipc-conformance run --expectations FILE`` passes each file to pytest as
``--ipc-expectations FILE``; the plugin then calls :func:`mark_expected_failures`
on the collected items. A test of a clause whose entry applies on this
system (kernel, backend, Python, root) and expects a failure (``failed``,
``broken``, ``expected-fail``, or ``intermittent``) is marked
``pytest.mark.xfail(reason=...)``, not strict. Then:

* when it fails, pytest reports it ``xfailed``: the clause's outcome is
  ``expected-fail`` with the entry's reason, and pytest's JUnit XML lists the
  test as skipped with that reason (``type="pytest.xfail"``);
* when it passes, the clause is ``passed``, and ``ipc-conformance gate``
  reports the entry as stale (unless it is intermittent).

A test that covers several clauses is marked when any of them is expected to
fail; its other clauses then share its outcome. A test already skipped as
unsupported stays skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest

from .expectations import Expectation, Expectations, System


def xfail_reason(entry: Expectation) -> str:
    """The reason recorded for an expected failure: the entry's, its link, where it is."""
    link = f" <{entry.link}>" if entry.link else ""
    return f"{entry.reason}{link} [{entry.where}]"


def mark_expected_failures(items: Iterable[pytest.Item], expectations: Expectations, system: System,
                           clause_ids: Callable[[pytest.Item], list[str]]) -> int:
    """Mark the items whose clauses are expected to fail; return how many were marked."""
    marked = 0
    for item in items:
        for cid in clause_ids(item):
            entry = expectations.lookup(cid, system)
            if entry is not None and (entry.expects_failure or entry.intermittent):
                item.add_marker(pytest.mark.xfail(reason=xfail_reason(entry), strict=False))
                marked += 1
                break
    return marked
