"""Deliberately broken backends, each the negation of one or more clauses.

A mutant is a subclass of the kernel backend that gets one behavior wrong in
a way a real broken system (a sandbox, a compatibility layer, a library)
could. ``tests/test_specs_can_fail.py`` runs the specs against every mutant
and requires each clause it names in ``kills`` to come out ``failed`` — not
``broken``, not passing: the spec that states the behavior must catch it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str
    #: ``module:Class`` of the broken process-operations class
    backend: str
    #: spec files (relative to the repository) that must catch it
    specs: tuple[str, ...]
    #: clause ids that must come out ``failed`` against this mutant
    kills: tuple[str, ...]


MUTANTS: list[Mutant] = []


def mutant(name: str, specs: tuple[str, ...], kills: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """Class decorator: register a broken backend class as a mutant."""

    def register(cls):  # type: ignore[no-untyped-def]
        MUTANTS.append(Mutant(name, f"{cls.__module__}:{cls.__qualname__}", specs, kills))
        return cls

    return register


def load_all() -> list[Mutant]:
    """Import every mutant module so that all mutants are registered."""
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    return MUTANTS
