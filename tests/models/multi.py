"""Running a multi-actor script on the harness (real kernel) and on the model.

The harness (``conformance.harness.scenario``) drives real actor processes
and tells when one is asleep in a call. Actors here run the kernel backend
so that wait/sendfd/recvfd behave as C calls. After every step the outcome
and the events of the following settle must be the same on both sides.

Two harness observations are accepted as equal to the model's:

* a child reaped by its waiting parent before the harness could read its
  status shows up as ``exit None``; the parent's wait result carries it;
* a call that slept only until a process woken in the same step let it
  finish may be seen as blocked and then completing in the settle.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from conformance.harness.scenario import Scenario
from conformance.harness.zygote import ZygoteClient
from conformance.models import ProcessModel
from conformance.models.host import host_parameters
from conformance.outcome import BLOCKED, Outcome

BACKEND = "conformance.backends.kernel:KernelProcessOps"

Script = list[tuple[str, str, tuple[Any, ...]]]


def new_model() -> ProcessModel:
    return ProcessModel(**host_parameters())


def _unknown_exit(outcome: Outcome | None) -> bool:
    return outcome is not None and outcome.kind == "exit" and outcome.detail is None


class Twin:
    """A scenario run in lockstep on the harness and on the model."""

    def __init__(self, zygote: ZygoteClient) -> None:
        self.model = new_model()
        self.scenario = Scenario(zygote, step_timeout=5.0)
        self.index = 0

    def __enter__(self) -> Twin:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.scenario.close()

    def spawn(self, actor: str) -> None:
        self.scenario.spawn(actor)
        self.model.spawn(actor)

    def step(self, actor: str, op: str, *args: Any) -> tuple[Outcome, dict[str, Outcome]]:
        """One step on both sides (the model first: it may refuse with Unmodelled)."""
        want = self.model.step(actor, op, *args)
        want_events = self.model.settle()
        sc = self.scenario
        got = sc.actors[actor].do(op, *args)
        got_events = dict(sc.trace[-1].events)
        if got == BLOCKED and want != BLOCKED and got_events.get(actor) == want:
            got, got_events = want, {k: v for k, v in got_events.items() if k != actor}
        if _unknown_exit(got) and want.kind in ("exit", "signal"):
            got = want
        for name, event in list(got_events.items()):
            if _unknown_exit(event) and name in want_events:
                got_events[name] = want_events[name]
        where = f"step {self.index}: {actor}: {op}{_show(args)}"
        self.index += 1
        assert got == want, f"{where}: kernel {got}, model {want}\n{self.trace()}"
        assert got_events == want_events, (
            f"{where}: kernel events {got_events}, model events {want_events}\n{self.trace()}")
        return want, want_events

    def trace(self) -> str:
        return "\n".join(line for step in self.scenario.trace for line in step.describe())


def _show(args: tuple[Any, ...]) -> str:
    return "(" + ", ".join(f"<{len(a)} bytes>" if isinstance(a, bytes) and len(a) > 16 else repr(a)
                           for a in args) + ")"


def run_both(zygote: ZygoteClient, script: Script) -> list[tuple[Outcome, dict[str, Outcome]]]:
    """Run ``script`` on both sides, asserting agreement; the model's results."""
    results = []
    with Twin(zygote) as twin:
        for actor, op, args in script:
            if op == "spawn":
                twin.spawn(actor)
            else:
                results.append(twin.step(actor, op, *args))
    return results
