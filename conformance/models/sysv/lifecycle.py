"""What processes do to System V state by being born, changing, and ending.

* **fork** copies the credentials and every attachment (each one counts in
  ``shm_nattch`` again); the child starts without SEM_UNDO adjustments
  (no CLONE_SYSVSEM: ``copy_semundo`` gives it an empty list).
* **exec** detaches every segment and keeps the adjustments.
* **become** is ``setgroups([]); setgid(gid); setuid(uid)``: root may take
  any identity (and loses every capability with a non-zero uid); anybody
  else fails at the first call, setgroups, with EPERM.
* **death** (exit, or a kill) abandons a blocked call, then - in do_exit's
  order - detaches every segment (``exit_mm``), applies the SEM_UNDO
  adjustments (``exit_sem``) and, under shm_rmid_forced, destroys the
  unattached segments it created (``exit_shm``).
* A handled signal makes a blocked call fail with EINTR; the end of a
  ``semtimedop`` timeout with EAGAIN.
"""

from __future__ import annotations

from typing import Any

from ...outcome import Errno, Outcome, Value
from ..errors import ModelUsageError
from . import msg, sem, shm
from .cargs import integer
from .perm import Creds
from .state import Proc, World

#: uid_t/gid_t values a process can take ((uid_t)-1 means "unchanged" to the kernel)
_MAX_ID = 0xFFFFFFFE


def new_process(world: World, name: str, uid: int, gid: int) -> Proc:
    caps = world.limits.root_caps if uid == 0 else frozenset()
    proc = Proc(name, Creds(uid, gid, caps))
    world.procs[name] = proc
    return proc


def fork(world: World, parent: Proc, child_name: str) -> Proc:
    child = new_process(world, child_name, parent.creds.uid, parent.creds.gid)
    child.creds = Creds(parent.creds.uid, parent.creds.gid, parent.creds.caps)
    # the backend's attachment table, last detached address included, is
    # plain process memory: the child has a copy
    child.detached_once = parent.detached_once
    shm.inherit(world, parent, child)
    return child


def abandon(world: World, proc: Proc) -> None:
    """Take ``proc`` off whatever wait queue it sleeps on, with no answer."""
    entry = proc.pending
    if entry is None:
        return
    if isinstance(entry, sem.SemWaiter):
        sem.unlink_waiter(world, entry)
    else:
        msg.unlink(world, entry)
    proc.pending = None
    if proc.name in world.woken:
        world.woken.remove(proc.name)


def die(world: World, proc: Proc) -> None:
    if not proc.alive:
        return
    abandon(world, proc)
    proc.alive = False
    shm.detach_all(world, proc)
    sem.exit_sem(world, proc)
    shm.exit_shm(world, proc)


def interrupt(world: World, proc: Proc) -> bool:
    """A handled signal arrives: a blocked call fails with EINTR. True if one did."""
    if proc.pending is None:
        return False
    abandon(world, proc)
    world.complete(proc.name, Errno("EINTR"))
    return True


def expire(world: World, proc: Proc) -> None:
    """The timeout of a blocked ``semtimedop`` ran out: it fails with EAGAIN."""
    entry = proc.pending
    if not isinstance(entry, sem.SemWaiter) or not entry.timed:
        raise ModelUsageError(f"{proc.name} is not blocked in semtimedop; nothing can expire")
    abandon(world, proc)
    world.complete(proc.name, Errno("EAGAIN"))


def op_become(world: World, proc: Proc, uid: Any, gid: Any) -> Outcome:
    uid, gid = integer(uid, "uid"), integer(gid, "gid")
    if not (0 <= uid <= _MAX_ID and 0 <= gid <= _MAX_ID):
        raise ModelUsageError(f"become({uid}, {gid}): ids are 0 to {_MAX_ID}")
    creds = proc.creds
    if not creds.capable("CAP_SETGID"):
        return Errno("EPERM")  # setgroups() is the first call, and needs it
    creds.gid = gid
    if uid != creds.uid:
        if not creds.capable("CAP_SETUID"):
            return Errno("EPERM")  # setgid() already took effect
        creds.uid = uid
    if uid != 0:
        creds.caps = frozenset()
    return Value(0)


def op_exec_self(world: World, proc: Proc) -> Outcome:
    shm.detach_all(world, proc)
    proc.detached_once = False  # a new image remembers no detached address
    return Value(0)
