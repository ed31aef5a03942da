"""What a message is: a unit with a type and a text, whole or not at all.

The seed (S27) sets message queues against pipes: a pipe carries a stream of
bytes in which writes run together, a queue carries *messages* that come out
as they went in. ``msgsnd`` appends one message; ``msgrcv`` removes one
message and returns it; nothing ever splits or joins them. The size passed
to either call is the length of the *text* alone — the ``long mtype`` in
front of it is not counted, which the seed's sender (S29) gets wrong.

Because the kernel keeps each message whole and hands each one to exactly
one receiver, processes need no locks of their own around a queue, and what
a receiver gets is always a message nobody has read before.
"""

from collections import Counter

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.backends.sysv_ops import IPC_CREAT, IPC_NOWAIT
from conformance.clauses import spec
from conformance.outcome import BLOCKED, Errno, Value

S27_TEXT = ("A message queue keeps message boundaries (block units, unlike a pipe's byte stream), needs "
            "no extra synchronization, and lets a reader tell new data from old.")
S29_TEXT = ("(sender example) `msgsnd(id, &msg, sizeof(struct msgbuf), ...)` sends a message whose "
            "size is the whole struct.")
MSGSND = ("msgop(2)", "The msgsnd() system call appends a copy of the message pointed to by msgp to the "
                      "message queue whose identifier is specified by msqid.")
MSGRCV = ("msgop(2)", "The msgrcv() system call removes a message from the queue specified by msqid and "
                      "places it in the buffer pointed to by msgp.")
MTEXT_SIZE = ("msgop(2)", "The mtext field is an array (or other structure) whose size is specified by "
                          "msgsz, a nonnegative integer value.  Messages of zero length (i.e., no mtext "
                          "field) are permitted.")
RCV_SIZE = ("msgop(2)", "The argument msgsz specifies the maximum size in bytes for the member mtext of "
                        "the structure pointed to by the msgp argument.")
BIG = 8192  # a receive buffer larger than any message these specs send (MSGMAX's default)


def text(i: int, size: int) -> bytes:
    """``size`` bytes that tell message ``i`` apart from every other one."""
    return bytes((i * 31 + k) % 251 for k in range(size))


@spec(
    "sysv.msg.boundaries",
    "Each msgrcv returns exactly one message, with the text exactly as msgsnd sent it, in the "
    "order sent — whatever the sizes, including empty messages: messages are never joined or "
    "split the way a pipe's writes are.",
    sources=[MSGSND, MSGRCV, MTEXT_SIZE,
             ("sysvipc(7)", "System V message queues allow data to be exchanged in units called "
                            "messages."),
             ("seed S27", S27_TEXT)],
    supports={"L01": "message queues are an IPC mechanism of Linux: a message sent is received whole",
              "S27": "every message comes out whole and alone, where a pipe would have joined them"},
)
@given(sizes=st.lists(st.integers(0, 600), min_size=1, max_size=8))
@example(sizes=[3, 5, 0, 7])
@example(sizes=[0, 0])
def test_messages_keep_their_boundaries(new_scenario, keys, sizes):
    with new_scenario() as sc:
        sender = sc.spawn("sender")
        q = sender.call("msgget", keys.new(), IPC_CREAT | 0o600)
        receiver = sender.fork("receiver")
        for i, size in enumerate(sizes):
            sc.expect(sender.do("msgsnd", q, 1, text(i, size), 0), Value(0))
        for i, size in enumerate(sizes):
            sc.expect(receiver.do("msgrcv", q, BIG, 0, IPC_NOWAIT), Value((1, text(i, size))),
                      f"message {i} of {len(sizes)}, {size} bytes, alone and whole")
        sc.expect(receiver.do("msgrcv", q, BIG, 0, IPC_NOWAIT), Errno("ENOMSG"), "nothing else")
        sc.expect(sender.do("msgctl_rmid", q), Value(0))


