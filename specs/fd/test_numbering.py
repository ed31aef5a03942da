"""Descriptor numbers: which number a new descriptor gets, and whose number it is.

A descriptor is an index into one process's table. Every call that makes a
new descriptor without being told a number (``open``, ``dup``, ``pipe``,
``socket``...) takes the *lowest number not currently open in that
process*. Nothing else is special about 0, 1 and 2: they are taken first in
an ordinary program only because the shell opened them before ``exec``.
"""

import os

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.clauses import spec
from conformance.outcome import Errno, Value

O_RDWR_CREAT = os.O_RDWR | os.O_CREAT

OPEN_2 = (
    "open(2)",
    "The file descriptor returned by a successful call will be the lowest-numbered file "
    "descriptor not currently open for the process.",
)
SEED_S09 = (
    "seed S09",
    "Descriptors 0, 1, 2 are reserved for stdin, stdout, stderr, so the first open() in a "
    "program returns 3.",
)


@spec(
    "fd.open.first-is-3",
    "In a process whose descriptors 0, 1 and 2 are open, the first open() returns 3.",
    sources=[OPEN_2, SEED_S09],
    qualifies={"S09": "3 is returned only because 0, 1 and 2 are open; nothing reserves them"},
)
def test_first_open_returns_3(scenario):
    a = scenario.spawn("a")
    scenario.expect(a.do("fd_list"), Value((0, 1, 2)), "a fresh actor has only 0, 1, 2")
    scenario.expect(a.do("open", "temp.txt", O_RDWR_CREAT, 0o644), Value(3))


@spec(
    "fd.open.lowest-free",
    "open() returns the lowest free number, even 0 or a hole left by close().",
    sources=[
        OPEN_2,
        ("close(2)", "close() closes a file descriptor, so that it no longer refers to any "
                     "file and may be reused."),
        SEED_S09,
    ],
    qualifies={"S09": "0, 1 and 2 are not reserved: once 0 is closed, the next open() returns 0; "
                      "the first open() returns 3 only while 0, 1 and 2 are all open"},
)
def test_open_takes_lowest_free(scenario):
    a = scenario.spawn("a")
    for expected in (3, 4, 5):
        scenario.expect(a.do("open", f"f{expected}", O_RDWR_CREAT, 0o644), Value(expected))
    a.call("close", 4)
    scenario.expect(a.do("open", "g", O_RDWR_CREAT, 0o644), Value(4),
                    "the hole at 4 is lower than 6")
    # "Standard input" is only a convention: close it and it is the lowest hole.
    a.call("close", 0)
    scenario.expect(a.do("open", "h", O_RDWR_CREAT, 0o644), Value(0),
                    "0 is free, so it is the lowest free number")
    scenario.expect(a.do("open", "h", O_RDWR_CREAT, 0o644), Value(6))


#: one step of a descriptor program: (operation, which descriptor, extra)
#: Descriptors are chosen by position among those open, so every step acts on
#: an open descriptor and shrinking keeps steps meaningful.
STEPS = st.one_of(
    st.tuples(st.just("open"), st.sampled_from(["f", "g", "h"]), st.just(0)),
    st.tuples(st.just("close"), st.integers(0, 15), st.just(0)),
    st.tuples(st.just("dup"), st.integers(0, 15), st.just(0)),
    # dup2 puts a descriptor at a chosen number: it makes the holes (and
    # fills them) in ways open/close alone reach only slowly.
    st.tuples(st.just("dup2"), st.integers(0, 15), st.integers(0, 12)),
)


