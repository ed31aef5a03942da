"""``report.html``: one self-contained page for a person to read.

The page is drawn by ``templates/report.html.j2`` with autoescaping on; this
module only gathers the view data. It needs nothing from the network: styles
and the small script that filters the clause table are inline, so the file
can be mailed, attached to a CI run, or opened from disk.
"""

from __future__ import annotations

from typing import Any

from . import view
from .templating import environment


def render_html(results: dict[str, Any]) -> str:
    """The HTML report for a (validated) results document."""
    summary = results["summary"]
    outcomes = {c["id"]: c["outcome"] for c in results["clauses"]}
    return environment(html=True).get_template("report.html.j2").render(
        results=results,
        provenance=results["provenance"],
        totals=summary["totals"],
        families=view.family_rows(summary),
        missing_families=view.missing_families(summary),
        clauses=results["clauses"],
        clause_outcomes=outcomes,
        claims=results["claims"],
        verdict_counts=view.verdict_counts(results["claims"]),
        provenance_rows=view.provenance_rows(results["provenance"]),
    )
