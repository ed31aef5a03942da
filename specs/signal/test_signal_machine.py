"""Signals among several processes, checked step by step against the model.

A Hypothesis state machine: each rule is one operation of one idle actor —
set a disposition (handler, ignore, default), change the signal mask, kill,
sigqueue with a value, sigpending, sigtimedwait (at once, or sleeping until a
signal comes), read a handler's count, wait for a child, and fork, exit and
kill — run on the system under test and on the process model in lockstep
(:class:`~conformance.harness.checked.CheckedScenario`). Every outcome must
agree: which signals are pending, which coalesced, the order and values of
queued real-time signals, which sleeping call a signal ends (EINTR, or the
signal itself), who dies of what, and the SIGCHLD a parent is told.

Five signals are enough to meet every rule: two standard ones whose
default action terminates (SIGUSR1, SIGTERM), SIGCHLD (ignored by default,
and sent by the kernel on a child's death), and the first two real-time
signals (they queue, lowest first).
"""

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from conformance.backends.ops import ActorRef
from conformance.clauses import spec
from conformance.strategies.machine import MechanismMachine, run_machine

USR1, TERM, CHLD = 10, 15, 17
RTMIN = 34  # glibc's SIGRTMIN
SIGNALS = (USR1, TERM, CHLD, RTMIN, RTMIN + 1)
#: a sigtimedwait that sleeps is given this long: it never runs out in a scenario
FOREVER_NS = 60_000_000_000


class SignalMachine(MechanismMachine):
    """Signals and processes; no files, pipes or FIFOs.

    The first actor starts with every signal blocked but SIGTERM, so the
    queueing rules are met early; bursts (one signal sent several times) and
    drains (sigtimedwait until nothing is left) are single rules, because a
    difference in how signals queue only shows over several operations.
    """

    def setup_objects(self, actor: str) -> None:
        self.do(actor, "sigprocmask", "set", tuple(s for s in SIGNALS if s != TERM))

    def signal_for(self, data: st.DataObject, actor: str) -> int:
        """Mostly a signal pending for the actor, if any (where the rules bite), else any."""
        pending = self.sc.model.pending_signals(actor)
        if pending and data.draw(st.booleans(), label="aim at a pending signal"):
            return data.draw(st.sampled_from(pending), label="sig")
        return data.draw(st.sampled_from(SIGNALS), label="sig")

    def targets(self) -> list[str]:
        """Actors a signal can reach (a reaped actor's pid may name another process)."""
        return sorted(self.sc.model.reachable())

    def observe(self, actor: str) -> None:
        """Look at what a step changed: the pending set and every handler's count."""
        if self.do(actor, "sigpending").kind != "value":
            return
        for sig in SIGNALS:
            self.do(actor, "signal_count", sig)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), disposition=st.sampled_from(["count", "ignore", "default"]))
    def set_disposition(self, data: st.DataObject, disposition: str) -> None:
        actor = self.actor(data)
        sig = self.signal_for(data, actor)
        if self.do(actor, "signal", sig, disposition).kind == "value":
            self.do(actor, "sigpending")  # ignoring a pending signal discards it

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), how=st.sampled_from(["block", "unblock", "set"]),
          others=st.sets(st.sampled_from(SIGNALS), max_size=2))
    def sigprocmask(self, data: st.DataObject, how: str, others: set[int]) -> None:
        actor = self.actor(data)
        sigs = others | {self.signal_for(data, actor)}
        if self.do(actor, "sigprocmask", how, tuple(sorted(sigs))).kind == "value":
            self.observe(actor)  # what was unblocked has been delivered

    def burst(self, data: st.DataObject, op: str, sig: int, times: int) -> None:
        """One signal sent a few times in a row, and maybe accepted right away.

        How signals queue shows only over several sends and several accepts.
        """
        sender = self.actor(data)
        target = data.draw(st.sampled_from(self.targets()), label="target")
        for _ in range(times):
            self.tag += 1  # every value differs: the order they come back in shows
            args = (ActorRef(target), sig, self.tag) if op == "sigqueue" else (ActorRef(target), sig)
            if self.do(sender, op, *args).kind != "value":
                return
        if target in self.idle() and data.draw(st.booleans(), label="target accepts at once"):
            self.drain_all(target)

    def drain_all(self, actor: str) -> None:
        """Accept pending signals, at once, until none is left."""
        for _ in range(6):
            if self.do(actor, "sigtimedwait", SIGNALS, 0).kind != "value":
                return

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), sig=st.sampled_from((0, *SIGNALS)), times=st.integers(1, 3))
    def kill_signal(self, data: st.DataObject, sig: int, times: int) -> None:
        self.burst(data, "kill", sig, times)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), sig=st.sampled_from(SIGNALS), times=st.integers(1, 3))
    def sigqueue(self, data: st.DataObject, sig: int, times: int) -> None:
        self.burst(data, "sigqueue", sig, times)

    def with_pending(self) -> list[str]:
        return [a for a in self.idle() if self.sc.model.pending_signals(a)]

    @precondition(lambda self: bool(self.with_pending()))
    @rule(data=st.data())
    def drain(self, data: st.DataObject) -> None:
        """An actor with signals pending accepts them, at once, until none is left."""
        self.drain_all(data.draw(st.sampled_from(self.with_pending()), label="actor"))

    def parents(self) -> list[str]:
        return [a for a in self.idle() if any(c in self.sc.model.alive() for c in self.sc.model.children(a))]

    @precondition(lambda self: bool(self.parents()))
    @rule(data=st.data(), sig=st.sampled_from((9, TERM, USR1, RTMIN)))
    def end_child(self, data: st.DataObject, sig: int) -> None:
        """A parent signals a child of its own, then accepts what is pending (SIGCHLD)."""
        parent = data.draw(st.sampled_from(self.parents()), label="parent")
        live = [c for c in self.sc.model.children(parent) if c in self.sc.model.alive()]
        child = data.draw(st.sampled_from(live), label="child")
        if self.do(parent, "kill", ActorRef(child), sig).kind == "value":
            self.drain_all(parent)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), sigs=st.sets(st.sampled_from(SIGNALS), min_size=1, max_size=3))
    def sleep_for_signal(self, data: st.DataObject, sigs: set[int]) -> None:
        """sigtimedwait that sleeps until a signal of the set comes (or a handler runs)."""
        self.do(self.actor(data), "sigtimedwait", tuple(sorted(sigs)), FOREVER_NS)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data())
    def wait(self, data: st.DataObject) -> None:
        parent = self.actor(data)
        children = self.sc.model.children(parent)
        if children:
            self.do(parent, "wait", ActorRef(data.draw(st.sampled_from(children), label="child")))


