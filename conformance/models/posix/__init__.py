"""Reference models of POSIX IPC: message queues, named semaphores, shared memory.

Each is a sub-model with the hosted shape of
:class:`~conformance.models.sysv.SysVModel`.
"""

from .sem import SemModel as SemModel
