"""Mutants of POSIX message queues: each one an mq_open(3), mq_send(3), mq_notify(3)... rule broken.

Every mutant is the kernel backend with one behavior of POSIX queues changed
the way an emulation or a library could change it: names or attributes
checked loosely, a queue kept FIFO or upside down, sizes truncated, calls
that never sleep or sleep where they should fail, flags kept per process,
notifications that fire too often or not at all, queues destroyed with
their name or their last descriptor. The specs of ``specs/posix/mq`` must
notice each one.
"""

from __future__ import annotations

import errno
import fcntl
import os
from typing import Any

from conformance.backends.kernel import KernelProcessOps
from conformance.backends.posix_mq_ops import MQ_PRIO_MAX

from . import mutant

MQ = "specs/posix/mq/"
OPEN = (MQ + "test_mq_open.py",)
MESSAGES = (MQ + "test_mq_messages.py",)
BLOCKING = (MQ + "test_mq_blocking.py",)
LIFETIME = (MQ + "test_mq_lifetime.py",)
NOTIFY = (MQ + "test_mq_notify.py",)


def _error(code: int) -> OSError:
    return OSError(code, os.strerror(code))


def _name_of(mqd: int) -> str:
    """The queue's name, read from /proc (a queue descriptor is a file descriptor)."""
    return os.readlink(f"/proc/self/fd/{mqd}").removesuffix(" (deleted)")


def _proc(name: str) -> int:
    with open(f"/proc/sys/fs/mqueue/{name}") as f:
        return int(f.read())


# -- mq_open ------------------------------------------------------------------
@mutant("posix.mq-open-high-descriptor", OPEN, kills=("posix.mq.open.create",))
class OpenHighDescriptor(KernelProcessOps):
    """Queue descriptors come from a range of their own (an mqd_t that is not a file descriptor)."""

    def mq_open(self, name: str, oflag: int, mode: int = 0o600,
                attr: tuple[int, int] | None = None) -> int:
        fd = super().mq_open(name, oflag, mode, attr)
        high = fcntl.fcntl(fd, fcntl.F_DUPFD, 100)
        os.close(fd)
        return high


@mutant("posix.mq-open-ignores-excl", OPEN, kills=("posix.mq.open.excl-existing",))
class OpenIgnoresExcl(KernelProcessOps):
    """O_EXCL is dropped: an existing queue is opened instead of refused."""

    def mq_open(self, name: str, oflag: int, mode: int = 0o600,
                attr: tuple[int, int] | None = None) -> int:
        return super().mq_open(name, oflag & ~os.O_EXCL, mode, attr)


@mutant("posix.mq-open-creat-recreates", OPEN, kills=("posix.mq.open.creat-opens-existing",))
class OpenCreatRecreates(KernelProcessOps):
    """O_CREAT on an existing name replaces the queue with a new one (like O_TRUNC)."""

    def mq_open(self, name: str, oflag: int, mode: int = 0o600,
                attr: tuple[int, int] | None = None) -> int:
        if oflag & os.O_CREAT and not oflag & os.O_EXCL:
            try:
                os.close(super().mq_open(name, os.O_RDONLY))
                super().mq_unlink(name)
            except OSError:
                pass
        return super().mq_open(name, oflag, mode, attr)


@mutant("posix.mq-open-always-creates", OPEN, kills=("posix.mq.open.missing",))
class OpenAlwaysCreates(KernelProcessOps):
    """A missing queue is created even without O_CREAT."""

    def mq_open(self, name: str, oflag: int, mode: int = 0o600,
                attr: tuple[int, int] | None = None) -> int:
        return super().mq_open(name, oflag | os.O_CREAT, mode, attr)


@mutant("posix.mq-open-adds-slash", OPEN, kills=("posix.mq.open.name-form",))
class OpenAddsSlash(KernelProcessOps):
    """A name without its leading slash is given one instead of refused."""

    def mq_open(self, name: str, oflag: int, mode: int = 0o600,
                attr: tuple[int, int] | None = None) -> int:
        return super().mq_open(name if name.startswith("/") else "/" + name, oflag, mode, attr)


@mutant("posix.mq-open-fixes-attr", OPEN, kills=("posix.mq.open.bad-attr",))
class OpenFixesAttr(KernelProcessOps):
    """Non-positive attributes are replaced by the defaults instead of refused."""

    def mq_open(self, name: str, oflag: int, mode: int = 0o600,
                attr: tuple[int, int] | None = None) -> int:
        if attr is not None and (attr[0] <= 0 or attr[1] <= 0):
            attr = None
        return super().mq_open(name, oflag, mode, attr)


