"""dup, dup2 and dup3: a new number for an existing open file description.

Two things are easy to confuse here, and the seed text does: the *descriptor*
(a number in one process's table, with one flag of its own, FD_CLOEXEC) and
the *open file description* it refers to (the kernel object that holds the
offset and the status flags such as O_APPEND and O_NONBLOCK). ``dup`` makes a
new descriptor — a different number — for the same description.
"""

import fcntl
import os

from hypothesis import given
from hypothesis import strategies as st

from conformance.backends.ops import ActorRef
from conformance.clauses import covers, spec
from conformance.outcome import Errno, Value

O_RDWR_CREAT = os.O_RDWR | os.O_CREAT
DUP_2 = (
    "dup(2)",
    "The dup() system call allocates a new file descriptor that refers to the same open file "
    "description as the descriptor oldfd.",
)
DUP_SHARES = (
    "dup(2)",
    "After a successful return, the old and new file descriptors may be used interchangeably.  "
    "Since the two file descriptors refer to the same open file description, they share file "
    "offset and file status flags; for example, if the file offset is modified by using "
    "lseek(2) on one of the file descriptors, the offset is also changed for the other file "
    "descriptor.",
)
SEED_S07 = (
    "seed S07",
    "fork() and dup() make no new entry: the new descriptor refers to the existing entry, "
    "whose reference count rises by one.",
)


@spec(
    "fd.dup.shared-description",
    "dup() returns a descriptor on the same open file description: kcmp(KCMP_FILE) reports "
    "the two as one, where two open() calls of the same file are two.",
    sources=[
        DUP_2,
        ("kcmp(2)", "Check whether a file descriptor idx1 in the process pid1 refers to the same "
                    "open file description (see open(2)) as file descriptor idx2 in the process "
                    "pid2."),
        SEED_S07,
    ],
    requires=("feature:kcmp",),
    supports={"S07": "dup() makes no new description: kcmp reports the copy and the original "
                     "as the same one (the reference count itself is not observable)"},
)
def test_dup_refers_to_the_same_description(scenario):
    a = scenario.spawn("a")
    fd = a.call("open", "fileA.txt", O_RDWR_CREAT, 0o644)
    other = a.call("open", "fileA.txt", os.O_RDONLY)
    copy = a.call("dup", fd)
    scenario.expect(a.do("kcmp_file", ActorRef("a"), fd, copy), Value(True),
                    "dup's copy and its original")
    scenario.expect(a.do("kcmp_file", ActorRef("a"), fd, other), Value(False),
                    "a second open() of the same file, for contrast")


@spec(
    "fd.dup.shared-offset",
    "A descriptor and its dup() share one file offset: a write or lseek through either moves "
    "it for both.",
    sources=[DUP_SHARES, SEED_S07],
    supports={"S07": "the offset lives in the one shared description: moving it through one "
                     "descriptor moves it for the other"},
)
def test_dup_shares_the_offset(scenario):
    a = scenario.spawn("a")
    fd = a.call("open", "f", O_RDWR_CREAT, 0o644)
    copy = a.call("dup", fd)
    a.call("write", fd, b"hello")
    scenario.expect(a.do("lseek", copy, 0, os.SEEK_CUR), Value(5), "the write through fd moved it")
    a.call("write", copy, b" world")
    scenario.expect(a.do("lseek", fd, 0, os.SEEK_CUR), Value(11), "the write through the copy")
    scenario.expect(a.do("lseek", copy, 0, os.SEEK_SET), Value(0))
    scenario.expect(a.do("read", fd, 20), Value(b"hello world"),
                    "fd reads from where the copy's lseek put the shared offset")


