"""Assemble the derived parts of a results document, and write its renderings.

A run produces a list of clause records (see :mod:`conformance.results`).
Two parts of ``results.json`` are computed from them and nothing else:

* :func:`summarise` counts outcomes, in total and per family;
* :func:`claim_verdicts` gives every seed claim its verdict with
  :func:`conformance.claims.decide`.

Because both are pure functions of the clauses, a reader can recompute them
from a stored file. :func:`write_report` validates a complete document and
renders it as ``report.html`` and ``summary.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..claims import CLAIMS, ClauseRelation, decide
from .schema import FAMILIES, OUTCOMES, validate

#: the file each format is written to, inside the report directory
FILENAMES = {"html": "report.html", "md": "summary.md"}


def _zero_counts() -> dict[str, int]:
    return {outcome: 0 for outcome in OUTCOMES}


def summarise(clauses: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Outcome counts: ``{"totals": {outcome: n}, "by_family": {family: {outcome: n}}}``.

    Every outcome is present (zero when none), so readers need no defaults;
    only families with at least one clause appear, in the canonical family
    order (``fd`` first, ``posix.shm`` last).
    """
    totals = _zero_counts()
    found: dict[str, dict[str, int]] = {}
    for clause in clauses:
        outcome = clause["outcome"]
        totals[outcome] += 1
        found.setdefault(clause["family"], _zero_counts())[outcome] += 1
    by_family = {family: found[family] for family in FAMILIES if family in found}
    return {"totals": totals, "by_family": by_family}


def claim_verdicts(clauses: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A verdict for every seed claim, in the order of :data:`conformance.claims.CLAIMS`.

    A claim no clause bears on is ``undecided``. Clauses that name a claim id
    that is not a seed claim are ignored here (the clause registry checks ids
    when a clause is declared).
    """
    relations: dict[str, list[ClauseRelation]] = {cid: [] for cid in CLAIMS}
    for clause in clauses:
        for link in clause.get("claims", ()):
            if link["id"] in relations:
                relations[link["id"]].append((clause["id"], link["relation"], clause.get("outcome"),
                                              link["note"]))
    verdicts = []
    for cid, claim in CLAIMS.items():
        verdict, explanation = decide(cid, relations[cid])
        verdicts.append({
            "id": cid,
            "text": claim.text,
            "verdict": verdict,
            "explanation": explanation,
            "clauses": list(dict.fromkeys(r[0] for r in relations[cid])),
        })
    return verdicts


def write_report(results: dict[str, Any], out_dir: Path, formats: Iterable[str] = ("html", "md"),
                 ) -> list[Path]:
    """Validate ``results`` and write the requested renderings into ``out_dir``.

    ``formats`` is any of ``"html"`` (``report.html``) and ``"md"``
    (``summary.md``). Returns the paths written. Raises
    :class:`~conformance.report.schema.ReportInputError` for an invalid
    document and :class:`ValueError` for an unknown format.
    """
    formats = tuple(formats)
    unknown = [f for f in formats if f not in FILENAMES]
    if unknown:
        raise ValueError(f"unknown report format {unknown[0]!r}; choose from {', '.join(FILENAMES)}")
    named = isinstance(results, dict) and isinstance(results.get("run_id"), str)
    validate(results, f"results of run {results['run_id']}" if named else "results")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        target = out_dir / FILENAMES[fmt]
        target.write_text(_render(fmt, results), encoding="utf-8")
        written.append(target)
    return written


def _render(fmt: str, results: dict[str, Any]) -> str:
    if fmt == "html":
        from .html import render_html

        return render_html(results)
    from .markdown import render_markdown

    return render_markdown(results)