@spec(
    "sysv.msg.size-counts-text",
    "The size of a message is the length of its text alone: msg_cbytes counts text bytes only "
    "(not the mtype), and msgrcv with msgsz equal to the text length receives it whole.",
    sources=[MTEXT_SIZE, RCV_SIZE,
             ("msgctl(2)", "msg_cbytes Number of bytes in all messages currently on the message queue.  "
                           "This is a nonstandard Linux extension that is not specified in POSIX.")],
    supports={"S27": "a message is its type plus exactly the text bytes sent"},
)
@given(sizes=st.lists(st.integers(0, 300), min_size=1, max_size=6))
@example(sizes=[1, 8, 128])
def test_size_is_the_text_length(new_scenario, keys, sizes):
    with new_scenario() as sc:
        a = sc.spawn("a")
        q = a.call("msgget", keys.new(), IPC_CREAT | 0o600)
        for i, size in enumerate(sizes):
            sc.expect(a.do("msgsnd", q, 2, text(i, size), 0), Value(0))
        out = a.do("msgctl_stat", q)
        counts = {"qnum": out.detail["qnum"], "cbytes": out.detail["cbytes"]} if out.ok else out
        sc.expect(Value(counts), Value({"qnum": len(sizes), "cbytes": sum(sizes)}),
                  "cbytes is the sum of the text lengths, nothing for the mtypes")
        for i, size in enumerate(sizes):
            sc.expect(a.do("msgrcv", q, size, 0, IPC_NOWAIT), Value((2, text(i, size))),
                      f"msgsz {size} holds a {size}-byte text")
        sc.expect(a.do("msgctl_rmid", q), Value(0))


#: the seed's struct msgbuf: long mtype; char mtext[128]
SEED_MTEXT = 128
SEED_SIZEOF_MSGBUF = 8 + SEED_MTEXT
#: what lies in memory after the seed's struct: unknown; these bytes stand for it
BEYOND = bytes([0xA5] * (SEED_SIZEOF_MSGBUF - SEED_MTEXT))


@spec(
    "sysv.msg.seed-sender-size",
    "msgsz is the length of mtext only, so the seed's msgsnd(id, &msg, sizeof(struct msgbuf), "
    "IPC_NOWAIT) with a 128-byte mtext sends a 136-byte text — the mtext and the 8 bytes that "
    "follow the struct — which a receiver sized for mtext refuses (E2BIG) and the seed's receiver "
    "takes by copying 136 bytes into its 128-byte mtext.",
    sources=[
        MTEXT_SIZE, RCV_SIZE,
        ("msgop(2)", "E2BIG  The message text length is greater than msgsz and MSG_NOERROR isn't "
                     "specified in msgflg."),
        ("seed S29", S29_TEXT),
        ("seed 000 §6 (sender)", "msgsnd(key_id, &msg, sizeof(struct msgbuf), IPC_NOWAIT);"),
        ("seed 000 §6 (receiver)", "msgrcv(key_id, &msg, sizeof(struct msgbuf), 5, 0);"),
    ],
    contradicts={"S29": "the size argument counts mtext only: sizeof(struct msgbuf) sends 136 text "
                        "bytes, 8 of them read from beyond the struct, and the mtype is not part of "
                        "the size at all; the right argument is sizeof(msg.mtext)"},
)
def test_the_seeds_sender_sends_too_much(scenario, keys):
    mtext = b"This is MQ!\n".ljust(SEED_MTEXT, b"\0")
    sent = mtext + BEYOND  # msgsnd reads sizeof(struct msgbuf) bytes starting at mtext
    key = keys.new()  # the seed's programs both call msgget((key_t)7777, IPC_CREAT | 0666)
    sender = scenario.spawn("sender")
    q = sender.call("msgget", key, IPC_CREAT | 0o666)
    receiver = scenario.spawn("receiver")
    scenario.expect(receiver.do("msgget", key, IPC_CREAT | 0o666), Value(q))
    scenario.expect(sender.do("msgsnd", q, 5, sent, IPC_NOWAIT), Value(0))
    scenario.expect(receiver.do("msgrcv", q, SEED_MTEXT, 5, 0), Errno("E2BIG"),
                    "a receiver with msgsz = sizeof(msg.mtext) cannot take the seed's message")
    scenario.expect(receiver.do("msgrcv", q, SEED_SIZEOF_MSGBUF, 5, 0), Value((5, sent)),
                    "the seed's receiver gets a 136-byte text (the mtype apart): 8 bytes more than "
                    "its mtext holds")
    scenario.expect(sender.do("msgctl_rmid", q), Value(0))


