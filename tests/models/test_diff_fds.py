"""Descriptors, regular files, FIFOs and sockets, model against kernel.

Single-process sequences: descriptor allocation (lowest free, EMFILE at the
limit), dup/dup2/dup3/F_DUPFD, close-on-exec, status flags, offsets shared
through descriptions, /proc reopens, non-blocking FIFO opens, and passing
descriptors over a socket pair.
"""

from __future__ import annotations

import os
import signal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.backends.ops import ActorRef

from .compare import NOFILE, assert_same
from .realrun import Step

F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL = 0, 1, 2, 3, 4
F_DUPFD_QUERY, F_DUPFD_CLOEXEC, F_SETPIPE_SZ, F_GETPIPE_SZ = 1027, 1030, 1031, 1032
NB = os.O_NONBLOCK

fd_settings = settings(max_examples=80, deadline=None,
                       suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

FDS = st.one_of(st.integers(0, 9), st.sampled_from([-1, NOFILE - 1, NOFILE, 1 << 20]))
NAMES = st.sampled_from(["f", "g", "p"])
OPEN_FLAGS = st.builds(
    lambda acc, extra: acc | extra,
    st.sampled_from([os.O_RDONLY, os.O_WRONLY, os.O_RDWR, 3]),
    st.sampled_from([0, os.O_CREAT, os.O_CREAT | os.O_EXCL, os.O_TRUNC, os.O_APPEND,
                     os.O_CREAT | os.O_APPEND, os.O_CLOEXEC, NB, os.O_CREAT | NB,
                     os.O_SYNC, os.O_NOATIME, os.O_ASYNC, os.O_DIRECT | os.O_CREAT]),
)
SETFL = st.sampled_from([0, NB, os.O_APPEND, os.O_ASYNC, os.O_DIRECT, os.O_NOATIME,
                         os.O_RDWR | os.O_APPEND | os.O_NONBLOCK, 0o7777777, os.O_SYNC])


@st.composite
def fd_programs(draw: st.DrawFn) -> list[Step]:
    steps: list[Step] = []
    if draw(st.booleans()):
        steps.append(("mkfifo", ("p", 0o644)))
    for _ in range(draw(st.integers(1, 30))):
        kind = draw(st.sampled_from(
            ["open", "open", "close", "dup", "dup2", "dup3", "fcntl_dup", "getfd", "setfd",
             "getfl", "setfl", "read", "write", "lseek", "fstat", "stat", "unlink", "pipe",
             "fd_list", "reopen", "query", "fill", "pipesz"]))
        fd = draw(FDS)
        if kind == "open":
            name = draw(st.one_of(NAMES, st.sampled_from(["/dev/null", "", "x" * 256])))
            flags = draw(OPEN_FLAGS)
            if name == "p":
                flags |= NB  # a blocking FIFO open would sleep forever here
            steps.append(("open", (name, flags, 0o644)))
        elif kind == "close":
            steps.append(("close", (fd,)))
        elif kind == "dup":
            steps.append(("dup", (fd,)))
        elif kind == "dup2":
            steps.append(("dup2", (fd, draw(FDS))))
        elif kind == "dup3":
            steps.append(("dup3", (fd, draw(FDS), draw(st.sampled_from([0, os.O_CLOEXEC, NB])))))
        elif kind == "fcntl_dup":
            cmd = draw(st.sampled_from([F_DUPFD, F_DUPFD_CLOEXEC]))
            steps.append(("fcntl", (fd, cmd, draw(st.sampled_from([0, 2, 5, 8, NOFILE - 1, NOFILE, -1])))))
        elif kind == "getfd":
            steps.append(("fcntl", (fd, F_GETFD, 0)))
        elif kind == "setfd":
            steps.append(("fcntl", (fd, F_SETFD, draw(st.sampled_from([0, 1, 2, 3, -1])))))
        elif kind == "getfl":
            steps.append(("fcntl", (fd, F_GETFL, 0)))
        elif kind == "setfl":
            steps.append(("fcntl", (fd, F_SETFL, draw(SETFL))))
        elif kind == "read":
            steps.append(("read", (fd, draw(st.sampled_from([0, 1, 3, 10, 100])))))
        elif kind == "write":
            steps.append(("write", (fd, draw(st.sampled_from([b"", b"a", b"hello", b"z" * 50])))))
        elif kind == "lseek":
            steps.append(("lseek", (fd, draw(st.sampled_from([0, 1, 3, -1, -100, 1000])),
                                    draw(st.sampled_from([0, 1, 2, 3, 4, 5, -1])))))
        elif kind == "fstat":
            steps.append(("fstat", (fd,)))
        elif kind == "stat":
            steps.append(("stat", (draw(st.one_of(NAMES, st.just("/dev/null"))),)))
        elif kind == "unlink":
            steps.append(("unlink", (draw(NAMES),)))
        elif kind == "pipe":
            steps.append(("pipe2", (draw(st.sampled_from([0, NB, os.O_CLOEXEC, os.O_APPEND])),)))
        elif kind == "fd_list":
            steps.append(("fd_list", ()))
        elif kind == "reopen":
            flags = draw(st.sampled_from([os.O_RDONLY, os.O_WRONLY, os.O_RDWR, 3])) | NB
            flags |= draw(st.sampled_from([0, os.O_TRUNC, os.O_APPEND]))
            steps.append(("open_proc_fd", (ActorRef("a"), fd, flags)))
        elif kind == "query":
            steps.append(("fcntl", (fd, F_DUPFD_QUERY, draw(FDS))))
        elif kind == "pipesz":
            steps.append(("fcntl", (fd, draw(st.sampled_from([F_GETPIPE_SZ, F_SETPIPE_SZ])), 4096)))
        else:  # run into the descriptor limit
            steps.extend([("dup", (0,))] * NOFILE)
    return steps


@fd_settings
@given(fd_programs())
def test_descriptor_sequences_match_the_kernel(steps: list[Step]) -> None:
    assert_same(steps)


@st.composite
def socket_programs(draw: st.DrawFn) -> list[Step]:
    # fds 3, 4: the socket pair; 5, 6: a pipe whose ends travel over it.
    steps: list[Step] = [("socketpair", ()), ("pipe2", (NB,)),
                         ("signal", (signal.SIGPIPE, draw(st.sampled_from(["ignore", "count"]))))]
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(["send", "send", "recv", "recv", "read", "write", "close",
                                     "setnb", "pipe_io", "fd_list", "getfl", "kcmp"]))
        sock = draw(st.sampled_from([3, 4, 3, 4, 5, 9]))
        fd = draw(st.integers(0, 10))
        if kind == "send":
            steps.append(("sendfd", (sock, draw(st.sampled_from([5, 6, 0, 8, 99])))))
        elif kind == "recv":
            steps.append(("recvfd", (sock,)))
        elif kind == "read":
            steps.append(("read", (sock, draw(st.sampled_from([0, 1, 2, 10])))))
        elif kind == "write":
            steps.append(("write", (sock, draw(st.sampled_from([b"", b"a", b"hello"])))))
        elif kind == "close":
            steps.append(("close", (fd,)))
        elif kind == "setnb":
            steps.append(("fcntl", (sock, F_SETFL, draw(st.sampled_from([0, NB, os.O_ASYNC])))))
        elif kind == "pipe_io":
            steps.append(draw(st.sampled_from([("write", (6, b"data")), ("read", (5, 100)),
                                               ("write", (fd, b"x")), ("read", (fd, 10))])))
        elif kind == "fd_list":
            steps.append(("fd_list", ()))
        elif kind == "getfl":
            steps.append(("fcntl", (fd, F_GETFL, 0)))
        else:
            steps.append(("kcmp_file", (ActorRef("a"), fd, draw(st.integers(0, 10)))))
    # Drain whatever is left, so released pipe ends show up as EOF.
    steps.extend([("fcntl", (4, F_SETFL, NB)), ("recvfd", (4,)), ("close", (3,)),
                  ("fd_list", ()), ("fcntl", (5, F_SETFL, NB)), ("read", (5, 100))])
    return steps


