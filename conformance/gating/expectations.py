"""Expectations files: the known outcomes of clauses, each with a reason.

An expectations file is TOML: one ``[[expect]]`` table per entry. An entry
names a clause by id or glob, the outcome expected of it, and why::

    [[expect]]
    clause = "fd.dup.cloexec-not-shared"      # an id, or a glob: "fd.dup3.*"
    outcome = "failed"                         # see ACCEPTS below
    reason = "os.dup() sets FD_CLOEXEC on the copy (PEP 446)"    # required
    link = "https://peps.python.org/pep-0446/"                  # optional

    # optional conditions: the entry applies only where all of them hold
    kernel = ">=6.1,<6.12"          # kernel release range
    backend = ["example"]           # a name or a list of names
    python = ">=3.12"               # Python version range
    root = false                    # run as root (true) or not (false)
    intermittent = true             # passing is accepted as well

What each expected ``outcome`` accepts (:data:`ACCEPTS`):

============== ===================================================
no entry       ``passed`` or ``unsupported``
passed         ``passed`` only: the clause must run (not even unsupported)
failed         ``failed``; ``expected-fail`` (the same, marked at run time)
broken         ``broken``; ``expected-fail``
expected-fail  any failure: ``failed``, ``broken``, ``expected-fail``
unsupported    ``unsupported`` only
============== ===================================================

An expectation of failure also accepts ``unsupported``: a clause that could
not run here neither confirms nor refutes a known failure. Without any
entry, ``unsupported`` is accepted because it says what the *system* lacks
(root, a kernel feature), with the reason in the results file; an entry with
``outcome = "passed"`` is how a CI job insists that a clause runs.

When several entries name a clause and apply, the most specific wins: an
exact id over a glob, then the entry given last (a later file overrides an
earlier one, so a local file can refine a shared one).

Every problem is an :class:`ExpectationsError` whose message is one line
naming the file and the entry: ``expectations/x.toml: entry 2
(fd.dup.*): reason is required``.
"""

from __future__ import annotations

import fnmatch
import os
import platform
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .versions import VersionRange, VersionRangeError

#: what an entry's outcome accepts in a results file (``intermittent`` adds ``passed``)
ACCEPTS: dict[str, frozenset[str]] = {
    "passed": frozenset({"passed"}),
    "failed": frozenset({"failed", "expected-fail", "unsupported"}),
    "broken": frozenset({"broken", "expected-fail", "unsupported"}),
    "expected-fail": frozenset({"failed", "broken", "expected-fail", "unsupported"}),
    "unsupported": frozenset({"unsupported"}),
}
#: what a clause with no entry may be
DEFAULT_ACCEPTS = frozenset({"passed", "unsupported"})
#: the outcomes that mean "fails"; entries expecting one run as xfail
FAILURES = frozenset({"failed", "broken", "expected-fail"})

_KEYS = ("clause", "outcome", "reason", "link", "kernel", "backend", "python", "root", "intermittent")
_CLAUSE_ID = re.compile(r"^[a-z0-9]+(\.[a-z0-9][a-z0-9-]*)+$")
_GLOB_CHARS = frozenset("*?[")
#: makes the one-line error for a problem with the entry at hand
Fail = Callable[[str], "ExpectationsError"]


class ExpectationsError(Exception):
    """An expectations file that cannot be used; ``str()`` is one line for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


@dataclass(frozen=True)
class System:
    """What the conditions of an entry ask about a run."""

    kernel_release: str
    backend: str
    python: str
    root: bool

    @classmethod
    def from_provenance(cls, provenance: Mapping[str, Any]) -> System:
        """The system a results file was written on."""
        return cls(str(provenance["kernel_release"]), str(provenance["backend"]),
                   str(provenance["python"]), bool(provenance["root"]))

    @classmethod
    def here(cls, backend: str) -> System:
        """This machine, running ``backend``."""
        return cls(platform.release(), backend, platform.python_version(), os.geteuid() == 0)


@dataclass(frozen=True)
class Expectation:
    """One ``[[expect]]`` entry of one file."""

    clause: str
    outcome: str
    reason: str
    source: str
    index: int
    order: int
    link: str | None = None
    kernel: VersionRange | None = None
    backends: tuple[str, ...] | None = None
    python: VersionRange | None = None
    root: bool | None = None
    intermittent: bool = False

    @property
    def where(self) -> str:
        """``FILE: entry N (CLAUSE)``: how messages name this entry."""
        return f"{self.source}: entry {self.index} ({self.clause})"

    @property
    def is_glob(self) -> bool:
        return bool(_GLOB_CHARS & set(self.clause))

    @property
    def expects_failure(self) -> bool:
        return self.outcome in FAILURES

    def names(self, clause_id: str) -> bool:
        """Whether the entry's id or glob matches ``clause_id``."""
        if self.is_glob:
            return fnmatch.fnmatchcase(clause_id, self.clause)
        return clause_id == self.clause

    def applies(self, system: System) -> bool:
        """Whether every condition of the entry holds on ``system``."""
        return ((self.kernel is None or self.kernel.contains(system.kernel_release))
                and (self.backends is None or system.backend in self.backends)
                and (self.python is None or self.python.contains(system.python))
                and (self.root is None or self.root == system.root))

    def accepts(self, outcome: str) -> bool:
        """Whether a clause with this entry may have ``outcome``."""
        return outcome in ACCEPTS[self.outcome] or (self.intermittent and outcome == "passed")


