"""What a pipe is: two descriptors, a read end and a write end, and no name.

``pipe()`` hands back ``(pipefd[0], pipefd[1])``. The first can only be read,
the second only written; neither can seek, and the pipe they share lives in
no directory: it is reachable only through descriptors.
"""

import os

from conformance.clauses import spec
from conformance.outcome import Errno, Value

S12_TEXT = ("A pipe is one-way: `pipefd[0]` is the read end, `pipefd[1]` the write end; "
            "a read waits for data (synchronous).")
S15_TEXT = ("A FIFO is a special file (type `p` in `ls -l`) that unrelated processes open by "
            "name; an unnamed pipe has no file-system entry.")
S31_TEXT = ("Summary table: pipe one-way parent/child stream; FIFO one-way stream between any "
            "processes; message queue one-way, memory, structured; shared memory two-way; memory "
            "map two-way, page unit; socket two-way, same or other machine.")


@spec(
    "pipe.direction.ends",
    "pipefd[0] is open only for reading and pipefd[1] only for writing: using either end the "
    "other way fails with EBADF.",
    sources=[
        ("pipe(2)", "pipefd[0] refers to the read end of the pipe.  pipefd[1] refers to the write "
                    "end of the pipe."),
        ("write(2)", "EBADF  fd is not a valid file descriptor or is not open for writing."),
        ("read(2)", "EBADF  fd is not a valid file descriptor or is not open for reading."),
        ("pipe(7)", "On some systems (but not Linux), pipes are bidirectional: data can be "
                    "transmitted in both directions between the pipe ends."),
        ("seed S12", S12_TEXT),
        ("seed S31", S31_TEXT),
    ],
    supports={
        "L01": "pipes are an IPC mechanism of Linux: data written at one end is read at the other",
        "S12": "fd[0] reads and fd[1] writes; the other way round is EBADF",
        "S31": "a pipe is one-way: data goes in at fd[1] and out at fd[0] only",
    },
)
def test_each_end_works_one_way(scenario):
    a = scenario.spawn("a")
    r, w = a.call("pipe")
    # The wrong way first, on an empty pipe: a bidirectional pipe would
    # accept the write (and a read on the write end would then have data).
    scenario.expect(a.do("write", r, b"x"), Errno("EBADF"), "pipefd[0] is not open for writing")
    scenario.expect(a.do("read", w, 1), Errno("EBADF"), "pipefd[1] is not open for reading")
    # The right way still works, so the EBADFs are about direction, not a dead pipe.
    scenario.expect(a.do("write", w, b"x"), Value(1))
    scenario.expect(a.do("read", r, 1), Value(b"x"))


@spec(
    "pipe.lseek.espipe",
    "lseek() on either end of a pipe fails with ESPIPE: a pipe has no file offset.",
    sources=[
        ("pipe(7)", "It is not possible to apply lseek(2) to a pipe."),
        ("lseek(2)", "ESPIPE fd is associated with a pipe, socket, or FIFO."),
    ],
)
def test_pipe_cannot_seek(scenario):
    a = scenario.spawn("a")
    r, w = a.call("pipe")
    # With data in the pipe, a "seek back to 0 and re-read" (S01's file
    # idiom) is exactly what a stream cannot offer.
    a.call("write", w, b"stream")
    for fd, whence in ((r, os.SEEK_SET), (r, os.SEEK_CUR), (w, os.SEEK_END)):
        scenario.expect(a.do("lseek", fd, 0, whence), Errno("ESPIPE"))
    scenario.expect(a.do("read", r, 100), Value(b"stream"), "the failed seeks moved nothing")


@spec(
    "pipe.unnamed.no-path",
    "A pipe is a FIFO-type object with no name in any directory: fstat() reports type 'p', "
    "nothing appears in the working directory, and /proc shows it as 'pipe:[inode]', not a path.",
    sources=[
        ("pipe(7)", "A FIFO (short for First In First Out) has a name within the filesystem "
                    "(created using mkfifo(3)), and is opened using open(2)."),
        ("proc(5)", "For file descriptors for pipes and sockets, the entries will be symbolic "
                    "links whose content is the file type with the inode."),
        ("seed S15", S15_TEXT),
    ],
    requires=("processes", "command:sh"),
    supports={"S15": "an unnamed pipe is type p but has no file-system entry"},
)
def test_pipe_has_no_name(scenario):
    a = scenario.spawn("a")
    r, w = a.call("pipe")
    scenario.expect(a.do("fstat", r), Value(("p", 0)), "a pipe end is a FIFO-type file")
    scenario.expect(a.do("fstat", w), Value(("p", 0)))
    # The actor's working directory is the scenario's private, empty
    # directory: if making the pipe had created an entry, it would be here.
    scenario.expect(a.do("shell", "ls -A"), Value((0, "")), "pipe() created no directory entry")
    # The shell's parent is the actor, whose descriptor table /proc shows.
    # The link names the pipe inside the kernel ("pipe:[12345]"); digits are
    # dropped so the outcome does not depend on the inode number.
    scenario.expect(
        a.do("shell", f"readlink /proc/$PPID/fd/{r} | tr -d 0-9"),
        Value((0, "pipe:[]\n")),
        "the descriptor's target is the pipefs name, not a path",
    )
