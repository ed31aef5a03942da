"""Message queues (ipc/msg.c): msgget, msgsnd, msgrcv, msgctl.

A queue holds messages in arrival order, each a positive type and a text.
Its fullness is judged by ``msg_fits_inqueue``: a message of ``n`` bytes fits
when ``cbytes + n <= qbytes`` *and* ``qnum + 1 <= qbytes`` - so ``qbytes``
also caps the number of messages, and a queue whose qbytes is 0 takes none.

**Receiving.** ``msgtyp`` 0 takes the first message; ``msgtyp > 0`` the first
of exactly that type, or with MSG_EXCEPT the first of any other type;
``msgtyp < 0`` the lowest type not above ``|msgtyp|``, the first of those.
A message longer than the buffer is E2BIG and stays, unless MSG_NOERROR
truncates it. MSG_COPY (with IPC_NOWAIT) copies the message at position
``msgtyp`` without removing it.

**Who wakes, in what order** - the rules the model follows, from msg.c:

* A sender that finds a receiver asleep hands its message over directly
  (``pipelined_send``): the receivers are tried in the order they went to
  sleep, and the first whose type selection accepts the message takes it.
  A receiver whose buffer is too small (no MSG_NOERROR) is woken with E2BIG
  on the way, and the message goes on to the next. The sender does all of
  this itself, so the outcome is deterministic.
* A receive that takes a message out of the queue calls ``ss_wakeup``:
  every sleeping sender whose message would fit *now* (each judged alone)
  is woken and stays in place; the others move to the tail, in order. The
  woken senders then retry for themselves, in an order the scheduler picks:
  when that order matters (two woken senders that cannot both fit, or whose
  messages would land in different orders) the model says so (Unmodelled,
  via :mod:`.schedule`) instead of guessing.
* IPC_SET wakes every receiver to look again (``expunge_all(-EAGAIN)``; they
  stay on the list until they run, so a message sent meanwhile still reaches
  them) and every sender that now fits. IPC_RMID wakes everyone with EIDRM.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...backends.ops import ActorRef
from ...outcome import Errno, Outcome, Value
from ..args import payload
from .cargs import c_int, signed, unsigned
from .namespace import IdTable, ipcget, no_more_checks
from .perm import READ, WRITE, Perm, may_access, may_control, perm_changes, update_perm
from .state import Proc, World

IPC_NOWAIT = 0o4000
MSG_NOERROR = 0o10000
MSG_EXCEPT = 0o20000
MSG_COPY = 0o40000
#: msgrcv's search modes (convert_mode)
SEARCH_ANY, SEARCH_EQUAL, SEARCH_NOTEQUAL, SEARCH_LESSEQUAL, SEARCH_NUMBER = range(1, 6)
INT_MAX = (1 << 31) - 1
LONG_MIN, LONG_MAX = -(1 << 63), (1 << 63) - 1


@dataclass(frozen=True)
class Message:
    mtype: int
    text: bytes


@dataclass(eq=False)
class Receiver:
    """``struct msg_receiver``: a process asleep in msgrcv."""

    actor: str
    qid: int
    msgtyp: int
    mode: int
    #: r_maxsize: the largest message it accepts (INT_MAX with MSG_NOERROR)
    maxsize: int
    bufsz: int
    flags: int
    #: woken by IPC_SET to look again, and not yet run
    retry: bool = False


@dataclass(eq=False)
class Sender:
    """``struct msg_sender``: a process asleep in msgsnd on a full queue."""

    actor: str
    qid: int
    message: Message
    #: woken by ss_wakeup, and not yet run: it still sits on the list
    woken: bool = False


@dataclass(eq=False)
class Queue:
    id: int
    perm: Perm
    qbytes: int
    messages: list[Message] = field(default_factory=list)
    lspid: str | None = None
    lrpid: str | None = None
    stime: bool = False
    rtime: bool = False
    ctime: bool = True
    receivers: list[Receiver] = field(default_factory=list)
    senders: list[Sender] = field(default_factory=list)

    @property
    def cbytes(self) -> int:
        return sum(len(m.text) for m in self.messages)

    def fits(self, size: int) -> bool:
        """``msg_fits_inqueue``: room for the bytes *and* for one more message."""
        return size + self.cbytes <= self.qbytes and 1 + len(self.messages) <= self.qbytes


def _ref(name: str | None) -> ActorRef | int:
    return 0 if name is None else ActorRef(name)


# -- msgget ----------------------------------------------------------------------
def op_msgget(world: World, proc: Proc, key: Any, flags: Any) -> Outcome:
    key = signed(key, 32, "key")
    flags = c_int(flags, "flags")
    table: IdTable[Queue] = world.msg

    def create() -> Outcome:
        ident = table.allocate(world.limits.msgmni)
        if ident is None:
            return Errno("ENOSPC")
        table.add(Queue(ident, Perm.new(key, proc.creds, flags), world.limits.msgmnb))
        return Value(ident)

    return ipcget(table, proc.creds, key, flags, create, no_more_checks)


# -- msgsnd ----------------------------------------------------------------------
def op_msgsnd(world: World, proc: Proc, qid: Any, mtype: Any, text: Any, flags: Any) -> Outcome | None:
    qid = c_int(qid, "qid")
    mtype = signed(mtype, 64, "mtype")
    data = payload(text)
    flags = c_int(flags, "flags")
    if len(data) > world.limits.msgmax or qid < 0:
        return Errno("EINVAL")
    if mtype < 1:
        return Errno("EINVAL")
    queue = world.msg.find(qid)
    if queue is None:
        return Errno("EINVAL")
    return _send(world, proc, queue, Message(mtype, data), flags)


def _send(world: World, proc: Proc, queue: Queue, message: Message, flags: int) -> Outcome | None:
    """One pass of do_msgsnd's loop: send, fail, or go to sleep (None)."""
    if not may_access(proc.creds, queue.perm, WRITE):
        return Errno("EACCES")
    if queue.fits(len(message.text)):
        queue.lspid, queue.stime = proc.name, True
        if not _pipelined_send(world, queue, message):
            queue.messages.append(message)
        return Value(0)
    if flags & IPC_NOWAIT:
        return Errno("EAGAIN")
    sender = Sender(proc.name, queue.id, message)
    queue.senders.append(sender)
    proc.pending = sender
    return None


