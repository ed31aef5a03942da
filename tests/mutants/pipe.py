"""Mutants of pipes: each one a pipe(7) rule that some real system could get wrong.

Every mutant is a kernel backend with one behavior changed, the way an
emulation layer, a sandbox or an older kernel might change it: pipes built
on sockets or on named FIFOs, reads that do not wait or wait too long,
writes cut into pieces, fcntl() answers that do not match the pipe. The pipe
specs must notice each one.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import signal
import stat
import struct
import termios

from conformance.backends.kernel import KernelProcessOps

from . import mutant

PIPE_SPECS = ("specs/pipe",)
PAGE = os.sysconf("SC_PAGE_SIZE")


def _error(code: int) -> OSError:
    return OSError(code, os.strerror(code))


def _is_fifo(fd: int) -> bool:
    """True for both ends of a pipe (and for FIFOs): fstat type 'p'."""
    try:
        return stat.S_ISFIFO(os.fstat(fd).st_mode)
    except OSError:
        return False


def _unread(fd: int) -> int:
    """Bytes waiting in the pipe (FIONREAD), as pipe(7) describes."""
    buf = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
    return int(struct.unpack("i", buf)[0])


def _nonblocking(fd: int) -> bool:
    return bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK)


def _write_end(fd: int) -> bool:
    return fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY


@mutant("pipe-is-a-socketpair", PIPE_SPECS, kills=("pipe.direction.ends",))
class PipeIsASocketpair(KernelProcessOps):
    """pipe() hands out a connected socket pair: both ends read and write.

    pipe(7) notes that on some systems pipes are bidirectional; this is
    such a system.
    """

    def pipe(self) -> tuple[int, int]:
        return self.socketpair()


@mutant("empty-pipe-read-returns-eof", PIPE_SPECS, kills=("pipe.read.blocks-when-empty", "pipe.model.multi-process"))
class EmptyPipeReadReturnsEof(KernelProcessOps):
    """A read on an empty pipe returns 0 bytes at once instead of waiting."""

    def read(self, fd: int, count: int) -> bytes:
        if _is_fifo(fd) and not _nonblocking(fd) and _unread(fd) == 0:
            return b""
        return super().read(fd, count)


@mutant("pipe-read-waits-for-full-count", PIPE_SPECS, kills=("pipe.read.returns-available",))
class PipeReadWaitsForFullCount(KernelProcessOps):
    """A read keeps reading until it has all ``count`` bytes or end of file."""

    def read(self, fd: int, count: int) -> bytes:
        got = b""
        while len(got) < count:
            piece = super().read(fd, count - len(got))
            if not piece:
                break
            got += piece
        return got


@mutant("eof-when-own-writer-closes", PIPE_SPECS, kills=("pipe.read.eof-after-last-writer",))
class EofWhenOwnWriterCloses(KernelProcessOps):
    """End of file as soon as the reading process closed its own write end.

    Writers are counted per process instead of per open file, so a forked
    child's copy of the write end no longer keeps the pipe open.
    """

    def __init__(self, control_fd: int = -1) -> None:
        super().__init__(control_fd)
        self.closed_writers: set[int] = set()

    def close(self, fd: int) -> int:
        if _is_fifo(fd) and _write_end(fd):
            self.closed_writers.add(os.fstat(fd).st_ino)
        return super().close(fd)

    def read(self, fd: int, count: int) -> bytes:
        if _is_fifo(fd) and os.fstat(fd).st_ino in self.closed_writers and _unread(fd) == 0:
            return b""
        return super().read(fd, count)


@mutant("sigpipe-never-raised", PIPE_SPECS, kills=("pipe.write.sigpipe",))
class SigpipeNeverRaised(KernelProcessOps):
    """A write without readers fails with EPIPE but no SIGPIPE is sent."""

    def write(self, fd: int, data: bytes) -> int:
        previous = signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        try:
            return super().write(fd, data)
        finally:
            signal.signal(signal.SIGPIPE, previous)


@mutant("sigpipe-despite-ignore", PIPE_SPECS, kills=("pipe.write.epipe-when-ignored",))
class SigpipeDespiteIgnore(KernelProcessOps):
    """SIGPIPE kills the writer even when the process ignores it."""

    def write(self, fd: int, data: bytes) -> int:
        try:
            return super().write(fd, data)
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                signal.signal(signal.SIGPIPE, signal.SIG_DFL)
                os.kill(os.getpid(), signal.SIGPIPE)
            raise


@mutant("nonblocking-empty-read-is-eof", PIPE_SPECS, kills=("pipe.nonblock.read-eagain",))
class NonblockingEmptyReadIsEof(KernelProcessOps):
    """O_NONBLOCK on an empty pipe reads 0 bytes (end of file) instead of EAGAIN."""

    def read(self, fd: int, count: int) -> bytes:
        try:
            return super().read(fd, count)
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                return b""
            raise


@mutant("nonblocking-full-write-returns-0", PIPE_SPECS, kills=("pipe.nonblock.write-eagain",))
class NonblockingFullWriteReturnsZero(KernelProcessOps):
    """O_NONBLOCK on a full pipe writes 0 bytes and reports success."""

    def write(self, fd: int, data: bytes) -> int:
        try:
            return super().write(fd, data)
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                return 0
            raise


@mutant("one-page-pipes", PIPE_SPECS, kills=("pipe.capacity.default",))
class OnePagePipes(KernelProcessOps):
    """Every new pipe holds one page, as before Linux 2.6.11."""

    def pipe(self) -> tuple[int, int]:
        r, w = super().pipe()
        super().fcntl(w, fcntl.F_SETPIPE_SZ, PAGE)
        return r, w


@mutant("set-pipe-size-unrounded", PIPE_SPECS, kills=("pipe.capacity.set",))
class SetPipeSizeUnrounded(KernelProcessOps):
    """F_SETPIPE_SZ returns the size asked for, not the capacity it set."""

    def fcntl(self, fd: int, cmd: int, arg: int = 0) -> int:
        result = super().fcntl(fd, cmd, arg)
        return arg if cmd == fcntl.F_SETPIPE_SZ else result


@mutant("shrink-ignores-content", PIPE_SPECS, kills=("pipe.capacity.set-busy",))
class ShrinkIgnoresContent(KernelProcessOps):
    """F_SETPIPE_SZ below the data's size reports success (and changes nothing)."""

    def fcntl(self, fd: int, cmd: int, arg: int = 0) -> int:
        try:
            return super().fcntl(fd, cmd, arg)
        except OSError as exc:
            if cmd == fcntl.F_SETPIPE_SZ and exc.errno == errno.EBUSY:
                pages = max(1, -(-arg // PAGE))
                return PAGE * (1 << (pages - 1).bit_length())
            raise


@mutant("full-write-is-short", PIPE_SPECS, kills=("pipe.write.blocks-when-full",))
class FullWriteIsShort(KernelProcessOps):
    """A blocking write writes what fits and returns that count instead of waiting."""

    def write(self, fd: int, data: bytes) -> int:
        if not _is_fifo(fd) or _nonblocking(fd):
            return super().write(fd, data)
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        try:
            return super().write(fd, data)
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                return 0
            raise
        finally:
            fcntl.fcntl(fd, fcntl.F_SETFL, flags)


@mutant("writes-split-at-512", PIPE_SPECS, kills=("pipe.write.atomic-up-to-pipe-buf",))
class WritesSplitAt512(KernelProcessOps):
    """Writes go to the pipe in 512-byte pieces (POSIX's minimum PIPE_BUF), one call each.

    Each piece is atomic, the whole write is not: another writer can get
    in between two pieces.
    """

    def write(self, fd: int, data: bytes) -> int:
        if not _is_fifo(fd) or len(data) <= 512:
            return super().write(fd, data)
        done = 0
        while done < len(data):
            try:
                done += super().write(fd, data[done:done + 512])
            except OSError:
                if done:
                    return done
                raise
        return done


@mutant("large-write-all-or-nothing", PIPE_SPECS, kills=("pipe.write.large-may-interleave",))
class LargeWriteAllOrNothing(KernelProcessOps):
    """A non-blocking write that does not fit whole fails with EAGAIN, writing nothing."""

    def write(self, fd: int, data: bytes) -> int:
        if _is_fifo(fd) and _nonblocking(fd):
            room = fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ) - _unread(fd)
            if len(data) > room:
                raise _error(errno.EAGAIN)
        return super().write(fd, data)


@mutant("packet-pipes", PIPE_SPECS, kills=("pipe.stream.no-boundaries",))
class PacketPipes(KernelProcessOps):
    """Every pipe is in "packet" mode (pipe2(O_DIRECT)): each write is one message."""

    def pipe(self) -> tuple[int, int]:
        return self.pipe2(os.O_DIRECT)


@mutant("seekable-pipes", PIPE_SPECS, kills=("pipe.lseek.espipe",))
class SeekablePipes(KernelProcessOps):
    """lseek() on a pipe pretends to succeed at offset 0."""

    def lseek(self, fd: int, offset: int, whence: int) -> int:
        try:
            return super().lseek(fd, offset, whence)
        except OSError as exc:
            if exc.errno == errno.ESPIPE:
                return 0
            raise


@mutant("pipes-are-named-fifos", PIPE_SPECS, kills=("pipe.unnamed.no-path",))
class PipesAreNamedFifos(KernelProcessOps):
    """pipe() makes a FIFO in the working directory and opens both ends of it."""

    made = 0

    def pipe(self) -> tuple[int, int]:
        name = f".pipe-{os.getpid()}-{self.made}"
        self.made += 1
        self.mkfifo(name, 0o600)
        r = self.open(name, os.O_RDONLY | os.O_NONBLOCK)
        w = self.open(name, os.O_WRONLY)
        fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return r, w


@mutant("pipes-stay-with-their-creator", PIPE_SPECS, kills=("pipe.share.parent-child",))
class PipesStayWithTheirCreator(KernelProcessOps):
    """Pipe descriptors work only in the process that called pipe().

    A child inherits the numbers, but reading or writing them fails with
    EBADF, as if fork() did not carry pipes over.
    """

    def __init__(self, control_fd: int = -1) -> None:
        super().__init__(control_fd)
        self.creators: dict[int, int] = {}  # pipe inode -> pid that made it

    def pipe(self) -> tuple[int, int]:
        r, w = super().pipe()
        self.creators[os.fstat(r).st_ino] = os.getpid()
        return r, w

    def _check(self, fd: int) -> None:
        if _is_fifo(fd) and self.creators.get(os.fstat(fd).st_ino, os.getpid()) != os.getpid():
            raise _error(errno.EBADF)

    def read(self, fd: int, count: int) -> bytes:
        self._check(fd)
        return super().read(fd, count)

    def write(self, fd: int, data: bytes) -> int:
        self._check(fd)
        return super().write(fd, data)


@mutant("pipe-has-one-peer", PIPE_SPECS, kills=("pipe.share.siblings",))
class PipeHasOnePeer(KernelProcessOps):
    """A pipe joins its creator and exactly one other process: the seed's S13, enforced.

    The first process other than the creator to read or write the pipe
    becomes its peer; any third process gets EBADF. Peers are recorded in
    a file in the scenario directory, the one place all actors share.
    """

    REGISTRY = ".pipe-peers.json"

    def _load(self) -> dict[str, list[int | None]]:
        try:
            with open(self.REGISTRY) as f:
                return dict(json.load(f))
        except FileNotFoundError:
            return {}

    def _save(self, peers: dict[str, list[int | None]]) -> None:
        with open(self.REGISTRY, "w") as f:
            json.dump(peers, f)

    def pipe(self) -> tuple[int, int]:
        r, w = super().pipe()
        peers = self._load()
        peers[str(os.fstat(r).st_ino)] = [os.getpid(), None]
        self._save(peers)
        return r, w

    def _check(self, fd: int) -> None:
        if not _is_fifo(fd):
            return
        peers = self._load()
        key = str(os.fstat(fd).st_ino)
        if key not in peers:
            return
        creator, peer = peers[key]
        me = os.getpid()
        if me in (creator, peer):
            return
        if peer is not None:
            raise _error(errno.EBADF)
        peers[key] = [creator, me]
        self._save(peers)

    def read(self, fd: int, count: int) -> bytes:
        self._check(fd)
        return super().read(fd, count)

    def write(self, fd: int, data: bytes) -> int:
        self._check(fd)
        return super().write(fd, data)


@mutant("scm-rights-drops-pipes", PIPE_SPECS, kills=("pipe.share.scm-rights",))
class ScmRightsDropsPipes(KernelProcessOps):
    """A pipe descriptor sent over a socket is dropped on arrival; only sockets pass."""

    def recvfd(self, sock: int) -> int | None:
        fd = super().recvfd(sock)
        if fd is not None and _is_fifo(fd):
            os.close(fd)
            return None
        return fd


@mutant("proc-fd-closed", PIPE_SPECS, kills=("pipe.share.proc-fd",))
class ProcFdClosed(KernelProcessOps):
    """Opening another process's /proc/PID/fd/N is refused (a hardened /proc)."""

    def open_proc_fd(self, owner_pid: int, fd: int, flags: int) -> int:
        if owner_pid != os.getpid():
            raise _error(errno.EACCES)
        return super().open_proc_fd(owner_pid, fd, flags)


@mutant("one-pipe-per-process", PIPE_SPECS, kills=("pipe.two-way.two-pipes",))
class OnePipePerProcess(KernelProcessOps):
    """Every pipe() in a process returns new descriptors for its first pipe."""

    first: tuple[int, int] | None = None

    def pipe(self) -> tuple[int, int]:
        if self.first is None:
            self.first = super().pipe()
            return self.first
        return (self.dup(self.first[0]), self.dup(self.first[1]))
