"""The POSIX shared memory model: driven directly, hosted by the process model, and against libc.

The last tests are differential: the name rules and the page rules the model
states (which names glibc refuses, what a store past the end of the last page
becomes when the object grows or shrinks) are checked against this machine's
glibc and kernel, in this process, on names of its own.
"""

from __future__ import annotations

import ctypes
import os

import pytest

from conformance.backends.ops import ActorRef
from conformance.models import ProcessModel
from conformance.models.errors import ModelUsageError, Unmodelled
from conformance.models.posix.shm import ShmModel, ShmParams, check_name
from conformance.models.submodel import SubModel
from conformance.outcome import Errno, Killed, Value

CREAT, EXCL, RDWR, RDONLY, WRONLY, TRUNC = (os.O_CREAT, os.O_EXCL, os.O_RDWR, os.O_RDONLY, os.O_WRONLY,
                                            os.O_TRUNC)
P = 4096


@pytest.fixture
def model() -> ShmModel:
    m = ShmModel(P)
    m.spawn("a")
    m.spawn("b")
    return m


@pytest.fixture
def host() -> ProcessModel:
    m = ProcessModel(page_size=P)
    m.spawn("a")
    return m


def test_is_a_submodel(model):
    assert isinstance(model, SubModel)


def test_open_matrix(model):
    assert model.step("a", "shm_open", "/s", RDWR) == Errno("ENOENT")
    assert model.step("a", "shm_open", "/s", EXCL | RDWR) == Errno("ENOENT"), "O_EXCL alone is ignored"
    assert model.step("a", "shm_open", "/s", CREAT | EXCL | RDWR, 0o600) == Value(3)
    assert model.step("b", "shm_open", "/s", CREAT | EXCL | RDWR, 0o600) == Errno("EEXIST")
    assert model.step("b", "shm_open", "/s", CREAT | RDWR, 0o600) == Value(3)
    assert model.step("b", "shm_open", "/s", RDONLY) == Value(4)
    assert model.step("b", "fstat", 4) == Value(("-", 0)), "a new object is empty"
    with pytest.raises(Unmodelled):
        model.step("a", "shm_open", "/s", 3)
    with pytest.raises(Unmodelled):
        model.step("a", "shm_open", "/sem.x", CREAT | RDWR)


@pytest.mark.parametrize(("name", "unlink", "errno"), [
    ("/", False, "EINVAL"), ("//", True, "ENOENT"), ("/a/b", False, "EINVAL"), ("/a/b", True, "ENOENT"),
    ("/.", False, "EINVAL"), ("/..", True, "EISDIR"), ("/" + "x" * 256, False, "ENAMETOOLONG"),
    ("/" + "x" * 259, True, "ENAMETOOLONG"), ("/" + "x" * 260, False, "EINVAL"),
    ("/" + "x" * 260, True, "ENOENT"), ("/" + "x" * 255, False, None), ("//a", False, None),
])
def test_names(name, unlink, errno):
    assert check_name(name, unlink) == errno


def test_size_pages_and_sigbus(model):
    fd = model.step("a", "shm_open", "/s", CREAT | RDWR, 0o600).detail
    m = model.step("a", "mmap", fd, 3 * P, "rw", "shared").detail
    assert model.step("a", "ftruncate", fd, P + 100) == Value(0)
    assert model.step("a", "map_write", m, P + 200, b"tail") == Value(4), "past the end, in the last page"
    assert model.step("a", "map_read", m, P + 200, 4) == Value(b"tail")
    assert model.step("a", "ftruncate", fd, 2 * P) == Value(0)
    assert model.step("a", "map_read", m, P + 200, 4) == Value(b"tail"), "growing keeps the page"
    assert model.step("a", "ftruncate", fd, P + 100) == Value(0)
    assert model.step("a", "map_read", m, P + 200, 4) == Value(bytes(4)), "shrinking zeroes the rest"
    assert model.step("a", "map_read", m, 3 * P, 1) == Errno("EFAULT"), "not the mapping's memory"
    assert model.step("a", "map_read", m, 2 * P, 0) == Value(b""), "nothing touched"
    with pytest.raises(Unmodelled):
        model.step("a", "map_write", m, 2 * P - 2, b"xyz")  # across the end: memmove's order
    assert model.step("a", "map_read", m, 2 * P, 1) == Killed("SIGBUS")
    assert model.alive() == {"b"}


