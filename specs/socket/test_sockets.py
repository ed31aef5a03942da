"""Sockets: the seed's server/client sequence and what it promises (claim S19).

Each connection behavior is one test body run over both domains the seed
talks about — TCP on the loopback interface and AF_UNIX on a path — the way
one behavior is checked for every variant.
"""

import pytest

from conformance.backends.ops import ActorRef
from conformance.clauses import spec
from conformance.outcome import BLOCKED, Errno, Value

DOMAINS = ["inet", "unix"]
SOCKET_2 = "socket(2)"
STREAM_QUOTE = ("Sockets of type SOCK_STREAM are full-duplex byte streams. They do not preserve "
                "record boundaries.")


def listening_server(scenario, domain):
    """Server actor 'srv' with a listening socket; returns (srv, listener, address)."""
    srv = scenario.spawn("srv")
    listener = srv.call("socket", domain, "stream")
    srv.call("bind", listener, 0 if domain == "inet" else "server.sock")
    srv.call("listen", listener, 4)
    address = srv.call("local_port", listener) if domain == "inet" else "server.sock"
    return srv, listener, address


def connected_pair(scenario, domain):
    """(srv, server-side fd, cli, client fd) after the seed's full sequence."""
    srv, listener, address = listening_server(scenario, domain)
    cli = scenario.spawn("cli")
    fd = cli.call("socket", domain, "stream")
    scenario.expect(srv.do("accept", listener), BLOCKED, "accept waits for a client")
    scenario.expect(cli.do("connect", fd, address), Value(0))
    conn = srv.completion.detail if srv.completion and srv.completion.ok else None
    scenario.expect_event(srv, Value(conn), "the pending accept returns the connection")
    return srv, conn, cli, fd


@pytest.mark.parametrize("domain", DOMAINS)
@spec(
    "socket.stream.server-client",
    "socket, bind, listen, accept on one side and socket, connect on the other give a "
    "connection over which both sides read and write: two-way, between separately started "
    "processes.",
    sources=[
        (SOCKET_2, "SOCK_STREAM     Provides sequenced, reliable, two-way, connection-based "
                   "byte streams."),
        ("seed S19", "Sockets: socket/bind/listen/connect/accept then read/write; two-way, "
                     "stream, same or different machines."),
    ],
    supports={"L01": "sockets are an IPC mechanism of Linux, both ways",
              "S19": "the seed's sequence works over TCP loopback and AF_UNIX, both ways",
              "S31": "sockets are two-way between any processes (a row of the summary table)"},
)
def test_server_client_two_way(scenario, domain):
    srv, conn, cli, fd = connected_pair(scenario, domain)
    scenario.expect(cli.do("write", fd, b"ping"), Value(4))
    scenario.expect(srv.do("read", conn, 100), Value(b"ping"))
    scenario.expect(srv.do("write", conn, b"pong"), Value(4))
    scenario.expect(cli.do("read", fd, 100), Value(b"pong"), "the same connection carries replies")


@pytest.mark.parametrize("domain", DOMAINS)
@spec(
    "socket.accept.blocks",
    "accept(2) on a listening socket with no pending connection blocks until a client connects.",
    source=("accept(2)", "If no pending connections are present on the queue, and the socket is "
                         "not marked as nonblocking, accept() blocks the caller until a connection "
                         "is present."),
)
def test_accept_blocks_until_connect(scenario, domain):
    srv, listener, address = listening_server(scenario, domain)
    scenario.expect(srv.do("accept", listener), BLOCKED)
    cli = scenario.spawn("cli")
    fd = cli.call("socket", domain, "stream")
    cli.call("connect", fd, address)
    assert srv.completion is not None and srv.completion.ok, f"accept ended {srv.completion}"


@pytest.mark.parametrize("domain", DOMAINS)
@spec(
    "socket.stream.no-boundaries",
    "A stream socket does not keep message boundaries: two writes can be read by one read.",
    source=(SOCKET_2, STREAM_QUOTE),
    supports={"S19": "a socket connection is a byte stream, as the seed says"},
)
def test_stream_has_no_boundaries(scenario, domain):
    srv, conn, cli, fd = connected_pair(scenario, domain)
    cli.call("write", fd, b"abc")
    cli.call("write", fd, b"def")
    scenario.expect(srv.do("read", conn, 100), Value(b"abcdef"), "one read gets both writes")


@pytest.mark.parametrize("domain", DOMAINS)
@spec(
    "socket.stream.read-blocks",
    "A read on a connected stream socket with no data waits until the peer writes.",
    source=("recv(2)", "If no messages are available at the socket, the receive calls wait for a "
                       "message to arrive, unless the socket is nonblocking"),
)
def test_read_blocks_until_peer_writes(scenario, domain):
    srv, conn, cli, fd = connected_pair(scenario, domain)
    scenario.expect(srv.do("read", conn, 10), BLOCKED)
    cli.call("write", fd, b"x")
    scenario.expect_event(srv, Value(b"x"))


