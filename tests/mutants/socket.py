"""Mutants of sockets: connection setup, streams, boundaries, descriptor passing."""

from __future__ import annotations

import errno
import os
import signal
import socket
import struct

from conformance.backends.kernel import KernelProcessOps, _borrowed, _check, _libc

from . import mutant

#: the hand-written clauses (the state machine has mutants of its own in
#: socket_machine.py: running it against every mutant here would only spend
#: minutes shrinking counterexamples no proof below asks for)
SOCKET_SPECS = ("specs/socket/test_sockets.py", "specs/socket/test_socket_streams.py",
                "specs/socket/test_socket_pairs.py")


@mutant("stream-one-way", SOCKET_SPECS, kills=("socket.stream.server-client",))
class StreamOneWay(KernelProcessOps):
    """An accepted connection can receive but not send: a one-way channel."""

    def accept(self, fd: int) -> int:
        conn = super().accept(fd)
        _libc.shutdown(conn, 1)  # SHUT_WR
        return conn


@mutant("accept-never-waits", SOCKET_SPECS, kills=("socket.accept.blocks",))
class AcceptNeverWaits(KernelProcessOps):
    """accept() with no pending connection fails at once instead of waiting."""

    def accept(self, fd: int) -> int:
        flags = _check(_libc.fcntl(fd, 3, 0))
        _libc.fcntl(fd, 4, flags | os.O_NONBLOCK)
        try:
            return super().accept(fd)
        finally:
            _libc.fcntl(fd, 4, flags)


@mutant("stream-keeps-boundaries", SOCKET_SPECS, kills=("socket.stream.no-boundaries",))
class StreamKeepsBoundaries(KernelProcessOps):
    """Stream sockets deliver one write per read, like datagrams."""

    def socket(self, domain: str, type: str) -> int:  # noqa: A002
        return super().socket(domain, "seqpacket" if domain == "unix" and type == "stream" else type)

    def read(self, fd: int, count: int) -> bytes:
        import stat

        if stat.S_ISSOCK(os.fstat(fd).st_mode) and count > 3:
            count = 3  # the spec's messages are three bytes: return one at a time
        return super().read(fd, count)


@mutant("socket-read-never-waits", SOCKET_SPECS, kills=("socket.stream.read-blocks",))
class SocketReadNeverWaits(KernelProcessOps):
    """A read on an empty connected socket returns 0 at once."""

    def read(self, fd: int, count: int) -> bytes:
        import select
        import stat

        if stat.S_ISSOCK(os.fstat(fd).st_mode) and not select.select([fd], [], [], 0)[0]:
            return b""
        return super().read(fd, count)


@mutant("close-discards-unread", SOCKET_SPECS, kills=("socket.stream.eof-on-close",))
class CloseDiscardsUnread(KernelProcessOps):
    """After the peer closes, what it sent before closing is lost."""

    def read(self, fd: int, count: int) -> bytes:
        import select
        import stat

        data = super().read(fd, count)
        if stat.S_ISSOCK(os.fstat(fd).st_mode) and data and select.select([fd], [], [], 0)[0]:
            peek = super().read(fd, 1)  # readable with nothing left means the peer is gone
            if peek == b"":
                return b""
            return data + peek
        return data


@mutant("unix-messages-merge", SOCKET_SPECS, kills=("socket.unix.boundaries-kept",))
class UnixMessagesMerge(KernelProcessOps):
    """Datagram and sequenced-packet pairs behave as byte streams."""

    def socketpair_of(self, type: str) -> tuple[int, int]:  # noqa: A002
        return super().socketpair_of("stream")


@mutant("connect-to-nobody-succeeds", SOCKET_SPECS, kills=("socket.connect.refused",))
class ConnectToNobodySucceeds(KernelProcessOps):
    """A refused connect() is reported as success."""

    def connect(self, fd: int, address: str | int) -> int:
        try:
            return super().connect(fd, address)
        except ConnectionRefusedError:
            return 0


@mutant("bind-steals-address", SOCKET_SPECS, kills=("socket.bind.address-in-use",))
class BindStealsAddress(KernelProcessOps):
    """Binding to an address in use quietly binds somewhere else."""

    def bind(self, fd: int, address: str | int) -> int:
        try:
            return super().bind(fd, address)
        except OSError:
            return super().bind(fd, 0 if isinstance(address, int) else address + ".2")


