"""Fixtures shared by every System V spec (``specs/sysv/**``).

System V objects are not tied to any process: a message queue, semaphore set
or shared memory segment lives in the kernel until someone removes it, and a
*key* names it for every process of the IPC namespace. Specs therefore need
keys no one else uses, removal of whatever they made (a leaked object
outlives the test and fails the leak guard), limits they can lower without
touching the host's, and unprivileged identities for permission rules.
This module provides them as fixtures:

``keys``
    fresh keys, unique within the test: ``key = keys.new()`` (or
    ``next(keys)``). Every key handed out is free at that moment, and the
    ``cleanup`` fixture later removes whatever object carries it.

``cleanup`` (autouse)
    removes, after the test and even when it failed, every System V object
    the test made: all objects whose key came from ``keys``; every object
    registered by id (``cleanup.msg(qid)``, ``cleanup.sem(semid)``,
    ``cleanup.shm(shmid)``, each returning its argument, for objects made
    with ``IPC_PRIVATE``); and — in a private IPC namespace — every object
    that did not exist before the test. ``cleanup.sweep()`` does the same at
    once, e.g. at the end of each Hypothesis example; ``cleanup.existing()``
    lists the namespace's objects as ``{(kind, id): key}``. Removal is done
    by the test process itself through libc, never by the backend under
    test, so a broken backend cannot leak objects into the next test.

``sysv_limits``
    reads (``sysv_limits.get("msgmnb")``) and, only in the test process's
    own private IPC namespace (the plugin makes one when running as root),
    changes the per-namespace limits in ``/proc/sys/kernel`` —
    ``sysv_limits.set("msgmni", 4)`` — restoring every one after the test.
    ``sysv_limits.in_use("msg")`` counts the objects of a kind that exist.
    Elsewhere ``set`` skips the test as ``unsupported``: the limits would
    be the host's.

``principals``
    the unprivileged identities permission specs switch actors to with the
    ``become`` operation: an ``owner``, a ``member`` of the object's group,
    an ``other`` user, and the ``group`` gid. ``principals.fork_as(actor,
    "name", principals.member)`` forks a child actor and drops it to that
    identity. Specs that use it declare ``requires=("root",)``.
    ``principals.root_has("CAP_SYS_RESOURCE")`` tells whether root here
    really holds a capability (containers withhold some).

Keys start at :data:`~conformance.backends.sysv_ops.KEY_BASE`. In a private
namespace every test starts there again (the previous test's objects are
gone); on the host's namespace (not root) each test process uses its own
block of keys, so parallel runs keep apart.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from conformance.backends.sysv_ops import IPC_RMID, KEY_BASE

KINDS = ("msg", "sem", "shm")
_libc = ctypes.CDLL(None, use_errno=True)
_libc.msgctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
_libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
_libc.semctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]


def existing_objects() -> dict[tuple[str, int], int]:
    """Every System V object of this IPC namespace: ``{(kind, id): key}``.

    Read from ``/proc/sysvipc/{msg,sem,shm}``, which every process may read
    and which lists the objects of the reader's IPC namespace.
    """
    found: dict[tuple[str, int], int] = {}
    for kind in KINDS:
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 1:
                found[(kind, int(fields[1]))] = int(fields[0])
    return found


def remove_object(kind: str, ident: int) -> None:
    """IPC_RMID one object from this process; an object already gone is fine."""
    if kind == "msg":
        _libc.msgctl(ident, IPC_RMID, None)
    elif kind == "sem":
        _libc.semctl(ident, 0, IPC_RMID)
    else:
        _libc.shmctl(ident, IPC_RMID, None)


def in_private_namespace(config: pytest.Config) -> bool:
    """True when the plugin moved this test process into its own IPC namespace."""
    from conformance.plugin import _STATE

    state = config.stash.get(_STATE, None)
    return bool(state is not None and state.private_ipc)


class Keys:
    """Fresh System V keys for one test.

    ``keys.new()`` returns the next key that no object of the namespace
    carries; ``keys.issued`` is every key this test was given, which is what
    the ``cleanup`` fixture removes objects by.
    """

    #: keys of one test process on a shared namespace: a block this large
    BLOCK = 0x1000

    def __init__(self, private: bool) -> None:
        if private:
            self.base = KEY_BASE
        else:
            # Outside a private namespace other test processes (xdist
            # workers, other runs) share the key space: keep to a block
            # chosen by this process's pid.
            self.base = KEY_BASE + (1 + os.getpid() % 0x7F) * self.BLOCK
        self.next_offset = 0
        self.issued: list[int] = []

    def new(self) -> int:
        taken = set(existing_objects().values())
        while True:
            key = self.base + self.next_offset % self.BLOCK
            self.next_offset += 1
            if key not in taken and key not in self.issued:
                self.issued.append(key)
                return key
            if self.next_offset > 4 * self.BLOCK:
                raise RuntimeError("no free System V key left in this test's block")

    def __iter__(self) -> Iterator[int]:
        return self

    def __next__(self) -> int:
        return self.new()


class Cleanup:
    """Removes the System V objects a test made; see the module documentation."""

    def __init__(self, keys: Keys, private: bool) -> None:
        self.keys = keys
        self.private = private
        self.before = set(existing_objects()) if private else set()
        self.tracked: set[tuple[str, int]] = set()

    def track(self, kind: str, ident: int) -> int:
        """Remember an object by id (e.g. one made with IPC_PRIVATE); returns ``ident``."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        self.tracked.add((kind, ident))
        return ident

    def msg(self, qid: int) -> int:
        return self.track("msg", qid)

    def sem(self, semid: int) -> int:
        return self.track("sem", semid)

    def shm(self, shmid: int) -> int:
        return self.track("shm", shmid)

    @staticmethod
    def existing() -> dict[tuple[str, int], int]:
        """Every object of the namespace now, as ``{(kind, id): key}``."""
        return existing_objects()

    def sweep(self) -> list[tuple[str, int]]:
        """Remove every object this test made so far; returns the (kind, id) pairs removed."""
        issued = set(self.keys.issued)
        removed = []
        for (kind, ident), key in existing_objects().items():
            mine = (
                key in issued
                or (kind, ident) in self.tracked
                or (self.private and (kind, ident) not in self.before)
            )
            if mine:
                remove_object(kind, ident)
                removed.append((kind, ident))
        return removed


