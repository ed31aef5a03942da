"""read(), write(), shutdown(), sendfd and recvfd on AF_UNIX sockets.

See :mod:`.sockets` for the rules. Two choices are the model's own:

* ``recvfd`` is ``recvmsg`` of one byte with room for the descriptor, done
  the way a C program does it: the received descriptor takes the lowest free
  number, without close-on-exec. It returns the new number, or ``None`` when
  the byte it read carried no descriptor, at end of file (peer closed, queue
  empty), or when the descriptor could not be installed because the table is
  full (the kernel then drops it and sets MSG_CTRUNC). On a seqpacket or
  datagram socket it consumes a whole message, whatever its length.
* a sleeping stream reader checks for a pending signal *before* looking for
  data (``unix_stream_read_generic``), unlike a pipe; when a death both
  brings EOF and a SIGCHLD to the same sleeper, the kernel's result depends
  on timing, and the model says so (Unmodelled) rather than guess.
"""

from __future__ import annotations

from ..outcome import Errno, Outcome, Value
from .constants import (
    DGRAM_MODEL_QUEUE,
    O_NONBLOCK,
    SIGPIPE,
    SOCKET_MODEL_BUDGET,
    SOCKET_SEGMENT_OVERHEAD,
)
from .descriptions import Description
from .errors import Unmodelled
from .lifecycle import deliver_signal, drop_ref, install
from .pending import SocketReadWait
from .process import Process
from .sockets import Segment, SocketEnd
from .world import World


def _end(desc: Description) -> SocketEnd:
    assert isinstance(desc.obj, SocketEnd)
    return desc.obj


def socket_send(world: World, proc: Process, desc: Description, data: bytes,
                passed: Description | None = None) -> Outcome:
    """write() or sendmsg(): queue ``data`` (and a description) at the peer."""
    end = _end(desc)
    if end.dgram:
        return _dgram_send(world, end, data, passed)
    if end.kind == "seqpacket":
        return _seqpacket_send(world, end, data, passed)
    peer = end.peer
    # unix_stream_sendmsg: SEND_SHUTDOWN is checked before the length, so
    # even a zero-length write fails; the peer's state only inside the loop.
    if end.shut_wr:
        return _broken_pipe(world, proc)
    if not data:
        return Value(0)
    if end.peer_closed or peer is None or peer.closed or peer.shut_rd:
        return _broken_pipe(world, proc)
    return _queue(world, peer, data, passed)


def _broken_pipe(world: World, proc: Process) -> Outcome:
    """EPIPE from the stream send path, which also raises SIGPIPE (no MSG_NOSIGNAL)."""
    deliver_signal(world, proc, SIGPIPE)
    if not proc.alive:
        assert proc.death is not None
        return proc.death
    return Errno("EPIPE")


def _seqpacket_send(world: World, end: SocketEnd, data: bytes,
                    passed: Description | None) -> Outcome:
    # unix_seqpacket_sendmsg reports (and clears) sk_err first; then
    # unix_dgram_sendmsg fails with EPIPE, and the datagram path never
    # raises SIGPIPE.
    if end.err is not None:
        err, end.err = end.err, None
        return Errno(err)
    peer = end.peer
    if end.shut_wr or end.peer_closed or peer is None or peer.closed or peer.shut_rd:
        return Errno("EPIPE")
    return _queue(world, peer, data, passed)


def _dgram_send(world: World, end: SocketEnd, data: bytes,
                passed: Description | None) -> Outcome:
    # SEND_SHUTDOWN comes first: even a socket whose peer is forgotten gets
    # EPIPE rather than ENOTCONN (checked on this kernel)
    if end.shut_wr:
        return Errno("EPIPE")
    target = end.peer
    if target is None:
        return Errno("ENOTCONN")
    if end.err is not None:  # sock_alloc_send_pskb (never set on a datagram pair)
        err, end.err = end.err, None
        return Errno(err)
    if target.closed:
        # unix_dgram_sendmsg forgets a dead peer; unix_dgram_disconnected
        # then purges this socket's own receive queue.
        end.peer = None
        _purge(world, end)
        return Errno("ECONNREFUSED")
    if target.shut_rd:
        return Errno("EPIPE")
    if target.peer is not end and len(target.queue) >= DGRAM_MODEL_QUEUE:
        # unix_recvq_full applies only to a receiver not connected back
        raise Unmodelled("a datagram queue so long that a send could block")
    return _queue(world, target, data, passed)


def _queue(world: World, target: SocketEnd, data: bytes, passed: Description | None) -> Outcome:
    if _cost(target, len(data)) > SOCKET_MODEL_BUDGET:
        raise Unmodelled("so much queued socket data that a send could block")
    segment = Segment(bytearray(data))
    if passed is not None:
        passed.refs += 1
        segment.passed.append(passed)
    target.queue.append(segment)
    if target.messages:
        # sock_def_readable wakes one exclusive sleeper (prepare_to_wait_exclusive)
        world.wake_one(target.readers)
    else:
        world.wake_all(target.readers)
    return Value(len(data))


