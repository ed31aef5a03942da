"""How much a queue holds, and what happens at the edges.

A queue's capacity is its ``msg_qbytes``, set from the namespace's MSGMNB
when it is created and changeable with IPC_SET (raising it past MSGMNB
needs privilege). A queue is full when another message would push either
the bytes of text *or the number of messages* past ``msg_qbytes``; a sender
then sleeps, or with IPC_NOWAIT fails with EAGAIN. A single message may not
exceed MSGMAX, and its type must be positive.

On the receiving side the buffer may be too small: msgrcv then fails with
E2BIG and leaves the message queued, unless MSG_NOERROR asks to cut the
text to fit.
"""

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.backends.sysv_ops import IPC_CREAT, IPC_NOWAIT, MSG_NOERROR
from conformance.clauses import spec
from conformance.outcome import BLOCKED, Errno, Value

S28_TEXT = ("`msgrcv` with type 5 receives only type-5 messages and waits for one; `msgsnd` with "
            "`IPC_NOWAIT` does not wait.")
FULL = ("msgop(2)", "If insufficient space is available in the queue, then the default behavior of "
                    "msgsnd() is to block until space becomes available.  If IPC_NOWAIT is specified in "
                    "msgflg, then the call instead fails with the error EAGAIN.")
FULL_BYTES = ("msgop(2)", "Adding a new message to the queue would cause the total number of bytes in "
                          "the queue to exceed the queue's maximum size (the msg_qbytes field).")
FULL_COUNT = ("msgop(2)", "Adding another message to the queue would cause the total number of messages "
                          "in the queue to exceed the queue's maximum size (the msg_qbytes field).  This "
                          "check is necessary to prevent an unlimited number of zero-length messages "
                          "being placed on the queue.")
TRUNCATE = ("msgop(2)", "If the message text has length greater than msgsz, then the behavior depends on "
                        "whether MSG_NOERROR is specified in msgflg.  If MSG_NOERROR is specified, then "
                        "the message text will be truncated (and the truncated part will be lost); if "
                        "MSG_NOERROR is not specified, then the message isn't removed from the queue and "
                        "the system call fails returning -1 with errno set to E2BIG.")
EINVAL_SND = ("msgop(2)", "EINVAL Invalid msqid value, or nonpositive mtype value, or invalid msgsz value "
                          "(less than 0 or greater than the system value MSGMAX).")
QBYTES_PRIV = ("msgctl(2)", "Appropriate privilege (Linux: the CAP_SYS_RESOURCE capability) is required "
                            "to raise the msg_qbytes value beyond the system parameter MSGMNB.")


def _queue(sc, keys, qbytes=None):
    owner = sc.spawn("owner")
    q = owner.call("msgget", keys.new(), IPC_CREAT | 0o600)
    if qbytes is not None:
        owner.call("msgctl_set", q, {"qbytes": qbytes})
    return owner, q


def _counts(out):
    """qnum and cbytes of an IPC_STAT outcome (or the outcome itself if it failed)."""
    return Value({"qnum": out.detail["qnum"], "cbytes": out.detail["cbytes"]}) if out.ok else out


@spec(
    "sysv.msg.e2big-keeps-message",
    "msgrcv with msgsz smaller than the message text (and no MSG_NOERROR) fails with E2BIG and "
    "leaves the message at its place in the queue, whole.",
    sources=[TRUNCATE,
             ("msgop(2)", "E2BIG  The message text length is greater than msgsz and MSG_NOERROR isn't "
                          "specified in msgflg.")],
)
@given(size=st.integers(1, 300), short=st.integers(1, 300))
def test_too_small_buffer_keeps_the_message(new_scenario, keys, size, short):
    room = min(short, size) - 1  # always at least one byte too few
    with new_scenario() as sc:
        owner, q = _queue(sc, keys)
        data = bytes(range(256)) * 2
        owner.call("msgsnd", q, 4, data[:size], 0)
        owner.call("msgsnd", q, 6, b"behind it", 0)
        sc.expect(owner.do("msgrcv", q, room, 0, IPC_NOWAIT), Errno("E2BIG"),
                  f"a {size}-byte text, room for {room}")
        sc.expect(owner.do("msgrcv", q, size, 0, IPC_NOWAIT), Value((4, data[:size])),
                  "the message is still first, whole")
        sc.expect(owner.do("msgrcv", q, 64, 0, IPC_NOWAIT), Value((6, b"behind it")),
                  "and the queue behind it unchanged")
        sc.expect(owner.do("msgctl_rmid", q), Value(0))


