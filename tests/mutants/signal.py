"""Mutants of signal generation, disposition, blocking and queueing."""

from __future__ import annotations

import errno
import os
import signal
from typing import Any

from conformance.backends.kernel import KernelProcessOps

from . import mutant

#: the hand-written clauses (the state machine has mutants of its own below:
#: running it against every mutant would only spend time shrinking)
SIGNAL_SPECS = ("specs/signal/test_signals.py", "specs/signal/test_signal_permission.py",
                "specs/signal/test_signal_lifecycle.py")


@mutant("kill-delivers-nothing", SIGNAL_SPECS, kills=("signal.handler.runs",))
class KillDeliversNothing(KernelProcessOps):
    """kill() of a catchable, non-terminating signal reports success and sends nothing."""

    def kill(self, pid: int, sig: int) -> int:
        if sig == signal.SIGUSR1:
            return 0
        return super().kill(pid, sig)


@mutant("sigterm-ignored-by-default", SIGNAL_SPECS, kills=("signal.default.terminates",))
class SigtermIgnoredByDefault(KernelProcessOps):
    """A process starts with SIGTERM ignored (a sandbox shielding its tenants)."""

    def __init__(self, control_fd: int = -1) -> None:
        super().__init__(control_fd)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


@mutant("ignore-means-block", SIGNAL_SPECS, kills=("signal.ignored.discarded",))
class IgnoreMeansBlock(KernelProcessOps):
    """'Ignoring' a signal blocks it instead, so it piles up as pending."""

    def signal(self, sig: int, disposition: str) -> int:
        if disposition == "ignore":
            signal.pthread_sigmask(signal.SIG_BLOCK, {sig})
            return 0
        return super().signal(sig, disposition)


@mutant("sigkill-catchable", SIGNAL_SPECS, kills=("signal.sigkill.uncatchable",))
class SigkillCatchable(KernelProcessOps):
    """Changing SIGKILL's disposition is accepted (and silently does nothing)."""

    def signal(self, sig: int, disposition: str) -> int:
        if sig == signal.SIGKILL:
            return 0
        return super().signal(sig, disposition)


@mutant("block-is-a-no-op", SIGNAL_SPECS, kills=("signal.blocked.stays-pending",))
class BlockIsANoOp(KernelProcessOps):
    """sigprocmask(SIG_BLOCK) reports the mask but blocks nothing."""

    def sigprocmask(self, how: str, sigs: tuple[int, ...]) -> tuple[int, ...]:
        if how == "block":
            return super().sigprocmask("block", ())
        return super().sigprocmask(how, sigs)


@mutant("standard-signals-queue", SIGNAL_SPECS, kills=("signal.standard.coalesce",))
class StandardSignalsQueue(KernelProcessOps):
    """A standard signal sent twice while blocked is accepted twice, as if queued."""

    def __init__(self, control_fd: int = -1) -> None:
        super().__init__(control_fd)
        self.again: dict[str, Any] | None = None

    def sigtimedwait(self, sigs: tuple[int, ...], timeout_ns: int) -> dict[str, Any]:
        try:
            info = super().sigtimedwait(sigs, timeout_ns)
        except OSError:
            if self.again is None:
                raise
            info, self.again = self.again, None
            return info
        if info["signo"] < signal.SIGRTMIN:
            self.again = info
        return info


@mutant("sigqueue-drops-value", SIGNAL_SPECS, kills=("signal.realtime.queue-in-order",))
class SigqueueDropsValue(KernelProcessOps):
    """sigqueue() delivers the signal but not the value it carries."""

    def sigqueue(self, pid: int, sig: int, value: int) -> int:
        return super().sigqueue(pid, sig, 0)


