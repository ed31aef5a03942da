"""The System V operations of both backends, driven through real actors.

Every test runs twice: on the ``kernel`` backend (libc through ctypes) and on
the ``sysv_ipc`` backend (the library). Where the library cannot express an
operation the test checks that the backend says so (``BackendUnsupported``
with a reason) instead of answering something else; where the library
behaves differently from the C interface the expected outcome differs per
backend, and the test documents how.
"""

from __future__ import annotations

import os
import signal

import pytest

from conformance.backends.ops import ActorRef
from conformance.backends.sysv_ops import (
    GETNCNT,
    GETPID,
    GETVAL,
    GETZCNT,
    IPC_CREAT,
    IPC_EXCL,
    IPC_NOWAIT,
    IPC_PRIVATE,
    IPC_RMID,
    KEY_BASE,
    SEM_UNDO,
    SETALL,
    SETVAL,
    SHM_DEST,
    SHM_RDONLY,
)
from conformance.harness.scenario import BackendUnsupported, HarnessError, Scenario
from conformance.outcome import BLOCKED, Errno, Killed, Value

NEW = IPC_CREAT | IPC_EXCL
ROOT = os.geteuid() == 0
NOBODY = 65534


def _msgmnb() -> int:
    with open("/proc/sys/kernel/msgmnb") as f:
        return int(f.read())


def _status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)


# -- message queues ---------------------------------------------------------
def test_message_round_trip_by_type(sc: Scenario) -> None:
    a = sc.spawn("a")
    q = a.call("msgget", KEY_BASE, NEW | 0o600)
    b = a.fork("b")
    for mtype, text in ((1, b"one"), (2, b"two\0bytes"), (1, b"")):
        assert a.do("msgsnd", q, mtype, text, 0) == Value(0)
    assert b.do("msgrcv", q, 64, 2, 0) == Value((2, b"two\0bytes"))
    assert b.do("msgrcv", q, 64, -1, 0) == Value((1, b"one")), "lowest type <= 1, oldest first"
    assert b.do("msgrcv", q, 64, 0, 0) == Value((1, b""))
    assert b.do("msgrcv", q, 64, 0, IPC_NOWAIT) == Errno("ENOMSG")
    assert b.do("msgrcv", q, 64, 3, 0) == BLOCKED
    assert a.do("msgsnd", q, 3, b"late", 0) == Value(0)
    sc.expect_event(b, Value((3, b"late")))
    assert a.do("msgctl_rmid", q) == Value(0)


def test_a_message_longer_than_maxsize_fails_e2big_and_stays(sc: Scenario) -> None:
    a = sc.spawn("a")
    q = a.call("msgget", KEY_BASE, NEW | 0o600)
    a.call("msgsnd", q, 1, b"0123456789", 0)
    assert a.do("msgrcv", q, 4, 0, IPC_NOWAIT) == Errno("E2BIG")
    assert a.do("msgrcv", q, 10, 0, IPC_NOWAIT) == Value((1, b"0123456789"))
    a.call("msgctl_rmid", q)


def test_private_queue(sc: Scenario, lib: bool) -> None:
    a = sc.spawn("a")
    q1 = a.call("msgget", IPC_PRIVATE, 0o600)
    q2 = a.call("msgget", IPC_PRIVATE, 0o600)
    assert q1 != q2, "IPC_PRIVATE makes a new queue every time"
    a.call("msgsnd", q1, 5, b"x", 0)
    if lib:
        # the receive size is fixed when the object is made; a private
        # queue cannot be opened again with another one
        with pytest.raises(BackendUnsupported, match="IPC_PRIVATE"):
            a.do("msgrcv", q1, 64, 0, 0)
        assert a.do("msgrcv", q1, 2048, 0, 0) == Value((5, b"x"))
    else:
        assert a.do("msgrcv", q1, 64, 0, 0) == Value((5, b"x"))
    a.call("msgctl_rmid", q1)
    a.call("msgctl_rmid", q2)


def test_rmid_wakes_a_blocked_receiver_with_eidrm(sc: Scenario) -> None:
    a = sc.spawn("a")
    q = a.call("msgget", KEY_BASE, NEW | 0o600)
    b = a.fork("b")
    assert b.do("msgrcv", q, 64, 0, 0) == BLOCKED
    assert a.do("msgctl_rmid", q) == Value(0)
    sc.expect_event(b, Errno("EIDRM"))
    assert a.do("msgsnd", q, 1, b"x", IPC_NOWAIT) == Errno("EINVAL")
    assert a.do("msgrcv", q, 64, 0, IPC_NOWAIT) == Errno("EINVAL")
    assert a.do("msgctl_rmid", q) == Errno("EINVAL")


