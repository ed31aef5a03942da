"""The model's AF_UNIX socket pairs of every type, shutdown, and their sleepers.

Each rule is checked twice: on the model alone, against the outcome this
kernel gave when the rule was worked out, and, where one process can show
it without sleeping, on the kernel itself through the differential runner
(:func:`.compare.assert_same`). The multi-process cases (who a write or a
shutdown wakes) run on the harness and the model in lockstep (:mod:`.multi`).
"""

from __future__ import annotations

import os
import signal

import pytest

from conformance.harness.zygote import ZygoteClient
from conformance.models import ProcessModel, Unmodelled
from conformance.outcome import BLOCKED, Errno, Killed, Value

from .compare import assert_same
from .multi import run_both

F_SETFL, NB = 4, os.O_NONBLOCK
PIPE = signal.SIGPIPE
KINDS = ("stream", "seqpacket", "dgram")


def pair(kind: str) -> ProcessModel:
    """Actor 'a' with a socketpair of ``kind`` at 3 and 4, SIGPIPE ignored."""
    m = ProcessModel()
    m.spawn("a")
    assert m.step("a", "socketpair_of", kind) == Value((3, 4))
    m.step("a", "signal", PIPE, "ignore")
    return m


# -- boundaries and empty messages ---------------------------------------------------
@pytest.mark.parametrize("kind", ["seqpacket", "dgram"])
def test_messages_keep_boundaries_and_lose_their_tail(kind: str) -> None:
    m = pair(kind)
    m.step("a", "write", 3, b"ab")
    m.step("a", "write", 3, b"cde")
    assert m.step("a", "read", 4, 10) == Value(b"ab")
    assert m.step("a", "read", 4, 1) == Value(b"c")
    m.step("a", "fcntl", 4, F_SETFL, NB)
    assert m.step("a", "read", 4, 10) == Errno("EAGAIN")  # "de" went with its message


def test_stream_bytes_run_together() -> None:
    m = pair("stream")
    m.step("a", "write", 3, b"ab")
    m.step("a", "write", 3, b"cde")
    assert m.step("a", "read", 4, 10) == Value(b"abcde")


@pytest.mark.parametrize("kind", ["seqpacket", "dgram"])
def test_an_empty_write_is_a_message(kind: str) -> None:
    m = pair(kind)
    assert m.step("a", "write", 3, b"") == Value(0)
    assert m.step("a", "read", 4, 10) == Value(b"")
    assert m.step("a", "read", 4, 10) == BLOCKED


def test_an_empty_stream_write_sends_nothing() -> None:
    m = pair("stream")
    assert m.step("a", "write", 3, b"") == Value(0)
    assert m.step("a", "read", 4, 10) == BLOCKED


# -- the peer goes -----------------------------------------------------------------------
def test_seqpacket_reports_reset_before_data_and_epipe_without_signal() -> None:
    m = pair("seqpacket")
    m.step("a", "signal", PIPE, "default")
    m.step("a", "write", 3, b"unread")
    m.step("a", "write", 4, b"queued")
    m.step("a", "close", 4)
    assert m.step("a", "read", 3, 10) == Errno("ECONNRESET")  # before the queued message
    assert m.step("a", "read", 3, 10) == Value(b"queued")
    assert m.step("a", "read", 3, 10) == Value(b"")
    assert m.step("a", "write", 3, b"x") == Errno("EPIPE")  # alive: no SIGPIPE


def test_seqpacket_write_reports_the_reset_first() -> None:
    m = pair("seqpacket")
    m.step("a", "write", 3, b"unread")
    m.step("a", "close", 4)
    assert m.step("a", "write", 3, b"") == Errno("ECONNRESET")
    assert m.step("a", "write", 3, b"") == Errno("EPIPE")
    assert m.step("a", "read", 3, 10) == Value(b"")


def test_stream_write_to_closed_peer_raises_sigpipe() -> None:
    m = pair("stream")
    m.step("a", "signal", PIPE, "default")
    m.step("a", "close", 4)
    assert m.step("a", "write", 3, b"") == Killed("SIGPIPE")


def test_dgram_peer_close_refuses_once_and_purges_own_queue() -> None:
    m = pair("dgram")
    m.step("a", "write", 4, b"for 3")
    m.step("a", "close", 4)
    assert m.step("a", "write", 3, b"x") == Errno("ECONNREFUSED")
    assert m.step("a", "write", 3, b"x") == Errno("ENOTCONN")
    m.step("a", "fcntl", 3, F_SETFL, NB)
    assert m.step("a", "read", 3, 10) == Errno("EAGAIN")  # "for 3" was purged


def test_dgram_peer_close_leaves_reads_waiting() -> None:
    m = pair("dgram")
    m.step("a", "write", 4, b"m")
    m.step("a", "close", 4)
    assert m.step("a", "read", 3, 10) == Value(b"m")
    assert m.step("a", "read", 3, 10) == BLOCKED


def test_lone_unread_empty_message_is_unmodelled() -> None:
    m = pair("seqpacket")
    m.step("a", "write", 3, b"")
    with pytest.raises(Unmodelled):
        m.step("a", "close", 4)


# -- shutdown ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["stream", "seqpacket"])
def test_shut_wr_is_the_peers_end_of_file(kind: str) -> None:
    m = pair(kind)
    m.step("a", "write", 3, b"last")
    assert m.step("a", "shutdown", 3, 1) == Value(0)
    assert m.step("a", "write", 3, b"x") == Errno("EPIPE")
    assert m.step("a", "read", 4, 10) == Value(b"last")
    assert m.step("a", "read", 4, 10) == Value(b"")
    assert m.step("a", "write", 4, b"back") == Value(4)  # the other way still works
    assert m.step("a", "read", 3, 10) == Value(b"back")