@spec(
    "sysv.msg.receive-removes",
    "msgrcv removes the message it returns: no process receives the same message twice, so "
    "whatever a receiver gets is a message nobody has read before.",
    sources=[MSGRCV,
             ("msgop(2)", "Upon successful completion the message queue data structure is updated as "
                          "follows: msg_lrpid is set to the process ID of the calling process.  msg_qnum "
                          "is decremented by 1.  msg_rtime is set to the current time."),
             ("seed S27", S27_TEXT)],
    supports={"S27": "a reader tells new from old because reading consumes: an old message is "
                     "never seen again"},
)
def test_a_message_is_received_once(scenario, keys):
    sender = scenario.spawn("sender")
    q = sender.call("msgget", keys.new(), IPC_CREAT | 0o600)
    first, second = sender.fork("first"), sender.fork("second")
    scenario.expect(sender.do("msgsnd", q, 1, b"old", 0), Value(0))
    scenario.expect(first.do("msgrcv", q, 64, 0, IPC_NOWAIT), Value((1, b"old")))
    scenario.expect(second.do("msgrcv", q, 64, 0, IPC_NOWAIT), Errno("ENOMSG"),
                    "the message first received is gone for everyone")
    scenario.expect(first.do("msgrcv", q, 64, 0, IPC_NOWAIT), Errno("ENOMSG"), "and for first too")
    scenario.expect(sender.do("msgsnd", q, 1, b"new", 0), Value(0))
    scenario.expect(second.do("msgrcv", q, 64, 0, IPC_NOWAIT), Value((1, b"new")),
                    "the next receive returns the new message, never the old one")
    scenario.expect(first.do("msgrcv", q, 64, 0, IPC_NOWAIT), Errno("ENOMSG"), "the queue is empty")
    scenario.expect(sender.do("msgctl_rmid", q), Value(0))


@spec(
    "sysv.msg.concurrent-senders-intact",
    "Several processes sending at once — all asleep on a full queue and woken as it drains — "
    "need no locking of their own: every message arrives whole, exactly once.",
    sources=[
        MSGSND,
        ("msgop(2)", "If insufficient space is available in the queue, then the default behavior of "
                     "msgsnd() is to block until space becomes available."),
        ("seed S27", S27_TEXT),
    ],
    supports={"S27": "processes share a queue without any synchronization of their own: the "
                     "kernel keeps each send whole"},
)
@given(sizes=st.lists(st.integers(1, 200), min_size=2, max_size=4))
@example(sizes=[200, 200, 200])
def test_concurrent_senders_need_no_locks(new_scenario, keys, sizes):
    qbytes = 256  # room for one or two messages: the rest of the senders sleep
    with new_scenario() as sc:
        owner = sc.spawn("owner")
        q = owner.call("msgget", keys.new(), IPC_CREAT | 0o600)
        owner.call("msgctl_set", q, {"qbytes": qbytes})
        fill = text(99, qbytes)
        sc.expect(owner.do("msgsnd", q, 1, fill, 0), Value(0), "the queue is now full")
        senders = [owner.fork(f"s{i}") for i in range(len(sizes))]
        sent = [text(i, size) for i, size in enumerate(sizes)]
        for sender, data in zip(senders, sent, strict=True):
            sc.expect(sender.do("msgsnd", q, 1, data, 0), BLOCKED, "no room: the sender sleeps")
        got = []
        for _ in range(len(sizes) + 1):
            out = owner.do("msgrcv", q, BIG, 0, IPC_NOWAIT)
            if not out.ok:
                sc.expect(out, Value("<a message still owed by a sender>"))
            got.append(out.detail[1])
        for sender in senders:
            sc.expect_event(sender, Value(0), "each sender completes once there is room")
        assert Counter(got) == Counter([fill, *sent]), (
            f"messages arrived changed or duplicated: sizes {sorted(map(len, got))}, "
            f"sent {sorted(map(len, [fill, *sent]))}"
        )
        sc.expect(owner.do("msgctl_rmid", q), Value(0))
