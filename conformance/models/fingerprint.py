"""A canonical, comparable picture of a :class:`~.world.World`.

Two worlds reached by running woken processes in different orders are "the
same" when every actor, descriptor and object looks alike, whatever Python
objects happen to hold them. Objects are numbered in the order a fixed walk
first meets them (actors by name, descriptors by number), so sharing is
compared too: two descriptors that share a description in one world must
share one in the other.
"""

from __future__ import annotations

from typing import Any

from .descriptions import Description
from .files import DevNull, FifoInode, RegularFile, SocketInode
from .pending import (
    ChildWait,
    FifoOpenWait,
    PipeReadWait,
    PipeWriteWait,
    SignalWait,
    SocketReadWait,
)
from .pipes import Pipe
from .sockets import SocketEnd
from .world import World


class _Labeller:
    def __init__(self) -> None:
        self.labels: dict[int, int] = {}
        self.order: list[Any] = []

    def __call__(self, obj: Any) -> int | None:
        if obj is None:
            return None
        key = id(obj)
        if key not in self.labels:
            self.labels[key] = len(self.order)
            self.order.append(obj)
        return self.labels[key]


def fingerprint(world: World) -> tuple[Any, ...]:
    label = _Labeller()
    procs = []
    for name in sorted(world.procs):
        p = world.procs[name]
        procs.append((
            name, p.state, p.death, p.parent, p.interrupted,
            tuple(sorted((repr(k), repr(v)) for k, v in p.variables.items())),
            tuple(sorted(p.dispositions.items())), tuple(sorted(p.counts.items())),
            tuple(sorted(p.mask)), tuple(p.signals),
            _pending(p.pending, label),
            tuple((fd, e.cloexec, label(e.desc)) for fd, e in sorted(p.fds.items())),
        ))
    directory = tuple((n, label(world.directory[n])) for n in sorted(world.directory))
    objects = []
    index = 0
    while index < len(label.order):  # describing an object may label more
        objects.append(_describe(label.order[index], label))
        index += 1
    events = tuple(sorted((k, repr(v)) for k, v in world.events.items()))
    return (tuple(procs), directory, tuple(objects), events, tuple(world.woken))


def _pending(pending: Any, label: _Labeller) -> Any:
    if pending is None:
        return None
    if isinstance(pending, PipeReadWait):
        return ("read", label(pending.desc), pending.count)
    if isinstance(pending, PipeWriteWait):
        return ("write", label(pending.desc), pending.data, pending.done)
    if isinstance(pending, FifoOpenWait):
        return ("open", label(pending.desc), label(pending.pipe), pending.partner, pending.seen,
                pending.cloexec)
    if isinstance(pending, SocketReadWait):
        return ("recv", label(pending.desc), pending.count)
    if isinstance(pending, SignalWait):
        return ("sigtimedwait", tuple(sorted(pending.sigs)))
    assert isinstance(pending, ChildWait)
    return ("wait", pending.child)


def _describe(obj: Any, label: _Labeller) -> Any:
    if isinstance(obj, Description):
        return ("desc", label(obj.obj), obj.accmode, obj.flags, label(obj.fifo), obj.offset,
                obj.refs, obj.fasync_registered)
    if isinstance(obj, Pipe):
        return ("pipe", obj.max_usage, obj.named,
                tuple((bytes(s.data), s.end, s.mergeable, s.packet) for s in obj.slots),
                obj.readers, obj.writers, obj.files, obj.r_counter, obj.w_counter,
                tuple(obj.rd_wait), tuple(obj.wr_wait), tuple(obj.openers))
    if isinstance(obj, SocketInode):
        return ("sockname", label(obj.end))
    if isinstance(obj, SocketEnd):
        return ("sock", obj.kind, label(obj.peer),
                tuple((bytes(s.data), tuple(label(d) for d in s.passed)) for s in obj.queue),
                obj.err, obj.peer_closed, obj.closed, obj.shut_rd, obj.shut_wr, tuple(obj.readers))
    if isinstance(obj, RegularFile):
        return ("file", bytes(obj.data), obj.has_hole, obj.mode)
    if isinstance(obj, FifoInode):
        return ("fifo", label(obj.pipe), obj.mode)
    assert isinstance(obj, DevNull)
    return ("null",)
