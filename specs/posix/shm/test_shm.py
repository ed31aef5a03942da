"""POSIX shared memory objects: shm_open, ftruncate, mmap, shm_unlink.

A POSIX shared memory object is a file in the tmpfs at ``/dev/shm``:
``shm_open`` makes or opens it by name and returns a descriptor, a new
object has size 0 until ``ftruncate`` gives it one, and ``mmap`` with
MAP_SHARED makes its pages common to every process that maps it. The object
lives, like a file, until it is unlinked *and* no descriptor or mapping
refers to it any more.
"""

import os

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.clauses import spec
from conformance.outcome import Errno, Exited, Killed, Value

CREAT, EXCL, RDWR, RDONLY, TRUNC = os.O_CREAT, os.O_EXCL, os.O_RDWR, os.O_RDONLY, os.O_TRUNC
PAGE = os.sysconf("SC_PAGE_SIZE")
SHARED = ("shm_overview(7)", "The shm_open(3) function creates and opens a new, or opens an existing, "
                             "POSIX shared memory object. [...] The mmap(2) function maps the object into "
                             "the virtual address space of the calling process.")
PERSIST = ("shm_overview(7)", "POSIX shared memory objects have kernel persistence: a shared memory "
                              "object will exist until the system is shut down, or until all processes "
                              "have unmapped the object and it has been deleted with shm_unlink(3)")
DATA = st.binary(min_size=1, max_size=64)


def _new(actor, name, size, mode=0o600):
    """Create the object ``name`` of ``size`` bytes in ``actor``; returns the descriptor."""
    fd = actor.call("shm_open", name, CREAT | EXCL | RDWR, mode)
    actor.call("ftruncate", fd, size)
    return fd


@spec(
    "posix.shm.new-size-zero",
    "A shared memory object created by shm_open has length 0; ftruncate gives it its size.",
    source=("shm_open(3)", "A new shared memory object initially has zero length—the size of the object "
                           "can be set using ftruncate(2)."),
)
@given(size=st.integers(1, 3 * PAGE))
@example(size=1)
def test_new_object_is_empty(new_scenario, posix_names, size):
    name = posix_names.new()
    with new_scenario() as sc:
        a = sc.spawn("a")
        fd = a.call("shm_open", name, CREAT | EXCL | RDWR, 0o600)
        sc.expect(a.do("fstat", fd), Value(("-", 0)), "a new object")
        sc.expect(a.do("ftruncate", fd, size), Value(0))
        sc.expect(a.do("fstat", fd), Value(("-", size)), "after ftruncate")
        sc.expect(a.do("shm_unlink", name), Value(0))
    posix_names.sweep()


@spec(
    "posix.shm.shared-mapping-visible",
    "Unrelated processes that shm_open one name and map it MAP_SHARED see each other's stores.",
    sources=[SHARED,
             ("mmap(2)", "MAP_SHARED Share this mapping. Updates to the mapping are visible to other "
                         "processes mapping the same region")],
    supports={"L01": "POSIX shared memory is an IPC mechanism of Linux: one process's stores are "
                     "another's loads",
              "S31": "shared memory is two-way: each side's stores reach the other"},
)
@given(data=DATA, offset=st.integers(0, PAGE - 64))
def test_shared_mapping_is_shared(new_scenario, posix_names, data, offset):
    name = posix_names.new()
    with new_scenario() as sc:
        a, b = sc.spawn("a"), sc.spawn("b")
        ma = a.call("mmap", _new(a, name, PAGE), PAGE, "rw", "shared")
        fd = b.call("shm_open", name, RDWR, 0)
        mb = b.call("mmap", fd, PAGE, "rw", "shared")
        sc.expect(a.do("map_write", ma, offset, data), Value(len(data)))
        sc.expect(b.do("map_read", mb, offset, len(data)), Value(data), "b sees a's store")
        sc.expect(b.do("map_write", mb, 0, b"B"), Value(1))
        sc.expect(a.do("map_read", ma, 0, 1), Value(b"B"), "and a sees b's")
        sc.expect(a.do("shm_unlink", name), Value(0))
    posix_names.sweep()


@spec(
    "posix.shm.o-trunc",
    "shm_open of an existing object with O_RDWR|O_TRUNC truncates it to length 0, and its old bytes "
    "are gone when it grows again.",
    source=("shm_open(3)", "O_TRUNC If the shared memory object already exists, truncate it to zero "
                           "bytes."),
)
def test_o_trunc_empties(scenario, posix_names):
    name = posix_names.new()
    a = scenario.spawn("a")
    m = a.call("mmap", _new(a, name, PAGE), PAGE, "rw", "shared")
    a.call("map_write", m, 0, b"old")
    a.call("munmap", m)
    fd = a.call("shm_open", name, RDWR | TRUNC, 0)
    scenario.expect(a.do("fstat", fd), Value(("-", 0)), "truncated")
    a.call("ftruncate", fd, PAGE)
    m = a.call("mmap", fd, PAGE, "r", "shared")
    scenario.expect(a.do("map_read", m, 0, 3), Value(b"\0\0\0"), "the old bytes are gone")
    scenario.expect(a.do("shm_unlink", name), Value(0))


