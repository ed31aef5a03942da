"""One spec body for all three System V mechanisms: the ``ipc_kind`` fixture.

Message queues, semaphore sets and shared memory segments share their
machinery: a key names an object, a ``*get`` call turns the key into an id,
a ``*ctl`` call reads (IPC_STAT), changes (IPC_SET) or removes (IPC_RMID) it,
and an ``ipc_perm`` structure with owner, creator and nine mode bits decides
who may do what. The specs in this directory state those common rules once
and run each against all three mechanisms, gVisor-style: a test that takes
``ipc_kind`` runs three times, as ``[msg]``, ``[sem]`` and ``[shm]``.

An :class:`IpcKind` translates the common vocabulary into each mechanism's
operations (``kind.get(actor, key, flags)`` is ``msgget``, ``semget`` with one
semaphore, or ``shmget`` of one page) and lists its *probes*: operations that
need read or write permission, with what they return when allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from conformance.backends.sysv_ops import GETVAL, IPC_CREAT, IPC_EXCL, IPC_NOWAIT, IPC_RMID, SHM_RDONLY
from conformance.outcome import Errno, Outcome, Value

#: the size of the segments the common specs make: one page
SHM_SIZE = 4096
#: the stat fields every mechanism has (its ipc_perm)
PERM_FIELDS = ("uid", "gid", "cuid", "cgid", "mode")


@dataclass(frozen=True)
class Probe:
    """An operation that needs permission on an object, and what it returns when allowed.

    ``needs`` holds "r", "w" or both: the permission the operation asks
    for, read and write in the sense of the mode bits (for a semaphore set,
    write means alter).
    """

    name: str
    needs: str

    def __str__(self) -> str:
        return self.name


class IpcKind:
    """The common operations of one System V mechanism, under common names."""

    name = ""
    probes: tuple[Probe, ...] = ()

    def __repr__(self) -> str:
        return self.name

    # -- the common vocabulary ------------------------------------------
    def get(self, actor: Any, key: int, flags: int) -> Outcome:
        raise NotImplementedError

    def stat(self, actor: Any, ident: int) -> Outcome:
        raise NotImplementedError

    def set(self, actor: Any, ident: int, changes: dict[str, int]) -> Outcome:
        raise NotImplementedError

    def rmid(self, actor: Any, ident: int) -> Outcome:
        raise NotImplementedError

    def use(self, actor: Any, ident: int) -> Outcome:
        """The mechanism's everyday operation (send, semop, attach), with its outcome."""
        raise NotImplementedError

    def fresh_fields(self, creator: Any) -> dict[str, Any]:
        """Mechanism-specific IPC_STAT fields of a new, unused object."""
        raise NotImplementedError

    def renewed(self, creator: Any) -> dict[str, Any]:
        """IPC_STAT fields that tell an object ``creator`` just made from an older one
        that another process created and used once (:meth:`use`)."""
        raise NotImplementedError

    # -- probes ---------------------------------------------------------
    def run_probe(self, probe: Probe, admin: Any, actor: Any, ident: int) -> Outcome:
        """Perform ``probe`` as ``actor``; ``admin`` (root) prepares and tidies up."""
        raise NotImplementedError

    def allowed(self, probe: Probe, outcome: Outcome) -> Outcome:
        """The outcome ``probe`` must have when permitted (``outcome`` itself when it
        is any successful value the spec cannot predict exactly)."""
        raise NotImplementedError

    def undo(self, probe: Probe, admin: Any, actor: Any, ident: int, outcome: Outcome) -> None:
        """Put the object back as it was before the probe."""

    # -- helpers for specs ----------------------------------------------
    def create(self, actor: Any, key: int, mode: int = 0o600) -> int:
        """Create a new object for ``key`` (which must be free); returns its id."""
        out = self.get(actor, key, IPC_CREAT | IPC_EXCL | mode)
        if out.kind != "value":
            raise AssertionError(f"{actor.name}: creating a {self.name} object {out}")
        return int(out.detail)

    def perm(self, stat_value: dict[str, Any]) -> dict[str, Any]:
        """The ipc_perm part of an IPC_STAT result."""
        return {k: stat_value[k] for k in PERM_FIELDS}

    @staticmethod
    def class_bits(mode: int, role: str) -> int:
        """The three mode bits (r=4, w=2, x=1) that apply to ``role``: owner, member, other.

        The classes are exclusive, as for files: the owner is judged by the
        owner bits alone, a group member by the group bits alone.
        """
        shift = {"owner": 6, "member": 3, "other": 0}[role]
        return (mode >> shift) & 0o7

    @classmethod
    def permits(cls, mode: int, role: str, needs: str) -> bool:
        """Whether ``mode`` gives ``role`` every permission in ``needs`` ("r", "w", "rw")."""
        wanted = (4 if "r" in needs else 0) | (2 if "w" in needs else 0)
        return cls.class_bits(mode, role) & wanted == wanted

    @staticmethod
    def expect_gone(scenario: Any, outcome: Outcome, why: str) -> None:
        """Expect the error of an id whose object was removed: EINVAL (or EIDRM).

        Linux answers EINVAL for an id whose object no longer exists; EIDRM
        only while a removal is still under way. Both mean "no such object".
        """
        if outcome not in (Errno("EINVAL"), Errno("EIDRM")):
            scenario.expect(outcome, Errno("EINVAL"), f"{why} (EINVAL, or EIDRM)")


