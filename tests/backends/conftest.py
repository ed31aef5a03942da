"""Fixtures for the backend tests: one zygote per backend, scenarios, a System V sweep."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator

import pytest

from conformance.backends.registry import BUILTIN
from conformance.backends.sysv_ops import IPC_RMID
from conformance.harness.scenario import Scenario
from conformance.harness.zygote import ZygoteClient

#: the backends whose System V operations these tests drive
SYSV_BACKENDS = ("kernel", "sysv_ipc")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.msgctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
_libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
_libc.semctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]


def sysv_objects() -> set[tuple[str, int]]:
    """(kind, id) of every System V object in this process's IPC namespace."""
    found = set()
    for kind in ("msg", "sem", "shm"):
        with open(f"/proc/sysvipc/{kind}") as f:
            for row in f.read().splitlines()[1:]:
                fields = row.split()
                if len(fields) > 1:
                    found.add((kind, int(fields[1])))
    return found


@pytest.fixture(scope="module", params=SYSV_BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[tuple[str, ZygoteClient]]:
    """(name, zygote) of one backend; every test using it runs once per backend."""
    name = request.param
    if name == "sysv_ipc":
        pytest.importorskip("sysv_ipc")
    path = BUILTIN[name].process_ops
    assert path is not None
    zygote = ZygoteClient(path)
    yield name, zygote
    zygote.close()


@pytest.fixture
def sysv_sweep() -> Iterator[None]:
    """Remove any System V object a failing test left behind.

    Tests remove what they create; this only keeps one failure from turning
    into a leak reported against every test after it.
    """
    before = sysv_objects()
    yield
    for kind, ident in sysv_objects() - before:
        if kind == "msg":
            _libc.msgctl(ident, IPC_RMID, None)
        elif kind == "sem":
            _libc.semctl(ident, 0, IPC_RMID)
        else:
            _libc.shmctl(ident, IPC_RMID, None)


@pytest.fixture
def sc(backend: tuple[str, ZygoteClient], tmp_path: os.PathLike[str], sysv_sweep: None) -> Iterator[Scenario]:
    _name, zygote = backend
    with Scenario(zygote, base_dir=str(tmp_path)) as scenario:
        yield scenario


@pytest.fixture
def lib(backend: tuple[str, ZygoteClient]) -> bool:
    """True when the backend under test is the sysv_ipc library."""
    return backend[0] == "sysv_ipc"