@fd_settings
@given(socket_programs())
def test_socket_sequences_match_the_kernel(steps: list[Step]) -> None:
    assert_same(steps)


def test_fgetfl_values() -> None:
    assert_same([
        ("fcntl", (0, F_GETFL, 0)),
        ("open", ("f", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_EXCL, 0o644)),
        ("fcntl", (3, F_GETFL, 0)), ("fcntl", (3, F_GETFD, 0)),
        ("pipe2", (NB | os.O_DIRECT | os.O_CLOEXEC,)),
        ("fcntl", (4, F_GETFL, 0)), ("fcntl", (5, F_GETFL, 0)),
        ("socketpair", ()), ("fcntl", (6, F_GETFL, 0)),
        ("open", ("f", os.O_WRONLY | os.O_ASYNC | os.O_TRUNC | os.O_NOCTTY, 0)),
        ("fcntl", (8, F_GETFL, 0)), ("fcntl", (8, F_SETFL, 0)), ("fcntl", (8, F_GETFL, 0)),
        ("open_proc_fd", (ActorRef("a"), 4, os.O_WRONLY)), ("fcntl", (9, F_GETFL, 0)),
    ])


def test_shared_offsets_and_own_offsets() -> None:
    assert_same([
        ("open", ("f", os.O_RDWR | os.O_CREAT, 0o644)), ("write", (3, b"0123456789")),
        ("dup", (3,)), ("lseek", (4, 2, 0)), ("read", (3, 3)),
        ("open_proc_fd", (ActorRef("a"), 3, os.O_RDONLY)), ("read", (5, 4)), ("read", (3, 100)),
        ("unlink", ("f",)), ("write", (4, b"!")), ("lseek", (3, 20, 0)), ("write", (3, b"end")),
        ("fstat", (5,)), ("read", (5, 100)), ("stat", ("f",)),
    ])


