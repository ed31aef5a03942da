"""Mutants of what message queues, semaphore sets and shared memory share.

Each mutant is the kernel backend with one rule of the System V machinery
changed, the way an emulation layer, a sandbox or a wrapper library could
change it: ``*get`` calls that read the flag table differently, permission
checks that weigh the mode bits wrongly, control commands that let the
wrong process in or do less than they say, ids that are handles local to a
process. Each applies to all three mechanisms, since the common specs run
for all three.

A mutant runs inside an unprivileged actor, so it cannot make the kernel
grant what it refuses; a mutant more lenient than Linux *pretends* the
call succeeded, as a layer that answers without asking the kernel would.
Facts the kernel would not tell an unprivileged caller (an object's mode
and owners) come from ``/proc/sysvipc``, which anyone may read.

This module also holds the helpers the message-queue mutants use.
"""

from __future__ import annotations

import errno
import os
from typing import Any

from conformance.backends.kernel import KernelProcessOps
from conformance.backends.sysv_ops import (
    GETALL,
    GETNCNT,
    GETPID,
    GETVAL,
    GETZCNT,
    IPC_CREAT,
    IPC_EXCL,
    IPC_PRIVATE,
    IPC_STAT,
    SHM_RDONLY,
)

from . import mutant

COMMON = "specs/sysv/common/"
GET_SPECS = (COMMON + "test_ipc_get.py",)
PERM_SPECS = (COMMON + "test_ipc_perm.py",)
CTL_SPECS = (COMMON + "test_ipc_ctl.py",)

#: columns of /proc/sysvipc/<kind>: where uid, gid, cuid, cgid start
_OWNER_COLUMN = {"msg": 7, "sem": 4, "shm": 7}
_SEM_READS = (GETVAL, GETALL, GETPID, GETNCNT, GETZCNT, IPC_STAT)


def error(code: int) -> OSError:
    return OSError(code, os.strerror(code))


def proc_row(kind: str, ident: int) -> dict[str, int] | None:
    """An object's row of /proc/sysvipc/<kind> (readable by anyone), or None.

    Returns key, mode (the perms column), uid, gid, cuid, cgid, and for a
    queue also cbytes, qnum, lspid and lrpid.
    """
    with open(f"/proc/sysvipc/{kind}") as f:
        rows = f.read().splitlines()[1:]
    for row in rows:
        fields = row.split()
        if len(fields) > 2 and int(fields[1]) == ident:
            at = _OWNER_COLUMN[kind]
            info = {"key": int(fields[0]), "mode": int(fields[2], 8),
                    "uid": int(fields[at]), "gid": int(fields[at + 1]),
                    "cuid": int(fields[at + 2]), "cgid": int(fields[at + 3])}
            if kind == "msg":
                info.update(cbytes=int(fields[3]), qnum=int(fields[4]), lspid=int(fields[5]),
                            lrpid=int(fields[6]))
            return info
    return None


def class_bits(row: dict[str, int], classes: str) -> int:
    """The rwx bits (r=4, w=2) the caller gets under a permission ``classes`` policy.

    ``"exclusive"`` is Linux's rule: owner bits for the owner or creator,
    else group bits for a member of the owner's or creator's group, else
    other bits. ``"no-group"`` skips the group class; ``"union"`` grants what
    any class the caller belongs to — or any class at all — grants.
    """
    euid, egid = os.geteuid(), os.getegid()
    mode = row["mode"]
    owner = euid in (row["uid"], row["cuid"])
    member = egid in (row["gid"], row["cgid"])
    if classes == "union":
        return (mode >> 6 | mode >> 3 | mode) & 0o7
    if owner:
        return (mode >> 6) & 0o7
    if member and classes == "exclusive":
        return (mode >> 3) & 0o7
    return mode & 0o7


def needs_bits(needs: str) -> int:
    return (4 if "r" in needs else 0) | (2 if "w" in needs else 0)


def _sem_needs(sops: tuple[tuple[int, int, int], ...]) -> str:
    return "w" if any(op != 0 for _num, op, _flg in sops) else "r"


