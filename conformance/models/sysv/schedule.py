"""Letting woken processes run, in every order that could matter.

Most System V wake-ups are decided by the waker: a semop completes the
operations of the sleepers it satisfies, a sender hands its message to a
sleeping receiver, a removal fails everyone with EIDRM. Two kinds of sleeper
are merely *woken* and finish their call themselves, under the queue's lock,
in whatever order the scheduler runs them:

* senders that ``ss_wakeup`` found room for (after a receive, or IPC_SET);
* receivers told to look again by IPC_SET.

One of them alone is deterministic. When several woken on the same queue
may interfere, the model runs every order on a copy of the world and
compares the results: if all agree it goes on, otherwise the real outcome
depends on timing and the model raises :class:`~..errors.Unmodelled` rather
than predict one order.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from ..errors import Unmodelled
from . import msg
from .state import World

#: how many alternative orders one step may explore before giving up
BRANCH_BUDGET = 200


class _Budget:
    def __init__(self) -> None:
        self.left = BRANCH_BUDGET

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise Unmodelled("too many woken processes whose order might matter")


def run_to_quiescence(world: World) -> World:
    """Run every woken process; returns the resulting world (maybe a copy)."""
    return _run(world, _Budget())


def resume(world: World, name: str) -> None:
    proc = world.procs[name]
    entry = proc.pending
    if not proc.alive or entry is None:
        return
    if isinstance(entry, msg.Sender):
        msg.resume_sender(world, proc, entry)
    elif isinstance(entry, msg.Receiver):
        msg.resume_receiver(world, proc, entry)


def _run(world: World, budget: _Budget) -> World:
    while world.woken:
        if len(world.woken) > 1 and _may_interfere(world):
            return _explore(world, budget)
        resume(world, world.woken.pop(0))
    return world


def _explore(world: World, budget: _Budget) -> World:
    finals = []
    for index in range(len(world.woken)):
        budget.spend()
        branch = copy.deepcopy(world)
        resume(branch, branch.woken.pop(index))
        finals.append(_run(branch, budget))
    first = fingerprint(finals[0])
    if any(fingerprint(other) != first for other in finals[1:]):
        raise Unmodelled("woken processes " + ", ".join(world.woken)
                         + " may run in either order and the order changes the outcome")
    return finals[0]


def _may_interfere(world: World) -> bool:
    queues = [getattr(world.procs[name].pending, "qid", None) for name in world.woken]
    return len(set(queues)) < len(queues)


def fingerprint(world: World) -> Any:
    """A canonical, comparable picture of everything in ``world``."""
    return _canon(world)


def _canon(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__,
                tuple(_canon(getattr(value, f.name)) for f in dataclasses.fields(value)))
    if isinstance(value, dict):
        # insertion order is history, not state
        return tuple(sorted((repr(k), _canon(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_canon(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return tuple(sorted(repr(v) for v in value))
    if isinstance(value, bytearray):
        return bytes(value)
    return value
