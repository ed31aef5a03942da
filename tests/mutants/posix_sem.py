"""Mutants of POSIX named semaphores: each gets one rule of sem_open, sem_wait or sem_post wrong."""

from __future__ import annotations

import errno
import os

from conformance.backends.kernel import KernelProcessOps
from conformance.backends.posix_semshm_ops import SEM_VALUE_MAX

from . import mutant

SEM_SPECS = ("specs/posix/sem",)


def _errno(code: int) -> OSError:
    return OSError(code, os.strerror(code))


@mutant("sem-open-ignores-excl", SEM_SPECS, kills=("posix.sem.create-excl-eexist",))
class SemOpenIgnoresExcl(KernelProcessOps):
    """O_EXCL is dropped: O_CREAT|O_EXCL opens an existing semaphore."""

    def sem_open(self, name: str, oflag: int, mode: int = 0o600, value: int = 0) -> int:
        return super().sem_open(name, oflag & ~os.O_EXCL, mode, value)


@mutant("sem-open-always-creates", SEM_SPECS, kills=("posix.sem.open-missing-enoent",))
class SemOpenAlwaysCreates(KernelProcessOps):
    """Every sem_open creates a missing semaphore, with or without O_CREAT."""

    def sem_open(self, name: str, oflag: int, mode: int = 0o600, value: int = 0) -> int:
        return super().sem_open(name, oflag | os.O_CREAT, mode, value)


@mutant("sem-open-resets-value", SEM_SPECS, kills=("posix.sem.existing-keeps-value",))
class SemOpenResetsValue(KernelProcessOps):
    """sem_open with O_CREAT of an existing semaphore sets it to the value given."""

    def sem_open(self, name: str, oflag: int, mode: int = 0o600, value: int = 0) -> int:
        handle = super().sem_open(name, oflag, mode, value)
        if oflag & os.O_CREAT:
            while self.sem_getvalue(handle) < value:
                self.sem_post(handle)
            while self.sem_getvalue(handle) > value:
                self.sem_trywait(handle)
        return handle


@mutant("sem-open-clamps-value", SEM_SPECS, kills=("posix.sem.value-max-einval",))
class SemOpenClampsValue(KernelProcessOps):
    """A value above SEM_VALUE_MAX is clamped to it instead of refused."""

    def sem_open(self, name: str, oflag: int, mode: int = 0o600, value: int = 0) -> int:
        return super().sem_open(name, oflag, mode, min(value, SEM_VALUE_MAX))


@mutant("sem-bad-name-enoent", SEM_SPECS, kills=("posix.sem.name-slash-einval",))
class SemBadNameEnoent(KernelProcessOps):
    """A badly formed name is reported as missing (ENOENT) rather than invalid."""

    def sem_open(self, name: str, oflag: int, mode: int = 0o600, value: int = 0) -> int:
        if name == "/" or "/" in name[1:]:
            raise _errno(errno.ENOENT)
        return super().sem_open(name, oflag, mode, value)


@mutant("sem-long-name-einval", SEM_SPECS, kills=("posix.sem.name-too-long",))
class SemLongNameEinval(KernelProcessOps):
    """A name too long is reported as EINVAL instead of ENAMETOOLONG."""

    def sem_open(self, name: str, oflag: int, mode: int = 0o600, value: int = 0) -> int:
        try:
            return super().sem_open(name, oflag, mode, value)
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                raise _errno(errno.EINVAL) from None
            raise


@mutant("sem-open-eperm", SEM_SPECS, kills=("posix.sem.unprivileged-eacces",))
class SemOpenEperm(KernelProcessOps):
    """Permission refusals come back as EPERM."""

    def sem_open(self, name: str, oflag: int, mode: int = 0o600, value: int = 0) -> int:
        try:
            return super().sem_open(name, oflag, mode, value)
        except OSError as exc:
            if exc.errno == errno.EACCES:
                raise _errno(errno.EPERM) from None
            raise


