"""fcntl(F_DUPFD) and fcntl(F_DUPFD_CLOEXEC): dup() with a floor."""

import fcntl
import os

from conformance.clauses import spec
from conformance.outcome import Value

F_DUPFD = (
    "fcntl(2)",
    "Duplicate the file descriptor fd using the lowest-numbered available file descriptor "
    "greater than or equal to arg.  This is different from dup2(2), which uses exactly the file "
    "descriptor specified.",
)


@spec(
    "fd.fcntl.dupfd-at-least",
    "fcntl(fd, F_DUPFD, arg) returns the lowest free number that is at least arg.",
    sources=[F_DUPFD],
)
def test_dupfd_takes_lowest_free_at_or_above(scenario):
    a = scenario.spawn("a")
    fd = a.call("open", "f", os.O_RDWR | os.O_CREAT, 0o644)
    scenario.expect(a.do("fcntl", fd, fcntl.F_DUPFD, 10), Value(10), "4 is free but below 10")
    scenario.expect(a.do("fcntl", fd, fcntl.F_DUPFD, 10), Value(11), "10 is taken now")
    scenario.expect(a.do("fcntl", fd, fcntl.F_DUPFD, 0), Value(4), "with floor 0, as dup()")
    a.call("close", 10)
    scenario.expect(a.do("fcntl", fd, fcntl.F_DUPFD, 7), Value(7))
    scenario.expect(a.do("fcntl", fd, fcntl.F_DUPFD, 7), Value(8))
    scenario.expect(a.do("fcntl", fd, fcntl.F_DUPFD, 7), Value(9))
    scenario.expect(a.do("fcntl", fd, fcntl.F_DUPFD, 7), Value(10), "the hole closing 10 left")


@spec(
    "fd.fcntl.dupfd-cloexec",
    "fcntl(fd, F_DUPFD_CLOEXEC, arg) duplicates like F_DUPFD and sets FD_CLOEXEC on the new "
    "descriptor only.",
    sources=[
        ("fcntl(2)", "As for F_DUPFD, but additionally set the close-on-exec flag for the "
                     "duplicate file descriptor."),
    ],
)
def test_dupfd_cloexec_sets_the_flag(scenario):
    a = scenario.spawn("a")
    fd = a.call("open", "f", os.O_RDWR | os.O_CREAT, 0o644)
    scenario.expect(a.do("fcntl", fd, fcntl.F_DUPFD_CLOEXEC, 10), Value(10))
    scenario.expect(a.do("fcntl", 10, fcntl.F_GETFD), Value(fcntl.FD_CLOEXEC))
    scenario.expect(a.do("fcntl", fd, fcntl.F_GETFD), Value(0), "the original's flag stays clear")
    scenario.expect(a.do("fcntl", fd, fcntl.F_DUPFD, 10), Value(11),
                    "plain F_DUPFD, for contrast, leaves it clear")
    scenario.expect(a.do("fcntl", 11, fcntl.F_GETFD), Value(0))
