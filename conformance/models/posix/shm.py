"""A reference model of POSIX shared memory objects and memory mappings: :class:`ShmModel`.

It predicts ``shm_open`` and ``shm_unlink`` of
:mod:`conformance.backends.posix_semshm_ops` and what a program then does
with the descriptor and its mappings (``ftruncate``, ``fstat``, ``mmap``,
``map_read``, ``map_write``, ``msync``, ``munmap``, ``close``), as glibc
2.36 and a Linux 6.x tmpfs perform them, with no system call:

* **Names** (glibc's ``__shm_get_name``, then the file system): leading
  slashes are skipped; what is left must be non-empty, free of slashes and
  not ``.`` or ``..``, and fit glibc's buffer (at most 259 characters), else
  EINVAL; the file is ``/dev/shm/NAME``, so more than NAME_MAX = 255
  characters is ENAMETOOLONG. ``shm_unlink`` turns glibc's EINVAL into
  ENOENT; ``.`` and ``..`` reach unlink(2) and fail with EISDIR.
* **shm_open** is ``open("/dev/shm/NAME", oflag|O_NOFOLLOW|O_CLOEXEC,
  mode)``: missing without O_CREAT is ENOENT (O_EXCL alone is ignored),
  existing with O_CREAT|O_EXCL is EEXIST; a new object is empty, owned by
  the caller, with ``mode & ~umask``. Opening an existing one checks the
  mode bits for the access mode (and write for O_TRUNC; root passes), after
  ``fs.protected_regular``'s rule for O_CREAT in the sticky /dev/shm. O_TRUNC
  empties an existing object, whatever the access mode. The descriptor is
  the lowest number free in the actor (the host's descriptors included) and
  is close-on-exec.
* **Size and contents**: ``ftruncate`` (EINVAL for a negative length or a
  descriptor not open for writing) sets the size. The object keeps whole
  pages: bytes stored past the end but inside the last page stay there and
  *reappear* when the object grows again (as tmpfs does: the page is the
  object), while shrinking zeroes the rest of the new last page and drops
  the pages beyond it.
* **mmap** checks the descriptor (EBADF), the length (0: EINVAL) and the
  access (EACCES: any mapping of a descriptor not open for reading, a
  writable MAP_SHARED one of a descriptor not open for writing). Loads and
  stores act on pages: a page at or past the object's (page-rounded) end
  kills with SIGBUS, a store through a read-only mapping with SIGSEGV;
  beyond the pages the mapping covers the backend itself refuses (EFAULT),
  and an unknown handle is EINVAL (the backend's handle table). MAP_SHARED
  mappings see the object; a MAP_PRIVATE one sees it until its process
  stores to a page, which then becomes that mapping's own copy (copied by
  ``fork``, dropped by truncation past it). Anonymous mappings are modelled
  too: ``shared-anon`` is an unnamed object shared with the children forked
  after it, ``private-anon`` copy-on-write memory of its own.
* **Lifetime**: ``shm_unlink`` removes the name at once (EPERM for an
  unprivileged non-owner: /dev/shm is sticky); the object lives while a
  descriptor or a mapping refers to it. ``close`` does not unmap; ``fork``
  copies descriptors and mappings; ``exec`` and death drop both.

Hosted by :class:`~conformance.models.ProcessModel`, the model also performs
the host's descriptor operations on the descriptors it made (``claims``):
``close`` and ``fstat``, and ``stat`` of ``/dev/shm/NAME``; anything else
on them (``dup``, ``read``, ``fcntl``...) and a new host descriptor while
the actor holds one of these are :class:`Unmodelled`. ``ftruncate`` and
``mmap`` of the host's files are unmodelled as well. Semaphores live in the
same directory (``sem.NAME``): an object name starting with ``sem.`` is
unmodelled.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from ...backends.ops import OPS
from ...outcome import Errno, Killed, Outcome, Value
from ..errors import ModelUsageError, Unmodelled

O_ACCMODE, O_RDONLY, O_WRONLY, O_RDWR = os.O_ACCMODE, os.O_RDONLY, os.O_WRONLY, os.O_RDWR
O_CREAT, O_EXCL, O_TRUNC = os.O_CREAT, os.O_EXCL, os.O_TRUNC
NAME_MAX = 255
#: the longest name glibc's buffer takes (/dev/shm/ + sem. + NAME_MAX + NUL)
GLIBC_NAME_MAX = 259
SHM_DIR = "/dev/shm/"
SHM_OPS = frozenset({"shm_open", "shm_unlink", "ftruncate", "mmap", "map_read", "map_write",
                     "msync", "munmap"})
#: the largest size and mapping the model takes (tmpfs allows far more; a scenario never needs it)
_MAX_SIZE = 1 << 40
#: host operations that make a new descriptor: while an actor holds one of ours, which number the
#: host gives is not known to it
_CREATES_FD = frozenset({"open", "open_proc_fd", "pipe", "pipe2", "socketpair", "socketpair_of",
                         "socket", "accept", "dup", "dup2", "dup3", "fcntl", "recvfd", "fd_list"})


def _fd_params(signature: str) -> tuple[int, ...]:
    """Positions of the descriptor parameters in an operation's signature (``fd``, ``oldfd``...)."""
    params = re.findall(r"(\w+):", signature.split("(", 1)[1])
    return tuple(i for i, p in enumerate(params) if p == "fd" or p.endswith("fd") or p == "sock")


