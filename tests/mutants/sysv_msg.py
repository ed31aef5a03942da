"""Mutants of System V message queues: each one a msgop(2) or msgctl(2) rule broken.

Every mutant is the kernel backend with one behavior of message queues
changed as a real system could change it: a queue emulated over a byte
stream (messages run together), selection code that forgets the sign of
``msgtyp`` or the MSG_EXCEPT flag, error paths that lose or keep the wrong
message, waits that never happen or never end, a library that takes the
size argument as the size of the whole ``struct msgbuf``, a queue whose
messages live only as long as their sender. The message-queue specs must
notice each one.
"""

from __future__ import annotations

import errno
import select
from typing import Any

from conformance.backends.kernel import KernelProcessOps
from conformance.backends.sysv_ops import IPC_NOWAIT, MSG_EXCEPT, MSG_NOERROR

from . import mutant
from .sysv_common import error, proc_row

MSG = "specs/sysv/msg/"
BOUNDARIES = (MSG + "test_msg_boundaries.py",)
SELECT = (MSG + "test_msg_select.py",)
LIMITS = (MSG + "test_msg_limits.py",)
LIFETIME = (MSG + "test_msg_lifetime.py",)


def _sleep_forever() -> None:
    """Sleep in a system call until killed: a wake-up that never comes."""
    while True:
        select.select([], [], [])


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a living process (not gone, not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@mutant("receive-joins-messages", BOUNDARIES, kills=("sysv.msg.boundaries",))
class ReceiveJoinsMessages(KernelProcessOps):
    """A receive takes as many queued messages of the first one's type as fit in msgsz.

    A queue emulated over a byte stream: what was sent as several messages
    comes out as one, like writes to a pipe.
    """

    def msgrcv(self, qid: int, maxsize: int, msgtyp: int, flags: int) -> tuple[int, bytes]:
        mtype, text = super().msgrcv(qid, maxsize, msgtyp, flags)
        while True:
            try:
                _t, more = super().msgrcv(qid, maxsize - len(text), mtype, flags | IPC_NOWAIT)
            except OSError:
                return (mtype, text)
            text += more


@mutant("msgtyp-sign-ignored", SELECT, kills=("sysv.msg.select-by-type",))
class MsgtypSignIgnored(KernelProcessOps):
    """A negative msgtyp is taken as its absolute value: "exactly type 3", not "at most 3"."""

    def msgrcv(self, qid: int, maxsize: int, msgtyp: int, flags: int) -> tuple[int, bytes]:
        return super().msgrcv(qid, maxsize, abs(msgtyp), flags)


@mutant("msg-except-ignored", SELECT, kills=("sysv.msg.except-skips-type",))
class MsgExceptIgnored(KernelProcessOps):
    """MSG_EXCEPT is dropped (a system without the Linux-specific flag)."""

    def msgrcv(self, qid: int, maxsize: int, msgtyp: int, flags: int) -> tuple[int, bytes]:
        return super().msgrcv(qid, maxsize, msgtyp, flags & ~MSG_EXCEPT)


@mutant("msg-except-needs-positive-einval", SELECT, kills=("sysv.msg.except-needs-positive-type",))
class MsgExceptNeedsPositiveEinval(KernelProcessOps):
    """MSG_EXCEPT with msgtyp 0 or negative is rejected with EINVAL instead of being ignored."""

    def msgrcv(self, qid: int, maxsize: int, msgtyp: int, flags: int) -> tuple[int, bytes]:
        if flags & MSG_EXCEPT and msgtyp <= 0:
            raise error(errno.EINVAL)
        return super().msgrcv(qid, maxsize, msgtyp, flags)


@mutant("nomatch-is-eagain", SELECT, kills=("sysv.msg.nowait-no-match-enomsg",))
class NomatchIsEagain(KernelProcessOps):
    """A non-blocking receive without a match fails with EAGAIN (as a read would), not ENOMSG."""

    def msgrcv(self, qid: int, maxsize: int, msgtyp: int, flags: int) -> tuple[int, bytes]:
        try:
            return super().msgrcv(qid, maxsize, msgtyp, flags)
        except OSError as exc:
            if exc.errno == errno.ENOMSG:
                raise error(errno.EAGAIN) from None
            raise


@mutant("receive-never-waits", SELECT, kills=("sysv.msg.receive-waits-for-type",))
class ReceiveNeverWaits(KernelProcessOps):
    """msgrcv behaves as if IPC_NOWAIT were always given: ENOMSG instead of a wait."""

    def msgrcv(self, qid: int, maxsize: int, msgtyp: int, flags: int) -> tuple[int, bytes]:
        return super().msgrcv(qid, maxsize, msgtyp, flags | IPC_NOWAIT)


@mutant("waiting-receiver-takes-any-type", SELECT,
        kills=("sysv.msg.receivers-by-type", "sysv.msg.receive-waits-for-type"))
class WaitingReceiverTakesAnyType(KernelProcessOps):
    """A receiver that has to wait takes whatever message arrives first, of any type.

    The type is honoured only for messages already queued; the wait
    itself is for "a message", as on a queue without per-type wake-ups.
    """

    def msgrcv(self, qid: int, maxsize: int, msgtyp: int, flags: int) -> tuple[int, bytes]:
        if flags & IPC_NOWAIT or msgtyp == 0:
            return super().msgrcv(qid, maxsize, msgtyp, flags)
        try:
            return super().msgrcv(qid, maxsize, msgtyp, flags | IPC_NOWAIT)
        except OSError as exc:
            if exc.errno != errno.ENOMSG:
                raise
        return super().msgrcv(qid, maxsize, 0, flags)


@mutant("receive-leaves-a-copy", BOUNDARIES, kills=("sysv.msg.receive-removes",))
class ReceiveLeavesACopy(KernelProcessOps):
    """msgrcv returns a message but puts a copy back at the end of the queue (a peek)."""

    def msgrcv(self, qid: int, maxsize: int, msgtyp: int, flags: int) -> tuple[int, bytes]:
        mtype, text = super().msgrcv(qid, maxsize, msgtyp, flags)
        try:
            super().msgsnd(qid, mtype, text, IPC_NOWAIT)
        except OSError:
            pass
        return (mtype, text)


@mutant("sends-split-in-two", BOUNDARIES, kills=("sysv.msg.concurrent-senders-intact",))
class SendsSplitInTwo(KernelProcessOps):
    """msgsnd sends a text of two bytes or more as two messages, half and half.

    Each half is sent whole, but a message is no longer one unit: other
    senders' messages can come between the halves, and receivers see
    pieces.
    """

    def msgsnd(self, qid: int, mtype: int, text: bytes, flags: int) -> int:
        if len(text) < 2:
            return super().msgsnd(qid, mtype, text, flags)
        half = len(text) // 2
        super().msgsnd(qid, mtype, text[:half], flags)
        return super().msgsnd(qid, mtype, text[half:], flags)


@mutant("msgsz-counts-mtype", BOUNDARIES,
        kills=("sysv.msg.size-counts-text", "sysv.msg.seed-sender-size"))
class MsgszCountsMtype(KernelProcessOps):
    """msgsnd takes msgsz as the size of the whole struct msgbuf, mtype included.

    The seed's reading of the size argument (S29), made into a library:
    of ``msgsz`` bytes, the first ``sizeof(long)`` are the type, so only
    ``msgsz - 8`` bytes of text are sent.
    """

    def msgsnd(self, qid: int, mtype: int, text: bytes, flags: int) -> int:
        return super().msgsnd(qid, mtype, text[:max(len(text) - 8, 0)], flags)


@mutant("e2big-drops-message", LIMITS, kills=("sysv.msg.e2big-keeps-message",))
class E2bigDropsMessage(KernelProcessOps):
    """A message too long for the buffer is removed from the queue, and the call fails E2BIG."""

    def msgrcv(self, qid: int, maxsize: int, msgtyp: int, flags: int) -> tuple[int, bytes]:
        try:
            return super().msgrcv(qid, maxsize, msgtyp, flags)
        except OSError as exc:
            if exc.errno == errno.E2BIG:
                super().msgrcv(qid, maxsize, msgtyp, flags | MSG_NOERROR | IPC_NOWAIT)
            raise


@mutant("msg-noerror-ignored", LIMITS, kills=("sysv.msg.noerror-truncates",))
class MsgNoerrorIgnored(KernelProcessOps):
    """MSG_NOERROR is dropped: a long message fails with E2BIG instead of being cut."""

    def msgrcv(self, qid: int, maxsize: int, msgtyp: int, flags: int) -> tuple[int, bytes]:
        return super().msgrcv(qid, maxsize, msgtyp, flags & ~MSG_NOERROR)


@mutant("nowait-send-drops-message", LIMITS, kills=("sysv.msg.nowait-full-eagain",))
class NowaitSendDropsMessage(KernelProcessOps):
    """A non-blocking send to a full queue reports success and drops the message."""

    def msgsnd(self, qid: int, mtype: int, text: bytes, flags: int) -> int:
        try:
            return super().msgsnd(qid, mtype, text, flags)
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                return 0
            raise


@mutant("empty-messages-unlimited", LIMITS, kills=("sysv.msg.full-counts-messages",))
class EmptyMessagesUnlimited(KernelProcessOps):
    """Only bytes count towards msg_qbytes: a send that fits by bytes is never refused.

    The kernel still refuses it (by count), so this layer reports success
    and drops the message, as an implementation without the count limit
    would appear to its caller.
    """

    def msgsnd(self, qid: int, mtype: int, text: bytes, flags: int) -> int:
        try:
            return super().msgsnd(qid, mtype, text, flags)
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                stat = super().msgctl_stat(qid)
                if stat["cbytes"] + len(text) <= stat["qbytes"]:
                    return 0
            raise


@mutant("full-send-fails", LIMITS, kills=("sysv.msg.send-blocks-when-full",))
class FullSendFails(KernelProcessOps):
    """msgsnd behaves as if IPC_NOWAIT were always given: EAGAIN instead of a wait."""

    def msgsnd(self, qid: int, mtype: int, text: bytes, flags: int) -> int:
        return super().msgsnd(qid, mtype, text, flags | IPC_NOWAIT)


@mutant("nonpositive-mtype-accepted", LIMITS, kills=("sysv.msg.mtype-positive",))
class NonpositiveMtypeAccepted(KernelProcessOps):
    """A message type of zero or less is accepted (and the message silently lost)."""

    def msgsnd(self, qid: int, mtype: int, text: bytes, flags: int) -> int:
        if mtype <= 0:
            return 0
        return super().msgsnd(qid, mtype, text, flags)


@mutant("no-msgmax", LIMITS, kills=("sysv.msg.size-over-msgmax",))
class NoMsgmax(KernelProcessOps):
    """Texts longer than MSGMAX are sent as several messages of at most MSGMAX bytes."""

    def msgsnd(self, qid: int, mtype: int, text: bytes, flags: int) -> int:
        with open("/proc/sys/kernel/msgmax") as f:
            msgmax = int(f.read())
        if len(text) <= msgmax or mtype <= 0:
            return super().msgsnd(qid, mtype, text, flags)
        for start in range(0, len(text), msgmax):
            super().msgsnd(qid, mtype, text[start:start + msgmax], flags)
        return 0


@mutant("fixed-qbytes", LIMITS, kills=("sysv.msg.qbytes-from-msgmnb",))
class FixedQbytes(KernelProcessOps):
    """IPC_STAT reports msg_qbytes as the compiled-in default, 16384, whatever MSGMNB is."""

    def msgctl_stat(self, qid: int) -> dict[str, Any]:
        return {**super().msgctl_stat(qid), "qbytes": 16384}


@mutant("qbytes-unchecked", LIMITS, kills=("sysv.msg.qbytes-raise-needs-privilege",))
class QbytesUnchecked(KernelProcessOps):
    """Raising msg_qbytes beyond MSGMNB without privilege reports success."""

    def msgctl_set(self, qid: int, changes: dict[str, int]) -> int:
        try:
            return super().msgctl_set(qid, changes)
        except OSError as exc:
            if exc.errno == errno.EPERM and "qbytes" in changes:
                return 0
            raise


@mutant("messages-die-with-sender", LIFETIME, kills=("sysv.msg.outlives-sender",))
class MessagesDieWithSender(KernelProcessOps):
    """Messages live in their sender: once the last sender has exited, the queue is empty.

    A queue emulated in user space, whose messages are held by the sending
    process; the receiver finds nothing once that process is gone.
    """

    def msgrcv(self, qid: int, maxsize: int, msgtyp: int, flags: int) -> tuple[int, bytes]:
        row = proc_row("msg", qid)
        if row and row["lspid"] and not _alive(row["lspid"]):
            while True:
                try:
                    super().msgrcv(qid, 1 << 16, 0, IPC_NOWAIT | MSG_NOERROR)
                except OSError:
                    break
        return super().msgrcv(qid, maxsize, msgtyp, flags)


@mutant("stat-lrpid-never-set", LIFETIME, kills=("sysv.msg.stat-tracks-operations",))
class StatLrpidNeverSet(KernelProcessOps):
    """IPC_STAT never shows a receive: msg_lrpid stays 0 and msg_rtime unset."""

    def msgctl_stat(self, qid: int) -> dict[str, Any]:
        return {**super().msgctl_stat(qid), "lrpid": 0, "rtime": False}


@mutant("rmid-leaves-receivers-asleep", LIFETIME, kills=("sysv.msg.rmid-wakes-receivers",))
class RmidLeavesReceiversAsleep(KernelProcessOps):
    """A receiver asleep on a removed queue is never woken (it waits on, for nothing)."""

    def msgrcv(self, qid: int, maxsize: int, msgtyp: int, flags: int) -> tuple[int, bytes]:
        try:
            return super().msgrcv(qid, maxsize, msgtyp, flags)
        except OSError as exc:
            if exc.errno == errno.EIDRM:
                _sleep_forever()
            raise


@mutant("rmid-leaves-senders-asleep", LIFETIME, kills=("sysv.msg.rmid-wakes-senders",))
class RmidLeavesSendersAsleep(KernelProcessOps):
    """A sender asleep on a full, removed queue is never woken."""

    def msgsnd(self, qid: int, mtype: int, text: bytes, flags: int) -> int:
        try:
            return super().msgsnd(qid, mtype, text, flags)
        except OSError as exc:
            if exc.errno == errno.EIDRM:
                _sleep_forever()
            raise



# -- the state machine ------------------------------------------------------------
MACHINE = (MSG + "test_msg_machine.py",)


@mutant("msgrcv-ignores-positive-type", MACHINE, kills=("sysv.msg.model.multi-process",))
class MsgrcvIgnoresPositiveType(KernelProcessOps):
    """A positive msgtyp is ignored: the receive takes the first message of any type.

    A queue emulated as a plain FIFO. Only sequences that queue messages of
    different types and then ask for one type tell the difference.
    """

    def msgrcv(self, qid: int, maxsize: int, msgtyp: int, flags: int) -> tuple[int, bytes]:
        return super().msgrcv(qid, maxsize, 0 if msgtyp > 0 else msgtyp, flags)
