"""Requirements declared as data, decided by the runner.

A clause lists what it needs as short strings; the plugin evaluates them
before the test runs and reports the clause ``unsupported`` (with the reason)
when this system lacks one, LTP-style:

``root``             the suite runs with euid 0
``unprivileged``     an unprivileged uid can be used (needs root to switch)
``kernel>=X.Y``      the running kernel is at least X.Y
``feature:NAME``     a probe in :data:`FEATURES` succeeds (``kcmp``, ``mqueue``...)
``command:NAME``     an executable is on PATH (``sh``, ``cc``)
``backend:NAME``     only meaningful with this backend
``processes``        needs real processes (a shell, /proc): not the model backend
"""

from __future__ import annotations

import os
import platform
import shutil
from collections.abc import Callable


def kernel_version() -> tuple[int, ...]:
    release = platform.release().split("-")[0]
    parts = []
    for piece in release.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def _probe_kcmp() -> bool:
    """kcmp(2) exists only with CONFIG_KCMP (or CONFIG_CHECKPOINT_RESTORE)."""
    import ctypes

    numbers = {"x86_64": 312, "aarch64": 272}
    nr = numbers.get(platform.machine())
    if nr is None:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    pid = os.getpid()
    return libc.syscall(nr, pid, pid, 0, 0, 0) == 0  # KCMP_FILE, fd 0 vs itself


def _probe_mqueue() -> bool:
    return os.path.isdir("/dev/mqueue")


FEATURES: dict[str, Callable[[], bool]] = {
    "kcmp": _probe_kcmp,
    "mqueue": _probe_mqueue,
    "proc-syscall": lambda: os.path.exists("/proc/self/syscall"),
}


def unmet(requirement: str, backend: str) -> str | None:
    """None when the requirement holds here, else the reason it does not."""
    if requirement == "root":
        return None if os.geteuid() == 0 else "needs root"
    if requirement == "unprivileged":
        return None if os.geteuid() == 0 else "needs root to switch to an unprivileged uid"
    if requirement.startswith("kernel>="):
        wanted = tuple(int(p) for p in requirement[len("kernel>="):].split("."))
        have = kernel_version()
        if have[: len(wanted)] < wanted:
            return f"needs kernel {'.'.join(map(str, wanted))} or later (running {platform.release()})"
        return None
    if requirement.startswith("feature:"):
        name = requirement[len("feature:"):]
        probe = FEATURES.get(name)
        if probe is None:
            raise ValueError(f"unknown feature requirement {name!r}")
        return None if probe() else f"this system lacks {name}"
    if requirement.startswith("command:"):
        name = requirement[len("command:"):]
        return None if shutil.which(name) else f"needs the {name} command"
    if requirement == "processes":
        return "the model backend runs no real processes" if backend == "model" else None
    if requirement.startswith("backend:"):
        name = requirement[len("backend:"):]
        return None if backend == name else f"applies only to the {name} backend"
    raise ValueError(f"unknown requirement {requirement!r}")


def first_unmet(requirements: tuple[str, ...], backend: str) -> str | None:
    for requirement in requirements:
        reason = unmet(requirement, backend)
        if reason:
            return reason
    return None