class MsgKind(IpcKind):
    name = "msg"
    probes = (Probe("msgsnd", "w"), Probe("msgrcv", "r"), Probe("IPC_STAT", "r"))

    def get(self, actor: Any, key: int, flags: int) -> Outcome:
        return actor.do("msgget", key, flags)  # type: ignore[no-any-return]

    def stat(self, actor: Any, ident: int) -> Outcome:
        return actor.do("msgctl_stat", ident)  # type: ignore[no-any-return]

    def set(self, actor: Any, ident: int, changes: dict[str, int]) -> Outcome:
        return actor.do("msgctl_set", ident, changes)  # type: ignore[no-any-return]

    def rmid(self, actor: Any, ident: int) -> Outcome:
        return actor.do("msgctl_rmid", ident)  # type: ignore[no-any-return]

    def use(self, actor: Any, ident: int) -> Outcome:
        return actor.do("msgsnd", ident, 1, b"used", IPC_NOWAIT)  # type: ignore[no-any-return]

    def fresh_fields(self, creator: Any) -> dict[str, Any]:
        return {"qnum": 0, "cbytes": 0, "lspid": 0, "lrpid": 0, "stime": False, "rtime": False,
                "ctime": True}

    def renewed(self, creator: Any) -> dict[str, Any]:
        return {"qnum": 0, "lspid": 0}

    def run_probe(self, probe: Probe, admin: Any, actor: Any, ident: int) -> Outcome:
        if probe.name == "msgsnd":
            return actor.do("msgsnd", ident, 7, b"probe", IPC_NOWAIT)  # type: ignore[no-any-return]
        if probe.name == "msgrcv":
            admin.call("msgsnd", ident, 7, b"probe", IPC_NOWAIT)
            return actor.do("msgrcv", ident, 64, 0, IPC_NOWAIT)  # type: ignore[no-any-return]
        return self.stat(actor, ident)

    def allowed(self, probe: Probe, outcome: Outcome) -> Outcome:
        if probe.name == "msgsnd":
            return Value(0)
        if probe.name == "msgrcv":
            return Value((7, b"probe"))
        return outcome if outcome.ok else Value("<the queue's msqid_ds>")

    def undo(self, probe: Probe, admin: Any, actor: Any, ident: int, outcome: Outcome) -> None:
        sent = probe.name == "msgsnd" and outcome.ok
        unreceived = probe.name == "msgrcv" and not outcome.ok
        if sent or unreceived:
            admin.do("msgrcv", ident, 64, 0, IPC_NOWAIT)


