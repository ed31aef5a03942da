"""The ``model`` backend: scenarios that run on the reference model.

:class:`ModelScenario` offers the interface of :class:`~.scenario.Scenario`
(spawn, actors with ``do``/``call``/``fork``, ``expect``, ``settle``, a
trace) but every step is answered by :class:`conformance.models.ProcessModel`
instead of a process. Running the specs with ``--backend model`` checks the
oracle against the clauses — the model must satisfy every spec the kernel
does — and lets a library author see what the suite expects without a kernel.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from ..backends.ops import OPS
from ..models.errors import Unmodelled
from ..outcome import BLOCKED, Outcome
from . import scenario as scenario_mod
from .scenario import ActorHandle, BackendUnsupported, HarnessError, Step


class ModelActor(ActorHandle):
    """An actor that exists only in the model."""

    pid = -1


class ModelScenario:
    """A scenario whose every outcome comes from the reference model."""

    def __init__(self) -> None:
        from ..models import ProcessModel
        from ..models.submodel import host_params
        from ..strategies.machine import model_limits

        self._params = host_params()
        self.model = ProcessModel(**model_limits(), mechanisms=self._params)
        self.dir = tempfile.mkdtemp(prefix="model-scenario-")  # for specs that build paths
        self.actors: dict[str, ModelActor] = {}
        self.trace: list[Step] = []
        scenario_mod.RECENT.append(self)  # type: ignore[arg-type]
        scenario_mod.COUNT[0] += 1

    def __enter__(self) -> ModelScenario:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if os.path.isdir(self.dir):
            os.rmdir(self.dir)

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def spawn(self, name: str | None = None) -> ModelActor:
        name = name or f"a{len(self.actors)}"
        self.model.spawn(name)
        actor = ModelActor(self, name)
        self.actors[name] = actor
        return actor

    def step(self, actor: ModelActor, op: str, args: tuple[Any, ...]) -> Outcome:
        if op not in OPS:
            raise HarnessError(f"unknown operation {op!r}")
        if actor.pending:
            raise HarnessError(f"{actor.name} is still blocked in {actor.pending[0]}")
        try:
            self._follow_tunables()
            outcome = self.model.step(actor.name, op, *args)
        except Unmodelled as exc:
            raise BackendUnsupported(f"the model does not cover {op}: {exc}") from exc
        if op == "fork" and outcome.kind == "value":
            self.actors[args[0]] = ModelActor(self, args[0])
        if outcome == BLOCKED:
            actor.pending = (op, args)
            actor.completion = None
        elif outcome.kind in ("signal", "exit"):
            actor.death = outcome
        record = Step(actor.name, op, args, outcome)
        self.trace.append(record)
        self._apply(self.model.settle(), record)
        return outcome

    def settle(self) -> dict[str, Outcome]:
        record = Step("-", "settle", (), BLOCKED)
        self._apply(self.model.settle(), record)
        return record.events

    def finish(self, actor: ModelActor, within: float | None = None) -> Outcome:
        """Wait for a timed call to run out of time: the model has no clock.

        ``finish`` serves specs whose subject is a timeout - when the call
        returns, measured on a real clock. The model can end a timed call
        (``ProcessModel.expire``) but not say when, so such a clause is
        unsupported here rather than checked against an invented time.
        """
        if not actor.pending:
            raise HarnessError(f"{actor.name} has no pending call to finish")
        raise BackendUnsupported(f"{actor.pending[0]}: the model has no clock, so it cannot say "
                                 "when a timeout runs out")

    def _follow_tunables(self) -> None:
        """Tell the model about limits a spec wrote since the last step (System V msgmnb...)."""
        from ..models.submodel import host_params

        now = host_params()
        changed = {name: value for name, value in now.items() if self._params.get(name) != value}
        if changed:
            self.model.retune(changed)
            self._params = now

    def _apply(self, events: dict[str, Outcome], record: Step) -> None:
        for name, outcome in events.items():
            actor = self.actors[name]
            if actor.pending:
                actor.pending = None
                actor.completion = outcome
            if outcome.kind in ("signal", "exit"):
                actor.death = outcome
            record.events[name] = outcome

    expect = scenario_mod.Scenario.expect
    expect_event = scenario_mod.Scenario.expect_event