@dataclass(frozen=True)
class Expectations:
    """The entries of one or more files, in the order they were given."""

    entries: tuple[Expectation, ...] = ()
    files: tuple[str, ...] = ()

    def lookup(self, clause_id: str, system: System) -> Expectation | None:
        """The entry that decides ``clause_id`` on ``system``, or None (the default applies)."""
        candidates = [e for e in self.entries if e.names(clause_id) and e.applies(system)]
        if not candidates:
            return None
        return max(candidates, key=lambda e: (not e.is_glob, e.order))

    def accepts(self, clause_id: str, outcome: str, system: System) -> bool:
        entry = self.lookup(clause_id, system)
        return outcome in DEFAULT_ACCEPTS if entry is None else entry.accepts(outcome)


def load_expectations(paths: Iterable[str | Path]) -> Expectations:
    """Read and validate expectations files, in order; :class:`ExpectationsError` if unusable."""
    entries: list[Expectation] = []
    files: list[str] = []
    for path in paths:
        entries.extend(parse_expectations(_read(Path(path)), str(path), start=len(entries)))
        files.append(str(path))
    return Expectations(tuple(entries), tuple(files))


def _read(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ExpectationsError(f"{path}: no such expectations file") from None
    except IsADirectoryError:
        raise ExpectationsError(f"{path}: is a directory, not an expectations file") from None
    except OSError as exc:
        raise ExpectationsError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ExpectationsError(f"{path}: not a TOML file (not UTF-8 text at byte {exc.start})") from None


def parse_expectations(text: str, source: str, start: int = 0) -> list[Expectation]:
    """The entries of one file's text; ``start`` numbers them after earlier files' entries."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ExpectationsError(f"{source}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"expect"})
    if unknown:
        raise ExpectationsError(f"{source}: unknown top-level key {unknown[0]!r}; entries are "
                                "[[expect]] tables")
    tables = data.get("expect", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ExpectationsError(f"{source}: 'expect' must be a list of tables, written [[expect]]")
    return [_entry(table, source, index, start + index) for index, table in enumerate(tables, 1)]


def _entry(table: dict[str, Any], source: str, index: int, order: int) -> Expectation:
    label = table.get("clause") if isinstance(table.get("clause"), str) else None
    where = f"{source}: entry {index}" + (f" ({label})" if label else "")

    def fail(problem: str) -> ExpectationsError:
        return ExpectationsError(f"{where}: {problem}")

    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise fail(f"unknown key {unknown[0]!r} (an entry has {', '.join(_KEYS)})")
    for key in ("clause", "outcome", "reason"):
        if key not in table:
            raise fail(f"{key} is required")
    clause = _text(table, "clause", fail)
    if not _GLOB_CHARS & set(clause) and not _CLAUSE_ID.match(clause):
        raise fail(f"{clause!r} is neither a clause id (family.topic.behavior) nor a glob")
    outcome = _text(table, "outcome", fail)
    if outcome not in ACCEPTS:
        raise fail(f"outcome {outcome!r} is not one of {', '.join(ACCEPTS)}")
    reason = _text(table, "reason", fail)
    link = _text(table, "link", fail) if "link" in table else None
    if link is not None and not re.match(r"^https?://\S+$", link):
        raise fail(f"link {link!r} is not an http(s) URL")
    intermittent = _flag(table, "intermittent", fail) or False
    if intermittent and outcome == "passed":
        raise fail("intermittent = true needs an expected outcome other than passed")
    return Expectation(
        clause=clause, outcome=outcome, reason=reason, source=source, index=index, order=order,
        link=link, kernel=_range(table, "kernel", fail), backends=_backends(table, fail),
        python=_range(table, "python", fail), root=_flag(table, "root", fail),
        intermittent=intermittent,
    )


def _text(table: Mapping[str, Any], key: str, fail: Fail) -> str:
    value = table[key]
    if not isinstance(value, str):
        raise fail(f"{key} must be a string, not {type(value).__name__}")
    if not value.strip():
        raise fail(f"{key} is empty")
    return value.strip()


def _flag(table: Mapping[str, Any], key: str, fail: Fail) -> bool | None:
    if key not in table:
        return None
    value = table[key]
    if not isinstance(value, bool):
        raise fail(f"{key} must be true or false, not {value!r}")
    return value


def _range(table: Mapping[str, Any], key: str, fail: Fail) -> VersionRange | None:
    if key not in table:
        return None
    text = _text(table, key, fail)
    try:
        return VersionRange.parse(text)
    except VersionRangeError as exc:
        raise fail(f"{key}: {exc}") from None


def _backends(table: Mapping[str, Any], fail: Fail) -> tuple[str, ...] | None:
    if "backend" not in table:
        return None
    value = table["backend"]
    names: Sequence[Any] = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise fail("backend must be a name or a non-empty list of names")
    return tuple(names)
