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

* **Creating** is ``SharedMemory(name, create=True, size=N)`` taken apart
  into the library's own three steps, so the empty object between them is
  there for the contract's ``shm_open`` to return: ``shm_open`` with
  exactly the library's flags and mode, ``O_CREAT|O_EXCL|O_RDWR`` and 0600,
  is the library's ``_posixshmem.shm_open``; the one ``ftruncate`` that
  follows is its ``os.ftruncate`` (to a positive size only, as
  ``SharedMemory`` insists); ``mmap`` of the descriptor then is its
  ``mmap.mmap(fd, size)`` of the whole object, and the contract's mapping a
  view of it (no longer than the object).
* **Attaching**, ``shm_open`` without O_CREAT, O_RDWR, is
  ``SharedMemory(name)``; the object is kept and its descriptor returned.
  ``mmap`` of that descriptor, MAP_SHARED over no more than the object's
  size, is a view of ``buf``. ``map_read``/``map_write`` slice the views,
  ``munmap`` releases one.
* ``close`` is ``SharedMemory.close()`` (or the same steps for a created
  object): it unmaps as well, so it is only taken when no view is left.
* ``shm_unlink`` is the library's ``_posixshmem.shm_unlink``, the call
  ``unlink()`` makes (the class offers no unlink by name).
* **What the library cannot express** raises ``NotImplementedError``:
  O_CREAT without O_EXCL or with another access or mode than O_RDWR and
  0600, a second ``ftruncate`` or one to 0, O_RDONLY and O_WRONLY, O_TRUNC,
  attaching to an empty object (``mmap`` of 0 bytes), MAP_PRIVATE,
  read-only and over-long mappings, loads and stores outside the object,
  closing a descriptor whose object is still mapped.

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

import mmap
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

    @property
    def created(self) -> dict[int, list[Any]]:
        """Objects this actor created, by descriptor: [whole-object mmap or None, ftruncated]."""
        table: dict[int, list[Any]] | None = self.__dict__.get("_created")
        if table is None:
            table = self.__dict__["_created"] = {}
        return table

    def shm_open(self, name: str, oflag: int, mode: int = 0o600) -> int:
        if oflag & os.O_CREAT:
            if oflag != os.O_CREAT | os.O_EXCL | os.O_RDWR or mode != 0o600:
                raise NotImplementedError("SharedMemory creates only with O_CREAT|O_EXCL|O_RDWR "
                                          "and mode 0600")
            # the first step of SharedMemory(name, create=True, size): the name as it passes it
            fd = int(shared_memory._posixshmem.shm_open(  # type: ignore[attr-defined]
                "/" + _library_name(name), oflag, mode=mode))
            self.created[fd] = [None, False]
            return fd
        if oflag & os.O_ACCMODE != os.O_RDWR or oflag & os.O_TRUNC:
            raise NotImplementedError("SharedMemory opens O_RDWR only, without O_TRUNC")
        try:
            segment = self._attach(name)
        except ValueError as exc:  # mmap.mmap(fd, 0): "cannot mmap an empty file"
            raise NotImplementedError(f"SharedMemory cannot attach to an empty object ({exc})") from None
        fd = int(segment._fd)
        self.segments[fd] = segment
        return fd

    def shm_unlink(self, name: str) -> int:
        # what unlink() calls, without the unregistering that would start the tracker
        shared_memory._posixshmem.shm_unlink("/" + _library_name(name))  # type: ignore[attr-defined]
        return 0

    def ftruncate(self, fd: int, length: int) -> int:
        if fd in self.segments:
            raise NotImplementedError("SharedMemory cannot resize an object it attached to")
        if fd not in self.created:
            return super().ftruncate(fd, length)
        if self.created[fd][1] or length <= 0:
            raise NotImplementedError("SharedMemory sizes a new object once, to a positive size")
        os.ftruncate(fd, length)  # the second step of SharedMemory(create=True)
        self.created[fd][1] = True
        return 0

    def _buffer(self, fd: int) -> memoryview:
        if fd in self.segments:
            return self.segments[fd].buf  # type: ignore[no-any-return]
        entry = self.created[fd]
        if not entry[1]:
            raise NotImplementedError("SharedMemory maps a new object only once it has its size")
        if entry[0] is None:  # the third step of SharedMemory(create=True)
            entry[0] = mmap.mmap(fd, os.fstat(fd).st_size)
        return memoryview(entry[0])

    def mmap(self, fd: int, length: int, prot: str, kind: str) -> int:
        if fd not in self.segments and fd not in self.created or "anon" in kind:
            return super().mmap(fd, length, prot, kind)
        buf = self._buffer(fd)
        if kind != "shared" or prot != "rw" or not 0 < length <= len(buf):
            raise NotImplementedError("SharedMemory maps the whole object, MAP_SHARED, read-write")
        handle = min(set(range(len(self.mappings) + len(self.views) + 1))
                     - set(self.mappings) - set(self.views))
        self.views[handle] = buf[:length]
        self.__dict__.setdefault("_view_fds", {})[handle] = fd
        return handle

    def map_read(self, handle: int, offset: int, count: int) -> bytes:
        if handle not in self.views:
            return super().map_read(handle, offset, count)
        view = self.views[handle]
        if offset < 0 or offset + count > len(view):
            raise NotImplementedError("a load past the object's end: buf refuses it (IndexError)")
        return bytes(view[offset:offset + count])

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
        self.__dict__["_view_fds"].pop(handle, None)
        return 0

    def close(self, fd: int) -> int:
        if fd not in self.segments and fd not in self.created:
            return super().close(fd)
        if fd in self.__dict__.get("_view_fds", {}).values():
            raise NotImplementedError("SharedMemory.close() unmaps too: it cannot close the "
                                      "descriptor of an object still mapped")
        if fd in self.segments:
            self.segments.pop(fd).close()
            return 0
        whole = self.created.pop(fd)[0]
        if whole is not None:
            whole.close()
        os.close(fd)
        return 0
