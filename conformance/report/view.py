"""What the renderings show, computed once for every format.

Templates should only lay data out. Everything that needs a decision (which
families ran, how wide each bar segment is, which lines of a counterexample
belong to which step, how a duration reads) happens here, in plain functions
that the HTML and Markdown renderers share and that tests can call directly.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..claims import CLAIMS, VERDICTS
from .schema import FAMILIES, OUTCOMES

#: what each outcome means, for legends and tooltips
OUTCOME_MEANINGS = {
    "passed": "the system behaves as documented",
    "failed": "a counterexample was found",
    "broken": "the harness could not decide (setup failed, an actor died, a timeout)",
    "unsupported": "this system lacks what the clause needs",
    "expected-fail": "listed as a known failure, with a reason",
}
VERDICT_LABELS = {
    "holds": "holds",
    "holds-with-conditions": "holds with conditions",
    "does-not-hold": "does not hold",
    "undecided": "undecided",
}


@dataclass(frozen=True)
class Segment:
    """One outcome's share of a family's stacked bar."""

    outcome: str
    count: int
    percent: float


@dataclass(frozen=True)
class FamilyRow:
    """One line of the overview: a family's counts and its bar."""

    family: str
    counts: dict[str, int]
    total: int
    segments: list[Segment]


def family_rows(summary: Mapping[str, Any]) -> list[FamilyRow]:
    """The families that ran, in canonical order, each with its bar segments."""
    rows = []
    for family, counts in summary["by_family"].items():
        total = sum(counts.values())
        segments = [Segment(o, counts[o], round(100.0 * counts[o] / total, 3))
                    for o in OUTCOMES if counts.get(o)]
        rows.append(FamilyRow(family, dict(counts), total, segments))
    rows.sort(key=lambda row: FAMILIES.index(row.family))
    return rows


def missing_families(summary: Mapping[str, Any]) -> list[str]:
    """Families no clause of this run belongs to."""
    return [f for f in FAMILIES if f not in summary["by_family"]]


def step_groups(steps: Sequence[str]) -> list[list[str]]:
    """Group counterexample lines into steps.

    A step is one line (``a: write(4, b'x') -> 1``) followed by its indented
    continuation lines (``    but expected -> 3``, ``    then b ...``).
    """
    groups: list[list[str]] = []
    for line in steps:
        if groups and line[:1].isspace():
            groups[-1].append(line.strip())
        else:
            groups.append([line.strip()])
    return groups


def is_mismatch(line: str) -> bool:
    """A continuation line that says what the oracle expected instead."""
    return line.startswith("but expected")


def seconds(value: float) -> str:
    """A duration for people: ``0.004 s`` → ``<0.01 s``, ``83.5`` → ``1 min 23.5 s``."""
    if value < 0.01:
        return "<0.01 s"
    if value < 60:
        return f"{value:.2f} s"
    minutes, rest = divmod(value, 60)
    return f"{int(minutes)} min {rest:.1f} s"


def safe_url(url: str | None) -> str | None:
    """``url`` if it is an http(s) link, else ``None`` (no ``javascript:`` links)."""
    if not url:
        return None
    return url if urlsplit(url).scheme in ("http", "https") else None


def verdict_counts(claims: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many claims got each verdict, every verdict present."""
    counts: dict[str, int] = {v: 0 for v in VERDICTS}
    for claim in claims:
        counts[claim["verdict"]] += 1
    return counts


def claim_citation(claim_id: str) -> str:
    """Where a seed claim comes from (``seed 000 §2.1.1``), or ``""`` if unknown."""
    claim = CLAIMS.get(claim_id)
    return claim.where if claim else ""


def provenance_rows(provenance: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The provenance as (label, text) pairs, in reading order."""
    p = provenance
    versions = ", ".join(f"{name} {version}" if version[:1].isdigit() else f"{name} ({version})"
                         for name, version in sorted(p["backend_versions"].items()))
    return [
        ("Kernel", f"{p['kernel_release']} {p['kernel_version']}".strip()),
        ("Machine", p["machine"]),
        ("C library", p["libc"]),
        ("Python", p["python"]),
        ("Suite version", p["suite_version"]),
        ("Backend", p["backend"]),
        ("Library versions", versions or "none recorded"),
        ("Hypothesis profile", p["profile"]),
        ("Hypothesis seed", p["hypothesis_seed"] or "random (not fixed)"),
        ("Started", p["started_at"]),
        ("Finished", p["finished_at"]),
        ("Privileges", "root" if p["root"] else "unprivileged"),
        ("IPC namespace", "private to the run" if p["ipc_namespace"] == "private" else "the host's"),
        ("Actors", _ACTORS.get(p.get("actors", ""), "not recorded")),
        ("Host", p["hostname"]),
        ("Command", shlex.join(p["command"]) or "(none)"),
    ]


_ACTORS = {"native": "native (the C actor program)", "python": "Python interpreters"}


def clauses_with(results: Mapping[str, Any], *outcomes: str) -> list[dict[str, Any]]:
    """The clauses whose outcome is one of ``outcomes``, in file order."""
    return [c for c in results["clauses"] if c["outcome"] in outcomes]


_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|"})


def md_text(text: str) -> str:
    """Text for one line of Markdown: whitespace collapsed, markup characters escaped.

    Escaping ``<`` matters as much as in HTML: many Markdown viewers pass raw
    HTML through, so an unescaped ``<script>`` in a statement would run.
    """
    return " ".join(str(text).split()).translate(_MD_SPECIAL)


def md_code(text: str) -> str:
    """An inline code span that survives backticks inside ``text``."""
    flat = " ".join(str(text).split())
    ticks = "`" * (_longest_backtick_run(flat) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{ticks}{pad}{flat}{pad}{ticks}"


def md_fence(lines: Sequence[str]) -> str:
    """A fence (three or more backticks) longer than any backtick run in ``lines``."""
    return "`" * max(3, max((_longest_backtick_run(line) for line in lines), default=0) + 1)


def _longest_backtick_run(text: str) -> int:
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    return longest
