"""Writing a pipe: readers must exist, full pipes make writers wait, and
only writes of at most PIPE_BUF bytes are indivisible.

A write to a pipe nobody can read any more is an error the kernel reports
with a signal (SIGPIPE, fatal by default) and, if the signal is ignored, with
EPIPE. A write that does not fit sleeps until a reader makes room. When
several processes write to one pipe, a write of up to PIPE_BUF bytes lands
as one contiguous piece; a larger one may be cut, and other writers' data
may come between its pieces.
"""

import os
import select
import signal
from fcntl import F_GETFL, F_SETFL

from hypothesis import event, example, given
from hypothesis import strategies as st

from conformance.clauses import spec
from conformance.outcome import BLOCKED, Errno, Killed, Value

PAGE = os.sysconf("SC_PAGE_SIZE")
#: the pipe(7) default: 16 pages
CAPACITY = 16 * PAGE
#: the largest write POSIX promises is atomic (4096 on Linux)
PIPE_BUF = select.PIPE_BUF

S31_TEXT = ("Summary table: pipe one-way parent/child stream; FIFO one-way stream between any "
            "processes; message queue one-way, memory, structured; shared memory two-way; memory "
            "map two-way, page unit; socket two-way, same or other machine.")
NO_READERS = ("pipe(7)", "If all file descriptors referring to the read end of a pipe have been "
                         "closed, then a write(2) will cause a SIGPIPE signal to be generated for "
                         "the calling process.  If the calling process is ignoring this signal, "
                         "then write(2) fails with the error EPIPE.")
ATOMICITY = ("pipe(7)", "POSIX.1 says that writes of less than PIPE_BUF bytes must be atomic: the "
                        "output data is written to the pipe as a contiguous sequence.  Writes of "
                        "more than PIPE_BUF bytes may be nonatomic: the kernel may interleave the "
                        "data with data written by other processes.")


def pattern(n: int, seed: int = 0) -> bytes:
    """n bytes that are not all alike, so a lost or moved byte shows."""
    return bytes((i * 7 + seed) % 251 for i in range(n))


def drain(scenario, reader, fd: int, want: int) -> bytes:
    """Read ``fd`` in pipe-sized gulps until ``want`` bytes have arrived.

    Each read lets blocked writers run (the scenario settles after it); a
    read that does not return data is recorded as a failed expectation,
    since data was still owed.
    """
    got = b""
    while len(got) < want:
        out = reader.do("read", fd, CAPACITY)
        if out.kind != "value" or not out.detail:
            scenario.expect(out, Value(f"<the remaining {want - len(got)} bytes>"),
                            "writers still owe data to the pipe")
        got += out.detail
    return got


@spec(
    "pipe.write.sigpipe",
    "A write to a pipe whose read end is closed everywhere kills the writer with SIGPIPE "
    "(the signal's default action).",
    sources=[NO_READERS],
)
def test_write_without_readers_is_killed(scenario):
    writer = scenario.spawn("writer")  # actors start with SIGPIPE at its default action
    r, w = writer.call("pipe")
    writer.call("close", r)
    scenario.expect(writer.do("write", w, b"nobody listens"), Killed("SIGPIPE"))


@spec(
    "pipe.write.epipe-when-ignored",
    "With SIGPIPE ignored, a write to a pipe without readers fails with EPIPE and the writer "
    "lives on.",
    sources=[
        NO_READERS,
        ("write(2)", "EPIPE  fd is connected to a pipe or socket whose reading end is closed.  "
                     "When this happens the writing process will also receive a SIGPIPE signal.  "
                     "(Thus, the write return value is seen only if the program catches, blocks "
                     "or ignores this signal.)"),
    ],
)
def test_write_without_readers_fails_with_epipe(scenario):
    writer = scenario.spawn("writer")
    writer.call("signal", signal.SIGPIPE, "ignore")
    r, w = writer.call("pipe")
    writer.call("close", r)
    scenario.expect(writer.do("write", w, b"nobody listens"), Errno("EPIPE"))
    scenario.expect(writer.do("write", w, b"again"), Errno("EPIPE"), "the writer is still alive")


@spec(
    "pipe.write.blocks-when-full",
    "A blocking write that does not fit in the room left in the pipe sleeps; as a reader drains "
    "the pipe it completes, returning the full count, with the data intact.",
    sources=[
        ("pipe(7)", "If a process attempts to write to a full pipe (see below), then write(2) "
                    "blocks until sufficient data has been read from the pipe to allow the write "
                    "to complete."),
        ("pipe(7), O_NONBLOCK disabled, n > PIPE_BUF", "The write is nonatomic: "
                    "the data given to write(2) may be interleaved with write(2)s by other "
                    "process; the write(2) blocks until n bytes have been written."),
    ],
)
@given(room=st.integers(0, PAGE - 1), excess=st.integers(1, 2 * CAPACITY))
@example(room=0, excess=1)
@example(room=100, excess=2 * CAPACITY)
def test_write_waits_for_room(new_scenario, room, excess):
    # ``room`` bytes are left free in the last page of an otherwise full
    # pipe; the write is ``excess`` bytes longer than that, so it cannot fit.
    fill = CAPACITY - room
    data = pattern(room + excess, seed=1)
    with new_scenario() as sc:
        writer = sc.spawn("writer")
        r, w = writer.call("pipe")
        reader = writer.fork("reader")
        sc.expect(writer.do("write", w, b"." * fill), Value(fill), "the fill fits exactly")
        sc.expect(writer.do("write", w, data), BLOCKED, f"only {room} bytes of room for {len(data)}")
        got = drain(sc, reader, r, fill + len(data))
        sc.expect_event(writer, Value(len(data)), "the whole count, not a partial one")
        assert got == b"." * fill + data, "the drained stream is not the fill followed by the data"


