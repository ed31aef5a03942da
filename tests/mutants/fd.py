"""Mutants of descriptor allocation, duplication and sharing.

Each class below is the kernel backend with one behavior of descriptors
broken the way a real system could break it: an emulation layer that
implements ``dup`` by reopening the file, a sandbox that gives a fork child
private copies of its descriptions, a shell without numbered redirections.
Each names the clauses whose specs must catch it.

Two helpers do most of the breaking. :func:`_reopen` makes a *new* open file
description of the file a descriptor names (through ``/proc/self/fd/N``,
with the same access mode, status flags and offset), which is what every
"copies instead of shares" mutant needs. :func:`_hook_ops` wraps every
operation of a class so a mutant can act before and after each one, which
is how a mutant notices that it now runs in a fork child: the actor runtime
forks, not the backend, so the first operation in the child is the first
moment the backend can react.
"""

from __future__ import annotations

import fcntl
import json
import mmap
import os
import re
import stat
from collections.abc import Callable
from typing import Any

from conformance.backends.kernel import KernelProcessOps, _check, _libc
from conformance.backends.ops import OPS

from . import mutant

FD_SPECS = ("specs/fd",)
_SYS_PIDFD_GETFD = 438  # the same number on x86_64 and aarch64 (asm-generic)


def _reopen(fd: int, flags: int | None = None) -> int:
    """Open fd's file again: a new description with fd's flags (or ``flags``) and offset."""
    if flags is None:
        flags = _check(_libc.fcntl(fd, fcntl.F_GETFL, 0))
    new = _check(_libc.open(f"/proc/self/fd/{fd}".encode(), flags, 0))
    offset = _libc.lseek(fd, 0, os.SEEK_CUR)
    if offset >= 0:  # a pipe has no offset (ESPIPE): nothing to copy
        _libc.lseek(new, offset, os.SEEK_SET)
    return new


def _replace_with_copy(fd: int, flags: int | None = None, offset: int | None = None) -> None:
    """Make descriptor number fd refer to a private new description of its file."""
    new = _reopen(fd, flags)
    if offset is not None:
        _libc.lseek(new, offset, os.SEEK_SET)
    _check(_libc.dup2(new, fd))
    _libc.close(new)


def _is_open(fd: int) -> bool:
    return _libc.fcntl(fd, fcntl.F_GETFD, 0) != -1


def _hook_ops(cls: type, before: Callable[[Any], None] | None = None,
              after: Callable[[Any], None] | None = None) -> type:
    """Wrap every operation method of ``cls`` with ``before(self)`` / ``after(self)``."""
    for name in OPS:
        original = getattr(cls, name, None)
        if original is None:
            continue  # fork and exit are performed by the actor runtime

        def method(self: Any, *args: Any, _original: Callable[..., Any] = original) -> Any:
            if before is not None:
                before(self)
            try:
                return _original(self, *args)
            finally:
                if after is not None:
                    after(self)

        setattr(cls, name, method)
    return cls


# -- numbering -----------------------------------------------------------------
@mutant("open-skips-lowest", FD_SPECS, kills=("fd.open.first-is-3", "fd.model.multi-process"))
class OpenSkipsLowest(KernelProcessOps):
    """open() returns the lowest free descriptor plus one (a wrong allocator)."""

    def open(self, path: str, flags: int, mode: int = 0o644) -> int:
        fd = super().open(path, flags, mode)
        moved = _check(_libc.fcntl(fd, fcntl.F_DUPFD, fd + 1))
        _libc.close(fd)
        return moved


@mutant("open-never-reuses", FD_SPECS,
        kills=("fd.open.lowest-free", "fd.open.lowest-free-any-sequence"))
class OpenNeverReuses(KernelProcessOps):
    """open() hands out ever higher numbers and never reuses a closed one.

    A table that only grows is the simplest allocator to write; the first
    open() still returns 3, so only a hole left by close() shows it.
    """

    def __init__(self, control_fd: int = -1) -> None:
        super().__init__(control_fd)
        self.highest = 2

    def open(self, path: str, flags: int, mode: int = 0o644) -> int:
        fd = super().open(path, flags, mode)
        if fd <= self.highest:
            moved = _check(_libc.fcntl(fd, fcntl.F_DUPFD, self.highest + 1))
            _libc.close(fd)
            fd = moved
        self.highest = fd
        return fd


