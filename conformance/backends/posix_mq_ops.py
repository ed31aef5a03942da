"""The POSIX message queue operations an actor can perform: the shared contract.

Like :mod:`conformance.backends.sysv_ops`, the agreement between the backends
that perform these operations inside actors, the reference model that
predicts them, and the specs that name them. Every operation returns plain
data or raises ``OSError`` with the errno the call set.

Conventions:

* **Queue descriptors.** ``mq_open`` returns the ``mqd_t`` itself. On Linux
  a message queue descriptor is a file descriptor (``mq_overview(7)``), so
  it comes from the same table as every other descriptor — the lowest free
  number — is inherited by ``fork`` and can be passed back as is.
* **Names** are ``str`` and passed through unchanged, so the name rules
  (leading slash, length) are the kernel's to judge. Specs take names from
  the ``mq_names`` fixture, which prefixes them with the worker's pid: the
  queue namespace is per IPC namespace, and unprivileged runs share the
  host's.
* **Attributes** for ``mq_open`` are ``(maxmsg, msgsize)`` or ``None`` (the
  kernel's defaults, ``/proc/sys/fs/mqueue/msg_default`` and
  ``msgsize_default``). ``mq_getattr`` returns ``{"flags", "maxmsg",
  "msgsize", "curmsgs"}``; ``mq_setattr`` takes the new ``mq_flags`` and
  returns the old attributes in the same shape.
* **Timeouts** of the timed variants are *relative*, in nanoseconds: the
  backend adds them to ``CLOCK_REALTIME`` (what the C calls take is an
  absolute time). A model can then reason about "the time ran out" without
  a clock.
* **Received messages** are ``(bytes, priority)``.
* **Notification**: ``mq_notify(mqd, sig)`` with an int registers
  ``SIGEV_SIGNAL`` with that signal, ``"none"`` registers ``SIGEV_NONE``
  (the registration without any delivery), ``None`` removes the caller's
  registration (a NULL ``sevp``).
"""

from __future__ import annotations

from .opspec import OpSpec

#: mq_send(3): "msg_prio ... must be less than MQ_PRIO_MAX" (32768 on Linux)
MQ_PRIO_MAX = 32768
#: the name prefix every spec's queue carries (``mq_names`` adds the pid)
NAME_PREFIX = "/ipcc-mq"
#: NAME_MAX: the longest name (without its leading slash) a queue can have
NAME_MAX = 255

POSIX_MQ_OPS: dict[str, OpSpec] = {
    spec.name: spec
    for spec in (
        OpSpec("mq_open", "mq_open(name: str, oflag: int, mode: int = 0o600, "
                          "attr: tuple[int, int] | None = None)",
               "the queue descriptor (an int: the lowest free descriptor)"),
        OpSpec("mq_close", "mq_close(mqd: int)", "0"),
        OpSpec("mq_unlink", "mq_unlink(name: str)", "0"),
        OpSpec("mq_send", "mq_send(mqd: int, data: bytes, prio: int)", "0", ("mq_timedsend",)),
        OpSpec("mq_timedsend", "mq_timedsend(mqd: int, data: bytes, prio: int, timeout_ns: int)",
               "0; ETIMEDOUT when the relative timeout runs out", ("mq_timedsend",)),
        OpSpec("mq_receive", "mq_receive(mqd: int, bufsize: int)", "(data, prio)",
               ("mq_timedreceive",)),
        OpSpec("mq_timedreceive", "mq_timedreceive(mqd: int, bufsize: int, timeout_ns: int)",
               "(data, prio); ETIMEDOUT when the relative timeout runs out", ("mq_timedreceive",)),
        OpSpec("mq_getattr", "mq_getattr(mqd: int)", "{'flags', 'maxmsg', 'msgsize', 'curmsgs'}"),
        OpSpec("mq_setattr", "mq_setattr(mqd: int, flags: int)",
               "the old attributes, as mq_getattr returns them"),
        OpSpec("mq_notify", "mq_notify(mqd: int, sig: int | str | None)",
               "0; sig: a signal number (SIGEV_SIGNAL), 'none' (SIGEV_NONE) or None (unregister)"),
    )
}
