"""What an expectations file may name: clauses and backends that exist.

A misspelt clause id in an expectations file would silently expect nothing,
and a CI job would go on passing while the failure it meant to track changed.
So every entry must name at least one known clause: one in the results file
being gated, or else one of the registry's (the clauses of every spec module
under ``specs/``, imported on demand — a run of ``-k dup`` has only a few
clauses in its results, and a project-wide file names many more). Likewise a
``backend`` condition must name an installed backend or the backend of the
results file.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

from .expectations import Expectations, ExpectationsError


def specs_directory() -> Path | None:
    """The suite's ``specs/`` (or ``$IPC_CONFORMANCE_SPECS``), None if there is none."""
    override = os.environ.get("IPC_CONFORMANCE_SPECS")
    candidate = Path(override) if override else Path(__file__).resolve().parents[2] / "specs"
    return candidate if candidate.is_dir() else None


@cache
def registered_clause_ids(specs: Path | None = None) -> frozenset[str]:
    """Every clause registered by the spec modules under ``specs`` (imported here).

    A module that cannot be imported (one being written, or needing what this
    system lacks) is passed over: its clauses are then unknown here, and an
    entry naming only those is reported, which is what the user must look at.
    """
    from ..clauses import REGISTRY

    specs = specs or specs_directory()
    if specs is not None:
        for path in sorted([*specs.rglob("test_*.py"), *specs.rglob("spec_*.py")]):
            name = "ipc_conformance_specs." + ".".join(path.relative_to(specs).with_suffix("").parts)
            if name in sys.modules:
                continue
            module_spec = importlib.util.spec_from_file_location(name, path)
            if module_spec is None or module_spec.loader is None:
                continue
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module
            try:
                module_spec.loader.exec_module(module)
            except Exception:  # passed over: see the docstring
                del sys.modules[name]
    return frozenset(REGISTRY)


def check_clause_names(expectations: Expectations, in_results: Iterable[str] = (),
                       results_name: str | None = None,
                       registry: Callable[[], frozenset[str]] = registered_clause_ids) -> None:
    """Raise :class:`ExpectationsError` for the first entry that names no known clause.

    ``in_results`` are the clause ids of the results file ``results_name``
    (none when checking before a run); ``registry`` is called once, and only
    when an entry names none of them.
    """
    present = list(in_results)
    known: frozenset[str] | None = None
    for entry in expectations.entries:
        if any(entry.names(cid) for cid in present):
            continue
        if known is None:
            known = registry()
        if not any(entry.names(cid) for cid in known):
            where = f"none in {results_name}, " if results_name else ""
            raise ExpectationsError(
                f"{entry.where}: names no known clause ({where}none of the {len(known)} registered "
                "clauses); check the id against a report's clause list")


def check_backend_names(expectations: Expectations, also: Iterable[str] = ()) -> None:
    """Raise :class:`ExpectationsError` for an entry whose ``backend`` is not installed.

    ``also`` adds names that are known although not installed here (the
    backend a results file was written with). A ``module:Class`` path is
    always accepted: it is how a backend is named without installing it.
    """
    from ..backends.registry import available

    known = set(available()) | set(also)
    for entry in expectations.entries:
        for name in entry.backends or ():
            if name not in known and ":" not in name:
                raise ExpectationsError(f"{entry.where}: unknown backend {name!r}; installed "
                                        f"backends: {', '.join(sorted(known))}")


def registered_clause_ids_apart(specs: Path | None = None) -> frozenset[str]:
    """:func:`registered_clause_ids`, computed in a child interpreter.

    Importing the spec modules imports Hypothesis; a process that goes on to
    start pytest (``ipc-conformance run``) must not have done that, or pytest
    warns that it cannot rewrite the assertions of modules already imported.
    """
    import subprocess

    command = [sys.executable, "-m", "conformance.gating.known"]
    if specs is not None:
        command.append(str(specs))
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:  # not expected; the answer matters more than the warning
        return registered_clause_ids(specs)
    return frozenset(proc.stdout.split())


if __name__ == "__main__":
    # the registered clause ids, one per line (used by registered_clause_ids_apart)
    for clause_id in sorted(registered_clause_ids(Path(sys.argv[1]) if len(sys.argv) > 1 else None)):
        print(clause_id)
