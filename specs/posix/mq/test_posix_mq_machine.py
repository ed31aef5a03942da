"""POSIX message queues used by several processes, checked step by step against the model.

A Hypothesis state machine: each rule is one operation of one idle actor —
mq_open, mq_send (plain and timed), mq_receive (plain and timed),
mq_getattr, mq_setattr, mq_notify, mq_unlink, mq_close, and fork, exit,
kill, signal handlers — run on the system under test and on
:class:`~conformance.models.posix.mq.MqModel` in lockstep
(:class:`~conformance.harness.checked.CheckedScenario`). Every outcome, and
every sleeping call that completes or process that dies as a consequence,
must agree; a difference is shrunk to the shortest step list that shows it,
and its reproducer replays it.

Timed calls use a timeout of 0 (it has run out when the call starts) or a
minute (they wait until served): a timeout that runs out *during* a step
would make the outcome depend on the scheduler.
"""

import os
import signal

from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from conformance.backends.ops import ActorRef
from conformance.clauses import spec
from conformance.harness.checked import CheckedScenario
from conformance.models.errors import Unmodelled
from conformance.models.posix.mq import MqLimits, MqModel

USR1 = int(signal.SIGUSR1)
MAX_ACTORS = 4
OPEN_FLAGS = st.sampled_from([
    os.O_RDWR | os.O_CREAT, os.O_RDWR | os.O_CREAT | os.O_EXCL, os.O_RDWR | os.O_CREAT | os.O_NONBLOCK,
    os.O_RDONLY, os.O_WRONLY, os.O_RDONLY | os.O_NONBLOCK, os.O_WRONLY | os.O_NONBLOCK, os.O_RDWR,
])
ATTRS = st.sampled_from([(2, 16), (1, 8), (3, 16)])
SIZES = st.sampled_from([0, 1, 8, 16, 17])
PRIOS = st.sampled_from([0, 0, 1, 5, 32767, 32768])
TIMEOUTS = st.sampled_from([0, 60 * 10**9])


def _root_sys_resource() -> bool:
    with open("/proc/self/status") as f:
        effective = next(int(line.split()[1], 16) for line in f if line.startswith("CapEff:"))
    return bool(os.geteuid() == 0 and effective >> 24 & 1)