@mutant("scm-rights-reopens", SOCKET_SPECS, kills=("socket.scm-rights.same-description",))
class ScmRightsReopens(KernelProcessOps):
    """A passed descriptor arrives as a fresh open of the same file (its own offset)."""

    def recvfd(self, sock: int) -> int | None:
        fd = super().recvfd(sock)
        if fd is None:
            return None
        fresh = super().open(f"/proc/self/fd/{fd}", os.O_RDWR)
        super().dup2(fresh, fd)
        super().close(fresh)
        return fd


# -- helpers of the mutants below ------------------------------------------------------
def _socket_kind(fd: int) -> tuple[int, int] | None:
    """(family, type) of a socket descriptor, None for anything else."""
    import stat

    if not stat.S_ISSOCK(os.fstat(fd).st_mode):
        return None
    s = _borrowed(fd)
    return (int(s.family), int(s.type))


def _is_socket(fd: int) -> bool:
    return _socket_kind(fd) is not None


def _wait_forever() -> None:
    """Sleep in read(2) on a pipe nobody writes: a call that never returns."""
    r, _w = os.pipe()
    os.read(r, 1)


# -- socket pairs ----------------------------------------------------------------------
@mutant("socketpair-one-way", SOCKET_SPECS, kills=("socket.socketpair.two-way",))
class SocketpairOneWay(KernelProcessOps):
    """A socket pair carries data from its first end to its second only (built like a pipe)."""

    def socketpair_of(self, type: str) -> tuple[int, int]:  # noqa: A002
        first, second = super().socketpair_of(type)
        _libc.shutdown(second, 1)  # SHUT_WR
        return first, second


@mutant("message-tail-kept", SOCKET_SPECS, kills=("socket.unix.message-truncated",))
class MessageTailKept(KernelProcessOps):
    """A short read of a datagram or packet keeps its tail for the next read (framing over a stream)."""

    def __init__(self, control_fd: int = -1) -> None:
        super().__init__(control_fd)
        self.tails: dict[int, bytes] = {}

    def read(self, fd: int, count: int) -> bytes:
        kind = _socket_kind(fd)
        if kind is None or kind[1] == socket.SOCK_STREAM:
            return super().read(fd, count)
        if self.tails.get(fd):
            data = self.tails.pop(fd)
        else:
            data = super().read(fd, 1 << 16)
        self.tails[fd] = data[count:]
        return data[:count]


@mutant("seqpacket-as-dgram", SOCKET_SPECS,
        kills=("socket.seqpacket.eof-on-close", "socket.seqpacket.epipe-no-sigpipe"))
class SeqpacketAsDgram(KernelProcessOps):
    """Sequenced-packet pairs are datagram pairs: no connection, so no end of file and no EPIPE."""

    def socketpair_of(self, type: str) -> tuple[int, int]:  # noqa: A002
        return super().socketpair_of("dgram" if type == "seqpacket" else type)


@mutant("dgram-as-seqpacket", SOCKET_SPECS,
        kills=("socket.unix.dgram-peer-close-read-waits", "socket.unix.dgram-peer-close-write-refused"))
class DgramAsSeqpacket(KernelProcessOps):
    """Datagram pairs are connection-oriented: the peer's close ends them like a connection."""

    def socketpair_of(self, type: str) -> tuple[int, int]:  # noqa: A002
        return super().socketpair_of("seqpacket" if type == "dgram" else type)


@mutant("socket-epipe-always-signals", SOCKET_SPECS, kills=("socket.seqpacket.epipe-no-sigpipe",))
class SocketEpipeAlwaysSignals(KernelProcessOps):
    """Every EPIPE from a socket write comes with SIGPIPE, whatever the socket type."""

    def write(self, fd: int, data: bytes) -> int:
        try:
            return super().write(fd, data)
        except BrokenPipeError:
            if _is_socket(fd):
                os.kill(os.getpid(), signal.SIGPIPE)
            raise


# -- the peer goes away ----------------------------------------------------------------
@mutant("socket-writes-never-signal", SOCKET_SPECS,
        kills=("socket.stream.epipe-sigpipe", "socket.shutdown.write-then-write-epipe"))
class SocketWritesNeverSignal(KernelProcessOps):
    """write() on a socket is send(MSG_NOSIGNAL): a broken connection gives EPIPE but never SIGPIPE."""

    def write(self, fd: int, data: bytes) -> int:
        if _is_socket(fd):
            return super().send(fd, data, ("MSG_NOSIGNAL",))
        return super().write(fd, data)


@mutant("eof-means-broken", SOCKET_SPECS, kills=("socket.tcp.write-after-close-accepted",))
class EofMeansBroken(KernelProcessOps):
    """A write to a socket whose peer has sent end of file fails EPIPE at once (no half close)."""

    def write(self, fd: int, data: bytes) -> int:
        if _is_socket(fd):
            try:
                peer_done = super().recv(fd, 1, ("MSG_PEEK", "MSG_DONTWAIT")) == b""
            except OSError:
                peer_done = False
            if peer_done:
                os.kill(os.getpid(), signal.SIGPIPE)
                raise OSError(errno.EPIPE, os.strerror(errno.EPIPE))
        return super().write(fd, data)


