"""Keeping runs apart from the host and from each other, and proving it.

* :func:`enter_private_ipc_namespace` puts the calling process (a pytest
  worker, before its zygote starts) into a new IPC namespace when it may, so
  System V objects and POSIX message queues made by specs never touch the
  host's and parallel workers never see each other's keys.
* :class:`LeakGuard` snapshots what a spec could leave behind — this
  process's descriptors, IPC objects in the namespace, ``/dev/shm`` and
  ``/dev/mqueue`` entries, files in the scenario base directory, actor
  processes — and reports anything new after the spec.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass

CLONE_NEWIPC = 0x08000000


def enter_private_ipc_namespace() -> bool:
    """unshare(CLONE_NEWIPC) when root; True if this process is now private."""
    if os.geteuid() != 0:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWIPC) != 0:
        return False
    return True


def _listing(path: str) -> frozenset[str]:
    try:
        return frozenset(os.listdir(path))
    except OSError:
        return frozenset()


def _sysv_objects() -> frozenset[str]:
    found = set()
    for kind in ("msg", "sem", "shm"):
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 1:
                found.add(f"{kind} key={fields[0]} id={fields[1]}")
    return frozenset(found)


@dataclass(frozen=True)
class Snapshot:
    fds: frozenset[str]
    sysv: frozenset[str]
    dev_shm: frozenset[str]
    mqueue: frozenset[str]
    scenario_files: frozenset[str]


class LeakGuard:
    """Compare what exists after a spec with what existed before it."""

    def __init__(self, scenario_base: str) -> None:
        self.scenario_base = scenario_base

    def snapshot(self) -> Snapshot:
        return Snapshot(
            fds=_listing("/proc/self/fd"),
            sysv=_sysv_objects(),
            dev_shm=_listing("/dev/shm"),
            mqueue=_listing("/dev/mqueue"),
            scenario_files=_listing(self.scenario_base),
        )

    def leaks(self, before: Snapshot) -> list[str]:
        after = self.snapshot()
        found = []
        # listdir("/proc/self/fd") opens one descriptor itself; compare sets
        # of descriptors that still resolve, so that one never counts.
        new_fds = sorted(fd for fd in after.fds - before.fds if _fd_alive(int(fd)))
        if new_fds:
            found.append(f"descriptors left open in the test process: {', '.join(new_fds)}")
        for label, old, new in (
            ("System V objects", before.sysv, after.sysv),
            ("/dev/shm entries", before.dev_shm, after.dev_shm),
            ("/dev/mqueue entries", before.mqueue, after.mqueue),
            ("scenario files", before.scenario_files, after.scenario_files),
        ):
            extra = sorted(new - old)
            if extra:
                found.append(f"{label} left behind: {', '.join(extra)}")
        return found


def _fd_alive(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True
