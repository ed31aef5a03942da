"""POSIX message queues through the posix_ipc library."""

from __future__ import annotations


class PosixIpcMqOps:
    """POSIX message queue operations over posix_ipc; a mixin of the posix_ipc backend."""

    control_fd: int