@mutant("descriptor-numbers-global", FD_SPECS, kills=("fd.numbers.per-process",))
class GlobalDescriptorNumbers(KernelProcessOps):
    """Descriptor numbers are unique across processes, as in one system-wide table.

    The numbers taken by every actor of the scenario are kept in a file in
    the scenario's directory (which all its actors share as their cwd), so
    a number another process holds is never handed out again.
    """

    TABLE = ".descriptor-numbers"

    def _update(self, change: Callable[[dict[str, int]], int]) -> int:
        fd = os.open(self.TABLE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = os.read(fd, 1 << 16)
            taken: dict[str, int] = json.loads(raw) if raw else {}
            result = change(taken)
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps(taken).encode())
            return result
        finally:
            os.close(fd)

    def open(self, path: str, flags: int, mode: int = 0o644) -> int:
        fd = super().open(path, flags, mode)
        me = os.getpid()

        def claim(taken: dict[str, int]) -> int:
            number = fd
            while (taken.get(str(number), me) != me) or (number != fd and _is_open(number)):
                number += 1
            if number != fd:
                _check(_libc.dup2(fd, number))
                _libc.close(fd)
            taken[str(number)] = me
            return number

        return self._update(claim)

    def close(self, fd: int) -> int:
        result = super().close(fd)
        me = os.getpid()

        def release(taken: dict[str, int]) -> int:
            if taken.get(str(fd)) == me:
                del taken[str(fd)]
            return 0

        self._update(release)
        return result


@mutant("open-implies-creat", FD_SPECS, kills=("fd.open.missing-file-enoent",))
class OpenImpliesCreat(KernelProcessOps):
    """open() creates a missing file even without O_CREAT (a forgiving wrapper)."""

    def open(self, path: str, flags: int, mode: int = 0o644) -> int:
        return super().open(path, flags | os.O_CREAT, mode)


# -- one descriptor ------------------------------------------------------------
@mutant("write-behind", FD_SPECS, kills=("fd.file.write-seek-read",))
class WriteBehind(KernelProcessOps):
    """write() reports success but the bytes reach the file only at close().

    A caching layer that forgets to make its own buffered writes visible to
    reads through the same descriptor.
    """

    def __init__(self, control_fd: int = -1) -> None:
        super().__init__(control_fd)
        self.pending: dict[int, bytes] = {}

    def write(self, fd: int, data: bytes) -> int:
        _check(_libc.fcntl(fd, fcntl.F_GETFD, 0))  # EBADF still comes at once
        self.pending[fd] = self.pending.get(fd, b"") + data
        return len(data)

    def close(self, fd: int) -> int:
        data = self.pending.pop(fd, b"")
        if data:
            super().write(fd, data)
        return super().close(fd)


@mutant("open-ignores-access-mode", FD_SPECS, kills=("fd.access.mode-enforced",))
class OpenIgnoresAccessMode(KernelProcessOps):
    """Every open() is read/write, whatever access mode was asked for."""

    def open(self, path: str, flags: int, mode: int = 0o644) -> int:
        return super().open(path, (flags & ~os.O_ACCMODE) | os.O_RDWR, mode)


@mutant("close-ignores-ebadf", FD_SPECS, kills=("fd.close.ebadf",))
class CloseIgnoresEbadf(KernelProcessOps):
    """close() of a descriptor that is not open "succeeds" (an idempotent wrapper)."""

    def close(self, fd: int) -> int:
        _libc.close(fd)
        return 0


# -- dup -----------------------------------------------------------------------
@mutant("dup-reopens", FD_SPECS, kills=("fd.dup.shared-description", "fd.dup.shared-offset"))
class DupReopens(KernelProcessOps):
    """dup() opens /proc/self/fd/N: same file, flags and starting offset, new description."""

    def dup(self, fd: int) -> int:
        return _reopen(fd)