@spec(
    "posix.shm.private-not-shared",
    "Stores through a MAP_PRIVATE mapping of a shared memory object are copy-on-write: neither the "
    "object nor another process's MAP_SHARED mapping sees them.",
    source=("mmap(2)", "MAP_PRIVATE Create a private copy-on-write mapping. Updates to the mapping are "
                       "not visible to other processes mapping the same file, and are not carried "
                       "through to the underlying file."),
)
@given(data=DATA)
def test_private_mapping_is_private(new_scenario, posix_names, data):
    name = posix_names.new()
    with new_scenario() as sc:
        a, b = sc.spawn("a"), sc.spawn("b")
        shared = a.call("mmap", _new(a, name, PAGE), PAGE, "rw", "shared")
        private = b.call("mmap", b.call("shm_open", name, RDWR, 0), PAGE, "rw", "private")
        sc.expect(b.do("map_write", private, 0, data), Value(len(data)))
        sc.expect(b.do("map_read", private, 0, len(data)), Value(data), "b's own copy")
        sc.expect(a.do("map_read", shared, 0, len(data)), Value(bytes(len(data))), "the object is unchanged")
        sc.expect(a.do("shm_unlink", name), Value(0))
    posix_names.sweep()


@spec(
    "posix.shm.beyond-end-sigbus",
    "Touching a page of a mapping that lies wholly beyond the end of the shared memory object kills "
    "the process with SIGBUS.",
    source=("mmap(2)", "SIGBUS Attempted access to a page of the buffer that lies beyond the end of the "
                       "mapped file."),
)
@given(pages=st.integers(0, 2))
def test_beyond_end_is_sigbus(new_scenario, posix_names, pages):
    name = posix_names.new()
    with new_scenario() as sc:
        a = sc.spawn("a")
        m = a.call("mmap", _new(a, name, pages * PAGE), (pages + 1) * PAGE, "rw", "shared")
        if pages:
            sc.expect(a.do("map_write", m, 0, b"x"), Value(1), "within the object")
        sc.expect(a.do("map_read", m, pages * PAGE, 1), Killed("SIGBUS"), f"page {pages} of {pages}")
        sc.expect(sc.spawn("b").do("shm_unlink", name), Value(0))
    posix_names.sweep()


@spec(
    "posix.shm.survives-close",
    "A shared memory object and its contents outlive every descriptor and mapping: after all are "
    "closed, a later shm_open of the name finds the same bytes.",
    source=PERSIST,
)
@given(data=DATA)
def test_contents_survive_close(new_scenario, posix_names, data):
    name = posix_names.new()
    with new_scenario() as sc:
        a = sc.spawn("a")
        fd = _new(a, name, PAGE)
        m = a.call("mmap", fd, PAGE, "rw", "shared")
        a.call("map_write", m, 0, data)
        a.call("munmap", m)
        a.call("close", fd)
        sc.expect(a.do("exit", 0), Exited(0))
        b = sc.spawn("b")
        fd = b.call("shm_open", name, RDONLY, 0)
        m = b.call("mmap", fd, PAGE, "r", "shared")
        sc.expect(b.do("map_read", m, 0, len(data)), Value(data), "after a closed everything and exited")
        sc.expect(b.do("shm_unlink", name), Value(0))
    posix_names.sweep()


@spec(
    "posix.shm.unlink-while-mapped",
    "shm_unlink removes the name at once (shm_open without O_CREAT then fails with ENOENT), while "
    "existing mappings keep sharing the object.",
    source=("shm_unlink(3)", "The operation of shm_unlink() is analogous to unlink(2): it removes a shared "
                             "memory object name, and, once all processes have unmapped the object, "
                             "deallocates and destroys the contents of the associated memory region."),
)
@given(data=DATA)
def test_unlink_while_mapped(new_scenario, posix_names, data):
    name = posix_names.new()
    with new_scenario() as sc:
        a = sc.spawn("a")
        ma = a.call("mmap", _new(a, name, PAGE), PAGE, "rw", "shared")
        b = a.fork("b")
        sc.expect(a.do("shm_unlink", name), Value(0))
        sc.expect(b.do("shm_open", name, RDWR, 0), Errno("ENOENT"), "the name is gone")
        sc.expect(b.do("map_write", ma, 0, data), Value(len(data)), "the child's inherited mapping")
        sc.expect(a.do("map_read", ma, 0, len(data)), Value(data), "still shared")
    posix_names.sweep()