@mutant("posix.mq-open-clamps-attr", OPEN, kills=("posix.mq.open.attr-ceiling",))
class OpenClampsAttr(KernelProcessOps):
    """Attributes above the /proc ceilings are lowered to them instead of refused."""

    def mq_open(self, name: str, oflag: int, mode: int = 0o600,
                attr: tuple[int, int] | None = None) -> int:
        if attr is not None:
            attr = (min(attr[0], _proc("msg_max")), min(attr[1], _proc("msgsize_max")))
        return super().mq_open(name, oflag, mode, attr)


@mutant("posix.mq-open-own-defaults", OPEN, kills=("posix.mq.open.default-attr",))
class OpenOwnDefaults(KernelProcessOps):
    """A NULL attr gets the library's own defaults, not the /proc ones."""

    def mq_open(self, name: str, oflag: int, mode: int = 0o600,
                attr: tuple[int, int] | None = None) -> int:
        if attr is None and oflag & os.O_CREAT:
            attr = (1, 128)
        return super().mq_open(name, oflag, mode, attr)


@mutant("posix.mq-open-ignores-mode", OPEN, kills=("posix.mq.open.permission",))
class OpenIgnoresMode(KernelProcessOps):
    """Queues are created readable and writable by everyone, whatever the mode."""

    def mq_open(self, name: str, oflag: int, mode: int = 0o600,
                attr: tuple[int, int] | None = None) -> int:
        old = os.umask(0)
        try:
            return super().mq_open(name, oflag, 0o666, attr)
        finally:
            os.umask(old)


# -- messages -----------------------------------------------------------------
@mutant("posix.mq-lowest-priority-first", MESSAGES, kills=("posix.mq.order.priority-then-fifo",))
class LowestPriorityFirst(KernelProcessOps):
    """The queue is sorted the wrong way round: the lowest priority comes out first."""

    def mq_send(self, mqd: int, data: bytes, prio: int) -> int:
        return super().mq_send(mqd, data, MQ_PRIO_MAX - 1 - prio if 0 <= prio < MQ_PRIO_MAX else prio)

    def mq_receive(self, mqd: int, bufsize: int) -> tuple[bytes, int]:
        data, prio = super().mq_receive(mqd, bufsize)
        return data, MQ_PRIO_MAX - 1 - prio


@mutant("posix.mq-send-clamps-priority", MESSAGES, kills=("posix.mq.send.prio-range",))
class SendClampsPriority(KernelProcessOps):
    """Priorities above the range are lowered to MQ_PRIO_MAX - 1 instead of refused."""

    def mq_send(self, mqd: int, data: bytes, prio: int) -> int:
        return super().mq_send(mqd, data, min(prio, MQ_PRIO_MAX - 1))


@mutant("posix.mq-send-truncates", MESSAGES, kills=("posix.mq.send.msgsize",))
class SendTruncates(KernelProcessOps):
    """A message longer than mq_msgsize is cut to fit instead of refused."""

    def mq_send(self, mqd: int, data: bytes, prio: int) -> int:
        return super().mq_send(mqd, data[:self.mq_getattr(mqd)["msgsize"]], prio)


@mutant("posix.mq-receive-any-buffer", MESSAGES, kills=("posix.mq.receive.buffer-size",))
class ReceiveAnyBuffer(KernelProcessOps):
    """A buffer smaller than mq_msgsize is accepted when the message fits."""

    def mq_receive(self, mqd: int, bufsize: int) -> tuple[bytes, int]:
        data, prio = super().mq_receive(mqd, max(bufsize, self.mq_getattr(mqd)["msgsize"]))
        if len(data) > bufsize:
            raise _error(errno.EMSGSIZE)
        return data, prio


@mutant("posix.mq-open-ignores-access-mode", MESSAGES, kills=("posix.mq.send.access-mode",))
class OpenIgnoresAccessMode(KernelProcessOps):
    """Every descriptor is opened for reading and writing, whatever was asked."""

    def mq_open(self, name: str, oflag: int, mode: int = 0o600,
                attr: tuple[int, int] | None = None) -> int:
        return super().mq_open(name, (oflag & ~os.O_ACCMODE) | os.O_RDWR, mode, attr)


# -- full and empty queues ------------------------------------------------------
@mutant("posix.mq-send-drops-when-full", BLOCKING, kills=("posix.mq.send.full-nonblock",))
class SendDropsWhenFull(KernelProcessOps):
    """A non-blocking send to a full queue drops the message and reports success."""

    def mq_send(self, mqd: int, data: bytes, prio: int) -> int:
        try:
            return super().mq_send(mqd, data, prio)
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                return 0
            raise


@mutant("posix.mq-send-never-sleeps", BLOCKING, kills=("posix.mq.send.full-blocks",))
class SendNeverSleeps(KernelProcessOps):
    """A send to a full queue fails with EAGAIN even without O_NONBLOCK."""

    def mq_send(self, mqd: int, data: bytes, prio: int) -> int:
        attr = self.mq_getattr(mqd)
        if attr["curmsgs"] >= attr["maxmsg"]:
            raise _error(errno.EAGAIN)
        return super().mq_send(mqd, data, prio)


