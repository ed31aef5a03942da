"""A FIFO between processes: found by name, one-way, a stream of bytes.

Any process that can open the FIFO's path can take part — no common
ancestor is needed, and the other side may even be a shell redirection.
What flows is a byte stream from the FIFO's writers to its readers: a
reader's descriptor cannot send anything back.

Every actor here is spawned on its own (no fork), so the two sides share
nothing but the scenario directory the FIFO is made in.
"""

import os

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.clauses import spec
from conformance.outcome import BLOCKED, Errno, Value

S15_TEXT = ("A FIFO is a special file (type `p` in `ls -l`) that unrelated processes open by "
            "name; an unnamed pipe has no file-system entry.")
S18_TEXT = "`echo \"hello\" > fifo` pushes data into the FIFO for its reader."
S31_TEXT = ("Summary table: pipe one-way parent/child stream; FIFO one-way stream between any "
            "processes; message queue one-way, memory, structured; shared memory two-way; memory "
            "map two-way, page unit; socket two-way, same or other machine.")
ANY_PROCESS = ("pipe(7)", "Any process may open a FIFO, assuming the file permissions allow it.  "
                          "The read end is opened using the O_RDONLY flag; the write end is opened "
                          "using the O_WRONLY flag.")


@spec(
    "fifo.unrelated-processes",
    "Two unrelated processes — neither forked from the other, sharing no descriptor — "
    "communicate through a FIFO by opening it by name.",
    sources=[
        ANY_PROCESS,
        ("mkfifo(3)", "Once you have created a FIFO special file in this way, any process can open "
                      "it for reading or writing, in the same way as an ordinary file."),
        ("seed S15", S15_TEXT),
    ],
    supports={"S15": "separately started processes meet at the FIFO's name"},
)
def test_strangers_talk_through_a_fifo(scenario):
    receiver = scenario.spawn("receiver")  # the seed's two programs, started apart
    sender = scenario.spawn("sender")
    receiver.call("mkfifo", "temp.txt", 0o666)
    scenario.expect(receiver.do("open", "temp.txt", os.O_RDONLY), BLOCKED)
    scenario.expect(sender.do("open", "temp.txt", os.O_WRONLY), Value(3), "found by name")
    scenario.expect_event(receiver, Value(3))
    scenario.expect(sender.do("write", 3, b"I am the sender!"), Value(16))
    scenario.expect(receiver.do("read", 3, 128), Value(b"I am the sender!"))


@spec(
    "fifo.shell.echo-writer",
    "A shell's `echo hello > fifo` opens the FIFO for writing like any program, so a waiting "
    "reader receives b'hello\\n' and then end of file.",
    sources=[ANY_PROCESS, ("seed S18", S18_TEXT)],
    requires=("processes", "command:sh"),
    supports={"S18": "the redirection writes into the FIFO and the reader gets the line"},
)
def test_shell_redirection_feeds_the_reader(scenario):
    reader = scenario.spawn("reader")
    shell = scenario.spawn("shell")
    reader.call("mkfifo", "temp.txt", 0o666)
    # The reader must already be waiting: the shell's open for writing would
    # otherwise sleep until a reader came, and the shell step only returns
    # once the shell has exited.
    scenario.expect(reader.do("open", "temp.txt", os.O_RDONLY), BLOCKED)
    scenario.expect(shell.do("shell", 'echo "hello" > temp.txt'), Value((0, "")))
    scenario.expect_event(reader, Value(3), "the shell's open let the reader's complete")
    scenario.expect(reader.do("read", 3, 128), Value(b"hello\n"))
    scenario.expect(reader.do("read", 3, 128), Value(b""), "the shell closed its end on exit")


@spec(
    "fifo.stream.no-boundaries",
    "A FIFO carries a byte stream: one read can return the data of several writes together, "
    "with nothing marking where each write ended.",
    sources=[
        ("pipe(7)", "The communication channel provided by a pipe is a byte stream: there is no "
                    "concept of message boundaries."),
        ("pipe(7)", "The only difference between pipes and FIFOs is the manner in which they are "
                    "created and opened.  Once these tasks have been accomplished, I/O on pipes "
                    "and FIFOs has exactly the same semantics."),
        ("seed S31", S31_TEXT),
    ],
    supports={"S31": "a FIFO's unit of communication is a stream of bytes"},
)
@given(chunks=st.lists(st.binary(min_size=1, max_size=300), min_size=2, max_size=6))
@example(chunks=[b"ab", b"cd"])
def test_fifo_writes_merge(new_scenario, chunks):
    data = b"".join(chunks)
    with new_scenario() as sc:
        reader = sc.spawn("reader")
        writer = sc.spawn("writer")
        reader.call("mkfifo", "fifo", 0o644)
        # O_NONBLOCK lets the reader open first without a writer; its one
        # read below happens after all the writes, so it never needs to wait.
        sc.expect(reader.do("open", "fifo", os.O_RDONLY | os.O_NONBLOCK), Value(3))
        sc.expect(writer.do("open", "fifo", os.O_WRONLY), Value(3))
        for chunk in chunks:
            sc.expect(writer.do("write", 3, chunk), Value(len(chunk)))
        sc.expect(reader.do("read", 3, len(data)), Value(data),
                  f"{len(chunks)} writes come back as one run of {len(data)} bytes")


@spec(
    "fifo.direction.one-way",
    "A FIFO opened O_RDONLY can only be read and one opened O_WRONLY only written: data flows "
    "from writers to readers, and a reply needs a second FIFO.",
    sources=[
        ANY_PROCESS,
        ("pipe(7)", "Pipes and FIFOs (also known as named pipes) provide a unidirectional "
                    "interprocess communication channel."),
        ("seed S31", S31_TEXT),
    ],
    supports={"S31": "a FIFO is one-way: the reader's descriptor cannot answer"},
)
def test_fifo_ends_are_one_way(scenario):
    reader = scenario.spawn("reader")
    writer = scenario.spawn("writer")
    reader.call("mkfifo", "fifo", 0o644)
    scenario.expect(reader.do("open", "fifo", os.O_RDONLY | os.O_NONBLOCK), Value(3))
    scenario.expect(writer.do("open", "fifo", os.O_WRONLY), Value(3))
    scenario.expect(writer.do("write", 3, b"question"), Value(8))
    scenario.expect(reader.do("read", 3, 100), Value(b"question"))
    scenario.expect(reader.do("write", 3, b"answer"), Errno("EBADF"), "the read side cannot reply")
    scenario.expect(writer.do("read", 3, 100), Errno("EBADF"), "the write side cannot listen")