@spec(
    "sysv.msg.noerror-truncates",
    "With MSG_NOERROR, msgrcv of a message longer than msgsz returns its first msgsz bytes and "
    "removes the message: the rest of the text is lost.",
    sources=[TRUNCATE,
             ("msgop(2)", "MSG_NOERROR To truncate the message text if longer than msgsz bytes.")],
)
@given(size=st.integers(0, 300), room=st.integers(0, 310))
@example(size=10, room=4)
@example(size=10, room=0)
def test_noerror_truncates(new_scenario, keys, size, room):
    data = bytes((7 * k) % 256 for k in range(size))
    with new_scenario() as sc:
        owner, q = _queue(sc, keys)
        owner.call("msgsnd", q, 3, data, 0)
        sc.expect(owner.do("msgrcv", q, room, 0, MSG_NOERROR | IPC_NOWAIT), Value((3, data[:room])),
                  f"a {size}-byte text into {room} bytes")
        sc.expect(owner.do("msgrcv", q, 400, 0, IPC_NOWAIT), Errno("ENOMSG"),
                  "the message is gone, cut part and all")
        sc.expect(owner.do("msgctl_rmid", q), Value(0))


@spec(
    "sysv.msg.nowait-full-eagain",
    "msgsnd with IPC_NOWAIT fails at once with EAGAIN when the text would push the queue's bytes "
    "past msg_qbytes, and queues nothing; a message that fits is accepted.",
    sources=[FULL, FULL_BYTES,
             ("msgop(2)", "EAGAIN The message can't be sent due to the msg_qbytes limit for the queue "
                          "and IPC_NOWAIT was specified in msgflg."),
             ("seed S28", S28_TEXT)],
    supports={"S28": "msgsnd with IPC_NOWAIT never waits: on a full queue it fails with EAGAIN"},
)
@given(qbytes=st.integers(16, 400), sizes=st.lists(st.integers(1, 400), min_size=1, max_size=8))
@example(qbytes=100, sizes=[60, 50, 40])
@example(qbytes=100, sizes=[100, 1])
def test_nowait_send_to_a_full_queue(new_scenario, keys, qbytes, sizes):
    with new_scenario() as sc:
        owner, q = _queue(sc, keys, qbytes)
        queued: list[bytes] = []
        for i, size in enumerate(sizes):
            cbytes = sum(map(len, queued))
            fits = cbytes + size <= qbytes  # with sizes >= 1 the byte limit comes first
            wanted = Value(0) if fits else Errno("EAGAIN")
            message = bytes([i]) * size
            sc.expect(owner.do("msgsnd", q, 1, message, IPC_NOWAIT), wanted,
                      f"{size} bytes more on {cbytes} of {qbytes}")
            if fits:
                queued.append(message)
        for message in queued:
            sc.expect(owner.do("msgrcv", q, qbytes, 0, IPC_NOWAIT), Value((1, message)),
                      "the accepted messages, in order")
        sc.expect(owner.do("msgrcv", q, qbytes, 0, IPC_NOWAIT), Errno("ENOMSG"),
                  "refused messages were not queued")
        sc.expect(owner.do("msgctl_rmid", q), Value(0))


