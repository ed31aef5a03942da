"""The clause registry: documented behaviors with stable ids.

A *clause* is one documented behavior: a stable id whose first part names the
mechanism's family (``fd.dup.shared-offset``), a one-line statement, the
quoted source text with its reference (``dup(2)``, ``POSIX XSH open``, seed
claim ``S07``), what it needs to run (root, a kernel version, a feature), and
how it bears on the seed claims: it *supports*, *qualifies* or *contradicts*
each claim it names, with a note that says how.

Specs declare clauses with :func:`spec`, a decorator that registers the clause
and marks the test, test262-style: the metadata sits on the test it governs.

    @spec("fd.dup.shared-offset",
          "dup() returns a descriptor on the same open file description.",
          source=("dup(2)", "They refer to the same open file description ..."),
          supports={"S07": "dup makes no new description"})
    def test_dup_shares_offset(scenario): ...
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

Relation = Literal["supports", "qualifies", "contradicts"]
FAMILIES = (
    "fd", "pipe", "fifo", "socket", "mmap", "signal",
    "sysv.ipc", "sysv.msg", "sysv.sem", "sysv.shm",
    "posix.mq", "posix.sem", "posix.shm",
)
_ID = re.compile(r"^[a-z0-9]+(\.[a-z0-9][a-z0-9-]*)+$")
_CLAIM = re.compile(r"^(S|L)\d\d$")


@dataclass(frozen=True)
class Source:
    ref: str  # "dup(2)", "POSIX.1-2017 XSH pipe", "seed S07"
    quote: str
    url: str | None = None


@dataclass(frozen=True)
class ClaimLink:
    claim: str
    relation: Relation
    note: str


@dataclass(frozen=True)
class Clause:
    id: str
    statement: str
    sources: tuple[Source, ...]
    requires: tuple[str, ...] = ()
    claims: tuple[ClaimLink, ...] = ()
    tests: list[str] = field(default_factory=list, compare=False)

    @property
    def family(self) -> str:
        return family_of(self.id)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "family": self.family,
            "statement": self.statement,
            "sources": [{"ref": s.ref, "quote": s.quote, "url": s.url} for s in self.sources],
            "requires": list(self.requires),
            "claims": [{"id": c.claim, "relation": c.relation, "note": c.note} for c in self.claims],
        }


def family_of(clause_id: str) -> str:
    for family in sorted(FAMILIES, key=len, reverse=True):
        if clause_id.startswith(family + "."):
            return family
    raise ValueError(f"clause id {clause_id!r} does not start with a known family")


REGISTRY: dict[str, Clause] = {}

F = TypeVar("F", bound=Callable[..., Any])
SourceArg = tuple[str, str] | tuple[str, str, str]


def register(
    clause_id: str,
    statement: str,
    *,
    source: SourceArg | None = None,
    sources: list[SourceArg] | None = None,
    requires: tuple[str, ...] = (),
    supports: dict[str, str] | None = None,
    qualifies: dict[str, str] | None = None,
    contradicts: dict[str, str] | None = None,
) -> Clause:
    """Create and register a clause; an id may be registered only once."""
    if not _ID.match(clause_id):
        raise ValueError(f"clause id {clause_id!r} is not of the form family.topic.behavior")
    family_of(clause_id)
    all_sources = ([source] if source else []) + list(sources or [])
    if not all_sources:
        raise ValueError(f"clause {clause_id} quotes no source")
    links: list[ClaimLink] = []
    for relation, mapping in (("supports", supports), ("qualifies", qualifies),
                              ("contradicts", contradicts)):
        for claim, note in (mapping or {}).items():
            if not _CLAIM.match(claim):
                raise ValueError(f"clause {clause_id}: {claim!r} is not a seed claim id")
            links.append(ClaimLink(claim, relation, note))  # type: ignore[arg-type]
    clause = Clause(
        clause_id,
        statement,
        tuple(Source(*s) for s in all_sources),
        tuple(requires),
        tuple(links),
    )
    existing = REGISTRY.get(clause_id)
    if existing is not None and existing != clause:
        raise ValueError(f"clause {clause_id} is registered twice with different metadata")
    REGISTRY[clause_id] = clause
    return clause


def spec(clause_id: str, statement: str, **metadata: Any) -> Callable[[F], F]:
    """Register a clause and attach it to the decorated pytest test."""
    import pytest

    clause = register(clause_id, statement, **metadata)

    def attach(test: F) -> F:
        return pytest.mark.clause(clause.id)(test)  # type: ignore[no-any-return]

    return attach


def covers(*clause_ids: str) -> Callable[[F], F]:
    """Attach already registered clauses to a further test (e.g. a state machine)."""
    import pytest

    def attach(test: F) -> F:
        for cid in clause_ids:
            if cid not in REGISTRY:
                raise ValueError(f"covers({cid!r}): no such clause is registered")
            test = pytest.mark.clause(cid)(test)
        return test

    return attach
