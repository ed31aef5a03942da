"""Sockets: connections that end, shut down halfway, fill up or refuse to wait.

Each behavior is one test body run over the variants it holds for: TCP on the
loopback interface ("inet") and AF_UNIX stream sockets on a path ("unix").
Where the two domains differ (TCP learns of a closed peer only from the
reset that answers a write; a TCP socket shut for reading still accepts
data), the statement says so and the test covers the domain it holds for.
"""

import os
import signal
from fcntl import F_GETFL, F_SETFL

import pytest

from conformance.backends.ops import ActorRef
from conformance.clauses import spec
from conformance.outcome import BLOCKED, Errno, Killed, Value

DOMAINS = ["inet", "unix"]
SHUT_RD, SHUT_WR = 0, 1
CHUNK = b"\x5a" * 65536
#: non-blocking writes of CHUNK that must fill any connection's buffers
#: (TCP on the loopback interface grows its buffers to a few megabytes)
FILL_LIMIT = 200
SOCKET_7_SHUT = ("socket(7)", "When writing onto a connection-oriented socket that has been shut down "
                              "(by the local or the remote end) SIGPIPE is sent to the writing process "
                              "and EPIPE is returned.  The signal is not sent when the write call "
                              "specified the MSG_NOSIGNAL flag.")
SHUTDOWN_2 = ("shutdown(2)", "If how is SHUT_RD, further receptions will be disallowed.  If how is "
                             "SHUT_WR, further transmissions will be disallowed.")
RECV_WAITS = ("recv(2)", "If no messages are available at the socket, the receive calls wait for a "
                         "message to arrive, unless the socket is nonblocking (see fcntl(2)), in which "
                         "case the value -1 is returned and errno is set to EAGAIN or EWOULDBLOCK.")
RECV_EOF = ("recv(2)", "When a stream socket peer has performed an orderly shutdown, the return value "
                       "will be 0 (the traditional \"end-of-file\" return).")


def connected_pair(scenario, domain):
    """(srv, server-side fd, cli, client fd): two separately started actors, one connection."""
    srv = scenario.spawn("srv")
    listener = srv.call("socket", domain, "stream")
    srv.call("bind", listener, 0 if domain == "inet" else "server.sock")
    srv.call("listen", listener, 4)
    address = srv.call("local_port", listener) if domain == "inet" else "server.sock"
    cli = scenario.spawn("cli")
    fd = cli.call("socket", domain, "stream")
    cli.call("connect", fd, address)
    conn = srv.call("accept", listener)  # the connection is queued: accept returns at once
    srv.call("close", listener)
    return srv, conn, cli, fd


def set_nonblocking(actor, fd, on=True):
    flags = actor.call("fcntl", fd, F_GETFL)
    actor.call("fcntl", fd, F_SETFL, flags | os.O_NONBLOCK if on else flags & ~os.O_NONBLOCK)


def peer_gone(scenario, domain):
    """A connection whose server side closed and whose client has read the end of file.

    Over TCP the client then writes once more: that write is accepted (the
    connection is only half closed as far as the client knows) and the
    server's system answers it with a reset, after which the connection is
    broken for writing too. The reset travels on its own time (on a slow
    machine, after the write has returned), so the client waits for it in
    poll(2), asking for no event: only POLLERR and POLLHUP, which the reset
    brings, end the wait. Over AF_UNIX the close alone breaks it.
    """
    srv, conn, cli, fd = connected_pair(scenario, domain)
    srv.call("close", conn)
    scenario.expect(cli.do("read", fd, 100), Value(b""), "the close arrived: end of file")
    if domain == "inet":
        scenario.expect(cli.do("write", fd, b"?"), Value(1), "TCP: the reset answers this write")
        reset = cli.do("poll", fd, (), -1)
        if reset == BLOCKED:
            reset = cli.finish()  # the reset is on its way
        scenario.expect(reset, Value(("POLLERR", "POLLHUP")), "TCP: the reset has arrived")
    return cli, fd


# -- the peer goes away ------------------------------------------------------------
@pytest.mark.parametrize("disposition", ["default", "ignore"])
@pytest.mark.parametrize("domain", DOMAINS)
@spec(
    "socket.stream.epipe-sigpipe",
    "A write to a stream connection whose peer has closed raises SIGPIPE, which kills the "
    "writer by default; with SIGPIPE ignored the write fails with EPIPE. (Over TCP the peer's "
    "close is known for writing only once the reset that answers a first write has arrived.)",
    sources=[
        SOCKET_7_SHUT,
        ("unix(7)", "EPIPE  Remote socket was closed on a stream socket.  If enabled, a SIGPIPE is "
                    "sent as well.  This can be avoided by passing the MSG_NOSIGNAL flag to send(2) "
                    "or sendmsg(2)."),
    ],
)
def test_write_to_closed_peer(scenario, domain, disposition):
    cli, fd = peer_gone(scenario, domain)
    cli.call("signal", signal.SIGPIPE, disposition)
    wanted = Killed("SIGPIPE") if disposition == "default" else Errno("EPIPE")
    scenario.expect(cli.do("write", fd, b"x"), wanted)


