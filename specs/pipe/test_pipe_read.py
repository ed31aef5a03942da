"""Reading a pipe: wait for data, take what is there, see EOF only at the end.

A read on a pipe has three possible results: it sleeps (the pipe is empty
and some write end is still open somewhere), it returns the bytes that are
there (as many as asked, or fewer), or it returns 0 bytes — end of file —
once no descriptor in any process refers to the write end. The data itself
is a byte stream: the pipe does not remember where one write ended.
"""

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.clauses import spec
from conformance.outcome import BLOCKED, Value

S07_TEXT = ("`fork()` and `dup()` make no new entry: the new descriptor refers to the existing "
            "entry, whose reference count rises by one.")
S12_TEXT = ("A pipe is one-way: `pipefd[0]` is the read end, `pipefd[1]` the write end; "
            "a read waits for data (synchronous).")
S31_TEXT = ("Summary table: pipe one-way parent/child stream; FIFO one-way stream between any "
            "processes; message queue one-way, memory, structured; shared memory two-way; memory "
            "map two-way, page unit; socket two-way, same or other machine.")
EMPTY_READ = ("pipe(7)", "If a process attempts to read from an empty pipe, then read(2) will "
                         "block until data is available.")

#: non-empty chunks of up to a few hundred bytes: small enough that a few
#: of them always fit in an empty pipe, so no write in these specs blocks
CHUNK = st.binary(min_size=1, max_size=300)


@spec(
    "pipe.read.blocks-when-empty",
    "A read on an empty pipe whose write end is open sleeps until another process writes, "
    "then returns that data.",
    sources=[EMPTY_READ, ("seed S12", S12_TEXT)],
    supports={"S12": "the reader sleeps in read() until the writer's data arrives"},
)
def test_read_waits_for_a_writer(scenario):
    reader = scenario.spawn("reader")
    r, w = reader.call("pipe")
    writer = reader.fork("writer")
    scenario.expect(reader.do("read", r, 100), BLOCKED, "the pipe is empty and a writer exists")
    scenario.expect(writer.do("write", w, b"hello"), Value(5))
    scenario.expect_event(reader, Value(b"hello"), "the write woke the sleeping reader")


@spec(
    "pipe.read.returns-available",
    "A read of n bytes returns at once with the bytes that are in the pipe, up to n; it does "
    "not wait to fill its buffer.",
    sources=[
        ("read(2)", "It is not an error if this number is smaller than the number of bytes "
                    "requested; this may happen for example because fewer bytes are actually "
                    "available right now (maybe because we were close to end-of-file, or because "
                    "we are reading from a pipe, or from a terminal), or because read() was "
                    "interrupted by a signal."),
        EMPTY_READ,
    ],
)
@given(written=CHUNK, extra=st.integers(min_value=-299, max_value=4096))
@example(written=b"hello", extra=95)
def test_read_takes_what_is_there(new_scenario, written, extra):
    # ``extra`` is how much more (or, negative, less) than the content the
    # read asks for; the request is always at least one byte.
    count = max(1, len(written) + extra)
    with new_scenario() as sc:
        a = sc.spawn("a")
        r, w = a.call("pipe")
        a.call("write", w, written)
        # a still holds the write end, so a read that insisted on ``count``
        # bytes would sleep forever instead of returning.
        sc.expect(a.do("read", r, count), Value(written[:count]),
                  f"{len(written)} bytes available, {count} asked for")


@spec(
    "pipe.read.eof-after-last-writer",
    "A read returns end of file (0 bytes) only when every descriptor for the write end, in "
    "every process, is closed: a forked child's copy keeps the pipe open.",
    sources=[
        ("pipe(7)", "If all file descriptors referring to the write end of a pipe have been "
                    "closed, then an attempt to read(2) from the pipe will see end-of-file "
                    "(read(2) will return 0)."),
        ("pipe(7)", "An application that uses pipe(2) and fork(2) should use suitable close(2) "
                    "calls to close unnecessary duplicate file descriptors; this ensures that "
                    "end-of-file and SIGPIPE/EPIPE are delivered when appropriate."),
        ("seed S07", S07_TEXT),
    ],
    supports={"S07": "the child's inherited write end is a second reference to the same open "
                     "file; EOF waits until it too is closed"},
)
def test_eof_waits_for_every_writer(scenario):
    parent = scenario.spawn("parent")
    r, w = parent.call("pipe")
    child = parent.fork("child")
    parent.call("close", w)
    # The parent has no write end any more, but the child's copy refers to
    # the same open file, so the pipe still has a writer: the read sleeps.
    scenario.expect(parent.do("read", r, 100), BLOCKED, "the child still holds a write end")
    child.call("close", r)  # the child's unused read end changes nothing
    scenario.expect(child.do("close", w), Value(0))
    scenario.expect_event(parent, Value(b""), "the last write end closed: end of file")
    scenario.expect(parent.do("read", r, 100), Value(b""), "EOF is returned again, at once")


@spec(
    "pipe.stream.no-boundaries",
    "A pipe is a byte stream: one read can return the data of several writes together, with "
    "nothing marking where each write ended.",
    sources=[
        ("pipe(7)", "The communication channel provided by a pipe is a byte stream: there is no "
                    "concept of message boundaries."),
        ("seed S31", S31_TEXT),
    ],
    supports={"S31": "a pipe's unit of communication is a stream of bytes"},
)
@given(chunks=st.lists(CHUNK, min_size=2, max_size=6))
@example(chunks=[b"ab", b"cd"])
def test_writes_merge_into_one_stream(new_scenario, chunks):
    data = b"".join(chunks)
    with new_scenario() as sc:
        a = sc.spawn("a")
        r, w = a.call("pipe")
        for chunk in chunks:
            sc.expect(a.do("write", w, chunk), Value(len(chunk)))
        sc.expect(a.do("read", r, len(data)), Value(data),
                  f"{len(chunks)} writes come back as one run of {len(data)} bytes")
