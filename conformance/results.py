"""From pytest reports to clause outcomes and the results file.

Each test marked with clauses yields one *test record* (built in the worker
that ran it, carried to the controller on the test report). The controller's
:class:`RunRecorder` folds the records of all tests of a clause into the
clause's outcome and writes the results file and its renderings.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import socket
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .clauses import REGISTRY
from .harness import scenario as scenario_mod
from .harness.c_reproducer import snapshot_ipc_limits, write_c_reproducer
from .harness.reproducer import write_reproducer
from .harness.scenario import HarnessError

#: the System V limits in force when a test's call failed (see snapshot_ipc_limits)
IPC_LIMITS = pytest.StashKey[dict[str, str]]()


def remember_ipc_limits(item: pytest.Item) -> None:
    """Keep the failing test's System V limits for its reproducer (before fixtures restore them)."""
    item.stash[IPC_LIMITS] = snapshot_ipc_limits()


SEVERITY = ("failed", "broken", "expected-fail", "passed", "unsupported")


def _is_harness_error(exc: BaseException) -> bool:
    if isinstance(exc, HarnessError):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return all(_is_harness_error(e) for e in exc.exceptions)
    return False


def _is_assertion(exc: BaseException) -> bool:
    if isinstance(exc, AssertionError):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return any(_is_assertion(e) for e in exc.exceptions)
    return False


def classify(report: pytest.TestReport, call: pytest.CallInfo[None]) -> tuple[str, str | None]:
    """One phase of one test as (outcome, reason)."""
    if report.passed:
        # An xfail-marked test that passed (an expectation gone stale) passed:
        # ``ipc-conformance gate`` reports the stale expectation.
        return ("passed", None)
    if report.skipped:
        if hasattr(report, "wasxfail"):
            return ("expected-fail", str(report.wasxfail) or "listed as expected to fail")
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ").removeprefix("unsupported: ")
        return ("unsupported", reason)
    exc = call.excinfo.value if call.excinfo else None
    message = _one_line(str(exc)) if exc is not None else report.longreprtext[-300:]
    if exc is None or _is_harness_error(exc):
        return ("broken", message)
    if call.when != "call":
        return ("broken", f"{call.when} failed: {type(exc).__name__}: {message}")
    if _is_assertion(exc):
        return ("failed", message)
    return ("broken", f"the spec crashed: {type(exc).__name__}: {message}")


def _one_line(text: str, limit: int = 400) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= limit else first[: limit - 3] + "..."


def test_record(item: pytest.Item, phases: list[tuple[str, str, str | None]],
                clause_ids: list[str], duration: float, recorder: RunRecorder) -> dict[str, Any]:
    """Fold a test's phases into one record, with its counterexample."""
    by_phase = {when: (outcome, reason) for when, outcome, reason in phases}
    outcome, reason = by_phase.get("call", by_phase.get("setup", ("broken", "did not run")))
    for when in ("setup", "teardown"):
        phase_outcome, phase_reason = by_phase.get(when, ("passed", None))
        if phase_outcome in ("broken", "failed") and outcome not in ("failed", "broken"):
            outcome, reason = "broken", phase_reason
    record: dict[str, Any] = {
        "nodeid": item.nodeid,
        "clauses": [REGISTRY[cid].to_json() for cid in clause_ids],
        "outcome": outcome,
        "reason": reason,
        "examples": scenario_mod.COUNT[0],
        "duration_s": round(duration, 4),
        "counterexample": None,
    }
    if outcome == "failed" and scenario_mod.RECENT:
        trace = scenario_mod.RECENT[-1].trace
        steps = [line for step in trace for line in step.describe()]
        repro = None
        extra: dict[str, str | None] = {}
        if recorder.report_dir is not None:
            name = f"{clause_ids[0]}--{item.name}".replace("/", "_").replace("[", "_").replace("]", "")
            rel = Path("repro") / f"{name}.py"
            title = f"{item.nodeid}: {reason}"
            write_reproducer(trace, recorder.report_dir / rel, recorder.process_ops, title=title)
            repro = str(rel)
            # The C program replays the steps with the real system calls; a
            # trace with an operation it cannot translate gets the reason instead.
            rel_c = rel.with_suffix(".c")
            why = write_c_reproducer(trace, recorder.report_dir / rel_c, title=title,
                                     limits=item.stash.get(IPC_LIMITS, None))
            extra = {"reproducer_c": None if why else str(rel_c), "reproducer_c_note": why}
        record["counterexample"] = {"steps": steps, "text": reason or "", "reproducer": repro, **extra}
    return record