@mutant("dup-returns-same-number", FD_SPECS, kills=("fd.dup.number-differs",))
class DupReturnsSameNumber(KernelProcessOps):
    """dup(fd) returns fd itself, as the seed's claim S08 describes."""

    def dup(self, fd: int) -> int:
        _check(_libc.fcntl(fd, fcntl.F_GETFD, 0))
        return fd


@mutant("status-flags-per-descriptor", FD_SPECS, kills=("fd.dup.shared-status-flags",))
class StatusFlagsPerDescriptor(KernelProcessOps):
    """F_SETFL changes only the descriptor it was called on.

    The descriptor is moved onto a private new description that carries the
    new flags, as a layer that keeps status flags per descriptor would do.
    """

    def fcntl(self, fd: int, cmd: int, arg: int = 0) -> int:
        if cmd != fcntl.F_SETFL:
            return super().fcntl(fd, cmd, arg)
        access = _check(_libc.fcntl(fd, fcntl.F_GETFL, 0)) & os.O_ACCMODE
        _replace_with_copy(fd, flags=access | arg)
        return 0


@mutant("dup-copies-cloexec", FD_SPECS, kills=("fd.dup.cloexec-not-shared",))
class DupCopiesCloexec(KernelProcessOps):
    """dup() gives the copy the original's FD_CLOEXEC instead of clearing it."""

    def dup(self, fd: int) -> int:
        if _check(_libc.fcntl(fd, fcntl.F_GETFD, 0)) & fcntl.FD_CLOEXEC:
            return _check(_libc.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 0))
        return super().dup(fd)


@mutant("dup2-ignores-newfd", FD_SPECS, kills=("fd.dup2.target-number",))
class Dup2IgnoresNewfd(KernelProcessOps):
    """dup2() behaves as dup(): the lowest free number, whatever newfd was."""

    def dup2(self, oldfd: int, newfd: int) -> int:
        return super().dup(oldfd)


@mutant("dup2-close-then-dupfd", FD_SPECS, kills=("fd.dup2.same-fd", "fd.dup2.bad-oldfd"))
class Dup2CloseThenDupfd(KernelProcessOps):
    """dup2() as close(newfd) then fcntl(oldfd, F_DUPFD, newfd): not one atomic step.

    It gets the common case right, but closes newfd before it knows whether
    oldfd is valid, and closes oldfd itself when the two are equal.
    """

    def dup2(self, oldfd: int, newfd: int) -> int:
        _libc.close(newfd)
        return _check(_libc.fcntl(oldfd, fcntl.F_DUPFD, newfd))


@mutant("dup3-ignores-cloexec", FD_SPECS, kills=("fd.dup3.flags",))
class Dup3IgnoresCloexec(KernelProcessOps):
    """dup3() drops O_CLOEXEC (dup3 emulated by dup2 alone)."""

    def dup3(self, oldfd: int, newfd: int, flags: int) -> int:
        return super().dup3(oldfd, newfd, flags & ~os.O_CLOEXEC)


@mutant("dup3-same-fd-is-dup2", FD_SPECS, kills=("fd.dup3.same-fd-einval",))
class Dup3SameFdIsDup2(KernelProcessOps):
    """dup3(fd, fd, flags) succeeds like dup2(fd, fd) instead of failing with EINVAL."""

    def dup3(self, oldfd: int, newfd: int, flags: int) -> int:
        if oldfd == newfd:
            return super().dup2(oldfd, newfd)
        return super().dup3(oldfd, newfd, flags)


@mutant("dup3-masks-flags", FD_SPECS, kills=("fd.dup3.flags",))
class Dup3MasksFlags(KernelProcessOps):
    """dup3() silently ignores flags other than O_CLOEXEC."""

    def dup3(self, oldfd: int, newfd: int, flags: int) -> int:
        return super().dup3(oldfd, newfd, flags & os.O_CLOEXEC)