class PermissionPolicy(KernelProcessOps):
    """Checks the mode bits itself, before the kernel does, under ``classes``.

    With ``lenient`` set, an operation the kernel refuses with EACCES but the
    policy allows *pretends* to succeed (an emulation answering alone).
    Root (euid 0) is left to the kernel unless ``check_root`` is set.
    """

    classes = "exclusive"
    lenient = False
    check_root = False

    def _guard(self, kind: str, ident: int, needs: str) -> bool:
        """Raise EACCES if the policy refuses; True if the policy grants."""
        if os.geteuid() == 0 and not self.check_root:
            return True
        row = proc_row(kind, ident)
        if row is None:
            return True  # let the kernel report the bad id
        wanted = needs_bits(needs)
        if class_bits(row, self.classes) & wanted != wanted:
            raise error(errno.EACCES)
        return True

    def _run(self, kind: str, ident: int, needs: str, call: Any, fake: Any) -> Any:
        self._guard(kind, ident, needs)
        try:
            return call()
        except OSError as exc:
            if exc.errno == errno.EACCES and self.lenient:
                return fake
            raise

    def msgsnd(self, qid: int, mtype: int, text: bytes, flags: int) -> int:
        return self._run("msg", qid, "w", lambda: super(PermissionPolicy, self).msgsnd(
            qid, mtype, text, flags), 0)  # type: ignore[no-any-return]

    def msgrcv(self, qid: int, maxsize: int, msgtyp: int, flags: int) -> tuple[int, bytes]:
        return self._run("msg", qid, "r", lambda: super(PermissionPolicy, self).msgrcv(
            qid, maxsize, msgtyp, flags), (1, b""))  # type: ignore[no-any-return]

    def msgctl_stat(self, qid: int) -> dict[str, Any]:
        return self._run("msg", qid, "r", lambda: super(PermissionPolicy, self).msgctl_stat(qid),
                         {})  # type: ignore[no-any-return]

    def semop(self, semid: int, sops: tuple[tuple[int, int, int], ...]) -> int:
        return self._run("sem", semid, _sem_needs(sops), lambda: super(PermissionPolicy, self).semop(
            semid, sops), 0)  # type: ignore[no-any-return]

    def semctl(self, semid: int, semnum: int, cmd: int, arg: Any = 0) -> Any:
        if cmd not in _SEM_READS:
            return super().semctl(semid, semnum, cmd, arg)
        return self._run("sem", semid, "r", lambda: super(PermissionPolicy, self).semctl(
            semid, semnum, cmd, arg), 0)

    def semctl_stat(self, semid: int) -> dict[str, Any]:
        return self._run("sem", semid, "r", lambda: super(PermissionPolicy, self).semctl_stat(semid),
                         {})  # type: ignore[no-any-return]

    def shmat(self, shmid: int, flags: int) -> int:
        needs = "r" if flags & SHM_RDONLY else "rw"
        return self._run("shm", shmid, needs, lambda: super(PermissionPolicy, self).shmat(
            shmid, flags), 99)  # type: ignore[no-any-return]

    def shmctl_stat(self, shmid: int) -> dict[str, Any]:
        return self._run("shm", shmid, "r", lambda: super(PermissionPolicy, self).shmctl_stat(shmid),
                         {})  # type: ignore[no-any-return]


# -- the *get calls ------------------------------------------------------------
class _GetHook(KernelProcessOps):
    """Routes msgget, semget and shmget through one ``_get`` a mutant overrides."""

    def _get(self, kind: str, key: int, flags: int, real: Any) -> int:
        return int(real(key, flags))

    def msgget(self, key: int, flags: int) -> int:
        return self._get("msg", key, flags, super().msgget)

    def semget(self, key: int, nsems: int, flags: int) -> int:
        return self._get("sem", key, flags, lambda k, f: super(_GetHook, self).semget(k, nsems, f))

    def shmget(self, key: int, size: int, flags: int) -> int:
        return self._get("shm", key, flags, lambda k, f: super(_GetHook, self).shmget(k, size, f))


@mutant("excl-returns-existing", GET_SPECS,
        kills=("sysv.ipc.get-flag-matrix", "sysv.ipc.get-excl-eexist"))
class ExclReturnsExisting(_GetHook):
    """IPC_CREAT|IPC_EXCL on a taken key opens the existing object instead of EEXIST."""

    def _get(self, kind: str, key: int, flags: int, real: Any) -> int:
        try:
            return int(real(key, flags))
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                return int(real(key, flags & ~IPC_EXCL))
            raise


@mutant("excl-alone-is-exclusive", GET_SPECS, kills=("sysv.ipc.excl-alone-ignored",))
class ExclAloneIsExclusive(_GetHook):
    """IPC_EXCL is honoured without IPC_CREAT: opening an existing key fails with EEXIST."""

    def _get(self, kind: str, key: int, flags: int, real: Any) -> int:
        if flags & IPC_EXCL and not flags & IPC_CREAT and key != IPC_PRIVATE:
            real(key, 0)  # ENOENT for a missing key, as before
            raise error(errno.EEXIST)
        return int(real(key, flags))


@mutant("get-always-creates", GET_SPECS,
        kills=("sysv.ipc.get-flag-matrix", "sysv.ipc.get-missing-enoent"))