@mutant("no-sigchld", SIGNAL_SPECS, kills=("signal.sigchld.on-child-exit",))
class NoSigchld(KernelProcessOps):
    """Children's deaths are never reported with SIGCHLD."""

    def sigtimedwait(self, sigs: tuple[int, ...], timeout_ns: int) -> dict[str, Any]:
        if tuple(sigs) == (signal.SIGCHLD,):
            raise OSError(11, "Resource temporarily unavailable")
        return super().sigtimedwait(sigs, timeout_ns)


@mutant("handlers-restart-calls", SIGNAL_SPECS, kills=("signal.interrupts-blocked-call",))
class HandlersRestartCalls(KernelProcessOps):
    """Handlers behave as if installed with SA_RESTART: a blocked read just goes on."""

    def signal(self, sig: int, disposition: str) -> int:
        result = super().signal(sig, disposition)
        if disposition == "count":
            signal.siginterrupt(sig, False)
        return result


@mutant("sigtimedwait-never-waits", SIGNAL_SPECS, kills=("signal.sigtimedwait.times-out",))
class SigtimedwaitNeverWaits(KernelProcessOps):
    """sigtimedwait() with a timeout gives up at once instead of waiting."""

    def sigtimedwait(self, sigs: tuple[int, ...], timeout_ns: int) -> dict[str, Any]:
        return super().sigtimedwait(sigs, 0)


def _target_uids(pid: int) -> tuple[int, int]:
    """The real and saved user ids of process ``pid`` (from /proc/PID/status)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("Uid:"):
                real, _effective, saved, _fs = (int(v) for v in line.split()[1:5])
                return real, saved
    raise OSError(errno.ESRCH, os.strerror(errno.ESRCH))


@mutant("kill-ignores-permission", SIGNAL_SPECS, kills=("signal.kill.other-user-eperm",))
class KillIgnoresPermission(KernelProcessOps):
    """kill() across users pretends to succeed: the permission check is missing (a sandbox
    that forwards signals with its own privileges would behave so, delivering them too)."""

    def kill(self, pid: int, sig: int) -> int:
        try:
            return super().kill(pid, sig)
        except PermissionError:
            return 0


@mutant("kill-needs-privilege", SIGNAL_SPECS, kills=("signal.kill.same-user-allowed",))
class KillNeedsPrivilege(KernelProcessOps):
    """Only root may send signals at all."""

    def kill(self, pid: int, sig: int) -> int:
        if os.geteuid() != 0:
            raise OSError(errno.EPERM, os.strerror(errno.EPERM))
        return super().kill(pid, sig)


@mutant("kill-uid-check-for-root", SIGNAL_SPECS, kills=("signal.kill.privileged-any-user",))
class KillUidCheckForRoot(KernelProcessOps):
    """The user-id rule is applied to privileged senders too: CAP_KILL is not honoured."""

    def kill(self, pid: int, sig: int) -> int:
        if os.getuid() not in _target_uids(pid) and os.geteuid() not in _target_uids(pid):
            raise OSError(errno.EPERM, os.strerror(errno.EPERM))
        return super().kill(pid, sig)


# -- mutants the signal state machine must catch ------------------------------------------------
SIGNAL_MACHINE = ("specs/signal/test_signal_machine.py",)
MACHINE_CLAUSE = ("signal.model.multi-process",)


def _pending_mask(pid: int) -> int:
    """Signals pending for the process (thread and shared), from /proc/PID/status."""
    mask = 0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(("SigPnd:", "ShdPnd:")):
                mask |= int(line.split()[1], 16)
    return mask


@mutant("realtime-signals-coalesce", SIGNAL_MACHINE, kills=MACHINE_CLAUSE)
class RealtimeSignalsCoalesce(KernelProcessOps):
    """A real-time signal already pending is not queued again, like a standard one."""

    def sigqueue(self, pid: int, sig: int, value: int) -> int:
        if sig >= signal.SIGRTMIN and _pending_mask(pid) & (1 << (sig - 1)):
            return 0
        return super().sigqueue(pid, sig, value)


@mutant("unblock-discards-pending", SIGNAL_SPECS, kills=("signal.blocked.stays-pending",))
class UnblockDiscardsPending(KernelProcessOps):
    """Unblocking a signal throws away its pending instances instead of delivering them."""

    def sigprocmask(self, how: str, sigs: tuple[int, ...]) -> tuple[int, ...]:
        current = set(signal.pthread_sigmask(signal.SIG_BLOCK, ()))
        freed = current & set(sigs) if how == "unblock" else current - set(sigs) if how == "set" else set()
        while freed:
            try:
                super().sigtimedwait(tuple(freed), 0)
            except OSError:
                break
        return super().sigprocmask(how, sigs)


@mutant("ignore-keeps-pending", SIGNAL_SPECS, kills=("signal.ignore.discards-pending",))
class IgnoreKeepsPending(KernelProcessOps):
    """Setting a blocked, pending signal to 'ignore' leaves it pending."""

    def signal(self, sig: int, disposition: str) -> int:
        was_pending = disposition == "ignore" and sig in self.sigpending()
        result = super().signal(sig, disposition)
        if was_pending:
            os.kill(os.getpid(), sig)  # blocked, so it is queued again whatever the action
        return result


@mutant("sigchld-without-status", SIGNAL_MACHINE, kills=MACHINE_CLAUSE)
class SigchldWithoutStatus(KernelProcessOps):
    """SIGCHLD identifies the child but not how it ended (si_status is 0)."""

    def sigtimedwait(self, sigs: tuple[int, ...], timeout_ns: int) -> dict[str, Any]:
        info = super().sigtimedwait(sigs, timeout_ns)
        if info["signo"] == signal.SIGCHLD:
            info = {**info, "value": 0}
        return info


@mutant("fork-inherits-pending", SIGNAL_SPECS, kills=("signal.fork.mask-inherited-pending-empty",))
class ForkInheritsPending(KernelProcessOps):
    """A forked child reports its parent's pending signals as its own."""

    def __init__(self, control_fd: int = -1) -> None:
        super().__init__(control_fd)
        self.created_in = os.getpid()

    def sigpending(self) -> tuple[int, ...]:
        own = set(super().sigpending())
        if os.getpid() != self.created_in:
            parent = _pending_mask(self.created_in)
            own |= {sig for sig in range(1, 65) if parent & (1 << (sig - 1))}
        return tuple(sorted(own))


