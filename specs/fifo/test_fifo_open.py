"""Opening a FIFO: each side waits for the other, unless told not to.

A FIFO passes data only while it is open at both ends, so ``open()`` for
reading sleeps until some process opens it for writing, and the other way
round. With O_NONBLOCK a reader goes ahead alone, while a writer without a
reader is refused with ENXIO. Linux also lets one process open a FIFO for
reading and writing at once, which never waits (POSIX leaves it undefined).

In these specs every actor is spawned on its own, so a descriptor number is
predictable: a fresh actor's first open returns 3.
"""

import os

from conformance.clauses import spec
from conformance.outcome import BLOCKED, Errno, Value

BOTH_ENDS = ("fifo(7)", "The FIFO must be opened on both ends (reading and writing) before data "
                        "can be passed.  Normally, opening the FIFO blocks until the other end is "
                        "opened also.")
NONBLOCKING = ("fifo(7)", "A process can open a FIFO in nonblocking mode.  In this case, opening "
                          "for read-only succeeds even if no one has opened on the write side yet "
                          "and opening for write-only fails with ENXIO (no such device or address) "
                          "unless the other end has already been opened.")
MKFIFO_OPEN = ("mkfifo(3)", "Opening a FIFO for reading normally blocks until some other process "
                            "opens the same FIFO for writing, and vice versa.")


@spec(
    "fifo.open.rdonly-blocks-until-writer",
    "open(O_RDONLY) on a FIFO that no process has open for writing sleeps until another process "
    "opens it for writing; then both opens succeed.",
    sources=[BOTH_ENDS, MKFIFO_OPEN],
)
def test_reader_open_waits_for_a_writer(scenario):
    reader = scenario.spawn("reader")
    writer = scenario.spawn("writer")
    reader.call("mkfifo", "fifo", 0o644)
    scenario.expect(reader.do("open", "fifo", os.O_RDONLY), BLOCKED, "no writer yet")
    scenario.expect(writer.do("open", "fifo", os.O_WRONLY), Value(3), "a reader is waiting")
    scenario.expect_event(reader, Value(3), "the writer's open completed the reader's")


@spec(
    "fifo.open.wronly-blocks-until-reader",
    "open(O_WRONLY) on a FIFO that no process has open for reading sleeps until another process "
    "opens it for reading; then both opens succeed.",
    sources=[BOTH_ENDS, MKFIFO_OPEN],
)
def test_writer_open_waits_for_a_reader(scenario):
    writer = scenario.spawn("writer")
    reader = scenario.spawn("reader")
    writer.call("mkfifo", "fifo", 0o644)
    scenario.expect(writer.do("open", "fifo", os.O_WRONLY), BLOCKED, "no reader yet")
    scenario.expect(reader.do("open", "fifo", os.O_RDONLY), Value(3), "a writer is waiting")
    scenario.expect_event(writer, Value(3), "the reader's open completed the writer's")


@spec(
    "fifo.open.nonblock-rdonly-succeeds",
    "open(O_RDONLY | O_NONBLOCK) on a FIFO succeeds at once even though no process has it open "
    "for writing.",
    sources=[NONBLOCKING],
)
def test_nonblocking_reader_opens_alone(scenario):
    reader = scenario.spawn("reader")
    reader.call("mkfifo", "fifo", 0o644)
    scenario.expect(reader.do("open", "fifo", os.O_RDONLY | os.O_NONBLOCK), Value(3),
                    "no writer needed")


@spec(
    "fifo.open.nonblock-wronly-enxio",
    "open(O_WRONLY | O_NONBLOCK) on a FIFO fails with ENXIO while no process has it open for "
    "reading, and succeeds once one has.",
    sources=[
        NONBLOCKING,
        ("open(2)", "ENXIO  O_NONBLOCK | O_WRONLY is set, the named file is a FIFO, and no "
                    "process has the FIFO open for reading."),
    ],
)
def test_nonblocking_writer_needs_a_reader(scenario):
    writer = scenario.spawn("writer")
    reader = scenario.spawn("reader")
    writer.call("mkfifo", "fifo", 0o644)
    flags = os.O_WRONLY | os.O_NONBLOCK
    scenario.expect(writer.do("open", "fifo", flags), Errno("ENXIO"), "nobody reads the FIFO")
    reader.call("open", "fifo", os.O_RDONLY | os.O_NONBLOCK)
    scenario.expect(writer.do("open", "fifo", flags), Value(3), "now a reader has it open")


@spec(
    "fifo.open.rdwr-does-not-block",
    "On Linux, open(O_RDWR) on a FIFO succeeds at once, blocking or not, with no other process "
    "involved; the descriptor is both a reader and a writer of the FIFO.",
    sources=[
        ("fifo(7)", "Under Linux, opening a FIFO for read and write will succeed both in blocking "
                    "and nonblocking mode.  POSIX leaves this behavior undefined.  This can be used "
                    "to open a FIFO for writing while there are no readers available."),
    ],
)
def test_read_write_open_never_waits(scenario):
    a = scenario.spawn("a")
    a.call("mkfifo", "fifo", 0o644)
    scenario.expect(a.do("open", "fifo", os.O_RDWR), Value(3), "alone, and blocking")
    scenario.expect(a.do("open", "fifo", os.O_RDWR | os.O_NONBLOCK), Value(4), "alone, non-blocking")
    # Being its own reader, the process can write without SIGPIPE and read it back.
    scenario.expect(a.do("write", 3, b"to myself"), Value(9))
    scenario.expect(a.do("read", 4, 100), Value(b"to myself"), "one pipe behind both descriptors")
