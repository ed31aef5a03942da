"""The System V model's own interface, without a kernel: hooks, refusals, id mapping."""

from __future__ import annotations

import copy

import pytest

from conformance.backends.ops import ActorRef
from conformance.backends.sysv_ops import (
    GETNCNT,
    IPC_CREAT,
    IPC_NOWAIT,
    IPC_PRIVATE,
    KEY_BASE,
    SEM_STAT,
    SEM_UNDO,
)
from conformance.models.errors import ModelUsageError, Unmodelled
from conformance.models.sysv import IdMap, Limits, SysVModel
from conformance.models.sysv.idmap import PHANTOM_BASE
from conformance.models.sysv.sem import SemSet
from conformance.outcome import BLOCKED, Errno, Value


def _model(*actors: str) -> SysVModel:
    model = SysVModel()
    for actor in actors:
        model.spawn(actor)
    return model


# -- lifecycle hooks -----------------------------------------------------------------
def test_exit_hook_applies_undo_and_reports_only_the_woken() -> None:
    model = _model("a", "b", "c")
    s = model.step("a", "semget", IPC_PRIVATE, 1, 0o600).detail
    model.step("b", "semop", s, ((0, 1, SEM_UNDO),))
    assert model.step("c", "semop", s, ((0, 0, 0),)) == BLOCKED
    model.exit("b")  # as a hosting process model would, when b dies
    assert model.settle() == {"c": Value(0)}
    assert model.alive() == {"a", "c"} and model.blocked() == set()
    model.exit("b")  # a second report of the same death changes nothing
    assert model.settle() == {}


def test_fork_hook_copies_attachments_and_identity() -> None:
    model = _model("a")
    model.step("a", "become", 0, 77)
    m = model.step("a", "shmget", IPC_PRIVATE, 10, 0o600).detail
    model.step("a", "shmat", m, 0)
    model.fork("a", "b")
    assert model.handles("b") == [0]
    stat = model.step("b", "shmctl_stat", m).detail
    assert (stat["nattch"], stat["lpid"], stat["gid"]) == (2, ActorRef("a"), 77)
    assert model.step("b", "semget", IPC_PRIVATE, 1, 0o600) == Value(0)
    assert model.identity("b")[:2] == (0, 77)
    model.step("b", "become", 1000, 1000)
    assert model.identity("b") == (1000, 1000, frozenset())
    assert model.step("b", "become", 0, 0) == Errno("EPERM")


def test_interrupt_and_expire() -> None:
    model = _model("a", "b")
    s = model.step("a", "semget", IPC_PRIVATE, 1, 0o600).detail
    assert model.interrupt("b") is False
    assert model.step("b", "semop", s, ((0, -1, 0),)) == BLOCKED
    with pytest.raises(ModelUsageError):
        model.expire("b")  # semop has no timeout
    assert model.interrupt("b") is True
    assert model.settle() == {"b": Errno("EINTR")}
    assert model.step("b", "semtimedop", s, ((0, -1, 0),), 5) == BLOCKED
    assert model.step("a", "semctl", s, 0, GETNCNT) == Value(1)
    model.expire("b")
    assert model.settle() == {"b": Errno("EAGAIN")}
    assert model.step("a", "semctl", s, 0, GETNCNT) == Value(0)


def test_usage_errors_are_loud() -> None:
    model = _model("a", "b")
    q = model.step("a", "msgget", IPC_PRIVATE, 0o600).detail
    model.step("b", "msgrcv", q, 8, 0, 0)
    with pytest.raises(ModelUsageError):
        model.step("b", "msgctl_stat", q)  # b is asleep
    with pytest.raises(ModelUsageError):
        model.step("a", "msgsnd", q, 1, "not bytes", 0)
    with pytest.raises(ModelUsageError):
        model.step("a", "msgctl_set", q, {"cuid": 5})
    with pytest.raises(ModelUsageError):
        model.step("a", "nosuchop")
    with pytest.raises(Unmodelled):
        model.step("a", "pipe")  # a process-model operation
    with pytest.raises(ModelUsageError):
        model.spawn("a")