def test_msg_flags_the_library_cannot_pass(sc: Scenario, lib: bool) -> None:
    from conformance.backends.sysv_ops import MSG_COPY, MSG_EXCEPT, MSG_NOERROR

    a = sc.spawn("a")
    q = a.call("msgget", KEY_BASE, NEW | 0o600)
    a.call("msgsnd", q, 1, b"abcdef", 0)
    a.call("msgsnd", q, 2, b"gh", 0)
    cases = [
        ((q, 64, 0, IPC_NOWAIT | MSG_COPY), Value((1, b"abcdef"))),  # msgtyp is the index
        ((q, 3, 0, IPC_NOWAIT | MSG_NOERROR), Value((1, b"abc"))),
        ((q, 64, 1, IPC_NOWAIT | MSG_EXCEPT), Value((2, b"gh"))),
    ]
    for args, wanted in cases:
        if lib:
            with pytest.raises(BackendUnsupported, match="MSG_"):
                a.do("msgrcv", *args)
        else:
            assert a.do("msgrcv", *args) == wanted
    a.call("msgctl_rmid", q)


def test_msgctl_stat_fields_and_pids(sc: Scenario, lib: bool) -> None:
    a = sc.spawn("a")
    q = a.call("msgget", KEY_BASE, NEW | 0o600)
    b = a.fork("b")
    b.call("msgsnd", q, 1, b"hello", 0)
    if lib:
        with pytest.raises(BackendUnsupported, match="msg_cbytes"):
            a.do("msgctl_stat", q)
    else:
        assert a.do("msgctl_stat", q) == Value({
            "qnum": 1, "cbytes": 5, "qbytes": _msgmnb(), "lspid": ActorRef("b"), "lrpid": 0,
            "stime": True, "rtime": False, "ctime": True,
            "uid": 0 if ROOT else os.geteuid(), "gid": 0 if ROOT else os.getegid(),
            "cuid": 0 if ROOT else os.geteuid(), "cgid": 0 if ROOT else os.getegid(), "mode": 0o600})
        a.call("msgrcv", q, 64, 0, 0)
        stat = a.call("msgctl_stat", q)
        assert (stat["lrpid"], stat["rtime"], stat["qnum"], stat["cbytes"]) == (ActorRef("a"), True, 0, 0)
    assert a.do("msgctl_set", q, {"mode": 0o640, "qbytes": 1000}) == Value(0)
    if not lib:
        stat = a.call("msgctl_stat", q)
        assert (stat["mode"], stat["qbytes"]) == (0o640, 1000)
    a.call("msgctl_rmid", q)


# -- semaphores ---------------------------------------------------------------
def test_semaphore_blocks_and_is_woken(sc: Scenario) -> None:
    a = sc.spawn("a")
    s = a.call("semget", KEY_BASE, 1, NEW | 0o600)
    b = a.fork("b")
    assert b.do("semop", s, ((0, -1, 0),)) == BLOCKED
    assert a.do("semctl", s, 0, GETNCNT) == Value(1)
    assert a.do("semop", s, ((0, 1, 0),)) == Value(0)
    sc.expect_event(b, Value(0))
    assert a.do("semctl", s, 0, GETVAL) == Value(0)
    # the woken operation is performed on the sleeper's behalf: its pid is recorded
    assert a.do("semctl", s, 0, GETPID) == Value(ActorRef("b"))
    assert a.do("semctl", s, 0, SETVAL, 2) == Value(0)
    assert b.do("semop", s, ((0, 0, 0),)) == BLOCKED, "wait-for-zero sleeps while the value is 2"
    assert a.do("semctl", s, 0, GETZCNT) == Value(1)
    assert a.do("semop", s, ((0, -2, IPC_NOWAIT),)) == Value(0)
    sc.expect_event(b, Value(0))
    assert a.do("semop", s, ((0, -1, IPC_NOWAIT),)) == Errno("EAGAIN")
    assert a.do("semctl", s, 0, SETVAL, 40000) == Errno("ERANGE")
    assert a.do("semctl", s, 0, IPC_RMID) == Value(0)
    assert a.do("semop", s, ((0, 1, 0),)) == Errno("EINVAL")