@mutant("dupfd-ignores-floor", FD_SPECS, kills=("fd.fcntl.dupfd-at-least",))
class DupfdIgnoresFloor(KernelProcessOps):
    """fcntl(F_DUPFD, arg) ignores arg and returns the lowest free number."""

    def fcntl(self, fd: int, cmd: int, arg: int = 0) -> int:
        if cmd == fcntl.F_DUPFD:
            return super().dup(fd)
        return super().fcntl(fd, cmd, arg)


@mutant("dupfd-cloexec-is-dupfd", FD_SPECS, kills=("fd.fcntl.dupfd-cloexec",))
class DupfdCloexecIsDupfd(KernelProcessOps):
    """fcntl(F_DUPFD_CLOEXEC) duplicates but leaves the close-on-exec flag clear."""

    def fcntl(self, fd: int, cmd: int, arg: int = 0) -> int:
        if cmd == fcntl.F_DUPFD_CLOEXEC:
            cmd = fcntl.F_DUPFD
        return super().fcntl(fd, cmd, arg)


# -- descriptions ----------------------------------------------------------------
@mutant("one-description-per-file", FD_SPECS,
        kills=("fd.open.separate-descriptions", "fd.open.separate-across-processes"))
class OneDescriptionPerFile(KernelProcessOps):
    """open() of a file some actor already has open returns that same description.

    The seed's picture of "one table entry per file", made real: the open
    descriptor is found in /proc (in this process, or in another actor of
    the scenario, recognised by its working directory) and duplicated —
    with dup() here, with pidfd_getfd(2) from another process.
    """

    def open(self, path: str, flags: int, mode: int = 0o644) -> int:
        target = os.path.realpath(path)
        holder = self._holder(target) if os.path.exists(target) else None
        if holder is None:
            return super().open(path, flags, mode)
        pid, fd = holder
        if pid == os.getpid():
            return super().dup(fd)
        pidfd = os.pidfd_open(pid)
        try:
            got = _check(_libc.syscall(_SYS_PIDFD_GETFD, pidfd, fd, 0))
        finally:
            os.close(pidfd)
        _libc.fcntl(got, fcntl.F_SETFD, 0)  # pidfd_getfd sets close-on-exec; open() does not
        return int(got)

    @staticmethod
    def _holder(target: str) -> tuple[int, int] | None:
        here = os.getcwd()
        pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        for pid in [os.getpid()] + pids:
            try:
                if os.readlink(f"/proc/{pid}/cwd") != here:
                    continue
                for name in sorted(os.listdir(f"/proc/{pid}/fd"), key=int):
                    if os.readlink(f"/proc/{pid}/fd/{name}") == target:
                        return pid, int(name)
            except OSError:
                continue  # gone, or not ours to look at
        return None


@mutant("close-frees-description", FD_SPECS, kills=("fd.description.lives-until-last-close",))
class CloseFreesDescription(KernelProcessOps):
    """close() tears down the description, taking this process's other descriptors on it along.

    A system without reference counts: the first close of a shared
    description frees it, and every other descriptor on it is dead.
    """

    def close(self, fd: int) -> int:
        me = os.getpid()
        others = []
        for other in self.fd_list():
            if other == fd:
                continue
            try:
                if self.kcmp_file(me, fd, other):
                    others.append(other)
            except OSError:
                pass
        result = super().close(fd)
        for other in others:
            _libc.close(other)
        return result


@mutant("recvfd-reopens", FD_SPECS, kills=("fd.description.kernel-wide",))
class RecvfdReopens(KernelProcessOps):
    """A descriptor passed over a socket arrives as a fresh open of the same file.

    As if descriptor passing were emulated by sending the file's name and
    offset: the receiver sees the right file at the right offset, but on a
    description of its own.
    """

    def recvfd(self, sock: int) -> int | None:
        got = super().recvfd(sock)
        if got is not None:
            _replace_with_copy(got)
        return got


@mutant("proc-fd-is-dup", FD_SPECS, kills=("fd.proc-fd.new-description",))
class ProcFdIsDup(KernelProcessOps):
    """Opening one's own /proc/self/fd/N duplicates N, as open("/dev/fd/N") does on some systems."""

    def open_proc_fd(self, owner_pid: int, fd: int, flags: int) -> int:
        if owner_pid == os.getpid():
            return super().dup(fd)
        return super().open_proc_fd(owner_pid, fd, flags)


