"""The ``shared_memory`` backend, and the standard library behaviour it works around.

Each check runs in a child interpreter so that nothing the library starts
(its ``resource_tracker`` process) can outlive the check: ``subprocess.run``
with captured output returns only when every process holding the child's
stdout — a tracker included — has exited.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def name() -> Iterator[str]:
    """A fresh shared memory name, created one page long by libc; removed afterwards."""
    from conformance.backends.kernel import KernelProcessOps

    chosen = f"/ipcc-shmlib-{os.getpid()}"
    ops = KernelProcessOps()
    fd = ops.shm_open(chosen, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    ops.ftruncate(fd, 4096)
    os.close(fd)
    yield chosen
    if os.path.exists(f"/dev/shm{chosen}"):
        os.unlink(f"/dev/shm{chosen}")


def _child(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout + proc.stderr


def test_backend_attaches_reads_writes_unlinks(name):
    out = _child(f"""
        import os
        from multiprocessing import resource_tracker
        from conformance.backends.shared_memory_backend import SharedMemoryOps
        ops = SharedMemoryOps()
        fd = ops.shm_open({name!r}, os.O_RDWR, 0)
        m = ops.mmap(fd, 4096, "rw", "shared")
        print(ops.map_write(m, 0, b"abc"), ops.map_read(m, 0, 3))
        try:
            ops.close(fd)
        except NotImplementedError as exc:
            print("close while mapped:", exc)
        ops.munmap(m)
        ops.close(fd)
        print("tracker started:", resource_tracker._resource_tracker._pid is not None)
    """)
    assert "3 b'abc'" in out
    assert "close while mapped: SharedMemory.close() unmaps too" in out
    assert "tracker started: False" in out, "the backend must not start the resource tracker"
    assert open(f"/dev/shm{name}", "rb").read(3) == b"abc", "the store reached the object"
    assert os.path.exists(f"/dev/shm{name}"), "attaching and exiting left the object alone"


def test_backend_creates_in_the_library_steps():
    """shm_open(O_CREAT|O_EXCL|O_RDWR, 0600), ftruncate, mmap: SharedMemory(create=True) one step at a
    time, so the new object is empty until ftruncate; the forms the library lacks are refused."""
    chosen = f"/ipcc-shmlib-new-{os.getpid()}"
    try:
        out = _child(f"""
            import os
            from multiprocessing import resource_tracker
            from conformance.backends.shared_memory_backend import SharedMemoryOps
            ops = SharedMemoryOps()
            fd = ops.shm_open({chosen!r}, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
            print("new:", ops.fstat(fd))
            for call, args in (("shm_open", ({chosen!r}, os.O_CREAT | os.O_RDWR, 0o600)),
                               ("shm_open", ({chosen!r}, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o400)),
                               ("mmap", (fd, 4096, "rw", "shared")), ("ftruncate", (fd, 0))):
                try:
                    getattr(ops, call)(*args)
                except NotImplementedError as exc:
                    print("refused:", call)
            ops.ftruncate(fd, 4096)
            m = ops.mmap(fd, 100, "rw", "shared")
            print(ops.map_write(m, 0, b"new"), ops.fstat(fd))
            ops.munmap(m)
            ops.close(fd)
            print("tracker started:", resource_tracker._resource_tracker._pid is not None)
        """)
        assert "new: ('-', 0)" in out
        assert out.count("refused:") == 4, out
        assert "3 ('-', 4096)" in out
        assert "tracker started: False" in out
        assert open(f"/dev/shm{chosen}", "rb").read(3) == b"new"
    finally:
        if os.path.exists(f"/dev/shm{chosen}"):
            os.unlink(f"/dev/shm{chosen}")


def test_backend_unlink(name):
    _child(f"""
        from conformance.backends.shared_memory_backend import SharedMemoryOps
        SharedMemoryOps().shm_unlink({name!r})
    """)
    assert not os.path.exists(f"/dev/shm{name}")


def test_library_attach_unlinks_at_exit(name):
    """bpo-38119 / gh-82300, as Python 3.11 has it: a process that only *attaches*
    (``create=False``) registers the segment with its resource tracker, and the
    tracker unlinks it when the process exits — the object another process
    created is gone for everyone. POSIX says the object lives until shm_unlink.
    This test records the library's behaviour; it fails once the library stops
    doing it (Python 3.13 adds ``track=False``, the default stays the same)."""
    out = _child(f"""
        from multiprocessing import shared_memory
        segment = shared_memory.SharedMemory({name[1:]!r})
        segment.close()
    """)
    assert not os.path.exists(f"/dev/shm{name}"), "the attaching process's exit unlinked the object"
    assert "leaked shared_memory objects" in out, "the tracker says why"
