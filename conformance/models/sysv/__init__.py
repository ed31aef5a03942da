"""The reference model of System V IPC: one IPC namespace on Linux 6.x.

:class:`SysVModel` predicts, without any system call, the exact outcome of
every operation of :mod:`conformance.backends.sysv_ops` - message queues,
semaphore sets, shared memory, and the identity changes the permission
rules need - for a set of processes named by strings, including which calls
sleep and in what order sleepers are served. It has the shape of
:class:`~conformance.models.ProcessModel` (``spawn``, ``step``, ``settle``,
``blocked``, ``alive``) plus the lifecycle hooks (``fork``, ``exit``,
``kill``, ``interrupt``, ``expire``) through which a process model hosting it
tells it what happened to a process.

Module map, from the bottom up:

* :mod:`.limits` - the namespace's tunables and root's capabilities
  (``Limits.from_proc()`` is the model's only contact with the system);
* :mod:`.perm` - ``ipc_perm``, the access check and the owner check;
* :mod:`.namespace` - keys, ids and the ``*get`` flag matrix;
  :mod:`.idmap` - pairing the model's ids with a real kernel's;
* :mod:`.state` - processes and the whole world, in one copyable object;
* :mod:`.msg`, :mod:`.sem`, :mod:`.shm` - one module per mechanism, each
  documenting the wake-up order it reproduces;
* :mod:`.lifecycle` - fork, exec, become, death, signals, timeouts;
* :mod:`.schedule` - running woken processes, in every order that matters;
* :mod:`.model` - the facade.
"""

from .idmap import IdMap
from .limits import Limits
from .model import SysVModel

__all__ = ["IdMap", "Limits", "SysVModel"]
