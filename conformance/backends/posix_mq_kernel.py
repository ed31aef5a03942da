"""POSIX message queues on the running kernel, through libc (ctypes)."""

from __future__ import annotations


class PosixMqKernelOps:
    """POSIX message queue operations; a mixin of the kernel backend."""

    control_fd: int
