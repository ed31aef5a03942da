"""Model-checked scenarios: every step on the system and on the model.

:class:`CheckedScenario` drives a real :class:`~.scenario.Scenario` and a
reference model in lockstep. Each step's outcome, and every completion or
death observed while settling, must be identical on both sides; the first
difference fails the example with both outcomes, and Hypothesis shrinks the
step list to the smallest that still differs. The model's prediction is kept
on each step as ``expected`` (and what it predicted while settling as
``expected_events``) so the counterexample and the reproducers show it.

System V ids are the one thing the two sides may number differently: the
model numbers objects as a fresh namespace would, the kernel as its history
dictates. Callers speak in the *model's* ids (what :meth:`CheckedScenario.do`
returns for ``msgget``/``semget``/``shmget``); an
:class:`~conformance.models.sysv.idmap.IdMap` translates the id argument for
the real side and pairs the ids the two sides' ``*get`` steps return.
"""

from __future__ import annotations

from typing import Any, Protocol

from ..models.sysv.idmap import ID_RESULT, IdMap
from ..outcome import BLOCKED, Outcome
from .scenario import Scenario


class Model(Protocol):
    def spawn(self, actor: str) -> None: ...
    def step(self, actor: str, op: str, *args: Any) -> Outcome: ...
    def settle(self) -> dict[str, Outcome]: ...
    def blocked(self) -> set[str]: ...
    def alive(self) -> set[str]: ...
    def open_fds(self, actor: str) -> list[int]: ...


class Mismatch(AssertionError):
    """The system under test and the reference model disagree."""


class CheckedScenario:
    def __init__(self, real: Scenario, model: Model) -> None:
        self.real = real
        self.model = model
        self.ids = IdMap()

    @property
    def trace(self) -> list[Any]:
        return self.real.trace

    def spawn(self, name: str) -> None:
        self.real.spawn(name)
        self.model.spawn(name)

    def do(self, actor: str, op: str, *args: Any) -> Outcome:
        """One step on both sides; the outcome, with System V ids as the model numbers them."""
        expected = self.model.step(actor, op, *args)
        got = self.real.actors[actor].do(op, *self.ids.real_args(op, args))
        step = self.real.trace[-1]
        step.expected = expected
        events = dict(step.events)
        if got == BLOCKED and expected != BLOCKED and events.get(actor) == expected:
            # The call slept on its way to completing within this step (a
            # big write with a reader draining it): the harness saw it asleep
            # once, then saw it finish while settling. Same behavior.
            del events[actor]
        elif not self.ids.agree(op, expected, got):
            raise Mismatch(f"{actor}: {op}{args!r}: the system gave {got}, the model predicts {expected}")
        elif op in ID_RESULT and got.ok:
            step.expected = got  # the ids are paired: the prediction held
        predicted = self.model.settle()
        step.expected_events = dict(predicted)
        if predicted != events:
            raise Mismatch(
                f"after {actor}: {op}{args!r}: the system then showed {_events(events)}, "
                f"the model predicts {_events(predicted)}"
            )
        return expected if op in ID_RESULT else got

    def live_idle(self) -> list[str]:
        """Actors that can take a step: alive and not blocked."""
        return sorted(self.model.alive() - self.model.blocked())


def _events(events: dict[str, Outcome]) -> str:
    if not events:
        return "nothing"
    return ", ".join(f"{name} {outcome}" for name, outcome in sorted(events.items()))
