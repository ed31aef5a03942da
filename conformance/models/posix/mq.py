"""A reference model of POSIX message queues: :class:`MqModel`.

It predicts every operation of :mod:`conformance.backends.posix_mq_ops`
exactly, as ``ipc/mqueue.c`` and glibc perform them, with no system call:

* **Names** (glibc, then the kernel): no leading slash is EINVAL; ``"/"``
  alone is ENOENT (an empty name for the kernel); ``.``, ``..`` or a second
  slash is EACCES; more than NAME_MAX characters is ENAMETOOLONG.
* **mq_open**: missing without O_CREAT is ENOENT; existing with
  O_CREAT|O_EXCL is EEXIST; the access mode 3 is EINVAL; the mode bits
  (masked by the umask at creation) decide EACCES as for a file. Creation
  checks the attributes: both positive, and at most ``msg_max`` /
  ``msgsize_max`` without CAP_SYS_RESOURCE (HARD_MSGMAX / HARD_MSGSIZEMAX
  with it); a NULL attr gives ``min(msg_default, msg_max)`` and
  ``min(msgsize_default, msgsize_max)``; past ``queues_max`` is ENOSPC.
* **Descriptors** are the lowest free number of the process; 0, 1 and 2
  are taken (the actors' standard descriptors), and a host model can
  :meth:`MqModel.reserve` the numbers its other descriptors hold. Each open
  is a new *description* (access mode, O_NONBLOCK) that ``fork`` shares.
* **Order**: a queue is sorted by priority, FIFO among equals; ``mq_send``
  checks the priority (EINVAL), the descriptor (EBADF) and the size
  (EMSGSIZE) in that order, ``mq_receive`` the descriptor and the buffer
  (EMSGSIZE below ``mq_msgsize``).
* **Sleeping**: a send to a full queue and a receive from an empty one
  sleep unless the description is non-blocking (EAGAIN). Sleepers are woken
  in arrival order (the kernel orders them by task priority, equal here):
  a send hands its message straight to the first waiting receiver; a
  receive from a full queue takes in the first waiting sender's message. A
  timed call whose relative timeout is not positive fails with ETIMEDOUT at
  once; otherwise it sleeps until served or until :meth:`MqModel.expire`.
* **Notification**: one registration per queue (EBUSY for anyone else, the
  owner included); it fires, and is removed, when a message is *queued* on
  an empty queue — not when it is handed to a waiting receiver. A close of
  any descriptor of the queue by the owner process removes it.
* **Signals** of notifications reach a process with a ``count`` handler
  (counted, and a sleeping call of that process fails with EINTR), an
  ignored one (nothing) or the default action (death for the signals whose
  default is to terminate). This is what the model needs standalone; a host
  process model takes the signals from :meth:`MqModel.take_signals`.

Used alone, ``step`` also performs ``fork``, ``exit``, ``getpid``,
``become``, ``signal``, ``signal_count`` and ``kill`` with SIGKILL.
"""

from __future__ import annotations

import os
import signal as _signal
from dataclasses import dataclass, field
from typing import Any

from ...backends.ops import ActorRef
from ...backends.posix_mq_ops import MQ_PRIO_MAX, NAME_MAX, POSIX_MQ_OPS
from ...outcome import BLOCKED, Errno, Exited, Killed, Outcome, Value
from ..errors import ModelUsageError, Unmodelled

O_RDONLY, O_WRONLY, O_RDWR, O_ACCMODE = os.O_RDONLY, os.O_WRONLY, os.O_RDWR, os.O_ACCMODE
O_CREAT, O_EXCL, O_NONBLOCK = os.O_CREAT, os.O_EXCL, os.O_NONBLOCK
HARD_MSGMAX, HARD_MSGSIZEMAX = 65536, 16 * 1024 * 1024
#: signals whose default action ends the process (the others: stop, continue, ignore)
_IGNORED_BY_DEFAULT = {int(_signal.SIGCHLD), int(_signal.SIGURG), int(_signal.SIGWINCH), int(_signal.SIGCONT)}
_SIGRTMAX = 64


