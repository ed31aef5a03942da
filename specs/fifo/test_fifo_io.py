"""Reading and writing an open FIFO: the pipe rules, reached by name.

Once open, a FIFO is a pipe: a read sleeps while it is empty and a writer
exists, returns 0 (end of file) once no writer is left, and a write without
readers raises SIGPIPE. The FIFO's data lives only in that pipe, which the
kernel keeps while at least one descriptor is open; the file in the
directory never holds any.

The seed's receiver (S16) opens its FIFO O_RDWR because with O_RDONLY it
"keeps reading garbage". What it saw is end of file: read() returns 0 at
once after the sender closes, leaving the buffer as it was, and the loop
printed that buffer forever. Opening O_RDWR makes the receiver a writer
itself, so end of file never comes and read() sleeps instead.
"""

import os

from conformance.clauses import spec
from conformance.outcome import BLOCKED, Errno, Killed, Value

S16_TEXT = ("A FIFO reader opened `O_RDONLY` \"keeps reading garbage\"; opening it `O_RDWR` makes "
            "`read()` block instead.")
SAME_AS_PIPES = ("pipe(7)", "The only difference between pipes and FIFOs is the manner in which "
                            "they are created and opened.  Once these tasks have been accomplished, "
                            "I/O on pipes and FIFOs has exactly the same semantics.")
EOF_TEXT = ("pipe(7)", "If all file descriptors referring to the write end of a pipe have been "
                       "closed, then an attempt to read(2) from the pipe will see end-of-file "
                       "(read(2) will return 0).")
EMPTY_READ = ("pipe(7)", "If a process attempts to read from an empty pipe, then read(2) will "
                         "block until data is available.")
#: the sender's message in the seed's FIFO example
MESSAGE = b"I am the sender!"


def connect(scenario, reader, writer, path: str = "temp.txt") -> None:
    """Open ``path`` O_RDONLY in ``reader`` and O_WRONLY in ``writer``; both get 3.

    The reader opens first and sleeps until the writer's open, so neither
    needs O_NONBLOCK and both descriptors are plain blocking ones.
    """
    scenario.expect(reader.do("open", path, os.O_RDONLY), BLOCKED, "waiting for a writer")
    scenario.expect(writer.do("open", path, os.O_WRONLY), Value(3))
    scenario.expect_event(reader, Value(3))


@spec(
    "fifo.read.blocks-when-empty",
    "A reader that opened a FIFO O_RDONLY sleeps in read() while the FIFO is empty and a writer "
    "has it open, and wakes with the data the writer sends.",
    sources=[SAME_AS_PIPES, EMPTY_READ, ("seed S16", S16_TEXT)],
    contradicts={"S16": "an O_RDONLY reader does not spin on garbage: with a writer present its "
                        "read() sleeps until data comes"},
)
def test_read_sleeps_on_an_empty_fifo(scenario):
    receiver = scenario.spawn("receiver")
    sender = scenario.spawn("sender")
    receiver.call("mkfifo", "temp.txt", 0o666)
    connect(scenario, receiver, sender)
    scenario.expect(receiver.do("read", 3, 128), BLOCKED, "empty, and the sender is connected")
    scenario.expect(sender.do("write", 3, MESSAGE), Value(len(MESSAGE)))
    scenario.expect_event(receiver, Value(MESSAGE))


@spec(
    "fifo.read.eof-after-writer-closes",
    "After the last writer closes a FIFO, read() returns the data still in it and then 0 bytes "
    "(end of file), at once and on every further call; it returns no stale or invented bytes.",
    sources=[SAME_AS_PIPES, EOF_TEXT, ("seed S16", S16_TEXT)],
    contradicts={"S16": "the O_RDONLY reader does not read garbage: after the sender closes, "
                        "read() returns 0 (end of file) immediately and again on every call; the "
                        "'garbage' is the program's own buffer, printed although nothing was read"},
)
def test_read_sees_eof_after_the_writer_goes(scenario):
    receiver = scenario.spawn("receiver")
    sender = scenario.spawn("sender")
    receiver.call("mkfifo", "temp.txt", 0o666)
    connect(scenario, receiver, sender)
    # The seed's sender: write the message, close, exit.
    scenario.expect(sender.do("write", 3, MESSAGE), Value(len(MESSAGE)))
    sender.call("close", 3)
    scenario.expect(receiver.do("read", 3, 128), Value(MESSAGE), "the data outlives its writer")
    for _ in range(3):
        scenario.expect(receiver.do("read", 3, 128), Value(b""), "end of file, not garbage")