# -- fork ------------------------------------------------------------------------
class ForkCopiesDescriptions(KernelProcessOps):
    """A fork child gets private copies of its parent's descriptions, not shared ones.

    The actor runtime forks, so the backend learns it is in a child only at
    the child's first operation (its pid changed). By then the parent may
    have moved the shared offsets, so after every operation the process
    records its regular files' offsets; the child restores those — the state
    at the moment of the fork — onto private descriptions.
    """

    def __init__(self, control_fd: int = -1) -> None:
        super().__init__(control_fd)
        self.pid = os.getpid()
        self.offsets: dict[int, int] = {}

    def _unshare_in_child(self) -> None:
        if os.getpid() == self.pid:
            return
        self.pid = os.getpid()
        for fd, offset in self.offsets.items():
            if _is_open(fd):
                _replace_with_copy(fd, offset=offset)

    def _record_offsets(self) -> None:
        if os.getpid() != self.pid:
            return
        self.offsets = {}
        for fd in KernelProcessOps.fd_list(self):
            try:
                if stat.S_ISREG(os.fstat(fd).st_mode):
                    self.offsets[fd] = _check(_libc.lseek(fd, 0, os.SEEK_CUR))
            except OSError:
                pass


_hook_ops(ForkCopiesDescriptions, before=ForkCopiesDescriptions._unshare_in_child,
          after=ForkCopiesDescriptions._record_offsets)
mutant("fork-copies-descriptions", FD_SPECS,
       kills=("fd.fork.shared-offset", "fd.fork.shared-description"))(ForkCopiesDescriptions)


@mutant("fork-shares-memory", FD_SPECS, kills=("fd.fork.memory-not-shared",))
class ForkSharesMemory(KernelProcessOps):
    """Variables live in memory shared with fork children, as threads would share them."""

    SIZE = 1 << 16

    def __init__(self, control_fd: int = -1) -> None:
        super().__init__(control_fd)
        # Anonymous and MAP_SHARED (Python's default): inherited, not copied, by fork.
        self.shared = mmap.mmap(-1, self.SIZE)

    def _load(self) -> dict[str, int]:
        raw = self.shared[:].rstrip(b"\0")
        return json.loads(raw) if raw else {}

    def setvar(self, name: str, value: int) -> int:
        variables = self._load()
        variables[name] = value
        data = json.dumps(variables).encode()
        self.shared[:] = data + bytes(self.SIZE - len(data))
        return 0

    def getvar(self, name: str) -> int | None:
        return self._load().get(name)


# -- the shell ---------------------------------------------------------------------
@mutant("shell-no-fd-redirection", FD_SPECS, kills=("fd.shell.redirect-3",))
class ShellNoFdRedirection(KernelProcessOps):
    """A shell without numbered redirections: in `prog 3> f`, 3 is an argument and > is stdout."""

    def shell(self, command: str) -> tuple[int, str]:
        return super().shell(re.sub(r"(?<=\s)(\d)(?=[<>])", r"\1 ", command))


@mutant("shell-redirects-stdin", FD_SPECS, kills=("fd.shell.redirect-is-stdout",))
class ShellRedirectsStdin(KernelProcessOps):
    """A shell where `> file` redirects descriptor 0, as the seed's claim S10 says."""

    def shell(self, command: str) -> tuple[int, str]:
        return super().shell(re.sub(r"(?<![\d&>])>(?![>&])", "0>", command))


@mutant("shell-digit-target-is-descriptor", FD_SPECS,
        kills=("fd.shell.redirect-to-0-names-a-file",))
class ShellDigitTargetIsDescriptor(KernelProcessOps):
    """A shell that reads `> 0` as "to descriptor 0" (`>&0`) instead of "to the file 0"."""

    def shell(self, command: str) -> tuple[int, str]:
        return super().shell(re.sub(r">\s*(\d+)(?=\s|$)", r">&\1", command))