@spec(
    "sysv.msg.full-counts-messages",
    "A queue is also full when one more message would make the number of messages exceed "
    "msg_qbytes: with msg_qbytes = n, n empty messages fill it, and IPC_NOWAIT sends then fail "
    "with EAGAIN though no text byte is used.",
    sources=[FULL, FULL_COUNT],
)
@given(qbytes=st.integers(1, 12))
def test_empty_messages_fill_a_queue(new_scenario, keys, qbytes):
    with new_scenario() as sc:
        owner, q = _queue(sc, keys, qbytes)
        for i in range(qbytes):
            sc.expect(owner.do("msgsnd", q, 1, b"", IPC_NOWAIT), Value(0), f"empty message {i + 1}")
        sc.expect(owner.do("msgsnd", q, 1, b"", IPC_NOWAIT), Errno("EAGAIN"),
                  f"{qbytes} messages on a queue whose msg_qbytes is {qbytes}")
        sc.expect(owner.do("msgsnd", q, 1, b"x", IPC_NOWAIT), Errno("EAGAIN"),
                  "0 of its bytes are used, but the message count is at the limit")
        sc.expect(owner.do("msgctl_rmid", q), Value(0))


@spec(
    "sysv.msg.send-blocks-when-full",
    "Without IPC_NOWAIT, msgsnd to a queue without room sleeps until a receive makes room, then "
    "queues the message and returns 0.",
    sources=[FULL],
)
def test_sender_waits_for_room(scenario, keys):
    owner, q = _queue(scenario, keys, 100)
    sender = owner.fork("sender")
    scenario.expect(owner.do("msgsnd", q, 1, b"a" * 80, 0), Value(0))
    scenario.expect(sender.do("msgsnd", q, 2, b"b" * 40, 0), BLOCKED, "80 + 40 > 100: no room")
    scenario.expect(owner.do("msgrcv", q, 100, 0, IPC_NOWAIT), Value((1, b"a" * 80)))
    scenario.expect_event(sender, Value(0), "the receive made room")
    scenario.expect(owner.do("msgrcv", q, 100, 0, IPC_NOWAIT), Value((2, b"b" * 40)))
    scenario.expect(owner.do("msgctl_rmid", q), Value(0))


@spec(
    "sysv.msg.mtype-positive",
    "msgsnd with a message type of zero or less fails with EINVAL and queues nothing.",
    sources=[EINVAL_SND,
             ("msgop(2)", "The mtype field must have a strictly positive integer value.")],
)
@given(mtype=st.integers(-(2**63), 0))
@example(mtype=0)
@example(mtype=-1)
def test_type_must_be_positive(new_scenario, keys, mtype):
    with new_scenario() as sc:
        owner, q = _queue(sc, keys)
        sc.expect(owner.do("msgsnd", q, mtype, b"typed", IPC_NOWAIT), Errno("EINVAL"), f"mtype {mtype}")
        sc.expect(owner.do("msgrcv", q, 64, 0, IPC_NOWAIT), Errno("ENOMSG"), "nothing was queued")
        sc.expect(owner.do("msgctl_rmid", q), Value(0))


@spec(
    "sysv.msg.size-over-msgmax",
    "msgsnd of a text longer than MSGMAX (/proc/sys/kernel/msgmax) fails with EINVAL; a text of "
    "exactly MSGMAX bytes is sent.",
    sources=[EINVAL_SND,
             ("msgop(2)", "MSGMAX Maximum size of a message text, in bytes (default value: 8192 bytes).  "
                          "On Linux, this limit can be read and modified via /proc/sys/kernel/msgmax.")],
)
def test_text_longer_than_msgmax(scenario, keys, sysv_limits):
    msgmax = sysv_limits.get("msgmax")
    owner, q = _queue(scenario, keys, max(msgmax, sysv_limits.get("msgmnb")))
    scenario.expect(owner.do("msgsnd", q, 1, b"m" * (msgmax + 1), IPC_NOWAIT), Errno("EINVAL"),
                    f"MSGMAX is {msgmax}")
    scenario.expect(owner.do("msgsnd", q, 1, b"m" * msgmax, IPC_NOWAIT), Value(0), "exactly MSGMAX")
    scenario.expect(owner.do("msgrcv", q, 2 * msgmax, 0, IPC_NOWAIT), Value((1, b"m" * msgmax)),
                    "one message of MSGMAX bytes, and nothing of the refused one")
    scenario.expect(owner.do("msgctl_rmid", q), Value(0))


