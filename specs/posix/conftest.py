"""Fixtures shared by the POSIX IPC specs (message queues, semaphores, shared memory).

POSIX IPC names are global: message queues to the IPC namespace (shared
with the host in unprivileged runs), semaphores and shared memory objects to
``/dev/shm``. So every name a spec uses carries the test process's pid and a
serial number — parallel workers and successive scenarios never meet — and
after the test the fixture itself, never the backend under test, removes
whatever the names still name: a broken backend leaks nothing.
"""

from __future__ import annotations

import ctypes
import errno
import itertools
import os
from collections.abc import Callable, Iterator

import pytest

from conformance.backends.posix_mq_ops import NAME_PREFIX as MQ_PREFIX

_SERIAL = itertools.count()


class PosixNames:
    """Fresh names for one test: ``name = names.new()``; ``sweep()`` removes them."""

    def __init__(self, prefix: str, remove: Callable[[str], None]) -> None:
        self.prefix = prefix
        self._remove = remove
        self.given: list[str] = []

    def new(self) -> str:
        name = f"{self.prefix}{next(_SERIAL)}"
        self.given.append(name)
        return name

    def sweep(self) -> None:
        """Remove what every name given so far still names (a machine sweeps between examples)."""
        for name in self.given:
            self._remove(name)


def _unlink_queue(name: str) -> None:
    """mq_unlink through libc; a name already gone is fine."""
    ctypes.CDLL(None, use_errno=True).mq_unlink(os.fsencode(name))


def _unlink_semaphore_and_object(name: str) -> None:
    """Remove ``/dev/shm/sem.NAME`` (a semaphore) and ``/dev/shm/NAME`` (a shm object)."""
    for entry in (f"/dev/shm/sem.{name[1:]}", f"/dev/shm/{name[1:]}"):
        try:
            os.unlink(entry)
        except OSError as exc:
            # gone already, or a name too long to have been made at all
            if exc.errno not in (errno.ENOENT, errno.ENAMETOOLONG):
                raise


@pytest.fixture
def mq_names() -> Iterator[PosixNames]:
    """Message queue names ``/ipcc-mq-<pid>-<n>``, unlinked after the test."""
    names = PosixNames(f"{MQ_PREFIX}-{os.getpid()}-", _unlink_queue)
    yield names
    names.sweep()


@pytest.fixture
def posix_names() -> Iterator[PosixNames]:
    """Semaphore and shared memory names ``/ipcc-<pid>-<n>``, removed after the test."""
    names = PosixNames(f"/ipcc-{os.getpid()}-", _unlink_semaphore_and_object)
    yield names
    names.sweep()


@pytest.fixture
def unprivileged_ids() -> tuple[int, int]:
    """The uid and gid permission specs drop an actor to (nobody/nogroup)."""
    return (65534, 65534)
