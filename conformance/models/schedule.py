"""Running woken processes until nothing more can happen, in every order that matters.

When one event wakes several sleepers, the kernel runs them in whatever order
the scheduler picks. Usually that order is invisible (three readers all
finding EOF), but not always: a reader that frees a slot of a full pipe
while leaving data behind wakes both the next reader and a writer, and how
much the second reader gets depends on who takes the pipe mutex first.

So whenever two woken processes may interfere, the model runs every order on
a copy of the world and compares the results. If they all agree the model
proceeds; if not, the real outcome depends on timing, and the model raises
:class:`~.errors.Unmodelled` instead of predicting one order's result.
"""

from __future__ import annotations

import copy
from itertools import combinations

from .blocking import resume
from .errors import Unmodelled
from .fingerprint import fingerprint as _host_fingerprint
from .pending import (
    ChildWait,
    FifoOpenWait,
    PipeReadWait,
    PipeWriteWait,
    SignalWait,
    SocketReadWait,
)
from .pipeio import readable
from .pipes import Pipe
from .sockets import SocketEnd
from .world import World

#: how many alternative orders one step may explore before giving up
BRANCH_BUDGET = 400


class _Budget:
    def __init__(self) -> None:
        self.left = BRANCH_BUDGET

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise Unmodelled("too many woken processes whose order might matter")


def run_to_quiescence(world: World) -> World:
    """Run every woken actor; returns the resulting world (maybe a copy)."""
    return _run(world, _Budget())


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
        name = branch.woken.pop(index)
        resume(branch, name)
        finals.append(_run(branch, budget))
    first = fingerprint(finals[0])
    if any(fingerprint(other) != first for other in finals[1:]):
        raise Unmodelled(
            "woken processes " + ", ".join(world.woken)
            + " may run in either order and the order changes the outcome"
        )
    return finals[0]


def fingerprint(world: World) -> tuple[object, ...]:
    """The host's picture of ``world`` and each hosted sub-model's own."""
    return (_host_fingerprint(world),
            tuple((name, sub.fingerprint()) for name, sub in sorted(world.subs.items())))


def _footprint(world: World, name: str) -> tuple[set[int], bool]:
    """Objects the actor's next run may touch, and whether that run is pure.

    A pure run neither changes shared state nor depends on it beyond what is
    already settled (EOF, a reaped child, a FIFO open that already succeeded),
    so it commutes with anything.
    """
    proc = world.procs[name]
    pending = proc.pending
    if pending is None or not proc.alive:
        return set(), True
    if isinstance(pending, ChildWait):
        return {id(world.procs.get(pending.child))}, True
    if isinstance(pending, SignalWait):
        # It takes a signal off its own queue, which a dying writer's
        # SIGCHLD to it could change.
        return {id(proc)}, False
    if isinstance(pending, FifoOpenWait):
        pipe = pending.pipe
        now = pipe.w_counter if pending.partner == "w" else pipe.r_counter
        return {id(pipe)}, now != pending.seen
    if isinstance(pending, PipeReadWait):
        source = pending.desc.obj
        assert isinstance(source, Pipe)
        eof = source.empty and source.writers == 0
        return {id(source)}, eof or (proc.interrupted and not readable(source))
    touched = {id(pending.desc.obj)}
    if isinstance(pending, PipeWriteWait):
        # The write may end in SIGPIPE, and the death closes everything the
        # writer holds and changes what its parent's wait() sees.
        touched |= {id(e.desc.obj) for e in proc.fds.values()}
        touched |= {id(proc), id(world.procs.get(proc.parent or ""))}
    elif isinstance(pending, SocketReadWait):
        # A read may drop (release) descriptions that rode in the message.
        end = pending.desc.obj
        assert isinstance(end, SocketEnd)
        for segment in end.queue[:1]:
            touched |= {id(d.obj) for d in segment.passed}
    return touched, False


def _may_interfere(world: World) -> bool:
    prints = [_footprint(world, name) for name in world.woken]
    for (objs_a, pure_a), (objs_b, pure_b) in combinations(prints, 2):
        if objs_a & objs_b and not (pure_a and pure_b):
            return True
    return False
