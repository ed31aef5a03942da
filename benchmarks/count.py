"""A pytest plugin that counts scenarios (Hypothesis examples) and their time.

Loaded with ``-p benchmarks.count`` by :mod:`benchmarks.machines`. Every
example of a spec opens one :class:`~conformance.harness.scenario.Scenario`,
so the growth of ``scenario.COUNT`` across a test's call phase is the number
of examples it ran; the time is that call phase's wall time, so collection,
interpreter start-up and the zygote's start are left out. The totals go, as
JSON, to the file named by ``IPC_BENCH_COUNT``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Generator
from typing import Any

import pytest

from conformance.harness import scenario

_TOTALS = {"examples": 0, "seconds": 0.0, "tests": 0, "failed": 0}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, None]:
    before, start = scenario.COUNT[0], time.perf_counter()
    outcome = yield
    _TOTALS["seconds"] += time.perf_counter() - start
    _TOTALS["examples"] += scenario.COUNT[0] - before
    _TOTALS["tests"] += 1
    if outcome.excinfo is not None:
        _TOTALS["failed"] += 1


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("IPC_BENCH_COUNT")
    if target:
        with open(target, "w") as f:
            json.dump(_TOTALS, f)
