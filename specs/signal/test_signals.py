"""Signals: asynchronous notification between processes (seed claim L09).

Delivery is observed without relying on the interpreter's own signal
machinery where it would blur the kernel's behavior: pending and queued
signals are read with sigpending(2) and accepted with sigtimedwait(2), which
report exactly what the kernel kept (Python's handlers coalesce repeated
deliveries by themselves, so they cannot show queueing).
"""

import signal

from conformance.backends.ops import ActorRef
from conformance.clauses import spec
from conformance.outcome import BLOCKED, Errno, Exited, Killed, Value

USR1, USR2, TERM, KILL, CHLD = 10, 12, 15, 9, 17
RT = signal.SIGRTMIN.value if hasattr(signal.SIGRTMIN, "value") else int(signal.SIGRTMIN)
PROC = ("processes",)
MAN_SIGNAL7 = "signal(7)"


def accepted(signo: int, code: str, sender: str, value: int = 0) -> Value:
    return Value({"signo": signo, "code": code, "pid": ActorRef(sender), "value": value})


@spec(
    "signal.handler.runs",
    "A signal sent with kill(2) to a process that installed a handler runs the handler "
    "in that process.",
    source=(MAN_SIGNAL7, "A process can change the disposition of a signal using sigaction(2) "
                         "or signal(2). Using these system calls, a process can elect one of the "
                         "following behaviors to occur on delivery of the signal: perform the "
                         "default action; ignore the signal; or catch the signal with a signal "
                         "handler, a programmer-defined function that is automatically invoked "
                         "when the signal is delivered."),
    supports={"L01": "signals are an IPC mechanism of Linux: one process's kill runs another's handler",
              "L09": "one process notifies another: the receiver's handler runs, asynchronously "
                     "to what it was doing"},
)
def test_handler_runs(scenario):
    a, b = scenario.spawn("a"), scenario.spawn("b")
    a.call("signal", USR1, "count")
    scenario.expect(b.do("kill", ActorRef("a"), USR1), Value(0))
    scenario.expect(a.do("signal_count", USR1), Value(1), "the handler ran once")


@spec(
    "signal.default.terminates",
    "With the default disposition, SIGTERM terminates the receiving process.",
    source=(MAN_SIGNAL7, "SIGTERM      P1990      Term    Termination signal"),
)
def test_default_action_terminates(scenario):
    a, b = scenario.spawn("a"), scenario.spawn("b")
    b.call("kill", ActorRef("a"), TERM)
    scenario.expect_event(a, Killed("SIGTERM"))


@spec(
    "signal.ignored.discarded",
    "A signal whose disposition is 'ignore' is discarded: the process lives on and nothing "
    "stays pending.",
    source=(MAN_SIGNAL7, "ignore the signal"),
)
def test_ignored_signal_is_discarded(scenario):
    a, b = scenario.spawn("a"), scenario.spawn("b")
    a.call("signal", TERM, "ignore")
    b.call("kill", ActorRef("a"), TERM)
    scenario.expect(a.do("sigpending"), Value(()), "an ignored signal is not kept")
    scenario.expect(a.do("getpid"), Value(ActorRef("a")), "and the process is alive")


@spec(
    "signal.sigkill.uncatchable",
    "SIGKILL cannot be caught or ignored: changing its disposition fails with EINVAL, and "
    "blocking it has no effect.",
    source=(MAN_SIGNAL7, "The signals SIGKILL and SIGSTOP cannot be caught, blocked, or ignored."),
)
def test_sigkill_cannot_be_caught_or_blocked(scenario):
    a = scenario.spawn("a")
    scenario.expect(a.do("signal", KILL, "ignore"), Errno("EINVAL"))
    a.call("sigprocmask", "block", (KILL, USR1))
    scenario.expect(a.do("sigprocmask", "block", ()), Value((USR1,)),
                    "the mask keeps SIGUSR1 but not SIGKILL")


@spec(
    "signal.blocked.stays-pending",
    "A blocked signal is not delivered but stays pending until it is unblocked; then it is "
    "delivered.",
    source=(MAN_SIGNAL7, "A signal may be blocked, which means that it will not be delivered "
                         "until it is later unblocked. Between the time when it is generated and "
                         "when it is delivered a signal is said to be pending."),
    supports={"L09": "notification is asynchronous: the receiver decides when it takes delivery"},
)
def test_blocked_signal_stays_pending(scenario):
    a, b = scenario.spawn("a"), scenario.spawn("b")
    a.call("signal", USR1, "count")
    a.call("sigprocmask", "block", (USR1,))
    b.call("kill", ActorRef("a"), USR1)
    scenario.expect(a.do("signal_count", USR1), Value(0), "not delivered while blocked")
    scenario.expect(a.do("sigpending"), Value((USR1,)))
    a.call("sigprocmask", "unblock", (USR1,))
    scenario.expect(a.do("signal_count", USR1), Value(1), "delivered once unblocked")
    scenario.expect(a.do("sigpending"), Value(()))


