"""mq_notify: one process told, once, that an empty queue got a message.

A process registers with ``mq_notify``; the next message that arrives on
the *empty* queue — when nobody is already waiting in ``mq_receive`` —
sends it the signal it chose, and the registration is gone. Only one process
can be registered per queue at a time.
"""

import os
import signal

from conformance.backends.ops import ActorRef
from conformance.clauses import spec
from conformance.outcome import BLOCKED, Errno, Value

MSGSIZE = 32
USR1 = int(signal.SIGUSR1)
ONE_PROCESS = ("mq_notify(3)", "Only one process can be registered to receive notification from a message "
                               "queue.")
ONCE = ("mq_notify(3)", "Notification occurs once: after a notification is delivered, the notification "
                        "registration is removed, and another process can register for message "
                        "notification.")
ONLY_EMPTY = ("mq_notify(3)", "Message notification occurs only when a new message arrives and the queue was "
                              "previously empty.")


def _setup(scenario, mq_names):
    """A queue, a ``listener`` that counts SIGUSR1, and a ``sender``; all share one descriptor."""
    owner = scenario.spawn("owner")
    name = mq_names.new()
    q = owner.call("mq_open", name, os.O_CREAT | os.O_RDWR | os.O_NONBLOCK, 0o600, (4, MSGSIZE))
    listener = owner.fork("listener")
    listener.call("signal", USR1, "count")
    sender = owner.fork("sender")
    return owner, listener, sender, name, q


def _teardown(scenario, owner, name, q):
    scenario.expect(owner.do("mq_close", q), Value(0))
    scenario.expect(owner.do("mq_unlink", name), Value(0))


@spec(
    "posix.mq.notify.signal-on-arrival",
    "A process registered with mq_notify for SIGEV_SIGNAL gets that signal when a message arrives on "
    "the empty queue, sent by another process.",
    sources=[("mq_notify(3)", "mq_notify() allows the calling process to register or unregister for "
                              "delivery of an asynchronous notification when a new message arrives on the "
                              "empty message queue referred to by the message queue descriptor mqdes."),
             ("mq_notify(3)", "SIGEV_SIGNAL Notify the process by sending the signal specified in "
                              "sigev_signo.")],
)
def test_notify_signals_on_arrival(scenario, mq_names):
    owner, listener, sender, name, q = _setup(scenario, mq_names)
    scenario.expect(listener.do("mq_notify", q, USR1), Value(0))
    scenario.expect(listener.do("signal_count", USR1), Value(0), "nothing arrived yet")
    scenario.expect(sender.do("mq_send", q, b"news", 0), Value(0))
    scenario.expect(listener.do("signal_count", USR1), Value(1), "told once of the message")
    _teardown(scenario, owner, name, q)


@spec(
    "posix.mq.notify.siginfo-names-sender",
    "The notification signal says where it came from: si_code is SI_MESGQ and si_pid is the process "
    "that sent the message, which a blocked signal shows through sigtimedwait.",
    source=("mq_notify(3)", "The si_code field of the siginfo_t structure will be set to SI_MESGQ. In "
                            "addition, si_pid will be set to the PID of the process that sent the "
                            "message, and si_uid will be set to the real user ID of the sending process."),
)
def test_notification_names_the_sender(scenario, mq_names):
    owner, listener, sender, name, q = _setup(scenario, mq_names)
    listener.call("sigprocmask", "block", (USR1,))
    scenario.expect(listener.do("mq_notify", q, USR1), Value(0))
    scenario.expect(sender.do("mq_send", q, b"news", 0), Value(0))
    got = listener.do("sigtimedwait", (USR1,), 0)
    # si_value is whatever the registration put in sigev_value: not part of the clause
    seen = Value({k: got.detail[k] for k in ("signo", "code", "pid")}) if got.kind == "value" else got
    scenario.expect(seen, Value({"signo": USR1, "code": "SI_MESGQ", "pid": ActorRef("sender")}))
    _teardown(scenario, owner, name, q)


@spec(
    "posix.mq.notify.busy",
    "While one process is registered for notification on a queue, mq_notify from another process "
    "fails with EBUSY; once the first unregisters (NULL), the other may register.",
    sources=[ONE_PROCESS,
             ("mq_notify(3)", "EBUSY Another process has already registered to receive notification for "
                              "this message queue."),
             ("mq_notify(3)", "If sevp is NULL, and the calling process is currently registered to receive "
                              "notifications for this message queue, then the registration is removed; "
                              "another process can then register to receive a message notification for "
                              "this queue.")],
)
def test_one_registration_per_queue(scenario, mq_names):
    owner, listener, sender, name, q = _setup(scenario, mq_names)
    scenario.expect(listener.do("mq_notify", q, USR1), Value(0))
    scenario.expect(sender.do("mq_notify", q, USR1), Errno("EBUSY"), "the listener holds the registration")
    scenario.expect(listener.do("mq_notify", q, None), Value(0), "the listener unregisters")
    scenario.expect(sender.do("mq_notify", q, USR1), Value(0), "now free for another process")
    scenario.expect(sender.do("mq_notify", q, None), Value(0))
    _teardown(scenario, owner, name, q)


