"""Sockets between related and unrelated actors: socket pairs, names, passed descriptors, UDP.

A socket pair is shared by inheritance: actor "a" creates it and forks "b",
and each keeps one end (a close in one process leaves the other's copy
open, so both close the end they do not use). Named AF_UNIX sockets live
in the scenario's private directory (relative paths).
"""

import pytest

from conformance.backends.ops import ActorRef
from conformance.clauses import spec
from conformance.outcome import BLOCKED, Errno, Value

KINDS = ["stream", "dgram", "seqpacket"]
UNIX_TYPES = ("unix(7)", "Valid socket types in the UNIX domain are: SOCK_STREAM, for a "
                         "stream-oriented socket; SOCK_DGRAM, for a datagram-oriented socket that "
                         "preserves message boundaries (as on most UNIX implementations, UNIX "
                         "domain datagram sockets are always reliable and don't reorder "
                         "datagrams); and (since Linux 2.6.4) SOCK_SEQPACKET, for a "
                         "sequenced-packet socket that is connection-oriented, preserves message "
                         "boundaries, and delivers messages in the order that they were sent.")
SOCKET_2_SEQPACKET = ("socket(2)", "SOCK_SEQPACKET sockets employ the same system calls as "
                                   "SOCK_STREAM sockets.  The only difference is that read(2) calls "
                                   "will return only the amount of data requested, and any data "
                                   "remaining in the arriving packet will be discarded.  Also all "
                                   "message boundaries in incoming datagrams are preserved.")


def split_pair(scenario, kind):
    """Actor a holds one end of a socket pair, its child b the other; returns (a, mine, b, theirs)."""
    a = scenario.spawn("a")
    mine, theirs = a.call("socketpair_of", kind)
    b = a.fork("b")
    a.call("close", theirs)
    b.call("close", mine)
    return a, mine, b, theirs


@pytest.mark.parametrize("kind", KINDS)
@spec(
    "socket.socketpair.two-way",
    "Each end of a socket pair (stream, datagram or sequenced-packet) reads what the other end "
    "writes: the pair is one two-way channel between a parent and its child.",
    sources=[
        ("socketpair(2)", "The socketpair() call creates an unnamed pair of connected sockets in "
                          "the specified domain, of the specified type, and using the optionally "
                          "specified protocol."),
        ("socketpair(2)", "The two sockets are indistinguishable."),
    ],
    supports={"S31": "a socket is two-way, also as an unnamed pair between parent and child"},
)
def test_socketpair_two_way(scenario, kind):
    a, mine, b, theirs = split_pair(scenario, kind)
    scenario.expect(a.do("write", mine, b"to child"), Value(8))
    scenario.expect(b.do("read", theirs, 100), Value(b"to child"))
    scenario.expect(b.do("write", theirs, b"to parent"), Value(9))
    scenario.expect(a.do("read", mine, 100), Value(b"to parent"), "the other direction")


@pytest.mark.parametrize("kind", ["dgram", "seqpacket"])
@spec(
    "socket.unix.message-truncated",
    "A read with a buffer smaller than the next AF_UNIX datagram or sequenced packet returns "
    "the head of that message and discards the rest: the next read returns the next message.",
    sources=[
        SOCKET_2_SEQPACKET,
        ("recv(2)", "If a message is too long to fit in the supplied buffer, excess bytes may be "
                    "discarded depending on the type of socket the message is received from."),
    ],
)
def test_message_truncated(scenario, kind):
    a, mine, b, theirs = split_pair(scenario, kind)
    b.call("write", theirs, b"abcdef")
    b.call("write", theirs, b"ghi")
    scenario.expect(a.do("read", mine, 2), Value(b"ab"), "the head of the first message")
    scenario.expect(a.do("read", mine, 100), Value(b"ghi"), "its tail was discarded")


@spec(
    "socket.seqpacket.eof-on-close",
    "When the peer of a sequenced-packet socket closes, reads return the messages already "
    "sent, then 0 (end of file).",
    sources=[
        SOCKET_2_SEQPACKET,
        ("recv(2)", "When a stream socket peer has performed an orderly shutdown, the return "
                    "value will be 0 (the traditional \"end-of-file\" return)."),
    ],
)
def test_seqpacket_eof(scenario):
    a, mine, b, theirs = split_pair(scenario, "seqpacket")
    b.call("write", theirs, b"last")
    b.call("close", theirs)
    scenario.expect(a.do("read", mine, 100), Value(b"last"))
    scenario.expect(a.do("read", mine, 100), Value(b""), "then end of file")


