"""Mutants of FIFOs: named pipes that open, read or vanish the wrong way.

Each mutant is a kernel backend with one FIFO rule changed as a real system
might change it: an emulation that makes FIFOs regular files or opens them
read-write, a sandbox that hides them from unrelated processes, a reader
whose EOF is "garbage" (the seed's S16), a shell that writes through a
temporary file. The FIFO specs must notice each one.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import signal
import stat
import struct
import termios

from conformance.backends.kernel import KernelProcessOps

from . import mutant

FIFO_SPECS = ("specs/fifo",)


def _error(code: int) -> OSError:
    return OSError(code, os.strerror(code))


def _names_fifo(path: str) -> bool:
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        return False


def _is_fifo(fd: int) -> bool:
    try:
        return stat.S_ISFIFO(os.fstat(fd).st_mode)
    except OSError:
        return False


def _access(flags: int) -> int:
    return flags & os.O_ACCMODE


def _fd_access(fd: int) -> int:
    return _access(fcntl.fcntl(fd, fcntl.F_GETFL))


def _unread(fd: int) -> int:
    buf = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
    return int(struct.unpack("i", buf)[0])


@mutant("mkfifo-makes-regular-file", FIFO_SPECS, kills=("fifo.mkfifo.type-p", "fifo.model.multi-process"))
class MkfifoMakesRegularFile(KernelProcessOps):
    """mkfifo() creates an empty regular file (a file system without FIFOs)."""

    def mkfifo(self, path: str, mode: int = 0o644) -> int:
        self.close(self.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
        return 0


@mutant("mkfifo-accepts-existing-fifo", FIFO_SPECS, kills=("fifo.mkfifo.eexist",))
class MkfifoAcceptsExistingFifo(KernelProcessOps):
    """mkfifo() on a path that already is a FIFO reports success ("already done")."""

    def mkfifo(self, path: str, mode: int = 0o644) -> int:
        if _names_fifo(path):
            return 0
        return super().mkfifo(path, mode)


@mutant("fifo-reader-open-never-waits", FIFO_SPECS, kills=("fifo.open.rdonly-blocks-until-writer",))
class FifoReaderOpenNeverWaits(KernelProcessOps):
    """open(O_RDONLY) of a FIFO returns at once, as if O_NONBLOCK were given."""

    def open(self, path: str, flags: int, mode: int = 0o644) -> int:
        if _names_fifo(path) and _access(flags) == os.O_RDONLY and not flags & os.O_NONBLOCK:
            fd = super().open(path, flags | os.O_NONBLOCK, mode)
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
            return fd
        return super().open(path, flags, mode)


@mutant("fifo-writer-open-never-waits", FIFO_SPECS, kills=("fifo.open.wronly-blocks-until-reader",))
class FifoWriterOpenNeverWaits(KernelProcessOps):
    """open(O_WRONLY) of a FIFO opens it read-write, so it never waits for a reader."""

    def open(self, path: str, flags: int, mode: int = 0o644) -> int:
        if _names_fifo(path) and _access(flags) == os.O_WRONLY and not flags & os.O_NONBLOCK:
            flags = (flags & ~os.O_ACCMODE) | os.O_RDWR
        return super().open(path, flags, mode)


@mutant("nonblocking-reader-needs-writer", FIFO_SPECS,
        kills=("fifo.open.nonblock-rdonly-succeeds",))
class NonblockingReaderNeedsWriter(KernelProcessOps):
    """open(O_RDONLY | O_NONBLOCK) of a FIFO fails with ENXIO, as the writer's open does."""

    def open(self, path: str, flags: int, mode: int = 0o644) -> int:
        if _names_fifo(path) and _access(flags) == os.O_RDONLY and flags & os.O_NONBLOCK:
            raise _error(errno.ENXIO)
        return super().open(path, flags, mode)


@mutant("nonblocking-writer-without-reader", FIFO_SPECS,
        kills=("fifo.open.nonblock-wronly-enxio",))
class NonblockingWriterWithoutReader(KernelProcessOps):
    """open(O_WRONLY | O_NONBLOCK) of a reader-less FIFO succeeds instead of ENXIO."""

    def open(self, path: str, flags: int, mode: int = 0o644) -> int:
        try:
            return super().open(path, flags, mode)
        except OSError as exc:
            if exc.errno != errno.ENXIO or not _names_fifo(path):
                raise
            return super().open(path, (flags & ~os.O_ACCMODE) | os.O_RDWR, mode)


@mutant("fifo-rdwr-waits-for-writer", FIFO_SPECS, kills=("fifo.open.rdwr-does-not-block",))
class FifoRdwrWaitsForWriter(KernelProcessOps):
    """open(O_RDWR) of a FIFO waits for another writer, as O_RDONLY does."""

    def open(self, path: str, flags: int, mode: int = 0o644) -> int:
        if _names_fifo(path) and _access(flags) == os.O_RDWR:
            waited = super().open(path, os.O_RDONLY, mode)
            try:
                return super().open(path, flags, mode)
            finally:
                self.close(waited)
        return super().open(path, flags, mode)


