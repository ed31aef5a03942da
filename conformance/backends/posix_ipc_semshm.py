"""POSIX named semaphores and shared memory through the posix_ipc library."""

from __future__ import annotations


class PosixIpcSemShmOps:
    """POSIX semaphore and shared memory operations over posix_ipc; a mixin of the posix_ipc backend."""

    control_fd: int
