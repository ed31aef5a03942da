"""Keeping runs apart from the host and from each other, and proving it.

* :func:`enter_private_ipc_namespace` puts the calling process (a pytest
  worker, before its zygote starts) into a new IPC namespace when it may, so
  System V objects and POSIX message queues made by specs never touch the
  host's and parallel workers never see each other's keys.
* :func:`pin_to_one_cpu` keeps a worker, its zygote and its actors on one
  CPU, and parallel workers on different ones.
* :class:`LeakGuard` snapshots what a spec could leave behind — this
  process's descriptors, IPC objects in the namespace, ``/dev/shm`` and
  ``/dev/mqueue`` entries, files in the scenario base directory, actor
  processes — and reports anything new after the spec.
* POSIX message queues are listed where this process's IPC namespace shows
  them: when root, :func:`enter_private_ipc_namespace` also enters a private
  mount namespace and mounts a fresh ``mqueue`` file system there — on
  ``/dev/mqueue`` if the directory exists, else a detached mount held open —
  so the host's ``/dev`` is never touched and the listing holds
  this worker's queues only; a private tmpfs is mounted on ``/dev/shm`` in
  the same namespace for the same reason. Without root there is no mount:
  the guard checks the names in ``/dev/mqueue`` that carry this process's
  prefix.
"""

from __future__ import annotations

import ctypes
import os
import tempfile
from dataclasses import dataclass

CLONE_NEWIPC = 0x08000000
CLONE_NEWNS = 0x00020000
MS_REC, MS_PRIVATE, MNT_DETACH = 0x4000, 1 << 18, 2
#: the prefix of the specs' queue names (conformance.backends.posix_mq_ops.NAME_PREFIX
#: without its slash; the harness imports nothing outside the standard library)
MQ_NAME_PREFIX = "ipcc-mq"
#: where this process sees the queues of its own IPC namespace, once mounted:
#: /dev/mqueue, or an open descriptor of a detached mount
mqueue_dir: str | int | None = None


def enter_private_ipc_namespace() -> bool:
    """unshare(CLONE_NEWIPC) when root; True if this process is now private."""
    if os.geteuid() != 0:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWIPC) != 0:
        return False
    _mount_private_mqueue(libc)
    return True


def pin_to_one_cpu(worker_index: int) -> int | None:
    """Pin this process (and so the zygote and actors it starts) to one CPU.

    A step hands control from the test process to an actor and back, and
    both sleep in between. On two CPUs the sleeper is woken on the other
    one, and waking an idle (virtual) CPU costs more than the step itself:
    a whole ``ci`` run with one worker took 37-39 s on one CPU against
    44-45 s spread over two. Worker ``n`` takes the ``n``-th allowed CPU
    (modulo their number), so two workers on two CPUs never share one.
    Returns the CPU, or None where affinity cannot be set.
    """
    try:
        allowed = sorted(os.sched_getaffinity(0))
        cpu = allowed[worker_index % len(allowed)]
        os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError, IndexError):
        return None
    return cpu


def _mount_private_mqueue(libc: ctypes.CDLL) -> None:
    """Mount this IPC namespace's mqueue file system in a mount namespace of our own.

    An mqueue mount shows the queues of the mounter's IPC namespace, so it
    is made after CLONE_NEWIPC. Mount propagation is made private first:
    nothing mounted here reaches the host. Without a ``/dev/mqueue`` the
    file system is mounted on a temporary directory, opened, and detached
    at once: the open directory still lists the queues, and nothing is left
    on the host's file systems. On failure the guard falls back to the
    unprivileged check.
    """
    global mqueue_dir
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                           ctypes.c_void_p]
    if libc.unshare(CLONE_NEWNS) != 0 or libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return
    if os.path.isdir("/dev/mqueue"):
        if libc.mount(b"mqueue", b"/dev/mqueue", b"mqueue", 0, None) == 0:
            mqueue_dir = "/dev/mqueue"
    else:
        target = tempfile.mkdtemp(prefix="ipcc-mqueue-")
        if libc.mount(b"mqueue", os.fsencode(target), b"mqueue", 0, None) == 0:
            mqueue_dir = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
            libc.umount2(os.fsencode(target), MNT_DETACH)
        os.rmdir(target)
    # POSIX shared memory and named semaphores live in /dev/shm, which no IPC
    # namespace separates: a private tmpfs there keeps this worker's apart
    # (and its leak check blind to other runs on the same machine).
    if os.path.isdir("/dev/shm"):
        libc.mount(b"tmpfs", b"/dev/shm", b"tmpfs", 0, b"mode=1777")


def _mqueue_listing() -> frozenset[str]:
    """This namespace's queues, or (no private mount) this process's among the host's."""
    if mqueue_dir is not None:
        return _listing(mqueue_dir)
    mine = f"{MQ_NAME_PREFIX}-{os.getpid()}-"
    return frozenset(name for name in _listing("/dev/mqueue") if name.startswith(mine))


def _listing(path: str | int) -> frozenset[str]:
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
            mqueue=_mqueue_listing(),
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
            ("message queues", before.mqueue, after.mqueue),
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