@pytest.fixture
def keys(pytestconfig: pytest.Config) -> Keys:
    """Fresh keys for this test: ``key = keys.new()``."""
    return Keys(in_private_namespace(pytestconfig))


@pytest.fixture(autouse=True)
def cleanup(keys: Keys, pytestconfig: pytest.Config) -> Iterator[Cleanup]:
    """Remove every System V object the test made, after it, pass or fail."""
    sweeper = Cleanup(keys, in_private_namespace(pytestconfig))
    yield sweeper
    sweeper.sweep()


class Limits:
    """The per-namespace System V limits in ``/proc/sys/kernel``, changed for one test.

    ``msgmax``, ``msgmnb``, ``msgmni``, ``shmmax``, ``shmall``, ``shmmni``
    and ``shm_rmid_forced`` are ints; ``sem`` is the 4-tuple (SEMMSL, SEMMNS,
    SEMOPM, SEMMNI). Each file belongs to the IPC namespace of the process
    that opens it, so a change made in a private namespace is seen only by
    this test process and its actors.
    """

    NAMES = ("msgmax", "msgmnb", "msgmni", "sem", "shmmax", "shmall", "shmmni",
             "shm_rmid_forced")

    def __init__(self, private: bool) -> None:
        self.private = private
        self.saved: dict[str, str] = {}

    def _path(self, name: str) -> str:
        if name not in self.NAMES:
            raise ValueError(f"unknown System V limit {name!r}; one of {self.NAMES}")
        return f"/proc/sys/kernel/{name}"

    def get(self, name: str) -> Any:
        with open(self._path(name)) as f:
            values = tuple(int(v) for v in f.read().split())
        return values if name == "sem" else values[0]

    @staticmethod
    def in_use(kind: str) -> int:
        """How many objects of ``kind`` ("msg", "sem", "shm") the namespace holds now."""
        return sum(1 for (k, _ident) in existing_objects() if k == kind)

    def set(self, name: str, value: int | tuple[int, ...]) -> None:
        """Change a limit until the end of the test (private namespace only)."""
        path = self._path(name)
        if not self.private:
            pytest.skip("unsupported: changing System V limits needs a private IPC namespace "
                        "(run as root)")
        if name not in self.saved:
            with open(path) as f:
                self.saved[name] = f.read()
        text = " ".join(str(v) for v in value) if isinstance(value, tuple) else str(value)
        with open(path, "w") as f:
            f.write(text + "\n")

    def restore(self) -> None:
        for name, text in self.saved.items():
            with open(self._path(name), "w") as f:
                f.write(text)
        self.saved.clear()


