"""A queue's life: it outlives its users, keeps a record of them, and ends at once.

A message queue belongs to no process. A message sent into it stays there
after its sender has exited, until some process receives it — so sender and
receiver need never run at the same time (the seed's slides, L02). The
queue's ``msqid_ds`` records who last sent and received and when, and how
much is queued. ``IPC_RMID`` ends the queue immediately: its messages are
discarded and every process asleep in msgsnd or msgrcv on it wakes with
EIDRM.
"""

from hypothesis import given
from hypothesis import strategies as st

from conformance.backends.ops import ActorRef
from conformance.backends.sysv_ops import IPC_CREAT, IPC_NOWAIT
from conformance.clauses import spec
from conformance.outcome import BLOCKED, Errno, Exited, Value

L02_TEXT = "With a message queue, sender and receiver need not exist at the same time."
RMID = ("msgctl(2)", "IPC_RMID Immediately remove the message queue, awakening all waiting reader and "
                     "writer processes (with an error return and errno set to EIDRM).")
SND_UPDATE = ("msgop(2)", "Upon successful completion the message queue data structure is updated as "
                          "follows: msg_lspid is set to the process ID of the calling process.  msg_qnum "
                          "is incremented by 1.  msg_stime is set to the current time.")
RCV_UPDATE = ("msgop(2)", "Upon successful completion the message queue data structure is updated as "
                          "follows: msg_lrpid is set to the process ID of the calling process.  msg_qnum "
                          "is decremented by 1.  msg_rtime is set to the current time.")


@spec(
    "sysv.msg.outlives-sender",
    "A message stays in its queue after the sending process has exited: a process started only "
    "afterwards opens the queue by key and receives it.",
    sources=[
        ("msgop(2)", "The msgsnd() system call appends a copy of the message pointed to by msgp to the "
                     "message queue whose identifier is specified by msqid."),
        ("sysvipc(7)", "System V message queues allow data to be exchanged in units called messages."),
        ("msgop(2), EXAMPLES", "The example program is first run with the -s option to send a message "
                               "and then run again with the -r option to receive a message."),
        ("seed L02", L02_TEXT),
    ],
    supports={"L02": "the sender has exited before the receiver exists, and the message is "
                     "delivered"},
)
def test_message_outlives_its_sender(scenario, keys):
    key = keys.new()
    sender = scenario.spawn("sender")
    q = sender.call("msgget", key, IPC_CREAT | 0o666)
    scenario.expect(sender.do("msgsnd", q, 1, b"left behind", 0), Value(0))
    scenario.expect(sender.do("exit", 0), Exited(0), "the sender is gone")
    receiver = scenario.spawn("receiver")  # did not exist while the sender lived
    scenario.expect(receiver.do("msgget", key, 0), Value(q))
    scenario.expect(receiver.do("msgrcv", q, 64, 0, IPC_NOWAIT), Value((1, b"left behind")))
    scenario.expect(receiver.do("msgctl_rmid", q), Value(0))


#: the fields of msqid_ds that operations move (times are "set or not")
TRACKED = ("qnum", "cbytes", "lspid", "lrpid", "stime", "rtime")


@spec(
    "sysv.msg.stat-tracks-operations",
    "IPC_STAT follows the queue's traffic: msg_qnum and msg_cbytes count the messages and text "
    "bytes queued, msg_lspid and msg_lrpid name the last process to send and to receive, and "
    "msg_stime and msg_rtime become set with the first send and receive.",
    sources=[
        SND_UPDATE, RCV_UPDATE,
        ("msgctl(2)", "msg_lspid  ID of the process that performed the last msgsnd(2) system call."),
        ("msgctl(2)", "msg_lrpid  ID of the process that performed the last msgrcv(2) system call."),
        ("msgctl(2)", "msg_qnum   Number of messages currently on the message queue."),
        ("seed L08", "Common control commands: `IPC_STAT` reads the object's data structure, `IPC_SET` "
                     "sets it, `IPC_RMID` removes the object."),
    ],
    supports={"L08": "IPC_STAT's msqid_ds is kept current by every send and receive"},
)
@given(steps=st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(["send", "recv"]),
                                st.integers(0, 50)), min_size=1, max_size=10))