@spec(
    "socket.seqpacket.epipe-no-sigpipe",
    "A write to an AF_UNIX sequenced-packet socket whose peer has closed fails with EPIPE and, "
    "unlike a stream socket, raises no SIGPIPE: a writer with SIGPIPE at its default action "
    "lives on. (socket(7) promises SIGPIPE for every connection-oriented socket; unix(7) only "
    "for stream sockets, which is what Linux does.)",
    sources=[
        ("unix(7)", "EPIPE  Remote socket was closed on a stream socket.  If enabled, a SIGPIPE is "
                    "sent as well."),
        ("gVisor issue #161", "SOCK_SEQPACKET: returns EPIPE and *does not* send SIGPIPE",
         "https://github.com/google/gvisor/issues/161"),
    ],
)
def test_seqpacket_epipe_without_signal(scenario):
    a, mine, b, theirs = split_pair(scenario, "seqpacket")
    b.call("close", theirs)
    scenario.expect(a.do("write", mine, b"x"), Errno("EPIPE"), "an error, and no signal")
    scenario.expect(a.do("getpid"), Value(ActorRef("a")), "the writer was not killed")


DGRAM_CONNECTIONLESS = ("socket(2)", "SOCK_DGRAM      Supports datagrams (connectionless, unreliable "
                                     "messages of a fixed maximum length).")


@spec(
    "socket.unix.dgram-peer-close-read-waits",
    "A datagram socket pair has no end of file: a read waiting on one end goes on waiting when "
    "the other end is closed (it neither returns 0 nor fails).",
    sources=[
        DGRAM_CONNECTIONLESS,
        ("recv(2)", "When a stream socket peer has performed an orderly shutdown, the return value "
                    "will be 0 (the traditional \"end-of-file\" return)."),
    ],
)
def test_dgram_close_does_not_wake_reader(scenario):
    a, mine, b, theirs = split_pair(scenario, "dgram")
    scenario.expect(a.do("read", mine, 100), BLOCKED)
    b.call("close", theirs)
    scenario.expect_event(a, BLOCKED, "a datagram socket's peer closing is no end of file")


@spec(
    "socket.unix.dgram-peer-close-write-refused",
    "A write on a datagram socket pair whose other end has been closed fails with ECONNREFUSED "
    "(no SIGPIPE: a datagram socket is not connection-oriented).",
    sources=[
        DGRAM_CONNECTIONLESS,
        ("unix(7)", "ECONNREFUSED The remote address specified by connect(2) was not a listening "
                    "socket.  This error can also occur if the target pathname is not a socket."),
    ],
)
def test_dgram_write_to_closed_peer(scenario):
    a, mine, b, theirs = split_pair(scenario, "dgram")
    b.call("close", theirs)
    scenario.expect(a.do("write", mine, b"x"), Errno("ECONNREFUSED"))


# -- names in the file system --------------------------------------------------------
@spec(
    "socket.unix.path-outlives-socket",
    "The file a bound AF_UNIX socket creates stays after the socket is closed: stat shows a "
    "socket, and binding another socket to the path fails with EADDRINUSE until the path is "
    "unlinked.",
    sources=[
        ("unix(7)", "Binding to a socket with a filename creates a socket in the filesystem that "
                    "must be deleted by the caller when it is no longer needed (using unlink(2))."),
        ("unix(7)", "EADDRINUSE The specified local address is already in use or the filesystem "
                    "socket object already exists."),
    ],
)
def test_path_outlives_socket(scenario):
    a = scenario.spawn("a")
    first = a.call("socket", "unix", "stream")
    a.call("bind", first, "left.sock")
    a.call("close", first)
    scenario.expect(a.do("stat", "left.sock"), Value(("s", 0)), "the socket file is still there")
    second = a.call("socket", "unix", "stream")
    scenario.expect(a.do("bind", second, "left.sock"), Errno("EADDRINUSE"))
    a.call("unlink", "left.sock")
    scenario.expect(a.do("bind", second, "left.sock"), Value(0), "free again after unlink")


