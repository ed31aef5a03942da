"""Reading and writing through one descriptor: the offset, the access mode, close."""

import os

from conformance.clauses import spec
from conformance.outcome import Errno, Value


@spec(
    "fd.file.write-seek-read",
    "Bytes written through a descriptor are read back after lseek() moves its offset back "
    "to 0: write() advanced the offset past them.",
    sources=[
        ("lseek(2)", "lseek() repositions the file offset of the open file description "
                     "associated with the file descriptor fd to the argument offset according to "
                     "the directive whence as follows:"),
        ("lseek(2), SEEK_SET", "The file offset is set to offset bytes."),
        ("seed S01", "Writing to a file, seeking back to 0 and reading returns the written bytes."),
    ],
    supports={"S01": "write(fd, \"Test\", 5), lseek(fd, 0, SEEK_SET), read(fd, buf, 5) returns "
                     "the 5 bytes \"Test\\0\" (given a file that exists: see "
                     "fd.open.missing-file-enoent)"},
)
def test_write_seek_read(scenario):
    a = scenario.spawn("a")
    # The seed's program, step for step, on a file that exists.
    fd = a.call("open", "temp.txt", os.O_RDWR | os.O_CREAT, 0o644)
    scenario.expect(a.do("write", fd, b"Test\0"), Value(5), "the seed writes 5 bytes, NUL included")
    scenario.expect(a.do("read", fd, 5), Value(b""), "the offset is now at the end of the file")
    scenario.expect(a.do("lseek", fd, 0, os.SEEK_SET), Value(0))
    scenario.expect(a.do("read", fd, 5), Value(b"Test\0"))


@spec(
    "fd.access.mode-enforced",
    "A descriptor opened O_WRONLY cannot be read and one opened O_RDONLY cannot be written: "
    "both fail with EBADF, whatever the file's permissions.",
    sources=[
        ("open(2)", "The argument flags must include one of the following access modes: "
                    "O_RDONLY, O_WRONLY, or O_RDWR.  These request opening the file read-only, "
                    "write-only, or read/write, respectively."),
        ("read(2)", "EBADF  fd is not a valid file descriptor or is not open for reading."),
        ("write(2)", "EBADF  fd is not a valid file descriptor or is not open for writing."),
    ],
)
def test_access_mode_is_enforced(scenario):
    a = scenario.spawn("a")
    wfd = a.call("open", "f", os.O_WRONLY | os.O_CREAT, 0o666)
    a.call("write", wfd, b"data")
    scenario.expect(a.do("read", wfd, 4), Errno("EBADF"), "opened O_WRONLY")
    rfd = a.call("open", "f", os.O_RDONLY)
    scenario.expect(a.do("write", rfd, b"more"), Errno("EBADF"), "opened O_RDONLY")
    scenario.expect(a.do("read", rfd, 4), Value(b"data"), "reading it is allowed")


@spec(
    "fd.close.ebadf",
    "close() of a descriptor that is not open fails with EBADF: closing twice is an error, "
    "and the closed number no longer refers to the file.",
    sources=[
        ("close(2)", "EBADF  fd isn't a valid open file descriptor."),
        ("close(2)", "close() closes a file descriptor, so that it no longer refers to any file "
                     "and may be reused."),
    ],
)
def test_double_close_is_ebadf(scenario):
    a = scenario.spawn("a")
    fd = a.call("open", "f", os.O_RDWR | os.O_CREAT, 0o644)
    scenario.expect(a.do("close", fd), Value(0))
    scenario.expect(a.do("close", fd), Errno("EBADF"), "the second close")
    scenario.expect(a.do("read", fd, 1), Errno("EBADF"), "the number refers to no file")
    scenario.expect(a.do("close", 57), Errno("EBADF"), "a number never opened")
