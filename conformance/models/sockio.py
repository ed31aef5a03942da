"""read(), write(), sendfd and recvfd on AF_UNIX stream sockets.

See :mod:`.sockets` for the rules. Two choices are the model's own:

* ``recvfd`` is ``recvmsg`` of one byte with room for the descriptor, done
  the way a C program does it: the received descriptor takes the lowest free
  number, without close-on-exec. It returns the new number, or ``None`` when
  the byte it read carried no descriptor, at end of file (peer closed, queue
  empty), or when the descriptor could not be installed because the table is
  full (the kernel then drops it and sets MSG_CTRUNC).
* a sleeping reader checks for a pending signal *before* looking for data
  (``unix_stream_read_generic``), unlike a pipe; when a death both brings
  EOF and a SIGCHLD to the same sleeper, the kernel's result depends on
  timing, and the model says so (Unmodelled) rather than guess.
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
    peer = end.peer
    if end.peer_closed or peer is None or peer.closed:
        deliver_signal(world, proc, SIGPIPE)
        if not proc.alive:
            assert proc.death is not None
            return proc.death
        return Errno("EPIPE")
    if not data:
        return Value(0)
    cost = peer.queued_bytes + len(data) + SOCKET_SEGMENT_OVERHEAD * (len(peer.queue) + 1)
    if cost > SOCKET_MODEL_BUDGET:
        raise Unmodelled("so much queued socket data that a send could block")
    segment = Segment(bytearray(data))
    if passed is not None:
        passed.refs += 1
        segment.passed.append(passed)
    peer.queue.append(segment)
    world.wake_all(peer.readers)
    return Value(len(data))


def _dgram_send(world: World, end: SocketEnd, data: bytes,
                passed: Description | None) -> Outcome:
    target = end.peer
    if target is None:
        return Errno("ENOTCONN")
    if target.closed:
        end.peer = None  # unix_dgram_sendmsg forgets a dead peer
        return Errno("ECONNREFUSED")
    if len(target.queue) >= DGRAM_MODEL_QUEUE:
        raise Unmodelled("a datagram queue so long that a send could block")
    segment = Segment(bytearray(data))
    if passed is not None:
        passed.refs += 1
        segment.passed.append(passed)
    target.queue.append(segment)
    world.wake_all(target.readers)
    return Value(len(data))


def socket_recv(world: World, proc: Process, desc: Description, count: int | None,
                resumed: bool = False) -> Outcome | None:
    """read(count) when count is an int, recvfd when it is None."""
    end = _end(desc)
    if count == 0:
        return Value(b"")  # sock_read_iter answers a zero-length read itself
    if resumed and proc.interrupted:
        if end.queue or end.err or end.peer_closed:
            raise Unmodelled("a signal and socket data reached one sleeper together: a race")
        return Errno("EINTR")
    if not end.queue:
        if end.err is not None:
            err, end.err = end.err, None
            return Errno(err)
        if end.peer_closed and not end.dgram:
            return Value(None if count is None else b"")
        if desc.flags & O_NONBLOCK:
            return Errno("EAGAIN")
        if end.readers:
            raise Unmodelled("several actors asleep reading one socket: which one gets the data is a race")
        end.readers.append(proc.name)
        proc.pending = SocketReadWait(desc, count)
        return None
    if count is None:
        return _recvfd(world, proc, end)
    if end.dgram:
        # One datagram per read; what does not fit is lost, and so are any
        # descriptors it carried.
        datagram = end.queue.pop(0)
        for lost in datagram.passed:
            drop_ref(world, lost)
        return Value(bytes(datagram.data[:count]))
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
    if not segment.data or end.dgram:  # a datagram is consumed whole
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