def test_fifo_non_blocking_opens() -> None:
    assert_same([
        ("mkfifo", ("p", 0o644)), ("mkfifo", ("p", 0o644)), ("stat", ("p",)),
        ("open", ("p", os.O_WRONLY | NB, 0)),
        ("open", ("p", os.O_RDONLY | NB, 0)), ("read", (3, 10)),
        ("open", ("p", os.O_WRONLY | NB, 0)), ("write", (4, b"hello")), ("fstat", (4,)),
        ("read", (3, 2)), ("close", (4,)), ("read", (3, 10)), ("read", (3, 10)),
        ("open", ("p", 3 | NB, 0)), ("open", ("p", os.O_RDWR, 0)), ("fcntl", (4, F_SETPIPE_SZ, 8192)),
        ("write", (4, b"abc")), ("close", (4,)), ("close", (3,)),
        ("open", ("p", os.O_RDWR | NB, 0)), ("fcntl", (3, F_GETPIPE_SZ, 0)), ("read", (3, 10)),
    ])


@st.composite
def datagram_programs(draw: st.DrawFn) -> list[Step]:
    # 3: bound to "inbox"; 4: connected to it; 5, 6: a pipe to pass around.
    steps: list[Step] = [("unix_bind", ("inbox",)), ("unix_connect", ("inbox",)), ("pipe2", (NB,)),
                         ("fcntl", (3, F_SETFL, NB)), ("fcntl", (4, F_SETFL, NB))]
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(["send", "send", "write", "recv", "read", "close", "name",
                                     "connect", "bind", "fd_list", "pipe_read"]))
        sock = draw(st.sampled_from([3, 4, 4, 7, 8]))
        if kind == "send":
            steps.append(("sendfd", (sock, draw(st.sampled_from([5, 6, 0, 99])))))
        elif kind == "write":
            steps.append(("write", (sock, draw(st.sampled_from([b"", b"a", b"hello"])))))
        elif kind == "recv":
            steps.append(("recvfd", (draw(st.sampled_from([3, 3, 7, 8])),)))
        elif kind == "read":
            steps.append(("read", (draw(st.sampled_from([3, 3, 7, 8])), draw(st.sampled_from([0, 1, 3, 10])))))
        elif kind == "close":
            steps.append(("close", (draw(st.integers(3, 9)),)))
        elif kind == "name":
            steps.append(draw(st.sampled_from([("unlink", ("inbox",)), ("stat", ("inbox",)),
                                               ("open", ("inbox", os.O_RDONLY, 0)),
                                               ("mkfifo", ("inbox", 0o644))])))
        elif kind == "connect":
            steps.append(("unix_connect", (draw(st.sampled_from(["inbox", "nothere", "f"])),)))
        elif kind == "bind":
            steps.append(("unix_bind", (draw(st.sampled_from(["inbox", "other"])),)))
        elif kind == "fd_list":
            steps.append(("fd_list", ()))
        else:
            steps.append(("read", (5, 100)))
    steps.extend([("fcntl", (3, F_SETFL, NB)), ("recvfd", (3,)), ("fd_list", ()),
                  ("close", (3,)), ("write", (4, b"x")), ("write", (4, b"x")), ("read", (5, 100))])
    return steps


@fd_settings
@given(datagram_programs())
def test_datagram_sequences_match_the_kernel(steps: list[Step]) -> None:
    assert_same([("open", ("f", os.O_CREAT | os.O_RDWR, 0o644)), ("close", (3,)), *steps])


def test_datagram_basics() -> None:
    assert_same([
        ("unix_bind", ("inbox",)), ("unix_bind", ("inbox",)), ("stat", ("inbox",)),
        ("fstat", (3,)), ("fcntl", (3, F_GETFL, 0)), ("open", ("inbox", os.O_RDONLY, 0)),
        ("mkfifo", ("inbox", 0o644)), ("unix_connect", ("inbox",)), ("unix_connect", ("none",)),
        ("write", (3, b"x")), ("sendfd", (3, 0)), ("write", (4, b"hello")), ("write", (4, b"")),
        ("sendfd", (4, 0)), ("write", (4, b"abc")), ("read", (3, 2)), ("read", (3, 0)),
        ("read", (3, 10)), ("recvfd", (3,)), ("recvfd", (3,)), ("unlink", ("inbox",)),
        ("unix_connect", ("inbox",)), ("close", (3,)), ("write", (4, b"z")), ("write", (4, b"z")),
    ])
