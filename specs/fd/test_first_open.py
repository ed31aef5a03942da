"""Descriptor numbering: the lowest free number is always the one returned."""

import os

from conformance.clauses import spec
from conformance.outcome import Value

O_RDWR_CREAT = os.O_RDWR | os.O_CREAT


@spec(
    "fd.open.first-is-3",
    "In a process whose descriptors 0, 1 and 2 are open, the first open() returns 3.",
    sources=[
        ("open(2)", "The file descriptor returned by a successful call will be the "
                    "lowest-numbered file descriptor not currently open for the process."),
        ("seed S09", "Descriptors 0, 1, 2 are reserved for stdin, stdout, stderr, so the "
                     "first open() in a program returns 3."),
    ],
    qualifies={"S09": "3 is returned only because 0, 1 and 2 are open; nothing reserves them"},
)
def test_first_open_returns_3(scenario):
    a = scenario.spawn("a")
    scenario.expect(a.do("fd_list"), Value((0, 1, 2)), "a fresh actor has only 0, 1, 2")
    scenario.expect(a.do("open", "temp.txt", O_RDWR_CREAT, 0o644), Value(3))