@pytest.mark.parametrize("kind", ["stream", "seqpacket"])
def test_shut_rd_drains_then_eof_and_refuses_the_peer(kind: str) -> None:
    m = pair(kind)
    m.step("a", "write", 4, b"kept")
    m.step("a", "shutdown", 3, 0)
    assert m.step("a", "write", 4, b"x") == Errno("EPIPE")
    m.step("a", "fcntl", 3, F_SETFL, NB)
    assert m.step("a", "read", 3, 10) == Value(b"kept")
    assert m.step("a", "read", 3, 10) == Value(b"")  # even non-blocking


def test_dgram_shutdown_is_local() -> None:
    m = pair("dgram")
    m.step("a", "shutdown", 3, 1)
    assert m.step("a", "write", 3, b"x") == Errno("EPIPE")
    assert m.step("a", "read", 4, 10) == BLOCKED  # no end of file for the peer


def test_dgram_shut_rd_eof_only_when_blocking() -> None:
    m = pair("dgram")
    m.step("a", "shutdown", 3, 0)
    assert m.step("a", "write", 4, b"x") == Errno("EPIPE")
    assert m.step("a", "read", 3, 10) == Value(b"")
    m.step("a", "fcntl", 3, F_SETFL, NB)
    assert m.step("a", "read", 3, 10) == Errno("EAGAIN")


@pytest.mark.parametrize("kind", KINDS)
def test_shutdown_arguments(kind: str) -> None:
    m = pair(kind)
    assert m.step("a", "shutdown", 3, 3) == Errno("EINVAL")
    assert m.step("a", "shutdown", 0, 1) == Errno("ENOTSOCK")
    assert m.step("a", "shutdown", 9, 1) == Errno("EBADF")
    m.step("a", "close", 4)
    assert m.step("a", "shutdown", 3, 2) == Value(0)


# -- descriptors in messages ---------------------------------------------------------------
@pytest.mark.parametrize("kind", ["seqpacket", "dgram"])
def test_recvfd_consumes_a_whole_message(kind: str) -> None:
    m = pair(kind)
    m.step("a", "write", 3, b"abc")
    m.step("a", "sendfd", 3, 0)
    assert m.step("a", "recvfd", 4) == Value(None)
    assert m.step("a", "recvfd", 4) == Value(5)
    m.step("a", "sendfd", 3, 0)
    assert m.step("a", "read", 4, 10) == Value(b"F")  # the descriptor is dropped


# -- on the kernel -------------------------------------------------------------------------
SINGLE = [
    [("socketpair_of", (kind,)), ("signal", (PIPE, "ignore")),
     ("fcntl", (3, F_SETFL, NB)), ("fcntl", (4, F_SETFL, NB)), ("write", (3, b"ab")), ("write", (3, b"")), ("write", (3, b"cde")),
     ("read", (4, 1)), ("read", (4, 10)), ("read", (4, 1)), ("read", (4, 0)),
     ("write", (4, b"back")), ("shutdown", (4, 1)), ("write", (4, b"x")),
     ("read", (3, 2)), ("read", (3, 10)),
     ("shutdown", (3, 0)), ("read", (3, 10)), ("write", (4, b"y")), ("write", (3, b"z")),
     ("shutdown", (3, 3)), ("shutdown", (0, 1)), ("sendfd", (3, 0)), ("recvfd", (4,)),
     ("close", (3,)), ("write", (4, b"q")), ("write", (4, b"q")), ("read", (4, 10))]
    for kind in KINDS
] + [
    [("socketpair_of", (kind,)), ("signal", (PIPE, "ignore")), ("fcntl", (3, F_SETFL, NB)),
     ("write", (3, b"unread")), ("write", (4, b"queued")), ("sendfd", (4, 0)), ("close", (4,)),
     ("write", (3, b"")), ("read", (3, 3)), ("read", (3, 10)), ("recvfd", (3,)), ("read", (3, 10)),
     ("write", (3, b"x")), ("shutdown", (3, 2)), ("write", (3, b"x")), ("read", (3, 10))]
    for kind in KINDS
]


@pytest.mark.parametrize("steps", SINGLE, ids=[f"{s[0][1][0]}-{i}" for i, s in enumerate(SINGLE)])
def test_single_process_sequences_match_the_kernel(steps: list) -> None:
    outcomes = assert_same(steps)
    assert len(outcomes) == len(steps), "the sequence was cut short"


def test_sleepers_woken_by_shutdown_close_and_messages(zygote: ZygoteClient) -> None:
    run_both(zygote, [
        ("a", "spawn", ()),
        ("a", "socketpair_of", ("seqpacket",)), ("a", "socketpair_of", ("dgram",)),
        ("a", "socketpair_of", ("stream",)),
        ("a", "fork", ("b",)), ("a", "fork", ("c",)),
        ("b", "read", (3, 10)), ("c", "read", (3, 10)),   # two seqpacket sleepers
        ("a", "write", (4, b"one")),                       # wakes the older only: b
        ("a", "write", (4, b"")),                          # then c, with an empty message
        ("b", "read", (5, 10)),                            # dgram sleeper
        ("a", "close", (6,)), ("c", "close", (6,)),        # peer gone: b sleeps on
        ("c", "shutdown", (5, 0)),                         # its own SHUT_RD: EOF for b
        ("b", "read", (7, 10)),                            # stream sleeper
        ("c", "shutdown", (8, 1)),                         # the peer's SHUT_WR: EOF
        ("c", "close", (4,)), ("c", "read", (3, 10)), ("a", "close", (4,)),
        ("b", "close", (4,)),                              # last seqpacket peer: EOF
    ])