@mutant("sem-trywait-pretends", SEM_SPECS, kills=("posix.sem.trywait-eagain",))
class SemTrywaitPretends(KernelProcessOps):
    """sem_trywait at 0 reports success without taking anything."""

    def sem_trywait(self, handle: int) -> int:
        try:
            return super().sem_trywait(handle)
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                return 0
            raise


@mutant("sem-post-twice", SEM_SPECS, kills=("posix.sem.value-counts", "posix.sem.model.multi-process"))
class SemPostTwice(KernelProcessOps):
    """sem_post adds two."""

    def sem_post(self, handle: int) -> int:
        super().sem_post(handle)
        return super().sem_post(handle)


@mutant("sem-post-saturates", SEM_SPECS, kills=("posix.sem.post-overflow",))
class SemPostSaturates(KernelProcessOps):
    """sem_post at SEM_VALUE_MAX silently does nothing."""

    def sem_post(self, handle: int) -> int:
        try:
            return super().sem_post(handle)
        except OSError as exc:
            if exc.errno == errno.EOVERFLOW:
                return 0
            raise


@mutant("sem-timedwait-eagain", SEM_SPECS, kills=("posix.sem.timedwait-etimedout",))
class SemTimedwaitEagain(KernelProcessOps):
    """A timed-out sem_timedwait reports EAGAIN, as semtimedop(2) does."""

    def sem_timedwait(self, handle: int, sec: int, nsec: int) -> int:
        try:
            return super().sem_timedwait(handle, sec, nsec)
        except OSError as exc:
            if exc.errno == errno.ETIMEDOUT:
                raise _errno(errno.EAGAIN) from None
            raise


@mutant("sem-timedwait-normalises", SEM_SPECS, kills=("posix.sem.timedwait-bad-nsec-einval",))
class SemTimedwaitNormalises(KernelProcessOps):
    """An invalid tv_nsec is carried into seconds instead of refused: the call sleeps."""

    def sem_timedwait(self, handle: int, sec: int, nsec: int) -> int:
        return super().sem_timedwait(handle, sec + nsec // 1_000_000_000, nsec % 1_000_000_000)


@mutant("sem-wait-never-sleeps", SEM_SPECS, kills=("posix.sem.wait-wakes-on-post",))
class SemWaitNeverSleeps(KernelProcessOps):
    """sem_wait at 0 fails with EAGAIN instead of sleeping."""

    def sem_wait(self, handle: int) -> int:
        return self.sem_trywait(handle)


@mutant("sem-wait-restarts", SEM_SPECS, kills=("posix.sem.wait-eintr",))
class SemWaitRestarts(KernelProcessOps):
    """sem_wait is restarted after a signal handler ran, as if SA_RESTART applied."""

    def sem_wait(self, handle: int) -> int:
        while True:
            try:
                return super().sem_wait(handle)
            except InterruptedError:
                continue


@mutant("sem-unlink-keeps-name", SEM_SPECS, kills=("posix.sem.unlink-while-open",))
class SemUnlinkKeepsName(KernelProcessOps):
    """sem_unlink waits for the last close: while the semaphore is open the name stays."""

    def sem_unlink(self, name: str) -> int:
        return 0


@mutant("sem-open-private-copy", SEM_SPECS, kills=("posix.sem.shared-by-name",))
class SemOpenPrivateCopy(KernelProcessOps):
    """Opening an existing name gives the process its own new semaphore, starting at 0."""

    def sem_open(self, name: str, oflag: int, mode: int = 0o600, value: int = 0) -> int:
        if oflag & os.O_CREAT:
            return super().sem_open(name, oflag, mode, value)
        super().sem_close(super().sem_open(name, oflag, mode, value))  # ENOENT as before
        private = f"{name}-private-{os.getpid()}"
        handle = super().sem_open(private, os.O_CREAT | os.O_EXCL, 0o600, 0)
        super().sem_unlink(private)
        return handle