def test_sem_undo_is_applied_when_the_process_exits(sc: Scenario) -> None:
    a = sc.spawn("a")
    s = a.call("semget", KEY_BASE, 1, NEW | 0o600)
    b = a.fork("b")
    assert b.do("semop", s, ((0, 3, SEM_UNDO),)) == Value(0)
    assert a.do("semctl", s, 0, GETVAL) == Value(3)
    b.do("exit", 0)
    assert a.do("semctl", s, 0, GETVAL) == Value(0)
    a.call("semctl", s, 0, IPC_RMID)


def test_semaphore_sets_and_timeouts(sc: Scenario, lib: bool) -> None:
    a = sc.spawn("a")
    if lib:
        with pytest.raises(BackendUnsupported, match="exactly one semaphore"):
            a.do("semget", KEY_BASE, 3, NEW | 0o600)
        s = a.call("semget", KEY_BASE, 1, NEW | 0o600)
        with pytest.raises(BackendUnsupported, match="one operation per call"):
            a.do("semop", s, ((0, 1, 0), (0, -1, 0)))
        import sysv_ipc

        if not sysv_ipc.SEMAPHORE_TIMEOUT_SUPPORTED:
            with pytest.raises(BackendUnsupported, match="semtimedop"):
                a.do("semtimedop", s, ((0, -1, 0),), 1_000_000)
        a.call("semctl", s, 0, IPC_RMID)
        return
    s = a.call("semget", KEY_BASE, 3, NEW | 0o600)
    assert a.do("semctl", s, 0, SETALL, (1, 0, 7)) == Value(0)
    from conformance.backends.sysv_ops import GETALL

    assert a.do("semctl", s, 0, GETALL) == Value((1, 0, 7))
    # all or nothing: the second operation would block, so neither happens
    assert a.do("semop", s, ((0, -1, IPC_NOWAIT), (1, -1, IPC_NOWAIT))) == Errno("EAGAIN")
    assert a.do("semctl", s, 0, GETALL) == Value((1, 0, 7))
    out = a.do("semtimedop", s, ((1, -1, 0),), 50_000_000)
    if out == BLOCKED:
        out = a.finish()
    assert out == Errno("EAGAIN")
    assert a.do("semctl", s, 0, IPC_RMID) == Value(0)


def test_getpid_after_creation(sc: Scenario, lib: bool) -> None:
    """sysv_ipc sets a new semaphore's value with SETVAL, which records the creator's pid."""
    a = sc.spawn("a")
    s = a.call("semget", KEY_BASE, 1, NEW | 0o600)
    assert a.do("semctl", s, 0, GETPID) == Value(ActorRef("a") if lib else 0)
    a.call("semctl", s, 0, IPC_RMID)


def test_semctl_stat(sc: Scenario, lib: bool) -> None:
    a = sc.spawn("a")
    s = a.call("semget", KEY_BASE, 1, NEW | 0o640)
    if lib:
        with pytest.raises(BackendUnsupported, match="sem_ctime"):
            a.do("semctl_stat", s)
    else:
        stat = a.call("semctl_stat", s)
        assert {k: stat[k] for k in ("nsems", "otime", "ctime", "mode")} == {
            "nsems": 1, "otime": False, "ctime": True, "mode": 0o640}
    assert a.do("semctl_set", s, {"mode": 0o600}) == Value(0)
    a.call("semctl", s, 0, IPC_RMID)


