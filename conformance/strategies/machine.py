"""A Hypothesis state machine over actors, descriptors, pipes and FIFOs.

Each rule is one operation by one idle actor. It runs on the system under
test and on the reference model (:class:`~conformance.harness.checked.
CheckedScenario`); the outcomes — and every blocked call that completes or
process that dies as a consequence — must agree. Hypothesis explores
sequences no hand-written test has: a FIFO opened by a child whose parent
still holds the write end, a dup'ed non-blocking descriptor read by a sibling,
a pipe filled to the byte by two writers. A difference is shrunk to the
shortest step list that still shows it.

Descriptor numbers are drawn as small integers rather than tracked: the
model predicts the number every call returns, and a call on a number that is
not open must fail with the same errno on both sides.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from typing import Any

from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from ..backends.ops import ActorRef
from ..harness.checked import CheckedScenario
from ..models.errors import Unmodelled
from ..outcome import Outcome

#: the most actors a scenario keeps alive (more may be spawned if all block)
MAX_ACTORS = 4
FILES = ("f", "g")
FIFOS = ("p",)
FDS = st.integers(min_value=0, max_value=9)
#: sizes around the page and PIPE_BUF boundaries, and beyond the capacity
SIZES = st.sampled_from([0, 1, 7, 512, 4095, 4096, 4097, 8192, 65535, 65536, 70000])
OPEN_FLAGS = st.sampled_from([
    os.O_RDONLY, os.O_WRONLY, os.O_RDWR,
    os.O_RDWR | os.O_CREAT, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
    os.O_WRONLY | os.O_CREAT | os.O_APPEND, os.O_RDWR | os.O_CREAT | os.O_EXCL,
    os.O_RDONLY | os.O_NONBLOCK, os.O_WRONLY | os.O_NONBLOCK, os.O_RDWR | os.O_NONBLOCK,
])
FIFO_FLAGS = st.sampled_from([
    os.O_RDONLY, os.O_WRONLY, os.O_RDWR,
    os.O_RDONLY | os.O_NONBLOCK, os.O_WRONLY | os.O_NONBLOCK,
])


_CYCLE = bytes(range(251)) * 2


def payload(size: int, tag: int) -> bytes:
    """Recognisable bytes: which write they came from shows in any read.

    Byte ``i`` is ``(tag * 31 + i) % 251``: a cycle of 251 values that starts
    at a place set by the tag, built by repetition rather than byte by byte
    (a 64 KiB write would otherwise cost a fifth of a step's time).
    """
    start = tag * 31 % 251
    period = _CYCLE[start:start + 251]
    return (period * (size // 251 + 1))[:size]


def model_limits() -> dict[str, Any]:
    """The limits the model needs to predict this system exactly."""
    from ..models.host import host_parameters

    return host_parameters()


class ProcessMachine(RuleBasedStateMachine):
    """Rules for descriptors, regular files, pipes, FIFOs and processes.

    Subclasses are made by :func:`machine_for`, which binds the scenario
    factory of the running test.
    """

    make_scenario: Callable[[], Any]
    make_model: Callable[[], Any]

    def __init__(self) -> None:
        super().__init__()
        self.real = self.make_scenario()
        self.sc = CheckedScenario(self.real, self.make_model())
        self.spawned = 0
        self.tag = 0

    def teardown(self) -> None:
        self.real.close()

    # -- helpers ---------------------------------------------------------
    def idle(self) -> list[str]:
        return self.sc.live_idle()

    def actor(self, data: st.DataObject) -> str:
        return data.draw(st.sampled_from(self.idle()), label="actor")

    def fd(self, data: st.DataObject, actor: str) -> int:
        """Mostly a descriptor the actor has open (where the interest is), sometimes any."""
        open_now = [fd for fd in self.sc.model.open_fds(actor) if fd <= 9]
        # 0, 1 and 2 are /dev/null: worth a look now and then, not often
        beyond_std = [fd for fd in open_now if fd > 2]
        aim = data.draw(st.integers(0, 9), label="aim")
        if beyond_std and aim < 7:
            return data.draw(st.sampled_from(beyond_std), label="fd")
        if open_now and aim < 9:
            return data.draw(st.sampled_from(open_now), label="fd")
        return data.draw(FDS, label="fd")

    def do(self, actor: str, op: str, *args: Any) -> Outcome:
        try:
            return self.sc.do(actor, op, *args)
        except Unmodelled:
            # The kernel may legitimately do either of several things here
            # (e.g. which of two woken readers runs first): not a finding.
            reject()

    def can_act(self) -> bool:
        return bool(self.idle())

    # -- processes -------------------------------------------------------
    @initialize()
    def first_actor(self) -> None:
        self._spawn()
        self.setup_objects("a0")

    def setup_objects(self, actor: str) -> None:
        """Give the first actor something to work on (each machine its own)."""

    def _spawn(self) -> None:
        self.sc.spawn(f"a{self.spawned}")
        self.spawned += 1

    # A separately started process matters less than a forked one (it shares
    # nothing), so spawning is kept for when it is needed: one actor, or all
    # of them blocked.
    @precondition(lambda self: len(self.sc.model.alive()) < 2 or not self.idle())
    @rule()
    def spawn(self) -> None:
        self._spawn()

    @precondition(lambda self: self.can_act() and len(self.sc.model.alive()) < MAX_ACTORS)
    @rule(data=st.data())
    def fork(self, data: st.DataObject) -> None:
        child = f"a{self.spawned}"
        self.spawned += 1
        self.do(self.actor(data), "fork", child)

    @precondition(lambda self: self.can_act() and len(self.sc.model.alive()) > 1)
    @rule(data=st.data())
    def exit(self, data: st.DataObject) -> None:
        self.do(self.actor(data), "exit", 0)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), sig=st.sampled_from([9, 15]))
    def kill(self, data: st.DataObject, sig: int) -> None:
        killer = self.actor(data)
        victims = sorted(self.sc.model.alive() - {killer})
        if victims:
            victim = data.draw(st.sampled_from(victims), label="victim")
            self.do(killer, "kill", ActorRef(victim), sig)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), disposition=st.sampled_from(["ignore", "default"]))
    def sigpipe(self, data: st.DataObject, disposition: str) -> None:
        self.do(self.actor(data), "signal", 13, disposition)

    # -- descriptors -----------------------------------------------------
    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), name=st.sampled_from(FILES), flags=OPEN_FLAGS)
    def open_file(self, data: st.DataObject, name: str, flags: int) -> None:
        self.do(self.actor(data), "open", name, flags, 0o644)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data())
    def close(self, data: st.DataObject) -> None:
        actor = self.actor(data)
        self.do(actor, "close", self.fd(data, actor))

    @precondition(lambda self: self.can_act())
    @rule(data=st.data())
    def dup(self, data: st.DataObject) -> None:
        actor = self.actor(data)
        self.do(actor, "dup", self.fd(data, actor))

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), newfd=FDS)
    def dup2(self, data: st.DataObject, newfd: int) -> None:
        actor = self.actor(data)
        self.do(actor, "dup2", self.fd(data, actor), newfd)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), size=SIZES)
    def read(self, data: st.DataObject, size: int) -> None:
        actor = self.actor(data)
        self.do(actor, "read", self.fd(data, actor), size)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), size=SIZES)
    def write(self, data: st.DataObject, size: int) -> None:
        self.tag += 1
        actor = self.actor(data)
        self.do(actor, "write", self.fd(data, actor), payload(size, self.tag))

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), offset=st.sampled_from([-1, 0, 3, 5000]),
          whence=st.sampled_from([os.SEEK_SET, os.SEEK_CUR, os.SEEK_END]))
    def lseek(self, data: st.DataObject, offset: int, whence: int) -> None:
        actor = self.actor(data)
        self.do(actor, "lseek", self.fd(data, actor), offset, whence)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(),
          flags=st.sampled_from([0, os.O_NONBLOCK, os.O_APPEND, os.O_APPEND | os.O_NONBLOCK]))
    def set_status_flags(self, data: st.DataObject, flags: int) -> None:
        actor = self.actor(data)
        self.do(actor, "fcntl", self.fd(data, actor), fcntl.F_SETFL, flags)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data())
    def get_status_flags(self, data: st.DataObject) -> None:
        actor = self.actor(data)
        self.do(actor, "fcntl", self.fd(data, actor), fcntl.F_GETFL, 0)

    @precondition(lambda self: self.can_act() and len(self.sc.model.alive()) > 1)
    @rule(data=st.data())
    def same_description(self, data: st.DataObject) -> None:
        actor = self.actor(data)
        other = data.draw(st.sampled_from(sorted(self.sc.model.alive())), label="other")
        self.do(actor, "kcmp_file", ActorRef(other), self.fd(data, actor), self.fd(data, other))

    # -- pipes and FIFOs ---------------------------------------------------
    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), flags=st.sampled_from([0, os.O_NONBLOCK]))
    def pipe(self, data: st.DataObject, flags: int) -> None:
        self.do(self.actor(data), "pipe2", flags)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), name=st.sampled_from(FIFOS))
    def mkfifo(self, data: st.DataObject, name: str) -> None:
        self.do(self.actor(data), "mkfifo", name, 0o644)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), name=st.sampled_from(FIFOS), flags=FIFO_FLAGS)
    def open_fifo(self, data: st.DataObject, name: str, flags: int) -> None:
        self.do(self.actor(data), "open", name, flags, 0o644)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data())
    def fd_type(self, data: st.DataObject) -> None:
        actor = self.actor(data)
        self.do(actor, "fstat", self.fd(data, actor))


def machine_for(make_scenario: Callable[[], Any], make_model: Callable[[], Any],
                base: type[ProcessMachine] = ProcessMachine) -> type[ProcessMachine]:
    """A machine class bound to a test's scenario factory and model."""
    return type(base.__name__, (base,), {
        "make_scenario": staticmethod(make_scenario),
        "make_model": staticmethod(make_model),
    })


class DescriptorMachine(ProcessMachine):
    """Regular files, descriptors and processes only."""

    def setup_objects(self, actor: str) -> None:
        self.do(actor, "open", "f", os.O_RDWR | os.O_CREAT, 0o644)

    pipe = None  # type: ignore[assignment]
    mkfifo = None  # type: ignore[assignment]
    open_fifo = None  # type: ignore[assignment]


class PipeMachine(ProcessMachine):
    """Pipes with descriptors and processes; no named files."""

    def setup_objects(self, actor: str) -> None:
        self.do(actor, "pipe2", 0)

    open_file = None  # type: ignore[assignment]
    mkfifo = None  # type: ignore[assignment]
    open_fifo = None  # type: ignore[assignment]
    lseek = None  # type: ignore[assignment]


class FifoMachine(ProcessMachine):
    """FIFOs with descriptors and processes; no anonymous pipes or files."""

    def setup_objects(self, actor: str) -> None:
        self.do(actor, "mkfifo", "p", 0o644)

    open_file = None  # type: ignore[assignment]
    pipe = None  # type: ignore[assignment]
    lseek = None  # type: ignore[assignment]


class MechanismMachine(ProcessMachine):
    """Processes only, for a machine that adds the rules of another mechanism.

    The descriptor, pipe and FIFO rules have their own machines; here they
    would only dilute the mechanism's steps.
    """

    open_file = None  # type: ignore[assignment]
    pipe = None  # type: ignore[assignment]
    mkfifo = None  # type: ignore[assignment]
    open_fifo = None  # type: ignore[assignment]
    lseek = None  # type: ignore[assignment]
    read = None  # type: ignore[assignment]
    write = None  # type: ignore[assignment]
    close = None  # type: ignore[assignment]
    dup = None  # type: ignore[assignment]
    dup2 = None  # type: ignore[assignment]
    set_status_flags = None  # type: ignore[assignment]
    get_status_flags = None  # type: ignore[assignment]
    same_description = None  # type: ignore[assignment]
    fd_type = None  # type: ignore[assignment]
    sigpipe = None  # type: ignore[assignment]


def run_machine(base: type[ProcessMachine], new_scenario: Callable[[], Any]) -> None:
    """Run one state machine test with the test's scenario factory."""
    from hypothesis.stateful import run_state_machine_as_test

    from ..models import ProcessModel

    machine = machine_for(new_scenario, lambda: ProcessModel(**model_limits()), base)
    run_state_machine_as_test(machine)