def test_access_rules(model):
    model.step("a", "shm_open", "/s", CREAT | RDWR, 0o600)
    ro = model.step("a", "shm_open", "/s", RDONLY).detail
    wo = model.step("a", "shm_open", "/s", WRONLY).detail
    assert model.step("a", "ftruncate", ro, P) == Errno("EINVAL")
    assert model.step("a", "ftruncate", wo, -1) == Errno("EINVAL")
    assert model.step("a", "ftruncate", 9, P) == Errno("EBADF")
    assert model.step("a", "mmap", ro, P, "rw", "shared") == Errno("EACCES")
    assert model.step("a", "mmap", wo, P, "r", "shared") == Errno("EACCES")
    assert model.step("a", "mmap", ro, 0, "r", "shared") == Errno("EINVAL")
    assert model.step("a", "mmap", 9, 0, "r", "shared") == Errno("EBADF"), "the descriptor comes first"
    r = model.step("a", "mmap", ro, P, "r", "shared").detail
    assert model.step("a", "map_write", r, 0, b"x") == Killed("SIGSEGV"), "before SIGBUS"


def test_private_mappings_and_fork(model):
    fd = model.step("a", "shm_open", "/s", CREAT | RDWR, 0o600).detail
    model.step("a", "ftruncate", fd, P)
    shared = model.step("a", "mmap", fd, P, "rw", "shared").detail
    private = model.step("a", "mmap", fd, P, "rw", "private").detail
    model.step("a", "map_write", shared, 0, b"one")
    assert model.step("a", "map_read", private, 0, 3) == Value(b"one"), "private sees the object until it stores"
    model.step("a", "map_write", private, 1, b"X")
    model.step("a", "map_write", shared, 0, b"two")
    assert model.step("a", "map_read", private, 0, 3) == Value(b"oXe"), "its own copy now"
    model.fork("a", "c")
    model.step("c", "map_write", private, 0, b"c")
    assert model.step("a", "map_read", private, 0, 3) == Value(b"oXe"), "fork copied the copy"
    model.step("c", "map_write", shared, 0, b"C")
    assert model.step("a", "map_read", shared, 0, 3) == Value(b"Cwo"), "the shared one is shared"
    model.step("a", "ftruncate", fd, 0)
    assert model.step("c", "map_read", private, 0, 1) == Killed("SIGBUS"), "truncation drops copies"


def test_anonymous_mappings(model):
    shared = model.step("a", "mmap", -1, P, "rw", "shared-anon").detail
    private = model.step("a", "mmap", -1, P, "rw", "private-anon").detail
    model.fork("a", "c")
    model.step("c", "map_write", shared, 5, b"s")
    model.step("c", "map_write", private, 5, b"p")
    assert model.step("a", "map_read", shared, 5, 1) == Value(b"s")
    assert model.step("a", "map_read", private, 5, 1) == Value(b"\0")


def test_unlink_lifetime_and_permissions(model):
    fd = model.step("a", "shm_open", "/s", CREAT | RDWR, 0o640).detail
    model.step("a", "ftruncate", fd, P)
    m = model.step("a", "mmap", fd, P, "rw", "shared").detail
    model.step("a", "map_write", m, 0, b"kept")
    assert model.become("b", 65534, 65534) == Value(0)
    assert model.step("b", "shm_open", "/s", RDONLY) == Errno("EACCES")
    assert model.step("b", "shm_unlink", "/s") == Errno("EPERM"), "sticky /dev/shm"
    assert model.step("b", "shm_open", "/t", CREAT | RDWR, 0o777) == Value(3), "anyone may create"
    assert model.procs["b"].fds[3].serial in model.objects
    assert model.objects[model.procs["b"].fds[3].serial].mode == 0o755, "the umask applies"
    assert model.step("a", "shm_unlink", "/s") == Value(0)
    assert model.step("a", "shm_open", "/s", RDWR) == Errno("ENOENT")
    model.step("a", "close", fd)
    assert model.step("a", "map_read", m, 0, 4) == Value(b"kept"), "the mapping holds it"
    model.step("a", "munmap", m)
    assert len(model.objects) == 1, "the last reference gone, only /t is left"


def test_protected_regular():
    m = ShmModel(P, ShmParams(protected_regular=1))
    m.spawn("a")
    m.spawn("b")
    m.become("b", 1000, 1000)
    m.step("b", "shm_open", "/s", CREAT | RDWR, 0o666)
    assert m.step("a", "shm_open", "/s", CREAT | RDWR) == Errno("EACCES"), "even root, with O_CREAT"
    assert m.step("a", "shm_open", "/s", RDWR) == Value(3)