def _pipelined_send(world: World, queue: Queue, message: Message) -> bool:
    """Hand ``message`` to the first sleeping receiver that accepts it; True if one did."""
    for receiver in list(queue.receivers):
        if not _testmsg(message, receiver.msgtyp, receiver.mode):
            continue
        queue.receivers.remove(receiver)
        if receiver.maxsize < len(message.text):
            world.complete(receiver.actor, Errno("E2BIG"))
            continue
        queue.lrpid, queue.rtime = receiver.actor, True
        world.complete(receiver.actor, Value((message.mtype, message.text[:receiver.bufsz])))
        return True
    return False


def resume_sender(world: World, proc: Proc, sender: Sender) -> None:
    """A sender woken by ss_wakeup runs: off the list, and through the loop again."""
    queue = world.msg.find(sender.qid)
    assert queue is not None, "removal completes every sender at once"
    queue.senders.remove(sender)
    proc.pending = None
    outcome = _send(world, proc, queue, sender.message, 0)
    if outcome is not None:
        world.complete(proc.name, outcome)


def _ss_wakeup(world: World, queue: Queue) -> None:
    """Wake the senders whose message fits now; move the others to the tail, in order."""
    staying, moved = [], []
    for sender in queue.senders:
        if queue.fits(len(sender.message.text)):
            sender.woken = True
            world.wake(sender.actor)
            staying.append(sender)
        else:
            moved.append(sender)
    queue.senders = staying + moved


# -- msgrcv ----------------------------------------------------------------------
def op_msgrcv(world: World, proc: Proc, qid: Any, maxsize: Any, msgtyp: Any,
              flags: Any) -> Outcome | None:
    qid = c_int(qid, "qid")
    bufsz = unsigned(maxsize, 64, "maxsize")
    msgtyp = signed(msgtyp, 64, "msgtyp")
    flags = c_int(flags, "flags")
    if qid < 0 or bufsz > LONG_MAX:
        return Errno("EINVAL")
    copy_size = None
    if flags & MSG_COPY:
        if flags & MSG_EXCEPT or not flags & IPC_NOWAIT:
            return Errno("EINVAL")
        if not world.limits.msg_copy:
            return Errno("ENOSYS")
        copy_size = min(bufsz, world.limits.msgmax)
    mode, msgtyp = _convert_mode(msgtyp, flags)
    queue = world.msg.find(qid)
    if queue is None:
        return Errno("EINVAL")
    return _receive(world, proc, queue, bufsz, msgtyp, mode, flags, copy_size)


def _convert_mode(msgtyp: int, flags: int) -> tuple[int, int]:
    if flags & MSG_COPY:
        return SEARCH_NUMBER, msgtyp
    if msgtyp == 0:
        return SEARCH_ANY, msgtyp
    if msgtyp < 0:
        return SEARCH_LESSEQUAL, LONG_MAX if msgtyp == LONG_MIN else -msgtyp
    return (SEARCH_NOTEQUAL if flags & MSG_EXCEPT else SEARCH_EQUAL), msgtyp


def _testmsg(message: Message, msgtyp: int, mode: int) -> bool:
    if mode == SEARCH_LESSEQUAL:
        return message.mtype <= msgtyp
    if mode == SEARCH_EQUAL:
        return message.mtype == msgtyp
    if mode == SEARCH_NOTEQUAL:
        return message.mtype != msgtyp
    return True


def _find_msg(queue: Queue, msgtyp: int, mode: int) -> int | None:
    """``find_msg``: the index of the message to take, or None."""
    found = None
    count = 0
    for index, message in enumerate(queue.messages):
        if not _testmsg(message, msgtyp, mode):
            continue
        if mode == SEARCH_LESSEQUAL and message.mtype != 1:
            # Keep looking for a lower type: only a strictly lower one
            # replaces this, so the first of the lowest type wins.
            msgtyp, found = message.mtype - 1, index
        elif mode == SEARCH_NUMBER:
            if msgtyp == count:
                return index
        else:
            return index
        count += 1
    return found


