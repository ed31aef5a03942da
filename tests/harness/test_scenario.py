"""The harness itself: actors, blocked detection, settling, deaths, cleanup."""

from __future__ import annotations

import os
import signal

import pytest

from conformance.backends.ops import ActorRef
from conformance.harness import procfs
from conformance.harness.actor import control_fd_floor
from conformance.harness.scenario import HarnessError, Scenario
from conformance.harness.zygote import ZygoteClient
from conformance.outcome import BLOCKED, Errno, Exited, Killed, Value


@pytest.fixture(scope="module")
def zygote():
    z = ZygoteClient("conformance.backends.kernel:KernelProcessOps")
    yield z
    z.close()


@pytest.fixture
def sc(zygote, tmp_path):
    with Scenario(zygote, base_dir=str(tmp_path)) as scenario:
        yield scenario


def test_actor_starts_with_only_standard_descriptors(sc):
    a = sc.spawn("a")
    assert a.do("fd_list") == Value((0, 1, 2))
    names = os.listdir(f"/proc/{a.pid}/fd")
    control = [int(n) for n in names if int(n) > 2]
    assert len(control) == 1 and control[0] >= control_fd_floor()


def test_session_members_finds_actor_trees_and_nothing_after_close(zygote, tmp_path):
    with Scenario(zygote, base_dir=str(tmp_path)) as scenario:
        a = scenario.spawn("a")
        b = a.fork("b")
        assert sorted(procfs.session_members({a.pid})) == sorted([a.pid, b.pid])
        assert procfs.session_members(set()) == []
    assert procfs.session_members({a.pid}) == []


def test_actor_has_default_signal_dispositions(sc):
    a = sc.spawn("a")
    with open(f"/proc/{a.pid}/status") as f:
        fields = dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)
    assert int(fields["SigIgn"], 16) == 0, "an actor ignores a signal a C program would not"
    assert int(fields["SigBlk"], 16) == 0


def test_blocked_is_read_from_proc_and_completion_is_collected(sc):
    a = sc.spawn("a")
    r, w = a.call("pipe")
    b = a.fork("b")
    assert a.do("read", r, 3) == BLOCKED
    task = procfs.read_task(a.pid)
    assert task.state == "S" and task.syscall == "read" and task.syscall_args[0] == r
    assert b.do("write", w, b"xyz") == Value(3)
    assert sc.trace[-1].events == {"a": Value(b"xyz")}
    assert a.completion == Value(b"xyz") and not a.blocked


def test_a_blocked_actor_cannot_take_another_step(sc):
    a = sc.spawn("a")
    r, _w = a.call("pipe")
    assert a.do("read", r, 1) == BLOCKED
    with pytest.raises(HarnessError, match="still blocked"):
        a.do("getpid")


def test_death_by_signal_is_an_outcome(sc):
    a = sc.spawn("a")
    r, w = a.call("pipe")
    a.call("close", r)
    assert a.do("write", w, b"x") == Killed("SIGPIPE")
    assert not a.alive


def test_exit_status_is_an_outcome(sc):
    a = sc.spawn("a")
    assert a.do("exit", 7) == Exited(7)


def test_death_of_an_idle_actor_is_an_event(sc):
    a = sc.spawn("a")
    b = sc.spawn("b")
    assert b.do("kill", ActorRef("a"), signal.SIGTERM) == Value(0)
    assert sc.trace[-1].events == {"a": Killed("SIGTERM")}
    assert a.death == Killed("SIGTERM")


def test_errno_is_named(sc):
    a = sc.spawn("a")
    assert a.do("close", 42) == Errno("EBADF")


def test_sigkill_from_outside_the_scenario_is_broken_not_failed(sc):
    a = sc.spawn("a")
    os.kill(a.pid, signal.SIGKILL)
    with pytest.raises(HarnessError, match="outside the scenario"):
        a.do("getpid")


def test_close_kills_and_reaps_every_actor_and_removes_the_directory(zygote, tmp_path):
    sc = Scenario(zygote, base_dir=str(tmp_path))
    a = sc.spawn("a")
    r, _w = a.call("pipe")
    b = a.fork("b")
    assert b.do("read", r, 1) == BLOCKED
    pids = [a.pid, b.pid]
    sc.close()
    assert all(procfs.read_stat(pid).gone for pid in pids)
    assert not os.path.exists(sc.dir)


def test_unknown_operation_is_a_harness_error(sc):
    a = sc.spawn("a")
    with pytest.raises(HarnessError, match="unknown operation"):
        a.do("frobnicate")


def test_fork_child_is_a_new_actor_sharing_descriptors(sc):
    a = sc.spawn("a")
    fd = a.call("open", "f", os.O_RDWR | os.O_CREAT, 0o644)
    b = a.fork("b")
    assert b.do("fd_list") == Value((0, 1, 2, fd))
    assert b.do("kcmp_file", ActorRef("a"), fd, fd) == Value(True)
    assert b.do("getpid") == Value(ActorRef("b"))


def test_finish_returns_a_completion_recorded_while_settling(sc):
    # a's 20 ms wait ends while the harness waits for b's 200 ms one: the
    # settling after b's finish records a's completion, and a.finish() must
    # hand that over instead of reporting that nothing is pending.
    a, b = sc.spawn("a"), sc.spawn("b")
    for actor in (a, b):
        actor.call("sigprocmask", "block", (signal.SIGUSR2,))
    assert a.do("sigtimedwait", (signal.SIGUSR2,), 20_000_000) == BLOCKED
    assert b.do("sigtimedwait", (signal.SIGUSR2,), 200_000_000) == BLOCKED
    assert b.finish() == Errno("EAGAIN")
    assert not a.pending, "a's call ended while b's was awaited"
    assert a.finish() == Errno("EAGAIN")
    with pytest.raises(HarnessError, match="no pending call"):
        b.do("getpid")
        b.finish()
