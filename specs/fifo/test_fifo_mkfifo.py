"""Making a FIFO: a special file of type 'p' that mkfifo() will not put over anything.

``mkfifo()`` enters a FIFO special file into the file system. The entry has
no contents of its own — it is only a name by which processes find the pipe
the kernel keeps while the FIFO is open — and it is created only where no
file of that name exists yet.
"""

import os

import pytest

from conformance.clauses import spec
from conformance.outcome import Errno, Value

S15_TEXT = ("A FIFO is a special file (type `p` in `ls -l`) that unrelated processes open by "
            "name; an unnamed pipe has no file-system entry.")
S17_TEXT = "`mkfifo` on a path that exists fails."


@spec(
    "fifo.mkfifo.type-p",
    "mkfifo() creates a FIFO special file: stat() reports type 'p' (what ls -l shows) and size 0.",
    sources=[
        ("mkfifo(3)", "mkfifo() makes a FIFO special file with name pathname."),
        ("fifo(7)", "FIFO special files can be created by mkfifo(3), and are indicated by ls -l "
                    "with the file type 'p'."),
        ("fifo(7)", "Thus, the FIFO special file has no contents on the filesystem; the filesystem "
                    "entry merely serves as a reference point so that processes can access the "
                    "pipe using a name in the filesystem."),
        ("seed S15", S15_TEXT),
    ],
    supports={"S15": "a FIFO is a file-system entry of type p"},
)
def test_mkfifo_makes_type_p(scenario):
    a = scenario.spawn("a")
    scenario.expect(a.do("mkfifo", "temp.txt", 0o666), Value(0))
    scenario.expect(a.do("stat", "temp.txt"), Value(("p", 0)), "a FIFO special file, no contents")


@spec(
    "fifo.mkfifo.eexist",
    "mkfifo() on a path that already exists — a FIFO or a regular file — fails with EEXIST and "
    "leaves the existing file as it was.",
    sources=[
        ("mkfifo(3)", "EEXIST pathname already exists.  This includes the case where pathname is "
                      "a symbolic link, dangling or not."),
        ("seed S17", S17_TEXT),
    ],
    supports={"S17": "an existing name, FIFO or not, makes mkfifo fail (EEXIST)"},
)
@pytest.mark.parametrize("existing", ["fifo", "regular"])
def test_mkfifo_refuses_an_existing_name(scenario, existing):
    a = scenario.spawn("a")
    if existing == "fifo":
        a.call("mkfifo", "temp.txt", 0o666)
        before = ("p", 0)
    else:
        fd = a.call("open", "temp.txt", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        a.call("write", fd, b"keep me")
        a.call("close", fd)
        before = ("-", 7)
    scenario.expect(a.do("mkfifo", "temp.txt", 0o666), Errno("EEXIST"))
    scenario.expect(a.do("stat", "temp.txt"), Value(before), "the existing file is untouched")
