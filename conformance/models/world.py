"""The whole modelled system in one object, so it can be copied and compared.

Everything the model knows lives in a :class:`World`: processes, the scenario
directory, and the bookkeeping of the step being run (who has been woken,
what happened). Nothing outside it holds state, so ``copy.deepcopy`` of a
world is a faithful snapshot; :mod:`.schedule` relies on that to try the
different orders in which the kernel may run woken processes. The hosted
mechanism sub-models (:mod:`.submodel`) live in the world too, so a copy of
the world copies them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..outcome import Outcome
from .constants import ARCH_FLAGS, PIPE_DEF_BUFFERS, ArchFlags
from .errors import ModelUsageError, Unmodelled
from .files import DevNull, Inode
from .pipes import Pipe
from .process import Process

if TYPE_CHECKING:
    from .submodel import SubModel


@dataclass(frozen=True)
class Config:
    """The host facts the model's predictions depend on."""

    page_size: int = 4096
    #: /proc/sys/fs/pipe-max-size
    pipe_max_size: int = 1048576
    #: holds CAP_SYS_RESOURCE: may grow pipes past pipe_max_size
    privileged: bool = True
    #: RLIMIT_NOFILE soft limit of the actors
    nofile: int = 1024
    arch: str = "x86_64"

    @property
    def flags(self) -> ArchFlags:
        try:
            return ARCH_FLAGS[self.arch]
        except KeyError:
            raise Unmodelled(f"architecture {self.arch!r}") from None

    def default_pipe_slots(self) -> int:
        """Slots of a new pipe (alloc_pipe_info), ignoring per-user quotas."""
        slots = PIPE_DEF_BUFFERS
        if slots * self.page_size > self.pipe_max_size and not self.privileged:
            slots = self.pipe_max_size // self.page_size
        return slots


@dataclass(eq=False)
class World:
    config: Config
    procs: dict[str, Process] = field(default_factory=dict)
    directory: dict[str, Inode] = field(default_factory=dict)
    devnull: DevNull = field(default_factory=DevNull)
    #: actors woken and about to run, in wake-up order
    woken: list[str] = field(default_factory=list)
    #: completions and deaths not yet reported by settle()
    events: dict[str, Outcome] = field(default_factory=dict)
    #: hosted mechanism sub-models by registry name (see :mod:`.submodel`)
    subs: dict[str, SubModel] = field(default_factory=dict)

    def proc(self, name: str) -> Process:
        try:
            return self.procs[name]
        except KeyError:
            raise ModelUsageError(f"no actor named {name!r}") from None

    def wake(self, name: str) -> None:
        if name not in self.woken:
            self.woken.append(name)

    def wake_one(self, queue: list[str]) -> None:
        """wake_up on an exclusive wait queue: the oldest sleeper only."""
        if queue:
            self.wake(queue.pop(0))

    def wake_all(self, queue: list[str]) -> None:
        while queue:
            self.wake(queue.pop(0))

    def new_pipe(self, named: bool) -> Pipe:
        return Pipe(max_usage=self.config.default_pipe_slots(), named=named)

    def record(self, name: str, outcome: Outcome) -> None:
        self.events[name] = outcome
