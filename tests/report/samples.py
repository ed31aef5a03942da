"""Builders for results documents: realistic samples for the report tests.

``sample_results()`` is a document as a run writes it: a few clauses across
families, every outcome once or more, a shrunk counterexample with its
reproducer, claim links of every relation, and the summary and verdicts
computed by the real code. Tests change what they need with plain dict
operations on a fresh copy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance.clauses import family_of
from conformance.report.build import claim_verdicts, summarise

PROVENANCE: dict[str, Any] = {
    "suite_version": "0.1.0",
    "kernel_release": "6.1.0-18-amd64",
    "kernel_version": "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)",
    "machine": "x86_64",
    "libc": "glibc 2.36",
    "python": "3.11.2",
    "backend": "kernel",
    "backend_versions": {"hypothesis": "6.100.1", "pytest": "9.0.0", "sysv_ipc": "not installed"},
    "hypothesis_seed": "12345",
    "profile": "dev",
    "started_at": "2024-03-01T10:00:00.123456+00:00",
    "finished_at": "2024-03-01T10:02:30+00:00",
    "root": True,
    "ipc_namespace": "private",
    "command": ["specs", "--backend", "kernel", "-n", "2"],
    "hostname": "builder",
}

STEPS = [
    "a: open('f', 'O_RDWR|O_CREAT') -> 3",
    "a: fork('b') -> 'b'",
    "b: write(3, b'xy') -> 2",
    "a: read(3, 2) -> b''",
    "    but expected -> b'xy'",
]
REPRODUCER = "repro/fd.fork.shared-offset--test_fork_shares_offset.py"


def clause(cid: str, outcome: str = "passed", *, statement: str | None = None,
           claims: Sequence[tuple[str, str, str]] = (),
           reason: str | None = None, counterexample: dict[str, Any] | None = None,
           sources: list[dict[str, Any]] | None = None, examples: int = 25,
           duration_s: float = 0.42) -> dict[str, Any]:
    """One clause record; ``claims`` as (claim id, relation, note) triples."""
    return {
        "id": cid,
        "family": family_of(cid),
        "outcome": outcome,
        "statement": statement or f"The behavior {cid} is as documented.",
        "sources": sources if sources is not None else [
            {"ref": "dup(2)", "quote": "They refer to the same open file description.", "url": None},
        ],
        "requires": [],
        "claims": [{"id": c, "relation": r, "note": n} for c, r, n in claims],
        "examples": examples,
        "duration_s": duration_s,
        "reason": reason if reason is not None or outcome == "passed" else f"{outcome} for a reason",
        "tests": [f"specs/{family_of(cid).replace('.', '/')}/test_x.py::test_{cid.split('.')[-1]}"],
        "counterexample": counterexample,
    }


def counterexample(steps: list[str] | None = None, reproducer: str | None = REPRODUCER) -> dict[str, Any]:
    return {"steps": list(STEPS if steps is None else steps),
            "text": "read after the child's write returned no data", "reproducer": reproducer}


def sample_clauses() -> list[dict[str, Any]]:
    return [
        clause("fd.dup.same-description", claims=[("S07", "supports", "dup refers to the same description")]),
        clause("fd.dup.lowest-free", claims=[("S08", "contradicts", "dup returns a different number")]),
        clause("fd.fork.shared-offset", "failed", reason="expected -> b'xy'",
               claims=[("S02", "supports", "parent and child share one offset")],
               counterexample=counterexample()),
        clause("fd.open.first-is-3", claims=[("S09", "supports", "the first open returns 3"),
                                             ("S09", "qualifies", "only if 0, 1 and 2 are open")]),
        clause("pipe.read.blocks-when-empty", "broken", reason="actor a died outside the scenario",
               claims=[("S12", "supports", "a read on an empty pipe waits")]),
        clause("fifo.mkfifo.exists", "expected-fail", reason="known sandbox bug #12",
               claims=[("S17", "supports", "mkfifo on an existing path fails with EEXIST")]),
        clause("sysv.ipc.get.flag-matrix", "unsupported", reason="needs root"),
        clause("sysv.shm.rmid.delayed", sources=[
            {"ref": "shmctl(2)", "quote": "Mark the segment to be destroyed.",
             "url": "https://man7.org/linux/man-pages/man2/shmctl.2.html"},
            {"ref": "seed S24", "quote": "IPC_RMID only marks the segment"},
        ], claims=[("S24", "supports", "the segment lives until the last detach")]),
    ]


def results_for(clauses: list[dict[str, Any]], run_id: str = "20240301-100000-6.1.0-kernel") -> dict[str, Any]:
    """A complete document around ``clauses``, with computed summary and verdicts."""
    return {
        "schema_version": 1,
        "run_id": run_id,
        "provenance": json.loads(json.dumps(PROVENANCE)),
        "summary": summarise(clauses),
        "clauses": clauses,
        "claims": claim_verdicts(clauses),
    }


def sample_results() -> dict[str, Any]:
    return results_for(sample_clauses())


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2))
    return path
