"""AF_UNIX sockets: stream, seqpacket and datagram ends.

Each end has a receive queue of segments; a segment is the payload of one
send plus the descriptions that rode along in SCM_RIGHTS. Each end also has
the two shutdown bits of ``sk_shutdown`` (RCV_SHUTDOWN, SEND_SHUTDOWN) and
``sk_err``. The rules below follow ``net/unix/af_unix.c`` and were checked
on the running kernel.

Stream (``unix_stream_sendmsg``, ``unix_stream_read_generic``):

* a read gathers bytes across segments, but stops right after a segment that
  carried descriptors; a plain read() has nowhere to put them, so they are
  dropped (released) at that moment; descriptors are detached from a segment
  when its first byte is consumed;
* a zero-length write queues nothing (and wakes nobody);
* ``sk_err`` is reported (once) only by a read that finds the queue empty;
  RCV_SHUTDOWN then means end of file, even for a non-blocking read;
* a write with SEND_SHUTDOWN, or to a peer that is gone or has RCV_SHUTDOWN,
  fails with EPIPE and raises SIGPIPE (even a zero-length one).

Seqpacket (``unix_seqpacket_sendmsg``/``unix_dgram_sendmsg``,
``unix_seqpacket_recvmsg``/``unix_dgram_recvmsg``): connection-oriented like
a stream, with message boundaries like a datagram:

* a read takes one message; what does not fit is discarded, and so are the
  descriptors it carried; a zero-length write is a real message (a read
  returns 0 bytes and consumes it);
* ``sk_err`` is reported before any queued data (``__skb_try_recv_datagram``
  looks at it first) and also by the next write (``unix_seqpacket_sendmsg``
  calls ``sock_error``), whichever comes first;
* EPIPE comes without SIGPIPE: the datagram send path never raises it;
* RCV_SHUTDOWN on an empty queue is end of file, for a non-blocking read too
  (``unix_dgram_recvmsg``: "Signal EOF on disconnected non-blocking
  SEQPACKET socket").

Datagram (socketpair, or ``unix_bind``/``unix_connect``):

* a read takes one datagram, as for seqpacket; there is no end of file when
  the peer goes: a read on the empty queue sleeps (for ever);
* sending needs a connected peer (ENOTCONN); a send to a peer that has been
  closed fails once with ECONNREFUSED, forgets the peer (ENOTCONN
  afterwards) and purges the sender's own receive queue
  (``unix_dgram_disconnected``); no SIGPIPE, ever;
* shutdown() changes only the socket it is called on
  (``unix_shutdown`` mirrors the bits to the peer for connection-oriented
  types only); SEND_SHUTDOWN makes its sends fail with EPIPE
  before anything else is looked at (even ENOTCONN), RCV_SHUTDOWN makes a blocking read on the
  empty queue return 0 (``__skb_wait_for_more_packets``) while a
  non-blocking one still gets EAGAIN, and makes sends *to* it fail with
  EPIPE.

Closing the last reference to a stream or seqpacket end sets both shutdown
bits of the peer and, if the closing end still had unread data, ``sk_err``
= ECONNRESET (``unix_release_sock``); unread segments of a closed end are
discarded, releasing any descriptions still in flight.

Sleepers: a stream reader sleeps non-exclusively, and several of them race
for the data (the model refuses to guess). Datagram and seqpacket readers
sleep exclusively (``prepare_to_wait_exclusive``), so one message wakes the
oldest sleeper only; shutdown() and a peer's close wake them all.

Send-buffer accounting is not modelled: the model refuses (Unmodelled) to
queue more than a conservative budget, below which no send can block
(for datagrams to a socket that is not connected back: 10 queued, the
smallest default of net.unix.max_dgram_qlen).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import Unmodelled

if TYPE_CHECKING:
    from .descriptions import Description

#: the socket types of socketpair_of()
SOCKET_TYPES = ("stream", "seqpacket", "dgram")


@dataclass(eq=False)
class Segment:
    data: bytearray
    #: descriptions in flight; emptied once the first byte has been read
    passed: list[Description] = field(default_factory=list)


@dataclass(eq=False)
class SocketEnd:
    #: "stream", "seqpacket" or "dgram"
    kind: str = "stream"
    #: the connected peer (for datagrams: the socket this one sends to)
    peer: SocketEnd | None = None
    queue: list[Segment] = field(default_factory=list)
    #: sk_err, reported (and cleared) by the call that looks at it first
    err: str | None = None
    #: the peer has been released: no more data will ever arrive
    peer_closed: bool = False
    closed: bool = False
    #: RCV_SHUTDOWN and SEND_SHUTDOWN of sk_shutdown
    shut_rd: bool = False
    shut_wr: bool = False
    #: actors blocked reading this end, oldest first
    readers: list[str] = field(default_factory=list)

    @property
    def dgram(self) -> bool:
        return self.kind == "dgram"

    @property
    def messages(self) -> bool:
        """Message boundaries are kept: a read takes one message."""
        return self.kind != "stream"

    @property
    def queued_bytes(self) -> int:
        return sum(len(s.data) for s in self.queue)


def unread_resets_peer(end: SocketEnd) -> bool:
    """Closing ``end`` leaves its peer ``sk_err`` = ECONNRESET (``unix_release_sock``).

    That is so when the closing end still had unread data. Kernels with the
    fix "af_unix: Don't set -ECONNRESET for consumed OOB skb" (and
    CONFIG_AF_UNIX_OOB) skip a zero-length skb at the head of the queue, so
    a lone unread zero-length seqpacket message resets the peer on some
    kernels and not on others (this one: not); the model does not guess.
    """
    if len(end.queue) == 1 and not end.queue[0].data and end.messages:
        raise Unmodelled("a lone unread zero-length message: ECONNRESET depends on the kernel version")
    return bool(end.queue)