class GetAlwaysCreates(_GetHook):
    """A missing key is created even without IPC_CREAT (an "open or create" get)."""

    def _get(self, kind: str, key: int, flags: int, real: Any) -> int:
        try:
            return int(real(key, flags))
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return int(real(key, flags | IPC_CREAT))
            raise


@mutant("private-key-reused", GET_SPECS, kills=("sysv.ipc.private-always-new",))
class PrivateKeyReused(_GetHook):
    """IPC_PRIVATE treated as one more key: a process gets its first private object again."""

    def __init__(self, control_fd: int = -1) -> None:
        super().__init__(control_fd)
        self.private: dict[str, int] = {}

    def _get(self, kind: str, key: int, flags: int, real: Any) -> int:
        if key == IPC_PRIVATE and kind in self.private and proc_row(kind, self.private[kind]):
            return self.private[kind]
        ident = int(real(key, flags))
        if key == IPC_PRIVATE:
            self.private[kind] = ident
        return ident


@mutant("get-skips-permission-check", GET_SPECS, kills=("sysv.ipc.get-eacces",))
class GetSkipsPermissionCheck(_GetHook):
    """Opening an existing object ignores the permission bits asked for: never EACCES."""

    def _get(self, kind: str, key: int, flags: int, real: Any) -> int:
        try:
            real(key, 0)  # asks for nothing: succeeds exactly when the key exists
        except OSError:
            return int(real(key, flags))
        return int(real(key, flags & ~0o777))


@mutant("enospc-is-enomem", GET_SPECS, kills=("sysv.ipc.get-enospc",))
class EnospcIsEnomem(_GetHook):
    """Running out of ids is reported as running out of memory (ENOMEM)."""

    def _get(self, kind: str, key: int, flags: int, real: Any) -> int:
        try:
            return int(real(key, flags))
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise error(errno.ENOMEM) from None
            raise


# -- permissions -----------------------------------------------------------------
@mutant("group-bits-ignored", PERM_SPECS, kills=("sysv.ipc.permission-bits",))
class GroupBitsIgnored(PermissionPolicy):
    """A group member is judged by the "other" bits: the group class does not exist."""

    classes = "no-group"


@mutant("permission-classes-added-up", PERM_SPECS, kills=("sysv.ipc.permission-class-exclusive",))
class PermissionClassesAddedUp(PermissionPolicy):
    """Access is granted if any class's bits grant it (rw for others means rw for the owner)."""

    classes = "union"
    lenient = True


@mutant("root-checked-like-others", PERM_SPECS, kills=("sysv.ipc.root-bypasses-mode",))
class RootCheckedLikeOthers(PermissionPolicy):
    """Root's operations are checked against the mode bits like anyone's (no CAP_IPC_OWNER)."""

    check_root = True


# -- control commands --------------------------------------------------------------
class _CtlHook(KernelProcessOps):
    """Routes the three IPC_SETs and IPC_RMIDs through ``_set`` and ``_rmid``."""

    def _set(self, kind: str, ident: int, changes: dict[str, int], real: Any) -> int:
        return int(real(ident, changes))

    def _rmid(self, kind: str, ident: int, real: Any) -> int:
        return int(real(ident))

    def msgctl_set(self, qid: int, changes: dict[str, int]) -> int:
        return self._set("msg", qid, changes, super().msgctl_set)

    def semctl_set(self, semid: int, changes: dict[str, int]) -> int:
        return self._set("sem", semid, changes, super().semctl_set)

    def shmctl_set(self, shmid: int, changes: dict[str, int]) -> int:
        return self._set("shm", shmid, changes, super().shmctl_set)

    def msgctl_rmid(self, qid: int) -> int:
        return self._rmid("msg", qid, super().msgctl_rmid)

    def shmctl_rmid(self, shmid: int) -> int:
        return self._rmid("shm", shmid, super().shmctl_rmid)

    def semctl(self, semid: int, semnum: int, cmd: int, arg: Any = 0) -> Any:
        from conformance.backends.sysv_ops import IPC_RMID

        if cmd == IPC_RMID:
            return self._rmid("sem", semid, lambda i: super(_CtlHook, self).semctl(i, semnum, cmd, arg))
        return super().semctl(semid, semnum, cmd, arg)


def _pretend_on_eperm(call: Any) -> int:
    try:
        return int(call())
    except OSError as exc:
        if exc.errno == errno.EPERM:
            return 0
        raise


@mutant("set-by-anyone", PERM_SPECS, kills=("sysv.ipc.set-needs-owner",))
class SetByAnyone(_CtlHook):
    """IPC_SET by a process that is neither owner nor creator reports success."""

    def _set(self, kind: str, ident: int, changes: dict[str, int], real: Any) -> int:
        return _pretend_on_eperm(lambda: real(ident, changes))


