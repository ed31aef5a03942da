"""The ``shared_memory`` backend: POSIX shared memory through the standard
library's :mod:`multiprocessing.shared_memory`; every other operation as the
kernel backend.

``SharedMemory(name, create, size)`` is shm_open, ftruncate and mmap in one:
``create=True`` is ``shm_open(O_CREAT|O_EXCL|O_RDWR, 0600)`` followed by
``ftruncate(size)`` with a size that must be positive; ``create=False``
attaches to an existing object, ``shm_open(O_RDWR)``, and maps all of it.
``buf`` is the mapping, ``close()`` unmaps it and closes the descriptor,
``unlink()`` is shm_unlink. Python prefixes the ``/`` itself, so the
contract's ``"/name"`` is passed as ``"name"``.

How the contract maps onto the library:

* ``shm_open`` without O_CREAT, O_RDWR, is ``SharedMemory(name)``; the
  object is kept and its descriptor returned. ``mmap`` of that descriptor,
  MAP_SHARED over no more than the object's size, is a handle on ``buf``;
  ``map_read``/``map_write`` slice it, ``munmap`` releases it.
* ``shm_unlink`` attaches and calls ``unlink()`` (the class offers no
  unlink by name), then ``close()``.
* **What the library cannot express** raises ``NotImplementedError``:
  creating an object with ``shm_open`` (``SharedMemory`` refuses size 0,
  and a new object must start empty, ``ftruncate`` following), O_CREAT
  without O_EXCL, O_RDONLY and O_WRONLY, O_TRUNC, a mode other than 0600,
  MAP_PRIVATE, read-only and over-long mappings.

The standard library registers every segment it creates *or attaches* with
its ``resource_tracker`` process, which unlinks the segments still
registered when the process exits (bpo-38119, gh-82300): a process that
merely attached destroys the object for everyone when it ends. This backend
attaches without registering — what ``track=False`` gives from Python 3.13
— and unlinks through the same ``_posixshmem.shm_unlink`` that ``unlink()``
calls, so the tracker process is never started in an actor (none is left
behind) and the clauses see the object's POSIX lifetime;
``tests/backends/test_shared_memory_backend.py`` shows the library's own
behaviour.
"""

from __future__ import annotations

import os
from collections.abc import Sized
from multiprocessing import resource_tracker, shared_memory
from typing import Any

from .kernel import KernelProcessOps


def _library_name(name: str) -> str:
    if not name.startswith("/"):
        raise NotImplementedError("multiprocessing.shared_memory always prefixes the slash itself")
    return name[1:]


def _no_registration(name: Sized, rtype: str) -> None:
    """Stands in for ``resource_tracker.register`` while attaching."""


class SharedMemoryOps(KernelProcessOps):
    name = "shared_memory"

    @property
    def segments(self) -> dict[int, Any]:
        """The ``SharedMemory`` objects this actor attached, by descriptor."""
        table: dict[int, Any] | None = self.__dict__.get("_segments")
        if table is None:
            table = self.__dict__["_segments"] = {}
        return table

    @property
    def views(self) -> dict[int, memoryview]:
        """Mapping handles that are views of a segment's ``buf``."""
        table: dict[int, memoryview] | None = self.__dict__.get("_views")
        if table is None:
            table = self.__dict__["_views"] = {}
        return table

    def _attach(self, name: str) -> Any:
        # Attach without the registration SharedMemory makes (see module doc):
        # registering would start a tracker that unlinks the object at exit.
        register = resource_tracker.register
        resource_tracker.register = _no_registration
        try:
            return shared_memory.SharedMemory(_library_name(name))
        finally:
            resource_tracker.register = register

    def shm_open(self, name: str, oflag: int, mode: int = 0o600) -> int:
        if oflag & os.O_CREAT:
            raise NotImplementedError("SharedMemory cannot create an empty object (size must be "
                                      "positive) nor one without O_EXCL or with another mode than 0600")
        if oflag & os.O_ACCMODE != os.O_RDWR or oflag & os.O_TRUNC:
            raise NotImplementedError("SharedMemory opens O_RDWR only, without O_TRUNC")
        segment = self._attach(name)
        fd = int(segment._fd)
        self.segments[fd] = segment
        return fd

    def shm_unlink(self, name: str) -> int:
        segment = self._attach(name)
        try:
            # unlink() is this call followed by an unregister, which would start the tracker
            shared_memory._posixshmem.shm_unlink(segment._name)  # type: ignore[attr-defined]
        finally:
            segment.close()
        return 0

    def mmap(self, fd: int, length: int, prot: str, kind: str) -> int:
        if fd not in self.segments or "anon" in kind:
            return super().mmap(fd, length, prot, kind)
        segment = self.segments[fd]
        if kind != "shared" or prot != "rw" or length > segment.size:
            raise NotImplementedError("SharedMemory maps the whole object, MAP_SHARED, read-write")
        handle = min(set(range(len(self.mappings) + len(self.views) + 1))
                     - set(self.mappings) - set(self.views))
        self.views[handle] = segment.buf[:length]
        return handle

    def map_read(self, handle: int, offset: int, count: int) -> bytes:
        if handle not in self.views:
            return super().map_read(handle, offset, count)
        return bytes(self.views[handle][offset:offset + count])

    def map_write(self, handle: int, offset: int, data: bytes) -> int:
        if handle not in self.views:
            return super().map_write(handle, offset, data)
        view = self.views[handle]
        if offset < 0 or offset + len(data) > len(view):
            raise NotImplementedError("a store past the object's end: buf refuses it (IndexError)")
        view[offset:offset + len(data)] = data
        return len(data)

    def munmap(self, handle: int) -> int:
        if handle not in self.views:
            return super().munmap(handle)
        self.views.pop(handle).release()
        return 0

    def close(self, fd: int) -> int:
        if fd not in self.segments:
            return super().close(fd)
        segment = self.segments.pop(fd)
        for handle in [h for h, v in self.views.items() if v.obj is segment.buf.obj]:
            self.views.pop(handle).release()
        segment.close()
        return 0
