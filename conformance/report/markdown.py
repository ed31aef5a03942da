"""``summary.md``: the run in a page of Markdown.

Short enough for a CI job summary or a pull-request comment: the totals, a
table per family, every failing clause with its counterexample steps and
reproducer, the clauses the harness could not decide, and the seed claims
with their verdicts. Drawn by ``templates/summary.md.j2``; values go through
the ``md`` filter, which escapes Markdown and HTML markup.
"""

from __future__ import annotations

from typing import Any

from . import view
from .templating import environment


def render_markdown(results: dict[str, Any]) -> str:
    """The Markdown summary for a (validated) results document."""
    summary = results["summary"]
    return environment(html=False).get_template("summary.md.j2").render(
        results=results,
        provenance=results["provenance"],
        totals=summary["totals"],
        clause_count=len(results["clauses"]),
        families=view.family_rows(summary),
        failed=view.clauses_with(results, "failed"),
        broken=view.clauses_with(results, "broken"),
        expected=view.clauses_with(results, "expected-fail"),
        unsupported=view.clauses_with(results, "unsupported"),
        claims=results["claims"],
        verdict_counts=view.verdict_counts(results["claims"]),
    )