# -- shared memory --------------------------------------------------------------
def test_shm_attach_write_read_across_fork(sc: Scenario) -> None:
    a = sc.spawn("a")
    m = a.call("shmget", KEY_BASE, 100, NEW | 0o600)
    assert a.do("shmat", m, 0) == Value(0), "the first handle is 0"
    b = a.fork("b")  # inherits the attachment, and with it handle 0
    assert b.do("shm_write", 0, 5, b"hello") == Value(5)
    assert a.do("shm_read", 0, 5, 5) == Value(b"hello")
    c = sc.spawn("c")
    assert c.do("shmat", m, SHM_RDONLY) == Value(0)
    assert c.do("shm_read", 0, 5, 5) == Value(b"hello")
    assert a.call("shmctl_stat", m)["nattch"] == 3
    # the backend's bounds check: EFAULT outside the segment
    assert a.do("shm_read", 0, 98, 3) == Errno("EFAULT")
    assert a.do("shm_write", 0, 100, b"x") == Errno("EFAULT")
    assert a.do("shmat", m, 0) == Value(1), "the next handle is the lowest unused"
    assert a.do("shmdt", 0) == Value(0)
    assert a.do("shmdt", 0) == Errno("EINVAL")
    assert a.do("shmdt", 7) == Errno("EINVAL")
    assert a.do("shmat_at", m, "previous", 0) == Value(0)
    assert a.do("shm_read", 0, 5, 5) == Value(b"hello")
    assert a.do("shmctl_rmid", m) == Value(0)
    stat = a.call("shmctl_stat", m)
    assert stat["mode"] & SHM_DEST and stat["nattch"] == 4
    for actor, handles in ((a, (0, 1)), (b, (0,)), (c, (0,))):
        for handle in handles:
            assert actor.do("shmdt", handle) == Value(0)
    assert a.do("shmctl_stat", m) == Errno("EINVAL"), "destroyed with its last detach"


def test_shmget_leaves_no_trace_in_c_but_does_in_the_library(sc: Scenario, lib: bool) -> None:
    """SharedMemory() attaches (and fills a new segment with spaces); shmget(2) does neither."""
    a = sc.spawn("a")
    m = a.call("shmget", KEY_BASE, 64, NEW | 0o600)
    stat = a.call("shmctl_stat", m)
    assert stat["cpid"] == ActorRef("a") and stat["nattch"] == 0 and stat["segsz"] == 64
    assert stat["key"] == KEY_BASE
    assert (stat["atime"], stat["dtime"], stat["lpid"]) == ((True, True, ActorRef("a")) if lib else (False, False, 0))
    h = a.call("shmat", m, SHM_RDONLY)
    assert a.do("shm_read", h, 0, 4) == Value(b"    " if lib else b"\0\0\0\0")
    b = sc.spawn("b")
    b.call("shmat", m, 0)
    assert a.call("shmctl_stat", m)["lpid"] == ActorRef("b")
    a.call("shmctl_rmid", m)


def test_write_through_a_read_only_attachment(sc: Scenario, lib: bool) -> None:
    a = sc.spawn("a")
    m = a.call("shmget", KEY_BASE, 64, NEW | 0o600)
    h = a.call("shmat", m, SHM_RDONLY)
    if lib:
        with pytest.raises(BackendUnsupported, match="read-only"):
            a.do("shm_write", h, 0, b"x")
    else:
        assert a.do("shm_write", h, 0, b"x") == Killed("SIGSEGV")
    c = sc.spawn("c")
    c.call("shmctl_rmid", m)


# -- identity -------------------------------------------------------------------
@pytest.mark.skipif(not ROOT, reason="become needs root")
def test_become_loses_access_to_0600_objects(sc: Scenario) -> None:
    a = sc.spawn("a")
    q = a.call("msgget", KEY_BASE, NEW | 0o600)
    s = a.call("semget", KEY_BASE + 1, 1, NEW | 0o600)
    m = a.call("shmget", KEY_BASE + 2, 64, NEW | 0o600)
    b = a.fork("b")  # b holds a's objects (the library can reach them only so)
    assert b.do("become", NOBODY, NOBODY) == Value(0)
    assert b.do("msgget", KEY_BASE, 0o200) == Errno("EACCES")
    assert b.do("msgsnd", q, 1, b"x", IPC_NOWAIT) == Errno("EACCES")
    assert b.do("semop", s, ((0, 1, IPC_NOWAIT),)) == Errno("EACCES")
    assert b.do("semctl", s, 0, GETVAL) == Errno("EACCES")
    assert b.do("shmat", m, SHM_RDONLY) == Errno("EACCES")
    assert b.do("msgctl_rmid", q) == Errno("EPERM")
    assert a.do("msgctl_set", q, {"mode": 0o622}) == Value(0)
    assert b.do("msgsnd", q, 1, b"x", IPC_NOWAIT) == Value(0), "others may write now"
    assert b.do("become", 0, 0) == Errno("EPERM"), "for good"
    a.call("msgctl_rmid", q)
    a.call("semctl", s, 0, IPC_RMID)
    a.call("shmctl_rmid", m)


