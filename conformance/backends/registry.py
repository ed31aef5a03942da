"""The registry of backends: the built-in ones, entry points, and ``module:Class`` paths."""

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
    # Imported here, not at the top: only the test process needs entry points.
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