@mutant("exec-clears-mask", SIGNAL_SPECS, kills=("signal.exec.handlers-reset-mask-kept",))
class ExecClearsMask(KernelProcessOps):
    """A new program image starts with nothing blocked, whatever the old one blocked."""

    def __init__(self, control_fd: int = -1) -> None:
        super().__init__(control_fd)
        # Every image starts here, the one after an exec included.
        signal.pthread_sigmask(signal.SIG_SETMASK, ())


@mutant("sigchld-ignore-keeps-zombies", SIGNAL_SPECS, kills=("signal.sigchld.ignored-autoreaps",))
class SigchldIgnoreKeepsZombies(KernelProcessOps):
    """Ignoring SIGCHLD does not stop children from becoming zombies."""

    def signal(self, sig: int, disposition: str) -> int:
        if sig == signal.SIGCHLD and disposition == "ignore":
            disposition = "default"  # same effect on delivery, but no autoreap
        return super().signal(sig, disposition)


@mutant("sigtimedwait-highest-first", SIGNAL_SPECS, kills=("signal.sigtimedwait.lowest-first",))
class SigtimedwaitHighestFirst(KernelProcessOps):
    """Of several pending signals, sigtimedwait takes the highest-numbered first."""

    def sigtimedwait(self, sigs: tuple[int, ...], timeout_ns: int) -> dict[str, Any]:
        ready = set(self.sigpending()) & set(sigs)
        return super().sigtimedwait((max(ready),) if ready else sigs, timeout_ns)
