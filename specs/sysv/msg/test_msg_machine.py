"""System V message queues used by several processes, checked step by step against the model."""

from conformance.clauses import spec
from conformance.strategies.sysv_machine import MsgMachine, run_sysv_machine


@spec(
    "sysv.msg.model.multi-process",
    "Any sequence of msgget (by key and IPC_PRIVATE, with IPC_CREAT/IPC_EXCL), msgsnd and msgrcv "
    "(by type, negative type, MSG_EXCEPT, MSG_NOERROR, IPC_NOWAIT or sleeping), IPC_STAT, IPC_SET"
    " of msg_qbytes and IPC_RMID by several processes that fork, exit, are killed or interrupted "
    "by a handled signal has the outcomes the reference model predicts, including which sleeping "
    "sender or receiver completes and when, under small MSGMAX/MSGMNB/MSGMNI.",
    sources=[
        ("msgop(2)", "If insufficient space is available in the queue, then the default behavior of "
                     "msgsnd() is to block until space becomes available."),
        ("msgop(2)", "If no message of the requested type is available and IPC_NOWAIT isn't specified "
                     "in msgflg, the calling process is blocked until one of the following conditions "
                     "occurs:"),
    ],
    requires=("root", "processes"),
)
def test_msg_machine(new_scenario, keys, cleanup, sysv_limits, ipc_backend):
    run_sysv_machine(MsgMachine, new_scenario, keys=keys, cleanup=cleanup, sysv_limits=sysv_limits,
                     ipc_backend=ipc_backend)
