"""A reference model of POSIX named semaphores: :class:`SemModel`.

It predicts every semaphore operation of
:mod:`conformance.backends.posix_semshm_ops` as glibc 2.36 and the kernel
perform them, with no system call:

* **Names** (glibc's ``__shm_get_name``, then the file system): leading
  slashes are skipped; what is left must be non-empty and free of slashes,
  and at most 255 characters (else EINVAL); the file is ``sem.NAME`` in
  /dev/shm, so more than NAME_MAX - 4 = 251 characters is ENAMETOOLONG.
* **sem_open**: with O_CREAT the value is checked first (above
  SEM_VALUE_MAX: EINVAL); a missing name without O_CREAT is ENOENT, an
  existing one with O_CREAT|O_EXCL is EEXIST; opening an existing semaphore
  ignores mode and value and needs read and write permission on its file
  (root always has it). Handles are the lowest unused small ints of the
  actor; ``fork`` copies them, ``exec`` drops them.
* **Values** never go below 0: ``sem_trywait`` at 0 is EAGAIN,
  ``sem_post`` at SEM_VALUE_MAX is EOVERFLOW. ``sem_wait`` at 0 sleeps; a
  post to a semaphore with one sleeper hands it the unit (the sleeper
  completes, the value stays 0). With two or more sleepers which one wins is
  the futex's choice, racing with the woken threads: :class:`Unmodelled`.
* **sem_timedwait** checks ``tv_nsec`` before anything else (glibc does so
  even when the semaphore could be taken at once): EINVAL; a timeout that is
  not positive fails with ETIMEDOUT at once, a positive one sleeps until
  served, interrupted or :meth:`SemModel.expire` d.
* **Signals**: a handled signal ends a sleeping wait with EINTR
  (:meth:`SemModel.interrupt`), whatever SA_RESTART says.
* **Unlink** removes the name at once; the semaphore lives on for every
  handle that refers to it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ...backends.posix_semshm_ops import SEM_VALUE_MAX
from ...outcome import BLOCKED, Errno, Outcome, Value
from ..errors import ModelUsageError, Unmodelled

O_CREAT, O_EXCL = os.O_CREAT, os.O_EXCL
_NS = 1_000_000_000
SEM_OPS = frozenset({"sem_open", "sem_close", "sem_unlink", "sem_wait", "sem_trywait",
                     "sem_timedwait", "sem_post", "sem_getvalue"})


@dataclass
class Semaphore:
    serial: int
    value: int
    mode: int
    uid: int
    gid: int
    #: sleepers in arrival order: (actor, timed)
    waiters: list[tuple[str, bool]] = field(default_factory=list)


@dataclass
class SemProc:
    uid: int = 0
    gid: int = 0
    alive: bool = True
    handles: dict[int, int] = field(default_factory=dict)  # handle -> semaphore serial
    #: the semaphore serial a wait sleeps on, and whether it is timed
    pending: tuple[int, bool] | None = None


def check_name(name: str) -> str | None:
    """The errno name glibc and the file system give ``name``, or None when it is good."""
    rest = name.lstrip("/")
    if not rest or "/" in rest or len(rest) > 255:
        return "EINVAL"
    if len(rest) + 4 > 255:
        return "ENAMETOOLONG"
    return None


class SemModel:
    """A deterministic model of the named semaphores of one machine and the processes using them."""

    ops: frozenset[str] = SEM_OPS

    def __init__(self) -> None:
        self.procs: dict[str, SemProc] = {}
        self.sems: dict[int, Semaphore] = {}
        self.names: dict[str, int] = {}  # name without leading slashes -> serial
        self.events: dict[str, Outcome] = {}
        self.serial = 0

    # -- lifecycle -------------------------------------------------------------
    def spawn(self, actor: str) -> None:
        if actor in self.procs:
            raise ModelUsageError(f"actor name {actor!r} is already used")
        self.procs[actor] = SemProc()

    def fork(self, parent: str, child: str) -> None:
        p = self._proc(parent)
        if child in self.procs:
            raise ModelUsageError(f"fork needs a new actor name, not {child!r}")
        self.procs[child] = SemProc(p.uid, p.gid, True, dict(p.handles))

    def exit(self, actor: str) -> None:
        proc = self._proc(actor)
        self._abandon(actor, proc)
        proc.alive = False
        proc.handles.clear()

    kill = exit

    def exec(self, actor: str) -> None:
        self._proc(actor).handles.clear()

    def become(self, actor: str, uid: int, gid: int) -> Outcome | None:
        proc = self._proc(actor)
        if proc.uid != 0 and (uid, gid) != (proc.uid, proc.gid):
            return Errno("EPERM")
        proc.uid, proc.gid = uid, gid
        return Value(0)

    def interrupt(self, actor: str) -> bool:
        proc = self._proc(actor)
        if proc.pending is None:
            return False
        self._abandon(actor, proc)
        self.events[actor] = Errno("EINTR")
        return True

    def expire(self, actor: str) -> None:
        proc = self._proc(actor)
        if proc.pending is None or not proc.pending[1]:
            raise ModelUsageError(f"{actor} is not blocked in sem_timedwait")
        self._abandon(actor, proc)
        self.events[actor] = Errno("ETIMEDOUT")

    # -- steps ---------------------------------------------------------------------
    def step(self, actor: str, op: str, *args: Any) -> Outcome:
        proc = self._proc(actor)
        if not proc.alive:
            raise ModelUsageError(f"{actor} is not alive")
        if proc.pending is not None:
            raise ModelUsageError(f"{actor} is blocked; it cannot {op}")
        if op not in SEM_OPS:
            raise ModelUsageError(f"unknown operation {op!r}")
        try:
            result: Outcome = getattr(self, f"_{op}")(actor, proc, *args)
        except TypeError as exc:
            raise ModelUsageError(f"{op}{args!r}: {exc}") from None
        return result

    def settle(self) -> dict[str, Outcome]:
        events, self.events = self.events, {}
        return events

    def blocked(self) -> set[str]:
        return {n for n, p in self.procs.items() if p.alive and p.pending is not None}

    def alive(self) -> set[str]:
        return {n for n, p in self.procs.items() if p.alive}

    def fingerprint(self) -> Any:
        procs = tuple(sorted((n, p.uid, p.gid, p.alive, tuple(sorted(p.handles.items())), p.pending)
                             for n, p in self.procs.items()))
        sems = tuple(sorted((s.serial, s.value, s.mode, s.uid, s.gid, tuple(s.waiters))
                            for s in self.sems.values()))
        return procs, sems, tuple(sorted(self.names.items()))

    def value(self, actor: str, handle: int) -> int:
        """The value of the semaphore behind ``actor``'s ``handle`` (for generators)."""
        return self.sems[self._proc(actor).handles[handle]].value

    def handles(self, actor: str) -> list[int]:
        return sorted(self._proc(actor).handles)

    # -- operations ------------------------------------------------------------------
    def _sem_open(self, actor: str, proc: SemProc, name: str, oflag: int, mode: int = 0o600,
                  value: int = 0) -> Outcome:
        bad = check_name(name)
        if bad:
            return Errno(bad)
        if oflag & O_CREAT and not 0 <= value <= SEM_VALUE_MAX:
            return Errno("EINVAL")
        key = name.lstrip("/")
        serial = self.names.get(key)
        if serial is None:
            if not oflag & O_CREAT:
                return Errno("ENOENT")
            self.serial += 1
            serial = self.serial
            self.sems[serial] = Semaphore(serial, value, mode & 0o777, proc.uid, proc.gid)
            self.names[key] = serial
        elif oflag & O_CREAT and oflag & O_EXCL:
            return Errno("EEXIST")
        elif not self._may_use(proc, self.sems[serial]):
            return Errno("EACCES")
        handle = min(set(range(len(proc.handles) + 1)) - set(proc.handles))
        proc.handles[handle] = serial
        return Value(handle)

    def _sem_close(self, actor: str, proc: SemProc, handle: int) -> Outcome:
        if handle not in proc.handles:
            return Errno("EINVAL")
        del proc.handles[handle]
        return Value(0)

    def _sem_unlink(self, actor: str, proc: SemProc, name: str) -> Outcome:
        bad = check_name(name)
        if bad:
            return Errno(bad)
        key = name.lstrip("/")
        if key not in self.names:
            return Errno("ENOENT")
        if proc.uid != 0 and self.sems[self.names[key]].uid != proc.uid:
            raise Unmodelled("sem_unlink by a non-owner: the sticky /dev/shm decides (EPERM)")
        del self.names[key]
        return Value(0)

    def _sem_trywait(self, actor: str, proc: SemProc, handle: int) -> Outcome:
        sem = self._sem(proc, handle)
        if sem is None:
            return Errno("EINVAL")
        if sem.value == 0:
            return Errno("EAGAIN")
        sem.value -= 1
        return Value(0)

    def _sem_wait(self, actor: str, proc: SemProc, handle: int) -> Outcome:
        return self._wait(actor, proc, handle, timed=False)

    def _sem_timedwait(self, actor: str, proc: SemProc, handle: int, sec: int, nsec: int) -> Outcome:
        if self._sem(proc, handle) is None:
            return Errno("EINVAL")
        if not 0 <= nsec < _NS:
            return Errno("EINVAL")
        if self._sem(proc, handle).value == 0 and sec * _NS + nsec <= 0:  # type: ignore[union-attr]
            return Errno("ETIMEDOUT")
        return self._wait(actor, proc, handle, timed=True)

    def _wait(self, actor: str, proc: SemProc, handle: int, timed: bool) -> Outcome:
        sem = self._sem(proc, handle)
        if sem is None:
            return Errno("EINVAL")
        if sem.value > 0:
            sem.value -= 1
            return Value(0)
        sem.waiters.append((actor, timed))
        proc.pending = (sem.serial, timed)
        return BLOCKED

    def _sem_post(self, actor: str, proc: SemProc, handle: int) -> Outcome:
        sem = self._sem(proc, handle)
        if sem is None:
            return Errno("EINVAL")
        if sem.waiters:
            if len(sem.waiters) > 1:
                raise Unmodelled("sem_post with several sleepers: which one takes it is a race")
            sleeper, _timed = sem.waiters.pop(0)
            self.procs[sleeper].pending = None
            self.events[sleeper] = Value(0)
            return Value(0)
        if sem.value >= SEM_VALUE_MAX:
            return Errno("EOVERFLOW")
        sem.value += 1
        return Value(0)

    def _sem_getvalue(self, actor: str, proc: SemProc, handle: int) -> Outcome:
        sem = self._sem(proc, handle)
        return Errno("EINVAL") if sem is None else Value(sem.value)

    # -- helpers -----------------------------------------------------------------------
    def _proc(self, actor: str) -> SemProc:
        if actor not in self.procs:
            raise ModelUsageError(f"no actor named {actor!r}")
        return self.procs[actor]

    def _sem(self, proc: SemProc, handle: int) -> Semaphore | None:
        serial = proc.handles.get(handle)
        return None if serial is None else self.sems[serial]

    @staticmethod
    def _may_use(proc: SemProc, sem: Semaphore) -> bool:
        """Read and write permission on the semaphore's file (glibc opens it O_RDWR)."""
        if proc.uid == 0:
            return True
        if proc.uid == sem.uid:
            bits = sem.mode >> 6
        elif proc.gid == sem.gid:
            bits = sem.mode >> 3
        else:
            bits = sem.mode
        return bits & 0o6 == 0o6

    def _abandon(self, actor: str, proc: SemProc) -> None:
        if proc.pending is not None:
            sem = self.sems[proc.pending[0]]
            sem.waiters = [w for w in sem.waiters if w[0] != actor]
            proc.pending = None
