"""Backends: the implementations under test, found by name.

A backend provides one or more *mechanisms*. For the process-level
mechanisms (descriptors, pipes, FIFOs) a backend is a class whose methods
perform the operations of :mod:`conformance.backends.ops` inside an actor
process; it is named by an import path ``module:Class`` so the zygote can
load it in a fresh interpreter. The ``model`` backend instead runs every
scenario on the reference model, so the suite can be run against its own
oracle.

Third-party backends register under the entry-point group
``ipc_conformance.backends``; the entry point's value is the ``module:Class``
path. ``--backend`` also accepts such a path directly, which is how the
suite's own tests plug in deliberately broken backends.
"""

from __future__ import annotations

from dataclasses import dataclass

ENTRY_POINT_GROUP = "ipc_conformance.backends"


@dataclass(frozen=True)
class BackendInfo:
    name: str
    #: ``module:Class`` of the process-operations class, or None for ``model``
    process_ops: str | None
    mechanisms: tuple[str, ...]
    description: str


BUILTIN: dict[str, BackendInfo] = {
    "kernel": BackendInfo(
        "kernel", "conformance.backends.kernel:KernelProcessOps",
        ("fd", "pipe", "fifo", "signal", "socket", "mmap", "sysv", "posix"),
        "the running kernel through libc system calls (ctypes)",
    ),
    "sysv_ipc": BackendInfo(
        "sysv_ipc", "conformance.backends.sysv_ipc_backend:SysvIpcOps",
        ("fd", "pipe", "fifo", "sysv"),
        "System V IPC through the sysv_ipc library; everything else as the kernel backend",
    ),
    "posix_ipc": BackendInfo(
        "posix_ipc", "conformance.backends.posix_ipc_backend:PosixIpcOps",
        ("fd", "pipe", "fifo", "posix"),
        "POSIX message queues, semaphores and shared memory through the posix_ipc library; "
        "everything else as the kernel backend",
    ),
    "shared_memory": BackendInfo(
        "shared_memory", "conformance.backends.shared_memory_backend:SharedMemoryOps",
        ("fd", "pipe", "fifo", "posix.shm"),
        "POSIX shared memory through the standard library's multiprocessing.shared_memory; "
        "everything else as the kernel backend",
    ),
    "model": BackendInfo(
        "model", None, ("fd", "pipe", "fifo", "signal", "sysv"),
        "the suite's reference model, run as if it were a system",
    ),
}


class UnknownBackend(Exception):
    pass


def available() -> dict[str, BackendInfo]:
    # Imported here: this package is imported by every actor's zygote, and
    # importlib.metadata would make each of its forks slower.
    from importlib.metadata import entry_points

    found = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in found:
            found[ep.name] = BackendInfo(ep.name, ep.value, ("fd", "pipe", "fifo"),
                                         f"registered by {ep.dist.name if ep.dist else 'a plugin'}")
    return found


def resolve(name: str) -> BackendInfo:
    """Find a backend by name or ``module:Class`` path; UnknownBackend if none."""
    known = available()
    if name in known:
        return known[name]
    if ":" in name:
        module, _, attr = name.partition(":")
        import importlib
        import os
        import sys

        # a path names a module of the project at hand, as "python -m" would
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise UnknownBackend(f"backend path {name!r} cannot be imported: {exc}") from exc
        return BackendInfo(name, name, ("fd", "pipe", "fifo"), f"loaded from {name}")
    names = ", ".join(sorted(known))
    raise UnknownBackend(f"unknown backend {name!r}; installed backends: {names}")