@dataclass(frozen=True)
class MqLimits:
    """``/proc/sys/fs/mqueue`` and the facts of the actors the model needs."""

    msg_max: int = 10
    msgsize_max: int = 8192
    msg_default: int = 10
    msgsize_default: int = 8192
    queues_max: int = 256
    umask: int = 0o022
    #: whether root actors hold CAP_SYS_RESOURCE (containers often withhold it)
    root_sys_resource: bool = True

    @classmethod
    def from_proc(cls, **overrides: Any) -> MqLimits:
        """The limits of the running system's IPC namespace."""
        values: dict[str, Any] = {}
        for name in ("msg_max", "msgsize_max", "msg_default", "msgsize_default", "queues_max"):
            with open(f"/proc/sys/fs/mqueue/{name}") as f:
                values[name] = int(f.read())
        values.update(overrides)
        return cls(**values)


@dataclass
class Queue:
    name: str | None
    maxmsg: int
    msgsize: int
    mode: int
    uid: int
    gid: int
    #: (priority, data), kept in receive order
    messages: list[tuple[int, bytes]] = field(default_factory=list)
    #: (actor, signal or None for SIGEV_NONE)
    notify: tuple[str, int | None] | None = None
    receivers: list[str] = field(default_factory=list)
    senders: list[str] = field(default_factory=list)
    descriptions: int = 0


@dataclass
class Description:
    queue: Queue
    access: int
    nonblock: bool
    refs: int = 0


@dataclass
class Proc:
    name: str
    uid: int = 0
    gid: int = 0
    alive: bool = True
    fds: dict[int, Description] = field(default_factory=dict)
    reserved: set[int] = field(default_factory=lambda: {0, 1, 2})
    #: (op, args) of the call it sleeps in
    pending: tuple[str, tuple[Any, ...]] | None = None
    dispositions: dict[int, str] = field(default_factory=dict)
    counts: dict[int, int] = field(default_factory=dict)


def host_limits() -> MqLimits:
    """This machine's limits, and whether root here holds CAP_SYS_RESOURCE."""
    with open("/proc/self/status") as f:
        effective = next(int(line.split()[1], 16) for line in f if line.startswith("CapEff:"))
    return MqLimits.from_proc(root_sys_resource=bool(os.geteuid() == 0 and effective >> 24 & 1))


