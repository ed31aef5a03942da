"""sem_open: creating and opening named semaphores, and the rules for names.

A named semaphore is identified by a name of the form ``/somename``; on
Linux it is a small file ``/dev/shm/sem.somename`` that every process maps.
``sem_open`` with O_CREAT makes it (with the given mode and initial value)
or opens the existing one — whose value is then left alone; with
O_CREAT|O_EXCL it insists on making it; without O_CREAT it only opens.
"""

import os

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.backends.posix_semshm_ops import SEM_VALUE_MAX
from conformance.clauses import spec
from conformance.outcome import Errno, Value

CREAT, EXCL = os.O_CREAT, os.O_EXCL
OVERVIEW_NAMES = ("sem_overview(7)", "A named semaphore is identified by a name of the form /somename; "
                                     "that is, a null-terminated string of up to NAME_MAX-4 (i.e., 251) "
                                     "characters consisting of an initial slash, followed by one or more "
                                     "characters, none of which are slashes.")


@spec(
    "posix.sem.create-excl-eexist",
    "sem_open with O_CREAT|O_EXCL of a name that already names a semaphore fails with EEXIST.",
    source=("sem_open(3)", "EEXIST Both O_CREAT and O_EXCL were specified in oflag, but a semaphore "
                           "with this name already exists."),
)
def test_create_excl_of_existing_fails(scenario, posix_names):
    name = posix_names.new()
    a, b = scenario.spawn("a"), scenario.spawn("b")
    a.call("sem_open", name, CREAT | EXCL, 0o600, 0)
    scenario.expect(b.do("sem_open", name, CREAT | EXCL, 0o600, 0), Errno("EEXIST"))
    scenario.expect(a.do("sem_unlink", name), Value(0))


@spec(
    "posix.sem.open-missing-enoent",
    "sem_open without O_CREAT of a name no semaphore has fails with ENOENT (and makes nothing).",
    source=("sem_open(3)", "ENOENT The O_CREAT flag was not specified in oflag and no semaphore with "
                           "this name exists; or, O_CREAT was specified, but name wasn't well formed."),
)
def test_open_of_missing_fails(scenario, posix_names):
    name = posix_names.new()
    a = scenario.spawn("a")
    scenario.expect(a.do("sem_open", name, 0, 0o600, 0), Errno("ENOENT"))
    scenario.expect(a.do("sem_unlink", name), Errno("ENOENT"), "nothing was created")


@spec(
    "posix.sem.existing-keeps-value",
    "sem_open with O_CREAT of an existing semaphore opens it and ignores the mode and value "
    "given: the value is the one it has.",
    source=("sem_open(3)", "If O_CREAT is specified in oflag, then the semaphore is created if it does "
                           "not already exist. [...] If O_CREAT is specified, and a semaphore with the "
                           "given name already exists, then mode and value are ignored."),
)
@given(first=st.integers(0, 5), second=st.integers(0, 5))
@example(first=1, second=3)
def test_open_existing_ignores_value(new_scenario, posix_names, first, second):
    name = posix_names.new()
    with new_scenario() as sc:
        a, b = sc.spawn("a"), sc.spawn("b")
        a.call("sem_open", name, CREAT, 0o600, first)
        h = b.call("sem_open", name, CREAT, 0o600, second)
        sc.expect(b.do("sem_getvalue", h), Value(first), f"created with {first}, reopened with {second}")
        sc.expect(a.do("sem_unlink", name), Value(0))
    posix_names.sweep()


@spec(
    "posix.sem.value-max-einval",
    "sem_open that would create a semaphore with a value above SEM_VALUE_MAX fails with EINVAL; "
    "SEM_VALUE_MAX itself is accepted.",
    source=("sem_open(3)", "EINVAL value was greater than SEM_VALUE_MAX."),
)
@given(excess=st.integers(1, 2**32 - 1 - SEM_VALUE_MAX))
@example(excess=1)
def test_value_above_max_fails(new_scenario, posix_names, excess):
    name = posix_names.new()
    with new_scenario() as sc:
        a = sc.spawn("a")
        sc.expect(a.do("sem_open", name, CREAT | EXCL, 0o600, SEM_VALUE_MAX + excess), Errno("EINVAL"))
        h = a.call("sem_open", name, CREAT | EXCL, 0o600, SEM_VALUE_MAX)
        sc.expect(a.do("sem_getvalue", h), Value(SEM_VALUE_MAX))
        sc.expect(a.do("sem_unlink", name), Value(0))
    posix_names.sweep()


@spec(
    "posix.sem.name-slash-einval",
    "sem_open of a name that is only \"/\" or has a slash after the first character fails with EINVAL.",
    sources=[OVERVIEW_NAMES,
             ("sem_open(3)", "EINVAL name consists of just \"/\", followed by no other characters.")],
)
@given(bad=st.sampled_from(["/", "/a/b", "/x/"]))
def test_badly_formed_name_fails(new_scenario, bad):
    with new_scenario() as sc:
        a = sc.spawn("a")
        sc.expect(a.do("sem_open", bad, CREAT, 0o600, 0), Errno("EINVAL"), f"name {bad!r}")


@spec(
    "posix.sem.name-too-long",
    "sem_open of a name longer than NAME_MAX-4 (251) characters after the slash fails with "
    "ENAMETOOLONG; 251 characters are accepted.",
    sources=[OVERVIEW_NAMES, ("sem_open(3)", "ENAMETOOLONG name was too long.")],
)
def test_long_name_fails(scenario, posix_names):
    a = scenario.spawn("a")
    base = posix_names.new()
    fits = base + "x" * (252 - len(base))
    scenario.expect(a.do("sem_open", fits + "y", CREAT, 0o600, 0), Errno("ENAMETOOLONG"), "252 characters")
    posix_names.given.append(fits)
    scenario.expect(a.do("sem_open", fits, CREAT | EXCL, 0o600, 0), Value(0), "251 characters")
    scenario.expect(a.do("sem_unlink", fits), Value(0))


@spec(
    "posix.sem.unprivileged-eacces",
    "An unprivileged process whose uid is not the owner's, opening a semaphore of mode 0600, fails "
    "with EACCES.",
    source=("sem_open(3)", "EACCES The semaphore exists, but the caller does not have permission to "
                           "open it."),
    requires=("root",),
)
def test_unprivileged_open_fails(scenario, posix_names, unprivileged_ids):
    name = posix_names.new()
    a = scenario.spawn("a")
    a.call("sem_open", name, CREAT | EXCL, 0o600, 1)
    other = scenario.spawn("other")
    other.call("become", *unprivileged_ids)
    scenario.expect(other.do("sem_open", name, 0, 0o600, 0), Errno("EACCES"))
    scenario.expect(a.do("sem_unlink", name), Value(0))