@spec(
    "posix.mq.notify.busy-same-process",
    "A second mq_notify registration from the process already registered also fails with EBUSY: the "
    "registration is not replaced.",
    sources=[ONE_PROCESS,
             ("Linux ipc/mqueue.c do_mq_notify", "if (info->notify_owner != NULL) { ret = -EBUSY; goto out; }")],
)
def test_registered_process_cannot_register_again(scenario, mq_names):
    owner, listener, sender, name, q = _setup(scenario, mq_names)
    scenario.expect(listener.do("mq_notify", q, USR1), Value(0))
    scenario.expect(listener.do("mq_notify", q, USR1), Errno("EBUSY"), "already registered")
    scenario.expect(listener.do("mq_notify", q, None), Value(0))
    _teardown(scenario, owner, name, q)


@spec(
    "posix.mq.notify.once",
    "A notification is delivered once: the registration is removed when it fires, so a message "
    "arriving again on the emptied queue sends no second signal, and another process can register.",
    sources=[ONCE],
)
def test_notification_is_one_shot(scenario, mq_names):
    owner, listener, sender, name, q = _setup(scenario, mq_names)
    scenario.expect(listener.do("mq_notify", q, USR1), Value(0))
    scenario.expect(sender.do("mq_send", q, b"first", 0), Value(0))
    scenario.expect(owner.do("mq_receive", q, MSGSIZE), Value((b"first", 0)), "empty again")
    scenario.expect(sender.do("mq_send", q, b"second", 0), Value(0))
    scenario.expect(listener.do("signal_count", USR1), Value(1), "only the first arrival was told")
    scenario.expect(sender.do("mq_notify", q, USR1), Value(0), "the registration was freed")
    scenario.expect(sender.do("mq_notify", q, None), Value(0))
    _teardown(scenario, owner, name, q)


@spec(
    "posix.mq.notify.only-when-empty",
    "No notification is sent for a message arriving on a queue that already holds one; the "
    "registration stays and fires when a message arrives after the queue was emptied.",
    sources=[ONLY_EMPTY,
             ("mq_notify(3)", "If the queue was not empty at the time mq_notify() was called, then a "
                              "notification will occur only after the queue is emptied and a new message "
                              "arrives.")],
)
def test_notify_only_on_empty_to_nonempty(scenario, mq_names):
    owner, listener, sender, name, q = _setup(scenario, mq_names)
    scenario.expect(sender.do("mq_send", q, b"already", 0), Value(0))
    scenario.expect(listener.do("mq_notify", q, USR1), Value(0))
    scenario.expect(sender.do("mq_send", q, b"more", 0), Value(0))
    scenario.expect(listener.do("signal_count", USR1), Value(0), "the queue was not empty")
    for text in (b"already", b"more"):
        scenario.expect(owner.do("mq_receive", q, MSGSIZE), Value((text, 0)))
    scenario.expect(sender.do("mq_send", q, b"fresh", 0), Value(0))
    scenario.expect(listener.do("signal_count", USR1), Value(1), "empty, then a message: told")
    _teardown(scenario, owner, name, q)


@spec(
    "posix.mq.notify.receiver-waiting",
    "When a process is already waiting in mq_receive on the empty queue, an arriving message goes to "
    "it and the registration is ignored: no signal, and the registration remains in effect.",
    sources=[("mq_notify(3)", "If another process or thread is waiting to read a message from an empty "
                              "queue using mq_receive(3), then any message notification registration is "
                              "ignored: the message is delivered to the process or thread calling "
                              "mq_receive(3), and the message notification registration remains in "
                              "effect.")],
)
def test_waiting_receiver_preempts_notification(scenario, mq_names):
    owner, listener, sender, name, q = _setup(scenario, mq_names)
    scenario.expect(listener.do("mq_notify", q, USR1), Value(0))
    scenario.expect(owner.do("mq_setattr", q, 0), Value({"flags": os.O_NONBLOCK, "maxmsg": 4,
                                                          "msgsize": MSGSIZE, "curmsgs": 0}))
    receiver = owner.fork("receiver")
    scenario.expect(receiver.do("mq_receive", q, MSGSIZE), BLOCKED, "waiting on the empty queue")
    scenario.expect(sender.do("mq_send", q, b"taken", 0), Value(0))
    scenario.expect_event(receiver, Value((b"taken", 0)), "the waiting receiver gets it")
    scenario.expect(listener.do("signal_count", USR1), Value(0), "no notification")
    scenario.expect(sender.do("mq_notify", q, USR1), Errno("EBUSY"), "the registration remains")
    scenario.expect(sender.do("mq_send", q, b"next", 0), Value(0))
    scenario.expect(listener.do("signal_count", USR1), Value(1), "and fires for the next arrival")
    _teardown(scenario, owner, name, q)
