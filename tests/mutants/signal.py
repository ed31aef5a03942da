"""Mutants of signal generation, disposition, blocking and queueing."""

from __future__ import annotations

import errno
import os
import signal
from typing import Any

from conformance.backends.kernel import KernelProcessOps

from . import mutant

SIGNAL_SPECS = ("specs/signal",)


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