class MqModel:
    """POSIX message queues of one IPC namespace and the processes using them.

    Standalone (the default) it also performs the process operations its
    specs need. Hosted by :class:`~conformance.models.ProcessModel`
    (:mod:`conformance.models.submodel`, ``hosted=True``) it performs only
    :attr:`ops`; a notification *signal* is then left in :attr:`signals`
    for the host, which takes it after the step (:meth:`take_signals`) and
    delivers it (si_code SI_MESGQ, from the sender), and descriptor numbers
    the host made (pipes, files) come through :meth:`reserve`.
    """

    #: the operations this model performs when hosted
    ops: frozenset[str] = frozenset(POSIX_MQ_OPS)

    def __init__(self, limits: MqLimits | None = None, hosted: bool = False) -> None:
        self.limits = limits or MqLimits()
        self.hosted = hosted
        self.names: dict[str, Queue] = {}
        self.queues = 0
        self.procs: dict[str, Proc] = {}
        self.events: dict[str, Outcome] = {}
        #: (actor, signal) sent by notifications, for a host model to deliver
        self.signals: list[tuple[str, int]] = []
        #: standalone: deliver notification signals here (a host turns this off)
        self.deliver_signals = not hosted

    # -- actors ----------------------------------------------------------------
    def spawn(self, actor: str, uid: int = 0, gid: int = 0) -> None:
        if not actor or actor in self.procs:
            raise ModelUsageError(f"actor name {actor!r} is empty or already used")
        self.procs[actor] = Proc(actor, uid, gid)

    def fork(self, parent: str, child: str) -> None:
        p = self._live(parent)
        if not child or child in self.procs:
            raise ModelUsageError(f"fork needs a new actor name, not {child!r}")
        self.procs[child] = Proc(child, p.uid, p.gid, fds=dict(p.fds), reserved=set(p.reserved),
                                 dispositions=dict(p.dispositions), counts=dict(p.counts))
        for desc in p.fds.values():
            desc.refs += 1

    def reserve(self, actor: str, fds: set[int]) -> None:
        """Descriptor numbers ``actor`` holds outside this model (a host's files, pipes...)."""
        self.procs[actor].reserved = set(fds)

    def exit(self, actor: str) -> None:
        self._die(self.procs[actor])

    def kill(self, actor: str) -> None:
        self._die(self.procs[actor])

    def interrupt(self, actor: str) -> bool:
        """A handled signal reached ``actor``: its sleeping call fails with EINTR."""
        proc = self.procs[actor]
        if proc.pending is None:
            return False
        self._unwait(proc)
        self.events[actor] = Errno("EINTR")
        return True

    def expire(self, actor: str) -> None:
        """The timeout of ``actor``'s sleeping timed call ran out: ETIMEDOUT."""
        proc = self.procs[actor]
        if proc.pending is None or not proc.pending[0].startswith("mq_timed"):
            raise ModelUsageError(f"{actor} is not sleeping in a timed call")
        self._unwait(proc)
        self.events[actor] = Errno("ETIMEDOUT")

    def settle(self) -> dict[str, Outcome]:
        events, self.events = self.events, {}
        return events

    def blocked(self) -> set[str]:
        return {n for n, p in self.procs.items() if p.alive and p.pending is not None}

    def alive(self) -> set[str]:
        return {n for n, p in self.procs.items() if p.alive}

    def exec(self, actor: str) -> None:
        """``actor`` replaced its image: queue descriptors are close-on-exec (mq_overview(7))."""
        proc = self.procs[actor]
        for fd in sorted(proc.fds):
            self._close(proc, fd)

    def become(self, actor: str, uid: int, gid: int) -> Outcome:
        """setgroups([]); setgid; setuid: only root may, and then becomes anyone."""
        return self._op_become(self.procs[actor], uid, gid)

    def fingerprint(self) -> Any:
        """The whole state as plain tuples (descriptions by the queue and position they hold)."""
        queues: dict[int, int] = {}
        everything = [d.queue for p in self.procs.values() for d in p.fds.values()]
        everything += list(self.names.values())
        for q in everything:
            queues.setdefault(id(q), len(queues))

        def queue(q: Queue) -> tuple[Any, ...]:
            return (queues[id(q)], q.name, q.maxmsg, q.msgsize, q.mode, q.uid, q.gid, tuple(q.messages),
                    q.notify, tuple(q.receivers), tuple(q.senders))

        return (
            tuple(sorted((name, queue(q)) for name, q in self.names.items())),
            tuple(sorted((n, p.alive, p.uid, p.gid, p.pending is not None,
                          tuple(sorted((fd, queue(d.queue), d.access, d.nonblock) for fd, d in p.fds.items())))
                         for n, p in self.procs.items())),
            tuple(sorted((name, repr(out)) for name, out in self.events.items())),
        )

    def open_fds(self, actor: str) -> list[int]:
        """The queue descriptors ``actor`` holds."""
        return sorted(self.procs[actor].fds)

    def take_signals(self) -> list[tuple[str, int]]:
        taken, self.signals = self.signals, []
        return taken

    # -- steps -------------------------------------------------------------------
    def step(self, actor: str, op: str, *args: Any) -> Outcome:
        proc = self._live(actor)
        if proc.pending is not None:
            raise ModelUsageError(f"{actor} is blocked; it cannot {op}")
        handler = getattr(self, f"_op_{op}", None)
        if self.hosted and op not in self.ops:
            raise ModelUsageError(f"{op} is the host's to perform")
        if handler is None:
            raise Unmodelled(f"{op}: outside the POSIX message queue model")
        outcome: Outcome | None = handler(proc, *args)
        if not proc.alive and actor in self.events:  # its own notification killed it
            return self.events.pop(actor)
        if outcome is None:
            proc.pending = (op, args)
            return self.events.pop(actor, BLOCKED)
        self.events.pop(actor, None)
        if outcome.kind in ("signal", "exit"):
            self._die(proc)
        return outcome

    # -- internals ---------------------------------------------------------------
    def _live(self, actor: str) -> Proc:
        proc = self.procs.get(actor)
        if proc is None:
            raise ModelUsageError(f"unknown actor {actor!r}")
        if not proc.alive:
            raise ModelUsageError(f"{actor} is dead")
        return proc

    def _privileged(self, proc: Proc) -> bool:
        return proc.uid == 0 and self.limits.root_sys_resource

    def _die(self, proc: Proc) -> None:
        if not proc.alive:
            return
        self._unwait(proc)
        for fd in sorted(proc.fds):
            self._close(proc, fd)
        proc.alive = False

    def _unwait(self, proc: Proc) -> None:
        if proc.pending is None:
            return
        q = proc.fds[proc.pending[1][0]].queue  # every sleeping call's first argument is its mqd
        for line in (q.receivers, q.senders):
            if proc.name in line:
                line.remove(proc.name)
        proc.pending = None

    def _close(self, proc: Proc, fd: int) -> None:
        desc = proc.fds.pop(fd)
        q = desc.queue
        if q.notify is not None and q.notify[0] == proc.name:
            q.notify = None  # mqueue_flush_file: the owner's close removes its registration
        desc.refs -= 1
        if desc.refs == 0:
            q.descriptions -= 1
            if q.descriptions == 0 and q.name is None:
                self.queues -= 1

    def _desc(self, proc: Proc, fd: Any, access: int | None = None) -> Description | Outcome:
        desc = proc.fds.get(fd) if isinstance(fd, int) else None
        if desc is None:
            if isinstance(fd, int) and fd in proc.reserved:
                raise Unmodelled(f"descriptor {fd} is not a message queue: the host's to answer")
            return Errno("EBADF")
        if access == O_WRONLY and desc.access == O_RDONLY or access == O_RDONLY and desc.access == O_WRONLY:
            return Errno("EBADF")
        return desc

    @staticmethod
    def _name(name: Any) -> str | Outcome:
        if not isinstance(name, str):
            raise ModelUsageError(f"a queue name is a str, not {name!r}")
        if not name.startswith("/"):
            return Errno("EINVAL")
        rest = name[1:]
        if not rest:
            return Errno("ENOENT")
        bad, long = "/" in rest or rest in (".", ".."), len(rest.encode()) > NAME_MAX
        if bad and long:
            raise Unmodelled("a name both too long and with a slash: the order of the checks")
        if bad:
            return Errno("EACCES")
        if long:
            return Errno("ENAMETOOLONG")
        return rest

    def _permitted(self, proc: Proc, q: Queue, access: int) -> bool:
        if proc.uid == 0:
            return True
        shift = 6 if proc.uid == q.uid else 3 if proc.gid == q.gid else 0
        bits = (q.mode >> shift) & 0o7
        want = {O_RDONLY: 0o4, O_WRONLY: 0o2, O_RDWR: 0o6}[access]
        return bits & want == want

    def _new_fd(self, proc: Proc, desc: Description) -> int:
        fd = 0
        while fd in proc.fds or fd in proc.reserved:
            fd += 1
        proc.fds[fd] = desc
        desc.refs += 1
        return fd

    def _notify(self, q: Queue) -> None:
        """A message was queued on the empty queue: fire and remove the registration."""
        if q.notify is None or len(q.messages) != 1:
            return
        owner, sig = q.notify
        q.notify = None
        if sig is None:
            return
        target = self.procs.get(owner)
        if target is None or not target.alive:
            return
        self.signals.append((owner, sig))  # a host takes them (take_signals) and delivers them
        if self.deliver_signals:
            self._deliver(target, sig)

    def _deliver(self, proc: Proc, sig: int) -> None:
        disposition = proc.dispositions.get(sig, "default")
        if disposition == "ignore" or disposition == "default" and sig in _IGNORED_BY_DEFAULT:
            return
        if disposition == "count":
            proc.counts[sig] = proc.counts.get(sig, 0) + 1
            self.interrupt(proc.name)
            return
        self._die(proc)
        self.events[proc.name] = Killed(sig)

    # -- message queue operations ---------------------------------------------------
    def _op_mq_open(self, proc: Proc, name: str, oflag: int, mode: int = 0o600,
                    attr: tuple[int, int] | None = None) -> Outcome:
        key = self._name(name)
        if isinstance(key, Outcome):
            return key
        access = oflag & O_ACCMODE
        q = self.names.get(key)
        if q is None:
            if not oflag & O_CREAT:
                return Errno("ENOENT")
            made = self._create(proc, key, mode, attr)
            if isinstance(made, Outcome):
                return made
            q = made
        else:
            if oflag & O_CREAT and oflag & O_EXCL:
                return Errno("EEXIST")
            if access == O_ACCMODE:
                return Errno("EINVAL")
            if not self._permitted(proc, q, access):
                return Errno("EACCES")
        desc = Description(q, access, bool(oflag & O_NONBLOCK))
        q.descriptions += 1
        return Value(self._new_fd(proc, desc))

    def _create(self, proc: Proc, key: str, mode: int, attr: tuple[int, int] | None) -> Queue | Outcome:
        lim = self.limits
        if attr is None:
            maxmsg, msgsize = min(lim.msg_default, lim.msg_max), min(lim.msgsize_default, lim.msgsize_max)
        else:
            maxmsg, msgsize = attr
            if maxmsg <= 0 or msgsize <= 0:
                return Errno("EINVAL")
            ceiling = (HARD_MSGMAX, HARD_MSGSIZEMAX) if self._privileged(proc) else (lim.msg_max,
                                                                                     lim.msgsize_max)
            if maxmsg > ceiling[0] or msgsize > ceiling[1]:
                return Errno("EINVAL")
            if not self._privileged(proc) and maxmsg * msgsize > 400_000:
                raise Unmodelled("RLIMIT_MSGQUEUE accounting is outside the model")
        if self.queues >= lim.queues_max and not self._privileged(proc):
            return Errno("ENOSPC")
        q = Queue(key, maxmsg, msgsize, mode & 0o777 & ~lim.umask, proc.uid, proc.gid)
        self.names[key] = q
        self.queues += 1
        return q

    def _op_mq_close(self, proc: Proc, mqd: int) -> Outcome:
        desc = self._desc(proc, mqd)
        if isinstance(desc, Outcome):
            return desc
        self._close(proc, mqd)
        return Value(0)

    def _op_mq_unlink(self, proc: Proc, name: str) -> Outcome:
        key = self._name(name)
        if isinstance(key, Outcome):
            return key
        q = self.names.get(key)
        if q is None:
            return Errno("ENOENT")
        if proc.uid not in (0, q.uid):
            raise Unmodelled("unlink by a user who does not own the queue (sticky directory rules)")
        del self.names[key]
        q.name = None
        if q.descriptions == 0:
            self.queues -= 1
        return Value(0)

    def _send_checks(self, proc: Proc, mqd: int, data: bytes, prio: int) -> Description | Outcome:
        if not 0 <= prio < MQ_PRIO_MAX:
            return Errno("EINVAL")
        desc = self._desc(proc, mqd, O_WRONLY)
        if isinstance(desc, Outcome):
            return desc
        if len(data) > desc.queue.msgsize:
            return Errno("EMSGSIZE")
        return desc

    def _insert(self, q: Queue, prio: int, data: bytes) -> None:
        at = next((i for i, (p, _d) in enumerate(q.messages) if p < prio), len(q.messages))
        q.messages.insert(at, (prio, data))

    def _send(self, proc: Proc, mqd: int, data: bytes, prio: int, timeout_ns: int | None) -> Outcome | None:
        desc = self._send_checks(proc, mqd, bytes(data), prio)
        if isinstance(desc, Outcome):
            return desc
        q = desc.queue
        if len(q.messages) >= q.maxmsg:
            if desc.nonblock:
                return Errno("EAGAIN")
            if timeout_ns is not None and timeout_ns <= 0:
                return Errno("ETIMEDOUT")
            q.senders.append(proc.name)
            return None
        if q.receivers:
            receiver = self.procs[q.receivers.pop(0)]
            receiver.pending = None
            self.events[receiver.name] = Value((bytes(data), prio))
            return Value(0)
        self._insert(q, prio, bytes(data))
        self._notify(q)
        return Value(0)

    def _op_mq_send(self, proc: Proc, mqd: int, data: bytes, prio: int) -> Outcome | None:
        return self._send(proc, mqd, data, prio, None)

    def _op_mq_timedsend(self, proc: Proc, mqd: int, data: bytes, prio: int, timeout_ns: int) -> Outcome | None:
        return self._send(proc, mqd, data, prio, timeout_ns)

    def _receive(self, proc: Proc, mqd: int, bufsize: int, timeout_ns: int | None) -> Outcome | None:
        desc = self._desc(proc, mqd, O_RDONLY)
        if isinstance(desc, Outcome):
            return desc
        q = desc.queue
        if bufsize < q.msgsize:
            return Errno("EMSGSIZE")
        if not q.messages:
            if desc.nonblock:
                return Errno("EAGAIN")
            if timeout_ns is not None and timeout_ns <= 0:
                return Errno("ETIMEDOUT")
            q.receivers.append(proc.name)
            return None
        prio, data = q.messages.pop(0)
        if q.senders:  # pipelined_receive: the first sleeping sender's message goes in
            sender = self.procs[q.senders.pop(0)]
            _op, args = sender.pending  # type: ignore[misc]
            sender.pending = None
            self._insert(q, args[2], bytes(args[1]))
            self.events[sender.name] = Value(0)
        return Value((data, prio))

    def _op_mq_receive(self, proc: Proc, mqd: int, bufsize: int) -> Outcome | None:
        return self._receive(proc, mqd, bufsize, None)

    def _op_mq_timedreceive(self, proc: Proc, mqd: int, bufsize: int, timeout_ns: int) -> Outcome | None:
        return self._receive(proc, mqd, bufsize, timeout_ns)

    def _attr(self, desc: Description) -> dict[str, int]:
        q = desc.queue
        return {"flags": O_NONBLOCK if desc.nonblock else 0, "maxmsg": q.maxmsg, "msgsize": q.msgsize,
                "curmsgs": len(q.messages)}

    def _op_mq_getattr(self, proc: Proc, mqd: int) -> Outcome:
        desc = self._desc(proc, mqd)
        return desc if isinstance(desc, Outcome) else Value(self._attr(desc))

    def _op_mq_setattr(self, proc: Proc, mqd: int, flags: int) -> Outcome:
        if flags & ~O_NONBLOCK:
            return Errno("EINVAL")
        desc = self._desc(proc, mqd)
        if isinstance(desc, Outcome):
            return desc
        old = self._attr(desc)
        desc.nonblock = bool(flags & O_NONBLOCK)
        return Value(old)

    def _op_mq_notify(self, proc: Proc, mqd: int, sig: int | str | None) -> Outcome:
        if isinstance(sig, int) and not 1 <= sig <= _SIGRTMAX:
            return Errno("EINVAL")
        desc = self._desc(proc, mqd)
        if isinstance(desc, Outcome):
            return desc
        q = desc.queue
        if sig is None:
            if q.notify is not None and q.notify[0] == proc.name:
                q.notify = None
            return Value(0)
        if q.notify is not None:
            return Errno("EBUSY")
        q.notify = (proc.name, sig if isinstance(sig, int) else None)
        return Value(0)

    # -- process operations, standalone ------------------------------------------------
    def _op_fork(self, proc: Proc, child: str) -> Outcome:
        self.fork(proc.name, child)
        return Value(ActorRef(child))

    def _op_exit(self, proc: Proc, status: int) -> Outcome:
        return Exited(status & 0xFF)

    def _op_getpid(self, proc: Proc) -> Outcome:
        return Value(ActorRef(proc.name))

    def _op_become(self, proc: Proc, uid: int, gid: int) -> Outcome:
        if proc.uid != 0:
            return Errno("EPERM")
        proc.uid, proc.gid = uid, gid
        return Value(0)

    def _op_signal(self, proc: Proc, sig: int, disposition: str) -> Outcome:
        if disposition not in ("default", "ignore", "count"):
            raise ModelUsageError(f"unknown disposition {disposition!r}")
        proc.dispositions[sig] = disposition
        return Value(0)

    def _op_signal_count(self, proc: Proc, sig: int) -> Outcome:
        return Value(proc.counts.get(sig, 0))

    def _op_kill(self, proc: Proc, target: Any, sig: int) -> Outcome:
        name = target.name if isinstance(target, ActorRef) else target
        victim = self.procs[name]
        if sig not in (0, int(_signal.SIGKILL)):
            raise Unmodelled("signals other than SIGKILL belong to the process model")
        if sig and victim.alive:
            self._die(victim)
            self.events[victim.name] = Killed("SIGKILL")
            if victim is proc:
                return self.events.pop(proc.name)
        return Value(0)


def build(facts: Any) -> MqModel:
    """The hosted model for :mod:`conformance.models.submodel`'s ``HostFacts``.

    Without parameters of its own in ``facts.params["posix_mq"]`` (a
    :class:`MqLimits`, e.g. :func:`host_limits`), the defaults of a fresh IPC
    namespace — which is what each worker runs in when root.
    """
    limits = facts.params.get("posix_mq") or MqLimits(root_sys_resource=facts.privileged)
    return MqModel(limits, hosted=True)
