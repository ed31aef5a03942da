"""Framing of the harness's control channel.

The channel is an AF_UNIX stream socket. A message is a 4-byte little-endian
length followed by a pickled Python value; descriptors (the control socket of
a freshly forked actor) travel as SCM_RIGHTS attached to the message's first
byte. Stream framing, rather than SOCK_SEQPACKET, lets a step carry a payload
larger than the socket buffer (pipe writes of hundreds of KiB).

Standard library only: this module is embedded in reproducers.
"""

from __future__ import annotations

import socket
import struct

try:  # the C pickler alone: pickle.py brings in re, whose memory every fork copies
    from _pickle import dumps, loads
except ImportError:  # another Python implementation
    from pickle import dumps, loads

TYPE_CHECKING = False  # typing itself is not imported: see conformance.backends
if TYPE_CHECKING:
    from typing import Any

_HEADER = 4
MAX_FDS = 4


class ChannelClosed(Exception):
    """The peer closed the channel (for an actor: it died)."""


def send(sock: socket.socket, value: Any, fds: list[int] | None = None) -> None:
    payload = dumps(value, protocol=5)
    frame = len(payload).to_bytes(_HEADER, "little") + payload
    if fds:
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack(f"{len(fds)}i", *fds))]
        sent = sock.sendmsg([frame], anc)
    else:
        sent = sock.send(frame)
    if sent < len(frame):
        sock.sendall(frame[sent:])


def recv(sock: socket.socket) -> tuple[Any, list[int]]:
    """Receive one message; returns (value, received descriptors)."""
    fds: list[int] = []
    header = b""
    while len(header) < _HEADER:
        data, anc, _flags, _addr = sock.recvmsg(
            _HEADER - len(header), socket.CMSG_SPACE(MAX_FDS * 4), socket.MSG_CMSG_CLOEXEC
        )
        if not data:
            raise ChannelClosed()
        header += data
        for level, kind, cdata in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                whole = len(cdata) // 4
                fds.extend(struct.unpack(f"{whole}i", cdata[: whole * 4]))
    size = int.from_bytes(header, "little")
    body = bytearray()
    while len(body) < size:
        chunk = sock.recv(min(size - len(body), 1 << 20))
        if not chunk:
            raise ChannelClosed()
        body += chunk
    return loads(bytes(body)), fds