@spec(
    "sysv.msg.qbytes-from-msgmnb",
    "A new queue's msg_qbytes is the namespace's MSGMNB (/proc/sys/kernel/msgmnb) at the time "
    "of creation; queues created before a change keep theirs.",
    sources=[
        ("msgget(2)", "msg_qbytes is set to the system limit MSGMNB."),
        ("msgop(2)", "The queue capacity is governed by the msg_qbytes field in the associated data "
                     "structure for the message queue.  During queue creation this field is "
                     "initialized to MSGMNB bytes, but this limit can be modified using msgctl(2)."),
    ],
    requires=("root",),
)
def test_new_queues_take_msgmnb(scenario, keys, sysv_limits):
    msgmnb = sysv_limits.get("msgmnb")
    owner = scenario.spawn("owner")
    old = owner.call("msgget", keys.new(), IPC_CREAT | 0o600)
    sysv_limits.set("msgmnb", 1000)
    new = owner.call("msgget", keys.new(), IPC_CREAT | 0o600)
    for q, wanted in ((new, 1000), (old, msgmnb)):
        out = owner.do("msgctl_stat", q)
        scenario.expect(Value(out.detail["qbytes"]) if out.ok else out, Value(wanted),
                        "created with MSGMNB " + ("1000" if q == new else f"{msgmnb}"))
    scenario.expect(owner.do("msgsnd", new, 1, b"q" * 1000, IPC_NOWAIT), Value(0), "1000 bytes fit")
    scenario.expect(owner.do("msgsnd", new, 1, b"q", IPC_NOWAIT), Errno("EAGAIN"), "and no more")
    for q in (old, new):
        scenario.expect(owner.do("msgctl_rmid", q), Value(0))


@spec(
    "sysv.msg.qbytes-raise-needs-privilege",
    "The owner of a queue may lower its msg_qbytes and raise it again up to MSGMNB, but raising "
    "it beyond MSGMNB fails with EPERM for an unprivileged owner; a process with "
    "CAP_SYS_RESOURCE may (root without that capability may not).",
    sources=[
        QBYTES_PRIV,
        ("msgctl(2)", "EPERM  An attempt (IPC_SET) was made to increase msg_qbytes beyond the system "
                      "parameter MSGMNB, but the caller is not privileged (Linux: does not have the "
                      "CAP_SYS_RESOURCE capability)."),
    ],
    requires=("root",),
)
def test_raising_qbytes_needs_privilege(scenario, keys, sysv_limits, principals):
    msgmnb = sysv_limits.get("msgmnb")
    owner = principals.spawn_as(scenario, "owner", principals.creator)
    q = owner.call("msgget", keys.new(), IPC_CREAT | 0o600)

    def qbytes():
        out = owner.do("msgctl_stat", q)
        return Value(out.detail["qbytes"]) if out.ok else out

    scenario.expect(owner.do("msgctl_set", q, {"qbytes": msgmnb + 1}), Errno("EPERM"),
                    f"one byte over MSGMNB ({msgmnb})")
    scenario.expect(qbytes(), Value(msgmnb), "unchanged")
    scenario.expect(owner.do("msgctl_set", q, {"qbytes": msgmnb // 2}), Value(0), "lowering is free")
    scenario.expect(owner.do("msgctl_set", q, {"qbytes": msgmnb}), Value(0), "so is raising up to MSGMNB")
    scenario.expect(qbytes(), Value(msgmnb))
    root = scenario.spawn("root")
    if principals.root_has("CAP_SYS_RESOURCE"):
        scenario.expect(root.do("msgctl_set", q, {"qbytes": 2 * msgmnb}), Value(0),
                        "root with CAP_SYS_RESOURCE may go beyond")
        scenario.expect(qbytes(), Value(2 * msgmnb))
    else:
        scenario.expect(root.do("msgctl_set", q, {"qbytes": 2 * msgmnb}), Errno("EPERM"),
                        "root here lacks CAP_SYS_RESOURCE, the privilege this takes")
    scenario.expect(owner.do("msgctl_rmid", q), Value(0))