@pytest.mark.parametrize("kind", ["stream", "dgram"])
@spec(
    "socket.unix.connect-missing-path",
    "connect(2) of an AF_UNIX socket to a path that does not exist fails with ENOENT.",
    source=("unix(7)", "ENOENT The pathname in the remote address specified to connect(2) did not "
                       "exist."),
)
def test_connect_to_missing_path(scenario, kind):
    a = scenario.spawn("a")
    fd = a.call("socket", "unix", kind)
    scenario.expect(a.do("connect", fd, "nobody.sock"), Errno("ENOENT"))


# -- passing descriptors -------------------------------------------------------------
SCM_RIGHTS = ("unix(7)", "Commonly, this operation is referred to as \"passing a file descriptor\" "
                         "to another process.  However, more accurately, what is being passed is a "
                         "reference to an open file description (see open(2)), and in the "
                         "receiving process it is likely that a different file descriptor number "
                         "will be used.  Semantically, this operation is equivalent to duplicating "
                         "(dup(2)) a file descriptor into the file descriptor table of another "
                         "process.")


@spec(
    "socket.scm-rights.survives-sender-close",
    "A descriptor sent with SCM_RIGHTS stays valid while in flight: the sender may close its "
    "copy before the receiver receives it, and the receiver still gets a working descriptor.",
    sources=[
        SCM_RIGHTS,
        ("unix(7)", "An in-flight file descriptor is one that has been sent using sendmsg(2) but "
                    "has not yet been accepted in the recipient process using recvmsg(2)."),
    ],
)
def test_scm_rights_survives_sender_close(scenario):
    a, mine, b, theirs = split_pair(scenario, "stream")
    r, w = a.call("pipe")  # after the fork: b has no copy of its own
    a.call("sendfd", mine, w)
    a.call("close", w)  # the message in flight is now the only reference to the write end
    got = b.call("recvfd", theirs)
    scenario.expect(b.do("write", got, b"via flight"), Value(10))
    scenario.expect(a.do("read", r, 100), Value(b"via flight"), "the passed write end works")


@spec(
    "socket.scm-rights.unrelated-process",
    "A pipe end passed with SCM_RIGHTS over a named AF_UNIX datagram socket works in an actor "
    "that is neither parent nor child of the pipe's creator: it writes, the creator reads.",
    source=SCM_RIGHTS,
    contradicts={"S13": "two unrelated processes communicate through one pipe once an end is "
                        "passed over a socket"},
    supports={"L01": "sockets carry descriptors between any processes, not only data"},
)
def test_scm_rights_to_unrelated_process(scenario):
    owner = scenario.spawn("owner")
    stranger = scenario.spawn("stranger")  # spawned, not forked: no common ancestor among actors
    inbox = stranger.call("unix_bind", "inbox.sock")
    out = owner.call("unix_connect", "inbox.sock")
    r, w = owner.call("pipe")
    scenario.expect(owner.do("sendfd", out, w), Value(1))
    got = stranger.call("recvfd", inbox)
    scenario.expect(stranger.do("write", got, b"from afar"), Value(9))
    scenario.expect(owner.do("read", r, 100), Value(b"from afar"), "one pipe, unrelated processes")


# -- UDP -----------------------------------------------------------------------------
@spec(
    "socket.inet.udp-boundaries",
    "UDP on the loopback interface keeps message boundaries: each read returns one datagram.",
    source=("udp(7)", "All receive operations return only one packet.  When the packet is smaller "
                      "than the passed buffer, only that much data is returned; when it is bigger, "
                      "the packet is truncated and the MSG_TRUNC flag is set."),
    supports={"L01": "sockets carry messages too: UDP on loopback keeps each datagram whole"},
)
def test_udp_keeps_boundaries(scenario):
    a = scenario.spawn("a")
    b = scenario.spawn("b")
    fa = a.call("socket", "inet", "dgram")
    a.call("bind", fa, 0)
    fb = b.call("socket", "inet", "dgram")
    b.call("bind", fb, 0)
    b.call("connect", fb, a.call("local_port", fa))
    a.call("connect", fa, b.call("local_port", fb))
    scenario.expect(b.do("write", fb, b"abc"), Value(3))
    scenario.expect(b.do("write", fb, b"def"), Value(3))
    scenario.expect(a.do("read", fa, 100), Value(b"abc"), "one datagram per read")
    scenario.expect(a.do("read", fa, 100), Value(b"def"))
