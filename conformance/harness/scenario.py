"""Scenarios: programs over several actors, run one step at a time.

A :class:`Scenario` owns a private working directory and the actors it
spawns. Each step sends one operation to one actor and returns its
:class:`~conformance.outcome.Outcome`. After every step the scenario *settles*:
it waits until every actor is quiescent — idle in its control channel, or
asleep (state ``S``) in the system call of a pending operation — and collects
what happened meanwhile (blocked operations that completed, actors that died).
Quiescence is read from ``/proc``; nothing waits for a fixed time.

Every step and event is kept in :attr:`Scenario.trace`, which becomes the
counterexample in a report and the input of a reproducer.

Standard library only: this module is embedded in reproducers.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from ..backends.ops import OPS, ActorRef
from ..outcome import BLOCKED, UNKNOWN_DEATH, Errno, Exited, Killed, Outcome, Value, from_wait_status
from . import procfs, protocol
from .actor import control_fd_floor
from .zygote import ZygoteClient

#: the calls an idle actor sleeps in while it waits for its next command
_IDLE_SYSCALLS = ("recvmsg", "recvfrom")
#: fields of System V stat results that hold a pid, and semctl's GETPID
_PID_FIELDS = ("lspid", "lrpid", "cpid", "lpid", "pid")
_GETPID = 11
#: operations that legitimately sleep while they run to completion
_NEVER_BLOCKED = ("shell",)


class BackendUnsupported(BaseException):
    """The backend under test cannot express an operation the spec needs.

    The plugin reports the clause as ``unsupported`` for that backend, with
    the backend's reason — never silently skipped. A BaseException, so that
    Hypothesis passes it straight through instead of shrinking it as a bug.
    """


class HarnessError(Exception):
    """The harness could not decide (setup failed, timeout, outside kill).

    The plugin reports the clause as ``broken`` with this message.
    """


@dataclass
class Step:
    """One operation, its outcome, and what settling afterwards observed."""

    actor: str
    op: str
    args: tuple[Any, ...]
    outcome: Outcome
    events: dict[str, Outcome] = field(default_factory=dict)
    #: what the model or the spec said the outcome must be, when known
    expected: Outcome | None = None
    #: what the model predicted settling would observe (model-checked steps only)
    expected_events: dict[str, Outcome] | None = None
    #: children reaped by a wait() that had been asleep and ended while settling
    reaped: dict[str, Outcome] = field(default_factory=dict, repr=False, compare=False)

    def describe(self) -> list[str]:
        shown = ", ".join(_show(a) for a in self.args)
        lines = [f"{self.actor}: {self.op}({shown}) {self.outcome}"]
        if self.expected is not None and self.expected != self.outcome:
            lines.append(f"    but expected {self.expected}")
        for name, event in self.events.items():
            lines.append(f"    then {name} {event}")
        return lines


def _show(value: Any) -> str:
    if isinstance(value, bytes) and len(value) > 24:
        return f"<{len(value)} bytes {value[:8]!r}...>"
    return repr(value)

#: scenarios of the current test, newest last; the plugin reads the trace of
#: the last one as the (shrunk) counterexample when a test fails.
RECENT: list[Scenario] = []
#: how many scenarios (Hypothesis examples) the current test has run
COUNT = [0]


class ActorHandle:
    """What a spec holds for an actor: the same on the kernel and on the model."""

    def __init__(self, scenario: Any, name: str) -> None:
        self.scenario = scenario
        self.name = name
        self.pending: tuple[str, tuple[Any, ...]] | None = None
        self.completion: Outcome | None = None
        self.death: Outcome | None = None

    @property
    def alive(self) -> bool:
        return self.death is None

    @property
    def blocked(self) -> bool:
        return self.pending is not None

    def do(self, op: str, *args: Any) -> Outcome:
        """Perform ``op`` and return its outcome (possibly ``blocked``)."""
        return self.scenario.step(self, op, args)  # type: ignore[no-any-return]

    def call(self, op: str, *args: Any) -> Any:
        """Perform ``op``, which must succeed; return its value."""
        outcome = self.do(op, *args)
        if outcome.kind != "value":
            raise AssertionError(
                f"{self.name}: {op}{args!r} {outcome}, but the scenario needs it to succeed"
            )
        return outcome.detail

    def fork(self, child: str) -> Any:
        self.call("fork", child)
        return self.scenario.actors[child]

    def finish(self, within: float | None = None) -> Outcome:
        """Wait for this actor's blocked call to end by itself (a timeout under test)."""
        return self.scenario.finish(self, within)  # type: ignore[no-any-return]


