"""The ``posix_ipc`` backend: POSIX message queues, semaphores and shared memory
through the posix_ipc library; every other operation as the kernel backend.

The mixins come first so their methods replace the kernel's libc versions.
"""

from __future__ import annotations

from .kernel import KernelProcessOps
from .posix_ipc_mq import PosixIpcMqOps
from .posix_ipc_semshm import PosixIpcSemShmOps


class PosixIpcOps(PosixIpcMqOps, PosixIpcSemShmOps, KernelProcessOps):
    name = "posix_ipc"