_FD_PARAMS = {name: _fd_params(spec.signature) for name, spec in OPS.items()}


@dataclass(frozen=True)
class ShmParams:
    """The facts of the machine the model needs beyond the page size."""

    #: the actors' umask
    umask: int = 0o022
    #: /proc/sys/fs/protected_regular
    protected_regular: int = 0

    @classmethod
    def from_host(cls) -> ShmParams:
        umask = 0o022
        with open("/proc/self/status") as f:  # reading it, unlike os.umask(), changes nothing
            for line in f:
                if line.startswith("Umask:"):
                    umask = int(line.split()[1], 8)
        try:
            with open("/proc/sys/fs/protected_regular") as f:
                protected = int(f.read())
        except (OSError, ValueError):
            protected = 0
        return cls(umask, protected)


@dataclass
class ShmObject:
    serial: int
    mode: int
    uid: int
    gid: int
    size: int = 0
    #: page index -> its bytes; a page not here reads as zeros
    pages: dict[int, bytearray] = field(default_factory=dict)


@dataclass
class ShmFile:
    """An open file description of an object (fork shares it)."""

    serial: int
    access: int


@dataclass
class Mapping:
    #: the object mapped, None for private anonymous memory
    serial: int | None
    length: int
    writable: bool
    shared: bool
    #: the pages this mapping has copied (MAP_PRIVATE): page index -> bytes
    own: dict[int, bytearray] = field(default_factory=dict)


@dataclass
class ShmProc:
    uid: int = 0
    gid: int = 0
    alive: bool = True
    fds: dict[int, ShmFile] = field(default_factory=dict)
    maps: dict[int, Mapping] = field(default_factory=dict)
    #: the descriptor numbers the host holds for this actor (its files, pipes...)
    host_fds: frozenset[int] = frozenset({0, 1, 2})


def check_name(name: str, unlink: bool = False) -> str | None:
    """The errno name glibc and the file system give ``name``, or None when it is good."""
    rest = name.lstrip("/")
    if rest in (".", "..") and unlink:
        return "EISDIR"
    if not rest or "/" in rest or rest in (".", "..") or len(rest) > GLIBC_NAME_MAX:
        return "ENOENT" if unlink else "EINVAL"
    if len(rest) > NAME_MAX:
        return "ENAMETOOLONG"
    return None


