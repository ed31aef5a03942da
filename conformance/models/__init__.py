"""The reference model: what Linux 6.x does with descriptors, pipes and FIFOs.

:class:`ProcessModel` predicts, without any system call, the exact outcome of
every operation of :mod:`conformance.backends.ops` for a set of actors. It is
the suite's oracle: scenarios run on the kernel and on the model must agree
step for step. Where the kernel's answer depends on something the model does
not know (timing between woken processes, filesystem details) it raises
:class:`Unmodelled` instead of guessing.

Module map, from the bottom up:

* :mod:`.constants`, :mod:`.errors`, :mod:`.args` - kernel numbers, the two
  exceptions, C-style argument conversion;
* :mod:`.files` (regular files, FIFOs, /dev/null, socket names),
  :mod:`.pipes` (the ring of page slots), :mod:`.sockets` (unix stream pairs
  and datagram mailboxes), :mod:`.descriptions` (open file descriptions),
  :mod:`.process`, :mod:`.pending` (blocked calls), :mod:`.world` (all state
  in one copyable object);
* :mod:`.lifecycle` (releasing descriptions, signals, death), :mod:`.pipeio`,
  :mod:`.sockio`, :mod:`.fifo` (opening pipes by name), :mod:`.blocking`
  (resuming sleepers), :mod:`.schedule` and :mod:`.fingerprint` (when the
  order of woken processes matters);
* ``ops_open``, ``ops_fd``, ``ops_io``, ``ops_proc`` - one function per
  operation of the catalogue; :mod:`.model` - the facade;
* :mod:`.host` - reads this machine's parameters (the only module that makes
  system calls, and the model never imports it).
"""

from .errors import ModelUsageError, Unmodelled
from .model import ProcessModel

__all__ = ["ModelUsageError", "ProcessModel", "Unmodelled"]