@covers("fd.dup.shared-offset")
@given(data=st.data())
def test_dup_shares_the_offset_under_any_program(new_scenario, offset_programs, data):
    """A descriptor and its dup() act as one offset, whatever is done through which."""
    program = data.draw(offset_programs.steps, label="program")
    with new_scenario() as sc:
        a = sc.spawn("a")
        fd = a.call("open", "f", O_RDWR_CREAT, 0o644)
        copy = a.call("dup", fd)
        offset_programs.run(sc, [(a, fd), (a, copy)], shared=True, program=program)


@spec(
    "fd.dup.number-differs",
    "dup() returns a different number from the descriptor it copies: the lowest free one.",
    sources=[
        ("dup(2)", "The new file descriptor number is guaranteed to be the lowest-numbered file "
                   "descriptor that was unused in the calling process."),
        ("seed S08", "After fd2 = dup(fd1), \"fd1 and fd2 have the same value\"."),
        ("seed 000 §2.1.1", "//fd1과 fd2 값은 같음"),
    ],
    contradicts={"S08": "fd2 is a different number (the lowest free one, 4 after fd1 = 3); what "
                        "the two share is the open file description, not the value"},
)
def test_dup_returns_a_new_number(scenario):
    a = scenario.spawn("a")
    # The seed's example: fd1 = open("fileA.txt", O_RDONLY); fd2 = dup(fd1).
    a.call("open", "fileA.txt", os.O_RDONLY | os.O_CREAT, 0o644)
    scenario.expect(a.do("dup", 3), Value(4), "fd1 is 3; fd2 is the lowest free number")
    a.call("close", 0)
    scenario.expect(a.do("dup", 3), Value(0), "with 0 free, the copy of 3 is 0")
    scenario.expect(a.do("fd_list"), Value((0, 1, 2, 3, 4)), "three distinct descriptors of one file")


@spec(
    "fd.dup.shared-status-flags",
    "File status flags belong to the description: O_APPEND or O_NONBLOCK set with F_SETFL "
    "through one descriptor is in force through its dup() too.",
    sources=[
        DUP_SHARES,
        ("fcntl(2)", "Each open file description has certain associated status flags, "
                     "initialized by open(2) and possibly modified by fcntl().  Duplicated file "
                     "descriptors (made with dup(2), fcntl(F_DUPFD), fork(2), etc.) refer to the "
                     "same open file description, and thus share the same file status flags."),
        ("open(2)", "Before each write(2), the file offset is positioned at the end of the file, "
                    "as if with lseek(2)."),
    ],
    supports={"S05": "the status flags are kept with the shared description, not per descriptor"},
)
def test_dup_shares_append(scenario):
    a = scenario.spawn("a")
    fd = a.call("open", "f", O_RDWR_CREAT, 0o644)
    a.call("write", fd, b"0123456789")
    copy = a.call("dup", fd)
    flags = a.call("fcntl", fd, fcntl.F_GETFL)
    a.call("fcntl", fd, fcntl.F_SETFL, flags | os.O_APPEND)
    appending = a.call("fcntl", fd, fcntl.F_GETFL)
    scenario.expect(a.do("fcntl", copy, fcntl.F_GETFL), Value(appending),
                    "F_GETFL through the copy shows the O_APPEND set through fd")
    a.call("lseek", copy, 0, os.SEEK_SET)
    a.call("write", copy, b"X")
    scenario.expect(a.do("lseek", copy, 0, os.SEEK_CUR), Value(11),
                    "a write through the copy went to the end, not to offset 0")
    a.call("lseek", fd, 0, os.SEEK_SET)
    scenario.expect(a.do("read", fd, 20), Value(b"0123456789X"))


