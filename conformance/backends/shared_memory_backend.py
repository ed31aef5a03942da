"""The ``shared_memory`` backend: POSIX shared memory through the standard
library's :mod:`multiprocessing.shared_memory`; every other operation as the
kernel backend."""

from __future__ import annotations

from .kernel import KernelProcessOps


class SharedMemoryOps(KernelProcessOps):
    name = "shared_memory"
