"""Fixtures shared by the POSIX IPC specs (message queues, semaphores, shared memory)."""


# -- message queues (specs/posix/mq) ---------------------------------------
import ctypes as _mq_ctypes  # noqa: E402
import os as _mq_os  # noqa: E402
from collections.abc import Iterator as _MqIterator  # noqa: E402

import pytest as _mq_pytest  # noqa: E402

from conformance.backends.posix_mq_ops import NAME_PREFIX as _MQ_PREFIX  # noqa: E402


class MqNames:
    """Fresh message queue names for one test: ``mq_names.new()``.

    Queue names are global to the IPC namespace, and unprivileged runs share
    the host's, so each name carries the test process's pid
    (``/ipcc-mq-<pid>-<n>``): parallel workers never meet. Every name handed
    out is unlinked after the test by the test process itself through libc —
    never by the backend under test, so a broken backend leaks nothing.
    """

    def __init__(self) -> None:
        self.issued: list[str] = []

    def new(self) -> str:
        name = f"{_MQ_PREFIX}-{_mq_os.getpid()}-{len(self.issued)}"
        self.issued.append(name)
        return name

    def sweep(self) -> None:
        """Unlink every queue this test named; a name already gone is fine."""
        libc = _mq_ctypes.CDLL(None, use_errno=True)
        for name in self.issued:
            libc.mq_unlink(_mq_os.fsencode(name))


@_mq_pytest.fixture
def mq_names() -> _MqIterator[MqNames]:
    """Queue names unique to this worker and test, unlinked afterwards."""
    names = MqNames()
    yield names
    names.sweep()


# -- named semaphores and shared memory (specs/posix/sem, specs/posix/shm) -----

import errno  # noqa: E402
import itertools  # noqa: E402
import os  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402

#: the uid and gid permission specs drop an actor to (nobody/nogroup)
SEMSHM_UNPRIVILEGED = (65534, 65534)
_SEMSHM_SERIAL = itertools.count()


class SemShmNames:
    """Fresh POSIX IPC names for one test: ``name = posix_names.new()``.

    ``/dev/shm`` is shared by every process on the machine (no namespace
    hides it), so each name carries this test process's pid and a serial
    number: parallel workers and successive scenarios never meet. After the
    test the fixture itself — never the backend under test — removes every
    semaphore (``/dev/shm/sem.NAME``) and shared memory object
    (``/dev/shm/NAME``) a name it handed out still names.
    """

    def __init__(self) -> None:
        self.prefix = f"ipcc-{os.getpid()}-"
        self.given: list[str] = []

    def new(self) -> str:
        name = f"/{self.prefix}{next(_SEMSHM_SERIAL)}"
        self.given.append(name)
        return name

    def sweep(self) -> None:
        for name in self.given:
            for entry in (f"/dev/shm/sem.{name[1:]}", f"/dev/shm/{name[1:]}"):
                try:
                    os.unlink(entry)
                except OSError as exc:
                    # gone already, or a name too long to have been made at all
                    if exc.errno not in (errno.ENOENT, errno.ENAMETOOLONG):
                        raise
        self.given.clear()


@pytest.fixture
def posix_names() -> Iterator[SemShmNames]:
    """Fresh semaphore and shared memory names, removed after the test (see :class:`SemShmNames`)."""
    names = SemShmNames()
    yield names
    names.sweep()
