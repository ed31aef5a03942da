"""Who may do what to a System V object: ``ipc_perm`` and the two checks of ipc/util.c.

Every object carries a :class:`Perm` - owner uid/gid, creator uid/gid, and a
mode whose low nine bits read like a file's ``rwxrwxrwx`` - and the kernel
judges callers by two different rules:

* **Access** (:func:`may_access`, the kernel's ``ipcperms``): operations on
  the *contents* (send, receive, semop, attach, IPC_STAT) and the ``*get``
  of an existing object ask for read, write or execute bits. Exactly one
  class applies: the owner class if the caller's euid is the owner's *or*
  the creator's uid, else the group class if its groups hold the owner's or
  the creator's gid, else "other". ``CAP_IPC_OWNER`` bypasses the bits.
* **Control** (:func:`may_control`, ``ipcctl_obtain_check``): IPC_SET and
  IPC_RMID ignore the mode; only a caller whose euid is the owner's or the
  creator's uid, or who holds ``CAP_SYS_ADMIN``, may use them (else EPERM).

The model's processes have one group: ``become`` clears the supplementary
groups (``setgroups([])``), and an actor spawned with a uid and gid is
modelled as one that already did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ModelUsageError

#: S_IRUGO, S_IWUGO, S_IXUGO: the access an operation asks for, in all three positions
READ, WRITE, EXEC = 0o444, 0o222, 0o111
#: the permission bits of a mode (S_IRWXUGO)
MODE_BITS = 0o777
#: (uid_t)-1 and (gid_t)-1: not valid ids (make_kuid() fails), so IPC_SET refuses them
INVALID_ID = 0xFFFFFFFF


@dataclass
class Creds:
    """A process's effective identity: one uid, one gid, and its capabilities."""

    uid: int
    gid: int
    caps: frozenset[str]

    def capable(self, cap: str) -> bool:
        return cap in self.caps


@dataclass
class Perm:
    """``struct kern_ipc_perm``: the key and the four ids, and the mode."""

    key: int
    uid: int
    gid: int
    cuid: int
    cgid: int
    #: the low nine bits, plus SHM_DEST/SHM_LOCKED for a segment
    mode: int

    @classmethod
    def new(cls, key: int, creds: Creds, flags: int) -> Perm:
        """A new object's perm: the creator's euid/egid as owner and creator."""
        return cls(key, creds.uid, creds.gid, creds.uid, creds.gid, flags & MODE_BITS)

    def fields(self) -> dict[str, int]:
        """The ipc_perm part of an IPC_STAT result, as the contract names it."""
        return {"uid": self.uid, "gid": self.gid, "cuid": self.cuid, "cgid": self.cgid,
                "mode": self.mode}


def may_access(creds: Creds, perm: Perm, flag: int) -> bool:
    """``ipcperms()``: whether ``creds`` may have the access ``flag`` asks for.

    ``flag`` is what the kernel passes: S_IRUGO-style constants for
    operations, and the caller's whole flag word for a ``*get``. Each of the
    three r/w/x positions asks for that bit, so a ``*get`` with 0o040 asks
    for read just as one with 0o400 does - and an x bit asks for execute,
    which no class grants unless the mode has it.
    """
    requested = (flag >> 6 | flag >> 3 | flag) & 0o7
    granted = perm.mode
    if creds.uid in (perm.cuid, perm.uid):
        granted >>= 6
    elif creds.gid in (perm.cgid, perm.gid):
        granted >>= 3
    return not requested & ~granted & 0o7 or creds.capable("CAP_IPC_OWNER")


def may_control(creds: Creds, perm: Perm) -> bool:
    """``ipcctl_obtain_check()``: may ``creds`` IPC_SET or IPC_RMID the object?"""
    return creds.uid in (perm.cuid, perm.uid) or creds.capable("CAP_SYS_ADMIN")


def perm_changes(changes: Any, allowed: tuple[str, ...]) -> dict[str, int]:
    """Validate the ``changes`` dict of a ``*ctl_set`` operation (the backend's rules)."""
    if not isinstance(changes, dict):
        raise ModelUsageError(f"changes must be a dict, not {changes!r}")
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise ModelUsageError(f"IPC_SET can change only {', '.join(allowed)}, not {', '.join(unknown)}")
    for name, value in changes.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise ModelUsageError(f"IPC_SET {name} must be an int, not {value!r}")
    return dict(changes)


def update_perm(perm: Perm, changes: dict[str, int]) -> str | None:
    """``ipc_update_perm()``: apply uid, gid and the mode's low nine bits.

    The backend fills every field it is not told to change from the
    object's current values, so a change names only what it changes. Returns
    an errno name (EINVAL for the invalid id -1) and then changes nothing.
    """
    uid = changes.get("uid", perm.uid) & 0xFFFFFFFF
    gid = changes.get("gid", perm.gid) & 0xFFFFFFFF
    if INVALID_ID in (uid, gid):
        return "EINVAL"
    perm.uid, perm.gid = uid, gid
    mode = changes.get("mode", perm.mode) & 0xFFFFFFFF
    perm.mode = (perm.mode & ~MODE_BITS) | (mode & MODE_BITS)
    return None
