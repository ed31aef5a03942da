"""``ipc-conformance merge``: many runs side by side, like wpt.fyi.

Runs of the suite on several kernels, backends or Python versions answer one
question together: *where* does a clause behave differently? The merge is a
matrix: clauses down, runs across, each cell the clause's outcome in that run
(or *not run*, when a run did not include it). Rows whose outcomes differ
across the runs that include them come first — they are what the reader is
looking for — then the rows on which the runs agree, each group in family
order.

A run's column is labelled from its provenance: kernel release, backend and
Python version (``Linux 6.1.0-18-amd64 · kernel · Python 3.11.2``); two runs
with the same label are told apart by a number. When a results file has its
``report.html`` beside it, the column links to that report and each cell to
the clause in it.

:func:`build_matrix` computes the view (tests call it directly);
:func:`write_merge` renders ``merge.html`` (Jinja2, autoescaped) and
``merge.md`` from ``templates/merge.*.j2``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .schema import FAMILIES, OUTCOMES
from .templating import environment

#: the file each format is written to, inside the output directory
FILENAMES = {"html": "merge.html", "md": "merge.md"}


@dataclass(frozen=True)
class Run:
    """One column: a results file and what identifies it."""

    label: str
    run_id: str
    source: str
    provenance: Mapping[str, Any]
    totals: Mapping[str, int]
    #: link to the run's report.html, relative to the merge's directory (URL-quoted)
    report: str | None


@dataclass(frozen=True)
class Cell:
    """One clause in one run; ``outcome`` None when the run did not include it."""

    outcome: str | None
    reason: str | None
    href: str | None


@dataclass(frozen=True)
class Row:
    clause: str
    family: str
    statement: str
    cells: tuple[Cell, ...]

    @property
    def differs(self) -> bool:
        """Whether the runs that include the clause disagree on its outcome.

        A run that did not include the clause (a ``-k`` subset, an older
        suite) shows *not run* but is no disagreement: it says nothing.
        """
        return len({cell.outcome for cell in self.cells if cell.outcome is not None}) > 1


@dataclass(frozen=True)
class Matrix:
    runs: tuple[Run, ...]
    rows: tuple[Row, ...]

    @property
    def differing(self) -> list[Row]:
        return [row for row in self.rows if row.differs]

    @property
    def same(self) -> list[Row]:
        return [row for row in self.rows if not row.differs]

    @property
    def families(self) -> list[str]:
        present = {row.family for row in self.rows}
        return [f for f in FAMILIES if f in present]


def run_label(provenance: Mapping[str, Any]) -> str:
    """``Linux 6.1.0-18-amd64 · kernel · Python 3.11.2``."""
    return (f"Linux {provenance['kernel_release']} · {provenance['backend']} · "
            f"Python {provenance['python']}")


def _report_link(source: str, out_dir: Path | None) -> str | None:
    report = Path(source).parent / "report.html"
    if out_dir is None or not report.is_file():
        return None
    return quote(Path(os.path.relpath(report.resolve(), Path(out_dir).resolve())).as_posix())


def build_matrix(runs: Sequence[tuple[str, Mapping[str, Any]]], out_dir: Path | None = None) -> Matrix:
    """The matrix of (validated) results documents, each given with the file it came from.

    ``out_dir`` is where the rendering will be written; links to each run's
    report are made relative to it (none when it is None).
    """
    columns: list[Run] = []
    seen: dict[str, int] = {}
    for source, results in runs:
        label = run_label(results["provenance"])
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label} ({seen[label]})"
        columns.append(Run(label, results["run_id"], source, results["provenance"],
                           results["summary"]["totals"], _report_link(source, out_dir)))
    by_run = [{c["id"]: c for c in results["clauses"]} for _source, results in runs]
    ids = sorted({cid for clauses in by_run for cid in clauses},
                 key=lambda cid: (FAMILIES.index(_family(cid, by_run)), cid))
    rows = []
    for cid in ids:
        first = next(clauses[cid] for clauses in by_run if cid in clauses)
        cells = tuple(_cell(clauses.get(cid), column) for clauses, column in zip(by_run, columns, strict=True))
        rows.append(Row(cid, first["family"], first["statement"], cells))
    rows.sort(key=lambda row: not row.differs)  # stable: family order kept within each group
    return Matrix(tuple(columns), tuple(rows))


def _family(cid: str, by_run: Iterable[Mapping[str, Mapping[str, Any]]]) -> str:
    return next(str(clauses[cid]["family"]) for clauses in by_run if cid in clauses)


def _cell(clause: Mapping[str, Any] | None, run: Run) -> Cell:
    if clause is None:
        return Cell(None, "not in this run", None)
    href = f"{run.report}#clause-{clause['id']}" if run.report else None
    return Cell(clause["outcome"], clause.get("reason"), href)


def render_merge_html(matrix: Matrix) -> str:
    return environment(html=True).get_template("merge.html.j2").render(
        matrix=matrix, outcomes=OUTCOMES)


def render_merge_markdown(matrix: Matrix) -> str:
    return environment(html=False).get_template("merge.md.j2").render(
        matrix=matrix, outcomes=OUTCOMES)


def write_merge(runs: Sequence[tuple[str, Mapping[str, Any]]], out_dir: Path,
                formats: Iterable[str] = ("html", "md")) -> list[Path]:
    """Write ``merge.html`` and/or ``merge.md`` for validated runs; return the paths."""
    formats = tuple(formats)
    unknown = [f for f in formats if f not in FILENAMES]
    if unknown:
        raise ValueError(f"unknown merge format {unknown[0]!r}; choose from {', '.join(FILENAMES)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    matrix = build_matrix(runs, out_dir)
    written = []
    for fmt in formats:
        target = out_dir / FILENAMES[fmt]
        text = render_merge_html(matrix) if fmt == "html" else render_merge_markdown(matrix)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
