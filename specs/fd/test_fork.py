"""fork(): the child gets copies of the descriptors, not of the descriptions.

The child's descriptor table is a copy of the parent's, so its descriptor 3
is a second reference to the parent's open file description: one offset, one
set of status flags, for both processes. Its memory, by contrast, is a copy:
what either process stores after the fork, the other does not see.

The seed's example orders parent and child with ``sleep(1)`` and
``sleep(2)``. These specs order them through the harness instead: each step
runs to completion before the next begins, in whichever actor it names.
"""

import os

from hypothesis import given
from hypothesis import strategies as st

from conformance.backends.ops import ActorRef
from conformance.clauses import covers, spec
from conformance.outcome import Value

FORK_2 = (
    "fork(2)",
    "The child inherits copies of the parent's set of open file descriptors.  Each file "
    "descriptor in the child refers to the same open file description (see open(2)) as the "
    "corresponding file descriptor in the parent.  This means that the two file descriptors "
    "share open file status flags, file offset, and signal-driven I/O attributes (see the "
    "description of F_SETOWN and F_SETSIG in fcntl(2)).",
)


@spec(
    "fd.fork.shared-offset",
    "A descriptor open before fork() has one offset in parent and child: a write by one "
    "moves the offset the other sees.",
    sources=[
        FORK_2,
        ("seed S02", "A descriptor opened before fork() is shared by parent and child: they "
                     "share one file offset, so what one writes at the offset the other reads "
                     "after seeking."),
    ],
    supports={"S02": "the seed's program, step for step: the parent's write moves the child's "
                     "offset to 17, the child's write moves the parent's to 29"},
)
def test_fork_shares_the_offset(scenario):
    parent = scenario.spawn("parent")
    fd = parent.call("open", "temp.txt", os.O_RDWR | os.O_CREAT, 0o644)
    child = parent.fork("child")
    scenario.expect(parent.do("write", fd, b"Can you hear me?\0"), Value(17))
    scenario.expect(child.do("lseek", fd, 0, os.SEEK_CUR), Value(17),
                    "the parent's write moved the child's offset")
    scenario.expect(child.do("lseek", fd, 0, os.SEEK_SET), Value(0))
    scenario.expect(child.do("read", fd, 17), Value(b"Can you hear me?\0"))
    scenario.expect(child.do("write", fd, b"Yes, I can!\0"), Value(12))
    scenario.expect(parent.do("lseek", fd, 0, os.SEEK_CUR), Value(29),
                    "the child's read and write moved the parent's offset")
    scenario.expect(parent.do("lseek", fd, 17, os.SEEK_SET), Value(17))
    scenario.expect(parent.do("read", fd, 12), Value(b"Yes, I can!\0"))


@covers("fd.fork.shared-offset")
@given(data=st.data())
def test_fork_shares_the_offset_under_any_program(new_scenario, offset_programs, data):
    """Parent and child move one offset, whatever each does through its descriptor."""
    program = data.draw(offset_programs.steps, label="program")
    with new_scenario() as sc:
        parent = sc.spawn("parent")
        fd = parent.call("open", "f", os.O_RDWR | os.O_CREAT, 0o644)
        child = parent.fork("child")
        offset_programs.run(sc, [(parent, fd), (child, fd)], shared=True, program=program)


@spec(
    "fd.fork.shared-description",
    "After fork(), the child's descriptor and the parent's refer to one open file "
    "description: kcmp(KCMP_FILE) across the two processes reports them the same.",
    sources=[
        FORK_2,
        ("kcmp(2)", "The existence of two file descriptors that refer to the same open file "
                    "description can occur as a result of dup(2) (and similar) fork(2), or "
                    "passing file descriptors via a domain socket (see unix(7))."),
        ("seed S07", "fork() and dup() make no new entry: the new descriptor refers to the "
                     "existing entry, whose reference count rises by one."),
    ],
    requires=("feature:kcmp",),
    supports={"S07": "fork() makes no new description: kcmp reports the child's descriptor and "
                     "the parent's as one (the reference count itself is not observable)"},
)
def test_fork_child_refers_to_the_parents_description(scenario):
    parent = scenario.spawn("parent")
    fd = parent.call("open", "fileA.txt", os.O_RDONLY | os.O_CREAT, 0o644)
    child = parent.fork("child")
    later = parent.call("open", "fileA.txt", os.O_RDONLY)
    scenario.expect(child.do("kcmp_file", ActorRef("parent"), fd, fd), Value(True),
                    "the inherited descriptor and the parent's")
    scenario.expect(child.do("kcmp_file", ActorRef("parent"), fd, later), Value(False),
                    "a description the parent opened after the fork, for contrast")


@spec(
    "fd.fork.memory-not-shared",
    "After fork(), parent and child have separate memory: a variable has its pre-fork value "
    "in both, and a later change by either is not seen by the other.",
    sources=[
        ("fork(2)", "The child process and the parent process run in separate memory spaces.  "
                    "At the time of fork() both memory spaces have the same content.  Memory "
                    "writes, file mappings (mmap(2)), and unmappings (munmap(2)) performed by "
                    "one of the processes do not affect the other."),
        ("seed S03", "Global variables are not shared between parent and child after fork()."),
    ],
    supports={"S03": "the child starts with a copy (global = 100 in both); stores after the "
                     "fork stay in the process that made them"},
)
def test_fork_does_not_share_memory(scenario):
    parent = scenario.spawn("parent")
    parent.call("setvar", "global", 100)
    child = parent.fork("child")
    scenario.expect(child.do("getvar", "global"), Value(100), "copied at fork")
    child.call("setvar", "global", 200)
    scenario.expect(parent.do("getvar", "global"), Value(100), "the child's store is its own")
    parent.call("setvar", "global", 300)
    scenario.expect(child.do("getvar", "global"), Value(200), "the parent's store is its own")
