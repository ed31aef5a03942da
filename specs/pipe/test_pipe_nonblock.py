"""Non-blocking pipes: where a blocking call would sleep, EAGAIN instead.

O_NONBLOCK is a status flag of the open file description, set with
``fcntl(F_SETFL)``. It turns the two sleeps of a pipe — reading an empty
pipe, writing a full one — into an immediate EAGAIN, and nothing else: the
data and the pipe's state are left as they were.
"""

import os
from fcntl import F_GETFL, F_SETFL

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.clauses import spec
from conformance.outcome import Errno, Value

CAPACITY = 16 * os.sysconf("SC_PAGE_SIZE")
HOW = ("pipe(7)", "Nonblocking I/O is possible by using the fcntl(2) F_SETFL operation to enable "
                  "the O_NONBLOCK open file status flag.")


def set_nonblocking(actor, fd: int) -> None:
    flags = actor.call("fcntl", fd, F_GETFL)
    actor.call("fcntl", fd, F_SETFL, flags | os.O_NONBLOCK)


@spec(
    "pipe.nonblock.read-eagain",
    "A read with O_NONBLOCK on an empty pipe whose write end is open fails at once with EAGAIN "
    "(not 0, which would mean end of file).",
    sources=[
        HOW,
        ("read(2)", "EAGAIN The file descriptor fd refers to a file other than a socket and has "
                    "been marked nonblocking (O_NONBLOCK), and the read would block.  See open(2) "
                    "for further details on the O_NONBLOCK flag."),
    ],
)
def test_empty_read_is_eagain(scenario):
    a = scenario.spawn("a")
    r, w = a.call("pipe")  # a keeps w open: the pipe has a writer, so this is not EOF
    set_nonblocking(a, r)
    scenario.expect(a.do("read", r, 10), Errno("EAGAIN"), "empty, and a writer exists")
    a.call("write", w, b"now")
    scenario.expect(a.do("read", r, 10), Value(b"now"), "O_NONBLOCK changes only the waiting")


@spec(
    "pipe.nonblock.write-eagain",
    "A write of any size with O_NONBLOCK to a full pipe fails at once with EAGAIN and writes "
    "nothing.",
    sources=[
        HOW,
        ("write(2)", "EAGAIN The file descriptor fd refers to a file other than a socket and has "
                     "been marked nonblocking (O_NONBLOCK), and the write would block.  See open(2) "
                     "for further details on the O_NONBLOCK flag."),
        ("pipe(7)", "If the pipe is full, then write(2) fails, with errno set to EAGAIN."),
    ],
)
@given(size=st.integers(1, 2 * CAPACITY))
@example(size=1)
def test_full_write_is_eagain(new_scenario, size):
    with new_scenario() as sc:
        a = sc.spawn("a")
        r, w = a.call("pipe")
        set_nonblocking(a, w)
        sc.expect(a.do("write", w, b"." * CAPACITY), Value(CAPACITY), "fill the pipe")
        sc.expect(a.do("write", w, b"x" * size), Errno("EAGAIN"), "no room for even one byte")
        sc.expect(a.do("read", r, 2 * CAPACITY), Value(b"." * CAPACITY), "nothing was added")
