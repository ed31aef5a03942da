"""Records of operations an actor is blocked in.

A blocked actor holds exactly one of these in :attr:`.process.Process.pending`.
When it is woken, :func:`.blocking.resume` continues the operation from the
record, the way the kernel continues a sleeping system call: a pipe write
keeps the bytes it already wrote, a FIFO open remembers the counter value it
is waiting to see change.
"""

from __future__ import annotations

from dataclasses import dataclass

from .descriptions import Description
from .pipes import Pipe


@dataclass(eq=False)
class PipeReadWait:
    desc: Description
    count: int


@dataclass(eq=False)
class PipeWriteWait:
    desc: Description
    data: bytes
    #: bytes already in the pipe: the return value if the write stops now
    done: int


@dataclass(eq=False)
class FifoOpenWait:
    #: the description being opened; it already counts as a reader or writer
    desc: Description
    pipe: Pipe
    #: "w" when waiting for a writer (opened for reading), "r" otherwise
    partner: str
    #: the partner counter when the open went to sleep
    seen: int
    cloexec: bool


@dataclass(eq=False)
class ChildWait:
    child: str


@dataclass(eq=False)
class SocketReadWait:
    desc: Description
    #: bytes asked for by read(); None for recvfd (one byte plus SCM_RIGHTS)
    count: int | None


@dataclass(eq=False)
class SignalWait:
    #: the signals sigtimedwait() accepts (never SIGKILL or SIGSTOP)
    sigs: frozenset[int]


Pending = SignalWait | PipeReadWait | PipeWriteWait | FifoOpenWait | ChildWait | SocketReadWait