@mutant("stale-buffer-at-eof", FIFO_SPECS, kills=("fifo.read.eof-after-writer-closes",))
class StaleBufferAtEof(KernelProcessOps):
    """At end of file, read() returns its buffer's old contents: the seed's "garbage".

    The buffer is reused between reads, as in the seed's receiver loop, and a
    read that gets 0 bytes hands it back whole instead of nothing.
    """

    def __init__(self, control_fd: int = -1) -> None:
        super().__init__(control_fd)
        self.buffer = bytearray(128)

    def read(self, fd: int, count: int) -> bytes:
        data = super().read(fd, count)
        if len(self.buffer) < count:
            self.buffer.extend(bytes(count - len(self.buffer)))
        if data:
            self.buffer[: len(data)] = data
            return data
        return bytes(self.buffer[:count]) if count else data


@mutant("rdwr-reader-sees-eof", FIFO_SPECS, kills=("fifo.read.rdwr-blocks",))
class RdwrReaderSeesEof(KernelProcessOps):
    """A reader's own O_RDWR descriptor does not count as a writer: an empty read is EOF."""

    def read(self, fd: int, count: int) -> bytes:
        if _is_fifo(fd) and _fd_access(fd) == os.O_RDWR and _unread(fd) == 0:
            return b""
        return super().read(fd, count)


@mutant("empty-fifo-read-returns-at-once", FIFO_SPECS, kills=("fifo.read.blocks-when-empty",))
class EmptyFifoReadReturnsAtOnce(KernelProcessOps):
    """An O_RDONLY reader of an empty FIFO gets 0 bytes at once: the seed's S16 model."""

    def read(self, fd: int, count: int) -> bytes:
        if _is_fifo(fd) and _fd_access(fd) == os.O_RDONLY and _unread(fd) == 0:
            return b""
        return super().read(fd, count)


@mutant("fifo-keeps-data", FIFO_SPECS, kills=("fifo.data.discarded-on-last-close",))
class FifoKeepsData(KernelProcessOps):
    """A FIFO's data survives the last close: the system holds every FIFO open itself.

    Modelled by keeping a hidden duplicate of each FIFO descriptor, out of
    the way at a high number, so closing the program's descriptors never
    releases the pipe.
    """

    def open(self, path: str, flags: int, mode: int = 0o644) -> int:
        fd = super().open(path, flags, mode)
        if _is_fifo(fd):
            fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 500)
        return fd


@mutant("fifo-only-for-its-maker", FIFO_SPECS, kills=("fifo.unrelated-processes",))
class FifoOnlyForItsMaker(KernelProcessOps):
    """Only the process that made a FIFO (and its children) may open it; others get EACCES."""

    def __init__(self, control_fd: int = -1) -> None:
        super().__init__(control_fd)
        self.made: set[str] = set()

    def mkfifo(self, path: str, mode: int = 0o644) -> int:
        result = super().mkfifo(path, mode)
        self.made.add(os.path.abspath(path))
        return result

    def open(self, path: str, flags: int, mode: int = 0o644) -> int:
        if _names_fifo(path) and os.path.abspath(path) not in self.made:
            raise _error(errno.EACCES)
        return super().open(path, flags, mode)


@mutant("shell-writes-via-temp-file", FIFO_SPECS, kills=("fifo.shell.echo-writer",))
class ShellWritesViaTempFile(KernelProcessOps):
    """The shell's `> file` writes a temporary file and renames it over the target.

    That is how many tools make "atomic" writes; on a FIFO it replaces the
    FIFO with a regular file, and the reader waiting on the FIFO gets nothing.
    """

    REDIRECT = re.compile(r"^(?P<command>.*?)\s*>\s*(?P<target>\S+)\s*$")

    def shell(self, command: str) -> tuple[int, str]:
        match = self.REDIRECT.match(command)
        if match:
            target = match["target"]
            command = f"{match['command']} > {target}.tmp && mv -f {target}.tmp {target}"
        return super().shell(command)


@mutant("packet-fifos", FIFO_SPECS, kills=("fifo.stream.no-boundaries",))
class PacketFifos(KernelProcessOps):
    """Every opened FIFO is in "packet" mode (O_DIRECT): each write is one message."""

    def open(self, path: str, flags: int, mode: int = 0o644) -> int:
        fd = super().open(path, flags, mode)
        if _is_fifo(fd):
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_DIRECT)
        return fd


@mutant("fifo-opens-read-write", FIFO_SPECS, kills=("fifo.direction.one-way",))
class FifoOpensReadWrite(KernelProcessOps):
    """A FIFO opened for reading or writing alone gets a read-write descriptor.

    The open still waits (or fails) as the access mode asked; only the
    descriptor it returns is made two-way.
    """

    def open(self, path: str, flags: int, mode: int = 0o644) -> int:
        fd = super().open(path, flags, mode)
        if _is_fifo(fd) and _access(flags) != os.O_RDWR:
            both = super().open(f"/proc/self/fd/{fd}", (flags & ~os.O_ACCMODE) | os.O_RDWR)
            self.dup2(both, fd)
            self.close(both)
        return fd


@mutant("fifo-sigpipe-never-raised", FIFO_SPECS, kills=("fifo.write.sigpipe",))
class FifoSigpipeNeverRaised(KernelProcessOps):
    """A write to a FIFO without readers fails with EPIPE but no SIGPIPE is sent."""

    def write(self, fd: int, data: bytes) -> int:
        previous = signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        try:
            return super().write(fd, data)
        finally:
            signal.signal(signal.SIGPIPE, previous)
