"""The POSIX named semaphore and shared memory operations: the shared contract.

Like :mod:`conformance.backends.sysv_ops`, the agreement between the backends
that perform these operations inside actors (``kernel`` through libc,
``posix_ipc`` and ``shared_memory`` through those libraries), the reference
model that predicts them, and the specs that name them. Every operation
returns plain data or raises ``OSError`` with the errno the call set.

Conventions:

* **names** are strings with one leading slash (``"/ipcc-1234-3-s0"``).
  ``/dev/shm`` is not namespaced, so specs make names unique per worker
  process and scenario (the ``posix_names`` fixture prefixes the pid).
* **semaphore handles**: ``sem_open`` returns a small int local to the actor,
  the lowest unused one (like the attachment handles of ``shmat`` in
  :mod:`.sysv_ops`); the ``sem_t *`` itself is never exposed. ``fork``
  copies the table: the child's handles name the same semaphores.
* **timeouts** are relative: ``sem_timedwait(h, sec, nsec)`` waits until
  *now* + ``sec`` seconds + ``nsec`` nanoseconds on CLOCK_REALTIME. An
  ``nsec`` outside 0..999999999 is passed to the call unnormalised, as the
  invalid ``tv_nsec`` of the absolute deadline.
* **shared memory** objects are used through the descriptor ``shm_open``
  returns and the ordinary operations of :mod:`.ops`: ``ftruncate``,
  ``fstat``, ``mmap``, ``map_read``, ``map_write``, ``munmap``, ``close``.
"""

from __future__ import annotations

from .opspec import OpSpec

#: SEM_VALUE_MAX of glibc on Linux (INT_MAX)
SEM_VALUE_MAX = 2**31 - 1
#: NAME_MAX: the longest name after the slash (glibc makes /dev/shm/sem.NAME for semaphores,
#: so a semaphore name may be 4 characters shorter)
NAME_MAX = 255

POSIX_SEMSHM_OPS: dict[str, OpSpec] = {
    spec.name: spec
    for spec in (
        # -- named semaphores ------------------------------------------------
        OpSpec("sem_open", "sem_open(name: str, oflag: int, mode: int = 0o600, value: int = 0)",
               "semaphore handle (lowest unused small int of the actor)", ("open", "openat")),
        OpSpec("sem_close", "sem_close(handle: int)", "0; EINVAL for an unknown handle"),
        OpSpec("sem_unlink", "sem_unlink(name: str)", "0"),
        OpSpec("sem_wait", "sem_wait(handle: int)", "0", ("futex",)),
        OpSpec("sem_trywait", "sem_trywait(handle: int)", "0; EAGAIN when the value is 0"),
        OpSpec("sem_timedwait", "sem_timedwait(handle: int, sec: int, nsec: int)",
               "0; ETIMEDOUT when the relative timeout runs out; EINVAL for nsec outside "
               "0..999999999 when the call would block", ("futex",)),
        OpSpec("sem_post", "sem_post(handle: int)", "0; EOVERFLOW at SEM_VALUE_MAX"),
        OpSpec("sem_getvalue", "sem_getvalue(handle: int)", "the value (never negative on Linux)"),
        # -- shared memory objects --------------------------------------------
        OpSpec("shm_open", "shm_open(name: str, oflag: int, mode: int = 0o600)", "new descriptor",
               ("open", "openat")),
        OpSpec("shm_unlink", "shm_unlink(name: str)", "0"),
    )
}