def fold(outcomes: list[str]) -> str:
    for outcome in SEVERITY:
        if outcome in outcomes and outcome != "unsupported":
            return outcome
    return "unsupported"


class RunRecorder:
    """Collects test records and writes the run's results file."""

    def __init__(self, config: pytest.Config, backend: str) -> None:
        from .backends.registry import resolve

        self.config = config
        self.backend = backend
        self.process_ops = resolve(backend).process_ops or ""
        report_dir = config.getoption("ipc_report_dir")
        self.report_dir = Path(report_dir) if report_dir else None
        self.started = time.time()
        self.results: dict[str, Any] | None = None

    def clauses(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        merged: dict[str, dict[str, Any]] = {}
        for record in records:
            for meta in record["clauses"]:
                entry = merged.setdefault(meta["id"], {
                    **meta, "outcomes": [], "examples": 0, "duration_s": 0.0,
                    "reason": None, "tests": [], "counterexample": None,
                })
                entry["outcomes"].append(record["outcome"])
                entry["examples"] += record["examples"]
                entry["duration_s"] = round(entry["duration_s"] + record["duration_s"], 4)
                entry["tests"].append(record["nodeid"])
                if record["outcome"] != "passed" and entry["reason"] is None:
                    entry["reason"] = record["reason"]
                if record["counterexample"] and entry["counterexample"] is None:
                    entry["counterexample"] = record["counterexample"]
        result = []
        for cid in sorted(merged):
            entry = merged[cid]
            entry["outcome"] = fold(entry.pop("outcomes"))
            if entry["outcome"] == "passed":
                entry["reason"] = None
            result.append(entry)
        return result

    def finish(self, records: list[dict[str, Any]], report_dir: Path | None,
               private_ipc: bool, actors: str | None = None) -> dict[str, Any]:
        from .report.build import claim_verdicts, summarise, write_report

        clauses = self.clauses(records)
        results: dict[str, Any] = {
            "schema_version": 1,
            "run_id": self.config.getoption("ipc_run_id") or _run_id(self.started),
            "provenance": provenance(self.config, self.backend, self.started, private_ipc, actors),
            "summary": summarise(clauses),
            "clauses": clauses,
            "claims": claim_verdicts(clauses),
        }
        self.results = results
        if report_dir is not None:
            import json

            report_dir.mkdir(parents=True, exist_ok=True)
            (report_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
            write_report(results, report_dir)
        return results

    def summary_lines(self) -> list[str]:
        if not self.results or not self.results["clauses"]:
            return []
        from .report.console import family_summary_lines

        lines = family_summary_lines(self.results)
        if self.report_dir is not None:
            lines.append(f"report: {self.report_dir / 'report.html'}")
        return lines


def _run_id(started: float) -> str:
    stamp = _dt.datetime.fromtimestamp(started).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{platform.release()}"


def provenance(config: pytest.Config, backend: str, started: float,
               private_ipc: bool, actors: str | None = None) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    def ver(dist: str) -> str:
        try:
            return version(dist)
        except PackageNotFoundError:
            return "not installed"

    seed = getattr(config, "_hypothesis_seed", None) or config.getoption("hypothesis_seed", None)
    libc = platform.libc_ver()
    record: dict[str, Any] = {
        "suite_version": ver("ipc-conformance"),
        "kernel_release": platform.release(),
        "kernel_version": platform.version(),
        "machine": platform.machine(),
        "libc": f"{libc[0]} {libc[1]}".strip() or "unknown",
        "python": sys.version.split()[0],
        "backend": backend,
        "backend_versions": {name: ver(name) for name in ("hypothesis", "pytest", "sysv_ipc", "posix_ipc")},
        "hypothesis_seed": str(seed) if seed is not None else None,
        "profile": config.getoption("ipc_profile"),
        "started_at": _dt.datetime.fromtimestamp(started, _dt.UTC).isoformat(),
        "finished_at": _dt.datetime.now(_dt.UTC).isoformat(),
        "root": os.geteuid() == 0,
        "ipc_namespace": "private" if private_ipc else "host",
        "command": list(config.invocation_params.args),
        "hostname": socket.gethostname(),
    }
    if actors is not None:
        record["actors"] = actors  # "native" or "python": which engine ran the actors
    return record
