"""A modelled process: descriptor table, variables, signal state, lifecycle.

Descriptor numbers are per process; the close-on-exec bit belongs to the
number, not to the description (F_GETFD/F_SETFD), so it sits in
:class:`FdEntry` next to the shared :class:`~.descriptions.Description`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..outcome import Outcome
from .descriptions import Description
from .pending import Pending

if TYPE_CHECKING:
    from .signals import SigInfo

State = Literal["alive", "zombie", "reaped"]


@dataclass(eq=False)
class FdEntry:
    desc: Description
    cloexec: bool = False


@dataclass(eq=False)
class Process:
    name: str
    #: spawned by the harness rather than forked by another actor; no actor
    #: can wait() for it, so once dead it stays a zombie
    root: bool
    #: the actor that forked it; None once that actor died (the harness's
    #: subreaper then owns it and nobody in the scenario can wait for it)
    parent: str | None = None
    fds: dict[int, FdEntry] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    dispositions: dict[int, str] = field(default_factory=dict)
    counts: dict[int, int] = field(default_factory=dict)
    #: real, effective and saved user id (``become`` sets all three)
    uid: int = 0
    #: the signal mask (blocked signals), inherited across fork and exec
    mask: set[int] = field(default_factory=set)
    #: pending signals in arrival order; a child starts with none
    signals: list[SigInfo] = field(default_factory=list)
    state: State = "alive"
    death: Outcome | None = None
    pending: Pending | None = None
    #: a 'count' signal arrived while blocked: the call must not sleep again
    interrupted: bool = False

    @property
    def alive(self) -> bool:
        return self.state == "alive"

    def lowest_free(self, nofile: int, start: int = 0) -> int | None:
        """The lowest unused number >= start below the RLIMIT_NOFILE limit."""
        fd = start
        while fd < nofile:
            if fd not in self.fds:
                return fd
            fd += 1
        return None

    def free_count(self, nofile: int, needed: int) -> bool:
        """Whether at least ``needed`` numbers are free."""
        return nofile - len([fd for fd in self.fds if fd < nofile]) >= needed

    def disposition(self, sig: int) -> str:
        return self.dispositions.get(sig, "default")