def test_what_the_model_declines() -> None:
    model = _model("a", "r1", "r2")
    m = model.step("a", "shmget", IPC_PRIVATE, 10, 0o600).detail
    model.step("a", "shmat", m, 0)
    model.step("a", "shmdt", 0)
    with pytest.raises(Unmodelled):
        model.step("a", "shmat_at", m, "previous", 0)
    s = model.step("a", "semget", IPC_PRIVATE, 1, 0o600).detail
    with pytest.raises(Unmodelled):
        model.step("a", "semctl", s, 0, SEM_STAT)
    # IPC_SET sends every sleeping receiver back through msgrcv; the order in
    # which they queue up again is the scheduler's.
    q = model.step("a", "msgget", IPC_PRIVATE, 0o600).detail
    model.step("r1", "msgrcv", q, 8, 0, 0)
    model.step("r2", "msgrcv", q, 8, 0, 0)
    with pytest.raises(Unmodelled):
        model.step("a", "msgctl_set", q, {"mode": 0o600})


def test_one_woken_receiver_is_deterministic() -> None:
    model = _model("a", "r")
    q = model.step("a", "msgget", IPC_PRIVATE, 0o666).detail
    model.step("r", "become", 1000, 1000)
    assert model.step("r", "msgrcv", q, 8, 0, 0) == BLOCKED
    assert model.step("a", "msgctl_set", q, {"mode": 0o600}) == Value(0)
    assert model.settle() == {"r": Errno("EACCES")}


# -- the semaphore queues ----------------------------------------------------------------
def test_merge_puts_the_highest_semaphore_first() -> None:
    """merge_queues splices each per-semaphore list in front of the global one."""
    model = _model("a", "w0", "w1", "c")
    s = model.step("a", "semget", IPC_PRIVATE, 2, 0o600).detail
    model.step("w0", "semop", s, ((0, -1, 0),))
    model.step("w1", "semop", s, ((1, -1, 0),))
    model.step("c", "semop", s, ((0, -1, 0), (1, -1, 0)))
    sem: SemSet = model._world.sem.objects[s]  # noqa: SLF001 - the internal order itself
    assert [q.actor for q in sem.global_alter] == ["w1", "w0", "c"]
    assert sem.pending_alter == [[], []] and sem.complex_count == 1
    model.interrupt("c")  # the last complex sleeper leaves: back to per-semaphore queues
    assert [[q.actor for q in queue] for queue in sem.pending_alter] == [["w0"], ["w1"]]


def test_copies_compare_equal() -> None:
    model = _model("a", "b")
    q = model.step("a", "msgget", KEY_BASE, IPC_CREAT | 0o600).detail
    model.step("a", "msgsnd", q, 1, b"x", IPC_NOWAIT)
    model.step("b", "msgrcv", q, 8, 2, 0)
    twin = copy.deepcopy(model)
    assert twin.fingerprint() == model.fingerprint()
    twin.step("a", "msgsnd", q, 2, b"y", 0)
    assert twin.fingerprint() != model.fingerprint()


def test_limits_defaults_are_a_fresh_namespaces() -> None:
    limits = Limits()
    assert (limits.msgmax, limits.msgmnb, limits.semmsl, limits.semopm, limits.shmmni) == (
        8192, 16384, 32000, 500, 4096)


# -- IdMap -----------------------------------------------------------------------------
def test_idmap_pairs_by_creation_and_checks_reopens() -> None:
    ids = IdMap()
    assert ids.agree("msgget", Value(0), Value(98304))
    assert ids.agree("msgget", Value(1), Value(98305))
    assert ids.agree("msgget", Value(0), Value(98304))        # reopened: the same pair
    assert not ids.agree("msgget", Value(0), Value(98305))    # a different object
    assert not ids.agree("msgget", Value(2), Value(98304))    # the kernel reopened, the model created
    assert ids.agree("semget", Value(0), Value(5))            # kinds are separate
    assert ids.model_args("msgsnd", (98305, 1, b"", 0)) == (1, 1, b"", 0)
    assert ids.real_args("semop", (0, ())) == (5, ())
    assert ids.real_args("msgget", (0, 0)) == (0, 0)          # a key, not an id
    assert ids.agree("msgsnd", Errno("EAGAIN"), Errno("EAGAIN"))


def test_idmap_phantoms_name_nothing_on_either_side() -> None:
    ids = IdMap()
    assert ids.to_model("shm", -1) == -1
    made_up = ids.to_model("shm", 12345)
    assert made_up >= PHANTOM_BASE and ids.to_model("shm", 12345) == made_up
    model = _model("a")
    assert model.step("a", "shmctl_stat", made_up) == Errno("EINVAL")
    # once an object with that real id is created, it pairs normally
    assert ids.agree("shmget", Value(0), Value(12345))
    assert ids.to_model("shm", 12345) == 0
