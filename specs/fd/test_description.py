"""Open file descriptions: how many there are, who holds them, how long they live.

The seed pictures an "open file table" in the kernel with one entry per
open(), each holding an offset, status flags, a reference count and the
inode. Linux has such objects — POSIX calls them *open file descriptions*,
the kernel ``struct file`` — but no table a program can list. What a program
can observe is:

* identity: ``kcmp(pid1, pid2, KCMP_FILE, fd1, fd2)`` says whether two
  descriptors, in the same or in different processes, refer to one
  description;
* sharing: descriptors on one description move one offset and see one set
  of status flags;
* lifetime: a description lasts while any descriptor in any process refers
  to it (the reference count shows only through this).
"""

import os

from hypothesis import given
from hypothesis import strategies as st

from conformance.backends.ops import ActorRef
from conformance.clauses import covers, spec
from conformance.outcome import Exited, Value

O_RDWR_CREAT = os.O_RDWR | os.O_CREAT
OPEN_NEW = (
    "open(2)",
    "Each open() of a file creates a new open file description; thus, there may be multiple "
    "open file descriptions corresponding to a file inode.",
)
KCMP_FILE = (
    "kcmp(2)",
    "Check whether a file descriptor idx1 in the process pid1 refers to the same open file "
    "description (see open(2)) as file descriptor idx2 in the process pid2.",
)
SEED_S06 = (
    "seed S06",
    "Opening the same file three times (in one process or in different ones) makes three "
    "separate entries, each with reference count 1.",
)


@spec(
    "fd.open.separate-descriptions",
    "Three open() calls of one file in one process make three open file descriptions: "
    "kcmp tells them apart and each has its own offset.",
    sources=[OPEN_NEW, KCMP_FILE, SEED_S06],
    requires=("feature:kcmp",),
    supports={"S06": "three descriptions, each with its own offset (a reference count of 1 "
                     "is not observable, only that closing one leaves the others)"},
)
def test_three_opens_three_descriptions(scenario):
    a = scenario.spawn("a")
    # The seed's example: fd1, fd2, fd3 = open("fileA.txt", O_RDONLY) three times
    # (the first also creates and writes it, so that offsets can differ).
    fd1 = a.call("open", "fileA.txt", O_RDWR_CREAT, 0o644)
    fd2 = a.call("open", "fileA.txt", os.O_RDONLY)
    fd3 = a.call("open", "fileA.txt", os.O_RDONLY)
    me = ActorRef("a")
    for x, y in ((fd1, fd2), (fd1, fd3), (fd2, fd3)):
        scenario.expect(a.do("kcmp_file", me, x, y), Value(False), f"descriptors {x} and {y}")
    a.call("write", fd1, b"abc")
    scenario.expect(a.do("lseek", fd2, 0, os.SEEK_CUR), Value(0), "fd1's write moved only fd1")
    scenario.expect(a.do("read", fd2, 10), Value(b"abc"), "one file: fd2 reads what fd1 wrote")
    scenario.expect(a.do("lseek", fd3, 0, os.SEEK_CUR), Value(0), "fd2's read moved only fd2")


@covers("fd.open.separate-descriptions")
@given(data=st.data())
def test_separate_opens_keep_separate_offsets(new_scenario, offset_programs, data):
    """Two open() calls of one file: the file's bytes are shared, the offsets are not."""
    program = data.draw(offset_programs.steps, label="program")
    with new_scenario() as sc:
        a = sc.spawn("a")
        first = a.call("open", "f", O_RDWR_CREAT, 0o644)
        second = a.call("open", "f", os.O_RDWR)
        offset_programs.run(sc, [(a, first), (a, second)], shared=False, program=program)


@spec(
    "fd.open.separate-across-processes",
    "Two processes that each open() one file hold two open file descriptions: kcmp tells "
    "them apart and each has its own offset.",
    sources=[OPEN_NEW, KCMP_FILE, SEED_S06],
    requires=("feature:kcmp",),
    supports={"S06": "an open() in another process is another description, with its own offset"},
)
def test_opens_in_two_processes_are_separate(scenario):
    c = scenario.spawn("c")
    d = scenario.spawn("d")
    cfd = c.call("open", "fileA.txt", O_RDWR_CREAT, 0o644)
    dfd = d.call("open", "fileA.txt", os.O_RDWR)
    scenario.expect(d.do("kcmp_file", ActorRef("c"), dfd, cfd), Value(False))
    c.call("write", cfd, b"hello")
    scenario.expect(d.do("lseek", dfd, 0, os.SEEK_CUR), Value(0), "c's write moved only c's offset")
    scenario.expect(d.do("read", dfd, 10), Value(b"hello"), "but it is one file")