@mutant("rmid-by-anyone", PERM_SPECS, kills=("sysv.ipc.rmid-needs-owner",))
class RmidByAnyone(_CtlHook):
    """IPC_RMID by a process that is neither owner nor creator reports success."""

    def _rmid(self, kind: str, ident: int, real: Any) -> int:
        return _pretend_on_eperm(lambda: real(ident))


@mutant("only-owner-controls", PERM_SPECS, kills=("sysv.ipc.creator-keeps-control",))
class OnlyOwnerControls(_CtlHook):
    """IPC_SET and IPC_RMID look at the owner only: a creator who gave the object away is out."""

    def _refuse_creator(self, kind: str, ident: int) -> None:
        row = proc_row(kind, ident)
        if row and os.geteuid() != 0 and os.geteuid() != row["uid"]:
            raise error(errno.EPERM)

    def _set(self, kind: str, ident: int, changes: dict[str, int], real: Any) -> int:
        self._refuse_creator(kind, ident)
        return int(real(ident, changes))

    def _rmid(self, kind: str, ident: int, real: Any) -> int:
        self._refuse_creator(kind, ident)
        return int(real(ident))


@mutant("set-ignores-owner", CTL_SPECS, kills=("sysv.ipc.set-changes-owner",))
class SetIgnoresOwner(_CtlHook):
    """IPC_SET changes the mode but silently keeps the owner's uid and gid."""

    def _set(self, kind: str, ident: int, changes: dict[str, int], real: Any) -> int:
        kept = {k: v for k, v in changes.items() if k not in ("uid", "gid")}
        return int(real(ident, kept)) if kept else 0


@mutant("set-rejects-high-mode-bits", CTL_SPECS, kills=("sysv.ipc.set-mode-low-bits",))
class SetRejectsHighModeBits(_CtlHook):
    """IPC_SET with bits above the nine permission bits in the mode fails with EINVAL."""

    def _set(self, kind: str, ident: int, changes: dict[str, int], real: Any) -> int:
        if changes.get("mode", 0) & ~0o777:
            raise error(errno.EINVAL)
        return int(real(ident, changes))


@mutant("rmid-does-nothing", CTL_SPECS, kills=("sysv.ipc.rmid-removes",))
class RmidDoesNothing(_CtlHook):
    """IPC_RMID reports success and leaves the object in place, usable by id and by key."""

    def _rmid(self, kind: str, ident: int, real: Any) -> int:
        return 0


class _StatHook(KernelProcessOps):
    def _stat(self, kind: str, result: dict[str, Any]) -> dict[str, Any]:
        return result

    def msgctl_stat(self, qid: int) -> dict[str, Any]:
        return self._stat("msg", super().msgctl_stat(qid))

    def semctl_stat(self, semid: int) -> dict[str, Any]:
        return self._stat("sem", super().semctl_stat(semid))

    def shmctl_stat(self, shmid: int) -> dict[str, Any]:
        return self._stat("shm", super().shmctl_stat(shmid))


@mutant("stat-mode-keeps-creat-flag", CTL_SPECS, kills=("sysv.ipc.stat-at-creation",))
class StatModeKeepsCreatFlag(_StatHook):
    """The mode IPC_STAT reports still carries IPC_CREAT from the creation flags."""

    def _stat(self, kind: str, result: dict[str, Any]) -> dict[str, Any]:
        return {**result, "mode": result["mode"] | IPC_CREAT}


#: operations whose first argument is an id
_ID_OPS = ("msgsnd", "msgrcv", "msgctl_stat", "msgctl_set", "msgctl_rmid", "semop", "semtimedop",
           "semctl", "semctl_stat", "semctl_set", "shmat", "shmat_at", "shmctl_stat",
           "shmctl_set", "shmctl_rmid")


@mutant("process-local-ids", CTL_SPECS, kills=("sysv.ipc.ids-are-not-keys",))
class ProcessLocalIds(_GetHook):
    """Ids are handles local to the process that called *get, like file descriptors.

    Each process numbers objects with its own offset; a number learned from
    another process names nothing (or something else) here.
    """

    @staticmethod
    def _offset() -> int:
        return (os.getpid() % 97 + 1) << 20

    def _get(self, kind: str, key: int, flags: int, real: Any) -> int:
        return int(real(key, flags)) + self._offset()


def _translating(name: str) -> Any:
    def method(self: ProcessLocalIds, ident: int, *args: Any) -> Any:
        return getattr(super(ProcessLocalIds, self), name)(ident - self._offset(), *args)

    method.__name__ = name
    return method


for _name in _ID_OPS:
    setattr(ProcessLocalIds, _name, _translating(_name))
