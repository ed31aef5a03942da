"""The POSIX semaphore and shared memory backends, checked directly (without the harness).

* **The kernel backend** in this test process: a round trip of every
  operation, and the relative deadline of ``sem_timedwait``.
* **The posix_ipc backend**: each library exception comes back as the errno
  the failing call set, and what the library cannot express is
  ``NotImplementedError`` with the reason, never a made-up errno.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Iterator

import pytest

from conformance.backends.kernel import KernelProcessOps
from conformance.backends.posix_ipc_backend import PosixIpcOps
from conformance.backends.posix_semshm_kernel import deadline
from conformance.backends.posix_semshm_ops import SEM_VALUE_MAX

BACKENDS = {"kernel": KernelProcessOps, "posix_ipc": PosixIpcOps}


@pytest.fixture
def name() -> Iterator[str]:
    """A fresh name; whatever it names is removed afterwards."""
    chosen = f"/ipcc-backend-{os.getpid()}-{time.monotonic_ns()}"
    yield chosen
    for entry in (f"/dev/shm/sem.{chosen[1:]}", f"/dev/shm/{chosen[1:]}"):
        if os.path.exists(entry):
            os.unlink(entry)


@pytest.fixture(params=sorted(BACKENDS))
def ops(request: pytest.FixtureRequest) -> KernelProcessOps:
    return BACKENDS[request.param]()


def _errno_of(call, *args) -> int:  # type: ignore[no-untyped-def]
    with pytest.raises(OSError) as info:
        call(*args)
    return int(info.value.errno)


def test_semaphore_round_trip(ops, name):
    h = ops.sem_open(name, os.O_CREAT | os.O_EXCL, 0o600, 2)
    assert h == 0
    assert ops.sem_open(name, 0, 0o600, 0) == 1, "the lowest unused handle"
    assert ops.sem_getvalue(1) == 2
    assert ops.sem_trywait(h) == 0 and ops.sem_wait(1) == 0
    assert _errno_of(ops.sem_trywait, h) == errno.EAGAIN
    assert ops.sem_post(h) == 0 and ops.sem_getvalue(1) == 1
    assert ops.sem_close(1) == 0
    assert _errno_of(ops.sem_getvalue, 1) == errno.EINVAL, "a closed handle is unknown"
    assert ops.sem_unlink(name) == 0
    assert _errno_of(ops.sem_open, name, 0, 0o600, 0) == errno.ENOENT
    assert _errno_of(ops.sem_unlink, name) == errno.ENOENT


def test_semaphore_errors(ops, name):
    ops.sem_open(name, os.O_CREAT | os.O_EXCL, 0o600, SEM_VALUE_MAX)
    assert _errno_of(ops.sem_open, name, os.O_CREAT | os.O_EXCL, 0o600, 0) == errno.EEXIST
    assert _errno_of(ops.sem_post, 0) == errno.EOVERFLOW
    assert _errno_of(ops.sem_open, "/a/b", os.O_CREAT, 0o600, 0) == errno.EINVAL
    assert _errno_of(ops.sem_open, "/" + "x" * 252, os.O_CREAT, 0o600, 0) == errno.ENAMETOOLONG
    assert _errno_of(ops.sem_open, name + "v", os.O_CREAT, 0o600, SEM_VALUE_MAX + 1) == errno.EINVAL
    ops.sem_unlink(name)


def test_timedwait_is_relative(ops, name):
    h = ops.sem_open(name, os.O_CREAT | os.O_EXCL, 0o600, 0)
    start = time.monotonic()
    assert _errno_of(ops.sem_timedwait, h, 0, 50_000_000) == errno.ETIMEDOUT
    elapsed = time.monotonic() - start
    assert 0.05 <= elapsed < 5, f"waited {elapsed:.3f}s for a 50 ms timeout"
    ops.sem_unlink(name)


def test_shm_round_trip(ops, name):
    fd = ops.shm_open(name, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    assert os.fstat(fd).st_size == 0
    assert os.stat(f"/dev/shm/{name[1:]}").st_mode & 0o777 == 0o600
    assert _errno_of(ops.shm_open, name, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600) == errno.EEXIST
    ops.ftruncate(fd, 4096)
    m = ops.mmap(fd, 4096, "rw", "shared")
    ops.map_write(m, 10, b"hello")
    ops.munmap(m)
    os.close(fd)
    ro = ops.shm_open(name, os.O_RDONLY, 0)
    m = ops.mmap(ro, 4096, "r", "shared")
    assert ops.map_read(m, 10, 5) == b"hello"
    ops.munmap(m)
    os.close(ro)
    assert ops.shm_unlink(name) == 0
    assert _errno_of(ops.shm_unlink, name) == errno.ENOENT
    assert _errno_of(ops.shm_open, "/a/b", os.O_CREAT | os.O_RDWR, 0o600) == errno.EINVAL
    assert _errno_of(ops.shm_open, "/" + "x" * 256, os.O_CREAT | os.O_RDWR, 0o600) == errno.ENAMETOOLONG


def test_deadline_keeps_invalid_nsec():
    sec, nsec = deadline(1, 999_999_999)
    assert 0 <= nsec < 1_000_000_000
    assert abs(sec - (time.time() + 2)) < 2
    assert deadline(0, -1)[1] == -1
    assert deadline(0, 1_000_000_000)[1] == 1_000_000_000


@pytest.mark.parametrize("call", [
    ("sem_timedwait", (0, -1)), ("sem_timedwait", (0, 1_000_000_000)), ("sem_timedwait", (0, 0)),
])
def test_posix_ipc_cannot_express(name, call):
    ops = PosixIpcOps()
    h = ops.sem_open(name, os.O_CREAT | os.O_EXCL, 0o600, 0)
    op, args = call
    with pytest.raises(NotImplementedError, match="acquire"):
        getattr(ops, op)(h, *args)
    with pytest.raises(NotImplementedError, match="O_RDONLY or O_RDWR"):
        ops.shm_open(name, os.O_WRONLY, 0)
    with pytest.raises(NotImplementedError, match="O_EXCL without O_CREAT"):
        ops.sem_open(name, os.O_EXCL, 0o600, 0)
    ops.sem_unlink(name)