@spec(
    "signal.standard.coalesce",
    "A standard signal sent several times while pending is kept once: standard signals are "
    "not queued.",
    source=(MAN_SIGNAL7, "Standard signals do not queue. If multiple instances of a standard "
                         "signal are generated while that signal is blocked, then only one "
                         "instance of the signal is marked as pending (and the signal will be "
                         "delivered just once when it is unblocked)."),
    qualifies={"L09": "a standard signal carries no count: three notifications can arrive as one"},
)
def test_standard_signals_coalesce(scenario):
    a, b = scenario.spawn("a"), scenario.spawn("b")
    a.call("sigprocmask", "block", (USR1,))
    for _ in range(3):
        b.call("kill", ActorRef("a"), USR1)
    scenario.expect(a.do("sigtimedwait", (USR1,), 0), accepted(USR1, "SI_USER", "b"))
    scenario.expect(a.do("sigtimedwait", (USR1,), 0), Errno("EAGAIN"), "only one was kept")


@spec(
    "signal.realtime.queue-in-order",
    "Real-time signals queue: each sigqueue(3) is delivered once, in the order sent, with the "
    "value it carried; the lowest-numbered real-time signal is delivered first.",
    sources=[
        (MAN_SIGNAL7, "Multiple instances of real-time signals can be queued. By contrast, if "
                      "multiple instances of a standard signal are delivered while that signal "
                      "is currently blocked, then only one instance is queued."),
        (MAN_SIGNAL7, "Real-time signals are delivered in a guaranteed order. Multiple real-time "
                      "signals of the same type are delivered in the order they were sent. If "
                      "different real-time signals are sent to a process, they are delivered "
                      "starting with the lowest-numbered signal."),
    ],
    supports={"L09": "real-time signals even carry a value from sender to receiver"},
)
def test_realtime_signals_queue_in_order(scenario):
    a, b = scenario.spawn("a"), scenario.spawn("b")
    a.call("sigprocmask", "block", (RT, RT + 1))
    for value in (10, 20, 30):
        b.call("sigqueue", ActorRef("a"), RT + 1, value)
    b.call("sigqueue", ActorRef("a"), RT, 5)
    for signo, value in ((RT, 5), (RT + 1, 10), (RT + 1, 20), (RT + 1, 30)):
        scenario.expect(a.do("sigtimedwait", (RT, RT + 1), 0),
                        accepted(signo, "SI_QUEUE", "b", value))
    scenario.expect(a.do("sigtimedwait", (RT, RT + 1), 0), Errno("EAGAIN"))


@spec(
    "signal.sigchld.on-child-exit",
    "When a child terminates, its parent is sent SIGCHLD, identifying the child and its status.",
    sources=[
        (MAN_SIGNAL7, "SIGCHLD      P1990      Ign     Child stopped or terminated"),
        ("sigaction(2)", "SIGCHLD fills in si_pid, si_uid, si_status, si_utime, and si_stime, "
                         "providing information about the child."),
    ],
)
def test_sigchld_on_child_exit(scenario):
    a = scenario.spawn("a")
    a.call("sigprocmask", "block", (CHLD,))
    child = a.fork("c")
    scenario.expect(child.do("exit", 3), Exited(3))
    scenario.expect(a.do("sigtimedwait", (CHLD,), 0), accepted(CHLD, "CLD_EXITED", "c", 3))


@spec(
    "signal.interrupts-blocked-call",
    "A signal caught by a handler installed without SA_RESTART interrupts a read(2) that is "
    "blocked on an empty pipe: the read fails with EINTR.",
    source=("signal(7)", "If a blocked call to one of the following interfaces is interrupted by "
                         "a signal handler, then the call is automatically restarted after the "
                         "signal handler returns if the SA_RESTART flag was used; otherwise the "
                         "call fails with the error EINTR"),
)
def test_signal_interrupts_blocked_read(scenario):
    a, b = scenario.spawn("a"), scenario.spawn("b")
    a.call("signal", USR1, "count")
    r, _w = a.call("pipe")
    scenario.expect(a.do("read", r, 1), BLOCKED)
    b.call("kill", ActorRef("a"), USR1)
    scenario.expect_event(a, Errno("EINTR"))


@spec(
    "signal.sigtimedwait.times-out",
    "sigtimedwait(2) with a timeout returns EAGAIN when no awaited signal arrives in time.",
    source=("sigwaitinfo(2)", "EAGAIN No signal in set became pending within the timeout "
                              "period specified to sigtimedwait()."),
    requires=PROC,
)
def test_sigtimedwait_times_out(scenario):
    a = scenario.spawn("a")
    a.call("sigprocmask", "block", (USR2,))
    scenario.expect(a.do("sigtimedwait", (USR2,), 50_000_000), BLOCKED, "it waits")
    scenario.expect(a.finish(), Errno("EAGAIN"))