@mutant("posix.mq-timedsend-eagain", BLOCKING, kills=("posix.mq.timedsend.timeout",))
class TimedSendEagain(KernelProcessOps):
    """A timed send that runs out of time says EAGAIN (semtimedop's word), not ETIMEDOUT."""

    def mq_timedsend(self, mqd: int, data: bytes, prio: int, timeout_ns: int) -> int:
        try:
            return super().mq_timedsend(mqd, data, prio, timeout_ns)
        except OSError as exc:
            raise _error(errno.EAGAIN if exc.errno == errno.ETIMEDOUT else exc.errno) from exc


@mutant("posix.mq-receive-empty-message", BLOCKING, kills=("posix.mq.receive.empty-nonblock",))
class ReceiveEmptyMessage(KernelProcessOps):
    """A non-blocking receive from an empty queue returns an empty message."""

    def mq_receive(self, mqd: int, bufsize: int) -> tuple[bytes, int]:
        try:
            return super().mq_receive(mqd, bufsize)
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                return b"", 0
            raise


@mutant("posix.mq-receive-never-sleeps", BLOCKING, kills=("posix.mq.receive.empty-blocks",))
class ReceiveNeverSleeps(KernelProcessOps):
    """A receive from an empty queue fails with EAGAIN even without O_NONBLOCK."""

    def mq_receive(self, mqd: int, bufsize: int) -> tuple[bytes, int]:
        if self.mq_getattr(mqd)["curmsgs"] == 0:
            raise _error(errno.EAGAIN)
        return super().mq_receive(mqd, bufsize)


@mutant("posix.mq-timedreceive-eagain", BLOCKING, kills=("posix.mq.timedreceive.timeout",))
class TimedReceiveEagain(KernelProcessOps):
    """A timed receive that runs out of time says EAGAIN, not ETIMEDOUT."""

    def mq_timedreceive(self, mqd: int, bufsize: int, timeout_ns: int) -> tuple[bytes, int]:
        try:
            return super().mq_timedreceive(mqd, bufsize, timeout_ns)
        except OSError as exc:
            raise _error(errno.EAGAIN if exc.errno == errno.ETIMEDOUT else exc.errno) from exc


@mutant("posix.mq-setattr-returns-new", BLOCKING, kills=("posix.mq.setattr.nonblock-only",))
class SetattrReturnsNew(KernelProcessOps):
    """mq_setattr reports the attributes it set, not the old ones."""

    def mq_setattr(self, mqd: int, flags: int) -> dict[str, int]:
        super().mq_setattr(mqd, flags)
        return self.mq_getattr(mqd)


# -- lifetime -------------------------------------------------------------------
@mutant("posix.mq-unlink-closes-descriptors", LIFETIME, kills=("posix.mq.unlink.open-descriptors-live",))
class UnlinkClosesDescriptors(KernelProcessOps):
    """Unlinking a queue destroys it at once: the caller's descriptors on it are closed."""

    def mq_unlink(self, name: str) -> int:
        result = super().mq_unlink(name)
        for entry in os.listdir("/proc/self/fd"):
            fd = int(entry)
            try:
                if fd != self.control_fd and _name_of(fd) == name:
                    os.close(fd)
            except OSError:
                pass
        return result


@mutant("posix.mq-close-destroys", LIFETIME, kills=("posix.mq.lifetime.survives-close",))
class CloseDestroys(KernelProcessOps):
    """Closing a descriptor removes the queue, as if it lived only while open."""

    def mq_close(self, mqd: int) -> int:
        try:
            name = _name_of(mqd)
        except OSError:
            name = ""
        result = super().mq_close(mqd)
        if name.startswith("/"):
            try:
                super().mq_unlink(name)
            except OSError:
                pass
        return result


@mutant("posix.mq-flags-per-process", LIFETIME, kills=("posix.mq.fork.shared-description",))
class FlagsPerProcess(KernelProcessOps):
    """mq_setattr reopens the queue on a description of this process's own."""

    def mq_setattr(self, mqd: int, flags: int) -> dict[str, int]:
        old = self.mq_getattr(mqd)
        fresh = super().mq_open(_name_of(mqd), os.O_RDWR | (flags & os.O_NONBLOCK))
        os.dup2(fresh, mqd, inheritable=False)
        os.close(fresh)
        return old


@mutant("posix.mq-close-keeps-descriptor", LIFETIME, kills=("posix.mq.close.ebadf",))
class CloseKeepsDescriptor(KernelProcessOps):
    """mq_close reports success but leaves the descriptor open."""

    def mq_close(self, mqd: int) -> int:
        self.mq_getattr(mqd)  # EBADF for a descriptor that was never open
        return 0