@spec(
    "fd.description.lives-until-last-close",
    "An open file description lives until the last descriptor referring to it is closed: "
    "closing the original leaves its dup() (or a fork child's copy) usable at the shared offset.",
    sources=[
        ("close(2)", "If fd is the last file descriptor referring to the underlying open file "
                     "description (see open(2)), the resources associated with the open file "
                     "description are freed; if the file descriptor was the last reference to a "
                     "file which has been removed using unlink(2), the file is deleted."),
        ("seed S07", "fork() and dup() make no new entry: the new descriptor refers to the "
                     "existing entry, whose reference count rises by one."),
    ],
    supports={"S07": "the reference count shows in the description's lifetime: closing one of "
                     "two references leaves the description, and its offset, to the other"},
)
def test_description_outlives_the_original_descriptor(scenario):
    a = scenario.spawn("a")
    fd = a.call("open", "f", O_RDWR_CREAT, 0o644)
    a.call("write", fd, b"abc")
    copy = a.call("dup", fd)
    scenario.expect(a.do("close", fd), Value(0))
    scenario.expect(a.do("write", copy, b"def"), Value(3), "the description is still open")
    scenario.expect(a.do("lseek", copy, 0, os.SEEK_CUR), Value(6), "at the shared offset, after abc")
    a.call("lseek", copy, 0, os.SEEK_SET)
    scenario.expect(a.do("read", copy, 10), Value(b"abcdef"))


@covers("fd.description.lives-until-last-close")
def test_description_outlives_the_parents_close(scenario):
    """The parent closes (and exits); the fork child still writes at the shared offset."""
    parent = scenario.spawn("parent")
    fd = parent.call("open", "f", O_RDWR_CREAT, 0o644)
    parent.call("write", fd, b"abc")
    child = parent.fork("child")
    scenario.expect(parent.do("close", fd), Value(0))
    scenario.expect(parent.do("exit", 0), Exited(0))
    scenario.expect(child.do("write", fd, b"def"), Value(3))
    scenario.expect(child.do("lseek", fd, 0, os.SEEK_CUR), Value(6))
    child.call("lseek", fd, 0, os.SEEK_SET)
    scenario.expect(child.do("read", fd, 10), Value(b"abcdef"))


@spec(
    "fd.description.kernel-wide",
    "An open file description is a kernel object no process owns: passed over a UNIX socket "
    "to an unrelated process, it is the same description there (kcmp, offset), and it "
    "outlives the process that opened it.",
    sources=[
        ("open(2)", "A call to open() creates a new open file description, an entry in the "
                    "system-wide table of open files.  The open file description records the "
                    "file offset and the file status flags (see below)."),
        ("kcmp(2)", "The existence of two file descriptors that refer to the same open file "
                    "description can occur as a result of dup(2) (and similar) fork(2), or "
                    "passing file descriptors via a domain socket (see unix(7))."),
        ("seed S05", "The kernel keeps one open file table shared by all processes; each entry "
                     "holds the offset, status flags, a reference count and the inode."),
    ],
    requires=("feature:kcmp",),
    qualifies={"S05": "descriptions are kernel-wide objects holding the offset and status flags, "
                      "reachable from any process that gets a descriptor for one; but the "
                      "\"table\" is not visible: no call lists it, kcmp only compares two "
                      "descriptors, and the reference count shows only as the description's "
                      "lifetime"},
)
def test_description_is_not_owned_by_a_process(scenario):
    # Two root actors: separate process trees that share no ancestor and no
    # descriptor, only the scenario directory, where they meet on a socket.
    opener = scenario.spawn("opener")
    stranger = scenario.spawn("stranger")
    inbox = stranger.call("unix_bind", "inbox")
    fd = opener.call("open", "f", O_RDWR_CREAT, 0o644)
    opener.call("write", fd, b"abc")
    opener.call("sendfd", opener.call("unix_connect", "inbox"), fd)
    got = stranger.call("recvfd", inbox)
    scenario.expect(stranger.do("kcmp_file", ActorRef("opener"), got, fd), Value(True),
                    "the stranger's received descriptor and the opener's are one description")
    scenario.expect(stranger.do("lseek", got, 0, os.SEEK_CUR), Value(3), "with the opener's offset")
    opener.call("close", fd)
    scenario.expect(opener.do("exit", 0), Exited(0))
    scenario.expect(stranger.do("write", got, b"def"), Value(3),
                    "the opener is gone; the description is not")
    stranger.call("lseek", got, 0, os.SEEK_SET)
    scenario.expect(stranger.do("read", got, 10), Value(b"abcdef"))


@spec(
    "fd.proc-fd.new-description",
    "Opening /proc/PID/fd/N of a regular file makes a new open file description with its own "
    "offset, unlike dup() (on systems where /dev/fd/N is a dup, it would share it).",
    sources=[
        ("proc(5)", "This is a subdirectory containing one entry for each file which the process "
                    "has open, named by its file descriptor, and which is a symbolic link to the "
                    "actual file."),
        ("proc(5)", "/proc/self/fd/N is approximately the same as /dev/fd/N in some UNIX and "
                    "UNIX-like systems."),
        OPEN_NEW,
    ],
    requires=("processes",),
    supports={"S06": "every open() makes a new description, even one that reaches the file "
                     "through another descriptor's /proc link"},
)
def test_proc_fd_open_is_a_new_description(scenario):
    a = scenario.spawn("a")
    fd = a.call("open", "f", O_RDWR_CREAT, 0o644)
    a.call("write", fd, b"hello")
    again = a.call("open_proc_fd", ActorRef("a"), fd, os.O_RDWR)
    scenario.expect(a.do("lseek", again, 0, os.SEEK_CUR), Value(0),
                    "a new description starts at offset 0, not at fd's 5")
    scenario.expect(a.do("read", again, 10), Value(b"hello"), "the same file")
    scenario.expect(a.do("lseek", fd, 0, os.SEEK_CUR), Value(5), "reading it did not move fd")
