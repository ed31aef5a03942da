"""POSIX named semaphores and shared memory on the running kernel, through libc (ctypes)."""

from __future__ import annotations


class PosixSemShmKernelOps:
    """POSIX semaphore and shared memory operations; a mixin of the kernel backend."""

    control_fd: int