@spec(
    "socket.tcp.write-after-close-accepted",
    "Over TCP, the first write after the peer has closed its end (and after its end of file "
    "was read) still succeeds: the connection is half closed, not broken, until the peer's "
    "system answers that data with a reset.",
    sources=[
        ("RFC 793, 3.9 SEND Call", "ESTABLISHED STATE CLOSE-WAIT STATE Segmentize the buffer and "
                                   "send it with a piggybacked acknowledgment (acknowledgment value "
                                   "= RCV.NXT).", "https://www.rfc-editor.org/rfc/rfc793#section-3.9"),
        ("tcp(7)", "EPIPE  The other end closed the socket unexpectedly or a read is executed on "
                   "a shut down socket."),
    ],
)
def test_tcp_first_write_after_close(scenario):
    srv, conn, cli, fd = connected_pair(scenario, "inet")
    srv.call("close", conn)
    scenario.expect(cli.do("read", fd, 100), Value(b""))
    cli.call("signal", signal.SIGPIPE, "ignore")
    scenario.expect(cli.do("write", fd, b"late"), Value(4), "a closed peer is only a half close")
    scenario.expect(cli.do("write", fd, b"later"), Errno("EPIPE"), "the reset has arrived")


@pytest.mark.parametrize("domain", DOMAINS)
@spec(
    "socket.send.msg-nosignal",
    "send(2) with MSG_NOSIGNAL to a stream connection whose peer has closed fails with EPIPE "
    "and raises no signal: the writer, with SIGPIPE at its default action, lives on.",
    source=("send(2)", "MSG_NOSIGNAL (since Linux 2.2) Don't generate a SIGPIPE signal if the peer "
                       "on a stream-oriented socket has closed the connection.  The EPIPE error is "
                       "still returned."),
)
def test_msg_nosignal(scenario, domain):
    cli, fd = peer_gone(scenario, domain)
    scenario.expect(cli.do("send", fd, b"x", ("MSG_NOSIGNAL",)), Errno("EPIPE"))
    scenario.expect(cli.do("getpid"), Value(ActorRef("cli")), "the writer was not killed")


@pytest.mark.parametrize("domain", DOMAINS)
@spec(
    "socket.stream.close-with-unread-resets",
    "Closing a stream socket that still holds received data nobody read resets the "
    "connection: the peer's next read fails with ECONNRESET instead of returning end of file.",
    sources=[
        ("unix(7)", "ECONNRESET Remote socket was unexpectedly closed."),
        ("send(2)", "ECONNRESET Connection reset by peer."),
    ],
)
def test_close_with_unread_data_resets(scenario, domain):
    srv, conn, cli, fd = connected_pair(scenario, domain)
    cli.call("write", fd, b"never read")
    srv.call("close", conn)
    scenario.expect(cli.do("read", fd, 100), Errno("ECONNRESET"))


@pytest.mark.parametrize("domain", DOMAINS)
@spec(
    "socket.stream.peer-close-wakes-reader",
    "A read waiting on an empty stream socket is woken when the peer closes, and returns 0.",
    source=RECV_EOF,
)
def test_peer_close_wakes_reader(scenario, domain):
    srv, conn, cli, fd = connected_pair(scenario, domain)
    scenario.expect(cli.do("read", fd, 100), BLOCKED)
    srv.call("close", conn)
    scenario.expect_event(cli, Value(b""), "the close ends the wait with end of file")


# -- shutdown ----------------------------------------------------------------------
@pytest.mark.parametrize("domain", DOMAINS)
@spec(
    "socket.shutdown.write-gives-peer-eof",
    "shutdown(SHUT_WR) closes one direction only: the peer reads 0 (end of file), and the shut "
    "side still reads what the peer writes afterwards.",
    sources=[SHUTDOWN_2, RECV_EOF],
    supports={"S19": "a connection has two directions that end separately"},
)
def test_shutdown_write_half_closes(scenario, domain):
    srv, conn, cli, fd = connected_pair(scenario, domain)
    cli.call("write", fd, b"request")
    cli.call("shutdown", fd, SHUT_WR)
    scenario.expect(srv.do("read", conn, 100), Value(b"request"))
    scenario.expect(srv.do("read", conn, 100), Value(b""), "end of file after SHUT_WR")
    scenario.expect(srv.do("write", conn, b"reply"), Value(5))
    scenario.expect(cli.do("read", fd, 100), Value(b"reply"), "the other direction still works")