@pytest.fixture
def sysv_limits(pytestconfig: pytest.Config) -> Iterator[Limits]:
    """Read System V limits; change them for this test only (private namespace)."""
    limits = Limits(in_private_namespace(pytestconfig))
    yield limits
    limits.restore()


@dataclass(frozen=True)
class Principal:
    """An unprivileged identity an actor can ``become``."""

    name: str
    uid: int
    gid: int


class Principals:
    """The identities of the permission specs.

    The usual arrangement: a root actor creates an object, then hands it to
    ``owner.uid`` and ``group`` with IPC_SET (``{"uid": principals.owner.uid,
    "gid": principals.group}``), so the object's owner, its group and the
    rest of the world are three distinct, unprivileged parties. ``member``
    belongs to that group (its gid is ``group``), ``owner`` does not, and
    ``other`` is neither owner nor member. ``creator`` and ``stranger`` serve
    specs where an unprivileged actor makes the object itself.
    """

    group = 2000
    owner = Principal("owner", 1001, 1001)
    member = Principal("member", 1002, 2000)
    other = Principal("other", 65534, 65534)
    creator = Principal("creator", 1003, 1003)
    stranger = Principal("stranger", 1004, 1004)

    @property
    def roles(self) -> tuple[Principal, Principal, Principal]:
        """owner, member, other: the three permission classes of the mode bits."""
        return (self.owner, self.member, self.other)

    #: capability numbers from <linux/capability.h> that System V checks consult
    CAPABILITIES = {"CAP_IPC_OWNER": 15, "CAP_SYS_ADMIN": 21, "CAP_SYS_RESOURCE": 24}

    @classmethod
    def root_has(cls, capability: str) -> bool:
        """Whether root actors hold ``capability`` ("CAP_IPC_OWNER", ...).

        Actors get the test process's capabilities, and a container may
        withhold some from root (CAP_SYS_RESOURCE is often missing): a spec
        about privilege predicts root's outcome from what root really holds.
        """
        with open("/proc/self/status") as f:
            effective = next(int(line.split()[1], 16) for line in f if line.startswith("CapEff:"))
        return bool(os.geteuid() == 0 and effective >> cls.CAPABILITIES[capability] & 1)

    @staticmethod
    def fork_as(parent: Any, name: str, who: Principal) -> Any:
        """Fork ``parent`` into actor ``name`` and drop it to ``who`` for good."""
        child = parent.fork(name)
        child.call("become", who.uid, who.gid)
        return child

    @staticmethod
    def spawn_as(scenario: Any, name: str, who: Principal) -> Any:
        """Spawn actor ``name`` and drop it to ``who`` for good."""
        actor = scenario.spawn(name)
        actor.call("become", who.uid, who.gid)
        return actor


@pytest.fixture(scope="session")
def principals() -> Principals:
    """Unprivileged identities for permission specs (they need root to switch)."""
    return Principals()
