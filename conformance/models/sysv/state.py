"""All the System V model's state in one copyable object.

A :class:`World` holds the three tables of one IPC namespace, the processes
that use them, and the bookkeeping of the step being run. Nothing else holds
state, so ``copy.deepcopy`` of a world is a faithful snapshot; the scheduler
(:mod:`.schedule`) relies on that to try the orders in which woken processes
may run.

A process blocked in a call keeps, in :attr:`Proc.pending`, the very entry
it sleeps on in a wait queue - a message queue's sender or receiver record,
or a semaphore set's queued operation - so waking, interrupting or killing it
finds that entry at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

from ...outcome import Outcome
from ..errors import ModelUsageError
from .limits import Limits
from .namespace import IdTable
from .perm import Creds

if TYPE_CHECKING:
    from .msg import Queue, Receiver, Sender
    from .sem import SemSet, SemWaiter
    from .shm import Segment

Pending = Union["Sender", "Receiver", "SemWaiter"]


@dataclass(eq=False)
class Attachment:
    """One shmat of a process: what a C program would keep as a pointer."""

    shmid: int
    readonly: bool
    #: shm_segsz when attached: the backend's bounds for reads and writes
    size: int


@dataclass(eq=False)
class Proc:
    name: str
    creds: Creds
    alive: bool = True
    pending: Pending | None = None
    #: attachment handle -> attachment (copied by fork, emptied by exec)
    attachments: dict[int, Attachment] = field(default_factory=dict)
    #: whether this image has detached anything (shmat_at "previous" needs it)
    detached_once: bool = False
    #: sets this process holds a SEM_UNDO structure for, newest first (the
    #: kernel's list_proc order, in which exit applies them)
    sem_undos: list[int] = field(default_factory=list)

    def lowest_free_handle(self) -> int:
        handle = 0
        while handle in self.attachments:
            handle += 1
        return handle


@dataclass(eq=False)
class World:
    limits: Limits
    procs: dict[str, Proc] = field(default_factory=dict)
    msg: IdTable[Queue] = field(default_factory=lambda: IdTable("msg"))
    sem: IdTable[SemSet] = field(default_factory=lambda: IdTable("sem"))
    shm: IdTable[Segment] = field(default_factory=lambda: IdTable("shm"))
    #: semaphores in all sets (checked against SEMMNS)
    used_sems: int = 0
    #: pages of all segments (checked against SHMALL)
    shm_pages: int = 0
    #: processes woken that must run to finish or retry their call, in wake order
    woken: list[str] = field(default_factory=list)
    #: completions and deaths not yet reported by settle()
    events: dict[str, Outcome] = field(default_factory=dict)

    def proc(self, name: str) -> Proc:
        try:
            return self.procs[name]
        except KeyError:
            raise ModelUsageError(f"no actor named {name!r}") from None

    def wake(self, name: str) -> None:
        """``wake_q_add``: the process will run (and retry its call) before the step ends."""
        if name not in self.woken:
            self.woken.append(name)

    def complete(self, name: str, outcome: Outcome) -> None:
        """The blocked call of ``name`` is over, with ``outcome`` (decided by the waker)."""
        proc = self.procs[name]
        proc.pending = None
        if name in self.woken:
            self.woken.remove(name)
        self.events[name] = outcome