@pytest.mark.parametrize("disposition", ["default", "ignore"])
@pytest.mark.parametrize("domain", DOMAINS)
@spec(
    "socket.shutdown.write-then-write-epipe",
    "A write on a stream socket after its own shutdown(SHUT_WR) raises SIGPIPE (fatal by "
    "default) and, with SIGPIPE ignored, fails with EPIPE.",
    sources=[
        SOCKET_7_SHUT,
        ("send(2)", "EPIPE  The local end has been shut down on a connection oriented socket.  In "
                    "this case, the process will also receive a SIGPIPE unless MSG_NOSIGNAL is "
                    "set."),
    ],
)
def test_write_after_own_shutdown(scenario, domain, disposition):
    _srv, _conn, cli, fd = connected_pair(scenario, domain)
    cli.call("shutdown", fd, SHUT_WR)
    cli.call("signal", signal.SIGPIPE, disposition)
    wanted = Killed("SIGPIPE") if disposition == "default" else Errno("EPIPE")
    scenario.expect(cli.do("write", fd, b"x"), wanted)


@pytest.mark.parametrize("domain", DOMAINS)
@spec(
    "socket.shutdown.read-gives-eof",
    "After shutdown(SHUT_RD), a read on a stream socket with nothing queued returns 0 at once "
    "instead of waiting for the peer.",
    source=SHUTDOWN_2,
)
def test_shutdown_read_gives_eof(scenario, domain):
    _srv, _conn, cli, fd = connected_pair(scenario, domain)
    scenario.expect(cli.do("shutdown", fd, SHUT_RD), Value(0))
    scenario.expect(cli.do("read", fd, 100), Value(b""), "no more receptions: end of file")


@spec(
    "socket.unix.shutdown-read-peer-epipe",
    "An AF_UNIX stream socket shut for reading shuts its peer for writing: the peer's write "
    "fails with EPIPE (SIGPIPE ignored). Data queued before the shutdown is still read. (A TCP "
    "socket shut for reading goes on accepting data.)",
    sources=[SHUTDOWN_2, SOCKET_7_SHUT],
)
def test_unix_shutdown_read_reaches_peer(scenario):
    srv, conn, cli, fd = connected_pair(scenario, "unix")
    srv.call("write", conn, b"queued")
    cli.call("shutdown", fd, SHUT_RD)
    srv.call("signal", signal.SIGPIPE, "ignore")
    scenario.expect(srv.do("write", conn, b"more"), Errno("EPIPE"), "the peer takes no more data")
    scenario.expect(cli.do("read", fd, 100), Value(b"queued"), "what was queued is kept")
    scenario.expect(cli.do("read", fd, 100), Value(b""))


# -- not waiting ---------------------------------------------------------------------
@pytest.mark.parametrize("domain", DOMAINS)
@spec(
    "socket.accept.nonblocking-eagain",
    "accept(2) on a non-blocking listening socket with no pending connection fails at once "
    "with EAGAIN.",
    source=("accept(2)", "If the socket is marked nonblocking and no pending connections are "
                         "present on the queue, accept() fails with the error EAGAIN or "
                         "EWOULDBLOCK."),
)
def test_accept_nonblocking(scenario, domain):
    srv = scenario.spawn("srv")
    listener = srv.call("socket", domain, "stream")
    srv.call("bind", listener, 0 if domain == "inet" else "server.sock")
    srv.call("listen", listener, 4)
    set_nonblocking(srv, listener)
    scenario.expect(srv.do("accept", listener), Errno("EAGAIN"))


@pytest.mark.parametrize("domain", DOMAINS)
@spec(
    "socket.stream.nonblocking-read-eagain",
    "A read on an empty, connected, non-blocking stream socket fails at once with EAGAIN (it "
    "does not return 0, which would mean end of file).",
    source=RECV_WAITS,
)
def test_nonblocking_read(scenario, domain):
    srv, conn, _cli, _fd = connected_pair(scenario, domain)
    set_nonblocking(srv, conn)
    scenario.expect(srv.do("read", conn, 100), Errno("EAGAIN"))


def fill(writer, fd):
    """Non-blocking writes of CHUNK until one does not write; returns (its outcome, how many)."""
    set_nonblocking(writer, fd)
    writes = 0
    while writes < FILL_LIMIT:
        writes += 1
        outcome = writer.do("write", fd, CHUNK)
        if not (outcome.ok and outcome.detail > 0):
            break
    return outcome, writes