@covers("fd.dup.shared-status-flags")
def test_dup_shares_nonblock(scenario):
    """O_NONBLOCK set through a pipe's read end makes a read through its dup fail with EAGAIN.

    Without the flag that read would sleep (the pipe is empty and its write
    end is open); EAGAIN is the shared flag's visible effect.
    """
    a = scenario.spawn("a")
    rfd, _wfd = a.call("pipe")
    copy = a.call("dup", rfd)
    flags = a.call("fcntl", rfd, fcntl.F_GETFL)
    a.call("fcntl", rfd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    scenario.expect(a.do("read", copy, 1), Errno("EAGAIN"),
                    "O_NONBLOCK set through rfd is in force through its dup")


@spec(
    "fd.dup.cloexec-not-shared",
    "FD_CLOEXEC belongs to the descriptor, not the description: dup()'s copy starts with it "
    "clear, and setting it on one descriptor leaves the other alone.",
    sources=[
        ("dup(2)", "The two file descriptors do not share file descriptor flags (the "
                   "close-on-exec flag).  The close-on-exec flag (FD_CLOEXEC; see fcntl(2)) for "
                   "the duplicate descriptor is off."),
        ("fcntl(2)", "The following commands manipulate the flags associated with a file "
                     "descriptor.  Currently, only one such flag is defined: FD_CLOEXEC, the "
                     "close-on-exec flag."),
    ],
)
def test_dup_does_not_copy_cloexec(scenario):
    a = scenario.spawn("a")
    fd = a.call("open", "f", O_RDWR_CREAT | os.O_CLOEXEC, 0o644)
    scenario.expect(a.do("fcntl", fd, fcntl.F_GETFD), Value(fcntl.FD_CLOEXEC), "opened O_CLOEXEC")
    copy = a.call("dup", fd)
    scenario.expect(a.do("fcntl", copy, fcntl.F_GETFD), Value(0), "dup's copy has it off")
    a.call("fcntl", copy, fcntl.F_SETFD, fcntl.FD_CLOEXEC)
    a.call("fcntl", fd, fcntl.F_SETFD, 0)
    scenario.expect(a.do("fcntl", copy, fcntl.F_GETFD), Value(fcntl.FD_CLOEXEC),
                    "clearing it on fd did not clear it on the copy")
    scenario.expect(a.do("fcntl", fd, fcntl.F_GETFD), Value(0))


DUP2_2 = (
    "dup(2)",
    "The dup2() system call performs the same task as dup(), but instead of using the "
    "lowest-numbered unused file descriptor, it uses the file descriptor number specified in "
    "newfd.  In other words, the file descriptor newfd is adjusted so that it now refers to the "
    "same open file description as oldfd.",
)


@spec(
    "fd.dup2.target-number",
    "dup2(oldfd, newfd) returns exactly newfd, not the lowest free number; if newfd was open "
    "on another file it is closed first and now refers to oldfd's file.",
    sources=[
        DUP2_2,
        ("dup(2)", "If the file descriptor newfd was previously open, it is closed before being "
                   "reused; the close is performed silently (i.e., any errors during the close "
                   "are not reported by dup2())."),
    ],
)
def test_dup2_uses_the_given_number(scenario):
    a = scenario.spawn("a")
    f = a.call("open", "f", O_RDWR_CREAT, 0o644)
    g = a.call("open", "g", O_RDWR_CREAT, 0o644)
    a.call("write", f, b"F")
    a.call("write", g, b"G")
    scenario.expect(a.do("dup2", f, 9), Value(9), "9, although 5 is the lowest free number")
    scenario.expect(a.do("dup2", f, g), Value(g), "g was open: it is closed and reused")
    scenario.expect(a.do("lseek", g, 0, os.SEEK_SET), Value(0))
    scenario.expect(a.do("read", g, 10), Value(b"F"), "the number g now names f's file")
    scenario.expect(a.do("fd_list"), Value((0, 1, 2, f, g, 9)))


@spec(
    "fd.dup2.same-fd",
    "dup2(fd, fd) on an open descriptor does nothing and returns fd.",
    sources=[
        ("dup(2)", "If oldfd is a valid file descriptor, and newfd has the same value as oldfd, "
                   "then dup2() does nothing, and returns newfd."),
    ],
)
def test_dup2_onto_itself(scenario):
    a = scenario.spawn("a")
    fd = a.call("open", "f", O_RDWR_CREAT, 0o644)
    a.call("write", fd, b"abc")
    scenario.expect(a.do("dup2", fd, fd), Value(fd))
    scenario.expect(a.do("lseek", fd, 0, os.SEEK_CUR), Value(3), "still open, offset untouched")
    scenario.expect(a.do("fd_list"), Value((0, 1, 2, fd)))


@spec(
    "fd.dup2.bad-oldfd",
    "dup2() with an oldfd that is not open fails with EBADF and leaves newfd open.",
    sources=[
        ("dup(2)", "If oldfd is not a valid file descriptor, then the call fails, and newfd is "
                   "not closed."),
        ("dup(2)", "EBADF  oldfd isn't an open file descriptor."),
    ],
)
def test_dup2_bad_oldfd(scenario):
    a = scenario.spawn("a")
    fd = a.call("open", "f", O_RDWR_CREAT, 0o644)
    scenario.expect(a.do("dup2", 42, fd), Errno("EBADF"))
    scenario.expect(a.do("write", fd, b"still open"), Value(10), "newfd was not closed")


@spec(
    "fd.dup3.flags",
    "dup3()'s flags argument takes only O_CLOEXEC: with it newfd has FD_CLOEXEC set, with 0 "
    "it is clear, and any other flag fails with EINVAL.",
    sources=[
        ("dup(2)", "The caller can force the close-on-exec flag to be set for the new file "
                   "descriptor by specifying O_CLOEXEC in flags."),
        ("dup(2)", "EINVAL (dup3()) flags contain an invalid value."),
    ],
)
def test_dup3_sets_cloexec(scenario):
    a = scenario.spawn("a")
    fd = a.call("open", "f", O_RDWR_CREAT, 0o644)
    scenario.expect(a.do("dup3", fd, 7, os.O_CLOEXEC), Value(7))
    scenario.expect(a.do("fcntl", 7, fcntl.F_GETFD), Value(fcntl.FD_CLOEXEC))
    scenario.expect(a.do("dup3", fd, 8, 0), Value(8))
    scenario.expect(a.do("fcntl", 8, fcntl.F_GETFD), Value(0))
    scenario.expect(a.do("fcntl", fd, fcntl.F_GETFD), Value(0), "oldfd's own flag is untouched")


@covers("fd.dup3.flags")
def test_dup3_rejects_other_flags(scenario):
    """Any flag but O_CLOEXEC is EINVAL, and no descriptor is made."""
    a = scenario.spawn("a")
    fd = a.call("open", "f", O_RDWR_CREAT, 0o644)
    # O_NONBLOCK is a valid flag for pipe2() and open(), but not for dup3().
    scenario.expect(a.do("dup3", fd, 7, os.O_NONBLOCK), Errno("EINVAL"))
    scenario.expect(a.do("dup3", fd, 7, os.O_CLOEXEC | os.O_APPEND), Errno("EINVAL"))
    scenario.expect(a.do("fd_list"), Value((0, 1, 2, fd)), "no descriptor 7 was made")


@spec(
    "fd.dup3.same-fd-einval",
    "dup3(fd, fd, flags) fails with EINVAL, where dup2(fd, fd) succeeds.",
    sources=[
        ("dup(2)", "If oldfd equals newfd, then dup3() fails with the error EINVAL."),
        ("dup(2)", "EINVAL (dup3()) oldfd was equal to newfd."),
    ],
)
def test_dup3_onto_itself(scenario):
    a = scenario.spawn("a")
    fd = a.call("open", "f", O_RDWR_CREAT, 0o644)
    scenario.expect(a.do("dup3", fd, fd, 0), Errno("EINVAL"))
    scenario.expect(a.do("dup3", fd, fd, os.O_CLOEXEC), Errno("EINVAL"))
    scenario.expect(a.do("fcntl", fd, fcntl.F_GETFD), Value(0), "fd is still open, flag unchanged")