def _cost(target: SocketEnd, adding: int) -> int:
    """What the queue would charge its senders' buffers, rounded up.

    Measured (SIOCOUTQ): a stream skb costs its bytes plus about 768; a
    message of 4 KiB to 8 KiB costs about twice its bytes. The budget stays
    far enough below net.core.wmem_default (212992) that no send can block.
    """
    sizes = [len(s.data) for s in target.queue] + [adding]
    if target.messages:
        return sum(2 * n + SOCKET_SEGMENT_OVERHEAD for n in sizes)
    return sum(n + SOCKET_SEGMENT_OVERHEAD for n in sizes)


def _purge(world: World, end: SocketEnd) -> None:
    segments, end.queue = end.queue, []
    for segment in segments:
        for lost in segment.passed:
            drop_ref(world, lost)


def socket_recv(world: World, proc: Process, desc: Description, count: int | None,
                resumed: bool = False) -> Outcome | None:
    """read(count) when count is an int, recvfd when it is None."""
    end = _end(desc)
    if count == 0:
        return Value(b"")  # sock_read_iter answers a zero-length read itself
    if resumed and proc.interrupted:
        if end.queue or end.err or end.shut_rd:
            raise Unmodelled("a signal and socket data reached one sleeper together: a race")
        return Errno("EINTR")
    if end.messages and end.err is not None:
        # __skb_try_recv_datagram reports sk_err before looking at the queue
        err, end.err = end.err, None
        return Errno(err)
    if not end.queue:
        if end.err is not None:
            err, end.err = end.err, None
            return Errno(err)
        # The timeout is fixed when the call starts: a sleeper woken to find
        # nothing sleeps again even if O_NONBLOCK was set meanwhile.
        nonblocking = not resumed and bool(desc.flags & O_NONBLOCK)
        if end.shut_rd and not (end.dgram and nonblocking):
            # A non-blocking datagram read gets EAGAIN even after SHUT_RD:
            # only seqpacket turns it into EOF (unix_dgram_recvmsg).
            return Value(None if count is None else b"")
        if nonblocking:
            return Errno("EAGAIN")
        if end.readers and not end.messages:
            raise Unmodelled("several actors asleep reading one stream socket: which one gets the data is a race")
        end.readers.append(proc.name)
        proc.pending = SocketReadWait(desc, count)
        return None
    if count is None:
        return _recvfd(world, proc, end)
    if end.messages:
        # One message per read; what does not fit is lost, and so are any
        # descriptors it carried.
        message = end.queue.pop(0)
        for lost in message.passed:
            drop_ref(world, lost)
        return Value(bytes(message.data[:count]))
    got = bytearray()
    while end.queue and len(got) < count:
        segment = end.queue[0]
        take = min(count - len(got), len(segment.data))
        got += segment.data[:take]
        del segment.data[:take]
        passed, segment.passed = segment.passed, []
        if not segment.data:
            end.queue.pop(0)
        if passed:
            # read() has no room for SCM_RIGHTS: the descriptors are dropped,
            # and the read stops after the message that carried them.
            for lost in passed:
                drop_ref(world, lost)
            break
    return Value(bytes(got))


def _recvfd(world: World, proc: Process, end: SocketEnd) -> Outcome:
    segment = end.queue[0]
    del segment.data[:1]
    passed, segment.passed = segment.passed, []
    if not segment.data or end.messages:  # a message is consumed whole
        end.queue.pop(0)
    if not passed:
        return Value(None)
    (desc,) = passed  # sendfd passes exactly one descriptor per message
    fd = proc.lowest_free(world.config.nofile)
    if fd is None:
        drop_ref(world, desc)  # the kernel drops it and sets MSG_CTRUNC
        return Value(None)
    install(proc, desc, fd, cloexec=False)
    desc.refs -= 1  # the in-flight reference became the descriptor's
    return Value(fd)


def socket_shutdown(world: World, end: SocketEnd, how: int) -> Outcome:
    """shutdown(how) on an AF_UNIX socket (``unix_shutdown``)."""
    if how not in (0, 1, 2):
        return Errno("EINVAL")
    rd, wr = how in (0, 2), how in (1, 2)
    end.shut_rd |= rd
    end.shut_wr |= wr
    # sk_state_change wakes every sleeper of this socket; they look again
    # (and those that find nothing new go back to sleep).
    world.wake_all(end.readers)
    peer = end.peer
    if peer is not None and not peer.closed and not end.dgram:
        # Connection-oriented types mirror the bits on the peer: our SHUT_RD
        # is its SEND_SHUTDOWN, our SHUT_WR its RCV_SHUTDOWN.
        peer.shut_wr |= rd
        peer.shut_rd |= wr
        world.wake_all(peer.readers)
    return Value(0)
