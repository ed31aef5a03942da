"""Several actors, System V model against kernel, through the real harness.

What one process cannot show - who sleeps, who is woken, in what order, what
fork, exit, kill and exec do to attachments and SEM_UNDO - needs actors the
harness can watch (it reads from ``/proc`` whether an actor is asleep in
its call). :class:`SysVTwin` runs every step on the harness (actors on the
``kernel`` backend) and on :class:`SysVModel`, and asserts after each step
that the outcome and the completions and deaths that followed are the same.

This is also the model's intended comparison layer in miniature: scripts
name objects by the *model's* ids, and :class:`IdMap` translates them for
the kernel and pairs the ids each ``*get`` returns. The harness runs in the
test process's IPC namespace, whose ids the model cannot know.

Every object a twin created is removed when it closes (by this process,
through libc), so the project's leak guard finds nothing.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from conformance.backends.sysv_ops import IPC_RMID
from conformance.harness.scenario import Scenario
from conformance.harness.zygote import ZygoteClient
from conformance.models.sysv import IdMap, Limits, SysVModel
from conformance.outcome import BLOCKED, Outcome

from .libc import Libc

BACKEND = "conformance.backends.kernel:KernelProcessOps"


class SysVTwin:
    def __init__(self, zygote: ZygoteClient, limits: Limits | None = None) -> None:
        self.model = SysVModel(limits or Limits.from_proc())
        self.scenario = Scenario(zygote, step_timeout=5.0)
        self.ids = IdMap()
        self.index = 0

    def __enter__(self) -> SysVTwin:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.scenario.close()
        finally:
            # Whatever the script left (an object already removed just fails).
            remover = Libc("test")
            for kind, op in (("msg", "msgctl_rmid"), ("sem", "semctl"), ("shm", "shmctl_rmid")):
                for _model_id, real_id in self.ids.pairs(kind):
                    remover.run(op, (real_id, 0, IPC_RMID) if kind == "sem" else (real_id,))

    def spawn(self, *actors: str) -> None:
        for actor in actors:
            self.scenario.spawn(actor)
            self.model.spawn(actor)

    def step(self, actor: str, op: str, *args: Any) -> Outcome:
        """One step on both sides; ``args`` name objects by the model's ids.

        The model goes first: if it declines (Unmodelled) the kernel is not
        touched, and the caller may end the scenario there.
        """
        want = self.model.step(actor, op, *args)
        want_events = self.model.settle()
        sc = self.scenario
        got = sc.actors[actor].do(op, *self.ids.real_args(op, args))
        got_events = dict(sc.trace[-1].events)
        # A call that slept only until a process woken in the same step let it
        # finish may be seen asleep, then completing in the settle.
        if got == BLOCKED and want != BLOCKED and got_events.get(actor) == want:
            got = got_events.pop(actor)
        where = f"step {self.index}: {actor}: {op}{args!r}"
        self.index += 1
        assert self.ids.agree(op, want, got), f"{where}: kernel {got}, model {want}\n{self.trace()}"
        assert got_events == want_events, (
            f"{where}: kernel events {got_events}, model events {want_events}\n{self.trace()}")
        return want

    def finish(self, actor: str) -> Outcome:
        """Wait for ``actor``'s semtimedop to time out on the kernel; the model's expire()."""
        got = self.scenario.finish(self.scenario.actors[actor])
        got_events = dict(self.scenario.trace[-1].events)
        self.model.expire(actor)
        want_events = self.model.settle()
        want = want_events.pop(actor)
        assert got == want, f"{actor}: semtimedop ended {got} on the kernel, model {want}"
        assert got_events == want_events
        return want

    def trace(self) -> str:
        return "\n".join(line for step in self.scenario.trace for line in step.describe())