@spec(
    "fd.open.lowest-free-any-sequence",
    "After any sequence of open, close, dup and dup2 calls, every open() and dup() returns "
    "the lowest number not open in the process.",
    sources=[
        OPEN_2,
        ("dup(2)", "The new file descriptor number is guaranteed to be the lowest-numbered "
                   "file descriptor that was unused in the calling process."),
    ],
    qualifies={"S09": "a new descriptor's number depends only on which numbers are open, "
                      "not on what they were opened for"},
)
@given(program=st.lists(STEPS, min_size=1, max_size=25))
# Always tried first, whatever the search draws: a hole below the highest
# open number (here, 3 closed while 4 stays open) must be filled first.
@example(program=[("open", "f", 0), ("open", "g", 0), ("close", 3, 0), ("open", "h", 0)])
def test_lowest_free_after_any_sequence(new_scenario, program):
    with new_scenario() as sc:
        a = sc.spawn("a")
        table = {0, 1, 2}  # what the process has open, as this spec predicts it
        for op, which, extra in program:
            if op == "open":
                lowest = min(set(range(len(table) + 1)) - table)
                sc.expect(a.do("open", which, O_RDWR_CREAT, 0o644), Value(lowest))
                table.add(lowest)
                continue
            if not table:
                continue
            fd = sorted(table)[which % len(table)]
            if op == "close":
                sc.expect(a.do("close", fd), Value(0))
                table.discard(fd)
            elif op == "dup":
                lowest = min(set(range(len(table) + 1)) - table)
                sc.expect(a.do("dup", fd), Value(lowest))
                table.add(lowest)
            else:
                sc.expect(a.do("dup2", fd, extra), Value(extra))
                table.add(extra)


@spec(
    "fd.numbers.per-process",
    "Descriptor numbers belong to one process: two processes can both have 3 open on "
    "different files, and one file can be 3 in one process and 4 in another.",
    sources=[
        ("open(2)", "The return value of open() is a file descriptor, a small, nonnegative "
                    "integer that is an index to an entry in the process's table of open file "
                    "descriptors."),
        ("seed S04", "A descriptor is a non-negative integer, per process; the same file can "
                     "have different numbers in different processes and the same number can "
                     "name different files."),
    ],
    supports={"S04": "both halves hold: a.txt is 3 in one process and 4 in another, and 3 "
                     "names a.txt in one process and b.txt in the other"},
)
def test_numbers_are_per_process(scenario):
    c = scenario.spawn("c")
    d = scenario.spawn("d")
    scenario.expect(c.do("open", "a.txt", O_RDWR_CREAT, 0o644), Value(3))
    c.call("write", 3, b"A")
    scenario.expect(d.do("open", "b.txt", O_RDWR_CREAT, 0o644), Value(3),
                    "c's 3 does not make 3 taken in d")
    d.call("write", 3, b"B")
    scenario.expect(d.do("open", "a.txt", os.O_RDONLY), Value(4))
    # Read each number back: the same number 3 names two different files...
    c.call("lseek", 3, 0, os.SEEK_SET)
    d.call("lseek", 3, 0, os.SEEK_SET)
    scenario.expect(c.do("read", 3, 10), Value(b"A"), "3 in c is a.txt")
    scenario.expect(d.do("read", 3, 10), Value(b"B"), "3 in d is b.txt")
    # ...and one file, a.txt, is 3 in c and 4 in d.
    scenario.expect(d.do("read", 4, 10), Value(b"A"), "4 in d is a.txt")


@spec(
    "fd.open.missing-file-enoent",
    "open() without O_CREAT fails with ENOENT when the file does not exist; the -1 it "
    "returns is not a descriptor, so write() and read() on it fail with EBADF.",
    sources=[
        ("open(2)", "ENOENT O_CREAT is not set and the named file does not exist."),
        ("write(2)", "EBADF  fd is not a valid file descriptor or is not open for writing."),
        ("seed S01", "Writing to a file, seeking back to 0 and reading returns the written "
                     "bytes."),
        ("seed 000 §1", "fd = open(\"temp.txt\", O_RDWR);"),
    ],
    qualifies={
        "S01": "only when temp.txt already exists: the seed's open(\"temp.txt\", O_RDWR) has no "
               "O_CREAT, so on a missing file it returns -1 (ENOENT) and every later call fails "
               "with EBADF",
        "S09": "the seed's program prints 3 only if temp.txt exists; otherwise open() returns -1",
    },
)
def test_open_missing_file_without_creat(scenario):
    a = scenario.spawn("a")
    scenario.expect(a.do("open", "temp.txt", os.O_RDWR), Errno("ENOENT"))
    scenario.expect(a.do("write", -1, b"Test\0"), Errno("EBADF"),
                    "the seed's program then writes to descriptor -1")
    scenario.expect(a.do("stat", "temp.txt"), Errno("ENOENT"), "nothing was created")
