"""The Jinja2 environments the renderings are drawn with.

Both renderings load their templates from ``templates/`` beside this file and
share the helpers of :mod:`conformance.report.view` as filters and globals.
The HTML environment escapes every value (``autoescape``): text from a
results file (a statement, a quote, a counterexample step) can contain
``<``, ``&`` or quotes, and must show up as text, never as markup.
``StrictUndefined`` turns a misspelt name in a template into an error
instead of an empty string.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from . import view
from .schema import OUTCOMES

TEMPLATES = Path(__file__).resolve().parent / "templates"


@cache
def environment(*, html: bool) -> Environment:
    """The environment for HTML (escaping on) or for plain text/Markdown (escaping off)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=html,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        seconds=view.seconds,
        safe_url=view.safe_url,
        step_groups=view.step_groups,
        citation=view.claim_citation,
        verdict_label=view.VERDICT_LABELS.__getitem__,
        md=view.md_text,
        md_code=view.md_code,
        md_fence=view.md_fence,
    )
    env.tests["mismatch"] = view.is_mismatch
    env.globals.update(OUTCOMES=OUTCOMES, OUTCOME_MEANINGS=view.OUTCOME_MEANINGS,
                       VERDICT_LABELS=view.VERDICT_LABELS)
    return env