@pytest.mark.skipif(not ROOT, reason="become needs root")
def test_ipc_set_by_an_owner_who_cannot_read(sc: Scenario, lib: bool) -> None:
    """IPC_SET asks for ownership only; sysv_ipc's setters read (IPC_STAT) first, and fail."""
    a = sc.spawn("a")
    q = a.call("msgget", KEY_BASE, NEW | 0o200)
    m = a.call("shmget", KEY_BASE + 1, 64, NEW | 0o200)
    a.call("msgctl_set", q, {"uid": NOBODY})
    a.call("shmctl_set", m, {"uid": NOBODY})
    owner = a.fork("owner")
    owner.call("become", NOBODY, NOBODY)
    assert owner.do("shmctl_stat", m) == Errno("EACCES"), "mode 0200: no read permission"
    wanted = Errno("EACCES") if lib else Value(0)
    assert owner.do("msgctl_set", q, {"mode": 0o600}) == wanted
    assert owner.do("shmctl_set", m, {"mode": 0o600}) == wanted
    a.call("msgctl_rmid", q)
    a.call("shmctl_rmid", m)


def test_exec_self_keeps_the_actor_and_drops_its_attachments(sc: Scenario, lib: bool) -> None:
    a = sc.spawn("a")
    m = a.call("shmget", KEY_BASE, 64, NEW | 0o600)
    q = a.call("msgget", KEY_BASE + 1, NEW | 0o600)
    watcher = sc.spawn("watcher")
    watcher.call("shmget", KEY_BASE, 0, 0)  # the library reaches a segment by its own shmget only
    a.call("shmat", m, 0)
    a.call("shmat", m, SHM_RDONLY)
    assert watcher.call("shmctl_stat", m)["nattch"] == 2
    a.call("signal", signal.SIGPIPE, "ignore")
    a.call("signal", signal.SIGUSR1, "count")
    pid = a.pid
    assert a.do("exec_self") == Value(0)
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert b"resume" in f.read(), "a new program image runs"
    assert a.pid == pid and a.do("getpid") == Value(ActorRef("a"))
    assert watcher.call("shmctl_stat", m)["nattch"] == 0, "exec detached both"
    assert a.do("shmdt", 0) == Errno("EINVAL"), "and the handles are gone with them"
    assert a.do("fd_list") == Value((0, 1, 2))
    status = _status(pid)
    assert int(status["SigIgn"], 16) == 1 << (signal.SIGPIPE - 1), "ignored stays ignored"
    assert int(status["SigCgt"], 16) == 0, "a handled signal is reset to its default"
    assert a.do("shmat", m, 0) == Value(0), "the new image serves on"
    assert watcher.call("shmctl_stat", m)["nattch"] == 1
    if lib:
        with pytest.raises(BackendUnsupported, match="did not get id"):
            a.do("msgsnd", q, 1, b"x", 0)
    else:
        assert a.do("msgsnd", q, 1, b"x", 0) == Value(0), "ids survive exec"
    watcher.call("shmctl_rmid", m)
    watcher.call("msgctl_rmid", q)


@pytest.mark.skipif(not ROOT, reason="become needs root")
def test_exec_self_after_become_runs_or_is_a_harness_fault(sc: Scenario) -> None:
    """Where the interpreter is unreadable to the new identity, exec_self is broken, not an errno."""
    a = sc.spawn("a")
    a.call("become", NOBODY, NOBODY)
    try:
        outcome = a.do("exec_self")
    except HarnessError as exc:
        assert "exec_self" in str(exc)
    else:
        assert outcome == Value(0)
    assert a.do("getpid") == Value(ActorRef("a")), "the actor carries on either way"
    assert a.do("fd_list") == Value((0, 1, 2))


@pytest.mark.skipif(not ROOT, reason="the private IPC namespace needs root")
def test_actors_share_the_test_process_private_ipc_namespace(
        sc: Scenario, pytestconfig: pytest.Config) -> None:
    """Objects made by actors live in the namespace the plugin made, not the host's."""
    from conformance.plugin import _STATE

    assert pytestconfig.stash[_STATE].private_ipc, "the plugin unshares the IPC namespace as root"
    a = sc.spawn("a")
    assert os.readlink(f"/proc/{a.pid}/ns/ipc") == os.readlink("/proc/self/ns/ipc")