@spec(
    "posix.shm.create-excl-eexist",
    "shm_open with O_CREAT|O_EXCL of a name that already names an object fails with EEXIST.",
    source=("shm_open(3)", "EEXIST Both O_CREAT and O_EXCL were specified to shm_open() and the shared "
                           "memory object specified by name already exists."),
)
def test_create_excl_of_existing_fails(scenario, posix_names):
    name = posix_names.new()
    a, b = scenario.spawn("a"), scenario.spawn("b")
    a.call("shm_open", name, CREAT | EXCL | RDWR, 0o600)
    scenario.expect(b.do("shm_open", name, CREAT | EXCL | RDWR, 0o600), Errno("EEXIST"))
    scenario.expect(a.do("shm_unlink", name), Value(0))


@spec(
    "posix.shm.open-missing-enoent",
    "shm_open without O_CREAT of a name no object has, and shm_unlink of such a name, fail with ENOENT.",
    sources=[("shm_open(3)", "ENOENT An attempt was made to shm_open() a name that did not exist, and "
                             "O_CREAT was not specified."),
             ("shm_open(3)", "ENOENT An attempt was to made to shm_unlink() a name that does not exist.")],
)
@given(access=st.sampled_from([RDONLY, RDWR]))
def test_missing_name_fails(new_scenario, posix_names, access):
    name = posix_names.new()
    with new_scenario() as sc:
        a = sc.spawn("a")
        sc.expect(a.do("shm_open", name, access, 0o600), Errno("ENOENT"))
        sc.expect(a.do("shm_unlink", name), Errno("ENOENT"), "nothing was created")
    posix_names.sweep()


@spec(
    "posix.shm.name-slash-einval",
    "shm_open of a name that is only \"/\" or has a slash after the first character fails with EINVAL.",
    sources=[("shm_overview(7)", "POSIX shared memory objects are identified by a name of the form "
                                 "/somename; that is, a null-terminated string of up to NAME_MAX (i.e., "
                                 "255) characters consisting of an initial slash, followed by one or more "
                                 "characters, none of which are slashes."),
             ("shm_open(3)", "EINVAL The name argument to shm_open() was invalid.")],
)
@given(bad=st.sampled_from(["/", "/a/b", "/x/"]))
def test_badly_formed_name_fails(new_scenario, bad):
    with new_scenario() as sc:
        a = sc.spawn("a")
        sc.expect(a.do("shm_open", bad, CREAT | RDWR, 0o600), Errno("EINVAL"), f"name {bad!r}")


@spec(
    "posix.shm.name-too-long",
    "shm_open of a name longer than NAME_MAX (255) characters after the slash fails with ENAMETOOLONG; "
    "255 characters are accepted.",
    source=("shm_open(3)", "ENAMETOOLONG The length of name exceeds PATH_MAX."),
)
def test_long_name_fails(scenario, posix_names):
    a = scenario.spawn("a")
    base = posix_names.new()
    fits = base + "x" * (256 - len(base))
    scenario.expect(a.do("shm_open", fits + "y", CREAT | RDWR, 0o600), Errno("ENAMETOOLONG"), "256 characters")
    posix_names.given.append(fits)
    fd = a.call("shm_open", fits, CREAT | EXCL | RDWR, 0o600)
    scenario.expect(a.do("fstat", fd), Value(("-", 0)), "255 characters")
    scenario.expect(a.do("shm_unlink", fits), Value(0))


@spec(
    "posix.shm.unprivileged-eacces",
    "An unprivileged process that does not own a shared memory object of mode 0400 fails with EACCES "
    "to shm_open it O_RDWR (and O_RDONLY too, the other bits being 0).",
    source=("shm_open(3)", "EACCES Permission to shm_open() the shared memory object was denied."),
    requires=("root",),
)
@given(access=st.sampled_from([RDWR, RDONLY]))
def test_unprivileged_open_fails(new_scenario, posix_names, access, unprivileged_ids):
    name = posix_names.new()
    with new_scenario() as sc:
        a = sc.spawn("a")
        a.call("shm_open", name, CREAT | EXCL | RDWR, 0o400)
        other = sc.spawn("other")
        other.call("become", *unprivileged_ids)
        sc.expect(other.do("shm_open", name, access, 0), Errno("EACCES"))
        sc.expect(a.do("shm_unlink", name), Value(0))
    posix_names.sweep()


@spec(
    "posix.shm.in-dev-shm",
    "On Linux a shared memory object /NAME is the file /dev/shm/NAME: it appears there, a regular file "
    "of the object's size, and is gone after shm_unlink.",
    source=("shm_overview(7)", "On Linux, shared memory objects are created in a (tmpfs(5)) virtual "
                               "filesystem, normally mounted under /dev/shm."),
)
@given(size=st.integers(0, 2 * PAGE))
def test_object_is_a_dev_shm_file(new_scenario, posix_names, size):
    name = posix_names.new()
    with new_scenario() as sc:
        a = sc.spawn("a")
        _new(a, name, size)
        sc.expect(a.do("stat", f"/dev/shm{name}"), Value(("-", size)))
        sc.expect(a.do("shm_unlink", name), Value(0))
        sc.expect(a.do("stat", f"/dev/shm{name}"), Errno("ENOENT"), "unlinked")
    posix_names.sweep()