class SemKind(IpcKind):
    name = "sem"
    probes = (Probe("semop(+1)", "w"), Probe("GETVAL", "r"), Probe("IPC_STAT", "r"))

    def get(self, actor: Any, key: int, flags: int) -> Outcome:
        return actor.do("semget", key, 1, flags)  # type: ignore[no-any-return]

    def stat(self, actor: Any, ident: int) -> Outcome:
        return actor.do("semctl_stat", ident)  # type: ignore[no-any-return]

    def set(self, actor: Any, ident: int, changes: dict[str, int]) -> Outcome:
        return actor.do("semctl_set", ident, changes)  # type: ignore[no-any-return]

    def rmid(self, actor: Any, ident: int) -> Outcome:
        return actor.do("semctl", ident, 0, IPC_RMID)  # type: ignore[no-any-return]

    def use(self, actor: Any, ident: int) -> Outcome:
        return actor.do("semop", ident, ((0, 1, IPC_NOWAIT),))  # type: ignore[no-any-return]

    def fresh_fields(self, creator: Any) -> dict[str, Any]:
        return {"nsems": 1, "otime": False, "ctime": True}

    def renewed(self, creator: Any) -> dict[str, Any]:
        return {"otime": False}

    def run_probe(self, probe: Probe, admin: Any, actor: Any, ident: int) -> Outcome:
        if probe.name == "semop(+1)":
            return self.use(actor, ident)
        if probe.name == "GETVAL":
            return actor.do("semctl", ident, 0, GETVAL)  # type: ignore[no-any-return]
        return self.stat(actor, ident)

    def allowed(self, probe: Probe, outcome: Outcome) -> Outcome:
        if probe.name == "semop(+1)":
            return Value(0)
        if probe.name == "GETVAL":
            return outcome if outcome.ok else Value("<the semaphore's value>")
        return outcome if outcome.ok else Value("<the set's semid_ds>")


class ShmKind(IpcKind):
    name = "shm"
    probes = (Probe("shmat(read-write)", "rw"), Probe("shmat(SHM_RDONLY)", "r"),
              Probe("IPC_STAT", "r"))

    def get(self, actor: Any, key: int, flags: int) -> Outcome:
        return actor.do("shmget", key, SHM_SIZE, flags)  # type: ignore[no-any-return]

    def stat(self, actor: Any, ident: int) -> Outcome:
        return actor.do("shmctl_stat", ident)  # type: ignore[no-any-return]

    def set(self, actor: Any, ident: int, changes: dict[str, int]) -> Outcome:
        return actor.do("shmctl_set", ident, changes)  # type: ignore[no-any-return]

    def rmid(self, actor: Any, ident: int) -> Outcome:
        return actor.do("shmctl_rmid", ident)  # type: ignore[no-any-return]

    def use(self, actor: Any, ident: int) -> Outcome:
        out: Outcome = actor.do("shmat", ident, 0)
        if out.ok:
            actor.do("shmdt", out.detail)
            return Value("attached")
        return out

    def fresh_fields(self, creator: Any) -> dict[str, Any]:
        from conformance.backends.ops import ActorRef

        return {"segsz": SHM_SIZE, "nattch": 0, "cpid": ActorRef(creator.name), "lpid": 0,
                "atime": False, "dtime": False, "ctime": True}

    def renewed(self, creator: Any) -> dict[str, Any]:
        from conformance.backends.ops import ActorRef

        return {"cpid": ActorRef(creator.name), "nattch": 0}

    def run_probe(self, probe: Probe, admin: Any, actor: Any, ident: int) -> Outcome:
        if probe.name == "shmat(read-write)":
            return actor.do("shmat", ident, 0)  # type: ignore[no-any-return]
        if probe.name == "shmat(SHM_RDONLY)":
            return actor.do("shmat", ident, SHM_RDONLY)  # type: ignore[no-any-return]
        return self.stat(actor, ident)

    def allowed(self, probe: Probe, outcome: Outcome) -> Outcome:
        if probe.name.startswith("shmat"):
            return outcome if outcome.ok else Value("<an attachment handle>")
        return outcome if outcome.ok else Value("<the segment's shmid_ds>")

    def undo(self, probe: Probe, admin: Any, actor: Any, ident: int, outcome: Outcome) -> None:
        if probe.name.startswith("shmat") and outcome.ok:
            actor.do("shmdt", outcome.detail)


KIND_OBJECTS = {k.name: k for k in (MsgKind(), SemKind(), ShmKind())}


@pytest.fixture(params=list(KIND_OBJECTS), ids=list(KIND_OBJECTS))
def ipc_kind(request: pytest.FixtureRequest) -> IpcKind:
    """One System V mechanism; the test runs once for each of msg, sem and shm."""
    return KIND_OBJECTS[request.param]