class MqMachine(RuleBasedStateMachine):
    """Rules over queue names, queue descriptors and processes."""

    make_scenario = staticmethod(lambda: None)
    names: list[str] = []
    #: receive buffer sizes (a backend that cannot take a small one gets only large ones)
    bufsizes: tuple[int, ...] = (8, 16, 8192)
    #: mq_notify's registrations (a backend that cannot register SIGEV_NONE gets no "none")
    notify_sigs: tuple[object, ...] = (USR1, USR1, "none", None)

    def __init__(self) -> None:
        super().__init__()
        self.real = self.make_scenario()
        self.model = MqModel(MqLimits.from_proc(root_sys_resource=_root_sys_resource()))
        self.sc = CheckedScenario(self.real, self.model)  # type: ignore[arg-type]
        self.spawned = 0
        self.tag = 0
        #: descriptors each actor has held: calls go to these (open or closed since)
        self.known: dict[str, set[int]] = {}

    def teardown(self) -> None:
        self.real.close()

    def idle(self) -> list[str]:
        return self.sc.live_idle()

    def can_act(self) -> bool:
        return bool(self.idle())

    def actor(self, data: st.DataObject) -> str:
        return data.draw(st.sampled_from(self.idle()), label="actor")

    def mqd(self, data: st.DataObject, actor: str) -> int | None:
        known = sorted(self.known.get(actor, ()))
        return data.draw(st.sampled_from(known), label="mqd") if known else None

    def do(self, actor: str, op: str, *args: object) -> object:
        try:
            out = self.sc.do(actor, op, *args)
        except Unmodelled:
            reject()
        if op == "mq_open" and out.ok:
            self.known.setdefault(actor, set()).add(out.detail)
        if op == "fork" and out.ok:
            self.known[args[0]] = set(self.known.get(actor, ()))  # type: ignore[index]
        return out

    def _spawn(self) -> None:
        name = f"a{self.spawned}"
        self.spawned += 1
        self.sc.spawn(name)

    @initialize()
    def first(self) -> None:
        self._spawn()

    # -- processes ---------------------------------------------------------------
    @precondition(lambda self: len(self.model.alive()) < 2 or not self.idle())
    @rule()
    def spawn(self) -> None:
        self._spawn()

    @precondition(lambda self: self.can_act() and len(self.model.alive()) < MAX_ACTORS)
    @rule(data=st.data())
    def fork(self, data: st.DataObject) -> None:
        child = f"a{self.spawned}"
        self.spawned += 1
        self.do(self.actor(data), "fork", child)

    @precondition(lambda self: self.can_act() and len(self.model.alive()) > 1)
    @rule(data=st.data())
    def exit(self, data: st.DataObject) -> None:
        self.do(self.actor(data), "exit", 0)

    @precondition(lambda self: self.can_act() and len(self.model.alive()) > 1)
    @rule(data=st.data())
    def kill(self, data: st.DataObject) -> None:
        killer = self.actor(data)
        victims = sorted(self.model.alive() - {killer})
        self.do(killer, "kill", ActorRef(data.draw(st.sampled_from(victims), label="victim")), 9)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), disposition=st.sampled_from(["count", "count", "default"]))
    def usr1(self, data: st.DataObject, disposition: str) -> None:
        self.do(self.actor(data), "signal", USR1, disposition)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data())
    def usr1_count(self, data: st.DataObject) -> None:
        self.do(self.actor(data), "signal_count", USR1)

    # -- queues ------------------------------------------------------------------
    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), which=st.integers(0, 1), flags=OPEN_FLAGS, attr=ATTRS)
    def mq_open(self, data: st.DataObject, which: int, flags: int, attr: tuple[int, int]) -> None:
        self.do(self.actor(data), "mq_open", self.names[which], flags, 0o600, attr)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), which=st.integers(0, 1))
    def mq_unlink(self, data: st.DataObject, which: int) -> None:
        self.do(self.actor(data), "mq_unlink", self.names[which])

    def _on_mqd(self, data: st.DataObject, op: str, *args: object) -> None:
        actor = self.actor(data)
        mqd = self.mqd(data, actor)
        if mqd is not None:
            self.do(actor, op, mqd, *args)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data())
    def mq_close(self, data: st.DataObject) -> None:
        self._on_mqd(data, "mq_close")

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), size=SIZES, prio=PRIOS)
    def mq_send(self, data: st.DataObject, size: int, prio: int) -> None:
        self.tag += 1
        self._on_mqd(data, "mq_send", bytes([self.tag % 256]) * size, prio)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), size=SIZES, prio=PRIOS, timeout=TIMEOUTS)
    def mq_timedsend(self, data: st.DataObject, size: int, prio: int, timeout: int) -> None:
        self.tag += 1
        self._on_mqd(data, "mq_timedsend", bytes([self.tag % 256]) * size, prio, timeout)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data())
    def mq_receive(self, data: st.DataObject) -> None:
        self._on_mqd(data, "mq_receive", data.draw(st.sampled_from(self.bufsizes), label="bufsize"))

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), timeout=TIMEOUTS)
    def mq_timedreceive(self, data: st.DataObject, timeout: int) -> None:
        self._on_mqd(data, "mq_timedreceive", data.draw(st.sampled_from(self.bufsizes), label="bufsize"),
                     timeout)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data())
    def mq_getattr(self, data: st.DataObject) -> None:
        self._on_mqd(data, "mq_getattr")

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), flags=st.sampled_from([0, os.O_NONBLOCK]))
    def mq_setattr(self, data: st.DataObject, flags: int) -> None:
        self._on_mqd(data, "mq_setattr", flags)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data())
    def mq_notify(self, data: st.DataObject) -> None:
        self._on_mqd(data, "mq_notify", data.draw(st.sampled_from(self.notify_sigs), label="sig"))


@spec(
    "posix.mq.model.multi-process",
    "Any sequence of mq_open, mq_send, mq_timedsend, mq_receive, mq_timedreceive, mq_getattr, "
    "mq_setattr, mq_notify, mq_unlink and mq_close by several processes, with fork, exit, kill and "
    "signal handlers, has the outcomes the reference model predicts: which sleeping sender or "
    "receiver is served, which notification is sent and to whom, which process dies of it.",
    sources=[("mq_overview(7)", "POSIX message queues allow processes to exchange data in the form of "
                                "messages."),
             ("mq_send(3)", "Messages are placed on the queue in decreasing order of priority, with newer "
                            "messages of the same priority being placed after older messages with the "
                            "same priority."),
             ("mq_notify(3)", "Message notification occurs only when a new message arrives and the queue "
                              "was previously empty.")],
    supports={"L01": "POSIX message queues between any processes, in any interleaving"},
)
def test_posix_mq_machine(new_scenario, mq_names, ipc_backend):
    names = [mq_names.new(), mq_names.new()]
    # posix_ipc always receives into mq_msgsize bytes and cannot register SIGEV_NONE
    library = ipc_backend.name == "posix_ipc"

    def make_scenario():
        mq_names.sweep()  # each example starts without queues
        return new_scenario()

    machine = type("MqMachine", (MqMachine,), {
        "make_scenario": staticmethod(make_scenario),
        "names": names,
        "bufsizes": (8192,) if library else MqMachine.bufsizes,
        "notify_sigs": (USR1, USR1, None) if library else MqMachine.notify_sigs,
    })
    run_state_machine_as_test(machine)
