"""The POSIX named semaphore and shared memory operations: the shared contract.

Like :mod:`conformance.backends.sysv_ops`, the agreement between the backends
that perform these operations inside actors, the reference model that
predicts them, and the specs that name them.
"""

from __future__ import annotations

from .ops import OpSpec

POSIX_SEMSHM_OPS: dict[str, OpSpec] = {}