# -- notification -----------------------------------------------------------------
@mutant("posix.mq-notify-silent", NOTIFY, kills=("posix.mq.notify.signal-on-arrival",))
class NotifySilent(KernelProcessOps):
    """A signal registration is made as SIGEV_NONE: registered, never told."""

    def mq_notify(self, mqd: int, sig: int | str | None) -> int:
        return super().mq_notify(mqd, "none" if isinstance(sig, int) else sig)


@mutant("posix.mq-notify-as-plain-kill", NOTIFY, kills=("posix.mq.notify.siginfo-names-sender",))
class NotifyAsPlainKill(KernelProcessOps):
    """The notification arrives as if sent with kill(2): si_code SI_USER, not SI_MESGQ."""

    def sigtimedwait(self, sigs: tuple[int, ...], timeout_ns: int) -> dict[str, Any]:
        info = super().sigtimedwait(sigs, timeout_ns)
        return {**info, "code": "SI_USER"} if info["code"] == "SI_MESGQ" else info


@mutant("posix.mq-notify-never-busy", NOTIFY, kills=("posix.mq.notify.busy",))
class NotifyNeverBusy(KernelProcessOps):
    """A registration refused with EBUSY is reported as made."""

    def mq_notify(self, mqd: int, sig: int | str | None) -> int:
        try:
            return super().mq_notify(mqd, sig)
        except OSError as exc:
            if exc.errno == errno.EBUSY:
                return 0
            raise


@mutant("posix.mq-notify-replaces-own", NOTIFY, kills=("posix.mq.notify.busy-same-process",))
class NotifyReplacesOwn(KernelProcessOps):
    """A registration first removes the caller's own, so registering twice succeeds."""

    def mq_notify(self, mqd: int, sig: int | str | None) -> int:
        if sig is not None:
            super().mq_notify(mqd, None)
        return super().mq_notify(mqd, sig)


class _NotifyBySender(KernelProcessOps):
    """Notification done by the sender itself, from a registry file in the scenario directory.

    The kernel registration is made as SIGEV_NONE (so EBUSY still holds);
    the registrant's pid and signal are written to ``mutant-notify-<inode>``
    in the working directory (the scenario's, removed with it), and every
    send that :meth:`fires` approves signals that pid; a ``one_shot``
    registration is then removed.
    """

    one_shot = False

    def _registry(self, mqd: int) -> str:
        return f"mutant-notify-{os.fstat(mqd).st_ino}"

    def fires(self, was_empty: bool) -> bool:
        raise NotImplementedError

    def mq_notify(self, mqd: int, sig: int | str | None) -> int:
        result = super().mq_notify(mqd, "none" if isinstance(sig, int) else sig)
        path = self._registry(mqd)
        if isinstance(sig, int):
            with open(path, "w") as f:
                f.write(f"{os.getpid()} {sig}")
        elif sig is None and os.path.exists(path):
            os.unlink(path)
        return result

    def mq_send(self, mqd: int, data: bytes, prio: int) -> int:
        was_empty = self.mq_getattr(mqd)["curmsgs"] == 0
        result = super().mq_send(mqd, data, prio)
        path = self._registry(mqd)
        if self.fires(was_empty) and os.path.exists(path):
            with open(path) as f:
                pid, sig = (int(x) for x in f.read().split())
            if self.one_shot:
                os.unlink(path)
            os.kill(pid, sig)
        return result


@mutant("posix.mq-notify-persists", NOTIFY, kills=("posix.mq.notify.once",))
class NotifyPersists(_NotifyBySender):
    """The registration is never removed: every arrival on an empty queue is told."""

    def fires(self, was_empty: bool) -> bool:
        return was_empty


@mutant("posix.mq-notify-every-arrival", NOTIFY, kills=("posix.mq.notify.only-when-empty",))
class NotifyEveryArrival(_NotifyBySender):
    """A message sent is told even when the queue already held one."""

    one_shot = True

    def fires(self, was_empty: bool) -> bool:
        return True


@mutant("posix.mq-notify-despite-receiver", NOTIFY, kills=("posix.mq.notify.receiver-waiting",))
class NotifyDespiteReceiver(_NotifyBySender):
    """An arrival on an empty queue is told even when a receiver was waiting for it."""

    one_shot = True

    def fires(self, was_empty: bool) -> bool:
        return was_empty


# -- the state machine ----------------------------------------------------------------
@mutant("posix.mq-machine-high-descriptor", (MQ + "test_posix_mq_machine.py",),
        kills=("posix.mq.model.multi-process",))
class MachineHighDescriptor(OpenHighDescriptor):
    """The queue descriptors of their own range, met by the model-checked machine."""

