"""Signal state through a process's life: fork, execve, dispositions that discard, SIGCHLD ignored.

What a process inherits decides whether a signal sent before a fork or an
exec still arrives after it; these clauses pin each part down with
sigpending(2) and sigtimedwait(2), which show what the kernel kept.
"""

from conformance.backends.ops import ActorRef
from conformance.clauses import spec
from conformance.outcome import UNKNOWN_DEATH, Errno, Killed, Value

USR1, USR2, TERM, CHLD = 10, 12, 15, 17
RT = 34  # glibc's SIGRTMIN
MAN_SIGNAL7 = "signal(7)"


@spec(
    "signal.fork.mask-inherited-pending-empty",
    "A child created by fork(2) has its parent's signal mask and no pending signals, even when "
    "its parent has some pending.",
    sources=[
        (MAN_SIGNAL7, "A child created via fork(2) inherits a copy of its parent's signal mask; "
                      "the signal mask is preserved across execve(2)."),
        (MAN_SIGNAL7, "A child created via fork(2) initially has an empty pending signal set; the "
                      "pending signal set is preserved across an execve(2)."),
    ],
)
def test_fork_inherits_mask_not_pending(scenario):
    parent = scenario.spawn("parent")
    parent.call("sigprocmask", "block", (USR1, RT))
    parent.call("kill", ActorRef("parent"), USR1)
    parent.call("sigqueue", ActorRef("parent"), RT, 7)
    child = parent.fork("child")
    scenario.expect(child.do("sigprocmask", "block", ()), Value((USR1, RT)), "the mask came along")
    scenario.expect(child.do("sigpending"), Value(()), "the pending signals did not")
    scenario.expect(parent.do("sigpending"), Value((USR1, RT)), "the parent still has both")


@spec(
    "signal.exec.handlers-reset-mask-kept",
    "Across execve(2) a handled signal goes back to its default action, an ignored one stays "
    "ignored, and the signal mask and pending signals are kept.",
    sources=[
        (MAN_SIGNAL7, "During an execve(2), the dispositions of handled signals are reset to the "
                      "default; the dispositions of ignored signals are left unchanged."),
        (MAN_SIGNAL7, "A child created via fork(2) initially has an empty pending signal set; the "
                      "pending signal set is preserved across an execve(2)."),
    ],
)
def test_exec_resets_handlers_keeps_mask(scenario):
    a, b = scenario.spawn("a"), scenario.spawn("b")
    a.call("signal", USR1, "count")
    a.call("signal", USR2, "ignore")
    a.call("sigprocmask", "block", (RT,))
    b.call("sigqueue", ActorRef("a"), RT, 5)
    scenario.expect(a.do("exec_self"), Value(0), "a runs a new program image")
    scenario.expect(a.do("sigprocmask", "block", ()), Value((RT,)), "the mask survived")
    scenario.expect(a.do("sigtimedwait", (RT,), 0), Value(
        {"signo": RT, "code": "SI_QUEUE", "pid": ActorRef("b"), "value": 5}), "and so did the signal")
    scenario.expect(b.do("kill", ActorRef("a"), USR2), Value(0))
    scenario.expect(a.do("getpid"), Value(ActorRef("a")), "SIGUSR2 is still ignored")
    b.call("kill", ActorRef("a"), USR1)
    scenario.expect_event(a, Killed("SIGUSR1"), "SIGUSR1's handler is gone: the default kills")


@spec(
    "signal.ignore.discards-pending",
    "Setting a pending signal's action to ignore discards it, even while it is blocked.",
    source=("POSIX.1-2017 XSH 2.4.3 Signal Actions",
            "Setting a signal action to SIG_IGN for a signal that is pending shall cause the "
            "pending signal to be discarded, whether or not it is blocked."),
)
def test_ignoring_discards_pending(scenario):
    a, b = scenario.spawn("a"), scenario.spawn("b")
    a.call("sigprocmask", "block", (USR1, USR2))
    b.call("kill", ActorRef("a"), USR1)
    b.call("kill", ActorRef("a"), USR2)
    scenario.expect(a.do("sigpending"), Value((USR1, USR2)))
    a.call("signal", USR1, "ignore")
    scenario.expect(a.do("sigpending"), Value((USR2,)), "SIGUSR1 was discarded, SIGUSR2 not")


@spec(
    "signal.sigchld.ignored-autoreaps",
    "When a parent sets SIGCHLD to be ignored, its children leave no zombie when they end: "
    "wait(2) for one fails with ECHILD.",
    source=("wait(2)", "POSIX.1-2001 specifies that if the disposition of SIGCHLD is set to "
                       "SIG_IGN or the SA_NOCLDWAIT flag is set for SIGCHLD (see sigaction(2)), "
                       "then children that terminate do not become zombies and a call to wait() "
                       "or waitpid() will block until all children have terminated, and then "
                       "fail with errno set to ECHILD."),
)
def test_ignored_sigchld_autoreaps(scenario):
    parent = scenario.spawn("parent")
    parent.call("signal", CHLD, "ignore")
    child = parent.fork("child")
    scenario.expect(child.do("exit", 4), UNKNOWN_DEATH, "reaped at once: no zombie keeps its status")
    scenario.expect(parent.do("wait", ActorRef("child")), Errno("ECHILD"), "nothing left to wait for")


@spec(
    "signal.sigtimedwait.lowest-first",
    "sigtimedwait(2) accepts pending signals lowest-numbered first, standard signals before "
    "real-time ones (the order among standard signals is Linux's own).",
    source=(MAN_SIGNAL7, "If both standard and real-time signals are pending for a process, "
                         "POSIX leaves it unspecified which is delivered first. Linux, like many "
                         "other implementations, gives priority to standard signals in this case."),
)
def test_sigtimedwait_takes_lowest_first(scenario):
    a, b = scenario.spawn("a"), scenario.spawn("b")
    a.call("sigprocmask", "block", (USR1, USR2, TERM, RT))
    for sig in (RT, TERM, USR2, USR1):
        b.call("kill", ActorRef("a"), sig)
    for sig in (USR1, USR2, TERM, RT):
        scenario.expect(a.do("sigtimedwait", (USR1, USR2, TERM, RT), 0), Value(
            {"signo": sig, "code": "SI_USER", "pid": ActorRef("b"), "value": 0}))
    scenario.expect(a.do("sigtimedwait", (USR1, USR2, TERM, RT), 0), Errno("EAGAIN"))