@spec(
    "signal.model.multi-process",
    "Any sequence of signal dispositions, mask changes, kill, sigqueue, sigpending, sigtimedwait, "
    "handler counts, wait, fork, exit and kill by several processes has the outcomes the reference "
    "model predicts: blocked signals stay pending, standard signals coalesce, real-time signals "
    "queue in order with their values, a handled signal interrupts a sleeping call, a sleeping "
    "sigtimedwait takes the signal it waits for, and a parent learns of its child's death.",
    sources=[
        ("signal(7)", "A signal may be blocked, which means that it will not be delivered until "
                      "it is later unblocked. Between the time when it is generated and when it "
                      "is delivered a signal is said to be pending."),
        ("signal(7)", "Standard signals do not queue. If multiple instances of a standard signal "
                      "are generated while that signal is blocked, then only one instance of the "
                      "signal is marked as pending (and the signal will be delivered just once "
                      "when it is unblocked)."),
        ("signal(7)", "Multiple instances of real-time signals can be queued."),
        ("sigwaitinfo(2)", "sigwaitinfo() suspends execution of the calling thread until one of "
                           "the signals in set is pending (If one of the signals in set is "
                           "already pending for the calling thread, sigwaitinfo() will return "
                           "immediately.)"),
    ],
    supports={"L09": "in generated multi-process sequences one process notifies another "
                     "asynchronously, with the queueing and masking rules the man pages give"},
)
def test_signal_machine(new_scenario):
    run_machine(SignalMachine, new_scenario)
