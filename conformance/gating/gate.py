"""The gate: does a run match its expectations?

Each clause of a results file gets one :class:`Finding`:

``ok``          its outcome is accepted (by its entry, or by the default:
                ``passed`` or ``unsupported``);
``regression``  it fails (``failed``, ``broken``, or ``expected-fail`` that no
                entry here explains) where no failure, or another one, was
                expected; or an entry with ``outcome = "passed"`` required it
                to run and it was ``unsupported``;
``stale``       it passed although an entry expects a failure (or
                ``unsupported``): the entry is out of date, remove it, or
                mark it ``intermittent = true`` if the failure comes and goes.

:func:`gate` returns a :class:`GateResult` whose :attr:`~GateResult.exit_status`
is 0 when every finding is ``ok`` and 1 otherwise; :meth:`GateResult.lines`
is what ``ipc-conformance gate`` prints, one line per problem and a summary.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .expectations import FAILURES, Expectation, Expectations, System

Kind = Literal["ok", "regression", "stale"]


@dataclass(frozen=True)
class Finding:
    """One clause of the run, judged against the entry that applies to it."""

    clause: str
    outcome: str
    kind: Kind
    entry: Expectation | None
    reason: str | None

    def line(self) -> str:
        """One line for the terminal; ``ok`` findings are not printed."""
        if self.kind == "stale":
            assert self.entry is not None
            return (f"stale: {self.clause} passed, but {self.entry.where} expects "
                    f"{self.entry.outcome} ({self.entry.reason}); remove the entry, or mark it "
                    "intermittent = true")
        expected = (f"{self.entry.outcome} by {self.entry.where}" if self.entry
                    else "passed or unsupported (no expectation)")
        why = f": {self.reason}" if self.reason else ""
        return f"regression: {self.clause} {self.outcome}, expected {expected}{why}"


@dataclass(frozen=True)
class GateResult:
    """Every clause's finding, and what the gate concludes."""

    source: str
    system: System
    findings: tuple[Finding, ...]

    @property
    def regressions(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "regression"]

    @property
    def stale(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "stale"]

    @property
    def exit_status(self) -> int:
        return 0 if all(f.kind == "ok" for f in self.findings) else 1

    def lines(self) -> list[str]:
        """The problems, one per line, then a summary line."""
        problems = [f.line() for f in (*self.regressions, *self.stale)]
        ok = Counter(_tally(f) for f in self.findings if f.kind == "ok")
        counted = ", ".join(_count(n, what) for what, n in sorted(ok.items()))
        on = (f"{self.source} (Linux {self.system.kernel_release}, backend {self.system.backend}, "
              f"Python {self.system.python})")
        if self.exit_status == 0:
            summary = f"gate: passed: {_count(len(self.findings), 'clause')} of {on} as expected"
        else:
            summary = (f"gate: failed: {_count(len(self.regressions), 'regression')} and "
                       f"{_count(len(self.stale), 'stale expectation')} in {on}; "
                       f"{_count(sum(ok.values()), 'clause')} as expected")
        return [*problems, summary + (f" ({counted})" if counted else "")]


def _tally(finding: Finding) -> str:
    """How an accepted outcome is counted: a failure its entry expects is a known failure."""
    if finding.outcome in FAILURES and finding.entry is not None:
        return "known failure" + ("" if finding.outcome == "expected-fail" else f" ({finding.outcome})")
    return finding.outcome


def _count(n: int, noun: str) -> str:
    """``1 regression``, ``2 regressions``; ``3 known failures (failed)``; outcomes stay as they are."""
    if noun in _OUTCOME_WORDS or n == 1:
        return f"{n} {noun}"
    head, _, tail = noun.partition(" (")
    return f"{n} {head}s" + (f" ({tail}" if tail else "")


_OUTCOME_WORDS = frozenset({"passed", "failed", "broken", "unsupported", "expected-fail"})


def judge(clause: Mapping[str, Any], expectations: Expectations, system: System) -> Finding:
    """The finding for one clause record of a results file."""
    cid, outcome = clause["id"], clause["outcome"]
    entry = expectations.lookup(cid, system)
    accepted = expectations.accepts(cid, outcome, system)
    kind: Kind
    if accepted:
        kind = "ok"
    elif outcome == "passed":
        kind = "stale"
    else:
        kind = "regression"
    return Finding(cid, outcome, kind, entry, clause.get("reason"))


def gate(results: Mapping[str, Any], expectations: Expectations, source: str = "results") -> GateResult:
    """Judge every clause of a (validated) results document."""
    system = System.from_provenance(results["provenance"])
    findings = tuple(judge(c, expectations, system) for c in results["clauses"])
    return GateResult(source, system, findings)
