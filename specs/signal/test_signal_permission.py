"""Who may signal whom: kill(2)'s permission rule (seed claim L09's "one process notifies another").

A process without CAP_KILL may send a signal only to processes whose real or
saved user id equals its own real or effective user id. The actors drop to
fixed unprivileged ids with the ``become`` operation (setgroups, setgid,
setuid: real, effective and saved ids all change), which needs root.
"""

from conformance.backends.ops import ActorRef
from conformance.clauses import spec
from conformance.outcome import Errno, Killed, Value

USR1, TERM = 10, 15
#: two unprivileged identities that own nothing on the system
ALICE, BOB = 61001, 61002
MAN_KILL2 = "kill(2)"
PERMISSION_RULE = ("For a process to have permission to send a signal, it must either be "
                   "privileged (under Linux: have the CAP_KILL capability in the user namespace "
                   "of the target process), or the real or effective user ID of the sending "
                   "process must equal the real or saved set-user-ID of the target process.")


@spec(
    "signal.kill.other-user-eperm",
    "An unprivileged process that signals a process of another user fails with EPERM, and "
    "nothing is delivered.",
    source=(MAN_KILL2, "EPERM  The calling process does not have permission to send the signal "
                       "to any of the target processes. " + PERMISSION_RULE),
    requires=("root",),
    qualifies={"L09": "one process notifies another only if it may: an unprivileged process "
                      "can signal only processes of its own user (EPERM otherwise)"},
)
def test_kill_of_another_users_process_is_eperm(scenario):
    root = scenario.spawn("root")
    victim = root.fork("victim")
    victim.call("become", BOB, BOB)
    victim.call("sigprocmask", "block", (USR1,))
    sender = root.fork("sender")
    sender.call("become", ALICE, ALICE)
    scenario.expect(sender.do("kill", ActorRef("victim"), USR1), Errno("EPERM"))
    scenario.expect(victim.do("sigpending"), Value(()), "and nothing is pending at the target")


@spec(
    "signal.kill.same-user-allowed",
    "An unprivileged process may signal another process of the same user.",
    source=(MAN_KILL2, PERMISSION_RULE),
    requires=("root",),
    supports={"L09": "unrelated processes of one user notify each other with kill(2)"},
)
def test_kill_of_same_users_process_is_allowed(scenario):
    root = scenario.spawn("root")
    victim = root.fork("victim")
    victim.call("become", ALICE, ALICE)
    sender = root.fork("sender")
    sender.call("become", ALICE, ALICE)
    scenario.expect(sender.do("kill", ActorRef("victim"), TERM), Value(0))
    scenario.expect_event(victim, Killed("SIGTERM"))


@spec(
    "signal.kill.privileged-any-user",
    "A privileged process (CAP_KILL, as root has) may signal a process of any user.",
    source=(MAN_KILL2, PERMISSION_RULE),
    requires=("root",),
)
def test_root_may_signal_any_user(scenario):
    root = scenario.spawn("root")
    victim = root.fork("victim")
    victim.call("become", BOB, BOB)
    victim.call("sigprocmask", "block", (USR1,))
    scenario.expect(root.do("kill", ActorRef("victim"), USR1), Value(0))
    scenario.expect(victim.do("sigpending"), Value((USR1,)), "the signal waits, blocked, at the target")
