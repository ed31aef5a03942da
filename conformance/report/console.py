"""A per-family summary for the terminal, printed at the end of a run.

::

    family       clauses  passed  failed  broken  unsupported  expected-fail
    fd                12      11       1       .            .              .
    pipe               7       7       .       .            .              .
    total             19      18       1       .            .              .

Zeros print as ``.`` so that the numbers that matter stand out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .schema import OUTCOMES

_HEADERS = ("family", "clauses", *OUTCOMES)


def family_summary_lines(results: Mapping[str, Any]) -> list[str]:
    """Aligned lines: a header, one line per family that ran, and a total line."""
    summary = results["summary"]
    rows = [[family, *_numbers(counts)] for family, counts in summary["by_family"].items()]
    rows.append(["total", *_numbers(summary["totals"])])
    widths = [max(len(row[i]) for row in [list(_HEADERS), *rows]) for i in range(len(_HEADERS))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    return [line(list(_HEADERS)), *(line(row) for row in rows)]


def _numbers(counts: Mapping[str, int]) -> list[str]:
    total = sum(counts.get(o, 0) for o in OUTCOMES)
    return [str(total), *(str(counts.get(o, 0)) if counts.get(o, 0) else "." for o in OUTCOMES)]