def _receive(world: World, proc: Proc, queue: Queue, bufsz: int, msgtyp: int, mode: int,
             flags: int, copy_size: int | None) -> Outcome | None:
    """One pass of do_msgrcv's loop: take a message, fail, or go to sleep (None)."""
    if not may_access(proc.creds, queue.perm, READ):
        return Errno("EACCES")
    index = _find_msg(queue, msgtyp, mode)
    if index is not None:
        message = queue.messages[index]
        if bufsz < len(message.text) and not flags & MSG_NOERROR:
            return Errno("E2BIG")
        if copy_size is not None:
            # copy_msg() refuses a message longer than the copy it fills
            return Errno("EINVAL") if len(message.text) > copy_size else Value(
                (message.mtype, message.text))
        del queue.messages[index]
        queue.lrpid, queue.rtime = proc.name, True
        _ss_wakeup(world, queue)
        return Value((message.mtype, message.text[:bufsz]))
    if flags & IPC_NOWAIT:
        return Errno("ENOMSG")
    maxsize = INT_MAX if flags & MSG_NOERROR else bufsz
    receiver = Receiver(proc.name, queue.id, msgtyp, mode, maxsize, bufsz, flags)
    queue.receivers.append(receiver)
    proc.pending = receiver
    return None


def resume_receiver(world: World, proc: Proc, receiver: Receiver) -> None:
    """A receiver woken by IPC_SET runs: off the list, and through the loop again."""
    queue = world.msg.find(receiver.qid)
    assert queue is not None, "removal completes every receiver at once"
    queue.receivers.remove(receiver)
    proc.pending = None
    outcome = _receive(world, proc, queue, receiver.bufsz, receiver.msgtyp, receiver.mode,
                       receiver.flags, None)
    if outcome is not None:
        world.complete(proc.name, outcome)


# -- msgctl ----------------------------------------------------------------------
def _lookup(world: World, qid: Any) -> Queue | Outcome:
    qid = c_int(qid, "qid")
    queue = world.msg.find(qid) if qid >= 0 else None
    return Errno("EINVAL") if queue is None else queue


def op_msgctl_stat(world: World, proc: Proc, qid: Any) -> Outcome:
    queue = _lookup(world, qid)
    if isinstance(queue, Outcome):
        return queue
    if not may_access(proc.creds, queue.perm, READ):
        return Errno("EACCES")
    return Value({
        "qnum": len(queue.messages), "cbytes": queue.cbytes, "qbytes": queue.qbytes,
        "lspid": _ref(queue.lspid), "lrpid": _ref(queue.lrpid), "stime": queue.stime,
        "rtime": queue.rtime, "ctime": queue.ctime, **queue.perm.fields(),
    })


def op_msgctl_set(world: World, proc: Proc, qid: Any, changes: Any) -> Outcome:
    wanted = perm_changes(changes, ("uid", "gid", "mode", "qbytes"))
    queue = _lookup(world, qid)
    if isinstance(queue, Outcome):
        return queue
    if not may_control(proc.creds, queue.perm):
        return Errno("EPERM")
    qbytes = wanted.get("qbytes", queue.qbytes) & ((1 << 64) - 1)
    if qbytes > world.limits.msgmnb and not proc.creds.capable("CAP_SYS_RESOURCE"):
        return Errno("EPERM")
    error = update_perm(queue.perm, wanted)
    if error is not None:
        return Errno(error)
    queue.qbytes = qbytes
    queue.ctime = True
    # Sleeping receivers might be excluded by stricter permissions: all look
    # again. Sleeping senders might fit a larger queue.
    for receiver in queue.receivers:
        receiver.retry = True
        world.wake(receiver.actor)
    _ss_wakeup(world, queue)
    return Value(0)


def op_msgctl_rmid(world: World, proc: Proc, qid: Any) -> Outcome:
    queue = _lookup(world, qid)
    if isinstance(queue, Outcome):
        return queue
    if not may_control(proc.creds, queue.perm):
        return Errno("EPERM")
    for actor in [r.actor for r in queue.receivers] + [s.actor for s in queue.senders]:
        world.complete(actor, Errno("EIDRM"))
    queue.receivers, queue.senders = [], []
    world.msg.remove(queue)
    return Value(0)


# -- leaving a wait queue without an answer ---------------------------------------
def unlink(world: World, entry: Sender | Receiver) -> None:
    """A signal or a death takes a sleeper off its queue (ss_del / list_del)."""
    queue = world.msg.find(entry.qid)
    if queue is None:
        return
    if isinstance(entry, Sender) and entry in queue.senders:
        queue.senders.remove(entry)
    elif isinstance(entry, Receiver) and entry in queue.receivers:
        queue.receivers.remove(entry)
