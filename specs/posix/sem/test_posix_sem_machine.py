"""Named semaphores used by several processes, checked step by step against the model.

A Hypothesis state machine: each rule is one operation of one idle actor —
sem_open (every O_CREAT/O_EXCL combination, on a small pool of names),
sem_post, sem_trywait, sem_wait, sem_timedwait with an invalid deadline or
one already past, sem_getvalue, sem_close, sem_unlink, and fork, exit and
kill — run on the system under test and on the process model with its
:class:`~conformance.models.posix.sem.SemModel` in lockstep
(:class:`~conformance.harness.checked.CheckedScenario`). Every outcome, and
every sleeping wait that a post completes or a death abandons, must agree.

Timed waits never sleep here (an invalid ``tv_nsec``, or a timeout of 0):
a timeout that runs out *during* a step would make the outcome depend on
the scheduler.
"""

import os

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule, run_state_machine_as_test

from conformance.clauses import spec
from conformance.models import ProcessModel
from conformance.strategies.machine import MechanismMachine, machine_for, model_limits

OPEN_FLAGS = st.sampled_from([0, os.O_CREAT, os.O_CREAT | os.O_EXCL])


class SemMachine(MechanismMachine):
    """Named semaphores and processes; no files, pipes or FIFOs."""

    names: list[str] = []
    #: the deadlines of timed waits ((sec, nsec), relative); a backend that cannot
    #: pass an invalid or zero timeout gets a long one, used only where it cannot sleep
    deadlines: tuple[tuple[int, int], ...] = ((0, -1), (1, 1_000_000_000), (0, 0), (-1, 0))

    def setup_objects(self, actor: str) -> None:
        self.do(actor, "sem_open", self.names[0], os.O_CREAT, 0o600, 0)

    def handle(self, data: st.DataObject, actor: str) -> int:
        held = self.sc.model.submodel("posix_sem").handles(actor)
        return data.draw(st.sampled_from(held) if held else st.integers(0, 2), label="handle")

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), which=st.integers(0, 1), flags=OPEN_FLAGS, value=st.integers(0, 3))
    def sem_open(self, data: st.DataObject, which: int, flags: int, value: int) -> None:
        self.do(self.actor(data), "sem_open", self.names[which], flags, 0o600, value)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), op=st.sampled_from(["sem_post", "sem_trywait", "sem_getvalue", "sem_wait",
                                              "sem_close"]))
    def use(self, data: st.DataObject, op: str) -> None:
        actor = self.actor(data)
        self.do(actor, op, self.handle(data, actor))

    @precondition(lambda self: self.can_act())
    @rule(data=st.data())
    def sem_timedwait(self, data: st.DataObject) -> None:
        actor = self.actor(data)
        handle = self.handle(data, actor)
        sec, nsec = data.draw(st.sampled_from(self.deadlines), label="deadline")
        # A valid deadline only where the outcome cannot depend on time: a past one
        # (it fails or succeeds at once), a long one when the value is above 0.
        if 0 <= nsec < 1_000_000_000:
            sem = self.sc.model.submodel("posix_sem")
            held = handle in sem.handles(actor)
            if sec > 0 and not (held and sem.value(actor, handle) > 0):
                return
        self.do(actor, "sem_timedwait", handle, sec, nsec)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), which=st.integers(0, 1))
    def sem_unlink(self, data: st.DataObject, which: int) -> None:
        self.do(self.actor(data), "sem_unlink", self.names[which])


@spec(
    "posix.sem.model.multi-process",
    "Any sequence of sem_open, sem_post, sem_trywait, sem_wait, sem_timedwait (not sleeping), "
    "sem_getvalue, sem_close, sem_unlink, fork, exit and kill by several processes has the outcomes "
    "the reference model predicts, including which sleeping sem_wait a post completes; the value "
    "never goes below 0.",
    sources=[("sem_overview(7)", "A POSIX semaphore is an integer whose value is never allowed to fall "
                                 "below zero. Two operations can be performed on semaphores: increment "
                                 "the semaphore value by one (sem_post(3)); and decrement the semaphore "
                                 "value by one (sem_wait(3)). If the value of a semaphore is currently "
                                 "zero, then a sem_wait(3) operation will block until the value becomes "
                                 "greater than zero.")],
)
def test_posix_sem_machine(new_scenario, posix_names, ipc_backend):
    names = [posix_names.new(), posix_names.new()]

    def make_scenario():  # type: ignore[no-untyped-def]
        posix_names.given.extend(names)
        posix_names.sweep()  # each run starts with no semaphores
        posix_names.given.extend(names)  # and the fixture removes what it leaves
        return new_scenario()

    machine = machine_for(make_scenario, lambda: ProcessModel(**model_limits()), SemMachine)
    machine.names = names
    if ipc_backend.name == "posix_ipc":
        machine.deadlines = ((60, 0),)
    run_state_machine_as_test(machine)