@mutant("msg-nosignal-dropped", SOCKET_SPECS, kills=("socket.send.msg-nosignal",))
class MsgNosignalDropped(KernelProcessOps):
    """send() passes every flag but MSG_NOSIGNAL on to the kernel."""

    def send(self, fd: int, data: bytes, flags: tuple[str, ...]) -> int:
        return super().send(fd, data, tuple(f for f in flags if f != "MSG_NOSIGNAL"))


@mutant("reset-reads-as-eof", SOCKET_SPECS, kills=("socket.stream.close-with-unread-resets",))
class ResetReadsAsEof(KernelProcessOps):
    """A reset connection reads as an orderly end of file."""

    def read(self, fd: int, count: int) -> bytes:
        try:
            return super().read(fd, count)
        except ConnectionResetError:
            return b""


@mutant("socket-eof-waits", SOCKET_SPECS, kills=("socket.stream.peer-close-wakes-reader",))
class SocketEofWaits(KernelProcessOps):
    """A read that finds a socket at end of file waits for more data instead of returning 0."""

    def read(self, fd: int, count: int) -> bytes:
        data = super().read(fd, count)
        if data == b"" and count > 0 and _is_socket(fd):
            _wait_forever()
        return data


# -- shutdown --------------------------------------------------------------------------
@mutant("shutdown-ignored", SOCKET_SPECS,
        kills=("socket.shutdown.write-gives-peer-eof", "socket.shutdown.write-then-write-epipe",
               "socket.shutdown.read-gives-eof", "socket.unix.shutdown-read-peer-epipe"))
class ShutdownIgnored(KernelProcessOps):
    """shutdown() reports success and does nothing (no half close)."""

    def shutdown(self, fd: int, how: int) -> int:
        return 0


@mutant("shutdown-read-local", SOCKET_SPECS, kills=("socket.unix.shutdown-read-peer-epipe",))
class ShutdownReadLocal(KernelProcessOps):
    """SHUT_RD is kept in the process: its reads see end of file, the peer is never told."""

    def __init__(self, control_fd: int = -1) -> None:
        super().__init__(control_fd)
        self.shut_for_reading: set[int] = set()

    def shutdown(self, fd: int, how: int) -> int:
        if how == 0:  # SHUT_RD
            self.shut_for_reading.add(fd)
            return 0
        return super().shutdown(fd, how)

    def read(self, fd: int, count: int) -> bytes:
        if fd in self.shut_for_reading:
            try:
                return super().recv(fd, count, ("MSG_DONTWAIT",))
            except BlockingIOError:
                return b""
        return super().read(fd, count)


# -- not waiting -----------------------------------------------------------------------
@mutant("accept-ignores-nonblock", SOCKET_SPECS, kills=("socket.accept.nonblocking-eagain",))
class AcceptIgnoresNonblock(KernelProcessOps):
    """accept() waits for a connection even on a non-blocking listening socket."""

    def accept(self, fd: int) -> int:
        flags = _check(_libc.fcntl(fd, 3, 0))
        _libc.fcntl(fd, 4, flags & ~os.O_NONBLOCK)
        try:
            return super().accept(fd)
        finally:
            _libc.fcntl(fd, 4, flags)


@mutant("empty-socket-reads-eof", SOCKET_SPECS, kills=("socket.stream.nonblocking-read-eagain",))
class EmptySocketReadsEof(KernelProcessOps):
    """A non-blocking read on an empty socket returns 0, as if the peer had closed."""

    def read(self, fd: int, count: int) -> bytes:
        try:
            return super().read(fd, count)
        except BlockingIOError:
            if _is_socket(fd):
                return b""
            raise


@mutant("full-socket-writes-zero", SOCKET_SPECS, kills=("socket.stream.nonblocking-write-eagain",))
class FullSocketWritesZero(KernelProcessOps):
    """A non-blocking write to a full socket returns 0 instead of failing with EAGAIN."""

    def write(self, fd: int, data: bytes) -> int:
        try:
            return super().write(fd, data)
        except BlockingIOError:
            if _is_socket(fd):
                return 0
            raise


