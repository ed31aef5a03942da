"""Mutants of sockets: connection setup, streams, boundaries, descriptor passing."""

from __future__ import annotations

import os

from conformance.backends.kernel import KernelProcessOps, _check, _libc

from . import mutant

SOCKET_SPECS = ("specs/socket",)


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
