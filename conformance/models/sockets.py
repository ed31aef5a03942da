"""AF_UNIX stream socket pairs, as far as passing descriptors needs them.

Each end has a receive queue of segments; a segment is the payload of one
send plus the descriptions that rode along in SCM_RIGHTS. The rules that
matter for what a reader sees (``net/unix/af_unix.c``):

* a read gathers bytes across segments, but stops right after a segment that
  carried descriptors; a plain read() has nowhere to put them, so they are
  dropped (released) at that moment;
* descriptors are detached from a segment when its first byte is consumed;
* closing an end shuts the peer down for good (reads give EOF once its queue
  is drained, writes get EPIPE); if the closing end still had unread data,
  the peer's next read on an empty queue fails once with ECONNRESET;
* unread segments of a closed end are discarded, releasing any descriptions
  still in flight.

Datagram sockets (``unix_bind``/``unix_connect``) use the same objects with
``dgram`` set: a segment is then one datagram, a read takes one datagram
(the rest of it is discarded), there is no end of file, and sending needs a
connected peer (ENOTCONN); a send to a peer that has been closed fails once
with ECONNREFUSED and forgets the peer (ENOTCONN afterwards). No SIGPIPE.

Send-buffer accounting is not modelled: the model refuses (Unmodelled) to
queue more than a conservative budget, below which no send can block
(for datagrams: 10 queued, the smallest default of net.unix.max_dgram_qlen).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .descriptions import Description


@dataclass(eq=False)
class Segment:
    data: bytearray
    #: descriptions in flight; emptied once the first byte has been read
    passed: list[Description] = field(default_factory=list)


@dataclass(eq=False)
class SocketEnd:
    #: SOCK_DGRAM (from unix_bind/unix_connect) rather than a stream pair
    dgram: bool = False
    #: the stream peer, or the datagram socket this one is connected to
    peer: SocketEnd | None = None
    queue: list[Segment] = field(default_factory=list)
    #: sk_err, reported (and cleared) by the next read on an empty queue
    err: str | None = None
    #: the peer has been released: no more data will ever arrive
    peer_closed: bool = False
    closed: bool = False
    #: actors blocked reading this end
    readers: list[str] = field(default_factory=list)

    @property
    def queued_bytes(self) -> int:
        return sum(len(s.data) for s in self.queue)