@mutant("socket-writes-never-wait", SOCKET_SPECS, kills=("socket.stream.write-blocks-when-full",))
class SocketWritesNeverWait(KernelProcessOps):
    """Every socket write is sent with MSG_DONTWAIT: a full connection fails EAGAIN, never waits."""

    def write(self, fd: int, data: bytes) -> int:
        if _is_socket(fd):
            return super().send(fd, data, ("MSG_DONTWAIT",))
        return super().write(fd, data)


# -- recv flags ------------------------------------------------------------------------
@mutant("dontwait-sticks", SOCKET_SPECS, kills=("socket.recv.dontwait-eagain",))
class DontwaitSticks(KernelProcessOps):
    """MSG_DONTWAIT is done by setting O_NONBLOCK on the description, which stays set."""

    def recv(self, fd: int, count: int, flags: tuple[str, ...]) -> bytes:
        if "MSG_DONTWAIT" in flags:
            status = _check(_libc.fcntl(fd, 3, 0))
            _check(_libc.fcntl(fd, 4, status | os.O_NONBLOCK))
            flags = tuple(f for f in flags if f != "MSG_DONTWAIT")
        return super().recv(fd, count, flags)


@mutant("peek-consumes", SOCKET_SPECS, kills=("socket.recv.peek-keeps-data",))
class PeekConsumes(KernelProcessOps):
    """recv() ignores MSG_PEEK: peeked data is taken off the queue."""

    def recv(self, fd: int, count: int, flags: tuple[str, ...]) -> bytes:
        return super().recv(fd, count, tuple(f for f in flags if f != "MSG_PEEK"))


# -- names -----------------------------------------------------------------------------
@mutant("close-unlinks-socket-path", SOCKET_SPECS, kills=("socket.unix.path-outlives-socket",))
class CloseUnlinksSocketPath(KernelProcessOps):
    """Closing a bound AF_UNIX socket removes its file (a runtime that cleans up after itself)."""

    def close(self, fd: int) -> int:
        path = None
        kind = _socket_kind(fd)
        if kind is not None and kind[0] == socket.AF_UNIX:
            name = _borrowed(fd).getsockname()
            path = name if isinstance(name, str) and name else None
        result = super().close(fd)
        if path is not None:
            os.unlink(path)
        return result


@mutant("missing-path-refused", SOCKET_SPECS, kills=("socket.unix.connect-missing-path",))
class MissingPathRefused(KernelProcessOps):
    """connect() to a path that does not exist reports ECONNREFUSED, like a path nobody listens on."""

    def connect(self, fd: int, address: str | int) -> int:
        try:
            return super().connect(fd, address)
        except FileNotFoundError:
            raise OSError(errno.ECONNREFUSED, os.strerror(errno.ECONNREFUSED)) from None


# -- passing descriptors ---------------------------------------------------------------
@mutant("fd-passed-by-number", SOCKET_SPECS, kills=("socket.scm-rights.survives-sender-close",))
class FdPassedByNumber(KernelProcessOps):
    """A passed descriptor travels as (pid, number) and is opened again from /proc on receipt."""

    def sendfd(self, sock: int, fd: int) -> int:
        super().write(sock, struct.pack("=cii", b"F", os.getpid(), fd))
        return 1

    def recvfd(self, sock: int) -> int | None:
        _tag, pid, number = struct.unpack("=cii", super().read(sock, struct.calcsize("=cii")))
        with open(f"/proc/{pid}/fdinfo/{number}") as info:
            flags = int(next(line for line in info if line.startswith("flags:")).split()[1], 8)
        return super().open(f"/proc/{pid}/fd/{number}", flags & os.O_ACCMODE)


@mutant("fd-passing-needs-kinship", SOCKET_SPECS, kills=("socket.scm-rights.unrelated-process",))
class FdPassingNeedsKinship(KernelProcessOps):
    """SCM_RIGHTS works only over inherited socket pairs, never over a named socket."""

    def sendfd(self, sock: int, fd: int) -> int:
        if _borrowed(sock).getpeername():
            raise PermissionError(errno.EPERM, os.strerror(errno.EPERM))
        return super().sendfd(sock, fd)


# -- UDP -------------------------------------------------------------------------------
@mutant("udp-reads-coalesce", SOCKET_SPECS, kills=("socket.inet.udp-boundaries",))
class UdpReadsCoalesce(KernelProcessOps):
    """A read on a UDP socket returns every queued datagram at once (batched receives joined)."""

    def read(self, fd: int, count: int) -> bytes:
        data = super().read(fd, count)
        if _socket_kind(fd) == (socket.AF_INET, socket.SOCK_DGRAM):
            while len(data) < count:
                try:
                    data += super().recv(fd, count - len(data), ("MSG_DONTWAIT",))
                except BlockingIOError:
                    break
        return data