@spec(
    "pipe.write.atomic-up-to-pipe-buf",
    "Writes of at most PIPE_BUF bytes by several processes never interleave: each arrives as one "
    "contiguous piece, even when the writers sleep on a full pipe and wake together.",
    sources=[
        ATOMICITY,
        ("pipe(7), O_NONBLOCK disabled, n <= PIPE_BUF", "All n bytes are written "
                    "atomically; write(2) may block if there is not room for n bytes to be written "
                    "immediately"),
    ],
)
@given(
    room=st.integers(0, PAGE - 1),
    sizes=st.lists(st.integers(1, PIPE_BUF), min_size=2, max_size=4),
)
# The first writer's write does not fit the 700 free bytes, the second one's
# does. A system that cut the first write up would put part of it into the
# room and the second writer's bytes right after that part.
@example(room=700, sizes=[1000, 150])
@example(room=0, sizes=[PIPE_BUF, PIPE_BUF, 1, 2000])
def test_small_writes_never_interleave(new_scenario, room, sizes):
    fill = CAPACITY - room
    chunks = [bytes([ord("A") + i]) * size for i, size in enumerate(sizes)]
    with new_scenario() as sc:
        owner = sc.spawn("owner")
        r, w = owner.call("pipe")
        sc.expect(owner.do("write", w, b"." * fill), Value(fill))
        writers = [owner.fork(f"w{i}") for i in range(len(sizes))]
        sleepers = []
        for writer, chunk in zip(writers, chunks, strict=True):
            out = writer.do("write", w, chunk)
            # A write that fits completes whole; one that does not sleeps
            # whole. Anything else (a short count) is already a split.
            if out == BLOCKED:
                sleepers.append((writer, chunk))
            else:
                sc.expect(out, Value(len(chunk)), "a write of at most PIPE_BUF bytes is all or nothing")
        # Shown in --hypothesis-show-statistics: how much contention the
        # examples really produced.
        event(f"{len(sleepers)} of {len(sizes)} writers slept on the full pipe")
        got = drain(sc, owner, r, fill + sum(sizes))
        for writer, chunk in sleepers:
            sc.expect_event(writer, Value(len(chunk)), "a woken writer completes its whole write")
        assert got[:fill] == b"." * fill, "the fill came out changed"
        runs = _runs(got[fill:])
        letters = [letter for letter, _n in runs]
        assert sorted(letters) == sorted(chunk[:1] for chunk in chunks), (
            f"writes were split: the stream after the fill is {_show(runs)}"
        )
        assert sorted(runs) == sorted((chunk[:1], len(chunk)) for chunk in chunks), (
            f"a write arrived changed: the stream after the fill is {_show(runs)}"
        )


def _runs(data: bytes) -> list[tuple[bytes, int]]:
    """Maximal runs of one repeated byte, as (byte, length)."""
    runs: list[tuple[bytes, int]] = []
    for value in data:
        byte = bytes([value])
        if runs and runs[-1][0] == byte:
            runs[-1] = (byte, runs[-1][1] + 1)
        else:
            runs.append((byte, 1))
    return runs


def _show(runs: list[tuple[bytes, int]]) -> str:
    return " + ".join(f"{n}x{letter.decode()}" for letter, n in runs)


@spec(
    "pipe.write.large-may-interleave",
    "A write of more than PIPE_BUF bytes is not indivisible: with O_NONBLOCK it can write part of "
    "the data and return that count, and another process's data can then come before the rest.",
    sources=[
        ATOMICITY,
        ("pipe(7), O_NONBLOCK enabled, n > PIPE_BUF", "If the pipe is full, then "
                    "write(2) fails, with errno set to EAGAIN.  Otherwise, from 1 to n bytes may "
                    "be written (i.e., a \"partial write\" may occur; the caller should check the "
                    "return value from write(2) to see how many bytes were actually written), and "
                    "these bytes may be interleaved with writes by other processes."),
        ("seed S31", S31_TEXT),
    ],
    supports={"S31": "even a single write is no unit: the stream may split it"},
)
@given(free_pages=st.integers(1, 15), over=st.integers(1, CAPACITY))
@example(free_pages=2, over=1)
def test_large_write_can_be_partial(new_scenario, free_pages, over):
    free = free_pages * PAGE
    fill = CAPACITY - free  # whole pages, so the free space is whole free pages
    big = bytes([ord("A")]) * min(free + over, CAPACITY)
    other = b"B" * 10
    with new_scenario() as sc:
        owner = sc.spawn("owner")
        r, w = owner.call("pipe")
        flags = owner.call("fcntl", w, F_GETFL)
        owner.call("fcntl", w, F_SETFL, flags | os.O_NONBLOCK)
        sc.expect(owner.do("write", w, b"." * fill), Value(fill))
        first, second = owner.fork("first"), owner.fork("second")
        out = first.do("write", w, big)
        # The documented range, not Linux's exact figure (it fills the free pages).
        if not (out.kind == "value" and 0 < out.detail < len(big)):
            sc.expect(out, Value(f"<a partial count, 1..{len(big) - 1}>"),
                      f"{len(big)} bytes offered, {free} bytes free")
        written = out.detail
        got = drain(sc, owner, r, fill + written)
        # The first writer must come back for the rest; meanwhile the other
        # writer gets in, and the reader sees its bytes inside the big write.
        sc.expect(second.do("write", w, other), Value(len(other)))
        got += drain(sc, owner, r, len(other))
        sc.expect(first.do("write", w, big[written:]), Value(len(big) - written))
        got += drain(sc, owner, r, len(big) - written)
        assert got == b"." * fill + big[:written] + other + big[written:]