class ShmModel:
    """POSIX shared memory objects of one machine, and the mappings of the processes using them."""

    ops: frozenset[str] = SHM_OPS

    def __init__(self, page_size: int = 4096, params: ShmParams | None = None) -> None:
        self.page = page_size
        self.params = params or ShmParams()
        self.procs: dict[str, ShmProc] = {}
        self.objects: dict[int, ShmObject] = {}
        self.names: dict[str, int] = {}  # name without leading slashes -> serial
        self.serial = 0

    # -- lifecycle -------------------------------------------------------------
    def spawn(self, actor: str) -> None:
        if actor in self.procs:
            raise ModelUsageError(f"actor name {actor!r} is already used")
        self.procs[actor] = ShmProc()

    def fork(self, parent: str, child: str) -> None:
        p = self._proc(parent)
        if child in self.procs:
            raise ModelUsageError(f"fork needs a new actor name, not {child!r}")
        maps = {h: Mapping(m.serial, m.length, m.writable, m.shared,
                           {i: bytearray(b) for i, b in m.own.items()})
                for h, m in p.maps.items()}
        self.procs[child] = ShmProc(p.uid, p.gid, True, dict(p.fds), maps, p.host_fds)

    def exit(self, actor: str) -> None:
        proc = self._proc(actor)
        proc.alive = False
        proc.fds.clear()
        proc.maps.clear()
        self._collect()

    kill = exit

    def exec(self, actor: str) -> None:
        proc = self._proc(actor)
        proc.fds.clear()  # shm_open sets O_CLOEXEC
        proc.maps.clear()
        self._collect()

    def become(self, actor: str, uid: int, gid: int) -> Outcome | None:
        proc = self._proc(actor)
        if proc.uid != 0 and (uid, gid) != (proc.uid, proc.gid):
            return Errno("EPERM")
        proc.uid, proc.gid = uid, gid
        return Value(0)

    def interrupt(self, actor: str) -> bool:
        return False  # nothing here sleeps

    def expire(self, actor: str) -> None:
        raise ModelUsageError(f"{actor} is not blocked in a shared memory call")

    def settle(self) -> dict[str, Outcome]:
        return {}

    def blocked(self) -> set[str]:
        return set()

    def alive(self) -> set[str]:
        return {n for n, p in self.procs.items() if p.alive}

    def fingerprint(self) -> Any:
        def pages(p: dict[int, bytearray]) -> tuple[Any, ...]:
            return tuple(sorted((i, bytes(b)) for i, b in p.items() if any(b)))

        objects = tuple(sorted((o.serial, o.mode, o.uid, o.gid, o.size, pages(o.pages))
                               for o in self.objects.values()))
        procs = tuple(sorted(
            (n, p.uid, p.gid, p.alive,
             tuple(sorted((fd, f.serial, f.access) for fd, f in p.fds.items())),
             tuple(sorted((h, m.serial, m.length, m.writable, m.shared, pages(m.own))
                          for h, m in p.maps.items())))
            for n, p in self.procs.items()))
        return objects, procs, tuple(sorted(self.names.items()))

    # -- the host's operations on our descriptors ------------------------------
    def host_descriptors(self, actor: str, fds: frozenset[int]) -> None:
        """The descriptor numbers the host holds for ``actor`` (before each of our steps)."""
        self._proc(actor).host_fds = frozenset(fds)

    def claims(self, actor: str, op: str, args: tuple[Any, ...], host_fds: frozenset[int]) -> bool:
        """Whether a host operation is ours: it names one of our descriptors or a /dev/shm file."""
        proc = self.procs.get(actor)
        if proc is None:
            return False
        proc.host_fds = frozenset(host_fds)
        if op in ("stat", "open", "unlink", "mkfifo") and args and isinstance(args[0], str):
            return args[0].startswith(SHM_DIR)
        if not proc.fds:
            return False
        if op in _CREATES_FD:
            return True
        return any(i < len(args) and type(args[i]) is int and args[i] in proc.fds
                   for i in _FD_PARAMS.get(op, ()))

    # -- steps ---------------------------------------------------------------------
    def step(self, actor: str, op: str, *args: Any) -> Outcome:
        proc = self._proc(actor)
        if not proc.alive:
            raise ModelUsageError(f"{actor} is not alive")
        handler = getattr(self, f"_op_{op}", None)
        if handler is None:
            if op in OPS:
                raise Unmodelled(f"{op} on a POSIX shared memory object or with one open")
            raise ModelUsageError(f"unknown operation {op!r}")
        try:
            outcome: Outcome = handler(proc, *args)
        except TypeError as exc:
            raise ModelUsageError(f"{op}{args!r}: {exc}") from None
        if outcome.kind == "signal":
            self.exit(actor)
        return outcome

    # -- names -------------------------------------------------------------------------
    def _op_shm_open(self, proc: ShmProc, name: str, oflag: int, mode: int = 0o600) -> Outcome:
        bad = self._name(name)
        if bad:
            return Errno(bad)
        access = oflag & O_ACCMODE
        if access == O_ACCMODE:
            raise Unmodelled("shm_open with access mode 3 (open for ioctl only)")
        key = name.lstrip("/")
        serial = self.names.get(key)
        if serial is None:
            if not oflag & O_CREAT:
                return Errno("ENOENT")
            self.serial += 1
            serial = self.serial
            self.objects[serial] = ShmObject(serial, mode & 0o777 & ~self.params.umask, proc.uid, proc.gid)
            self.names[key] = serial
        else:
            obj = self.objects[serial]
            if oflag & O_CREAT and oflag & O_EXCL:
                return Errno("EEXIST")
            if oflag & O_CREAT and self.params.protected_regular and obj.uid not in (proc.uid, 0):
                return Errno("EACCES")  # may_create_in_sticky: /dev/shm is 1777 and root's
            wants = {O_RDONLY: 4, O_WRONLY: 2, O_RDWR: 6}[access] | (2 if oflag & O_TRUNC else 0)
            if not self._may(proc, obj, wants):
                return Errno("EACCES")
            if oflag & O_TRUNC:
                self._resize(obj, 0)
        fd = 0
        while fd in proc.fds or fd in proc.host_fds:
            fd += 1
        proc.fds[fd] = ShmFile(serial, access)
        return Value(fd)

    def _op_shm_unlink(self, proc: ShmProc, name: str) -> Outcome:
        bad = self._name(name, unlink=True)
        if bad:
            return Errno(bad)
        key = name.lstrip("/")
        if key not in self.names:
            return Errno("ENOENT")
        if proc.uid not in (0, self.objects[self.names[key]].uid):
            return Errno("EPERM")  # the sticky bit of /dev/shm
        del self.names[key]
        self._collect()
        return Value(0)

    def _op_stat(self, proc: ShmProc, path: str) -> Outcome:
        rest = path[len(SHM_DIR):]
        if not rest or "/" in rest or rest in (".", "..") or rest.startswith("sem."):
            raise Unmodelled(f"stat of {path!r}: only the objects in /dev/shm are modelled")
        if len(rest) > NAME_MAX:
            return Errno("ENAMETOOLONG")
        serial = self.names.get(rest)
        return Errno("ENOENT") if serial is None else Value(("-", self.objects[serial].size))

    # -- descriptors ---------------------------------------------------------------
    def _op_close(self, proc: ShmProc, fd: int) -> Outcome:
        del proc.fds[fd]  # claims() sent only our own descriptors
        self._collect()
        return Value(0)

    def _op_fstat(self, proc: ShmProc, fd: int) -> Outcome:
        return Value(("-", self.objects[proc.fds[fd].serial].size))

    def _op_ftruncate(self, proc: ShmProc, fd: int, length: int) -> Outcome:
        if length < 0:
            return Errno("EINVAL")
        file = self._file(proc, fd)
        if not isinstance(file, ShmFile):
            return file
        if file.access == O_RDONLY:
            return Errno("EINVAL")
        if length > _MAX_SIZE:
            raise Unmodelled(f"ftruncate to {length} bytes (tmpfs and rlimit boundaries)")
        self._resize(self.objects[file.serial], length)
        return Value(0)

    # -- mappings --------------------------------------------------------------------
    def _op_mmap(self, proc: ShmProc, fd: int, length: int, prot: str, kind: str) -> Outcome:
        if prot not in ("r", "rw") or kind not in ("shared", "private", "shared-anon", "private-anon"):
            raise ModelUsageError(f"mmap prot {prot!r} kind {kind!r}")
        writable, shared = prot == "rw", kind.startswith("shared")
        serial: int | None = None
        if kind.endswith("anon"):
            if length <= 0:
                return self._bad_length(length)
            if shared:
                self.serial += 1
                serial = self.serial
                obj = ShmObject(serial, 0o600, proc.uid, proc.gid)
                self._resize(obj, self._round(length))
                self.objects[serial] = obj
        else:
            file = self._file(proc, fd)
            if not isinstance(file, ShmFile):
                return file
            if length <= 0:
                return self._bad_length(length)
            if file.access == O_WRONLY or shared and writable and file.access == O_RDONLY:
                return Errno("EACCES")
            serial = file.serial
        if length > _MAX_SIZE:
            raise Unmodelled(f"a mapping of {length} bytes (ENOMEM depends on the address space)")
        handle = 0
        while handle in proc.maps:
            handle += 1
        proc.maps[handle] = Mapping(serial, length, writable, shared)
        return Value(handle)

    def _op_munmap(self, proc: ShmProc, handle: int) -> Outcome:
        if handle not in proc.maps:
            return Errno("EINVAL")
        del proc.maps[handle]
        self._collect()
        return Value(0)

    def _op_msync(self, proc: ShmProc, handle: int) -> Outcome:
        if handle not in proc.maps:
            raise Unmodelled("msync of an unknown handle: the backend's KeyError")
        return Value(0)

    def _op_map_read(self, proc: ShmProc, handle: int, offset: int, count: int) -> Outcome:
        m = self._reach(proc, handle, offset, count)
        if not isinstance(m, Mapping):
            return m
        if count and self._faults(m, offset, count):
            return Killed("SIGBUS")
        out = bytearray()
        for index, start, end in self._spans(offset, count):
            out += self._page(m, index)[start:end]
        return Value(bytes(out))

    def _op_map_write(self, proc: ShmProc, handle: int, offset: int, data: bytes) -> Outcome:
        m = self._reach(proc, handle, offset, len(data))
        if not isinstance(m, Mapping):
            return m
        if not data:
            return Value(0)
        if not m.writable:
            return Killed("SIGSEGV")
        faults = self._faults(m, offset, len(data))
        if faults:
            if len(faults) < len(self._spans(offset, len(data))):
                raise Unmodelled("a store across the object's end: which bytes memmove stored "
                                 "before the fault is the copy routine's choice")
            return Killed("SIGBUS")
        done = 0
        for index, start, end in self._spans(offset, len(data)):
            self._writable_page(m, index)[start:end] = data[done:done + end - start]
            done += end - start
        return Value(len(data))

    # -- helpers -----------------------------------------------------------------------
    def _proc(self, actor: str) -> ShmProc:
        if actor not in self.procs:
            raise ModelUsageError(f"no actor named {actor!r}")
        return self.procs[actor]

    def _name(self, name: Any, unlink: bool = False) -> str | None:
        if not isinstance(name, str):
            raise ModelUsageError(f"a shared memory name is a str, not {name!r}")
        bad = check_name(name, unlink)
        if bad is None and name.lstrip("/").startswith("sem."):
            raise Unmodelled(f"{name!r} is a semaphore's file name in /dev/shm")
        return bad

    def _file(self, proc: ShmProc, fd: Any) -> ShmFile | Outcome:
        if type(fd) is not int:
            raise ModelUsageError(f"a descriptor is an int, not {fd!r}")
        file = proc.fds.get(fd)
        if file is None:
            if fd in proc.host_fds:
                raise Unmodelled(f"descriptor {fd} is not a shared memory object: the host's file")
            return Errno("EBADF")
        return file

    @staticmethod
    def _bad_length(length: int) -> Outcome:
        if length < 0:
            raise Unmodelled("a negative length is a huge size_t: ENOMEM from the address space")
        return Errno("EINVAL")

    def _round(self, n: int) -> int:
        return -(-n // self.page) * self.page

    def _spans(self, offset: int, count: int) -> list[tuple[int, int, int]]:
        """(page index, start, end within the page) for the bytes offset..offset+count."""
        spans = []
        pos, end = offset, offset + count
        while pos < end:
            index = pos // self.page
            stop = min(end, (index + 1) * self.page)
            spans.append((index, pos - index * self.page, stop - index * self.page))
            pos = stop
        return spans

    def _reach(self, proc: ShmProc, handle: Any, offset: int, count: int) -> Mapping | Outcome:
        m = proc.maps.get(handle)
        if m is None:
            return Errno("EINVAL")  # the backend's handle table
        if offset < 0 or offset + count > self._round(m.length):
            return Errno("EFAULT")  # the backend's bounds check: not the mapping's memory
        return m

    def _faults(self, m: Mapping, offset: int, count: int) -> list[int]:
        """The pages of the span that lie wholly past the object's end (SIGBUS)."""
        if m.serial is None:
            return []
        limit = self._round(self.objects[m.serial].size) // self.page
        return [index for index, _s, _e in self._spans(offset, count) if index >= limit]

    def _page(self, m: Mapping, index: int) -> bytes | bytearray:
        if index in m.own:
            return m.own[index]
        if m.serial is None:
            return bytes(self.page)
        return self.objects[m.serial].pages.get(index, bytes(self.page))

    def _writable_page(self, m: Mapping, index: int) -> bytearray:
        if not m.shared:
            if index not in m.own:
                m.own[index] = bytearray(self._page(m, index))
            return m.own[index]
        assert m.serial is not None
        pages = self.objects[m.serial].pages
        if index not in pages:
            pages[index] = bytearray(self.page)
        return pages[index]

    def _resize(self, obj: ShmObject, size: int) -> None:
        """ftruncate: pages past the new end go (from every private copy too); the rest of the new
        last page is zeroed when shrinking; growing keeps what the old last page holds."""
        if size < obj.size:
            keep = self._round(size) // self.page
            tail = size % self.page
            for pages in [obj.pages] + [m.own for p in self.procs.values() for m in p.maps.values()
                                        if m.serial == obj.serial]:
                for index in [i for i in pages if i >= keep]:
                    del pages[index]
            if tail and size // self.page in obj.pages:
                obj.pages[size // self.page][tail:] = bytes(self.page - tail)
        obj.size = size

    def _collect(self) -> None:
        """Forget the objects no name, descriptor or mapping refers to any more."""
        held = set(self.names.values())
        for p in self.procs.values():
            held.update(f.serial for f in p.fds.values())
            held.update(m.serial for m in p.maps.values() if m.serial is not None)
        for serial in [s for s in self.objects if s not in held]:
            del self.objects[serial]

    @staticmethod
    def _may(proc: ShmProc, obj: ShmObject, wants: int) -> bool:
        if proc.uid == 0:
            return True
        if proc.uid == obj.uid:
            bits = obj.mode >> 6
        elif proc.gid == obj.gid:
            bits = obj.mode >> 3
        else:
            bits = obj.mode
        return bits & wants == wants


def build(facts: Any) -> ShmModel:
    """The hosted model for :mod:`conformance.models.submodel`'s ``HostFacts``."""
    return ShmModel(facts.page_size, facts.params.get("posix_shm"))