def test_stat_follows_the_traffic(new_scenario, keys, steps):
    with new_scenario() as sc:
        a = sc.spawn("a")
        q = a.call("msgget", keys.new(), IPC_CREAT | 0o600)
        actors = {"a": a, "b": a.fork("b"), "c": a.fork("c")}
        queue: list[int] = []
        model = {"qnum": 0, "cbytes": 0, "lspid": 0, "lrpid": 0, "stime": False, "rtime": False}
        for name, op, size in steps:
            actor = actors[name]
            if op == "send":
                sc.expect(actor.do("msgsnd", q, 1, b"s" * size, IPC_NOWAIT), Value(0))
                queue.append(size)
                model.update(lspid=ActorRef(name), stime=True)
            elif queue:
                sc.expect(actor.do("msgrcv", q, 64, 0, IPC_NOWAIT), Value((1, b"s" * queue.pop(0))))
                model.update(lrpid=ActorRef(name), rtime=True)
            else:
                sc.expect(actor.do("msgrcv", q, 64, 0, IPC_NOWAIT), Errno("ENOMSG"))
            model.update(qnum=len(queue), cbytes=sum(queue))
            out = actors["c"].do("msgctl_stat", q)
            got = {k: out.detail[k] for k in TRACKED} if out.ok else out
            sc.expect(Value(got), Value(dict(model)), f"after {name}'s {op}")
        sc.expect(a.do("msgctl_rmid", q), Value(0))


@spec(
    "sysv.msg.rmid-wakes-receivers",
    "IPC_RMID wakes every process asleep in msgrcv on the queue, whatever type it waits for; "
    "each call fails with EIDRM.",
    sources=[RMID,
             ("msgop(2)", "EIDRM  While the process was sleeping to receive a message, the message queue "
                          "was removed.")],
)
def test_rmid_wakes_receivers(scenario, keys):
    owner = scenario.spawn("owner")
    q = owner.call("msgget", keys.new(), IPC_CREAT | 0o600)
    owner.call("msgsnd", q, 5, b"not what they want", 0)
    waiting = {msgtyp: owner.fork(f"wants{msgtyp}".replace("-", "_at_most_"))
               for msgtyp in (2, -3, 7)}
    for msgtyp, receiver in waiting.items():
        scenario.expect(receiver.do("msgrcv", q, 64, msgtyp, 0), BLOCKED, f"no type {msgtyp}")
    scenario.expect(owner.do("msgctl_rmid", q), Value(0))
    for msgtyp, receiver in waiting.items():
        scenario.expect_event(receiver, Errno("EIDRM"), f"the receiver of type {msgtyp} is woken")


@spec(
    "sysv.msg.rmid-wakes-senders",
    "IPC_RMID wakes every process asleep in msgsnd on the full queue; each call fails with EIDRM.",
    sources=[RMID,
             ("msgop(2)", "A blocked msgsnd() call may also fail if: the queue is removed, in which case "
                          "the system call fails with errno set to EIDRM")],
)
def test_rmid_wakes_senders(scenario, keys):
    owner = scenario.spawn("owner")
    q = owner.call("msgget", keys.new(), IPC_CREAT | 0o600)
    owner.call("msgctl_set", q, {"qbytes": 10})
    owner.call("msgsnd", q, 1, b"0123456789", 0)
    senders = [owner.fork(f"sender{i}") for i in range(2)]
    for i, sender in enumerate(senders):
        scenario.expect(sender.do("msgsnd", q, 1, b"x" * (i + 1), 0), BLOCKED, "the queue is full")
    scenario.expect(owner.do("msgctl_rmid", q), Value(0))
    for sender in senders:
        scenario.expect_event(sender, Errno("EIDRM"), f"{sender.name} is woken")
