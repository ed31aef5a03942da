"""``bench.json``: building it from measurements, reading it back, and lending its verdict to ``claims``.

The document (``"kind": "ipc-conformance-bench"``, ``bench_schema_version``)
holds the provenance of the run, what each figure counts, every sample with
its median and quartiles, the speed ordering per metric and a ``claims``
list with the S20 record (id, text, verdict, explanation, evidence).

:func:`load_bench` recomputes the S20 verdict from the stored table with
:func:`conformance.bench.verdict.decide_s20` and refuses a file whose stored
verdict does not follow from its own numbers; :func:`apply_bench` replaces
the S20 entry of a claims list (as ``ipc-conformance claims`` prints it)
with that verdict. Without a bench file S20 stays ``undecided``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..claims import VERDICTS
from .catalogue import BY_NAME, MECHANISMS, BenchInputError, metric_size
from .runner import CaseResult
from .stats import Summary, summarise
from .verdict import Table, decide_s20, ordering

KIND = "ipc-conformance-bench"
SCHEMA_VERSION = 1

METHOD = {
    "latency": "Round trips of a 64-byte message between a parent and its forked child; the figure is "
               "one-way latency = round-trip time / 2, per message.",
    "throughput": "The parent sends N messages of the given size, the child receives every byte and "
                  "answers with one byte; the clock stops when that byte arrives. Figure = N x size / "
                  "elapsed, in bytes per second (GB = 10^9 B).",
    "copies": "Every mechanism copies each message twice: into the kernel or the shared segment by the "
              "sender, out of it into a private buffer by the receiver. The shared-memory figures "
              "include both memcpy calls and the handshake (semaphore, futex or busy-waiting) of every message; "
              "a ring per direction has as many one-message slots as fit in 64 KiB (a pipe's capacity), "
              "but at least 2 (so 2 MiB for 1 MiB messages).",
    "chunking": "A message larger than one unit of the mechanism is sent in chunks: System V queues "
                "at kernel.msgmax, POSIX queues at fs.mqueue.msgsize_max, AF_UNIX datagrams at 64 KiB "
                "(the 'chunk' column of the results).",
    "spread": "Each case runs once per round, in an order rotated every round; median and "
              "interquartile range (IQR) are over the rounds, min and max are kept too.",
    "placement": "Every case runs twice: with both processes pinned to one CPU ('same'), and with the "
                 "parent on one CPU and the child on another ('split'). On a virtual machine waking a "
                 "process on another, idle CPU can cost tens of microseconds where a switch on the same "
                 "CPU costs one, so the two are separate measurements, not noise.",
    "comparison": "Clearly faster = median at least 1.05x better and IQRs disjoint; otherwise a tie. "
                  "S20 is decided per metric and placement, against every mechanism measured.",
}

S31_NOTE = ("S31 (the seed's summary table) describes use, medium, unit, direction and scope of each "
            "method but ranks none by speed, so the speed ordering below is context, not a verdict on S31.")


def table_of(results: Sequence[CaseResult]) -> dict[str, dict[str, Summary]]:
    """``{metric: {mechanism: Summary}}`` from measured cases, metrics in the order first met."""
    table: dict[str, dict[str, Summary]] = {}
    for result in results:
        if result.samples:
            table.setdefault(result.case.metric, {})[result.case.mechanism] = summarise(result.samples)
    return table


def build(results: Sequence[CaseResult], provenance: Mapping[str, Any]) -> dict[str, Any]:
    """The complete ``bench.json`` document of one run."""
    table = table_of(results)
    rows = []
    for result in results:
        summary = summarise(result.samples)
        rows.append({
            "mechanism": result.case.mechanism,
            "test": result.case.test,
            "metric": result.case.metric,
            "size": result.case.size,
            "unit": "ns" if result.case.test == "latency" else "B/s",
            "iterations": result.iterations,
            "chunk": result.chunk,
            "slots": result.slots,
            "samples": result.samples,
            "elapsed_ns": result.elapsed_ns,
            **summary.as_dict(),
        })
    measured = {r.case.mechanism for r in results}
    return {
        "kind": KIND,
        "bench_schema_version": SCHEMA_VERSION,
        "provenance": dict(provenance),
        "method": METHOD,
        "mechanisms": [{"name": m.name, "shared_memory": m.shared_memory, "counts": m.counts}
                       for m in MECHANISMS if m.name in measured],
        "results": rows,
        "ordering": ordering(table),
        "claims": [s20_record(table)],
        "notes": [S31_NOTE],
    }


def s20_record(table: Table) -> dict[str, Any]:
    """S20's verdict from a table, against the whole catalogue."""
    shared = [m.name for m in MECHANISMS if m.shared_memory]
    return decide_s20(table, shared=shared, required=[m.name for m in MECHANISMS])


def _fail(path: Path, problem: str) -> BenchInputError:
    return BenchInputError(f"{path}: {problem}")


def load_bench(path: Path) -> dict[str, Any]:
    """Read a ``bench.json``, check it, and return it with its S20 record recomputed."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _fail(path, f"cannot read it: {exc.strerror}") from None
    except ValueError as exc:
        raise _fail(path, f"not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise _fail(path, f"not a bench result (no \"kind\": \"{KIND}\")")
    if doc.get("bench_schema_version") != SCHEMA_VERSION:
        raise _fail(path, f"bench_schema_version {doc.get('bench_schema_version')!r}, this suite reads "
                    f"{SCHEMA_VERSION}")
    table: dict[str, dict[str, Summary]] = {}
    try:
        for row in doc["results"]:
            if row["mechanism"] not in BY_NAME:
                raise _fail(path, f"unknown mechanism {row['mechanism']!r}")
            metric_size(row["metric"])
            table.setdefault(row["metric"], {})[row["mechanism"]] = summarise(row["samples"])
        stored = {c["id"]: c for c in doc["claims"]}["S20"]
    except BenchInputError:
        raise
    except (KeyError, TypeError, ValueError, IndexError):
        raise _fail(path, "malformed: results need mechanism, metric and samples; claims need S20") from None
    record = s20_record(table)
    if stored.get("verdict") not in VERDICTS or stored.get("verdict") != record["verdict"]:
        raise _fail(path, f"its S20 verdict {stored.get('verdict')!r} does not follow from its own "
                    f"measurements ({record['verdict']})")
    doc["claims"] = [record if c.get("id") == "S20" else c for c in doc["claims"]]
    return doc


def apply_bench(claims: Sequence[Mapping[str, Any]], bench: Mapping[str, Any], source: str,
                ) -> list[dict[str, Any]]:
    """``claims`` (results-schema records) with S20 replaced by the bench's verdict."""
    measured = {c["id"]: c for c in bench["claims"]}
    out = []
    for claim in claims:
        record = measured.get(claim["id"])
        if record is None:
            out.append(dict(claim))
            continue
        out.append({
            "id": claim["id"],
            "text": claim["text"],
            "verdict": record["verdict"],
            "explanation": f"{record['explanation']} (Measured by ipc-conformance bench: {source}.)",
            "clauses": list(claim.get("clauses", [])),
        })
    return out