def expect_quoting_less(scenario, outcome, wanted, what):
    """scenario.expect for a step whose data is too long to quote: the message names the step."""
    try:
        scenario.expect(outcome, wanted)
    except AssertionError:
        raise AssertionError(f"{what}: got {outcome}, expected {wanted}") from None


SEND_FULL = ("send(2)", "When the message does not fit into the send buffer of the socket, send() "
                        "normally blocks, unless the socket has been placed in nonblocking I/O "
                        "mode.  In nonblocking mode it would fail with the error EAGAIN or "
                        "EWOULDBLOCK in this case.")


@pytest.mark.parametrize("domain", DOMAINS)
@spec(
    "socket.stream.nonblocking-write-eagain",
    f"Non-blocking writes to a stream connection whose peer does not read eventually fail with "
    f"EAGAIN (within {FILL_LIMIT} writes of 64 KiB), rather than blocking or losing data.",
    source=SEND_FULL,
)
def test_nonblocking_write_fills(scenario, domain):
    _srv, _conn, cli, fd = connected_pair(scenario, domain)
    outcome, n = fill(cli, fd)
    expect_quoting_less(scenario, outcome, Errno("EAGAIN"), f"cli: write #{n} of 64 KiB")


#: larger than everything a connection holds while nobody reads (send and receive buffers)
BIG = b"\x5a" * (16 << 20)


@pytest.mark.parametrize("domain", DOMAINS)
@spec(
    "socket.stream.write-blocks-when-full",
    "A blocking write of more than a stream connection can hold writes what fits and waits until "
    "the peer reads; as the peer reads it completes, with the whole count written.",
    source=SEND_FULL,
)
def test_blocking_write_waits_for_reader(scenario, domain):
    srv, conn, cli, fd = connected_pair(scenario, domain)
    expect_quoting_less(scenario, cli.do("write", fd, BIG), BLOCKED, "cli: write of 16 MiB")
    got = 0
    for _ in range(4000):
        if not cli.blocked:
            break
        outcome = srv.do("recv", conn, 1 << 20, ("MSG_DONTWAIT",))
        got += len(outcome.detail) if outcome.ok else 0
    assert got > 0, "the reader read nothing"
    scenario.expect_event(cli, Value(len(BIG)), "the reader made room, again and again")


# -- recv flags ----------------------------------------------------------------------
@pytest.mark.parametrize("domain", DOMAINS)
@spec(
    "socket.recv.dontwait-eagain",
    "recv(2) with MSG_DONTWAIT on an empty blocking socket fails with EAGAIN for that call only: "
    "the socket stays blocking, and the next plain read waits.",
    source=("recv(2)", "MSG_DONTWAIT (since Linux 2.2) Enables nonblocking operation; if the "
                       "operation would block, the call fails with the error EAGAIN or "
                       "EWOULDBLOCK.  This provides similar behavior to setting the O_NONBLOCK flag "
                       "(via the fcntl(2) F_SETFL operation), but differs in that MSG_DONTWAIT is a "
                       "per-call option, whereas O_NONBLOCK is a setting on the open file "
                       "description (see open(2)), which will affect all threads in the calling "
                       "process and as well as other processes that hold file descriptors referring to "
                       "the same open file description."),
)
def test_recv_dontwait(scenario, domain):
    srv, conn, cli, fd = connected_pair(scenario, domain)
    scenario.expect(srv.do("recv", conn, 100, ("MSG_DONTWAIT",)), Errno("EAGAIN"))
    scenario.expect(srv.do("read", conn, 100), BLOCKED, "the socket itself is still blocking")
    cli.call("write", fd, b"x")
    scenario.expect_event(srv, Value(b"x"))


@pytest.mark.parametrize("domain", DOMAINS)
@spec(
    "socket.recv.peek-keeps-data",
    "recv(2) with MSG_PEEK returns queued data without removing it: the next read returns the "
    "same data.",
    source=("recv(2)", "MSG_PEEK This flag causes the receive operation to return data from the "
                       "beginning of the receive queue without removing that data from the queue.  "
                       "Thus, a subsequent receive call will return the same data."),
)
def test_recv_peek(scenario, domain):
    srv, conn, cli, fd = connected_pair(scenario, domain)
    cli.call("write", fd, b"look")
    scenario.expect(srv.do("recv", conn, 100, ("MSG_PEEK",)), Value(b"look"))
    scenario.expect(srv.do("read", conn, 100), Value(b"look"), "peeking left it queued")