@spec(
    "fifo.read.rdwr-blocks",
    "A reader that opened the FIFO O_RDWR counts as a writer itself, so its read() on an empty "
    "FIFO sleeps even after every other writer has closed: it never sees end of file.",
    sources=[
        SAME_AS_PIPES,
        EOF_TEXT,
        ("fifo(7)", "Under Linux, opening a FIFO for read and write will succeed both in blocking "
                    "and nonblocking mode."),
        ("seed S16", S16_TEXT),
    ],
    qualifies={"S16": "O_RDWR does make read() block, because the reader's own descriptor is a "
                      "write end, so end of file never comes; an O_RDONLY reader blocks too, but "
                      "only while some writer is connected"},
)
def test_rdwr_reader_never_sees_eof(scenario):
    receiver = scenario.spawn("receiver")
    sender = scenario.spawn("sender")
    receiver.call("mkfifo", "temp.txt", 0o666)
    scenario.expect(receiver.do("open", "temp.txt", os.O_RDWR), Value(3), "the seed's receiver")
    scenario.expect(receiver.do("read", 3, 128), BLOCKED, "no one else has written")
    scenario.expect(sender.do("open", "temp.txt", os.O_WRONLY), Value(3), "the receiver reads")
    scenario.expect(sender.do("write", 3, MESSAGE), Value(len(MESSAGE)))
    scenario.expect_event(receiver, Value(MESSAGE))
    sender.call("close", 3)
    scenario.expect(receiver.do("read", 3, 128), BLOCKED,
                    "the sender is gone, but the receiver's own write end keeps the FIFO open")


@spec(
    "fifo.data.discarded-on-last-close",
    "Data left in a FIFO is discarded when the last descriptor for it is closed: the next "
    "process to open the FIFO finds it empty.",
    sources=[
        ("fifo(7)", "The kernel maintains exactly one pipe object for each FIFO special file that "
                    "is opened by at least one process."),
        ("fifo(7)", "When processes are exchanging data via the FIFO, the kernel passes all data "
                    "internally without writing it to the filesystem."),
    ],
)
def test_unread_data_dies_with_the_last_descriptor(scenario):
    first = scenario.spawn("first")
    second = scenario.spawn("second")
    first.call("mkfifo", "fifo", 0o644)
    scenario.expect(first.do("open", "fifo", os.O_RDWR), Value(3))
    scenario.expect(first.do("write", 3, b"left behind"), Value(11))
    first.call("close", 3)  # nobody has the FIFO open now
    scenario.expect(second.do("stat", "fifo"), Value(("p", 0)), "nothing went to the file system")
    scenario.expect(second.do("open", "fifo", os.O_RDWR | os.O_NONBLOCK), Value(3))
    # Empty, with a writer (second itself): EAGAIN, not the old bytes.
    scenario.expect(second.do("read", 3, 100), Errno("EAGAIN"), "a new, empty pipe")


@spec(
    "fifo.write.sigpipe",
    "A write to a FIFO that no process has open for reading any more kills the writer with "
    "SIGPIPE.",
    sources=[
        ("fifo(7)", "When a process tries to write to a FIFO that is not opened for read on the "
                    "other side, the process is sent a SIGPIPE signal."),
        SAME_AS_PIPES,
    ],
)
def test_write_after_reader_left_is_killed(scenario):
    receiver = scenario.spawn("receiver")
    sender = scenario.spawn("sender")
    receiver.call("mkfifo", "temp.txt", 0o666)
    connect(scenario, receiver, sender)
    receiver.call("close", 3)
    scenario.expect(sender.do("write", 3, MESSAGE), Killed("SIGPIPE"), "no reader is left")