class Actor(ActorHandle):
    """The harness's handle on one actor process."""

    def __init__(self, scenario: Scenario, name: str, pid: int, channel: socket.socket,
                 root: bool) -> None:
        super().__init__(scenario, name)
        self.pid = pid
        self.channel = channel
        self.root = root
        #: its /proc files, held open while it lives (see procfs.TaskWatch)
        self.proc = procfs.TaskWatch(pid)

    def __repr__(self) -> str:
        return f"<actor {self.name} pid {self.pid}>"


class Scenario:
    """A set of actors in a private directory, driven one step at a time."""

    def __init__(self, zygote: ZygoteClient, base_dir: str | None = None,
                 step_timeout: float = 10.0, deadline: float = 300.0) -> None:
        self.zygote = zygote
        self.dir = tempfile.mkdtemp(prefix="scenario-", dir=base_dir)
        self.step_timeout = step_timeout
        self.deadline = time.monotonic() + deadline
        self.actors: dict[str, Actor] = {}
        #: the actors not yet known dead, in spawn order: what settling watches
        self._live: dict[str, Actor] = {}
        self.trace: list[Step] = []
        self.sessions: set[int] = set()
        self._sigkills: set[str] = set()
        self._idle_floor = control_fd_floor()
        self._closed = False
        RECENT.append(self)
        del RECENT[:-3]
        COUNT[0] += 1

    # -- lifecycle -----------------------------------------------------
    def __enter__(self) -> Scenario:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def spawn(self, name: str | None = None) -> Actor:
        name = name or f"a{len(self.actors)}"
        if name in self.actors:
            raise HarnessError(f"actor name {name!r} is already used in this scenario")
        try:
            pid, channel = self.zygote.spawn(self.dir)
            # Actors are forked ahead of time; this one now moves into the
            # scenario's directory before it takes its first step. The reply
            # is also the proof that it has finished preparing (signals back
            # to default, descriptors closed): another actor may signal it
            # at the very next step, and outside observers read its /proc.
            protocol.send(channel, ("__chdir__", (self.dir,)))
            protocol.recv(channel)
        except (OSError, RuntimeError, protocol.ChannelClosed) as exc:
            raise HarnessError(f"could not spawn actor {name}: {exc}") from exc
        actor = Actor(self, name, pid, channel, root=True)
        self.actors[name] = self._live[name] = actor
        self.sessions.add(pid)
        self.trace.append(Step(name, "spawn", (), Value(ActorRef(name))))
        self._settle(self.trace[-1], replied=actor)
        return actor

    def close(self) -> None:
        """Kill and reap every actor, then remove the directory."""
        if self._closed:
            return
        self._closed = True
        for actor in self.actors.values():
            if actor.alive:
                try:
                    os.killpg(actor.pid if actor.root else os.getpgid(actor.pid), signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            actor.channel.close()
            actor.proc.close()
        try:
            self.zygote.reap_all(kill=True)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
        left = procfs.session_members(self.sessions)
        if left:
            raise HarnessError(f"actor processes {left} survived the scenario's cleanup")

    # -- stepping ------------------------------------------------------
    def step(self, actor: Actor, op: str, args: tuple[Any, ...]) -> Outcome:
        if op not in OPS:
            raise HarnessError(f"unknown operation {op!r}; see conformance.backends.ops.OPS")
        if not actor.alive:
            raise HarnessError(f"{actor.name} is dead ({actor.death}); it cannot {op}")
        if actor.pending:
            raise HarnessError(f"{actor.name} is still blocked in {actor.pending[0]}")
        if time.monotonic() > self.deadline:
            raise HarnessError("the scenario ran past its deadline")
        wire_args = tuple(self._resolve(a) for a in args)
        if op == "kill" and args[1] == signal.SIGKILL and isinstance(args[0], ActorRef):
            self._sigkills.add(args[0].name)
        try:
            protocol.send(actor.channel, (op, wire_args))
        except OSError:
            pass  # it died; the wait below reads how
        outcome = self._await_reply(actor, op, args)
        record = Step(actor.name, op, args, outcome)
        self.trace.append(record)
        self._settle(record, replied=actor if outcome.kind in ("value", "errno") else None)
        return record.outcome  # a death's cause may have been learnt while settling

    def settle(self) -> dict[str, Outcome]:
        """Wait for quiescence again; returns the events it observed."""
        record = Step("-", "settle", (), Value(None))
        self._settle(record)
        if record.events:
            self.trace.append(record)
        return record.events

    def finish(self, actor: Actor, within: float | None = None) -> Outcome:
        """Wait until ``actor``'s pending call completes on its own.

        For calls whose timeout is the behavior under test (``semtimedop``,
        ``sigtimedwait``): the wait ends when the reply arrives, not after a
        fixed time; ``within`` (default: the step deadline) only bounds it.
        """
        if not actor.pending:
            # The call may already have ended while the step that saw it
            # asleep waited for quiescence (a short timeout runs out during
            # settling): its completion was recorded then.
            if actor.completion is not None and self._last_call_blocked(actor):
                return actor.completion
            raise HarnessError(f"{actor.name} has no pending call to finish")
        limit = time.monotonic() + (within if within is not None else self.step_timeout)
        backoff = Backoff()
        while not _readable([actor.channel], backoff.next()):
            if time.monotonic() > limit:
                raise HarnessError(f"{actor.name}: {actor.pending[0]} did not finish in time")
        record = Step(actor.name, "finish", (), BLOCKED)
        self._event(actor, record)
        record.outcome = record.events.pop(actor.name)
        self.trace.append(record)
        self._settle(record)
        return record.outcome

    def _last_call_blocked(self, actor: Actor) -> bool:
        """Whether ``actor``'s latest own step (not a finish) was left blocked."""
        for step in reversed(self.trace):
            if step.actor == actor.name and step.op != "finish":
                return step.outcome == BLOCKED
        return False

    def expect(self, outcome: Outcome, wanted: Outcome, why: str = "") -> None:
        """Assert that a step's outcome is ``wanted``, recording the expectation.

        The expectation is kept on the step so a counterexample and its
        reproducer show what should have happened, not only what did.
        """
        for step in reversed(self.trace):
            if step.outcome is outcome:
                step.expected = wanted
                break
        if outcome != wanted:
            last = self.trace[-1] if self.trace else None
            where = f"{last.actor}: {last.op}{last.args!r}: " if last else ""
            raise AssertionError(f"{where}got {outcome}, expected {wanted}" + (f" ({why})" if why else ""))

    def expect_event(self, actor: Actor, wanted: Outcome, why: str = "") -> None:
        """Assert that ``actor``'s blocked call completed (or it died) with ``wanted``."""
        if actor.pending:
            got: Outcome | None = BLOCKED
        elif actor.completion is not None:
            got = actor.completion
        else:
            got = actor.death
        if got != wanted:
            raise AssertionError(
                f"{actor.name}: pending call ended {got}, expected {wanted}" + (f" ({why})" if why else "")
            )

    def _resolve(self, arg: Any) -> Any:
        if isinstance(arg, ActorRef):
            if arg.name not in self.actors:
                raise HarnessError(f"no actor named {arg.name!r}")
            return self.actors[arg.name].pid
        return arg

    def _await_reply(self, actor: Actor, op: str, args: tuple[Any, ...]) -> Outcome:
        limit = time.monotonic() + self.step_timeout
        asleep_once = False
        backoff = Backoff()
        wait = 1e-4  # most replies come within this; only then look at /proc
        while True:
            if _readable([actor.channel], wait):
                return self._take_reply(actor, op, args)
            wait = backoff.next()
            task = actor.proc.task()
            if task.zombie or task.gone:
                continue  # its channel is about to read as closed
            if op not in _NEVER_BLOCKED and self._asleep_in_op(task):
                if asleep_once:
                    actor.pending = (op, args)
                    actor.completion = None
                    return BLOCKED
                asleep_once = True  # confirm on a second look, after a wait
                continue
            asleep_once = False
            if time.monotonic() > limit:
                where = f" (sleeping in {task.syscall})" if task.syscall else ""
                raise HarnessError(
                    f"{actor.name}: {op} neither returned nor blocked within "
                    f"{self.step_timeout:g}s{where}"
                )

    def _asleep_in_op(self, task: procfs.TaskState) -> bool:
        return task.state == "S" and task.syscall is not None and not self._idle(task)

    def _idle(self, task: procfs.TaskState) -> bool:
        return (task.syscall in _IDLE_SYSCALLS and bool(task.syscall_args)
                and task.syscall_args[0] >= self._idle_floor)

    def _take_reply(self, actor: Actor, op: str, args: tuple[Any, ...]) -> Outcome:
        try:
            reply, fds = protocol.recv(actor.channel)
        except (protocol.ChannelClosed, ConnectionError):
            return self._death(actor)
        kind, detail = reply
        if kind == "errno":
            return Errno(detail)
        if kind == "error":
            raise HarnessError(f"{actor.name}: the backend failed in {op}: {detail}")
        if kind == "unsupported":
            raise BackendUnsupported(f"{op}: {detail}")
        if op == "fork":
            child_name = args[0]
            if child_name in self.actors:
                raise HarnessError(f"actor name {child_name!r} is already used")
            child = Actor(self, child_name, detail, socket.socket(fileno=fds[0]), root=False)
            self.actors[child_name] = self._live[child_name] = child
            return Value(ActorRef(child_name))
        for fd in fds:
            os.close(fd)
        return Value(self._refs_in_result(op, args, detail))

    def _refs_in_result(self, op: str, args: tuple[Any, ...], detail: Any) -> Any:
        """Pids of actors in a result become ActorRefs, so the model can predict them."""
        if op == "getpid":
            return self._ref_for(detail)
        if isinstance(detail, dict):
            return {k: self._ref_for(v) if k in _PID_FIELDS and v else v for k, v in detail.items()}
        if op == "semctl" and len(args) > 2 and args[2] == _GETPID and detail:
            return self._ref_for(detail)
        return detail

    def _ref_for(self, pid: int) -> ActorRef | int:
        for other in self.actors.values():
            if other.pid == pid:
                return ActorRef(other.name)
        return pid

    def _death(self, actor: Actor) -> Outcome:
        """The channel closed: the actor died. Read how, from the kernel."""
        limit = time.monotonic() + self.step_timeout
        outcome: Outcome | None = None
        backoff = Backoff()
        while outcome is None:
            task = actor.proc.stat()
            if task.zombie and task.exit_code is not None:
                outcome = from_wait_status(task.exit_code)
            elif task.gone:
                outcome = UNKNOWN_DEATH  # reaped by its parent first
            elif time.monotonic() > limit:
                raise HarnessError(f"{actor.name} closed its channel but did not exit")
            else:
                select.select([], [], [], backoff.next())
        # The zombie stays until the scenario closes and the zygote reaps
        # every actor at once: one round trip per scenario, not per death.
        actor.proc.close()
        actor.death = outcome
        actor.pending = None
        self._live.pop(actor.name, None)
        if outcome == Killed("SIGKILL") and actor.name not in self._sigkills:
            raise HarnessError(
                f"{actor.name} (pid {actor.pid}) was killed by SIGKILL from outside the scenario"
            )
        return outcome

    def _settle(self, record: Step, replied: Actor | None = None) -> None:
        """Wait until every actor is quiescent; record completions and deaths.

        ``replied`` is the actor whose reply ended the step: it has nothing
        left to do but return to its channel, so it counts as idle at once
        (unless its channel shows it died).
        """
        limit = time.monotonic() + self.step_timeout
        backoff = Backoff()
        wait = 0.0
        while True:
            live = list(self._live.values())
            readable = _readable([a.channel for a in live], wait)
            busy = False
            for actor in live:
                if actor.channel.fileno() in readable:
                    self._event(actor, record)
                    busy = True
                    continue
                if actor is replied and not actor.pending:
                    continue
                task = actor.proc.task()
                if actor.pending and self._asleep_in_op(task):
                    continue
                if not actor.pending and task.state == "S" and self._idle(task):
                    continue
                busy = True
            if not busy:
                break
            if time.monotonic() > limit:
                states = {a.name: a.proc.task().state for a in live}
                raise HarnessError(f"actors did not settle within {self.step_timeout:g}s: {states}")
            wait = backoff.next()
        self._fill_unknown_deaths(record)

    def _event(self, actor: Actor, record: Step) -> None:
        if actor.pending:
            op, args = actor.pending
            outcome = self._take_reply(actor, op, args)
            actor.pending = None
            actor.completion = outcome
            record.events[actor.name] = outcome
            if op == "wait" and args and isinstance(args[0], ActorRef):
                record.reaped[args[0].name] = outcome
            return
        try:
            protocol.recv(actor.channel)
        except (protocol.ChannelClosed, ConnectionError):
            record.events[actor.name] = self._death(actor)
            return
        raise HarnessError(f"{actor.name} sent a reply nobody asked for")

    def _fill_unknown_deaths(self, record: Step) -> None:
        """A child reaped by its parent's wait before we read its status.

        The wait is the step itself, or a wait that was asleep and ended
        during this step (its completion is in ``record.reaped``).
        """
        reaped = dict(record.reaped)
        if record.op == "wait" and record.args and isinstance(record.args[0], ActorRef):
            reaped[record.args[0].name] = record.outcome
        for name, event in list(record.events.items()):
            record.events[name] = _death_from_wait(event, reaped.get(name))
        record.outcome = _death_from_wait(record.outcome, reaped.get(record.actor))


def _death_from_wait(event: Outcome, waited: Outcome | None) -> Outcome:
    """An unknown death (``exit`` with no status) as the parent's wait() reported it."""
    if event != UNKNOWN_DEATH or waited is None or waited.kind != "value":
        return event
    kind, detail = waited.detail
    return Killed(detail) if kind == "killed" else Exited(detail)


def _readable(channels: list[socket.socket], wait: float) -> set[int]:
    """Descriptors among ``channels`` with data (or EOF), waiting up to ``wait`` s."""
    if not channels:
        return set()
    ready, _w, _x = select.select(channels, [], [], wait)
    return {ch.fileno() for ch in ready}


class Backoff:
    """Growing waits between two looks at /proc while a state is reached.

    A process needs tens of microseconds to get from one system call to the
    next, so the first waits are that short; they grow to 20 ms so a long
    wait costs little CPU. Every wait is also cut short by a reply. (Waits
    shorter than 50 µs were tried: they cost the harness more /proc reads
    than they saved, and the CPU they took was the actors'.)
    """

    _STEPS = (0.0, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2)

    def __init__(self) -> None:
        self._i = 0

    def next(self) -> float:
        self._i += 1
        return self._STEPS[self._i] if self._i < len(self._STEPS) else 0.02