@pytest.mark.parametrize("domain", DOMAINS)
@spec(
    "socket.stream.eof-on-close",
    "When the peer closes its end, reads on a stream socket return 0 (end of file) once the "
    "data already sent is consumed.",
    source=("recv(2)", "When a stream socket peer has performed an orderly shutdown, the return "
                       "value will be 0 (the traditional \"end-of-file\" return)."),
)
def test_eof_after_peer_closes(scenario, domain):
    srv, conn, cli, fd = connected_pair(scenario, domain)
    cli.call("write", fd, b"last")
    cli.call("close", fd)
    scenario.expect(srv.do("read", conn, 100), Value(b"last"))
    scenario.expect(srv.do("read", conn, 100), Value(b""), "then end of file")


@pytest.mark.parametrize("kind", ["dgram", "seqpacket"])
@spec(
    "socket.unix.boundaries-kept",
    "AF_UNIX datagram and sequenced-packet sockets keep message boundaries: each read returns "
    "one whole message.",
    source=("unix(7)", "Valid socket types in the UNIX domain are: SOCK_STREAM, for a "
                       "stream-oriented socket; SOCK_DGRAM, for a datagram-oriented socket that "
                       "preserves message boundaries (as on most UNIX implementations, UNIX "
                       "domain datagram sockets are always reliable and don't reorder "
                       "datagrams); and (since Linux 2.6.4) SOCK_SEQPACKET, for a "
                       "sequenced-packet socket that is connection-oriented, preserves message "
                       "boundaries, and delivers messages in the order that they were sent."),
)
def test_unix_messages_keep_boundaries(scenario, kind):
    a = scenario.spawn("a")
    left, right = a.call("socketpair_of", kind)
    b = a.fork("b")
    b.call("write", left, b"abc")
    b.call("write", left, b"def")
    scenario.expect(a.do("read", right, 100), Value(b"abc"), "first message only")
    scenario.expect(a.do("read", right, 100), Value(b"def"))


@pytest.mark.parametrize("domain", DOMAINS)
@spec(
    "socket.connect.refused",
    "connect(2) to an address nobody listens on fails with ECONNREFUSED.",
    source=("connect(2)", "ECONNREFUSED A connect() on a stream socket found no one listening on "
                          "the remote address."),
)
def test_connect_without_listener_is_refused(scenario, domain):
    srv, listener, address = listening_server(scenario, domain)
    srv.call("close", listener)  # the address was in use a moment ago; now nobody listens
    cli = scenario.spawn("cli")
    fd = cli.call("socket", domain, "stream")
    scenario.expect(cli.do("connect", fd, address), Errno("ECONNREFUSED"))


@pytest.mark.parametrize("domain", DOMAINS)
@spec(
    "socket.bind.address-in-use",
    "Binding a second socket to an address a listening socket holds fails with EADDRINUSE.",
    source=("bind(2)", "EADDRINUSE The given address is already in use."),
)
def test_bind_to_used_address(scenario, domain):
    _srv, _listener, address = listening_server(scenario, domain)
    other = scenario.spawn("other")
    fd = other.call("socket", domain, "stream")
    scenario.expect(other.do("bind", fd, address), Errno("EADDRINUSE"))


@spec(
    "socket.scm-rights.same-description",
    "A descriptor passed with SCM_RIGHTS over an AF_UNIX socket refers to the sender's open file "
    "description: the receiver shares its file offset.",
    source=("unix(7)", "Commonly, this operation is referred to as \"passing a file descriptor\" "
                       "to another process. However, more accurately, what is being passed is a "
                       "reference to an open file description (see open(2)), and in the "
                       "receiving process it is likely that a different file descriptor number "
                       "will be used."),
    contradicts={"S13": "any process that receives a pipe end over a socket can use it, not only "
                        "a child"},
)
def test_scm_rights_shares_the_description(scenario):
    a = scenario.spawn("a")
    left, right = a.call("socketpair_of", "stream")
    b = a.fork("b")
    a.call("close", right)
    b.call("close", left)
    fd = a.call("open", "shared.txt", 0o102, 0o644)  # O_RDWR | O_CREAT
    a.call("write", fd, b"0123456789")
    a.call("sendfd", left, fd)
    got = b.call("recvfd", right)
    scenario.expect(b.do("kcmp_file", ActorRef("a"), got, fd), Value(True), "one description")
    b.call("lseek", got, 2, 0)
    scenario.expect(a.do("read", fd, 3), Value(b"234"), "the receiver's seek moved the sender's offset")