def test_hosted_descriptors_and_death(host):
    fd = host.step("a", "shm_open", "/s", CREAT | RDWR, 0o600).detail
    assert fd == 3
    assert host.step("a", "fstat", fd) == Value(("-", 0))
    assert host.step("a", "stat", "/dev/shm/s") == Value(("-", 0))
    assert host.step("a", "stat", "/dev/shm/t") == Errno("ENOENT")
    with pytest.raises(Unmodelled):
        host.step("a", "dup", fd)
    m = host.step("a", "mmap", fd, P, "rw", "shared").detail
    assert host.step("a", "fork", "c") == Value(ActorRef("c"))
    assert host.step("c", "close", fd) == Value(0)
    assert host.step("c", "fstat", fd) == Errno("EBADF"), "the host answers once it is closed"
    assert host.step("c", "map_read", m, 0, 1) == Killed("SIGBUS"), "size 0: close did not unmap"
    assert host.settle() == {}
    assert host.alive() == {"a"}
    assert host.step("a", "close", fd) == Value(0)
    assert host.step("a", "pipe") == Value((3, 4)), "the number is free for the host again"
    assert host.step("a", "shm_open", "/s", RDWR) == Value(5), "ours avoid the host's"


def test_hosted_exec_closes_and_unmaps(host):
    fd = host.step("a", "shm_open", "/s", CREAT | RDWR, 0o600).detail
    host.step("a", "ftruncate", fd, P)
    m = host.step("a", "mmap", fd, P, "rw", "shared").detail
    host.step("a", "exec_self")
    assert host.step("a", "map_read", m, 0, 1) == Errno("EINVAL")
    assert host.step("a", "fstat", fd) == Errno("EBADF"), "close-on-exec"


def test_misuse(model):
    with pytest.raises(ModelUsageError):
        model.step("a", "shm_open", 7, RDWR)
    with pytest.raises(ModelUsageError):
        model.step("a", "mmap", -1, P, "rwx", "shared-anon")
    with pytest.raises(ModelUsageError):
        model.expire("a")


# -- against this machine's glibc and kernel -------------------------------------------------
_libc = ctypes.CDLL(None, use_errno=True)
_libc.shm_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint]
_libc.shm_unlink.argtypes = [ctypes.c_char_p]


def _real_errno(call: str, name: str) -> str | None:
    if call == "shm_open":
        result = _libc.shm_open(name.encode(), CREAT | RDWR, 0o600)
    else:
        result = _libc.shm_unlink(name.encode())
    if result >= 0:
        if call == "shm_open":
            os.close(result)
            _libc.shm_unlink(name.encode())
        return None
    import errno
    return errno.errorcode[ctypes.get_errno()]


@pytest.mark.parametrize("length", [0, 1, 254, 255, 256, 259, 260, 300])
@pytest.mark.parametrize("call", ["shm_open", "shm_unlink"])
def test_name_rules_match_glibc(call, length):
    stem = f"ipcc-name-{os.getpid()}-"
    name = "/" + (stem + "x" * length)[:length] if length else "/"
    expected = check_name(name, unlink=call == "shm_unlink")
    if call == "shm_unlink" and expected is None:
        expected = "ENOENT"  # nothing has the name
    assert _real_errno(call, name) == expected, name


def test_page_rules_match_the_kernel():
    import mmap

    name = f"/ipcc-pages-{os.getpid()}"
    fd = _libc.shm_open(name.encode(), CREAT | EXCL | RDWR, 0o600)
    assert fd >= 0
    try:
        m = ShmModel(mmap.PAGESIZE)
        page = m.page
        m.spawn("a")
        mfd = m.step("a", "shm_open", name, CREAT | RDWR, 0o600).detail
        os.ftruncate(fd, page + 100)
        m.step("a", "ftruncate", mfd, page + 100)
        handle = m.step("a", "mmap", mfd, 2 * page, "rw", "shared").detail
        os.ftruncate(fd, 2 * page)  # Python's mmap refuses to map past the end
        view = mmap.mmap(fd, 2 * page)
        os.ftruncate(fd, page + 100)
        view[page + 200:page + 204] = b"tail"  # past the end, inside the last page
        m.step("a", "map_write", handle, page + 200, b"tail")
        for size in (2 * page, page + 100, page + 150, 2 * page):
            os.ftruncate(fd, size)
            m.step("a", "ftruncate", mfd, size)
            assert view[page + 200:page + 204] == m.step("a", "map_read", handle, page + 200, 4).detail, size
        view.close()
    finally:
        os.close(fd)
        _libc.shm_unlink(name.encode())
